//! Authentication and tenant isolation on every SCIM route.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::users::create;

/// Every SCIM route, with `{u}` / `{g}` standing for a user / group id.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/Users"),
    ("POST", "/Users"),
    ("POST", "/Users/.search"),
    ("GET", "/Users/{u}"),
    ("PUT", "/Users/{u}"),
    ("PATCH", "/Users/{u}"),
    ("DELETE", "/Users/{u}"),
    ("GET", "/Groups"),
    ("POST", "/Groups"),
    ("POST", "/Groups/.search"),
    ("GET", "/Groups/{g}"),
    ("PUT", "/Groups/{g}"),
    ("PATCH", "/Groups/{g}"),
    ("DELETE", "/Groups/{g}"),
    ("POST", "/.search"),
    ("GET", "/ServiceProviderConfig"),
    ("GET", "/ResourceTypes"),
    ("GET", "/Schemas"),
];

fn body_for(method: &str, path: &str) -> Option<serde_json::Value> {
    match (method, path) {
        ("POST", p) if p.ends_with(".search") => Some(json!({"filter": "userName pr"})),
        ("POST", "/Users") | ("PUT", "/Users/{u}") => Some(json!({"userName": "intruder@example.com"})),
        ("POST", "/Groups") | ("PUT", "/Groups/{g}") => Some(json!({"displayName": "Intruders"})),
        ("PATCH", _) => Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}]})),
        _ => None,
    }
}

async fn unauthenticated_requests_get_scim_401(app: TestApp) {
    let basic_wrong_tenant =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", uuid::Uuid::now_v7(), app.token));
    let bad_headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer dsy_wrong".into()),
        Some("Bearer ".into()),
        Some("Basic not-base64!".into()),
        Some(format!("Basic {basic_wrong_tenant}")),
        Some("Token abc".into()),
    ];
    for (method, template) in ROUTES {
        let path = template
            .replace("{u}", &uuid::Uuid::now_v7().to_string())
            .replace("{g}", &uuid::Uuid::now_v7().to_string());
        for h in &bad_headers {
            let mut headers = vec![];
            if let Some(h) = h {
                headers.push(("authorization", h.as_str()));
            }
            let r = app
                .send(
                    method.parse().unwrap(),
                    &format!("{}{path}", app.scim),
                    None,
                    body_for(method, template),
                    &headers,
                )
                .await;
            r.expect_error(401, None);
            assert!(r.header("www-authenticate").is_some());
        }
    }
    // Basic <tenant id>:<secret> works (Okta, docs/idp/notes.md B2.13).
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.tenant_id, app.token));
    let auth = format!("Basic {basic}");
    app.send(
        Method::GET,
        &format!("{}/Users", app.scim),
        None,
        None,
        &[("authorization", &auth)],
    )
    .await
    .expect(200);
}

async fn tenants_never_see_each_other(app: TestApp) {
    let other = app.new_tenant("globex").await;
    let victim_user = create(&app, "victim@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let victim_group = app
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Victims", "members": [{"value": victim_user}]})),
        )
        .await;
    let victim_group = victim_group.body["id"].as_str().unwrap().to_owned();
    let before_user = app.scim(Method::GET, &format!("/Users/{victim_user}"), None).await.body;
    let before_group = app
        .scim(Method::GET, &format!("/Groups/{victim_group}"), None)
        .await
        .body;

    for (method, template) in ROUTES {
        let path = template.replace("{u}", &victim_user).replace("{g}", &victim_group);
        let body = body_for(method, template);
        // The other tenant's token on this tenant's URL: 401, whatever the route.
        let r = app
            .send(
                method.parse().unwrap(),
                &format!("{}{path}", app.scim),
                Some(&other.token),
                body.clone(),
                &[],
            )
            .await;
        r.expect_error(401, None);
        // Its own URL, this tenant's ids: nothing found, nothing changed.
        let r = app
            .send(
                method.parse().unwrap(),
                &format!("{}{path}", other.scim),
                Some(&other.token),
                body,
                &[],
            )
            .await;
        if path.contains(&victim_user) || path.contains(&victim_group) {
            r.expect_error(404, None);
        } else if *method == "GET" || path.ends_with(".search") {
            let text = r.body.to_string();
            assert!(
                !text.contains(&victim_user) && !text.contains(&victim_group) && !text.contains("victim@"),
                "{path}: {text}"
            );
        }
    }
    assert_eq!(
        app.scim(Method::GET, &format!("/Users/{victim_user}"), None).await.body,
        before_user
    );
    assert_eq!(
        app.scim(Method::GET, &format!("/Groups/{victim_group}"), None)
            .await
            .body,
        before_group
    );
    // A member id of another tenant cannot be added to a group.
    let theirs = app
        .send(
            Method::POST,
            &format!("{}/Groups", other.scim),
            Some(&other.token),
            Some(json!({"displayName": "G", "members": [{"value": victim_user}]})),
            &[],
        )
        .await;
    theirs.expect_error(400, Some("invalidValue"));
}

async fn rotated_and_revoked_tokens_stop_working(app: TestApp) {
    use dirsync_proto::v1::{RevokeTokensRequest, RotateTokenRequest};
    let mut admin = app.admin().await;
    app.scim(Method::GET, "/Users", None).await.expect(200);
    let rotated = admin
        .rotate_token(RotateTokenRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
            grace_seconds: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let new_token = rotated.token;
    assert_ne!(new_token, app.token);
    let users = format!("{}/Users", app.scim);
    app.send(Method::GET, &users, Some(&new_token), None, &[])
        .await
        .expect(200);
    refused_at_once(&app, &users, &app.token).await;
    admin
        .revoke_tokens(RevokeTokensRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
        })
        .await
        .unwrap();
    refused_at_once(&app, &users, &new_token).await;
}

/// A dead token fails at once on an edge that caches no token check (the harness's); an edge
/// with the default time to live refuses it within the 5 s revocation deadline.
async fn refused_at_once(app: &TestApp, url: &str, token: &str) {
    assert!(dirsync_edge::auth::DEFAULT_CACHE_TTL <= Duration::from_secs(5));
    app.send(Method::GET, url, Some(token), None, &[])
        .await
        .expect_error(401, None);
}

/// An edge reuses a successful token check for its `auth_cache_ttl`: with ten minutes a
/// revoked token still works there (its check is cached), with zero it fails at once.
async fn token_checks_are_reused_for_their_time_to_live(app: TestApp) {
    use dirsync_proto::v1::RevokeTokensRequest;
    for (ttl, after_revoking) in [(Duration::ZERO, 401), (Duration::from_secs(600), 200)] {
        let root = app
            .edge_with(dirsync_edge::EdgeConfig {
                auth_cache_ttl: ttl,
                ..Default::default()
            })
            .await;
        let tenant = app.new_tenant("cached").await;
        let users = format!("{root}/scim/v2/{}/Users", tenant.id);
        app.send(Method::GET, &users, Some(&tenant.token), None, &[])
            .await
            .expect(200);
        app.admin()
            .await
            .revoke_tokens(RevokeTokensRequest {
                tenant_id: tenant.id.clone(),
                connection_id: tenant.connection_id.clone(),
            })
            .await
            .unwrap();
        let r = app.send(Method::GET, &users, Some(&tenant.token), None, &[]).await;
        assert_eq!(r.status.as_u16(), after_revoking, "time to live {ttl:?}: {}", r.body);
    }
}

on_both_stores!(
    unauthenticated_requests_get_scim_401,
    tenants_never_see_each_other,
    rotated_and_revoked_tokens_stop_working,
    token_checks_are_reused_for_their_time_to_live
);
