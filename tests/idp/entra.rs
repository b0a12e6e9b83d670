//! Microsoft Entra ID provisioning (docs/idp/notes.md B1), as the provisioning service sends it: with
//! its default (non-compliant) PATCH shapes and with the `?aadOptscim062020` flag.
//! Sources: [MS-tut] "Develop and plan provisioning for a SCIM endpoint", [MS-compat] "Known
//! issues … SCIM 2.0 protocol compliance", [MS-how], [MS-gallery-val].

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    Auth, ENTERPRISE, GROUP, IdpClient, USER, expect_error, expect_resource, expect_scim, member_ids, patch, sorted,
};
use crate::harness::TestApp;
use crate::on_both_stores;

/// Entra's query flag for compliant PATCH bodies [MS-compat] B1.28.
const FLAG: &str = "?aadOptscim062020";

async fn entra(app: &TestApp) -> IdpClient<'_> {
    // Secret Token = bearer [MS-tut] B1.27; JSON bodies as application/scim+json.
    IdpClient::connect(app, "entra", Auth::Bearer, "application/scim+json", &[]).await
}

/// [MS-tut] "Create User" request, with the oddities of B1.11: explicit nulls, `roles: []`,
/// `meta.resourceType` in the body.
fn create_body(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "addresses": null,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "phoneNumbers": [{"type": "mobile", "value": "55555555555"}],
        "preferredLanguage": "de-AT",
        "locale": null,
        "roles": [],
        ENTERPRISE: {"employeeNumber": "0042", "department": null}
    })
}

async fn find_user(c: &IdpClient<'_>, filter: &str) -> Vec<Value> {
    c.list(&c.filtered("/Users", filter, "")).await.1
}

/// Test Connection, matching, create, updates, deprovision and delete [MS-tut] [MS-how].
async fn entra_user_lifecycle(app: TestApp) {
    let c = entra(&app).await;

    // Test Connection: a random GUID as userName -> 200 and an empty list [MS-tut] B1.18.
    let guid = uuid::Uuid::new_v4().to_string();
    let (total, items) = c
        .list(&c.filtered("/Users", &format!("userName eq \"{guid}\""), ""))
        .await;
    assert_eq!((total, items.len()), (0, 0));
    // … and a random group [MS-tut] B1.18, B1.20.
    let (total, _) = c
        .list(&c.filtered(
            "/Groups",
            &format!("displayName eq \"{guid}\""),
            "&excludedAttributes=members",
        ))
        .await;
    assert_eq!(total, 0);

    // Matching query before create: `userName eq` [MS-tut] B1.15.
    let upn = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com";
    assert!(find_user(&c, &format!("userName eq \"{upn}\"")).await.is_empty());

    // Create [MS-tut] "Create User"; nulls and meta ignored B1.11.
    let oid = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
    let r = c.send(Method::POST, "/Users", Some(create_body(upn, oid))).await;
    let id = expect_resource(&r, 201, "User");
    assert_eq!(r.body["userName"], upn);
    assert_eq!(r.body["externalId"], oid);
    assert_eq!(r.body["active"], true);
    for absent in ["addresses", "locale", "roles", "password"] {
        assert!(r.body.get(absent).is_none(), "{absent}: {}", r.body);
    }
    // Values read back exactly as sent: no phone or language normalisation [MS-tut] B1.26.
    assert_eq!(r.body["phoneNumbers"][0]["value"], "55555555555");
    assert_eq!(r.body["preferredLanguage"], "de-AT");
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "0042");
    assert!(r.body[ENTERPRISE].get("department").is_none());
    assert_eq!(r.body["schemas"], json!([USER, ENTERPRISE]));

    // Matching by userName, by externalId (docs show it unquoted), by the work e-mail filter [MS-tut] B1.15.
    for filter in [
        format!("userName eq \"{upn}\""),
        format!("externalId eq \"{oid}\""),
        format!("externalId eq {oid}"),
        format!("emails[type eq \"work\"].value eq \"{upn}\""),
        format!("emails[type eq \"work\"] eq \"{upn}\""),
    ] {
        let found = find_user(&c, &filter).await;
        assert_eq!(found.len(), 1, "{filter}");
        assert_eq!(found[0]["id"], id.as_str(), "{filter}");
    }

    // A repeated create is a per-user 409 error, never a silent match [MS-how] B1.24.
    let dup = c.send(Method::POST, "/Users", Some(create_body(upn, oid))).await;
    expect_error(&dup, 409, Some("uniqueness"));

    // Update multi-valued and single-valued attributes, default shapes (capitalised ops) [MS-tut] B1.1, B1.8.
    let path = format!("/Users/{id}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@testuser.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 (555) 555-0100"}
            ]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(
        r.body["emails"],
        json!([{"primary": true, "type": "work", "value": "updatedEmail@testuser.com"}])
    );
    assert_eq!(r.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(r.body["phoneNumbers"][0]["value"], "+1 (555) 555-0100");
    let new_upn = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "Replace", "path": "userName", "value": new_upn}]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["userName"], new_upn);

    // Disable: `Switch([IsSoftDeleted], , "False", "true", "True", "false")` yields the string "False" [MS-compat] B1.2, B1.21.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["active"], false);

    // The disabled user stays findable, so Entra never re-POSTs it [MS-tut] B1.19.
    let found = find_user(&c, &format!("userName eq \"{new_upn}\"")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["active"], false);
    let got = c.get(&path).await;
    expect_resource(&got, 200, "User");
    assert_eq!(got.body["active"], false);

    // Reactivation: `Replace active "True"` [MS-how] B1.22.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "Replace", "path": "active", "value": "True"}]))),
        )
        .await;
    assert_eq!(r.body["active"], true);

    // An empty PATCH (seen from the validator) is a no-op B1.13.
    let before = c.get(&path).await.body;
    let r = c.send(Method::PATCH, &path, Some(patch(json!([])))).await;
    expect_scim(&r, 200);
    assert_eq!(r.body["meta"]["version"], before["meta"]["version"]);

    // Hard delete after the soft-delete period [MS-how] B1.21.
    c.send(Method::DELETE, &path, None).await.expect(204);
    expect_error(&c.get(&path).await, 404, None);
    assert!(find_user(&c, &format!("userName eq \"{new_upn}\"")).await.is_empty());
}

