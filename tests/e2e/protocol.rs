//! Discovery, media types and the SCIM error schema on every failure path.

use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::on_both_stores;

async fn discovery_tells_the_truth(app: TestApp) {
    let spc = app.scim(Method::GET, "/ServiceProviderConfig", None).await;
    spc.expect(200);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1_048_576);
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["sort"]["supported"], true);
    assert_eq!(spc.body["filter"]["supported"], true);
    assert_eq!(spc.body["filter"]["maxResults"], 1000);
    let types = app.scim(Method::GET, "/ResourceTypes", None).await;
    types.expect(200);
    assert_eq!(types.body["totalResults"], 2);
    let schemas = app.scim(Method::GET, "/Schemas", None).await;
    schemas.expect(200);
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for want in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ] {
        assert!(ids.contains(&want), "{ids:?}");
        app.scim(Method::GET, &format!("/Schemas/{want}"), None)
            .await
            .expect(200);
    }
    app.scim(Method::GET, "/ResourceTypes/User", None).await.expect(200);
    app.scim(Method::GET, "/Schemas/urn:nope", None)
        .await
        .expect_error(404, None);
}

async fn every_error_is_a_scim_error(app: TestApp) {
    let url = |p: &str| format!("{}{p}", app.scim);
    let t = Some(app.token.as_str());
    app.send(Method::GET, &url("/Me"), t, None, &[])
        .await
        .expect_error(501, None);
    app.send(Method::POST, &url("/Bulk"), t, Some(json!({})), &[])
        .await
        .expect_error(400, Some("invalidSyntax"));
    app.send(Method::GET, &url("/Nope"), t, None, &[])
        .await
        .expect_error(404, None);
    app.send(Method::GET, &format!("{}/nowhere", app.root), t, None, &[])
        .await
        .expect_error(404, None);
    app.send(Method::DELETE, &url("/Users"), t, None, &[])
        .await
        .expect_error(405, None);
    let xml = app
        .http
        .post(url("/Users"))
        .bearer_auth(&app.token)
        .header("content-type", "application/xml")
        .body("<user/>")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 415);
    assert_eq!(xml.headers()["content-type"], "application/scim+json");
    app.send(Method::GET, &url("/Users"), t, None, &[("accept", "text/html")])
        .await
        .expect_error(406, None);
    let big = json!({"userName": "x", "title": "a".repeat(2 << 20)});
    let refused = app.send(Method::POST, &url("/Users"), t, Some(big), &[]).await;
    refused.expect_error(413, Some("tooLarge"));
    // The rest of the body is never read, so the connection is not offered for reuse: a
    // client that pooled it would see its next request fail.
    assert_eq!(refused.header("connection"), Some("close"), "{:?}", refused.headers);
    // Both JSON media types, with parameters, and a missing Accept (docs/idp/notes.md B7).
    for ct in ["application/json", "application/scim+json; charset=utf-8"] {
        let r = app
            .http
            .post(url("/Users"))
            .bearer_auth(&app.token)
            .header("content-type", ct)
            .header("accept", "application/scim+json; charset=utf-8")
            .body(json!({"userName": format!("ct-{}", ct.len())}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["content-type"], "application/scim+json");
    }
}

async fn bulk_resolves_references_and_honours_fail_on_errors(app: TestApp) {
    // The group refers to a user created later in the same request (RFC 7644 §3.7.1).
    let req = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk", "members": [{"value": "bulkId:u1"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "bulk1@example.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "BULK1@example.com"}},
            {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": {"displayName": "X", "members": [{"value": "bulkId:nowhere"}]}}
        ]
    });
    let r = app.scim(Method::POST, "/Bulk", Some(req)).await;
    r.expect(200);
    let ops = r.body["Operations"].as_array().unwrap();
    let status = |bulk_id: &str| {
        ops.iter()
            .find(|o| o["bulkId"] == bulk_id)
            .map(|o| o["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("u1").as_deref(), Some("201"), "{}", r.body);
    assert_eq!(status("g1").as_deref(), Some("201"), "{}", r.body);
    assert_eq!(status("dup").as_deref(), Some("409"), "{}", r.body);
    assert_eq!(status("g2").as_deref(), Some("409"), "{}", r.body);
    let g1 = ops.iter().find(|o| o["bulkId"] == "g1").unwrap();
    let group = app
        .send(
            Method::GET,
            g1["location"].as_str().unwrap(),
            Some(&app.token),
            None,
            &[],
        )
        .await;
    assert_eq!(group.body["members"][0]["display"], "bulk1@example.com");
    let u = app
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22bulk1@example.com%22",
            None,
        )
        .await;
    assert_eq!(u.body["Resources"][0]["title"], "Boss");

    // failOnErrors=1 stops at the first failure.
    let req = json!({
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "bulk1@example.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "never@example.com"}}
        ]
    });
    let r = app.scim(Method::POST, "/Bulk", Some(req)).await;
    assert_eq!(r.body["Operations"].as_array().unwrap().len(), 1, "{}", r.body);
    let never = app
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22never@example.com%22",
            None,
        )
        .await;
    assert_eq!(never.body["totalResults"], 0);

    let too_many: Vec<_> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    app.scim(Method::POST, "/Bulk", Some(json!({"Operations": too_many})))
        .await
        .expect_error(413, Some("tooLarge"));
}

/// The requests of Microsoft's SCIM reference Postman collection: `/users` in lower case,
/// `/Users/?filter=...` with a trailing slash, the old `/serviceConfiguration` path.
async fn resource_paths_in_any_case_with_a_trailing_slash(app: TestApp) {
    let created = app
        .scim(Method::POST, "/users", Some(crate::users::user("Postman@example.com")))
        .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    assert!(
        created.header("location").unwrap().ends_with(&format!("/Users/{id}")),
        "{:?}",
        created.header("location")
    );
    for (method, path, body, status) in [
        (
            Method::GET,
            "/Users/?filter=userName%20eq%20%22postman@example.com%22".to_owned(),
            None,
            200,
        ),
        (Method::GET, format!("/USERS/{id}/"), None, 200),
        (Method::GET, "/serviceConfiguration".to_owned(), None, 200),
        (Method::GET, "/ServiceProviderConfig/".to_owned(), None, 200),
        (Method::GET, "/schemas/".to_owned(), None, 200),
        (Method::GET, "/resourcetypes".to_owned(), None, 200),
        (
            Method::POST,
            "/groups/".to_owned(),
            Some(json!({"displayName": "Postman"})),
            201,
        ),
        (
            Method::POST,
            "/users/.search".to_owned(),
            Some(json!({"filter": "userName eq \"postman@example.com\""})),
            200,
        ),
        (
            Method::PATCH,
            format!("/users/{id}"),
            Some(crate::harness::patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
            200,
        ),
    ] {
        let r = app.scim(method.clone(), &path, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {:?}", r.body);
    }
    let found = app
        .scim(
            Method::GET,
            "/Users/?filter=userName%20eq%20%22postman@example.com%22",
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["active"], false);
    // Unknown endpoints stay 404.
    app.scim(Method::GET, "/Devices/", None).await.expect_error(404, None);
}

on_both_stores!(
    discovery_tells_the_truth,
    every_error_is_a_scim_error,
    bulk_resolves_references_and_honours_fail_on_errors,
    resource_paths_in_any_case_with_a_trailing_slash
);
