//! SCIM Users end to end: create, read, list and filter, replace, patch, delete, versions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::on_both_stores;

pub fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": format!("Display {user_name}"),
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    })
}

pub async fn create(app: &TestApp, user_name: &str) -> Value {
    let r = app.scim(Method::POST, "/Users", Some(user(user_name))).await;
    r.expect(201);
    r.body.clone()
}

async fn create_read_delete(app: TestApp) {
    let r = app
        .scim(Method::POST, "/Users", Some(user("bjensen@example.com")))
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.header("location"), Some(format!("{}/Users/{id}", app.scim).as_str()));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body["meta"]["location"], format!("{}/Users/{id}", app.scim));
    assert!(r.body["meta"]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.body["userName"], "bjensen@example.com");
    assert_eq!(r.body["name"]["givenName"], "Barbara");
    assert_eq!(r.body["emails"][0]["type"], "work");
    // UUIDv7 ids.
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

    let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    got.expect(200);
    assert_eq!(got.body, r.body);

    app.scim(Method::DELETE, &format!("/Users/{id}"), None)
        .await
        .expect(204);
    app.scim(Method::GET, &format!("/Users/{id}"), None)
        .await
        .expect_error(404, None);
    app.scim(Method::DELETE, &format!("/Users/{id}"), None)
        .await
        .expect_error(404, None);
    app.scim(Method::GET, "/Users/not-a-uuid", None)
        .await
        .expect_error(404, None);
}

async fn user_name_is_unique_case_insensitively(app: TestApp) {
    create(&app, "alice@example.com").await;
    let r = app.scim(Method::POST, "/Users", Some(user("ALICE@Example.com"))).await;
    r.expect_error(409, Some("uniqueness"));
    assert!(r.body["detail"].as_str().unwrap().contains("ALICE@Example.com"));
    let list = app.scim(Method::GET, "/Users", None).await;
    assert_eq!(list.body["totalResults"], 1, "the rejected create changed nothing");
}

async fn bad_input_is_rejected_and_changes_nothing(app: TestApp) {
    let cases = [
        (
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
            "invalidValue",
        ),
        (json!({"userName": ""}), "invalidValue"),
        (json!({"userName": "x", "active": "maybe"}), "invalidValue"),
        (json!({"userName": "x", "emails": "not-an-array"}), "invalidValue"),
    ];
    for (body, scim_type) in cases {
        app.scim(Method::POST, "/Users", Some(body.clone()))
            .await
            .expect_error(400, Some(scim_type));
    }
    let raw = app
        .send(
            Method::POST,
            &format!("{}/Users", app.scim),
            Some(&app.token),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    raw.expect_error(400, Some("invalidSyntax"));
    let list = app.scim(Method::GET, "/Users", None).await;
    assert_eq!(list.body["totalResults"], 0);
}

async fn filters_and_paging(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(&app, &format!("user{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let cases: Vec<(String, Vec<usize>)> = vec![
        ("userName eq \"USER1@example.com\"".into(), vec![1]),
        ("externalId eq \"ext-user2@example.com\"".into(), vec![2]),
        ("externalId eq \"EXT-user2@example.com\"".into(), vec![]),
        (format!("id eq \"{}\"", ids[3]), vec![3]),
        ("displayName eq \"display user4@example.com\"".into(), vec![4]),
        ("userName eq \"nobody\"".into(), vec![]),
        (format!("id eq \"{}\"", uuid::Uuid::new_v4()), vec![]),
        ("userName sw \"user1\" or userName sw \"user3\"".into(), vec![1, 3]),
        ("emails[type eq \"work\" and value co \"user0\"]".into(), vec![0]),
        ("emails.value eq \"user2@example.com\"".into(), vec![2]),
        (
            "name.givenName eq \"barbara\" and not (userName eq \"user0@example.com\")".into(),
            vec![1, 2, 3, 4],
        ),
        ("active eq true".into(), vec![0, 1, 2, 3, 4]),
        ("title pr".into(), vec![]),
        (
            "meta.lastModified gt \"2000-01-01T00:00:00Z\"".into(),
            vec![0, 1, 2, 3, 4],
        ),
    ];
    for (filter, want) in cases {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/Users", app.scim), &[("filter", filter.as_str())]).unwrap();
        let r = app.send(Method::GET, url.as_str(), Some(&app.token), None, &[]).await;
        r.expect(200);
        let mut got: Vec<String> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        got.sort();
        let mut want: Vec<String> = want.iter().map(|i| ids[*i].clone()).collect();
        want.sort();
        assert_eq!(got, want, "filter {filter}");
        assert_eq!(r.body["totalResults"], want.len(), "filter {filter}");
    }

    // RFC 7644 §3.4.2.4: 1-based pages, a stable order, integers in the response.
    let p1 = app.scim(Method::GET, "/Users?startIndex=1&count=2", None).await;
    let p2 = app.scim(Method::GET, "/Users?startIndex=3&count=2", None).await;
    let p3 = app.scim(Method::GET, "/Users?startIndex=5&count=2", None).await;
    assert_eq!(
        (
            p1.body["totalResults"].as_u64(),
            p1.body["itemsPerPage"].as_u64(),
            p1.body["startIndex"].as_u64()
        ),
        (Some(5), Some(2), Some(1))
    );
    let all: Vec<String> = [p1.body, p2.body, p3.body]
        .iter()
        .flat_map(|b| b["Resources"].as_array().unwrap().clone())
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all, ids, "pages cover every user once, in creation order");
    let only_total = app.scim(Method::GET, "/Users?count=0", None).await;
    assert_eq!(only_total.body["totalResults"], 5);
    assert_eq!(only_total.body["Resources"], json!([]));
    let sorted = app
        .scim(Method::GET, "/Users?sortBy=userName&sortOrder=descending&count=2", None)
        .await;
    assert_eq!(sorted.body["Resources"][0]["userName"], "user4@example.com");

    let bad = app
        .scim(Method::GET, "/Users?filter=userName%20eqq%20%22x%22", None)
        .await;
    bad.expect_error(400, Some("invalidFilter"));
    assert!(
        bad.body["detail"].as_str().unwrap().contains("position"),
        "{}",
        bad.body
    );
}

async fn replace_and_patch(app: TestApp) {
    let created = create(&app, "carol@example.com").await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/Users/{id}");

    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "add", "path": "nickName", "value": "Caz"}
        ]
    });
    let r = app.scim(Method::PATCH, &path, Some(deactivate)).await;
    r.expect(200);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["nickName"], "Caz");

    // PUT replaces; read-only attributes in the body are ignored; a body without `active`
    // leaves the user inactive (Okta sends PUT for everything, docs/idp/notes.md B2.4).
    let mut body = user("carol@example.com");
    body["id"] = json!("ignored");
    body["meta"] = json!({"resourceType": "User"});
    body["title"] = json!("Engineer");
    body.as_object_mut().unwrap().remove("active");
    let put = app.scim(Method::PUT, &path, Some(body)).await;
    put.expect(200);
    assert_eq!(put.body["id"], id);
    assert_eq!(put.body["title"], "Engineer");
    assert!(put.body.get("nickName").is_none(), "PUT replaces: {}", put.body);
    assert_eq!(put.body["active"], false);
    assert_eq!(put.header("etag"), Some("W/\"3\""));

    // Removing `active` from an active user reads back without it and keeps it active.
    let reactivate = json!({"Operations": [{"op": "replace", "path": "active", "value": true}]});
    app.scim(Method::PATCH, &path, Some(reactivate)).await.expect(200);
    let removed = app
        .scim(
            Method::PATCH,
            &path,
            Some(json!({"Operations": [{"op": "remove", "path": "active"}]})),
        )
        .await;
    removed.expect(200);
    assert!(removed.body.get("active").is_none(), "{}", removed.body);
    let active = app.scim(Method::GET, "/Users?filter=active%20eq%20true", None).await;
    assert_eq!(active.body["totalResults"], 1);

    // Deactivated users stay visible to filters (docs/idp/notes.md B1.19).
    let url = reqwest::Url::parse_with_params(
        &format!("{}/Users", app.scim),
        &[("filter", "userName eq \"carol@example.com\"")],
    )
    .unwrap();
    let found = app.send(Method::GET, url.as_str(), Some(&app.token), None, &[]).await;
    assert_eq!(found.body["totalResults"], 1);

    // A failing operation applies nothing.
    let bad = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "remove"}
        ]
    });
    app.scim(Method::PATCH, &path, Some(bad)).await.expect(400);
    let after = app.scim(Method::GET, &path, None).await;
    assert_eq!(after.body["displayName"], created["displayName"]);
}

