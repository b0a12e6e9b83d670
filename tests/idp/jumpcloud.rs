//! JumpCloud's custom SCIM integration (docs/idp/notes.md B6): "Test Connection" creates a real test
//! user and test group and deletes them again; member removal uses the Entra-style value list.
//! Sources: [JC] "Provision and manage users and groups … custom SCIM", uni-moni KB.

use dirsync_proto::v1::{ListGroupsRequest, ListUsersRequest};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, GROUP, IdpClient, USER, expect_error, expect_resource, member_ids, patch, sorted};
use crate::harness::TestApp;
use crate::on_both_stores;

async fn jumpcloud(app: &TestApp) -> IdpClient<'_> {
    // Bearer token / "SCIM API key" [JC] B6.3.
    IdpClient::connect(app, "jumpcloud", Auth::Bearer, "application/scim+json", &[]).await
}

fn jc_user(user_name: &str) -> Value {
    // Core attributes only: "no special attribute mapping or extension schemas" [JC] B6.3.
    json!({
        "schemas": [USER],
        "userName": user_name,
        "externalId": format!("jc-{user_name}"),
        "name": {"givenName": "Test", "familyName": "User"},
        "displayName": "Test User",
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    })
}

/// Test Connection leaves nothing behind [JC] B6.1: no user, no group, visible neither over
/// SCIM nor to the product's services over gRPC.
async fn jumpcloud_test_connection(app: TestApp) {
    let c = jumpcloud(&app).await;
    let r = c
        .send(Method::POST, "/Users", Some(jc_user("scim-test@verified.example.com")))
        .await;
    let uid = expect_resource(&r, 201, "User");
    let r = c
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "JumpCloud Test Group"})),
        )
        .await;
    let gid = expect_resource(&r, 201, "Group");
    c.send(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await
        .expect(204);
    c.send(Method::DELETE, &format!("/Users/{uid}"), None).await.expect(204);
    expect_error(&c.get(&format!("/Users/{uid}")).await, 404, None);
    expect_error(&c.get(&format!("/Groups/{gid}")).await, 404, None);
    assert_eq!(c.list("/Users").await.0, 0);
    assert_eq!(c.list("/Groups").await.0, 0);
    let mut dir = app.directory().await;
    let users = dir
        .list_users(ListUsersRequest {
            tenant_id: app.tenant_id.clone(),
            start_index: 1,
            count: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(users.total_results, 0);
    let groups = dir
        .list_groups(ListGroupsRequest {
            tenant_id: app.tenant_id.clone(),
            start_index: 1,
            count: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(groups.total_results, 0);
    // The same test user can be created again by the next test (no tombstone blocks it).
    let r = c
        .send(Method::POST, "/Users", Some(jc_user("scim-test@verified.example.com")))
        .await;
    expect_resource(&r, 201, "User");
}

/// Users and groups: membership added, then removed Entra-style (value list) [uni-moni KB] B6.2.
async fn jumpcloud_groups(app: TestApp) {
    let c = jumpcloud(&app).await;
    let mut users = Vec::new();
    for i in 0..3 {
        let r = c
            .send(
                Method::POST,
                "/Users",
                Some(jc_user(&format!("u{i}@verified.example.com"))),
            )
            .await;
        users.push(expect_resource(&r, 201, "User"));
    }
    let r = c
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": users[0]}, {"value": users[1]}]})),
        )
        .await;
    let gid = expect_resource(&r, 201, "Group");
    let path = format!("/Groups/{gid}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, sorted(users.clone()));
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "remove", "path": "members", "value": [{"value": users[0]}, {"value": users[2]}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, vec![users[1].clone()]);
    // Suspending a user in JumpCloud deactivates it; membership stays.
    let r = c
        .send(
            Method::PATCH,
            &format!("/Users/{}", users[1]),
            Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
        )
        .await;
    assert_eq!(r.body["active"], false);
    assert_eq!(member_ids(&c, &gid).await, vec![users[1].clone()]);
}

on_both_stores!(jumpcloud_test_connection, jumpcloud_groups);
