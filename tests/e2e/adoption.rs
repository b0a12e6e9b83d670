//! Adoption of native accounts: users created over gRPC without a connection are invisible to
//! SCIM unless the connection allows adoption and their userName or e-mail is in a verified
//! domain of the tenant; then the IdP finds them and its first write takes them over.

use dirsync_proto::v1::{
    self as pb, AddVerifiedDomainRequest, CreateConnectionRequest, CreateUserRequest, GetUserRequest,
    ListSyncLogRequest, ListVerifiedDomainsRequest, RemoveVerifiedDomainRequest, UpdateConnectionRequest, User,
    UserSpec,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Response, Tenant, TestApp};
use crate::on_both_stores;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A native user (no connection), as the product creates it.
async fn native(app: &TestApp, tenant_id: &str, user_name: &str, email: Option<&str>) -> User {
    app.directory()
        .await
        .create_user(CreateUserRequest {
            tenant_id: tenant_id.to_owned(),
            user: Some(UserSpec {
                user_name: user_name.into(),
                active: true,
                email: email.map(str::to_owned),
                display_name: Some("Ann Native".into()),
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn verify(app: &TestApp, tenant_id: &str, domain: &str) {
    app.admin()
        .await
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: tenant_id.into(),
            domain: domain.into(),
        })
        .await
        .unwrap();
}

/// Lets the app's own connection adopt the native users of `domain` (for other suites).
pub async fn enable(app: &TestApp, domain: &str) {
    verify(app, &app.tenant_id, domain).await;
    let t = Tenant {
        id: app.tenant_id.clone(),
        connection_id: app.connection_id.clone(),
        scim: app.scim.clone(),
        token: app.token.clone(),
    };
    allow_adoption(app, &t, true).await;
}

async fn allow_adoption(app: &TestApp, t: &Tenant, allow: bool) {
    let c = app
        .admin()
        .await
        .update_connection(UpdateConnectionRequest {
            tenant_id: t.id.clone(),
            connection_id: t.connection_id.clone(),
            allow_adoption: Some(allow),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.allow_adoption, allow);
}

async fn scim(app: &TestApp, t: &Tenant, method: Method, path: &str, body: Option<Value>) -> Response {
    app.send(method, &format!("{}{path}", t.scim), Some(&t.token), body, &[])
        .await
}

/// The ids a userName filter finds over SCIM.
async fn find(app: &TestApp, t: &Tenant, filter: &str) -> Vec<String> {
    let q = format!("/Users?filter={}", urlencoding(filter));
    let r = scim(app, t, Method::GET, &q, None).await;
    r.expect(200);
    ids(&r.body)
}

fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get_native_view(app: &TestApp, tenant_id: &str, id: &str) -> User {
    app.directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: tenant_id.into(),
            id: id.into(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The tenant's change events of one kind, as JSON data.
async fn events(app: &TestApp, tenant_id: &str, kind: &str) -> Vec<(pb::Change, Value)> {
    let changes = app.changes(tenant_id, 0, 1000).await;
    changes
        .into_iter()
        .filter(|c| c.r#type == kind)
        .map(|c| {
            let data = serde_json::from_str(&c.data).unwrap();
            (c, data)
        })
        .collect()
}

async fn sync_log_summaries(app: &TestApp, tenant_id: &str) -> Vec<String> {
    app.admin()
        .await
        .list_sync_log(ListSyncLogRequest {
            tenant_id: tenant_id.into(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| e.summary)
        .collect()
}

fn post_body(user_name: &str, email: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name, "externalId": "idp-ann",
        "name": {"givenName": "Ann", "familyName": "Idp"},
        "emails": [{"value": email, "type": "work", "primary": true}], "active": true})
}

/// (case, allow_adoption, domains verified here, domains verified in another tenant, reason)
type Hidden = (
    &'static str,
    bool,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

/// Without adoption, or without the user's domain verified in this tenant, a native user is
/// invisible to SCIM: not found by id, by filter or in lists, not writable, and a create with
/// its userName is a 409 that says why. The product still sees it, unchanged.
async fn native_users_are_invisible_unless_adoptable(app: TestApp) {
    let cases: [Hidden; 4] = [
        (
            "no adoption, no domain",
            false,
            &[],
            &[],
            "this connection does not adopt existing accounts (enable allow_adoption)",
        ),
        (
            "domain verified, connection does not adopt",
            false,
            &["acme.com"],
            &[],
            "enable allow_adoption",
        ),
        (
            "adoption, another domain verified",
            true,
            &["other.com"],
            &[],
            "its domain \"acme.com\" is not a verified domain of this tenant",
        ),
        (
            "adoption, the domain verified only in another tenant",
            true,
            &[],
            &["acme.com"],
            "its domain \"acme.com\" is not a verified domain of this tenant",
        ),
    ];
    for (case, allow, here, elsewhere, reason) in cases {
        let t = app.new_tenant(case).await;
        let other = app.new_tenant("other").await;
        for d in here {
            verify(&app, &t.id, d).await;
        }
        for d in elsewhere {
            verify(&app, &other.id, d).await;
        }
        allow_adoption(&app, &t, allow).await;
        let user = native(&app, &t.id, "Ann@Acme.com", Some("ann@acme.com")).await;
        // A native user of the other tenant too, so the condition has something to leak.
        native(&app, &other.id, "ann@acme.com", None).await;
        let path = format!("/Users/{}", user.id);

        scim(&app, &t, Method::GET, &path, None).await.expect_error(404, None);
        assert!(
            find(&app, &t, "userName eq \"ann@acme.com\"").await.is_empty(),
            "{case}"
        );
        assert!(
            find(&app, &t, "emails.value eq \"ann@acme.com\"").await.is_empty(),
            "{case}"
        );
        let list = scim(&app, &t, Method::GET, "/Users", None).await;
        list.expect(200);
        assert_eq!(list.body["totalResults"], 0, "{case}: {}", list.body);
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
        let writes = [
            (Method::PATCH, Some(patch)),
            (Method::PUT, Some(post_body("ann@acme.com", "ann@acme.com"))),
            (Method::DELETE, None),
        ];
        for (method, body) in writes {
            scim(&app, &t, method.clone(), &path, body)
                .await
                .expect_error(404, None);
        }
        let r = scim(
            &app,
            &t,
            Method::POST,
            "/Users",
            Some(post_body("ANN@acme.com", "x@acme.com")),
        )
        .await;
        r.expect_error(409, Some("uniqueness"));
        let detail = r.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("userName \"Ann@Acme.com\" belongs to an account created outside SCIM"),
            "{case}: {detail}"
        );
        assert!(detail.contains(reason), "{case}: {detail}");

        // The product sees it, unchanged; nothing was adopted.
        let after = get_native_view(&app, &t.id, &user.id).await;
        assert_eq!(
            (after.source.as_str(), after.version, after.active),
            ("native", 1, true),
            "{case}"
        );
        assert!(events(&app, &t.id, "user.adopted").await.is_empty(), "{case}");
    }
}

/// (case, native userName, native e-mail, IdP filter, write, matched on, status)
type Takeover = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Method,
    Value,
    &'static str,
    u16,
);

/// With a verified domain and adoption on, the IdP's filter finds the native user whatever
/// the case, and its first write (PATCH, PUT, or a colliding POST) takes it over: source scim,
/// the connection set, one user.adopted change and a sync-log line, the same id.
async fn adoptable_users_are_found_and_taken_over(app: TestApp) {
    let patch = json!({"schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Ann From IdP"}]});
    // A PATCH that changes nothing still adopts.
    let noop = json!({"schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Ann Native"}]});
    let cases: Vec<Takeover> = vec![
        (
            "PATCH",
            "Ann@Acme.com",
            None,
            "userName eq \"ann@ACME.com\"",
            Method::PATCH,
            patch,
            "userName",
            200,
        ),
        (
            "PATCH changing nothing",
            "ann@acme.com",
            None,
            "userName eq \"ANN@acme.com\"",
            Method::PATCH,
            noop,
            "userName",
            200,
        ),
        (
            "PUT",
            "ann@acme.com",
            None,
            "userName eq \"Ann@Acme.COM\"",
            Method::PUT,
            post_body("ann@acme.com", "ann@acme.com"),
            "userName",
            200,
        ),
        (
            "POST colliding on userName",
            "Ann@Acme.com",
            None,
            "userName eq \"ann@acme.com\"",
            Method::POST,
            post_body("ann@acme.com", "ann@acme.com"),
            "userName",
            201,
        ),
        (
            "POST matching by e-mail, userName differs",
            "ann",
            Some("Ann@Acme.com"),
            "emails.value eq \"ann@acme.com\"",
            Method::POST,
            post_body("ann@acme.com", "ann@acme.com"),
            "email",
            201,
        ),
    ];
    for (case, user_name, email, filter, method, body, on, status) in cases {
        let t = app.new_tenant(case).await;
        verify(&app, &t.id, "Acme.COM").await;
        allow_adoption(&app, &t, true).await;
        let user = native(&app, &t.id, user_name, email).await;
        assert_eq!(find(&app, &t, filter).await, vec![user.id.clone()], "{case}");
        scim(&app, &t, Method::GET, &format!("/Users/{}", user.id), None)
            .await
            .expect(200);

        let path = if method == Method::POST {
            "/Users".to_owned()
        } else {
            format!("/Users/{}", user.id)
        };
        let r = scim(&app, &t, method, &path, Some(body)).await;
        r.expect(status);
        assert_eq!(r.body["id"], user.id.as_str(), "{case}: the user keeps its id");

        let after = get_native_view(&app, &t.id, &user.id).await;
        assert_eq!(after.source, "scim", "{case}");
        assert_eq!(after.connection_id.as_deref(), Some(t.connection_id.as_str()), "{case}");
        if status == 201 {
            assert_eq!(
                after.user_name, "ann@acme.com",
                "{case}: the POSTed state replaces the native one"
            );
            assert_eq!(after.external_id.as_deref(), Some("idp-ann"), "{case}");
        }
        let adopted = events(&app, &t.id, "user.adopted").await;
        assert_eq!(adopted.len(), 1, "{case}");
        let (change, data) = &adopted[0];
        assert_eq!(change.event_uri, "urn:dirsync:event:user:adopted", "{case}");
        assert_eq!(change.resource_id, user.id, "{case}");
        assert_eq!(
            change.connection_id.as_deref(),
            Some(t.connection_id.as_str()),
            "{case}"
        );
        assert_eq!(data["userId"], user.id.as_str(), "{case}");
        assert_eq!(data["userName"], after.user_name.as_str(), "{case}");
        assert_eq!(data["matchedOn"], on, "{case}");
        assert_eq!(data["domain"], "acme.com", "{case}");
        let log = sync_log_summaries(&app, &t.id).await;
        assert!(
            log.iter()
                .any(|s| s.contains("adopted user") && s.contains("verified domain acme.com")),
            "{case}: {log:?}"
        );

        // Later writes are ordinary SCIM writes: no second adoption.
        let again = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
        scim(&app, &t, Method::PATCH, &format!("/Users/{}", user.id), Some(again))
            .await
            .expect(200);
        assert_eq!(events(&app, &t.id, "user.adopted").await.len(), 1, "{case}");
    }
}

/// Adoption is per connection: another connection of the tenant without it does not see the
/// native user, until the first one has taken it over (then it is a SCIM user like any other).
async fn adoption_is_per_connection(app: TestApp) {
    let t = app.new_tenant("two idps").await;
    verify(&app, &t.id, "acme.com").await;
    allow_adoption(&app, &t, true).await;
    let second = app
        .admin()
        .await
        .create_connection(CreateConnectionRequest {
            tenant_id: t.id.clone(),
            name: "second".into(),
            idp_profile: "okta".into(),
            allow_adoption: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!second.connection.as_ref().unwrap().allow_adoption);
    let b = Tenant {
        connection_id: second.connection.unwrap().id,
        token: second.token,
        ..t.clone()
    };
    let user = native(&app, &t.id, "ann@acme.com", None).await;
    let filter = "userName eq \"ann@acme.com\"";
    assert!(find(&app, &b, filter).await.is_empty());
    scim(&app, &b, Method::GET, &format!("/Users/{}", user.id), None)
        .await
        .expect_error(404, None);
    // The Directory API answers the same for that connection, and for one of another tenant.
    let other = app.new_tenant("other").await;
    for (connection, what) in [
        (&b.connection_id, "second connection"),
        (&other.connection_id, "other tenant"),
    ] {
        let e = app
            .directory()
            .await
            .get_user(GetUserRequest {
                tenant_id: t.id.clone(),
                id: user.id.clone(),
                connection_id: Some(connection.clone()),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{what}");
    }
    assert_eq!(find(&app, &t, filter).await, vec![user.id.clone()]);
    let patch =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ann"}]});
    scim(&app, &t, Method::PATCH, &format!("/Users/{}", user.id), Some(patch))
        .await
        .expect(200);
    assert_eq!(find(&app, &b, filter).await, vec![user.id.clone()]);
}

/// The verified-domain RPCs: validation, normalisation, uniqueness, tenant isolation.
async fn domain_rpcs_validate_and_stay_in_their_tenant(app: TestApp) {
    let mut admin = app.admin().await;
    let other = app.new_tenant("other").await;
    let bad = [
        "",
        "*.acme.com",
        "ann@acme.com",
        "localhost",
        "acme..com",
        "acme .com",
        "-acme.com",
    ];
    for d in bad {
        let e = admin
            .add_verified_domain(AddVerifiedDomainRequest {
                tenant_id: app.tenant_id.clone(),
                domain: d.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{d:?}: {e:?}");
        assert!(e.message().contains("is not valid"), "{d:?}: {}", e.message());
    }
    let added = admin
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: app.tenant_id.clone(),
            domain: " Acme.COM ".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.domain, "acme.com");
    let dup = admin
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: app.tenant_id.clone(),
            domain: "ACME.com".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists, "{dup:?}");
    // The same domain in another tenant is that tenant's business.
    admin
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: other.id.clone(),
            domain: "acme.com".into(),
        })
        .await
        .unwrap();
    let list = |tenant_id: String| {
        let mut admin = admin.clone();
        async move {
            admin
                .list_verified_domains(ListVerifiedDomainsRequest { tenant_id })
                .await
                .map(|r| r.into_inner().domains.into_iter().map(|d| d.domain).collect::<Vec<_>>())
        }
    };
    assert_eq!(list(app.tenant_id.clone()).await.unwrap(), vec!["acme.com"]);
    let missing = uuid::Uuid::now_v7().to_string();
    assert_eq!(list(missing.clone()).await.unwrap_err().code(), Code::NotFound);
    let remove = |tenant_id: &str, domain: &str| {
        let mut admin = admin.clone();
        let req = RemoveVerifiedDomainRequest {
            tenant_id: tenant_id.into(),
            domain: domain.into(),
        };
        async move { admin.remove_verified_domain(req).await.map(|_| ()) }
    };
    remove(&other.id, "acme.com").await.unwrap();
    assert!(list(other.id.clone()).await.unwrap().is_empty());
    assert_eq!(
        list(app.tenant_id.clone()).await.unwrap(),
        vec!["acme.com"],
        "other tenant untouched"
    );
    let e = remove(&other.id, "acme.com").await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    remove(&app.tenant_id, "ACME.com").await.unwrap();
    assert!(list(app.tenant_id.clone()).await.unwrap().is_empty());
    let e = admin
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: missing,
            domain: "acme.com".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
}

on_both_stores!(
    native_users_are_invisible_unless_adoptable,
    adoptable_users_are_found_and_taken_over,
    adoption_is_per_connection,
    domain_rpcs_validate_and_stay_in_their_tenant,
);