async fn versions_and_preconditions(app: TestApp) {
    let created = create(&app, "dave@example.com").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let url = format!("{}{path}", app.scim);
    let not_modified = app
        .send(
            Method::GET,
            &url,
            Some(&app.token),
            None,
            &[("if-none-match", "W/\"1\"")],
        )
        .await;
    not_modified.expect(304);
    let patch = json!({"Operations": [{"op": "replace", "path": "title", "value": "CTO"}]});
    let stale = app
        .send(
            Method::PATCH,
            &url,
            Some(&app.token),
            Some(patch.clone()),
            &[("if-match", "W/\"7\"")],
        )
        .await;
    stale.expect_error(412, None);
    let ok = app
        .send(
            Method::PATCH,
            &url,
            Some(&app.token),
            Some(patch),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    ok.expect(200);
    assert_eq!(ok.header("etag"), Some("W/\"2\""));
    app.send(Method::DELETE, &url, Some(&app.token), None, &[("if-match", "W/\"1\"")])
        .await
        .expect_error(412, None);
    app.send(Method::DELETE, &url, Some(&app.token), None, &[("if-match", "W/\"2\"")])
        .await
        .expect(204);
}

async fn concurrent_patches_lose_no_update(app: TestApp) {
    let created = create(&app, "erin@example.com").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let n = 12;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let patch = json!({"Operations": [{"op": "add", "path": "phoneNumbers", "value": [{"value": format!("+1-555-{i:04}"), "type": format!("t{i}")}]}]});
            app.scim(Method::PATCH, &path, Some(patch))
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        r.expect(200);
    }
    let after = app.scim(Method::GET, &path, None).await;
    assert_eq!(
        after.body["phoneNumbers"].as_array().unwrap().len(),
        n,
        "{}",
        after.body
    );
    assert_eq!(after.body["meta"]["version"], format!("W/\"{}\"", n + 1));
}

on_both_stores!(
    create_read_delete,
    user_name_is_unique_case_insensitively,
    bad_input_is_rejected_and_changes_nothing,
    filters_and_paging,
    replace_and_patch,
    versions_and_preconditions,
    concurrent_patches_lose_no_update,
);
