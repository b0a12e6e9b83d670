//! Abuse, outages and crashes: a flood of bogus tokens is refused on the edge, a store outage
//! answers 503 and recovers alone, a `kill -9` loses no acknowledged write.

use std::sync::Arc;
use std::time::Duration;

use dirsync_edge::auth_failures::FAILURE_BURST;
use dirsync_proto::v1::{
    CreateRoleRequest, CreateUserRequest, GetGroupRequest, IdList, MapGroupToRoleRequest, MemberChange,
    PatchGroupRequest, UserSpec, member_change,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, patch};
use crate::on_both_stores;
use crate::users::user;

async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let r = app.scim(Method::POST, path, Some(body)).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

fn add_member(id: &str) -> Value {
    patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]))
}

/// Admins deleted while they are replaced, at the same moment: on PostgreSQL the two took
/// their locks in opposite orders and could deadlock (500). Now every call succeeds or finds
/// the user gone, and nothing else.
async fn deleting_and_replacing_an_admin_at_once_never_fails(app: TestApp) {
    let mut admin = app.admin().await;
    let role = admin
        .create_role(CreateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            name: "Admin".into(),
            rank: 100,
            is_admin: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let admins = created(&app, "/Groups", json!({"displayName": "Admins"})).await;
    admin
        .map_group_to_role(MapGroupToRoleRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: admins.clone(),
            role_id: role,
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    // Fifteen deletes and fifteen replaces at once: 30 requests, within the 32 a connection
    // may have in flight (`limits`), so every answer comes from the store, none is a 429.
    for i in 0..16 {
        let id = created(&app, "/Users", user(&format!("admin{i}@example.com"))).await;
        let r = app
            .scim(Method::PATCH, &format!("/Groups/{admins}"), Some(add_member(&id)))
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        ids.push(id);
    }
    // One admin stays; the other fifteen are deleted and replaced at once.
    let app = Arc::new(app);
    let mut calls = Vec::new();
    for (i, id) in ids.iter().skip(1).enumerate() {
        let (a, b) = (app.clone(), app.clone());
        let (d, r) = (id.clone(), id.clone());
        calls.push(tokio::spawn(async move {
            a.scim(Method::DELETE, &format!("/Users/{d}"), None)
                .await
                .status
                .as_u16()
        }));
        calls.push(tokio::spawn(async move {
            let mut body = user(&format!("admin{}@example.com", i + 1));
            body["displayName"] = json!("Renamed");
            b.scim(Method::PUT, &format!("/Users/{r}"), Some(body))
                .await
                .status
                .as_u16()
        }));
    }
    for c in calls {
        let status = c.await.unwrap();
        assert!(matches!(status, 200 | 204 | 404), "status {status}");
    }
    for id in ids.iter().skip(1) {
        app.scim(Method::GET, &format!("/Users/{id}"), None).await.expect(404);
    }
}

/// A user deleted while group PATCHes add it to 30 groups: afterwards no group lists it.
async fn memberships_never_outlive_their_user(app: TestApp) {
    let mut groups = Vec::new();
    for i in 0..30 {
        groups.push(created(&app, "/Groups", json!({"displayName": format!("Team {i}")})).await);
    }
    let app = Arc::new(app);
    for round in 0..3 {
        let id = created(&app, "/Users", user(&format!("doomed{round}@example.com"))).await;
        let mut calls = Vec::new();
        for g in &groups {
            let (app, g, id) = (app.clone(), g.clone(), id.clone());
            calls.push(tokio::spawn(async move {
                app.scim(Method::PATCH, &format!("/Groups/{g}"), Some(add_member(&id)))
                    .await
                    .status
                    .as_u16()
            }));
        }
        let deleting = {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.scim(Method::DELETE, &format!("/Users/{id}"), None)
                    .await
                    .status
                    .as_u16()
            })
        };
        for c in calls {
            let status = c.await.unwrap();
            // Added before the delete (then removed with the user), or refused as unknown after.
            assert!(matches!(status, 200 | 204 | 400), "PATCH answered {status}");
        }
        assert_eq!(deleting.await.unwrap(), 204);
        for g in &groups {
            let r = app.scim(Method::GET, &format!("/Groups/{g}"), None).await;
            r.expect(200);
            let members = r.body["members"].as_array().cloned().unwrap_or_default();
            assert!(
                !members.iter().any(|m| m["value"] == id.as_str()),
                "deleted user {id} is still a member of group {g}"
            );
        }
    }
}

