//! Unmanaged users: a connection ends, its users stay (unmanaged); the product lists them over
//! gRPC, and a later connection's first write to each (PATCH, PUT, or a POST with its
//! userName) takes it over, with a `user.linked` change and a sync-log line.

use dirsync_proto::v1::{
    CreateConnectionRequest, EndConnectionRequest, GetUserRequest, ListSyncLogRequest, ListUsersRequest, User,
};
use reqwest::Method;
use serde_json::json;

use crate::harness::{Tenant, TestApp, change_data, patch};
use crate::on_both_stores;
use crate::users::user;

async fn unmanaged(app: &TestApp, tenant_id: &str) -> Vec<User> {
    app.directory()
        .await
        .list_users(ListUsersRequest {
            tenant_id: tenant_id.into(),
            count: 100,
            unmanaged: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users
}

async fn get(app: &TestApp, id: &str) -> User {
    app.directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.into(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn a_later_connection_takes_over_unmanaged_users(app: TestApp) {
    // The first IdP provisions three users, then its connection ends.
    let mut ids = Vec::new();
    for name in ["patched@example.com", "put@example.com", "posted@example.com"] {
        let r = app.scim(Method::POST, "/Users", Some(user(name))).await;
        r.expect(201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let mut admin = app.admin().await;
    let ended = admin
        .end_connection(EndConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.users_unlinked, 3);
    // A native user is not unmanaged: no connection ever managed it.
    app.directory()
        .await
        .create_user(dirsync_proto::v1::CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(dirsync_proto::v1::UserSpec {
                user_name: "native@example.com".into(),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap();
    let mut listed: Vec<String> = unmanaged(&app, &app.tenant_id)
        .await
        .into_iter()
        .map(|u| u.id)
        .collect();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want);
    // Another tenant's list is its own.
    let other = app.new_tenant("other").await;
    assert!(unmanaged(&app, &other.id).await.is_empty());

    // A new connection of the tenant.
    let c = admin
        .create_connection(CreateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            name: "new idp".into(),
            idp_profile: "okta".into(),
            allow_adoption: None,
        })
        .await
        .unwrap()
        .into_inner();
    let conn = c.connection.unwrap();
    let t = Tenant {
        id: app.tenant_id.clone(),
        connection_id: conn.id.clone(),
        scim: conn.scim_base_url.clone(),
        token: c.token.clone(),
    };
    let send = |method: Method, path: String, body: serde_json::Value| {
        let (app, t) = (&app, &t);
        async move {
            app.send(method, &format!("{}{path}", t.scim), Some(&t.token), Some(body), &[])
                .await
        }
    };
    // PATCH (Entra), PUT of the unchanged resource (Okta), POST with the userName (OneLogin).
    send(
        Method::PATCH,
        format!("/Users/{}", ids[0]),
        patch(json!([{"op": "replace", "path": "displayName", "value": "Patched"}])),
    )
    .await
    .expect(200);
    send(Method::PUT, format!("/Users/{}", ids[1]), user("put@example.com"))
        .await
        .expect(200);
    let posted = send(Method::POST, "/Users".into(), user("posted@example.com")).await;
    posted.expect(201);
    assert_eq!(
        posted.body["id"],
        ids[2].as_str(),
        "the POST took the user over, same id"
    );
    for id in &ids {
        assert_eq!(
            get(&app, id).await.connection_id.as_deref(),
            Some(conn.id.as_str()),
            "{id}"
        );
    }
    assert!(unmanaged(&app, &app.tenant_id).await.is_empty());

    // A second write is an ordinary one: no second takeover.
    send(
        Method::PATCH,
        format!("/Users/{}", ids[0]),
        patch(json!([{"op": "replace", "path": "displayName", "value": "Again"}])),
    )
    .await
    .expect(200);
    let linked: Vec<(String, serde_json::Value)> = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .iter()
        .filter(|c| c.r#type == "user.linked")
        .map(|c| (c.resource_id.clone(), change_data(c)))
        .collect();
    assert_eq!(linked.len(), 3, "{linked:?}");
    for ((id, data), want) in linked.iter().zip(&ids) {
        assert_eq!(id, want);
        assert_eq!(data["connectionId"], conn.id.as_str());
    }
    let log: Vec<String> = admin
        .list_sync_log(ListSyncLogRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: Some(conn.id.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| e.summary)
        .collect();
    for name in ["patched@example.com", "put@example.com", "posted@example.com"] {
        let line = format!("took over user {name} (unmanaged since its connection ended)");
        assert!(log.iter().any(|s| s.contains(&line)), "{line:?} not in {log:?}");
    }
}

on_both_stores!(a_later_connection_takes_over_unmanaged_users);
