//! The mass-deprovisioning hold of a connection: it trips above its threshold and not at it;
//! held users keep their access for the product while the IdP reads back what it sent; approve
//! applies, reject releases; another tenant can neither see nor decide; over gRPC and in the
//! portal.

use dirsync_proto::v1::{
    ConnectionHoldRequest, GetEntitlementsRequest, GetUserRequest, ListSyncLogRequest, UpdateConnectionRequest,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, change_data, patch};
use crate::on_both_stores;
use crate::portal::{send, session};

/// Sets the app connection's hold; returns nothing, asserts the connection shows it.
async fn set_hold(app: &TestApp, tenant: &str, connection: &str, max_users: u32, max_percent: u32) {
    let c = app
        .admin()
        .await
        .update_connection(UpdateConnectionRequest {
            tenant_id: tenant.to_owned(),
            connection_id: connection.to_owned(),
            hold_max_users: Some(max_users),
            hold_max_percent: Some(max_percent),
            hold_window_seconds: Some(3600),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (c.hold_max_users, c.hold_max_percent, c.hold_window_seconds),
        (max_users, max_percent, 3600)
    );
}

/// Creates users over SCIM; returns their ids.
async fn users(app: &TestApp, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for n in names {
        let r = app
            .scim(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("{n}@acme.com"),
                    "displayName": n,
                    "active": true,
                })),
            )
            .await;
        r.expect(201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn deactivate(app: &TestApp, id: &str) -> Value {
    let r = app
        .scim(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
        )
        .await;
    r.expect(200);
    r.body.clone()
}

/// The user as the product reads it (no connection): its access.
async fn product_active(app: &TestApp, id: &str) -> Option<bool> {
    match app
        .directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.to_owned(),
            connection_id: None,
        })
        .await
    {
        Ok(u) => Some(u.into_inner().active),
        Err(s) if s.code() == tonic::Code::NotFound => None,
        Err(s) => panic!("{s:?}"),
    }
}

