//! The setup portal over HTTP, as a browser and an attacker would send it: one-time links that
//! mail scanners cannot use up, sessions with idle and absolute expiry, cross-site requests
//! refused, a session that can never reach another tenant, every action journaled with the
//! session as who did it. The browser walk-through is in `portal_browser`.

use dirsync_proto::v1::portal_client::PortalClient;
use dirsync_proto::v1::{
    CreateLinkRequest, GetConnectionConfigRequest, ListConnectionsRequest, PortalIntent, PortalSyncLogRequest,
    RevokeLinkRequest, SessionRequest,
};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

use crate::harness::{Grpc, TestApp, change_data};
use crate::on_both_stores;

/// An HTTP client that does not follow redirects and keeps no cookies: the tests see each.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn portal(app: &TestApp) -> PortalClient<Grpc> {
    PortalClient::new(app.channel().await)
}

/// A link as a product asks for it.
pub async fn link(app: &TestApp, tenant: &str, connection: Option<&str>, intent: PortalIntent) -> (String, String) {
    let l = portal(app)
        .await
        .create_link(CreateLinkRequest {
            tenant_id: tenant.to_owned(),
            connection_id: connection.map(str::to_owned),
            intent: intent as i32,
            lifetime_seconds: 0,
            return_url: Some("https://app.example.com/settings/scim".into()),
        })
        .await
        .unwrap()
        .into_inner();
    (l.id, l.url)
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A portal request with `cookie` (if any), a form, and headers; POSTs come from the portal's
/// own origin unless `headers` says otherwise.
pub async fn send(
    app: &TestApp,
    method: Method,
    url: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("{}{url}", app.root)
    };
    let mut req = client().request(method.clone(), &url);
    if method == Method::POST && headers.is_empty() {
        req = req.header("origin", &app.root);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if method == Method::POST {
        req = req.form(form);
    }
    let resp = req.send().await.unwrap();
    Page {
        status: resp.status(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}

/// Continues a link: the session cookie (`name=value`).
pub async fn continue_link(app: &TestApp, url: &str) -> String {
    let p = send(app, Method::POST, url, None, &[], &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let set = p.header("set-cookie");
    set.split(';').next().unwrap().to_owned()
}

/// A portal session of `tenant`, as its IT admin gets one.
pub async fn session(app: &TestApp, tenant: &str, connection: Option<&str>) -> String {
    let (_, url) = link(app, tenant, connection, PortalIntent::Manage).await;
    continue_link(app, &url).await
}

async fn store_sql(app: &TestApp, sql: &str) {
    let db = Database::connect(&app.store_url).await.unwrap();
    db.execute_unprepared(sql).await.unwrap();
    db.close().await.unwrap();
}

async fn links_are_one_time_and_scanners_do_not_use_them_up(app: TestApp) {
    let (_, url) = link(&app, &app.tenant_id, None, PortalIntent::Setup).await;
    assert!(url.starts_with(&format!("{}/portal/link/dsl_", app.root)), "{url}");
    // A mail scanner and a link preview fetch it: nothing is used up.
    for _ in 0..2 {
        let p = send(&app, Method::GET, &url, None, &[], &[]).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.text.contains("Continue") && p.text.contains("acme"), "{}", p.text);
        assert!(p.header("set-cookie").is_empty());
        assert_eq!(p.header("referrer-policy"), "no-referrer");
    }
    let p = send(&app, Method::POST, &url, None, &[], &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.header("location"), "/portal/setup", "the redirect carries no token");
    let cookie = p.header("set-cookie");
    for part in ["dirsync_portal=dsp_", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !cookie.contains("Expires") && !cookie.contains("Max-Age"),
        "a session cookie: {cookie}"
    );
    // Used once: neither shown nor usable again.
    for method in [Method::GET, Method::POST] {
        let p = send(&app, method, &url, None, &[], &[]).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert!(p.text.contains("cannot be used"), "{}", p.text);
        assert!(p.header("set-cookie").is_empty());
    }

    // Revoked before use.
    let (id, url) = link(&app, &app.tenant_id, None, PortalIntent::Manage).await;
    let mut grpc = portal(&app).await;
    let other = app.new_tenant("other").await;
    let err = grpc
        .revoke_link(RevokeLinkRequest {
            tenant_id: other.id.clone(),
            link_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "another tenant cannot revoke it");
    grpc.revoke_link(RevokeLinkRequest {
        tenant_id: app.tenant_id.clone(),
        link_id: id,
    })
    .await
    .unwrap();
    assert_eq!(
        send(&app, Method::POST, &url, None, &[], &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // Expired.
    let (_, url) = link(&app, &app.tenant_id, None, PortalIntent::Manage).await;
    store_sql(&app, "UPDATE portal_links SET expires_at = 1").await;
    for method in [Method::GET, Method::POST] {
        assert_eq!(
            send(&app, method, &url, None, &[], &[]).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // A guessed token, and one of the wrong shape.
    for bad in [
        "dsl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x",
        &"dsl_a".repeat(100),
    ] {
        let p = send(&app, Method::GET, &format!("/portal/link/{bad}"), None, &[], &[]).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{bad}");
    }

    // What a product may ask for is bounded.
    let ask = |tenant: &str, lifetime: u64, return_url: Option<&str>, connection: Option<&str>| CreateLinkRequest {
        tenant_id: tenant.to_owned(),
        connection_id: connection.map(str::to_owned),
        intent: PortalIntent::Setup as i32,
        lifetime_seconds: lifetime,
        return_url: return_url.map(str::to_owned),
    };
    let missing = uuid::Uuid::now_v7().to_string();
    for (req, code) in [
        (ask(&app.tenant_id, 30, None, None), tonic::Code::InvalidArgument),
        (
            ask(&app.tenant_id, 8 * 86_400, None, None),
            tonic::Code::InvalidArgument,
        ),
        (
            ask(&app.tenant_id, 0, Some("javascript:alert(1)"), None),
            tonic::Code::InvalidArgument,
        ),
        (ask(&missing, 0, None, None), tonic::Code::NotFound),
        (
            ask(&app.tenant_id, 0, None, Some(&other.connection_id)),
            tonic::Code::NotFound,
        ),
    ] {
        let err = grpc.create_link(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), code, "{req:?}: {err:?}");
    }
    let mail = grpc
        .create_link(ask(&app.tenant_id, 3 * 86_400, None, Some(&app.connection_id)))
        .await
        .unwrap()
        .into_inner();
    assert!(
        mail.expires.unwrap().seconds > now_ms() / 1000 + 2 * 86_400,
        "links for mail live days"
    );
}

async fn sessions_expire_and_end(app: TestApp) {
    let cookie = session(&app, &app.tenant_id, None).await;
    let p = send(&app, Method::GET, "/portal/connection", Some(&cookie), &[], &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains(&app.connection_id));

    // Idle for longer than 30 minutes.
    store_sql(
        &app,
        &format!(
            "UPDATE portal_sessions SET last_seen_at = {}",
            now_ms() - 31 * 60 * 1000
        ),
    )
    .await;
    let p = send(&app, Method::GET, "/portal/connection", Some(&cookie), &[], &[]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.text.contains("session has ended"), "{}", p.text);
    assert!(p.header("set-cookie").contains("Max-Age=0"), "the cookie is removed");

    // Past the absolute expiry, however busy.
    let cookie = session(&app, &app.tenant_id, None).await;
    store_sql(&app, "UPDATE portal_sessions SET expires_at = 1").await;
    let p = send(&app, Method::GET, "/portal/setup", Some(&cookie), &[], &[]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);

    // Signed out.
    let cookie = session(&app, &app.tenant_id, None).await;
    let p = send(&app, Method::POST, "/portal/logout", Some(&cookie), &[], &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.header("set-cookie").contains("Max-Age=0"));
    let p = send(&app, Method::GET, "/portal/log", Some(&cookie), &[], &[]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);

    // No cookie, or a made-up one.
    for c in [None, Some("dirsync_portal=dsp_madeup"), Some("dirsync_portal=")] {
        let p = send(&app, Method::GET, "/portal/log", c, &[], &[]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{c:?}");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn current_token(app: &TestApp, tenant: &str, connection: &str) -> String {
    app.admin()
        .await
        .get_connection_config(GetConnectionConfigRequest {
            tenant_id: tenant.to_owned(),
            connection_id: connection.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .token
}

async fn cross_site_requests_are_refused_and_pages_are_locked_down(app: TestApp) {
    let cookie = session(&app, &app.tenant_id, None).await;
    let before = current_token(&app, &app.tenant_id, &app.connection_id).await;
    let rotate = format!("/portal/connection/{}/rotate", app.connection_id);
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site"), ("origin", app.root.as_str())],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        // Neither Fetch Metadata nor Origin: not a browser form of ours.
        vec![("x-nothing", "1")],
    ] {
        let p = send(&app, Method::POST, &rotate, Some(&cookie), &[("grace", "0")], &headers).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(p.text.contains("another site"), "{}", p.text);
    }
    // A link cannot be redeemed from another site either (login CSRF).
    let (_, url) = link(&app, &app.tenant_id, None, PortalIntent::Setup).await;
    let p = send(&app, Method::POST, &url, None, &[], &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(&app, Method::GET, &url, None, &[], &[]).await.status,
        StatusCode::OK,
        "still unused"
    );
    assert_eq!(
        current_token(&app, &app.tenant_id, &app.connection_id).await,
        before,
        "nothing rotated"
    );
    let p = send(
        &app,
        Method::POST,
        &rotate,
        Some(&cookie),
        &[("grace", "0")],
        &[("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_ne!(current_token(&app, &app.tenant_id, &app.connection_id).await, before);

    // Every page: a strict policy, no frames, no caching; the token only after a click.
    for path in [
        "/portal/setup",
        "/portal/connection",
        "/portal/log",
        "/portal/nothing-here",
    ] {
        let p = send(&app, Method::GET, path, Some(&cookie), &[], &[]).await;
        let csp = p.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self';") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(p.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(p.header("cache-control"), "no-store", "{path}");
        assert!(
            !p.text.contains("<script>") && !p.text.contains(" style="),
            "{path}: inline code"
        );
        assert!(!p.text.contains("dsy_"), "{path}: a secret was rendered unasked");
    }
    let p = send(
        &app,
        Method::POST,
        &format!("/portal/connection/{}/reveal", app.connection_id),
        Some(&cookie),
        &[("back", "connection")],
        &[],
    )
    .await;
    let token = current_token(&app, &app.tenant_id, &app.connection_id).await;
    assert!(p.text.contains(&token), "shown when asked");

    // Frames only for configured origins; branding from the deployment.
    let branded = dirsync_portal::PortalConfig {
        public_url: None,
        product_name: "Acme Cloud".into(),
        accent_colour: "#aa3300".into(),
        frame_origins: vec!["https://app.example.com".into()],
        ..Default::default()
    };
    let root = start_portal(&app, branded).await;
    let (_, url) = link(&app, &app.tenant_id, None, PortalIntent::Setup).await;
    let url = url.replace(&app.root, &root);
    let p = send(
        &app,
        Method::GET,
        &url,
        None,
        &[],
        &[("accept-language", "de-DE,de;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(
        p.header("content-security-policy")
            .ends_with("frame-ancestors https://app.example.com")
    );
    assert!(p.header("x-frame-options").is_empty());
    assert!(p.text.contains("Acme Cloud") && p.text.contains("Weiter") && p.text.contains("lang=\"de\""));
    let p = send(
        &app,
        Method::GET,
        &format!("{url}?lang=en"),
        None,
        &[],
        &[("accept-language", "de")],
    )
    .await;
    assert!(p.text.contains("Continue"), "the switch wins");
    assert!(p.header("set-cookie").contains("dirsync_portal_lang=en"));
    let theme = send(
        &app,
        Method::GET,
        &format!("{root}/portal/assets/theme.css"),
        None,
        &[],
        &[],
    )
    .await;
    assert!(theme.text.contains("--accent: #aa3300"), "{}", theme.text);
}

/// Another edge process with the portal mounted with `config`, in front of the app's core.
pub async fn start_portal(app: &TestApp, mut config: dirsync_portal::PortalConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    if config.public_url.is_none() {
        config.public_url = Some(root.clone());
    }
    let channel = dirsync_edge::core_channel(&app.grpc).unwrap();
    let router = dirsync_portal::router(dirsync_portal::PortalState::new(
        dirsync_portal::core_client(channel.clone(), &app.keys.portal),
        config,
    ));
    let state = dirsync_edge::AppState::new(
        channel,
        dirsync_edge::EdgeConfig {
            public_url: Some(root.clone()),
            service_key: Some(dirsync_edge::ServiceKey(app.keys.edge.clone())),
            ..Default::default()
        },
    );
    tokio::spawn(dirsync_edge::serve_with(
        listener,
        state,
        router,
        std::future::pending(),
    ));
    root
}

async fn sessions_never_reach_another_tenant(app: TestApp) {
    let b = app.new_tenant("globex").await;
    app.send(
        Method::POST,
        &format!("{}/Users", b.scim),
        Some(&b.token),
        Some(json!({"userName": "bea@globex.example"})),
        &[],
    )
    .await
    .expect(201);
    let a = session(&app, &app.tenant_id, None).await;
    // Every action on B's connection with A's session: not found, nothing changes.
    for action in ["reveal", "rotate", "revoke", "end"] {
        let path = format!("/portal/connection/{}/{action}", b.connection_id);
        let p = send(
            &app,
            Method::POST,
            &path,
            Some(&a),
            &[("grace", "0"), ("back", "setup")],
            &[],
        )
        .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{action}: {}", p.text);
        assert!(!p.text.contains(&b.token), "{action}");
    }
    let p = send(
        &app,
        Method::GET,
        &format!("/portal/connection/{}/end", b.connection_id),
        Some(&a),
        &[],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    app.send(Method::GET, &format!("{}/Users", b.scim), Some(&b.token), None, &[])
        .await
        .expect(200);
    let conns = app
        .admin()
        .await
        .list_connections(ListConnectionsRequest {
            tenant_id: b.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .connections;
    assert!(conns.iter().all(|c| c.ended.is_none()));

    // No page of A shows anything of B, whatever it asks for.
    for path in [
        "/portal/setup".to_owned(),
        "/portal/connection".to_owned(),
        "/portal/log".to_owned(),
        "/portal/log?q=bea".to_owned(),
        "/portal/log/entries?q=globex".to_owned(),
        format!("/portal/setup/verify?connection={}", b.connection_id),
    ] {
        let p = send(&app, Method::GET, &path, Some(&a), &[], &[]).await;
        // (An id the request itself names may be echoed in the "not found" message.)
        let shown = [b.id.as_str(), b.connection_id.as_str(), "bea@globex", "globex"];
        for secret in shown.into_iter().filter(|s| !path.contains(*s)) {
            assert!(!p.text.contains(secret), "{path} shows {secret}");
        }
    }
    // Over gRPC too: the session decides the tenant, not the caller.
    let secret = a.split_once('=').unwrap().1.to_owned();
    let mut grpc = portal(&app).await;
    let err = grpc
        .sync_log(PortalSyncLogRequest {
            session: secret.clone(),
            connection_id: Some(b.connection_id.clone()),
            failed_only: false,
            search: None,
            limit: 10,
            after_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    let own = grpc
        .get_session(SessionRequest { session: secret })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.tenant_id, app.tenant_id);
}

async fn actions_are_journaled_with_the_session(app: TestApp) {
    app.scim(Method::POST, "/Users", Some(json!({"userName": "stays@acme.example"})))
        .await
        .expect(201);
    let cookie = session(&app, &app.tenant_id, Some(&app.connection_id)).await;
    let secret = cookie.split_once('=').unwrap().1.to_owned();
    let session_id = portal(&app)
        .await
        .get_session(SessionRequest { session: secret })
        .await
        .unwrap()
        .into_inner()
        .id;
    let old = app.token.clone();
    let p = send(
        &app,
        Method::POST,
        &format!("/portal/connection/{}/rotate", app.connection_id),
        Some(&cookie),
        &[("grace", "3600")],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK);
    let new = current_token(&app, &app.tenant_id, &app.connection_id).await;
    assert!(p.text.contains(&new) && new != old);
    for token in [&old, &new] {
        app.send(Method::GET, &format!("{}/Users", app.scim), Some(token), None, &[])
            .await
            .expect(200);
    }
    let p = send(
        &app,
        Method::POST,
        &format!("/portal/connection/{}/end", app.connection_id),
        Some(&cookie),
        &[],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text.contains("1 users and 0 groups stay"), "{}", p.text);
    // The test edge caches no token lookup (harness): the tokens fail at once.
    for token in [&old, &new] {
        app.send(Method::GET, &format!("{}/Users", app.scim), Some(token), None, &[])
            .await
            .expect(401);
    }
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
    assert_eq!(users.total_results, 1, "the user stays");

    let portal_changes: Vec<_> = app
        .changes(&app.tenant_id, 0, 100)
        .await
        .into_iter()
        .filter(|c| c.r#type.starts_with("portal."))
        .collect();
    let kinds: Vec<&str> = portal_changes.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(kinds, ["portal.token_rotated", "portal.connection_ended"]);
    for c in &portal_changes {
        let data = change_data(c);
        assert_eq!(data["actor"]["type"], "portal_session", "{data}");
        assert_eq!(data["actor"]["sessionId"], session_id.as_str(), "{data}");
    }
    let log = app.sync_log().await;
    let by_portal: Vec<_> = log.iter().filter(|e| e.method == "PORTAL").collect();
    assert_eq!(by_portal.len(), 2, "{log:?}");
    for e in by_portal {
        assert_eq!(e.status, 200);
        assert!(
            e.summary.contains(&format!("by portal session {session_id}")),
            "{}",
            e.summary
        );
    }
}

/// `dirsync serve` serves the portal with the `portal` key it created; `dirsync admin portal
/// link` makes links an IT admin can open.
async fn serve_and_cli(backend: crate::harness::Backend) {
    use crate::binary::{Proc, admin, edge_root};
    let Some(store) = crate::harness::Store::new(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("dirsync-portal-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut p = Proc::spawn(
        &["serve", "--scim-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"],
        &store,
        &dir,
    );
    let tenant_url = p.value_after("Tenant URL:").await;
    let edge = edge_root(&p.value_after("SCIM edge:").await);
    let grpc = p.value_after("gRPC core:").await;
    let tenant = tenant_url.rsplit('/').next().unwrap();
    let keys = std::fs::read_to_string(dir.join("service-keys")).unwrap();
    assert!(
        keys.lines().any(|l| l.starts_with("portal=dsk_")),
        "{}",
        keys.lines().count()
    );
    let out = admin(
        &dir,
        &grpc,
        &[
            "portal",
            "link",
            "--tenant",
            tenant,
            "--lifetime",
            "2d",
            "--intent",
            "manage",
        ],
    )
    .await;
    let url = out["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{edge}/portal/link/dsl_")), "{out}");
    let http = client();
    let page = http.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let resp = http.post(url).header("origin", &edge).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/portal/connection");
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{edge}/portal/connection"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let out = admin(&dir, &grpc, &["portal", "link", "--tenant", tenant]).await;
    let id = out["id"].as_str().unwrap();
    admin(&dir, &grpc, &["portal", "revoke", "--tenant", tenant, "--link", id]).await;
    let resp = http.get(out["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "revoked");
    p.terminate().await;
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_cli_sqlite() {
    serve_and_cli(crate::harness::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_cli_postgres() {
    serve_and_cli(crate::harness::Backend::Postgres).await;
}

on_both_stores!(
    links_are_one_time_and_scanners_do_not_use_them_up,
    sessions_expire_and_end,
    cross_site_requests_are_refused_and_pages_are_locked_down,
    sessions_never_reach_another_tenant,
    actions_are_journaled_with_the_session,
);

/// A tenant with roles, license tiers and groups as an IdP sent them: `Admins` (one member,
/// mapped to Admin), `Engineering` (three members, mapped to Team), `Sales` (empty).
pub struct Mapped {
    pub engineering: String,
    pub admins: String,
    pub admin_role: String,
    pub member_role: String,
    pub starter: String,
}

pub async fn seed_mappings(app: &TestApp) -> Mapped {
    use dirsync_proto::v1::licenses_client::LicensesClient;
    use dirsync_proto::v1::{
        CreateRoleRequest, CreateTierRequest, MapGroupToRoleRequest, MapGroupToTierRequest, SetLicenseSettingsRequest,
    };
    let mut admin = app.admin().await;
    let mut role = async |name: &str, rank: i32, is_admin: bool, is_guest: bool, is_default: bool| {
        admin
            .create_role(CreateRoleRequest {
                tenant_id: app.tenant_id.clone(),
                name: name.into(),
                rank,
                is_admin,
                is_guest,
                is_default,
            })
            .await
            .unwrap()
            .into_inner()
            .id
    };
    let admin_role = role("Admin", 100, true, false, false).await;
    let member_role = role("Member", 10, false, false, true).await;
    role("Guest", 0, false, true, false).await;
    let mut licenses = LicensesClient::new(app.channel().await);
    let mut tier = async |name: &str, rank: i32, seats: i64| {
        licenses
            .create_tier(CreateTierRequest {
                tenant_id: app.tenant_id.clone(),
                name: name.into(),
                rank,
                seats,
            })
            .await
            .unwrap()
            .into_inner()
            .id
    };
    let starter = tier("Starter", 1, 1).await;
    let team = tier("Team", 2, 10).await;
    let mut licenses = LicensesClient::new(app.channel().await);
    licenses
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            auto_purchase: Some(true),
            billing_window_seconds: None,
            source: None,
            default_tier_id: None,
        })
        .await
        .unwrap();
    let user = async |name: &str| {
        let r = app
            .scim(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("{name}@acme.example")})),
            )
            .await;
        r.expect(201);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let boss = user("boss").await;
    let mut engineers = Vec::new();
    for n in ["ann", "ben", "cy"] {
        engineers.push(user(n).await);
    }
    let group = async |name: &str, members: &[String]| {
        let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
        let r = app
            .scim(
                Method::POST,
                "/Groups",
                Some(json!({"displayName": name, "members": members})),
            )
            .await;
        r.expect(201);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let admins = group("Admins", &[boss]).await;
    let engineering = group("Engineering", &engineers).await;
    group("Sales", &[]).await;
    admin
        .map_group_to_role(MapGroupToRoleRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: admins.clone(),
            role_id: admin_role.clone(),
        })
        .await
        .unwrap();
    licenses
        .map_group_to_tier(MapGroupToTierRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: engineering.clone(),
            tier_id: team,
        })
        .await
        .unwrap();
    Mapped {
        engineering,
        admins,
        admin_role,
        member_role,
        starter,
    }
}

async fn mappings_are_previewed_then_saved(app: TestApp) {
    let m = seed_mappings(&app).await;
    let cookie = session(&app, &app.tenant_id, Some(&app.connection_id)).await;
    let page = send(&app, Method::GET, "/portal/mappings", Some(&cookie), &[], &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for text in [
        "Engineering",
        "3 members",
        "Admins",
        "Sales",
        "Starter",
        "The last admin is never removed",
    ] {
        assert!(page.text.contains(text), "{text}");
    }
    assert!(!page.text.contains(">Guest<"), "guest roles cannot be mapped");
    let before = app.changes(&app.tenant_id, 0, 1000).await.len();

    // The preview says what would happen and changes nothing.
    let preview = format!(
        "/portal/mappings/preview?group={}&role={}&tier={}",
        m.engineering, m.admin_role, m.starter
    );
    let page = send(&app, Method::GET, &preview, Some(&cookie), &[], &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for text in [
        "for the 3 members of Engineering",
        "3 user(s) move from Member to Admin",
        "3 user(s) move from Team to Starter",
        "2 more seat(s) will be bought",
    ] {
        assert!(page.text.contains(text), "{text}: {}", page.text);
    }
    assert_eq!(
        app.changes(&app.tenant_id, 0, 1000).await.len(),
        before,
        "a preview changes nothing"
    );
    let page = send(&app, Method::GET, "/portal/mappings", Some(&cookie), &[], &[]).await;
    assert!(
        !page.text.contains(&format!("value=\"{}\" selected", m.starter)),
        "not mapped yet"
    );

    // Saved: the same effect, journaled with the session.
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/save",
        Some(&cookie),
        &[("group", &m.engineering), ("role", &m.admin_role), ("tier", &m.starter)],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for text in [
        "Saved. For the members of Engineering",
        "3 user(s) move from Member to Admin",
        "2 more seat(s) were bought",
    ] {
        assert!(page.text.contains(text), "{text}: {}", page.text);
    }
    let changes = app.changes(&app.tenant_id, 0, 1000).await;
    let saved: Vec<_> = changes.iter().filter(|c| c.r#type == "portal.mapping_saved").collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(change_data(saved[0])["actor"]["type"], "portal_session");
    assert!(changes.len() > before + 3, "role and license changes are in the feed");
    assert!(
        app.sync_log().await.iter().any(|e| e.method == "PORTAL"
            && e.summary
                .starts_with("mapped group Engineering to Admin and Starter; 3 users changed role")),
        "{:?}",
        app.sync_log().await
    );

    // The last-admin rule bites: unmapping the only admin's group is refused, with the rule.
    let page = send(
        &app,
        Method::GET,
        &format!(
            "/portal/mappings/preview?group={}&role={}&tier=",
            m.admins, m.member_role
        ),
        Some(&cookie),
        &[],
        &[],
    )
    .await;
    assert!(
        !page.text.contains("This change is refused"),
        "Engineering holds admins now: {}",
        page.text
    );
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/save",
        Some(&cookie),
        &[("group", &m.engineering), ("role", ""), ("tier", "")],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let page = send(
        &app,
        Method::GET,
        &format!("/portal/mappings/preview?group={}&role=&tier=", m.admins),
        Some(&cookie),
        &[],
        &[],
    )
    .await;
    assert!(page.text.contains("This change is refused"), "{}", page.text);
    assert!(page.text.contains("The last admin is never removed"));
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/save",
        Some(&cookie),
        &[("group", &m.admins), ("role", ""), ("tier", "")],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.text);

    // Invitations on, with their delay, and off again.
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/invitations",
        Some(&cookie),
        &[("enabled", "1"), ("delay", "3600")],
        &[],
    )
    .await;
    assert!(page.text.contains("Invitations are on."), "{}", page.text);
    let settings = dirsync_proto::v1::tenant_settings_client::TenantSettingsClient::new(app.channel().await)
        .get_tenant_settings(dirsync_proto::v1::GetTenantSettingsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(settings.invites_enabled);
    assert_eq!(settings.invite_delay_seconds, 3600);
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/invitations",
        Some(&cookie),
        &[("delay", "3600")],
        &[],
    )
    .await;
    assert!(page.text.contains("Invitations are off."), "{}", page.text);
    let page = send(
        &app,
        Method::POST,
        "/portal/mappings/invitations",
        Some(&cookie),
        &[("enabled", "1"), ("delay", "9999999")],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "at most 30 days");
    let kinds: Vec<String> = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .into_iter()
        .map(|c| c.r#type)
        .filter(|k| k == "portal.invitations_set")
        .collect();
    assert_eq!(kinds.len(), 2);

    // Another tenant's groups and roles are not found.
    let b = app.new_tenant("globex").await;
    let other = session(&app, &b.id, None).await;
    for (method, path) in [
        (
            Method::GET,
            format!("/portal/mappings/preview?group={}&role=&tier=", m.engineering),
        ),
        (Method::POST, "/portal/mappings/save".to_owned()),
    ] {
        let page = send(
            &app,
            method,
            &path,
            Some(&other),
            &[("group", &m.engineering), ("role", ""), ("tier", "")],
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.text);
    }
    let page = send(&app, Method::GET, "/portal/mappings", Some(&other), &[], &[]).await;
    assert!(!page.text.contains("Engineering"));
}

on_both_stores!(mappings_are_previewed_then_saved);

/// The Setup page shows the IdP's guide in the portal's language: each IdP's German guide on
/// the German portal, the English one on the English portal.
async fn guides_are_in_the_portals_language(app: TestApp) {
    use dirsync_portal::i18n::Lang;
    let cookie = session(&app, &app.tenant_id, Some(&app.connection_id)).await;
    for (profile, german, english) in [
        (
            "entra",
            "Unternehmensanwendung anlegen",
            "Create the enterprise application",
        ),
        ("okta", "App-Integration anlegen", "Create the app integration"),
        (
            "google",
            "Automatische Bereitstellung konfigurieren",
            "Configure auto-provisioning",
        ),
        ("onelogin", "App hinzufügen", "Add the app"),
        (
            "pingone",
            "Konfigurieren Sie die Verbindung",
            "Configure the connection",
        ),
        ("jumpcloud", "Anwendung konfigurieren", "Configure the application"),
        ("generic", "Was jeder IdP bekommt", "What every IdP gets"),
    ] {
        let idp = dirsync_portal::idp::find(profile).unwrap();
        for (lang, code, shown, not_shown) in [
            (Lang::De, "de-DE,de;q=0.9", german, english),
            (Lang::En, "en-GB,en;q=0.9", english, german),
        ] {
            let headers = [("origin", app.root.as_str()), ("accept-language", code)];
            let page = send(
                &app,
                Method::POST,
                "/portal/setup/idp",
                Some(&cookie),
                &[("idp", profile)],
                &headers,
            )
            .await;
            let what = format!("{profile} {code}");
            assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.text);
            assert!(page.text.contains(&format!("<html lang=\"{}\"", lang.code())), "{what}");
            assert!(page.text.contains(shown), "{what}: {}", page.text);
            assert!(!page.text.contains(not_shown), "{what}: {}", page.text);
            assert!(page.text.contains(&idp.steps_html(lang)), "{what}: the whole guide");
            let page = send(&app, Method::GET, "/portal/setup", Some(&cookie), &[], &headers[1..]).await;
            assert!(page.text.contains(shown), "{what}, shown again: {}", page.text);
        }
    }
}

/// What the core refuses is explained in the portal's language, with the core's (English)
/// detail only where it names something (the value, the last admin); nothing changes.
async fn refusals_are_in_the_portals_language(app: TestApp) {
    let m = seed_mappings(&app).await;
    let cookie = session(&app, &app.tenant_id, Some(&app.connection_id)).await;
    let token = current_token(&app, &app.tenant_id, &app.connection_id).await;
    let nowhere = uuid::Uuid::now_v7().to_string();
    let save = [("group", m.admins.as_str()), ("role", ""), ("tier", "")];
    let rotate = format!("/portal/connection/{}/rotate", app.connection_id);
    let reveal = format!("/portal/connection/{nowhere}/reveal");
    let preview = format!("/portal/mappings/preview?group={}&role=&tier=", m.admins);
    struct Case<'a> {
        action: &'a str,
        method: Method,
        path: &'a str,
        form: &'a [(&'a str, &'a str)],
        status: StatusCode,
        german: &'a str,
        english: &'a str,
        detail: Option<&'a str>,
    }
    let cases = [
        Case {
            action: "unmapping the last admin's group",
            method: Method::POST,
            path: "/portal/mappings/save",
            form: &save,
            status: StatusCode::CONFLICT,
            german: "Ihre Organisation hätte danach keinen aktiven Administrator mehr",
            english: "This would leave your organisation without an active admin",
            detail: Some("admin first (nothing was changed)"),
        },
        Case {
            action: "previewing it",
            method: Method::GET,
            path: &preview,
            form: &[],
            status: StatusCode::OK,
            german: "Ihre Organisation hätte danach keinen aktiven Administrator mehr",
            english: "This would leave your organisation without an active admin",
            detail: Some("admin first (nothing was changed)"),
        },
        Case {
            action: "a grace period over 30 days",
            method: Method::POST,
            path: &rotate,
            form: &[("grace", "99999999")],
            status: StatusCode::BAD_REQUEST,
            german: "Ein Wert dieser Aktion wird nicht angenommen",
            english: "A value of this action is not accepted",
            detail: Some("grace_seconds is at most"),
        },
        Case {
            action: "a connection that does not exist",
            method: Method::POST,
            path: &reveal,
            form: &[],
            status: StatusCode::NOT_FOUND,
            german: "gibt es nicht (mehr)",
            english: "does not exist (any more)",
            detail: None,
        },
    ];
    for c in &cases {
        for (code, shown, not_shown, label) in [
            ("de", c.german, c.english, "Details (vom Server, auf Englisch): "),
            ("en", c.english, c.german, "Details: "),
        ] {
            let headers = [("origin", app.root.as_str()), ("accept-language", code)];
            let page = send(&app, c.method.clone(), c.path, Some(&cookie), c.form, &headers).await;
            let what = format!("{} ({code})", c.action);
            assert_eq!(page.status, c.status, "{what}: {}", page.text);
            assert!(page.text.contains(shown), "{what}: {}", page.text);
            assert!(!page.text.contains(not_shown), "{what}: {}", page.text);
            match c.detail {
                Some(detail) => {
                    assert!(page.text.contains(label), "{what}: {}", page.text);
                    assert!(page.text.contains(detail), "{what}: {}", page.text);
                }
                None => {
                    assert!(!page.text.contains("Details"), "{what}: {}", page.text);
                    assert!(!page.text.contains(&nowhere), "{what}: the id adds nothing");
                }
            }
        }
    }
    // Nothing changed: the token, and the only admin's group still maps to Admin.
    assert_eq!(current_token(&app, &app.tenant_id, &app.connection_id).await, token);
    let page = send(&app, Method::GET, "/portal/mappings", Some(&cookie), &[], &[]).await;
    assert!(
        page.text.contains(&format!("value=\"{}\" selected", m.admin_role)),
        "{}",
        page.text
    );
}

on_both_stores!(guides_are_in_the_portals_language, refusals_are_in_the_portals_language);

async fn people_are_listed_with_role_license_and_status(app: TestApp) {
    seed_mappings(&app).await;
    let ann = app
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22ann@acme.example%22",
            None,
        )
        .await;
    let ann_id = ann.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    app.scim(
        Method::PATCH,
        &format!("/Users/{ann_id}"),
        Some(crate::harness::patch(
            json!([{"op": "replace", "path": "active", "value": false}]),
        )),
    )
    .await
    .expect(200);
    let cookie = session(&app, &app.tenant_id, None).await;
    let page = send(&app, Method::GET, "/portal/people", Some(&cookie), &[], &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for text in [
        "boss@acme.example",
        "ann@acme.example",
        "cy@acme.example",
        "Admin",
        "Team",
        "Engineering",
        "Sales",
    ] {
        assert!(page.text.contains(text), "{text}");
    }
    assert_eq!(page.text.matches("Deactivated").count(), 1, "ann only");
    let page = send(&app, Method::GET, "/portal/people?q=ANN", Some(&cookie), &[], &[]).await;
    assert!(page.text.contains("ann@acme.example") && !page.text.contains("ben@acme.example"));
    // LIKE wildcards in a search are plain characters.
    let page = send(&app, Method::GET, "/portal/people?q=%25", Some(&cookie), &[], &[]).await;
    assert!(page.text.contains("No users match."), "{}", page.text);
    let long = "x".repeat(201);
    let page = send(
        &app,
        Method::GET,
        &format!("/portal/people?q={long}"),
        Some(&cookie),
        &[],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let b = app.new_tenant("globex").await;
    let other = session(&app, &b.id, None).await;
    let page = send(&app, Method::GET, "/portal/people?q=acme", Some(&other), &[], &[]).await;
    assert!(!page.text.contains("acme.example") && page.text.contains("No users match."));
}

on_both_stores!(people_are_listed_with_role_license_and_status);
