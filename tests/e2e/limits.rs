//! Admission limits end to end: a client that waits for each answer is never refused on the
//! defaults; a concurrent flood is, with 429, `Retry-After` and the SCIM error schema, in its
//! own tenant only; throttling shows in the sync log and the connection status.

use dirsync_edge::limits::Limits;
use dirsync_proto::v1::{ConnectionStats, ConnectionStatusRequest};
use reqwest::Method;
use serde_json::json;

use crate::harness::{Response, TestApp, patch};
use crate::on_both_stores;
use crate::users::user;

async fn status(app: &TestApp) -> ConnectionStats {
    let mut s = app
        .admin()
        .await
        .connection_status(ConnectionStatusRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    s.connections.remove(0)
}

fn assert_throttled(r: &Response) {
    r.expect_error(429, None);
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
}

/// As scim2-tester, an Okta import or an Entra cycle: one request at a time, as fast as
/// answers come, hundreds of them, against the edge exactly as the harness starts it (the
/// product's defaults).
async fn a_sequential_client_is_never_refused_on_the_defaults(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..150 {
        let r = app
            .scim(Method::POST, "/Users", Some(user(&format!("seq{i}@example.com"))))
            .await;
        assert_eq!(r.status, 201, "request {i}: {:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/Users/{id}");
        let r = app.scim(Method::GET, &path, None).await;
        assert_eq!(r.status, 200, "GET {i}: {:?}", r.body);
        let r = app
            .scim(
                Method::PATCH,
                &path,
                Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
            )
            .await;
        assert_eq!(r.status, 200, "PATCH {i}: {:?}", r.body);
    }
    for start in (1..=150).step_by(10) {
        let r = app
            .scim(Method::GET, &format!("/Users?startIndex={start}&count=10"), None)
            .await;
        assert_eq!(r.status, 200, "page {start}: {:?}", r.body);
    }
    assert_eq!(status(&app).await.throttled_24h, 0);
}

/// Many requests at once on one connection: beyond the requests in flight it may have, 429.
/// Another tenant is served meanwhile.
async fn a_concurrent_flood_gets_429_with_retry_after_in_its_tenant_only(app: TestApp) {
    let other = app.new_tenant("other").await;
    let url = format!("{}/Users?count=50", app.scim);
    let flood: Vec<_> = (0..400)
        .map(|_| app.send(Method::GET, &url, Some(&app.token), None, &[]))
        .collect();
    let neighbour = async {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let r = app
                .send(
                    Method::GET,
                    &format!("{}/Users", other.scim),
                    Some(&other.token),
                    None,
                    &[],
                )
                .await;
            statuses.push(r.status.as_u16());
        }
        statuses
    };
    let (answers, neighbour) = tokio::join!(futures::future::join_all(flood), neighbour);
    assert_eq!(
        neighbour, [200; 5],
        "the other tenant is never throttled by this one's flood"
    );
    let throttled: Vec<&Response> = answers.iter().filter(|r| r.status == 429).collect();
    assert!(
        !throttled.is_empty(),
        "a flood of 400 concurrent requests is refused in part"
    );
    assert!(answers.iter().all(|r| r.status == 200 || r.status == 429));
    for r in &throttled {
        assert_throttled(r);
        assert!(
            r.body["detail"].as_str().unwrap().contains("requests in flight"),
            "{}",
            r.body
        );
    }
    // The refusals are in the sync log and the connection status.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = status(&app).await;
        if s.throttled_24h as usize == throttled.len() {
            assert_eq!(s.last_error.unwrap().status, 429);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status shows {} throttled",
            s.throttled_24h
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let logged = app.sync_log().await.into_iter().filter(|e| e.status == 429).count();
    assert_eq!(logged, throttled.len());
}

/// Opens a SCIM POST on `root` that has sent its headers but not its body, so the edge holds it
/// in flight until the stream is dropped.
async fn held_open(root: &str, tenant_id: &str, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = root.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /scim/v2/{tenant_id}/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Requests whose bodies are still arriving (a slow client, or a slow-loris attack) hold their
/// place: once a connection has 32 of them, its next request is refused at once, with
/// `Retry-After`; when they end, it is served again.
async fn requests_still_sending_their_body_count_as_in_flight(app: TestApp) {
    let root = app.scim.split("/scim/v2/").next().unwrap().to_owned();
    let url = format!("{}/Users", app.scim);
    let mut held = Vec::new();
    for _ in 0..Limits::DEFAULT.connection_in_flight {
        held.push(held_open(&root, &app.tenant_id, &app.token).await);
    }
    // The edge admits them as they arrive; then the connection is full.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        // A held request that arrived while a probe below held a slot was refused at once
        // (that is the limit working): replace it, so that 32 end up held.
        for h in held.iter_mut() {
            let mut buf = [0u8; 64];
            if h.try_read(&mut buf).is_ok() {
                *h = held_open(&root, &app.tenant_id, &app.token).await;
            }
        }
        let r = app.send(Method::GET, &url, Some(&app.token), None, &[]).await;
        if r.status == 429 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "never refused: {:?}", r.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_throttled(&refused);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("32 requests in flight"),
        "{}",
        refused.body
    );
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.send(Method::GET, &url, Some(&app.token), None, &[]).await.status != 200 {
        assert!(std::time::Instant::now() < deadline, "the connection stays throttled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Above the sustained rate (set low here), a sequential client waits and is served; only a
/// concurrent burst that would wait more than a second is refused.
async fn above_the_rate_requests_wait_and_only_a_burst_is_refused(app: TestApp) {
    let root = app
        .edge_with(dirsync_edge::EdgeConfig {
            limits: Limits {
                connection_in_flight: 0,
                tenant_in_flight: 0,
                per_second: 20,
                burst: 2,
            },
            ..Default::default()
        })
        .await;
    let url = format!("{root}/scim/v2/{}/Users", app.tenant_id);
    for i in 0..30 {
        let r = app.send(Method::GET, &url, Some(&app.token), None, &[]).await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let burst: Vec<_> = (0..60)
        .map(|_| app.send(Method::GET, &url, Some(&app.token), None, &[]))
        .collect();
    let answers = futures::future::join_all(burst).await;
    let throttled: Vec<&Response> = answers.iter().filter(|r| r.status == 429).collect();
    // 60 at once at 20/s: about 20 fit in a second of waiting, the rest are refused.
    assert!(
        !throttled.is_empty() && throttled.len() < 60,
        "{} throttled",
        throttled.len()
    );
    for r in throttled {
        assert_throttled(r);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("limited to 20 requests per second"),
            "{}",
            r.body
        );
    }
}

on_both_stores!(
    a_sequential_client_is_never_refused_on_the_defaults,
    a_concurrent_flood_gets_429_with_retry_after_in_its_tenant_only,
    requests_still_sending_their_body_count_as_in_flight,
    above_the_rate_requests_wait_and_only_a_burst_is_refused
);
