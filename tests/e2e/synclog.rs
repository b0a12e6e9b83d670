//! The sync log: what each IdP request did, its outcome, never its secret; and the rate limit.

use dirsync_proto::v1::{ConnectionStatusRequest, ListSyncLogRequest, SyncLogEntry};
use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::users::{create, user};

async fn log(app: &TestApp, failed_only: bool) -> Vec<SyncLogEntry> {
    app.admin()
        .await
        .list_sync_log(ListSyncLogRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: Some(app.connection_id.clone()),
            failed_only,
            limit: 100,
            after_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .entries
}

async fn requests_are_logged_with_their_outcome(app: TestApp) {
    let alice = create(&app, "alice@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/Users", app.scim);
    app.send(
        Method::POST,
        &url,
        Some(&app.token),
        Some(user("ALICE@example.com")),
        &[("client-request-id", "entra-42")],
    )
    .await
    .expect_error(409, Some("uniqueness"));
    let g = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": "Sales"})))
        .await;
    let ops = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": alice}]}]});
    app.scim(
        Method::PATCH,
        &format!("/Groups/{}", g.body["id"].as_str().unwrap()),
        Some(ops),
    )
    .await
    .expect(204);
    app.scim(
        Method::GET,
        "/Users?filter=userName%20eq%20%22alice@example.com%22",
        None,
    )
    .await
    .expect(200);

    let entries = log(&app, false).await;
    let lines: Vec<(u32, &str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.status, e.method.as_str(), e.summary.as_str()))
        .collect();
    assert_eq!(lines[0], (201, "POST", "created user alice@example.com"));
    assert_eq!(lines[1].0, 409);
    assert!(lines[1].2.starts_with("rejected POST /Users: userName"), "{lines:?}");
    assert_eq!(lines[2], (201, "POST", "created group Sales"));
    assert_eq!(lines[3], (204, "PATCH", "added 1 member to Sales"));
    assert_eq!(lines[4], (200, "GET", "searched /Users"));
    let rejected = &entries[entries.len() - 2];
    assert_eq!(rejected.idp_request_id.as_deref(), Some("entra-42"));
    assert!(rejected.error.as_deref().unwrap().contains("already taken"));
    assert!(
        entries
            .iter()
            .all(|e| e.trace_id.as_ref().is_some_and(|t| t.len() == 32)),
        "{entries:?}"
    );
    assert!(entries[0].path.contains("filter=userName"));

    let failed = log(&app, true).await;
    assert_eq!(failed.len(), 1);

    // The secret never appears in the log.
    let dump = format!("{entries:?}");
    assert!(!dump.contains(&app.token));
    assert!(!dump.contains(app.token.trim_start_matches("dsy_")));

    let status = app
        .admin()
        .await
        .connection_status(ConnectionStatusRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let s = &status.connections[0];
    assert_eq!((s.successes_24h, s.failures_24h), (4, 1));
    assert!(s.last_request.is_some() && s.last_success.is_some());
    assert_eq!(s.last_error.as_ref().unwrap().status, 409);
}

async fn over_the_rate_limit_is_429(app: TestApp) {
    let root = app
        .edge_with(dirsync_edge::EdgeConfig {
            rate_limit_per_second: 1,
            rate_limit_burst: 2,
            ..Default::default()
        })
        .await;
    let url = format!("{root}/scim/v2/{}/Users", app.tenant_id);
    app.send(Method::GET, &url, Some(&app.token), None, &[])
        .await
        .expect(200);
    app.send(Method::GET, &url, Some(&app.token), None, &[])
        .await
        .expect(200);
    let limited = app.send(Method::GET, &url, Some(&app.token), None, &[]).await;
    limited.expect_error(429, None);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Other connections keep their own budget.
    let other = app.new_tenant("other").await;
    let other_url = format!("{root}/scim/v2/{}/Users", other.id);
    app.send(Method::GET, &other_url, Some(&other.token), None, &[])
        .await
        .expect(200);
    let failed = log(&app, true).await;
    assert_eq!(failed[0].status, 429, "the rejection is in the sync log");
}

on_both_stores!(requests_are_logged_with_their_outcome, over_the_rate_limit_is_429);