fn kinds(changes: &[dirsync_proto::v1::Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|c| (c.r#type.clone(), c.resource_id.clone()))
        .collect()
}

fn hold_request(tenant: &str, connection: &str) -> ConnectionHoldRequest {
    ConnectionHoldRequest {
        tenant_id: tenant.to_owned(),
        connection_id: connection.to_owned(),
    }
}

async fn last_cursor(app: &TestApp) -> u64 {
    app.changes(&app.tenant_id, 0, 1000)
        .await
        .last()
        .map_or(0, |c| c.cursor)
}

async fn trips_above_the_threshold_and_approve_applies(app: TestApp) {
    let ids = users(&app, &["u1", "u2", "u3", "u4", "u5"]).await;
    // Off by default: nothing held, nothing counted.
    let hold = app
        .admin()
        .await
        .get_connection_hold(hold_request(&app.tenant_id, &app.connection_id))
        .await
        .unwrap()
        .into_inner();
    assert!(!hold.pending && hold.hold_max_users == 0 && hold.hold_window_seconds == 3600);
    // Turned on with the operator CLI.
    let c = crate::cli::ok(
        &app,
        &[
            "connection",
            "update",
            "--tenant",
            &app.tenant_id,
            "--connection",
            &app.connection_id,
            "--hold-max-users",
            "2",
        ],
    )
    .await;
    assert_eq!(c["hold_max_users"], 2, "{c}");
    let cursor = last_cursor(&app).await;

    // Two within the window: at the threshold, applied.
    for id in &ids[..2] {
        assert_eq!(deactivate(&app, id).await["active"], false);
        assert_eq!(product_active(&app, id).await, Some(false));
    }
    // The third trips the hold: the IdP sees what it sent, the product still the user active.
    let body = deactivate(&app, &ids[2]).await;
    assert_eq!(body["active"], false, "{body}");
    assert_eq!(body["id"], ids[2].as_str());
    assert_eq!(product_active(&app, &ids[2]).await, Some(true));
    let read_back = app.scim(Method::GET, &format!("/Users/{}", ids[2]), None).await;
    read_back.expect(200);
    assert_eq!(read_back.body["active"], false, "the IdP reads back what it sent");
    // Once held, a deletion waits too, whatever the counts.
    app.scim(Method::DELETE, &format!("/Users/{}", ids[3]), None)
        .await
        .expect(204);
    assert_eq!(product_active(&app, &ids[3]).await, Some(true));
    app.scim(Method::GET, &format!("/Users/{}", ids[3]), None)
        .await
        .expect(404);
    let listed = app
        .scim(Method::GET, "/Users?filter=userName%20eq%20%22u3%40acme.com%22", None)
        .await;
    assert_eq!(listed.body["Resources"][0]["active"], false, "{}", listed.body);
    // Entitlements: still active.
    let e = app
        .directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: ids[2].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(e.active);

    // The feed: two deactivations, the hold's start, nothing for the held users.
    let changes = app.changes(&app.tenant_id, cursor, 100).await;
    let k = kinds(&changes);
    let expected = vec![
        ("user.deactivated".to_owned(), ids[0].clone()),
        ("user.deactivated".to_owned(), ids[1].clone()),
        ("connection.hold_started".to_owned(), app.connection_id.clone()),
    ];
    assert_eq!(k, expected, "{changes:#?}");
    let started = change_data(&changes[2]);
    assert_eq!(started["deprovisionedInWindow"], 2);
    assert_eq!(started["maxUsers"], 2);
    // The sync log says what waits.
    let log = app.sync_log().await;
    for want in [
        "held deactivation of user u3@acme.com",
        "held deletion of user u4@acme.com",
    ] {
        assert!(log.iter().any(|e| e.summary.contains(want)), "{want}: {log:#?}");
    }

    let hold = app
        .admin()
        .await
        .get_connection_hold(hold_request(&app.tenant_id, &app.connection_id))
        .await
        .unwrap()
        .into_inner();
    assert!(hold.pending);
    assert_eq!(hold.held_users, 2);
    let held: Vec<(&str, &str)> = hold
        .changes
        .iter()
        .map(|c| (c.user_name.as_str(), c.effect.as_str()))
        .collect();
    assert_eq!(held, [("u3@acme.com", "deactivate"), ("u4@acme.com", "delete")]);
    let shown = crate::cli::ok(
        &app,
        &[
            "connection",
            "hold",
            "show",
            "--tenant",
            &app.tenant_id,
            "--connection",
            &app.connection_id,
        ],
    )
    .await;
    assert_eq!(shown["pending"], true, "{shown}");
    assert_eq!(shown["changes"][1]["effect"], "delete", "{shown}");
    assert_eq!(shown["changes"][0]["user_name"], "u3@acme.com", "{shown}");

    // Approve: the held effects, through the pipeline, then the decision.
    let cursor = last_cursor(&app).await;
    let d = app
        .admin()
        .await
        .approve_connection_hold(hold_request(&app.tenant_id, &app.connection_id))
        .await
        .unwrap()
        .into_inner();
    assert!(d.approved);
    assert_eq!(d.users, 2);
    assert_eq!(product_active(&app, &ids[2]).await, Some(false));
    assert_eq!(product_active(&app, &ids[3]).await, None);
    let changes = app.changes(&app.tenant_id, cursor, 100).await;
    let expected = vec![
        ("user.deactivated".to_owned(), ids[2].clone()),
        ("user.deleted".to_owned(), ids[3].clone()),
        ("connection.hold_approved".to_owned(), app.connection_id.clone()),
    ];
    assert_eq!(kinds(&changes), expected, "{changes:#?}");
    assert!(
        changes
            .iter()
            .all(|c| c.connection_id.as_deref() == Some(app.connection_id.as_str()))
    );
    assert_eq!(change_data(&changes[2])["actor"]["type"], "operator");
    // Nothing is held any more; a second decision has nothing to decide.
    let err = app
        .admin()
        .await
        .approve_connection_hold(hold_request(&app.tenant_id, &app.connection_id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    // The window started afresh: the next deactivation goes through.
    deactivate(&app, &ids[4]).await;
    assert_eq!(product_active(&app, &ids[4]).await, Some(false));
}

async fn reject_releases_in_the_portal_and_tenants_are_isolated(app: TestApp) {
    let ids = users(&app, &["a1", "a2", "a3", "a4"]).await;
    // 25 % of 4 users: one goes through, the second (50 %) is held.
    set_hold(&app, &app.tenant_id, &app.connection_id, 0, 25).await;
    deactivate(&app, &ids[0]).await;
    assert_eq!(product_active(&app, &ids[0]).await, Some(false));
    deactivate(&app, &ids[1]).await;
    assert_eq!(product_active(&app, &ids[1]).await, Some(true));

    // Another tenant sees and decides nothing, over gRPC or in its portal.
    let other = app.new_tenant("globex").await;
    let mut admin = app.admin().await;
    for err in [
        admin
            .get_connection_hold(hold_request(&other.id, &app.connection_id))
            .await
            .unwrap_err(),
        admin
            .approve_connection_hold(hold_request(&other.id, &app.connection_id))
            .await
            .unwrap_err(),
        admin
            .reject_connection_hold(hold_request(&other.id, &app.connection_id))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    }
    let theirs = session(&app, &other.id, None).await;
    let page = send(&app, Method::GET, "/portal/connection", Some(&theirs), &[], &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("users are waiting"), "{}", page.text);
    let path = format!("/portal/connection/{}/hold", app.connection_id);
    let page = send(&app, Method::GET, &path, Some(&theirs), &[], &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.text);
    for action in ["approve", "reject"] {
        let page = send(&app, Method::POST, &format!("{path}/{action}"), Some(&theirs), &[], &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}: {}", page.text);
    }

    // The tenant's own admin: a banner on every page, linking to the hold view.
    let mine = session(&app, &app.tenant_id, None).await;
    for page in ["/portal/connection", "/portal/people", "/portal/log"] {
        let p = send(&app, Method::GET, page, Some(&mine), &[], &[]).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.text.contains("1 users are waiting"), "{page}: {}", p.text);
        assert!(p.text.contains(&format!("href=\"{path}\"")), "{page}");
    }
    let de = send(&app, Method::GET, "/portal/connection?lang=de", Some(&mine), &[], &[]).await;
    assert!(de.text.contains("1 Benutzer warten"), "{}", de.text);
    let view = send(&app, Method::GET, &path, Some(&mine), &[], &[]).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.text.contains("a2@acme.com") && view.text.contains("Reject: keep their access"));
    // A cross-site POST decides nothing.
    let evil = send(
        &app,
        Method::POST,
        &format!("{path}/reject"),
        Some(&mine),
        &[],
        &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    let cursor = last_cursor(&app).await;
    let done = send(&app, Method::POST, &format!("{path}/reject"), Some(&mine), &[], &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("Rejected: 1 held changes"), "{}", done.text);
    assert!(!done.text.contains("users are waiting"), "the banner is gone");

    // Rejected: the user keeps access, nothing about it in the feed but the decision.
    assert_eq!(product_active(&app, &ids[1]).await, Some(true));
    let changes = app.changes(&app.tenant_id, cursor, 100).await;
    assert_eq!(
        kinds(&changes),
        vec![("connection.hold_rejected".to_owned(), app.connection_id.clone())],
        "{changes:#?}"
    );
    let data = change_data(&changes[0]);
    assert_eq!(data["actor"]["type"], "portal_session");
    assert_eq!(data["users"], 1);
    let log = app
        .admin()
        .await
        .list_sync_log(ListSyncLogRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: Some(app.connection_id.clone()),
            failed_only: false,
            limit: 50,
            after_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        log.iter().any(|e| e.method == "PORTAL"
            && e.path == "/portal/hold_rejected"
            && e.summary.contains("rejected the mass-deprovisioning hold")
            && e.summary.contains("by portal session")),
        "{log:#?}"
    );
    // The IdP reads the user back as stored again.
    let back = app.scim(Method::GET, &format!("/Users/{}", ids[1]), None).await;
    assert_eq!(back.body["active"], true);

    // The admin changes the hold in the portal: journaled with the session.
    let saved = send(
        &app,
        Method::POST,
        &format!("{path}/settings"),
        Some(&mine),
        &[("max_users", "10"), ("max_percent", "0"), ("window_minutes", "30")],
        &[],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let hold = app
        .admin()
        .await
        .get_connection_hold(hold_request(&app.tenant_id, &app.connection_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (hold.hold_max_users, hold.hold_max_percent, hold.hold_window_seconds),
        (10, 0, 1800)
    );
    let last = app.changes(&app.tenant_id, 0, 1000).await;
    assert_eq!(last.last().unwrap().r#type, "portal.hold_policy_set");
    // Out of range: refused, nothing changed.
    let bad = send(
        &app,
        Method::POST,
        &format!("{path}/settings"),
        Some(&mine),
        &[("max_users", "1"), ("max_percent", "101"), ("window_minutes", "30")],
        &[],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    // Another tenant's session cannot change it.
    let theirs_saved = send(
        &app,
        Method::POST,
        &format!("{path}/settings"),
        Some(&theirs),
        &[("max_users", "0"), ("max_percent", "0"), ("window_minutes", "60")],
        &[],
    )
    .await;
    assert_eq!(theirs_saved.status, StatusCode::NOT_FOUND);
}

on_both_stores!(
    trips_above_the_threshold_and_approve_applies,
    reject_releases_in_the_portal_and_tenants_are_isolated
);
