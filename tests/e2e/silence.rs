//! The "connection silent" signal: a connection that synced before and then sends nothing for
//! its threshold gets one `connection.silent` change and a banner in its tenant's portal; its
//! next request ends both with one `connection.resumed`. The job runs here with a pinned clock
//! (as a second replica would), so no test waits a day.

use dirsync_core::jobs::{SilenceRun, watch_silence};
use dirsync_domain::clock::{Clock, SharedClock};
use dirsync_proto::v1::{Change, Connection, CreateConnectionRequest, ListConnectionsRequest, UpdateConnectionRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{TestApp, change_data, replica};
use crate::on_both_stores;
use crate::portal::{send, session};

#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

fn at(ms: i64) -> SharedClock {
    std::sync::Arc::new(At(ms))
}

const HOUR: i64 = 3_600_000;

fn user(name: &str) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})
}

async fn connections(app: &TestApp, tenant: &str) -> Vec<Connection> {
    app.admin()
        .await
        .list_connections(ListConnectionsRequest {
            tenant_id: tenant.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .connections
}

async fn connection(app: &TestApp, tenant: &str, id: &str) -> Connection {
    connections(app, tenant).await.into_iter().find(|c| c.id == id).unwrap()
}

/// The connection's last request as the job sees it, once the edge has recorded it (its
/// outcome completes the line the core journaled, and may restamp it with the edge's start).
async fn recorded(db: &sea_orm::DatabaseConnection, connection: &str) -> i64 {
    use dirsync_store::entity::sync_log;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let id = uuid::Uuid::parse_str(connection).unwrap();
    for _ in 0..100 {
        let pending = sync_log::Entity::find()
            .filter(sync_log::Column::ConnectionId.eq(id))
            .filter(sync_log::Column::Status.eq(0))
            .count(db)
            .await
            .unwrap();
        if pending == 0
            && let Some(at) = dirsync_store::silence::last_request(db, id).await.unwrap()
        {
            return at;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the request of {connection} was never recorded");
}

async fn of_kind(app: &TestApp, tenant: &str, kind: &str) -> Vec<Change> {
    app.changes(tenant, 0, 1000)
        .await
        .into_iter()
        .filter(|c| c.r#type == kind)
        .collect()
}

/// The connections a portal page's banner names.
fn banner(page: &str) -> Vec<String> {
    page.split("data-silent=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

async fn silence_is_signalled_once_and_ends_with_a_request(app: TestApp) {
    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let mine = app.connection_id.clone();
    // A second connection of the same tenant that never syncs, and another tenant whose
    // connection syncs and waits two days (set over gRPC) before it counts as silent.
    let quiet = app
        .admin()
        .await
        .create_connection(CreateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            name: "quiet".into(),
            idp_profile: "okta".into(),
            allow_adoption: None,
        })
        .await
        .unwrap()
        .into_inner()
        .connection
        .unwrap();
    assert_eq!(quiet.silence_after_seconds, 24 * 3600, "the default is a day");
    let other = app.new_tenant("other").await;
    let updated = app
        .admin()
        .await
        .update_connection(UpdateConnectionRequest {
            tenant_id: other.id.clone(),
            connection_id: other.connection_id.clone(),
            silence_after_seconds: Some(48 * 3600),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.silence_after_seconds, 48 * 3600);
    let too_long = app
        .admin()
        .await
        .update_connection(UpdateConnectionRequest {
            tenant_id: other.id.clone(),
            connection_id: other.connection_id.clone(),
            silence_after_seconds: Some(31 * 24 * 3600),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), tonic::Code::InvalidArgument, "{too_long:?}");

    app.scim(Method::POST, "/Users", Some(user("ann@example.com")))
        .await
        .expect(201);
    app.send(
        Method::POST,
        &format!("{}/Users", other.scim),
        Some(&other.token),
        Some(user("bob@example.com")),
        &[],
    )
    .await
    .expect(201);
    let last = recorded(&db, &mine).await;
    recorded(&db, &other.connection_id).await;

    // Just under a day: nothing. Past it: this tenant's syncing connection, once.
    let run = |h: i64| {
        let db = db.clone();
        async move { watch_silence(&replica(&db, at(last + h)), "replica-b").await }
    };
    assert_eq!(run(23 * HOUR).await.unwrap(), Some(SilenceRun::default()));
    assert_eq!(
        run(25 * HOUR).await.unwrap(),
        Some(SilenceRun { silent: 1, resumed: 0 })
    );
    assert_eq!(
        run(26 * HOUR).await.unwrap(),
        Some(SilenceRun::default()),
        "one event per silence, not one per run"
    );
    let silent = of_kind(&app, &app.tenant_id, "connection.silent").await;
    assert_eq!(silent.len(), 1, "{silent:?}");
    assert_eq!(silent[0].event_uri, "urn:dirsync:event:connection:silent");
    assert_eq!(silent[0].resource_type, "Connection");
    assert_eq!(silent[0].resource_id, mine);
    assert_eq!(silent[0].connection_id.as_deref(), Some(mine.as_str()));
    let data = change_data(&silent[0]);
    assert_eq!(data["lastRequestMs"], json!(last));
    assert_eq!(data["thresholdSeconds"], json!(24 * 3600));
    assert!(connection(&app, &app.tenant_id, &mine).await.silent_since.is_some());
    assert!(
        connection(&app, &app.tenant_id, &quiet.id).await.silent_since.is_none(),
        "a connection that never synced is not silent"
    );
    assert!(of_kind(&app, &other.id, "connection.silent").await.is_empty());

    // The banner, on every page of this tenant, in its language; none in the other tenant.
    let cookie = session(&app, &app.tenant_id, Some(&mine)).await;
    let other_cookie = session(&app, &other.id, None).await;
    for path in ["/portal/connection", "/portal/log", "/portal/people?lang=de"] {
        let p = send(&app, Method::GET, path, Some(&cookie), &[], &[]).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert_eq!(banner(&p.text), vec![mine.clone()], "{path}");
        let other_page = send(&app, Method::GET, path, Some(&other_cookie), &[], &[]).await;
        assert!(banner(&other_page.text).is_empty(), "{path}: {}", other_page.text);
    }
    let de = send(&app, Method::GET, "/portal/log?lang=de", Some(&cookie), &[], &[]).await;
    assert!(de.text.contains("hat seit"), "{}", de.text);
    let en = send(&app, Method::GET, "/portal/log?lang=en", Some(&cookie), &[], &[]).await;
    assert!(en.text.contains("has sent nothing since"), "{}", en.text);

    // Two days on, the other tenant's connection is silent too; each portal names its own.
    assert_eq!(
        run(49 * HOUR).await.unwrap(),
        Some(SilenceRun { silent: 1, resumed: 0 })
    );
    assert_eq!(of_kind(&app, &other.id, "connection.silent").await.len(), 1);
    let p = send(&app, Method::GET, "/portal/connection", Some(&other_cookie), &[], &[]).await;
    assert_eq!(banner(&p.text), vec![other.connection_id.clone()]);
    let p = send(&app, Method::GET, "/portal/connection", Some(&cookie), &[], &[]).await;
    assert_eq!(banner(&p.text), vec![mine.clone()]);
    // Another tenant's session cannot change this tenant's connection.
    let p = send(
        &app,
        Method::POST,
        &format!("/portal/connection/{mine}/silence"),
        Some(&other_cookie),
        &[("seconds", "0")],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.text);
    assert!(connection(&app, &app.tenant_id, &mine).await.silent_since.is_some());

    // A request ends the silence: one resumed event, the banner goes. (The job runs a minute
    // after it, as the app's own job would.)
    app.scim(Method::GET, "/Users?count=1", None).await.expect(200);
    let id = uuid::Uuid::parse_str(&mine).unwrap();
    let mut again = None;
    for _ in 0..100 {
        again = dirsync_store::silence::last_request(&db, id)
            .await
            .unwrap()
            .filter(|a| *a > last);
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let again = again.expect("the request was recorded");
    let a_minute_on = at(again + 60_000);
    let a_minute_on = replica(&db, a_minute_on);
    let minute_later = || watch_silence(&a_minute_on, "replica-b");
    assert_eq!(
        minute_later().await.unwrap(),
        Some(SilenceRun { silent: 0, resumed: 1 })
    );
    assert_eq!(minute_later().await.unwrap(), Some(SilenceRun::default()));
    let resumed = of_kind(&app, &app.tenant_id, "connection.resumed").await;
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert_eq!(resumed[0].event_uri, "urn:dirsync:event:connection:resumed");
    assert_eq!(change_data(&resumed[0])["silentSinceMs"], json!(last));
    assert_eq!(of_kind(&app, &app.tenant_id, "connection.silent").await.len(), 1);
    assert!(of_kind(&app, &other.id, "connection.resumed").await.is_empty());
    let p = send(&app, Method::GET, "/portal/connection", Some(&cookie), &[], &[]).await;
    assert!(banner(&p.text).is_empty(), "{}", p.text);

    // The other tenant's admin turns the signal off in the portal: the silence ends without
    // an event, and the page says "Never".
    let p = send(
        &app,
        Method::POST,
        &format!("/portal/connection/{}/silence", other.connection_id),
        Some(&other_cookie),
        &[("seconds", "0")],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(banner(&p.text).is_empty(), "{}", p.text);
    assert!(
        p.text.contains(r#"<option value="0" selected>Never</option>"#),
        "{}",
        p.text
    );
    let c = connection(&app, &other.id, &other.connection_id).await;
    assert_eq!((c.silence_after_seconds, c.silent_since), (0, None));
    assert!(of_kind(&app, &other.id, "connection.resumed").await.is_empty());
    let set = of_kind(&app, &other.id, "portal.silence_threshold_set").await;
    assert_eq!(set.len(), 1, "journaled with the session: {set:?}");
    // A month on: this tenant's connection starts a second silence (its own event); the
    // other one, with the signal off, and the one that never synced stay as they are.
    assert_eq!(
        watch_silence(&replica(&db, at(again + 24 * 30 * HOUR)), "replica-b")
            .await
            .unwrap(),
        Some(SilenceRun { silent: 1, resumed: 0 })
    );
    assert_eq!(of_kind(&app, &app.tenant_id, "connection.silent").await.len(), 2);
    assert_eq!(of_kind(&app, &other.id, "connection.silent").await.len(), 1);
    assert!(connection(&app, &app.tenant_id, &quiet.id).await.silent_since.is_none());
}

on_both_stores!(silence_is_signalled_once_and_ends_with_a_request);
