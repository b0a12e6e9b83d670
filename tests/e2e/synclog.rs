//! The sync log: what each IdP request did, its outcome, never its secret (the rate limits' 429s: tests/e2e/limits.rs).

use dirsync_proto::v1::{
    ConnectionStatusRequest, ListSyncLogRequest, RecordRequestRequest, RecordRequestsRequest, SyncLogEntry,
};
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

/// The log once `n` answered entries are in: the edge sends outcomes in batches.
async fn settled(app: &TestApp, failed_only: bool, n: usize) -> Vec<SyncLogEntry> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let entries = log(app, failed_only).await;
        if entries.len() >= n && entries.iter().all(|e| e.status != 0) {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {n} answered entries, the log has {entries:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
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

    let entries = settled(&app, false, 5).await;
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

    let failed = settled(&app, true, 1).await;
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

/// A clock pinned at a given time, to step past a lease's expiry.
#[derive(Debug)]
struct At(i64);

impl dirsync_domain::clock::Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

async fn retention_runs_on_one_replica_and_keeps_the_newest(app: TestApp) {
    use dirsync_core::jobs::{Retention, prune_sync_log};
    for _ in 0..6 {
        app.scim(Method::GET, "/Users", None).await.expect(200);
    }
    let newest: Vec<String> = settled(&app, false, 6)
        .await
        .iter()
        .take(2)
        .map(|e| e.id.clone())
        .collect();
    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let keep_two = Retention {
        max_entries: 2,
        ..Default::default()
    };
    // The app's core took the job's lease when it started: another replica skips the job.
    let now: dirsync_domain::clock::SharedClock = dirsync_domain::clock::system();
    assert_eq!(prune_sync_log(&db, &now, "replica-b", &keep_two).await.unwrap(), None);
    assert_eq!(log(&app, false).await.len(), 6);
    // Once that lease has expired (no renewal for two intervals), replica-b takes over.
    let later: dirsync_domain::clock::SharedClock = std::sync::Arc::new(At(now.now_ms() + 10 * 60_000));
    assert_eq!(
        prune_sync_log(&db, &later, "replica-b", &keep_two).await.unwrap(),
        Some(4)
    );
    let kept: Vec<String> = log(&app, false).await.iter().map(|e| e.id.clone()).collect();
    assert_eq!(kept, newest);
    // By age: everything is older than ten minutes from now.
    let by_age = Retention {
        max_age: std::time::Duration::from_secs(60),
        ..Default::default()
    };
    assert_eq!(
        prune_sync_log(&db, &later, "replica-b", &by_age).await.unwrap(),
        Some(2)
    );
}

async fn bodies_are_captured_only_when_asked_and_redacted(app: TestApp) {
    let body = json!({"userName": "pat@example.com", "password": "hunter2-secret", "title": "Ops"});
    app.scim(Method::POST, "/Users", Some(body.clone())).await.expect(201);
    assert!(log(&app, false).await[0].body.is_none(), "off by default");
    app.admin()
        .await
        .update_connection(dirsync_proto::v1::UpdateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
            capture_bodies: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    // The edge caches the connection for up to 2 s: wait until the switch is seen.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let captured = loop {
        let mut b = body.clone();
        b["userName"] = json!(format!("pat{}@example.com", uuid::Uuid::new_v4().simple()));
        app.scim(Method::POST, "/Users", Some(b)).await.expect(201);
        if let Some(c) = log(&app, false).await.iter().find_map(|e| e.body.clone()) {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "body capture never switched on");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    let captured: serde_json::Value = serde_json::from_str(&captured).unwrap();
    assert_eq!(captured["password"], "***");
    assert_eq!(captured["title"], "Ops");
    let dump = format!("{:?}", log(&app, false).await);
    assert!(!dump.contains("hunter2"));
    assert!(!dump.contains(&app.token));
}

/// `RecordRequests` caps what it stores itself, whoever calls it: paths, errors, bodies and
/// ids are cut, NUL characters replaced (PostgreSQL stores none), and a call of too many
/// outcomes is refused whole; the next call is stored.
async fn the_core_caps_recorded_requests(app: TestApp) {
    let mut admin = app
        .admin()
        .await
        .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES);
    let record = |request_id: String| RecordRequestRequest {
        tenant_id: app.tenant_id.clone(),
        connection_id: app.connection_id.clone(),
        request_id,
        method: "GET".into(),
        path: format!("/scim/v2/{}/Users?filter={}", app.tenant_id, "é".repeat(10_000)),
        status: 400,
        duration_ms: 1,
        error: Some(format!("bad\0value {}", "x".repeat(5_000))),
        idp_request_id: Some("i".repeat(1_000)),
        trace_id: Some("t\0".repeat(1_000)),
        body: Some("b".repeat(200_000)),
        // Now: an old entry may be deleted by the retention job at any moment.
        started_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    };
    let too_many = RecordRequestsRequest {
        records: (0..1001)
            .map(|i| RecordRequestRequest {
                tenant_id: app.tenant_id.clone(),
                connection_id: app.connection_id.clone(),
                request_id: format!("many-{i}"),
                ..Default::default()
            })
            .collect(),
    };
    let e = admin.record_requests(too_many).await.unwrap_err();
    crate::harness::assert_status(&e, tonic::Code::InvalidArgument, "INVALID_VALUE", "limit of 1000");
    admin
        .record_requests(RecordRequestsRequest {
            records: vec![record("r".repeat(1_000))],
        })
        .await
        .unwrap();
    admin.record_request(record("single".into())).await.unwrap();
    let entries: Vec<SyncLogEntry> = log(&app, false)
        .await
        .into_iter()
        .filter(|e| e.path.contains("filter=é"))
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "{:?}",
        entries.iter().map(|e| &e.request_id).collect::<Vec<_>>()
    );
    let chars = |s: &str| s.chars().count();
    for e in &entries {
        let cases = [
            ("path", chars(&e.path), 2049),
            ("error", chars(e.error.as_deref().unwrap()), 1025),
            ("idp request id", chars(e.idp_request_id.as_deref().unwrap()), 257),
            ("trace id", chars(e.trace_id.as_deref().unwrap()), 257),
            ("body", chars(e.body.as_deref().unwrap()), 65_601),
        ];
        for (field, got, want) in cases {
            assert_eq!(got, want, "{field} of {}", e.request_id);
        }
        assert!(e.path.ends_with('…') && e.path.contains("Users?filter=éé"));
        assert!(e.error.as_deref().unwrap().starts_with("bad\u{fffd}value"));
        assert!(!format!("{e:?}").contains('\0'));
    }
    assert!(entries.iter().any(|e| e.request_id == "single"));
    assert!(entries.iter().any(|e| e.request_id.chars().count() == 257));
}

on_both_stores!(
    the_core_caps_recorded_requests,
    bodies_are_captured_only_when_asked_and_redacted,
    requests_are_logged_with_their_outcome,
    retention_runs_on_one_replica_and_keeps_the_newest
);
