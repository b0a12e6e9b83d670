//! The same directory over gRPC: what SCIM writes, gRPC reads, and the reverse.

use dirsync_proto::v1::{self as pb, CreateUserRequest, GetUserRequest, ListUsersRequest, UserSpec};
use reqwest::Method;
use serde_json::json;
use tonic::Code;

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::users::create;

fn user_name_eq(v: &str) -> pb::Filter {
    pb::Filter {
        kind: Some(pb::filter::Kind::Compare(pb::Comparison {
            path: Some(pb::AttributePath {
                name: "userName".into(),
                ..Default::default()
            }),
            op: pb::CompareOp::Eq as i32,
            value: Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::String(v.into())),
            }),
            case_exact: false,
        })),
    }
}

async fn scim_and_grpc_see_the_same_users(app: TestApp) {
    let mut dir = app.directory().await;
    // SCIM -> gRPC
    let scim_user = create(&app, "grace@example.com").await;
    let id = scim_user["id"].as_str().unwrap().to_owned();
    let got = dir
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.user_name, "grace@example.com");
    assert_eq!(got.email.as_deref(), Some("grace@example.com"));
    assert_eq!(got.given_name.as_deref(), Some("Barbara"));
    assert_eq!(got.source, "scim");
    assert_eq!(got.connection_id.as_deref(), Some(app.connection_id.as_str()));
    let listed = dir
        .list_users(ListUsersRequest {
            tenant_id: app.tenant_id.clone(),
            filter: Some(user_name_eq("GRACE@example.com")),
            start_index: 1,
            count: 10,
            sort: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_results, 1);
    assert_eq!(listed.users[0].id, id);

    // gRPC -> SCIM
    let native = dir
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "heidi@example.com".into(),
                active: true,
                display_name: Some("Heidi".into()),
                document: json!({"userName": "heidi@example.com", "displayName": "Heidi"}).to_string(),
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(native.source, "native");
    // Invisible to SCIM until the connection may adopt it (tests/e2e/adoption.rs).
    let r = app.scim(Method::GET, &format!("/Users/{}", native.id), None).await;
    r.expect(404);
    crate::adoption::enable(&app, "example.com").await;
    let r = app.scim(Method::GET, &format!("/Users/{}", native.id), None).await;
    r.expect(200);
    assert_eq!(r.body["userName"], "heidi@example.com");
    assert_eq!(r.body["displayName"], "Heidi");

    // Errors are typed: NOT_FOUND, ALREADY_EXISTS with a reason.
    let missing = dir
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let dup = dir
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "HEIDI@example.com".into(),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    // Another tenant's id is not found in this tenant.
    let other = app.new_tenant("other").await;
    let cross = dir
        .get_user(GetUserRequest {
            tenant_id: other.id,
            id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(cross.code(), Code::NotFound);
}

async fn health_and_reflection_answer(app: TestApp) {
    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "dirsync.v1.Directory".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

/// A call whose deadline passes while it waits for the store is cut off with a gRPC status,
/// and its transaction is rolled back: nothing of it is written, and the core goes on.
async fn deadlines_are_honoured_and_roll_back(app: TestApp) {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};
    let mut dir = app.directory().await;
    // Another client holds the store's write lock: the tenant row on PostgreSQL (every write
    // of a tenant takes it), the whole database on SQLite (one writer at a time).
    let other = Database::connect(&app.store_url).await.unwrap();
    let blocker = other.begin().await.unwrap();
    let lock = if app.store_url.starts_with("sqlite:") {
        "UPDATE tenants SET change_seq = change_seq".to_owned()
    } else {
        format!(
            "UPDATE tenants SET change_seq = change_seq WHERE id = '{}'",
            app.tenant_id
        )
    };
    blocker.execute_unprepared(&lock).await.unwrap();
    let spec = UserSpec {
        user_name: "late@example.com".into(),
        active: true,
        ..Default::default()
    };
    let mut late = tonic::Request::new(CreateUserRequest {
        tenant_id: app.tenant_id.clone(),
        user: Some(spec.clone()),
        connection_id: None,
    });
    late.set_timeout(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = dir.create_user(late).await.unwrap_err();
    // tonic's server answers an expired `grpc-timeout` with CANCELLED; clients that enforce
    // the deadline themselves report DEADLINE_EXCEEDED.
    assert!(
        matches!(err.code(), Code::Cancelled | Code::DeadlineExceeded),
        "{err:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the deadline was not honoured"
    );
    blocker.rollback().await.unwrap();
    other.close().await.unwrap();

    let by_name = |name: &str| pb::GetUserByRequest {
        tenant_id: app.tenant_id.clone(),
        key: Some(pb::get_user_by_request::Key::UserName(name.into())),
        connection_id: None,
    };
    let missing = dir.get_user_by(by_name("late@example.com")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "the timed-out create was written");
    // The core serves the next call, and the same user can now be created once.
    dir.create_user(CreateUserRequest {
        tenant_id: app.tenant_id.clone(),
        user: Some(spec),
        connection_id: None,
    })
    .await
    .unwrap();
    dir.get_user_by(by_name("late@example.com")).await.unwrap();
}

on_both_stores!(
    scim_and_grpc_see_the_same_users,
    health_and_reflection_answer,
    deadlines_are_honoured_and_roll_back
);