/// Bogus tokens from one address: the first burst is asked about (401), the rest refused on
/// the edge (429, `Retry-After`, SCIM error schema); a client whose token works keeps working
/// from the same address throughout.
async fn a_flood_of_bogus_tokens_is_refused_on_the_edge(app: TestApp) {
    let users = format!("{}/Users", app.scim);
    // The valid client authenticated before the flood.
    app.send(Method::GET, &users, Some(&app.token), None, &[])
        .await
        .expect(200);
    let (mut unauthorized, mut limited) = (0, 0);
    for i in 0..300 {
        let bogus = format!("dsy_bogus_{i:04}_{}", uuid::Uuid::new_v4().simple());
        let r = app.send(Method::GET, &users, Some(&bogus), None, &[]).await;
        match r.status.as_u16() {
            401 => unauthorized += 1,
            429 => {
                limited += 1;
                r.expect_error(429, None);
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                assert!(r.body["detail"].as_str().unwrap().contains("failed authentications"));
            }
            other => panic!("bogus token answered {other}: {}", r.body),
        }
        if i % 50 == 0 {
            app.send(Method::GET, &users, Some(&app.token), None, &[])
                .await
                .expect(200);
        }
    }
    // Refill during the loop may let a few more through; never more than a handful.
    assert!(unauthorized >= FAILURE_BURST as usize, "{unauthorized}");
    assert!(
        unauthorized <= FAILURE_BURST as usize + 5,
        "{unauthorized} reached the core"
    );
    assert_eq!(unauthorized + limited, 300);
    app.send(Method::GET, &users, Some(&app.token), None, &[])
        .await
        .expect(200);
}

