//! Health: `/healthz` and `/readyz` on the edge, and the core's `grpc.health.v1`, which says
//! NOT_SERVING while its store is down and SERVING again once it is back.

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::TestApp;
use crate::on_both_stores;

async fn readyz(root: &str) -> (StatusCode, Value) {
    let resp = reqwest::get(format!("{root}/readyz")).await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn serving(grpc: &str, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(grpc.to_owned())
        .unwrap()
        .connect()
        .await
        .ok()?;
    let resp = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(resp.get_ref().status).ok()
}

/// Polls `probe` until it returns true, for at most 30 s.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !probe().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn edge_is_alive_and_ready(app: TestApp) {
    let resp = reqwest::get(format!("{}/healthz", app.root)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    eventually("the edge is ready", || async {
        readyz(&app.root).await.0 == StatusCode::OK
    })
    .await;
    let (_, body) = readyz(&app.root).await;
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "checks": {"core": "ok", "store": "ok", "migrations": "ok"}})
    );
    for service in ["", "dirsync.v1.Directory", "dirsync.store", "dirsync.migrations"] {
        assert_eq!(
            serving(&app.grpc, service).await,
            Some(ServingStatus::Serving),
            "{service:?}"
        );
    }

    // An edge whose core is unreachable is alive but not ready.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let root = format!("http://{}", listener.local_addr().unwrap());
    let state = dirsync_edge::AppState::new(
        dirsync_edge::core_channel(&dead_url).unwrap(),
        dirsync_edge::EdgeConfig::default(),
    );
    tokio::spawn(dirsync_edge::serve(listener, state, std::future::pending()));
    let resp = reqwest::get(format!("{root}/healthz")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, body) = readyz(&root).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not ready");
    assert!(
        body["checks"]["core"].as_str().unwrap().starts_with("unreachable"),
        "{body}"
    );
}

on_both_stores!(edge_is_alive_and_ready);

/// A PostgreSQL outage (the database refuses connections and its sessions are ended): the
/// core reports NOT_SERVING and the edge is not ready; both recover once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_is_reported_postgres() {
    crate::harness::run(crate::harness::Backend::Postgres, store_outage).await;
}

async fn store_outage(app: TestApp) {
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let name = app.store_url.rsplit('/').next().unwrap().to_owned();
    let admin = Database::connect(&admin_url).await.unwrap();
    eventually("the core serves", || async {
        serving(&app.grpc, "dirsync.v1.Directory").await == Some(ServingStatus::Serving)
    })
    .await;

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    eventually("the core reports NOT_SERVING", || async {
        serving(&app.grpc, "dirsync.v1.Directory").await == Some(ServingStatus::NotServing)
    })
    .await;
    assert_eq!(serving(&app.grpc, "").await, Some(ServingStatus::NotServing));
    assert_eq!(
        serving(&app.grpc, "dirsync.store").await,
        Some(ServingStatus::NotServing)
    );
    let (status, body) = readyz(&app.root).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["checks"]["store"], "not serving", "{body}");

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    eventually("the core serves again", || async {
        serving(&app.grpc, "dirsync.v1.Directory").await == Some(ServingStatus::Serving)
    })
    .await;
    eventually("the edge is ready again", || async {
        readyz(&app.root).await.0 == StatusCode::OK
    })
    .await;
    let _ = admin.close().await;
}
