//! Okta provisioning (docs/idp/notes.md B2), as Okta and its Runscope spec tests send it: Basic auth
//! `<tenant id>:<token>`, `Content-Type: application/json`, `Accept` with a charset.
//! Sources: [OK-ref] Okta SCIM 2.0 protocol reference, [OK-spec] Okta-SCIM-20-SPEC-Test.json,
//! [OK-prep] "Build your SCIM API service", Delinea's Okta endpoint reference.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    Auth, GROUP, IdpClient, USER, expect_error, expect_resource, expect_scim, list_of, member_ids, patch, sorted,
};
use crate::harness::TestApp;
use crate::on_both_stores;

async fn okta(app: &TestApp) -> IdpClient<'_> {
    // [OK-spec] B2.10: Runscope's headers; [OK-prep] B2.13: Basic auth.
    IdpClient::connect(
        app,
        "okta",
        Auth::Basic,
        "application/json",
        &[("accept", "application/scim+json; charset=utf-8")],
    )
    .await
}

/// [OK-ref] "Create the user": Okta's POST body, with `password` and `groups` B2.2.
fn okta_user(user_name: &str, okta_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": okta_id,
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// `?filter=userName eq "…"&startIndex=1&count=100`, URL-encoded [OK-ref] B2.1.
fn existence_check(c: &IdpClient<'_>, user_name: &str) -> String {
    c.filtered(
        "/Users",
        &format!("userName eq \"{user_name}\""),
        "&startIndex=1&count=100",
    )
}

async fn okta_user_lifecycle(app: TestApp) {
    let c = okta(&app).await;
    let un = "test.user@okta.local";

    // Existence check -> 200 empty ListResponse with integer counters [OK-ref] B2.1, B2.7.
    let r = c.get(&existence_check(&c, un)).await;
    expect_scim(&r, 200);
    assert_eq!(list_of(&r).0, 0);
    assert_eq!(r.body["startIndex"], 1);

    // Create: password and groups are never stored nor returned [OK-ref] B2.2.
    let r = c
        .send(Method::POST, "/Users", Some(okta_user(un, "00ujl29u0le5T6Aj10h7")))
        .await;
    let id = expect_resource(&r, 201, "User");
    assert!(r.body.get("password").is_none(), "{}", r.body);
    assert!(r.body.get("groups").is_none_or(|g| g == &json!([])), "{}", r.body);
    assert_eq!(r.body["locale"], "en-US");
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["active"], true);
    let path = format!("/Users/{id}");
    let got = c.get(&path).await;
    expect_resource(&got, 200, "User");
    assert!(got.body.get("password").is_none());
    assert_eq!(got.body["userName"], un);

    // Lookup by the uppercased userName succeeds [OK-spec] B2.1.
    let r = c.get(&existence_check(&c, &un.to_uppercase())).await;
    let (total, items) = list_of(&r);
    assert_eq!((total, items[0]["id"].as_str()), (1, Some(id.as_str())));

    // Recreating the user -> 409 uniqueness as SCIM error JSON [OK-spec] B2.3, B2.11.
    let dup = c
        .send(Method::POST, "/Users", Some(okta_user(un, "00ujl29u0le5T6Aj10h7")))
        .await;
    expect_error(&dup, 409, Some("uniqueness"));

    // Unknown id -> 404 SCIM error JSON [OK-spec] B2.11.
    expect_error(&c.get(&format!("/Users/{}", uuid::Uuid::new_v4())).await, 404, None);

    // Profile update by PUT after GET (OIN template) [OK-ref] B2.4; password again ignored.
    let mut put = got.body.clone();
    put["name"]["givenName"] = json!("Another");
    put["password"] = json!("t1meMa$heen");
    let r = c.send(Method::PUT, &path, Some(put)).await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["name"]["givenName"], "Another");
    assert!(r.body.get("password").is_none());

    // AIW apps PUT everything; a PUT without `active` does not deactivate (Delinea) B2.4.
    let mut put = okta_user(un, "00ujl29u0le5T6Aj10h7");
    put.as_object_mut().unwrap().remove("active");
    put["displayName"] = json!("Test User 2");
    let r = c.send(Method::PUT, &path, Some(put)).await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["displayName"], "Test User 2");
    assert_ne!(r.body["active"], false, "{}", r.body);
    let active = c.filtered("/Users", &format!("userName eq \"{un}\" and active eq true"), "");
    assert_eq!(c.list(&active).await.0, 1);

    // Deactivate: no-path replace {"active": false} [OK-ref] B2.5.
    let deactivate = |active: bool| patch(json!([{"op": "replace", "value": {"active": active}}]));
    let r = c.send(Method::PATCH, &path, Some(deactivate(false))).await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["active"], false);
    // Still found by the existence check (no duplicate POST).
    assert_eq!(list_of(&c.get(&existence_check(&c, un)).await).0, 1);
    // Reactivate the same way (an OIN review test) B2.5.
    let r = c.send(Method::PATCH, &path, Some(deactivate(true))).await;
    assert_eq!(r.body["active"], true);

    // AIW deactivation by PUT with active=false, then reactivation by PUT [OK-ref] B2.4.
    let mut put = okta_user(un, "00ujl29u0le5T6Aj10h7");
    put["active"] = json!(false);
    let r = c.send(Method::PUT, &path, Some(put.clone())).await;
    assert_eq!(r.body["active"], false);
    put["active"] = json!(true);
    let r = c.send(Method::PUT, &path, Some(put)).await;
    assert_eq!(r.body["active"], true);
    // Values read back exactly as sent: nothing drifted across the cycle.
    let got = c.get(&path).await;
    assert_eq!(
        got.body["emails"],
        json!([{"primary": true, "value": un, "type": "work"}])
    );
    assert_eq!(got.body["name"], json!({"givenName": "Test", "familyName": "User"}));

    // Okta never DELETEs users [OK-ref] B2.5: nothing more to replay.
}