/// With `?aadOptscim062020`: lowercase ops, real booleans, no-path replace with dotted and
/// URN keys [MS-compat] B1.4, B1.28.
async fn entra_flag_no_path_replace(app: TestApp) {
    let c = entra(&app).await;
    let r = c
        .send(
            Method::POST,
            &format!("/Users{FLAG}"),
            Some(create_body("flag@testuser.com", "oid-flag")),
        )
        .await;
    let id = expect_resource(&r, 201, "User");
    let path = format!("/Users/{id}{FLAG}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{
                "op": "replace",
                "value": {
                    "displayName": "Flag User",
                    "name.givenName": "Given",
                    "name.familyName": "Family",
                    "emails[type eq \"work\"].value": "flag2@testuser.com",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "0043",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
                    "active": false
                }
            }]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["displayName"], "Flag User");
    assert_eq!(r.body["name"]["givenName"], "Given");
    assert_eq!(r.body["name"]["familyName"], "Family");
    // The formatted name is not recomputed: values are stored as sent.
    assert_eq!(r.body["name"]["formatted"], "givenName familyName");
    assert_eq!(r.body["emails"][0]["value"], "flag2@testuser.com");
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "0043");
    assert_eq!(r.body[ENTERPRISE]["department"], "Sales");
    assert_eq!(r.body["active"], false);
    // No literal dotted keys were stored.
    for k in ["name.givenName", "emails[type eq \"work\"].value"] {
        assert!(r.body.get(k).is_none(), "{k}: {}", r.body);
    }
    // Reactivation with a real boolean, lowercase op [MS-compat] B1.22.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{"op": "replace", "path": "active", "value": true}]))),
        )
        .await;
    assert_eq!(r.body["active"], true);
    // Both the flagged and the plain URL find the user B1.19.
    let (total, _) = c
        .list(&format!(
            "{}&{}",
            c.filtered("/Users", "userName eq \"flag@testuser.com\"", ""),
            &FLAG[1..]
        ))
        .await;
    assert_eq!(total, 1);
}

/// Filtered add/replace on a missing entry creates it (B1.7), with Entra's default attribute
/// paths and their casing (B1.8).
async fn entra_filtered_paths_on_missing_entries(app: TestApp) {
    let c = entra(&app).await;
    let r = c
        .send(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "nomail@testuser.com", "active": true, "externalId": "oid-nomail"})),
        )
        .await;
    let id = expect_resource(&r, 201, "User");
    let path = format!("/Users/{id}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "nomail@testuser.com"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "0123 456"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "1010"},
                {"op": "Add", "path": "emails[type eq \"other\"].Value", "value": "private@example.org"}
            ]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(
        r.body["emails"],
        json!([
            {"type": "work", "value": "nomail@testuser.com"},
            {"type": "other", "value": "private@example.org"}
        ])
    );
    assert_eq!(r.body["phoneNumbers"], json!([{"type": "mobile", "value": "0123 456"}]));
    assert_eq!(r.body["addresses"], json!([{"type": "work", "postalCode": "1010"}]));
    // The next cycle replaces the entry it created: still one work e-mail ("type" is the key).
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "n2@testuser.com"}]),
            )),
        )
        .await;
    let work: Vec<&Value> = r.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "work")
        .collect();
    assert_eq!(work, vec![&json!({"type": "work", "value": "n2@testuser.com"})]);
    // Clearing a filtered value removes it (B1.12) and the work e-mail filter no longer matches.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": ""}]),
            )),
        )
        .await;
    expect_scim(&r, 200);
    assert!(r.body.get("phoneNumbers").is_none(), "{}", r.body);
}

