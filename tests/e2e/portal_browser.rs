//! The setup portal in a real browser: headless Chromium through chromedriver (WebDriver),
//! driven as an IT admin would, while the test plays the IdP over SCIM. Every page gets an
//! axe-core check (no serious or critical violation), the first steps are done with the
//! keyboard only, and each page is photographed into docs/portal/ (on the SQLite run, with
//! DIRSYNC_SCREENSHOTS=1 or when a picture is missing).
//!
//! Needs `chromium`, `chromium-driver` (Debian) and axe-core (npm; `.ci/run` installs both).
//! Under CI a missing browser or axe-core fails; elsewhere the test says so and skips.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dirsync_proto::v1::PortalIntent;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::portal::link;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";

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

    /// Presses Tab until the focused element's text is `label`, then presses `key`.
    async fn keyboard_to(&self, label: &str, key: &str) {
        for _ in 0..40 {
            let active = self.client.active_element().await.unwrap();
            if active.text().await.unwrap_or_default().trim() == label {
                active.send_keys(key).await.unwrap();
                return;
            }
            active.send_keys(TAB).await.unwrap();
        }
        panic!("{label:?} cannot be reached with the Tab key");
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
    b.keyboard_to("Continue", ENTER).await;
    b.wait_for_text("h1", "Set up provisioning").await;
    assert_eq!(b.path().await, "/portal/setup", "no token in the address");
    minor += b.accessible("setup (choose)").await;
    b.screenshot("setup-choose").await;
    b.keyboard_to("Okta", ENTER).await;
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
    b.click_text("a", "English").await;
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

on_both_stores!(an_admin_sets_up_and_manages_a_connection);
