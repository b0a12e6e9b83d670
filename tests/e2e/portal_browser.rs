//! The setup portal in a real browser: headless Chromium through chromedriver (WebDriver),
//! driven as an IT admin would, while the test plays the IdP over SCIM. Every page gets an
//! axe-core check (no serious or critical violation), each page's main action is done again
//! with the keyboard only (Tab, Shift+Tab, Enter, Space; a select's own arrow keys; typing into
//! a search field), every stop with a visible focus, and each page is photographed into
//! docs/portal/ (on the SQLite run, with DIRSYNC_SCREENSHOTS=1 or when a picture is missing).
//!
//! Needs `chromium`, `chromium-driver` (Debian) and axe-core (npm; `.ci/run` installs both).
//! Under CI a missing browser or axe-core fails; elsewhere the test says so and skips.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dirsync_proto::v1::PortalIntent;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::portal::link;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ENTER: &str = "\u{e007}";

/// Where a keyboard step goes: an element by CSS selector, or a button or link by its text.
#[derive(Debug, Clone)]
enum Target {
    Css(String),
    Text(&'static str),
}

fn css(selector: impl Into<String>) -> Target {
    Target::Css(selector.into())
}

/// One thing an admin does with the keyboard.
#[derive(Debug, Clone)]
enum Step {
    /// Tab until the target has the focus; every element passed must show its focus.
    Tab(Target),
    /// The same backwards, with Shift+Tab.
    BackTab(Target),
    /// Presses a key on whatever has the focus.
    Press(Key),
    /// In the focused select, moves with its own arrow keys to the option with this text.
    Choose(&'static str),
    /// Types text into the focused field.
    Type(&'static str),
    /// Meanwhile the IdP creates this user (the page updates itself).
    IdpCreates(&'static str),
    /// Waits, as an admin reading the page does, while the page updates itself.
    Wait(Duration),
    /// Lets the page's origin use the clipboard, as an admin's browser asks once.
    AllowClipboard,
}

/// What must be true after the steps.
#[derive(Debug, Clone)]
enum Expect {
    /// The element's text contains this.
    Text(&'static str, &'static str),
    /// The address contains this (a form was submitted).
    Url(&'static str),
    /// The element has the focus.
    Focused(&'static str),
    /// The clipboard holds the value of this field.
    Copied(&'static str),
}

/// Chromedriver's Set Permission (W3C Permissions, `POST /session/{id}/permissions`) for the
/// current page's origin: fantoccini has no call of its own for it.
#[derive(Debug)]
struct SetPermission(&'static str);

impl fantoccini::wd::WebDriverCompatibleCommand for SetPermission {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/permissions", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"descriptor": {"name": self.0}, "state": "granted"});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A page and its main action done with the keyboard only: open `open` (or stay where the
/// previous case left the browser), then the steps, then the checks.
struct KeyboardCase {
    page: &'static str,
    open: Option<String>,
    steps: Vec<Step>,
    expect: Vec<Expect>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// axe-core's browser build: $AXE_CORE_JS, else where `.ci/run` installs it.
fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".ci/node/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(path).ok()
}

/// A headless Chromium behind its own chromedriver; both end with the test.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    profile: PathBuf,
    axe: String,
    shots: Option<PathBuf>,
}

impl Browser {
    async fn start(screenshots: bool) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        let axe = axe_source();
        if !missing.is_empty() || axe.is_none() {
            let what = format!(
                "browser tests need {missing:?}{} (apt-get install chromium chromium-driver; npm install axe-core into .ci/node, as .ci/run does)",
                if axe.is_none() { " and axe-core" } else { "" }
            );
            assert!(
                std::env::var("CI").is_err(),
                "under CI the browser tests must run: {what}"
            );
            eprintln!("skipped: {what}");
            return None;
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting chromedriver");
        let profile = std::env::temp_dir().join(format!("dirsync-chromium-{}", uuid::Uuid::new_v4().simple()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1800", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let shots = screenshots.then(|| repo().join("docs/portal"));
                    if let Some(dir) = &shots {
                        std::fs::create_dir_all(dir).unwrap();
                    }
                    return Some(Browser {
                        client,
                        _driver: driver,
                        profile,
                        axe: axe.unwrap_or_default(),
                        shots,
                    });
                }
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not start: {last:?}");
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
    }

    async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn click_text(&self, tag: &str, text: &str) {
        let xpath = format!("//{tag}[normalize-space(.)={text:?}]");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no {tag} {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (the page updates itself) until `css` contains `text`.
    async fn wait_for_text(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && e.text().await.unwrap_or_default().contains(text)
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{css} never showed {text:?}; page: {}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the address contains `part` (a form was submitted and its page loaded).
    async fn wait_for_url(&self, part: &str) {
        let started = Instant::now();
        while !self.client.current_url().await.unwrap().as_str().contains(part) {
            assert!(started.elapsed() < Duration::from_secs(20), "never reached {part:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.client.wait().for_element(Locator::Css("main h1")).await.unwrap();
    }

    /// Presses `keys` together (down in order, up in reverse), as a keyboard does: through
    /// WebDriver actions, which go to whatever has the focus.
    async fn press(&self, keys: &[Key]) {
        let mut actions = KeyActions::new("keyboard".into());
        for k in keys {
            actions = actions.then(KeyAction::Down { value: char::from(*k) });
        }
        for k in keys.iter().rev() {
            actions = actions.then(KeyAction::Up { value: char::from(*k) });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    async fn type_text(&self, text: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for c in text.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// The focused element: what it is, whether it is `target`, and whether its focus is
    /// visible (an outline or a ring, on screen, `:focus-visible`).
    async fn focused(&self, target: &Target) -> Value {
        let (selector, text) = match target {
            Target::Css(c) => (c.as_str(), ""),
            Target::Text(t) => ("", *t),
        };
        self.client
            .execute(
                "const [selector, text] = arguments;
                 const e = document.activeElement;
                 if (!e || e === document.body) { return null; }
                 const s = getComputedStyle(e);
                 const r = e.getBoundingClientRect();
                 const label = (e.tagName === 'SELECT' || e.tagName === 'INPUT' ? '' : e.innerText || '')
                     .replace(/\\s+/g, ' ').trim();
                 const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
                 return {
                   element: e.outerHTML.slice(0, 160),
                   hit: selector ? e.matches(selector) : label === text,
                   visible: ring && e.matches(':focus-visible') && r.width > 0 && r.height > 0
                     && r.right > 0 && r.left < window.innerWidth,
                 };",
                vec![json!(selector), json!(text)],
            )
            .await
            .unwrap()
    }

    /// Tabs (or Shift+Tabs) to `target`; fails when it cannot be reached or an element on the
    /// way hides its focus.
    async fn tab_to(&self, target: &Target, backwards: bool, page: &str) {
        let keys: &[Key] = if backwards {
            &[Key::Shift, Key::Tab]
        } else {
            &[Key::Tab]
        };
        for _ in 0..80 {
            self.press(keys).await;
            let f = self.focused(target).await;
            if f.is_null() {
                continue;
            }
            assert_eq!(
                f["visible"], true,
                "{page}: the focus is not visible on {}",
                f["element"]
            );
            if f["hit"] == true {
                return;
            }
        }
        panic!("{page}: {target:?} cannot be reached with the keyboard");
    }

    /// In the focused select, the arrow keys to the option labelled `label`.
    async fn choose(&self, label: &str, page: &str) {
        let at = self
            .client
            .execute(
                "const e = document.activeElement;
                 if (e.tagName !== 'SELECT') { return null; }
                 const want = [...e.options].findIndex(o => o.text.trim() === arguments[0]);
                 return want < 0 ? null : [e.selectedIndex, want];",
                vec![json!(label)],
            )
            .await
            .unwrap();
        let (Some(now), Some(want)) = (at[0].as_i64(), at[1].as_i64()) else {
            panic!("{page}: no select with {label:?} has the focus");
        };
        let key = if want > now { Key::Down } else { Key::Up };
        for _ in 0..(want - now).abs() {
            self.press(&[key]).await;
        }
        let chosen = self
            .client
            .execute(
                "const e = document.activeElement; return e.options[e.selectedIndex].text.trim();",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(chosen, json!(label), "{page}");
    }

    /// Runs one case of the keyboard table.
    async fn keyboard(&self, case: &KeyboardCase, app: &TestApp) {
        let page = case.page;
        if let Some(url) = &case.open {
            let url = if url.starts_with("http") {
                url.clone()
            } else {
                format!("{}{url}", app.root)
            };
            self.goto(&url).await;
            self.client.wait().for_element(Locator::Css("main h1")).await.unwrap();
        }
        for step in &case.steps {
            match step {
                Step::Tab(target) => self.tab_to(target, false, page).await,
                Step::BackTab(target) => self.tab_to(target, true, page).await,
                Step::Press(key) => self.press(&[*key]).await,
                Step::Choose(label) => self.choose(label, page).await,
                Step::Type(text) => self.type_text(text).await,
                Step::IdpCreates(user) => {
                    app.scim(Method::POST, "/Users", Some(json!({"userName": user})))
                        .await
                        .expect(201);
                }
                Step::Wait(pause) => tokio::time::sleep(*pause).await,
                Step::AllowClipboard => {
                    for permission in ["clipboard-read", "clipboard-write"] {
                        self.client.issue_cmd(SetPermission(permission)).await.unwrap();
                    }
                }
            }
        }
        for expect in &case.expect {
            match expect {
                Expect::Text(css, text) => self.wait_for_text(css, text).await,
                Expect::Url(part) => self.wait_for_url(part).await,
                Expect::Focused(css) => {
                    let hit = self.focused(&Target::Css((*css).into())).await;
                    assert_eq!(hit["hit"], true, "{page}: {css} should have the focus, not {hit}");
                }
                Expect::Copied(css) => {
                    let want = self.value(css).await;
                    assert!(!want.is_empty(), "{page}: {css} is empty");
                    let clipboard = self
                        .client
                        .execute_async(
                            "const done = arguments[arguments.length - 1];
                             navigator.clipboard.readText().then(done, e => done('unreadable: ' + e));",
                            vec![],
                        )
                        .await
                        .unwrap();
                    assert_eq!(clipboard, json!(want), "{page}: the clipboard");
                }
            }
        }
    }

    /// axe-core on the current page: no serious or critical violation. Returns the count of
    /// minor and moderate ones (reported, not failed).
    async fn accessible(&self, page: &str) -> usize {
        self.client
            .execute(&format!("{}\nreturn true;", self.axe), vec![])
            .await
            .unwrap();
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .unwrap();
        let all = violations.as_array().cloned().unwrap_or_default();
        let bad: Vec<&Value> = all
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(bad.is_empty(), "{page}: accessibility violations {bad:#?}");
        eprintln!("axe {page}: 0 serious/critical, {} minor/moderate {all:?}", all.len());
        all.len()
    }

    /// Scrolls `css` into view (for a photo of what sits below the fold).
    async fn scroll_to(&self, css: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); return true;",
                vec![json!(css)],
            )
            .await
            .unwrap();
    }

    /// Photographs the page into docs/portal/<name>.png when it is missing there or
    /// DIRSYNC_SCREENSHOTS is set (so an ordinary test run leaves the worktree clean).
    async fn screenshot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            let path = dir.join(format!("{name}.png"));
            if path.exists() && std::env::var_os("DIRSYNC_SCREENSHOTS").is_none() {
                return;
            }
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(path, png).unwrap();
        }
    }

    async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The IdP's side: a SCIM request with the values the admin pasted.
async fn idp(app: &TestApp, method: Method, url: &str, token: &str, body: Option<Value>) -> u16 {
    app.send(method, url, Some(token), body, &[]).await.status.as_u16()
}

async fn an_admin_sets_up_and_manages_a_connection(app: TestApp) {
    let started = Instant::now();
    let screenshots = app.store_url.starts_with("sqlite");
    let Some(b) = Browser::start(screenshots).await else {
        return;
    };
    let mut minor = 0;

    // The product links its customer's IT admin to the portal.
    let (_, url) = link(&app, &app.tenant_id, None, PortalIntent::Setup).await;
    b.goto(&url).await;
    assert!(b.text("h1").await.contains("Connect your identity provider"));
    minor += b.accessible("link").await;
    b.screenshot("link").await;
    // Keyboard only: Continue, then pick Okta.
    b.tab_to(&Target::Text("Continue"), false, "link").await;
    b.press(&[Key::Enter]).await;
    b.wait_for_text("h1", "Set up provisioning").await;
    assert_eq!(b.path().await, "/portal/setup", "no token in the address");
    minor += b.accessible("setup (choose)").await;
    b.screenshot("setup-choose").await;
    b.tab_to(&Target::Text("Okta"), false, "setup").await;
    b.press(&[Key::Enter]).await;
    b.wait_for_text("main", "2. Configure Okta").await;
    assert!(b.text(".guide").await.contains("SCIM connector base URL"));

    // Tenant URL shown; the token only after a deliberate click.
    let source = b.client.source().await.unwrap();
    assert!(!source.contains("dsy_"), "token rendered unasked");
    let tenant_url = b.value("input[id^=url-]").await;
    assert!(
        tenant_url.ends_with(&format!("/scim/v2/{}", app.tenant_id)),
        "{tenant_url}"
    );
    b.click_text("button", "Show token").await;
    b.wait_for_text("main", "Treat this token like a password").await;
    let token = b.value("input[id^=token-]").await;
    assert!(token.starts_with("dsy_"), "{token}");
    let copy = b.client.find(Locator::Css("button.copy")).await.unwrap();
    assert!(copy.is_displayed().await.unwrap(), "the script shows copy buttons");
    b.wait_for_text("#verify", "Waiting for the first request").await;
    minor += b.accessible("setup (credentials)").await;
    b.screenshot("setup").await;

    // Live verification: the test plays Okta; the page shows what arrived.
    let filter = format!("{tenant_url}/Users?filter=userName%20eq%20%22ada%40acme.example%22&startIndex=1&count=100");
    assert_eq!(idp(&app, Method::GET, &filter, &token, None).await, 200);
    let ada = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@acme.example",
        "name": {"givenName": "Ada", "familyName": "Lovelace"}, "active": true});
    assert_eq!(
        idp(
            &app,
            Method::POST,
            &format!("{tenant_url}/Users"),
            &token,
            Some(ada.clone())
        )
        .await,
        201
    );
    b.wait_for_text("#verify", "created user ada@acme.example").await;
    b.wait_for_text("#verify", "reached dirsync").await;
    b.scroll_to("#credentials").await;
    b.screenshot("setup-verified").await;
    // A mistake in the IdP: the page says what went wrong and how to fix it.
    assert_eq!(
        idp(&app, Method::POST, &format!("{tenant_url}/Users"), &token, Some(ada)).await,
        409
    );
    b.wait_for_text("#verify", "The newest request failed").await;
    b.wait_for_text("#verify", "maps userName to a unique value").await;
    minor += b.accessible("setup (verification)").await;
    b.scroll_to("#verify-title").await;
    b.screenshot("setup-error").await;

    // Sync log: newest first, live, filterable, details with the fix.
    b.click_text("a", "Sync log").await;
    b.wait_for_text("h1", "Sync log").await;
    let first = b.text("#log-rows tr:first-child").await;
    assert!(first.contains("409"), "newest first: {first}");
    let bob = json!({"userName": "bob@acme.example"});
    assert_eq!(
        idp(&app, Method::POST, &format!("{tenant_url}/Users"), &token, Some(bob)).await,
        201
    );
    b.wait_for_text("#log-rows tr:first-child", "created user bob@acme.example")
        .await;
    b.click("#log-rows tr.failed summary").await;
    b.wait_for_text("#log-rows tr.failed details", "How to fix it").await;
    minor += b.accessible("sync log").await;
    b.screenshot("sync-log").await;
    b.click("#failed").await;
    b.click_text("button", "Filter").await;
    b.wait_for_url("failed=1").await;
    let rows = b.client.find_all(Locator::Css("#log-rows tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "only the failed request");
    b.goto(&format!("{}/portal/log?q=bob", app.root)).await;
    let rows = b.client.find_all(Locator::Css("#log-rows tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "by user");

    // Mappings: a group to a role and a license tier, previewed before it is saved.
    let m = crate::portal::seed_mappings(&app).await;
    b.click_text("a", "Mappings").await;
    b.wait_for_text("h1", "Groups, roles and licenses").await;
    minor += b.accessible("mappings").await;
    b.screenshot("mappings").await;
    let role = b
        .client
        .find(Locator::Css(&format!("#role-{}", m.engineering)))
        .await
        .unwrap();
    role.select_by_value(&m.admin_role).await.unwrap();
    let tier = b
        .client
        .find(Locator::Css(&format!("#tier-{}", m.engineering)))
        .await
        .unwrap();
    tier.select_by_value(&m.starter).await.unwrap();
    b.client
        .find(Locator::XPath(&format!(
            "//select[@id='role-{}']/ancestor::form//button",
            m.engineering
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_text("h1", "Preview: Engineering").await;
    let preview = b.text("main").await;
    for text in [
        "3 user(s) move from Member to Admin",
        "3 user(s) move from Team to Starter",
        "2 more seat(s) will be bought",
    ] {
        assert!(preview.contains(text), "{text}: {preview}");
    }
    minor += b.accessible("mapping preview").await;
    b.screenshot("mapping-preview").await;
    b.click_text("button", "Save").await;
    b.wait_for_text("main", "Saved. For the members of Engineering").await;
    b.click("#invites").await;
    b.click_text("button", "Save invitations").await;
    b.wait_for_text("main", "Invitations are on.").await;

    // People: searchable, each with role, license and status.
    b.click_text("a", "People").await;
    b.wait_for_text("h1", "People and groups").await;
    b.wait_for_text("main", "ada@acme.example").await;
    minor += b.accessible("people").await;
    b.screenshot("people").await;
    b.client
        .find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(&format!("ann{ENTER}"))
        .await
        .unwrap();
    b.wait_for_url("q=ann").await;
    let found = b.text("main").await;
    assert!(
        found.contains("ann@acme.example") && !found.contains("ada@acme.example"),
        "{found}"
    );

    // Connection: details, rotation with a grace period.
    b.click_text("a", "Connection").await;
    b.wait_for_text("h1", "Connection").await;
    b.wait_for_text("main", "Okta").await;
    assert!(
        !b.client.source().await.unwrap().contains(&token),
        "not shown again unasked"
    );
    minor += b.accessible("connection").await;
    b.click_text("button", "Rotate token").await;
    b.wait_for_text("main", "A new token was issued").await;
    let rotated = b.value("input[id^=token-]").await;
    assert!(rotated.starts_with("dsy_") && rotated != token);
    for t in [&token, &rotated] {
        assert_eq!(
            idp(&app, Method::GET, &format!("{tenant_url}/Users"), t, None).await,
            200,
            "grace period"
        );
    }
    minor += b.accessible("connection (rotated)").await;
    b.screenshot("connection").await;

    // German, from the switch.
    b.click_text("a", "Deutsch").await;
    b.wait_for_text("h1", "Verbindung").await;
    assert!(b.text("main").await.contains("Token erneuern"));
    minor += b.accessible("connection (de)").await;
    b.screenshot("connection-de").await;
    // The IdP's guide in German too.
    b.click_text("a", "Einrichtung").await;
    b.wait_for_text("#steps", "2. Okta konfigurieren").await;
    assert!(b.text(".guide").await.contains("App-Integration anlegen"));
    minor += b.accessible("setup (de)").await;
    b.scroll_to("#steps").await;
    b.screenshot("setup-de").await;
    b.click_text("a", "Verbindung").await;
    b.wait_for_text("h1", "Verbindung").await;
    b.click_text("a", "English").await;
    b.wait_for_text("h1", "Connection").await;

    // The mass-deprovisioning hold: Okta deactivates more users than the connection allows
    // at once; every page says so, and the admin keeps their access.
    let mut admin = app.admin().await;
    let okta = admin
        .list_connections(dirsync_proto::v1::ListConnectionsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .connections
        .into_iter()
        .find(|c| c.idp_profile == "okta")
        .unwrap();
    admin
        .update_connection(dirsync_proto::v1::UpdateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: okta.id.clone(),
            hold_max_users: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    for name in ["ada", "ann"] {
        let found = app
            .send(
                Method::GET,
                &format!("{tenant_url}/Users?filter=userName%20eq%20%22{name}%40acme.example%22"),
                Some(&rotated),
                None,
                &[],
            )
            .await;
        let id = found.body["Resources"][0]["id"].as_str().unwrap().to_owned();
        let url = format!("{tenant_url}/Users/{id}");
        assert_eq!(idp(&app, Method::PATCH, &url, &rotated, Some(off.clone())).await, 200);
    }
    b.click_text("a", "People").await;
    b.wait_for_text("main", "1 users are waiting").await;
    b.click_text("a", "Review and decide").await;
    b.wait_for_text("h1", "Held deprovisioning").await;
    assert!(b.text("main").await.contains("ann@acme.example"));
    minor += b.accessible("hold").await;
    b.screenshot("hold").await;
    b.click_text("button", "Reject: keep their access").await;
    b.wait_for_text("main", "Rejected: 1 held changes were discarded").await;
    b.click_text("a", "Connection").await;
    b.wait_for_text("h1", "Connection").await;

    // Ending the connection: a deliberate second step that says users stay.
    b.click_text("a", "End connection…").await;
    b.wait_for_text("h1", "End this connection?").await;
    assert!(b.text("main").await.contains("Users and groups stay"));
    minor += b.accessible("end connection").await;
    b.screenshot("end-connection").await;
    b.click_text("button", "Yes, end the connection").await;
    b.wait_for_text("main", "The connection has ended. 2 users and 0 groups stay")
        .await;
    assert_eq!(
        idp(&app, Method::GET, &format!("{tenant_url}/Users"), &rotated, None).await,
        401
    );
    let users = app
        .directory()
        .await
        .list_users(dirsync_proto::v1::ListUsersRequest {
            tenant_id: app.tenant_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        users.total_results, 6,
        "the users stay (two from Okta, four seeded for the mappings)"
    );

    // The link is used up: opening it again says so.
    b.goto(&url).await;
    b.wait_for_text("h1", "This link cannot be used").await;
    minor += b.accessible("used link").await;
    b.close().await;
    eprintln!(
        "portal browser walk-through: {:.1} s, {minor} minor/moderate axe findings",
        started.elapsed().as_secs_f64()
    );
}

/// Every page's main action with the keyboard only, in the order an admin would go: link,
/// setup, navigation, sync log, mappings and preview, invitations, people, connection (token,
/// rotate, revoke), language, ending the connection, signing out.
async fn every_page_works_with_the_keyboard_only(app: TestApp) {
    let started = Instant::now();
    let Some(b) = Browser::start(false).await else {
        return;
    };
    // What the pages show: users, groups and mappings as an IdP sent them, and a failed request.
    let m = crate::portal::seed_mappings(&app).await;
    app.scim(Method::POST, "/Users", Some(json!({"userName": "ann@acme.example"})))
        .await
        .expect(409);
    let (_, url) = link(&app, &app.tenant_id, Some(&app.connection_id), PortalIntent::Setup).await;
    use Expect::{Focused, Text as Shows, Url};
    use Step::{BackTab, Choose, IdpCreates, Press, Tab, Type, Wait};
    let text = Target::Text;
    let here = None;
    let open = |path: &str| Some(path.to_owned());
    let cases = vec![
        KeyboardCase {
            page: "link",
            open: Some(url),
            steps: vec![Tab(text("Continue")), Press(Key::Enter)],
            expect: vec![Shows("h1", "Set up provisioning")],
        },
        KeyboardCase {
            page: "skip link",
            open: open("/portal/setup"),
            steps: vec![Tab(css("a.skip")), Press(Key::Enter)],
            expect: vec![Focused("main")],
        },
        KeyboardCase {
            page: "setup: choose the IdP",
            open: open("/portal/setup"),
            steps: vec![Tab(css("button[value=okta]")), Press(Key::Space)],
            expect: vec![
                Shows("#steps", "2. Configure Okta"),
                Shows(".guide", "SCIM connector base URL"),
            ],
        },
        KeyboardCase {
            page: "setup: show the token",
            open: here.clone(),
            steps: vec![Tab(text("Show token")), Press(Key::Enter)],
            expect: vec![Shows("main", "Treat this token like a password")],
        },
        // The live panel refreshes while the admin reads a request's details: they stay open
        // and focused.
        KeyboardCase {
            page: "setup: live verification",
            open: here.clone(),
            steps: vec![
                Tab(css("#verify summary")),
                Press(Key::Enter),
                IdpCreates("dora@acme.example"),
                Wait(Duration::from_secs(5)),
            ],
            expect: vec![
                Shows("#verify", "created user dora@acme.example"),
                Focused("#verify details[open] > summary"),
                Shows("#verify details[open]", "How to fix it"),
            ],
        },
        KeyboardCase {
            page: "navigation",
            open: open("/portal/setup"),
            steps: vec![Tab(text("Sync log")), Press(Key::Enter)],
            expect: vec![Shows("h1", "Sync log")],
        },
        KeyboardCase {
            page: "sync log: failed only",
            open: here.clone(),
            steps: vec![
                Tab(css("#failed")),
                Press(Key::Space),
                Tab(text("Filter")),
                Press(Key::Enter),
            ],
            expect: vec![Url("failed=1"), Shows("#log-rows", "409")],
        },
        KeyboardCase {
            page: "sync log: details",
            open: here.clone(),
            steps: vec![Tab(css("#log-rows summary")), Press(Key::Enter)],
            expect: vec![Shows("#log-rows details", "How to fix it")],
        },
        KeyboardCase {
            page: "sync log: by user (Shift+Tab back to the field)",
            open: open("/portal/log"),
            steps: vec![Tab(text("Filter")), BackTab(css("#q")), Type("ben"), Press(Key::Enter)],
            expect: vec![Url("q=ben"), Shows("#log-rows", "ben@acme.example")],
        },
        KeyboardCase {
            page: "mappings: preview",
            open: open("/portal/mappings"),
            steps: vec![
                Tab(css(format!("#role-{}", m.engineering))),
                Choose("Admin"),
                Tab(css(format!("#tier-{}", m.engineering))),
                Choose("Starter"),
                Tab(text("Preview")),
                Press(Key::Enter),
            ],
            expect: vec![
                Shows("h1", "Preview: Engineering"),
                Shows("main", "3 user(s) move from Member to Admin"),
            ],
        },
        KeyboardCase {
            page: "mapping preview: save",
            open: here.clone(),
            steps: vec![Tab(text("Save")), Press(Key::Space)],
            expect: vec![Shows("main", "Saved. For the members of Engineering")],
        },
        KeyboardCase {
            page: "mappings: invitations",
            open: open("/portal/mappings"),
            steps: vec![
                Tab(css("#invites")),
                Press(Key::Space),
                Tab(css("#delay")),
                Choose("1 hour"),
                Tab(text("Save invitations")),
                Press(Key::Enter),
            ],
            expect: vec![Shows("main", "Invitations are on.")],
        },
        KeyboardCase {
            page: "people: search",
            open: open("/portal/people"),
            steps: vec![Tab(css("#q")), Type("ann"), Tab(text("Search")), Press(Key::Space)],
            expect: vec![Url("q=ann"), Shows("main", "ann@acme.example")],
        },
        KeyboardCase {
            page: "connection: show the token",
            open: open("/portal/connection"),
            steps: vec![Tab(text("Show token")), Press(Key::Space)],
            expect: vec![Shows("main", "Treat this token like a password")],
        },
        // The copy buttons: each says it copied, and the clipboard holds the field's value.
        KeyboardCase {
            page: "connection: copy the Tenant URL",
            open: here.clone(),
            steps: vec![
                Step::AllowClipboard,
                Tab(css("button.copy[data-copy^=url-]")),
                Press(Key::Enter),
            ],
            expect: vec![
                Shows("button.copy[data-copy^=url-]", "Copied"),
                Expect::Copied("input[id^=url-]"),
            ],
        },
        KeyboardCase {
            page: "connection: copy the token",
            open: here.clone(),
            steps: vec![Tab(css("button.copy[data-copy^=token-]")), Press(Key::Space)],
            expect: vec![
                Shows("button.copy[data-copy^=token-]", "Copied"),
                Expect::Copied("input[id^=token-]"),
            ],
        },
        KeyboardCase {
            page: "connection: rotate",
            open: open("/portal/connection"),
            steps: vec![
                Tab(css("select[id^=grace-]")),
                Choose("1 day"),
                Tab(text("Rotate token")),
                Press(Key::Enter),
            ],
            expect: vec![Shows("main", "A new token was issued")],
        },
        KeyboardCase {
            page: "connection: revoke",
            open: open("/portal/connection"),
            steps: vec![Tab(text("Revoke tokens")), Press(Key::Space)],
            expect: vec![Shows("main", "token(s) revoked")],
        },
        KeyboardCase {
            page: "language: German",
            open: open("/portal/connection"),
            steps: vec![Tab(text("Deutsch")), Press(Key::Enter)],
            expect: vec![Shows("h1", "Verbindung"), Shows("main", "Token erneuern")],
        },
        KeyboardCase {
            page: "language: back to English",
            open: here.clone(),
            steps: vec![Tab(text("English")), Press(Key::Enter)],
            expect: vec![Shows("h1", "Connection")],
        },
        KeyboardCase {
            page: "connection: end",
            open: open("/portal/connection"),
            steps: vec![Tab(text("End connection…")), Press(Key::Enter)],
            expect: vec![Shows("h1", "End this connection?")],
        },
        KeyboardCase {
            page: "end connection: confirm",
            open: here.clone(),
            steps: vec![Tab(text("Yes, end the connection")), Press(Key::Space)],
            expect: vec![Shows("main", "The connection has ended")],
        },
        KeyboardCase {
            page: "sign out",
            open: open("/portal/people"),
            steps: vec![Tab(text("Sign out")), Press(Key::Enter)],
            expect: vec![Shows("main", "You are signed out")],
        },
    ];
    for case in &cases {
        b.keyboard(case, &app).await;
    }
    let ended = app
        .admin()
        .await
        .list_connections(dirsync_proto::v1::ListConnectionsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        ended.connections.iter().all(|c| c.ended.is_some()),
        "the keyboard ended the connection"
    );
    b.close().await;
    eprintln!(
        "portal keyboard walk-through: {} actions in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}

on_both_stores!(
    an_admin_sets_up_and_manages_a_connection,
    every_page_works_with_the_keyboard_only
);
