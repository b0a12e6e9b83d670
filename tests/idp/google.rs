//! Google Workspace auto-provisioning (docs/idp/notes.md B4): a probe `GET /Users?count=1` on setup,
//! then users only (groups scope provisioning but are not pushed as SCIM Groups).
//! Sources: [AUTHN-gws], [GWS-help] support.google.com/a/answer/7681608, [ORY-gws].

use reqwest::Method;
use serde_json::json;

use super::{Auth, IdpClient, USER, expect_error, expect_resource, expect_scim, list_of, patch};
use crate::harness::TestApp;
use crate::on_both_stores;

async fn google_users(app: TestApp) {
    let c = IdpClient::connect(&app, "google", Auth::Bearer, "application/json", &[]).await;
    // Probe on setup: an empty directory answers 200 [AUTHN-gws] B4.2.
    let r = c.get("/Users?count=1").await;
    expect_scim(&r, 200);
    assert_eq!(list_of(&r).0, 0);

    let mut ids = Vec::new();
    for un in ["ada@example.com", "grace@example.com"] {
        let r = c
            .send(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [USER],
                    "userName": un,
                    "name": {"givenName": "Ada", "familyName": "Lovelace"},
                    "emails": [{"value": un, "type": "work", "primary": true}],
                    "active": true
                })),
            )
            .await;
        ids.push(expect_resource(&r, 201, "User"));
    }
    // The probe again: one resource, the total of all [AUTHN-gws] B4.2.
    let r = c.get("/Users?count=1").await;
    let (total, items) = list_of(&r);
    assert_eq!((total, items.len()), (2, 1));

    // Suspension deactivates; deletion removes (per-trigger choice) [AUTHN-gws] B4.5.
    let path = format!("/Users/{}", ids[0]);
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
        )
        .await;
    assert_eq!(r.body["active"], false);
    let (total, _) = c
        .list(&c.filtered("/Users", "userName eq \"ada@example.com\"", ""))
        .await;
    assert_eq!(total, 1);
    c.send(Method::DELETE, &format!("/Users/{}", ids[1]), None)
        .await
        .expect(204);
    expect_error(&c.get(&format!("/Users/{}", ids[1])).await, 404, None);
    // Nothing ever arrives at /Groups from Google B4.4.
    assert_eq!(c.list("/Groups").await.0, 0);
}

on_both_stores!(google_users);