/// `manager` as string (POST), as a one-element array (PATCH Add, [MS-tut] Example 5), as an
/// object, the reference check `id eq … and manager eq …` (Example 4), and removal by empty
/// replace (`SCIM_Update_Manager_Test`, [MS-gallery-val]) B1.9, B1.16.
async fn entra_manager(app: TestApp) {
    let c = entra(&app).await;
    let boss = expect_resource(
        &c.send(
            Method::POST,
            "/Users",
            Some(create_body("boss@testuser.com", "oid-boss")),
        )
        .await,
        201,
        "User",
    );
    let other = expect_resource(
        &c.send(
            Method::POST,
            "/Users",
            Some(create_body("other@testuser.com", "oid-other")),
        )
        .await,
        201,
        "User",
    );
    let mut body = create_body("emp@testuser.com", "oid-emp");
    body[ENTERPRISE]["manager"] = json!(boss);
    let r = c.send(Method::POST, "/Users", Some(body)).await;
    let id = expect_resource(&r, 201, "User");
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], boss.as_str());

    let check = |mid: &str| format!("id eq \"{id}\" and manager eq \"{mid}\"");
    assert_eq!(find_user(&c, &check(&boss)).await.len(), 1);
    assert!(find_user(&c, &check(&other)).await.is_empty());

    let path = format!("/Users/{id}");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": format!("{}/Users/{other}", app.scim), "value": other}]
            }]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], other.as_str());
    assert_eq!(find_user(&c, &check(&other)).await.len(), 1);

    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([{
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": {"value": boss}
            }]))),
        )
        .await;
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], boss.as_str());

    for clear in [json!(""), json!(null)] {
        let r = c
            .send(
                Method::PATCH,
                &path,
                Some(patch(json!([{"op": "Replace", "path": "manager", "value": clear}]))),
            )
            .await;
        expect_resource(&r, 200, "User");
        assert!(r.body[ENTERPRISE].get("manager").is_none(), "{}", r.body);
        // Set it again for the next round.
        c.send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "Add", "path": "manager", "value": [{"value": boss}]}]),
            )),
        )
        .await
        .expect(200);
    }
}

/// `""` and `null` replace clear the attribute (`SCIM_Null_Update_Test`) [MS-gallery-val] B1.12.
async fn entra_null_and_empty_clear(app: TestApp) {
    let c = entra(&app).await;
    let mut body = create_body("clear@testuser.com", "oid-clear");
    body["title"] = json!("Engineer");
    body["nickName"] = json!("Nick");
    let id = expect_resource(&c.send(Method::POST, "/Users", Some(body)).await, 201, "User");
    let r = c
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch(json!([
                {"op": "Replace", "path": "title", "value": ""},
                {"op": "Replace", "path": "nickName", "value": null},
                {"op": "Replace", "path": "name.givenName", "value": ""},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": null}
            ]))),
        )
        .await;
    expect_resource(&r, 200, "User");
    for gone in ["title", "nickName"] {
        assert!(r.body.get(gone).is_none(), "{gone}: {}", r.body);
    }
    assert!(r.body["name"].get("givenName").is_none(), "{}", r.body);
    assert_eq!(r.body["name"]["familyName"], "familyName");
    assert!(r.body.get(ENTERPRISE).is_none(), "{}", r.body);
    let got = c.get(&format!("/Users/{id}")).await;
    assert!(got.body.get("title").is_none());
}

