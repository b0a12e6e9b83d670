//! PingOne / PingFederate SCIM provisioner (docs/idp/notes.md B5): users by POST and PUT (never
//! PATCH), an admin-written matching filter (`username Eq "%s"`), groups found by paging
//! through all of them, disabled users provisioned with `active: false`.
//! Sources: [PING-pf] SCIM Provisioner docs, [PING-p1] "SCIM filter expressions",
//! harness/harness-core PR #39517 (Content-Type).

use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, GROUP, IdpClient, USER, expect_error, expect_resource, expect_scim, list_of, member_ids, patch};
use crate::harness::TestApp;
use crate::on_both_stores;

async fn ping(app: &TestApp) -> IdpClient<'_> {
    // Basic authentication [PING-pf] B5.3; application/json bodies (harness-core #39517).
    IdpClient::connect(
        app,
        "pingone",
        Auth::Basic,
        "application/json",
        &[("accept", "application/json")],
    )
    .await
}

fn ping_user(user_name: &str, active: bool) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "externalId": format!("p1-{user_name}"),
        "name": {"givenName": "Christy", "familyName": "Smith"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": active
    })
}

async fn pingone_users(app: TestApp) {
    let c = ping(&app).await;
    let un = "christy@example.com";
    // Matching filters as PingOne's examples write them: attribute and operator casing [PING-p1] B5.2.
    let username = format!("username Eq \"{un}\"");
    let email = "email Co \"christy@\"".to_owned();
    for f in [&username, &email] {
        assert_eq!(c.list(&c.filtered("/Users", f, "")).await.0, 0, "{f}");
    }

    let r = c.send(Method::POST, "/Users", Some(ping_user(un, true))).await;
    let id = expect_resource(&r, 201, "User");
    for f in [&username, &email, &format!("USERNAME EQ \"{}\"", un.to_uppercase())] {
        let (total, items) = c.list(&c.filtered("/Users", f, "")).await;
        assert_eq!((total, items[0]["id"].as_str()), (1, Some(id.as_str())), "{f}");
    }

    // Updates are PUTs of the whole user [PING-pf] B5.1.
    let path = format!("/Users/{id}");
    let mut put = ping_user(un, true);
    put["title"] = json!("Engineer");
    let r = c.send(Method::PUT, &path, Some(put.clone())).await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["title"], "Engineer");
    // Disable by PUT; the user stays findable [PING-pf] B5.4.
    put["active"] = json!(false);
    let r = c.send(Method::PUT, &path, Some(put.clone())).await;
    assert_eq!(r.body["active"], false);
    assert_eq!(c.list(&c.filtered("/Users", &username, "")).await.0, 1);
    put["active"] = json!(true);
    assert_eq!(c.send(Method::PUT, &path, Some(put)).await.body["active"], true);

    // "Provision disabled users": POST with active=false [PING-pf] B5.4.
    let r = c
        .send(Method::POST, "/Users", Some(ping_user("disabled@example.com", false)))
        .await;
    let disabled = expect_resource(&r, 201, "User");
    assert_eq!(r.body["active"], false);
    assert_eq!(c.get(&format!("/Users/{disabled}")).await.body["active"], false);

    // Remove-user action "delete" [PING-pf] B5.4.
    c.send(Method::DELETE, &path, None).await.expect(204);
    expect_error(&c.get(&path).await, 404, None);
}

/// Group lookup = list all groups and match client-side, so unfiltered paging must be exact
/// [PING-pf] B5.1; membership by PATCH.
async fn pingone_group_paging(app: TestApp) {
    let c = ping(&app).await;
    let u = expect_resource(
        &c.send(Method::POST, "/Users", Some(ping_user("g@example.com", true)))
            .await,
        201,
        "User",
    );
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = c
            .send(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": format!("Group {i}")})),
            )
            .await;
        ids.push(expect_resource(&r, 201, "Group"));
    }
    let mut seen = Vec::new();
    for start in [1, 4, 7, 10] {
        let r = c.get(&format!("/Groups?startIndex={start}&count=3")).await;
        expect_scim(&r, 200);
        let (total, items) = list_of(&r);
        assert_eq!(total, 7);
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|g| g["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen, ids, "each group exactly once, in a stable order");

    let path = format!("/Groups/{}", ids[3]);
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &ids[3]).await, vec![u.clone()]);
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(member_ids(&c, &ids[3]).await.is_empty());
}

on_both_stores!(pingone_users, pingone_group_paging);