/// A native user (created by the product, not adoptable by the connection) in a SCIM group:
/// the product sees it as a member, the SCIM connection never learns of it, in GET of the
/// group, in the group list, and in the member stream.
async fn member_listings_show_a_connection_only_what_it_may_see(app: TestApp) {
    let mut dir = app.directory().await;
    let native = dir
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "owner@elsewhere.example".into(),
                active: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let scim_user = created(&app, "/Users", user("member@example.com")).await;
    let group = created(
        &app,
        "/Groups",
        json!({"displayName": "Mixed", "members": [{"value": scim_user}]}),
    )
    .await;
    dir.patch_group(PatchGroupRequest {
        tenant_id: app.tenant_id.clone(),
        id: group.clone(),
        member_changes: vec![MemberChange {
            kind: Some(member_change::Kind::Add(IdList {
                ids: vec![native.clone()],
            })),
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let everyone = dir
        .get_group(GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: group.clone(),
            include_members: true,
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everyone.members.len(), 2);
    let values = |members: &Value| -> Vec<String> {
        members
            .as_array()
            .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let got = app.scim(Method::GET, &format!("/Groups/{group}"), None).await;
    got.expect(200);
    assert_eq!(values(&got.body["members"]), vec![scim_user.clone()]);
    let listed = app
        .scim(Method::GET, "/Groups?filter=displayName%20eq%20%22Mixed%22", None)
        .await;
    listed.expect(200);
    assert_eq!(values(&listed.body["Resources"][0]["members"]), vec![scim_user]);
    assert!(!got.body.to_string().contains(&native) && !listed.body.to_string().contains(&native));
}

/// Behind a trusted proxy (`trusted_proxies`, DIRSYNC_TRUSTED_PROXIES) failed
/// authentications count per client, the right-most untrusted X-Forwarded-For entry; without
/// it, per peer address, whatever the header says. A client cannot escape its limit by
/// writing addresses of its own left of what the proxy appended.
async fn forwarded_clients_are_told_apart_only_behind_trusted_proxies(app: TestApp) {
    for (trusted, other_client) in [("127.0.0.0/8", 401), ("", 429)] {
        let root = app
            .edge_with(dirsync_edge::EdgeConfig {
                trusted_proxies: trusted.parse().unwrap(),
                ..Default::default()
            })
            .await;
        let users = format!("{root}/scim/v2/{}/Users", app.tenant_id);
        let bogus = |from: &'static str| {
            let users = users.clone();
            let app = &app;
            async move {
                let token = format!("dsy_bogus_{}", uuid::Uuid::new_v4().simple());
                app.send(Method::GET, &users, Some(&token), None, &[("x-forwarded-for", from)])
                    .await
            }
        };
        let valid = || async {
            app.send(
                Method::GET,
                &users,
                Some(&app.token),
                None,
                &[("x-forwarded-for", "203.0.113.1")],
            )
            .await
            .expect(200);
        };
        // Known before the flood, a working token keeps working from the flooding address.
        valid().await;
        let mut limited = false;
        for _ in 0..FAILURE_BURST as usize + 10 {
            let r = bogus("203.0.113.1").await;
            if r.status.as_u16() == 429 {
                limited = true;
                break;
            }
            r.expect_error(401, None);
        }
        assert!(limited, "trusted {trusted:?}: never limited");
        let cases = [
            ("203.0.113.1", 429),
            ("198.51.100.99, 203.0.113.1", 429),
            ("203.0.113.1, 203.0.113.2", other_client),
            ("203.0.113.3", other_client),
        ];
        for (header, want) in cases {
            let r = bogus(header).await;
            assert_eq!(r.status.as_u16(), want, "trusted {trusted:?}, X-Forwarded-For {header}");
        }
        valid().await;
    }
}

/// PostgreSQL cancels a statement that runs longer than `statement_timeout`
/// (DIRSYNC_STATEMENT_TIMEOUT_SECS) instead of letting it hold a connection; the failure is
/// classified as a timeout, which the core answers `UNAVAILABLE` (503 with Retry-After).
/// SQLite has no statement timeout (README, Configuration).
async fn long_statements_are_cancelled_on_postgres(app: TestApp) {
    use dirsync_core::error::DbFailure;
    use sea_orm::ConnectionTrait;
    if !app.store_url.starts_with("postgres") {
        return;
    }
    let cases = [
        (Duration::from_millis(200), Some(DbFailure::TimedOut)),
        (Duration::ZERO, None),
    ];
    for (timeout, want) in cases {
        let options = dirsync_core::StoreOptions {
            statement_timeout: timeout,
        };
        let db = dirsync_core::connect_with(&app.store_url, &options).await.unwrap();
        let started = std::time::Instant::now();
        let got = db.execute_unprepared("SELECT pg_sleep(1.5)").await.err();
        let took = started.elapsed();
        assert_eq!(got.as_ref().map(DbFailure::of), want, "timeout {timeout:?}: {got:?}");
        if want.is_some() {
            assert!(took < Duration::from_secs(1), "cancelled after {took:?}");
            let status = tonic::Status::from(dirsync_core::error::CoreError::from(got.unwrap()));
            assert_eq!(status.code(), tonic::Code::Unavailable);
            assert!(
                status.message().contains("DIRSYNC_STATEMENT_TIMEOUT_SECS"),
                "{status:?}"
            );
        }
    }
}

/// A burst at the default limits (two tenants, 32 requests in flight each: 64 at once) of
/// large group writes, user writes and list reads is queued by the store's pool, never
/// refused by it: every request succeeds (SQLite has one connection, PostgreSQL 16).
async fn a_burst_at_the_default_limits_never_fails_for_the_pool(app: TestApp) {
    let other = app.new_tenant("burst").await;
    let tenants = [
        (app.scim.clone(), app.token.clone()),
        (other.scim.clone(), other.token.clone()),
    ];
    let mut setup = Vec::new();
    for (scim, token) in &tenants {
        let mut ids = Vec::new();
        for i in 0..300 {
            let r = app
                .send(
                    Method::POST,
                    &format!("{scim}/Users"),
                    Some(token),
                    Some(user(&format!("b{i}@example.com"))),
                    &[],
                )
                .await;
            r.expect(201);
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let mut groups = Vec::new();
        for i in 0..8 {
            let r = app
                .send(
                    Method::POST,
                    &format!("{scim}/Groups"),
                    Some(token),
                    Some(json!({"displayName": format!("g{i}")})),
                    &[],
                )
                .await;
            r.expect(201);
            groups.push(r.body["id"].as_str().unwrap().to_owned());
        }
        setup.push((scim.clone(), token.clone(), ids, groups));
    }
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (scim, token, ids, groups) in &setup {
        for i in 0..32 {
            let (http, scim, token) = (app.http.clone(), scim.clone(), token.clone());
            let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
            let group = groups[i % groups.len()].clone();
            tasks.spawn(async move {
                let req = match i % 4 {
                    // Replace a group's 300 members, then take them away again.
                    0 => http
                        .patch(format!("{scim}/Groups/{group}"))
                        .body(patch(json!([{"op": "replace", "path": "members", "value": members}])).to_string()),
                    1 => http
                        .patch(format!("{scim}/Groups/{group}"))
                        .body(patch(json!([{"op": "remove", "path": "members"}])).to_string()),
                    2 => http
                        .post(format!("{scim}/Users"))
                        .body(user(&format!("burst{i}@example.com")).to_string()),
                    _ => http.get(format!("{scim}/Users?count=300")),
                };
                let r = req
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .send()
                    .await
                    .unwrap();
                (i % 4, r.status().as_u16())
            });
        }
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done.unwrap());
    }
    let failed: Vec<_> = statuses.iter().filter(|(_, s)| *s >= 300).collect();
    assert!(
        failed.is_empty(),
        "{failed:?} of {} after {:?}",
        statuses.len(),
        started.elapsed()
    );
    assert_eq!(statuses.len(), 64);
}

on_both_stores!(
    a_burst_at_the_default_limits_never_fails_for_the_pool,
    long_statements_are_cancelled_on_postgres,
    forwarded_clients_are_told_apart_only_behind_trusted_proxies,
    member_listings_show_a_connection_only_what_it_may_see,
    a_flood_of_bogus_tokens_is_refused_on_the_edge,
    deleting_and_replacing_an_admin_at_once_never_fails,
    memberships_never_outlive_their_user
);