/// Groups: create, get without members, match by displayName, rename, add/remove members in
/// both shapes, reactivation keeps membership, delete [MS-tut] B1.5, B1.6, B1.14, B1.20, B1.22.
async fn entra_groups(app: TestApp) {
    let c = entra(&app).await;
    let mut users = Vec::new();
    for i in 0..3 {
        let r = c
            .send(
                Method::POST,
                "/Users",
                Some(create_body(&format!("m{i}@testuser.com"), &format!("oid-m{i}"))),
            )
            .await;
        users.push(expect_resource(&r, 201, "User"));
    }

    // [MS-tut] "Create Group": the extra ADSCIM schema URN and meta are ignored B1.11.
    let r = c
        .send(
            Method::POST,
            "/Groups",
            Some(json!({
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            })),
        )
        .await;
    let gid = expect_resource(&r, 201, "Group");
    assert_eq!(r.body["displayName"], "displayName");
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");

    // Get group / by displayName, without members [MS-tut] B1.15, B1.20.
    let r = c.get(&format!("/Groups/{gid}?excludedAttributes=members")).await;
    expect_resource(&r, 200, "Group");
    assert!(r.body.get("members").is_none());
    let (total, items) = c
        .list(&c.filtered(
            "/Groups",
            "displayName eq \"displayName\"",
            "&excludedAttributes=members",
        ))
        .await;
    assert_eq!(total, 1);
    assert_eq!(items[0]["id"], gid.as_str());
    assert!(items[0].get("members").is_none());

    let path = format!("/Groups/{gid}");
    // Add members: several per op, several ops, `$ref: null`, re-adding succeeds [MS-tut] B1.6.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(json!([
                {"op": "Add", "path": "members", "value": [{"$ref": null, "value": users[0]}, {"$ref": null, "value": users[1]}]},
                {"op": "Add", "path": "members", "value": [{"$ref": null, "value": users[0]}, {"$ref": null, "value": users[2]}]}
            ]))),
        )
        .await;
    expect_scim(&r, 204);
    assert_eq!(member_ids(&c, &gid).await, sorted(users.clone()));

    // Rename (default shape) without touching members [MS-tut] B1.14.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "Replace", "path": "displayName", "value": "1879db59-updatedDisplayName"}]),
            )),
        )
        .await;
    expect_scim(&r, 204);
    // … and the flag's no-path shape B1.14, B1.28.
    let r = c
        .send(
            Method::PATCH,
            &format!("{path}{FLAG}"),
            Some(patch(json!([{"op": "replace", "value": {"displayName": "Renamed", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}}]))),
        )
        .await;
    expect_scim(&r, 204);
    let g = c.get(&path).await;
    assert_eq!(g.body["displayName"], "Renamed");
    assert_eq!(member_ids(&c, &gid).await, sorted(users.clone()));

    // Deprovisioning a member keeps its membership; reactivation needs no re-add [MS-how] B1.22.
    let upath = format!("/Users/{}", users[2]);
    let r = c
        .send(
            Method::PATCH,
            &upath,
            Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}]))),
        )
        .await;
    assert_eq!(r.body["active"], false);
    assert_eq!(member_ids(&c, &gid).await, sorted(users.clone()));
    let r = c
        .send(
            Method::PATCH,
            &upath,
            Some(patch(json!([{"op": "Replace", "path": "active", "value": "True"}]))),
        )
        .await;
    assert_eq!(r.body["active"], true);
    assert_eq!(member_ids(&c, &gid).await, sorted(users.clone()));
    // Member check filter B1.16.
    let (total, _) = c
        .list(&c.filtered(
            "/Groups",
            &format!("id eq \"{gid}\" and members eq \"{}\"", users[2]),
            "&excludedAttributes=members",
        ))
        .await;
    assert_eq!(total, 1);

    // Remove with a value array (default): only the listed member goes [MS-compat] B1.5.
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(patch(
                json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]}]}]),
            )),
        )
        .await;
    expect_scim(&r, 204);
    assert_eq!(member_ids(&c, &gid).await, sorted(users[1..].to_vec()));
    // Remove with a filter path (flag) B1.5, B1.28.
    let r = c
        .send(
            Method::PATCH,
            &format!("{path}{FLAG}"),
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])}]),
            )),
        )
        .await;
    expect_scim(&r, 204);
    assert_eq!(member_ids(&c, &gid).await, vec![users[2].clone()]);

    // Delete the group [MS-tut].
    c.send(Method::DELETE, &path, None).await.expect(204);
    expect_error(&c.get(&path).await, 404, None);
    // Its former members are untouched.
    expect_resource(&c.get(&upath).await, 200, "User");
}

/// Payload oddities from the [MS-tut] samples: the `…enterprise:2.0User` URN typo B1.11, and a
/// role written through a boolean-filtered path with the boolean quoted and capitalised B1.3.
async fn entra_sample_oddities(app: TestApp) {
    let c = entra(&app).await;
    let r = c
        .send(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
                "userName": "typo@testuser.com",
                "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": "Finance"}
            })),
        )
        .await;
    let id = expect_resource(&r, 201, "User");
    assert_eq!(r.body[ENTERPRISE]["department"], "Finance");
    let r = c
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin"}]),
            )),
        )
        .await;
    expect_resource(&r, 200, "User");
    assert_eq!(r.body["roles"], json!([{"primary": true, "value": "Admin"}]));
    // The next cycle finds the same role through the same path: no second entry.
    let r = c
        .send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Reader"}]),
            )),
        )
        .await;
    assert_eq!(r.body["roles"], json!([{"primary": true, "value": "Reader"}]));
}

on_both_stores!(
    entra_user_lifecycle,
    entra_flag_no_path_replace,
    entra_filtered_paths_on_missing_entries,
    entra_manager,
    entra_null_and_empty_clear,
    entra_groups,
    entra_sample_oddities
);