/// Bad credentials -> 401 as SCIM error JSON, never plain text [OK-spec] B2.11.
async fn okta_errors_are_scim_json(app: TestApp) {
    let c = okta(&app).await;
    let bad = c
        .app
        .http
        .get(c.url("/Users?startIndex=1&count=100"))
        .basic_auth(&app.tenant_id, Some("dsy_wrong"))
        .header("accept", "application/scim+json; charset=utf-8")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    assert_eq!(
        bad.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["status"], "401");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    // Unparseable JSON sent as application/json -> 400 SCIM error.
    let r = c
        .send_raw(Method::POST, &c.url("/Users"), Some("{not json".into()))
        .await;
    expect_error(&r, 400, Some("invalidSyntax"));
}

/// Import: `startIndex=1&count=N`, then `+N` until totalResults; integers; stable order [OK-ref] B2.7.
async fn okta_import_paging(app: TestApp) {
    let c = okta(&app).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = c
            .send(
                Method::POST,
                "/Users",
                Some(okta_user(&format!("import{i}@okta.local"), &format!("00u{i}"))),
            )
            .await;
        ids.push(expect_resource(&r, 201, "User"));
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = c.get(&format!("/Users?startIndex={start}&count=3")).await;
        expect_scim(&r, 200);
        let (total, items) = list_of(&r);
        assert_eq!(total, 7);
        assert_eq!(r.body["startIndex"], start);
        if items.is_empty() {
            break;
        }
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        start += 3;
    }
    assert_eq!(seen, ids, "every user once, in a stable order");
}

/// Group Push [OK-ref] B2.8: create, exists check, rename carrying `id` (sent with every
/// membership update), mixed remove/add, full sync by replace, `replace members []`, unlink.
async fn okta_group_push(app: TestApp) {
    let c = okta(&app).await;
    let mut users = Vec::new();
    for i in 0..3 {
        let r = c
            .send(
                Method::POST,
                "/Users",
                Some(okta_user(&format!("push{i}@okta.local"), &format!("00up{i}"))),
            )
            .await;
        users.push(expect_resource(&r, 201, "User"));
    }

    // Exists check before creation (okta-developer-docs PR #4605).
    let exists = c.filtered("/Groups", "displayName eq \"Test SCIMv2\"", "&startIndex=1&count=100");
    assert_eq!(c.list(&exists).await.0, 0);
    let r = c
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})),
        )
        .await;
    let gid = expect_resource(&r, 201, "Group");
    assert_eq!(r.body["displayName"], "Test SCIMv2");
    assert_eq!(c.list(&exists).await.0, 1);
    let path = format!("/Groups/{gid}");
    expect_resource(&c.get(&path).await, 200, "Group");

    // Rename: no-path replace carrying the read-only id B2.8.
    let rename = |name: &str| json!({"op": "replace", "value": {"id": gid, "displayName": name}});
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([rename("Test SCIMv2 Renamed")]))),
        )
        .await;
    assert!(r.status.as_u16() == 204 || r.status.as_u16() == 200, "{}", r.body);
    assert_eq!(c.get(&path).await.body["displayName"], "Test SCIMv2 Renamed");

    // Membership: add, then a mixed remove/add with the rename in the same request B2.8.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([
                rename("Test SCIMv2 Renamed"),
                {"op": "add", "path": "members", "value": [
                    {"value": users[0], "display": "push0@okta.local"},
                    {"value": users[1], "display": "push1@okta.local"}
                ]}
            ]))),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, sorted(users[..2].to_vec()));
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([
                rename("Test SCIMv2 Renamed"),
                {"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])},
                {"op": "add", "path": "members", "value": [{"value": users[2], "display": "push2@okta.local"}]}
            ]))),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, sorted(users[1..].to_vec()));
    assert_eq!(c.get(&path).await.body["displayName"], "Test SCIMv2 Renamed");

    // Full sync: replace path members [OK-ref] B2.8.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "replace", "path": "members", "value": [{"value": users[0]}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, vec![users[0].clone()]);

    // Pushing an empty group: replace members [] (SCIM-SDK#757) B2.8.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "replace", "path": "members", "value": []}]))),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(member_ids(&c, &gid).await.is_empty());

    // Unlink with delete [OK-ref] B2.8.
    c.send(Method::DELETE, &path, None).await.expect(204);
    expect_error(&c.get(&path).await, 404, None);
    assert_eq!(c.list(&exists).await.0, 0);
    // Users are not touched by group deletion.
    assert_eq!(c.list("/Users?startIndex=1&count=100").await.0, 3);
}

on_both_stores!(
    okta_user_lifecycle,
    okta_errors_are_scim_json,
    okta_import_paging,
    okta_group_push
);
