//! SCIM Groups end to end: members as set-based changes, the shapes IdPs send.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, patch};
use crate::on_both_stores;
use crate::users::create;

async fn member_ids(app: &TestApp, group_id: &str) -> Vec<String> {
    let r = app.scim(Method::GET, &format!("/Groups/{group_id}"), None).await;
    r.expect(200);
    let mut ids: Vec<String> = r.body["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn group_lifecycle(app: TestApp) {
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(
            create(&app, &format!("m{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let r = app
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Sales",
                "externalId": "g-sales",
                "members": [{"value": users[0]}, {"value": users[1], "display": "ignored"}]
            })),
        )
        .await;
    r.expect(201);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("{}/Groups/{gid}", app.scim).as_str())
    );
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["members"][0]["type"], "User");
    assert!(
        r.body["members"][0]["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{}", r.body["members"][0]["value"].as_str().unwrap()))
    );
    let path = format!("/Groups/{gid}");

    // Entra: add several members at once, re-adding an existing one succeeds (scim-notes B1.6).
    let add = patch(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": users[1]}, {"value": users[2]}]}]),
    );
    app.scim(Method::PATCH, &path, Some(add)).await.expect(204);
    assert_eq!(member_ids(&app, &gid).await, sorted(users[0..3].to_vec()));

    // Entra: remove with a value array removes only those (B1.5); a non-member is fine.
    let remove =
        patch(json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]}, {"value": users[3]}]}]));
    app.scim(Method::PATCH, &path, Some(remove)).await.expect(204);
    assert_eq!(member_ids(&app, &gid).await, sorted(users[1..3].to_vec()));

    // Okta: rename carrying the id, and a mixed remove/add (B2.8); no members are wiped.
    let okta = patch(json!([
        {"op": "replace", "value": {"id": gid, "displayName": "Sales EMEA"}},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])},
        {"op": "add", "path": "members", "value": [{"value": users[3], "display": "m3"}]}
    ]));
    app.scim(Method::PATCH, &path, Some(okta)).await.expect(204);
    let g = app.scim(Method::GET, &path, None).await;
    assert_eq!(g.body["displayName"], "Sales EMEA");
    assert_eq!(
        member_ids(&app, &gid).await,
        sorted(vec![users[2].clone(), users[3].clone()])
    );

    // excludedAttributes=members (Entra B1.20) and filters on groups.
    let lean = app
        .scim(Method::GET, &format!("{path}?excludedAttributes=members"), None)
        .await;
    lean.expect(200);
    assert!(lean.body.get("members").is_none(), "{}", lean.body);
    for (filter, hits) in [
        ("displayName eq \"sales emea\"".to_owned(), 1),
        (format!("members.value eq \"{}\"", users[3]), 1),
        (format!("members.value eq \"{}\"", users[0]), 0),
        (format!("id eq \"{gid}\" and members.value eq \"{}\"", users[2]), 1),
        ("externalId eq \"g-sales\"".to_owned(), 1),
    ] {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/Groups", app.scim),
            &[("filter", filter.as_str()), ("excludedAttributes", "members")],
        )
        .unwrap();
        let r = app.send(Method::GET, url.as_str(), Some(&app.token), None, &[]).await;
        r.expect(200);
        assert_eq!(r.body["totalResults"], hits, "{filter}");
    }

    // Okta pushes an empty group as `replace members []` (B2.8).
    app.scim(
        Method::PATCH,
        &path,
        Some(patch(json!([{"op": "replace", "path": "members", "value": []}]))),
    )
    .await
    .expect(204);
    assert!(member_ids(&app, &gid).await.is_empty());

    // Unknown members are refused and change nothing.
    let bogus = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": users[0]}]},
        {"op": "add", "path": "members", "value": [{"value": uuid::Uuid::now_v7().to_string()}]}
    ]));
    app.scim(Method::PATCH, &path, Some(bogus))
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(member_ids(&app, &gid).await.is_empty());

    // A deleted user leaves the groups it was in.
    app.scim(
        Method::PATCH,
        &path,
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}]),
        )),
    )
    .await
    .expect(204);
    app.scim(Method::DELETE, &format!("/Users/{}", users[0]), None)
        .await
        .expect(204);
    assert!(member_ids(&app, &gid).await.is_empty());

    app.scim(Method::DELETE, &path, None).await.expect(204);
    app.scim(Method::GET, &path, None).await.expect_error(404, None);
}

async fn put_keeps_or_replaces_members(app: TestApp) {
    let u = create(&app, "p@example.com").await["id"].as_str().unwrap().to_owned();
    let g = app
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Ops", "members": [{"value": u}]})),
        )
        .await;
    g.expect(201);
    let path = format!("/Groups/{}", g.body["id"].as_str().unwrap());
    let put = app
        .scim(Method::PUT, &path, Some(json!({"displayName": "Ops 2"})))
        .await;
    put.expect(200);
    assert_eq!(put.body["displayName"], "Ops 2");
    assert_eq!(
        put.body["members"].as_array().unwrap().len(),
        1,
        "a PUT without members keeps them"
    );
    let put = app
        .scim(Method::PUT, &path, Some(json!({"displayName": "Ops 2", "members": []})))
        .await;
    assert_eq!(put.body["members"], json!([]));
}

async fn large_membership_patch(app: TestApp) {
    // 1,500 members in one PATCH: several set-based statements, never a list rewrite.
    let mut ids = Vec::new();
    let mut dir = app.directory().await;
    for i in 0..1500 {
        let spec = dirsync_proto::v1::UserSpec {
            user_name: format!("bulk{i}"),
            active: true,
            document: "{}".into(),
            ..Default::default()
        };
        // The connection's own users: a SCIM read of the group shows a connection only
        // the members it may see.
        let u = dir
            .create_user(dirsync_proto::v1::CreateUserRequest {
                tenant_id: app.tenant_id.clone(),
                user: Some(spec),
                connection_id: Some(app.connection_id.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        ids.push(u.id);
    }
    let g = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": "Everyone"})))
        .await;
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let r = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(json!([{"op": "add", "path": "members", "value": members}]))),
        )
        .await;
    r.expect(204);
    assert_eq!(member_ids(&app, &gid).await.len(), 1500);
}

on_both_stores!(group_lifecycle, put_keeps_or_replaces_members, large_membership_patch);
