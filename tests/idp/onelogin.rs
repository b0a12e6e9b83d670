//! OneLogin's SCIM provisioner (docs/idp/notes.md B3): an admin-editable JSON template with the
//! non-standard `urn:scim:schemas:core:2.0` URNs, an empty `User-Agent`, stray `?`/`&` in
//! URLs, updates by PUT, group membership by PATCH /Groups.
//! Sources: goauthentik/authentik#11249, [OL-kb] KB0013904, scim.dev OneLogin guide.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, ENTERPRISE, IdpClient, USER, expect_error, expect_resource, expect_scim, member_ids, patch};
use crate::harness::TestApp;
use crate::on_both_stores;

async fn onelogin(app: &TestApp) -> IdpClient<'_> {
    // authentik#11249 B3.1: no User-Agent value at all.
    IdpClient::connect(app, "onelogin", Auth::Bearer, "application/json", &[("user-agent", "")]).await
}

/// The connector's default user template, rendered (scim.dev guide, authentik#11249) B3.1, B3.2.
fn template(user_name: &str, given: &str, department: &str) -> Value {
    json!({
        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": "Jensen"},
        "emails": [{"value": user_name}],
        "urn:scim:schemas:extension:enterprise:2.0": {"department": department}
    })
}

async fn onelogin_users(app: TestApp) {
    let c = onelogin(&app).await;
    // Enable runs a connection test: a user lookup [scim.dev] B3.4; stray `?&` B3.1.
    let (total, _) = c
        .list(
            &c.filtered("/Users", "userName eq \"bjensen@example.com\"", "&")
                .replace("?filter", "?&filter"),
        )
        .await;
    assert_eq!(total, 0);

    // Create from the template: the non-standard URNs read as the standard ones B3.1, B3.2.
    let r = c
        .send(
            Method::POST,
            "/Users",
            Some(template("bjensen@example.com", "Barbara", "Sales")),
        )
        .await;
    let id = expect_resource(&r, 201, "User");
    assert_eq!(r.body["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(r.body[ENTERPRISE]["department"], "Sales");
    assert_eq!(r.body["name"]["givenName"], "Barbara");
    // No `active` in the template: the user is active (it may read back without `active`).
    assert_ne!(r.body["active"], false);
    assert_eq!(c.list(&c.filtered("/Users", "active eq true", "")).await.0, 1);
    for odd in ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"] {
        assert!(r.body.get(odd).is_none(), "{odd}: {}", r.body);
    }

    // A SCIM 1.1 core URN in a v2 connector's template (scim.dev guide) B3.2.
    let mut v1 = template("v1user@example.com", "Old", "Ops");
    v1["schemas"] = json!(["urn:scim:schemas:core:1.0"]);
    expect_resource(&c.send(Method::POST, "/Users", Some(v1)).await, 201, "User");

    // Updates are PUTs of the whole template, with a stray `?` B3.1.
    let r = c
        .send(
            Method::PUT,
            &format!("/Users/{id}?"),
            Some(template("bjensen@example.com", "Babs", "Marketing")),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["name"]["givenName"], "Babs");
    assert_eq!(r.body[ENTERPRISE]["department"], "Marketing");
    assert_ne!(r.body["active"], false, "a template without active never deactivates");
    let got = c.get(&format!("/Users/{id}?&")).await;
    expect_resource(&got, 200, "User");
    assert_eq!(got.body["emails"], json!([{"value": "bjensen@example.com"}]));

    // Groups: created by name, membership by PATCH /Groups B3.1.
    let r = c
        .send(
            Method::POST,
            "/Groups?",
            Some(json!({"schemas": ["urn:scim:schemas:core:2.0"], "displayName": "OneLogin Role"})),
        )
        .await;
    let gid = expect_resource(&r, 201, "Group");
    let path = format!("/Groups/{gid}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(member_ids(&c, &gid).await, vec![id.clone()]);
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "remove", "path": "members", "value": [{"value": id}]}]),
            )),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(member_ids(&c, &gid).await.is_empty());

    // Deprovisioning by delete.
    c.send(Method::DELETE, &format!("/Users/{id}"), None).await.expect(204);
    expect_error(&c.get(&format!("/Users/{id}")).await, 404, None);
    let r = c.get("/Users?&count=10&").await;
    expect_scim(&r, 200);
}

on_both_stores!(onelogin_users);
