//! The primary e-mail: the address flagged primary, else the first `work` address, else the
//! first. One rule for every reader: `User.email` over gRPC, lookups by e-mail, sorting by
//! e-mail, invites and the adoption of native accounts.

use dirsync_core::clock::{Clock, SharedClock};
use dirsync_core::jobs::send_due_invites;
use dirsync_proto::v1::tenant_settings_client::TenantSettingsClient;
use dirsync_proto::v1::{
    AddVerifiedDomainRequest, CreateUserRequest, GetUserByRequest, GetUserRequest, UpdateConnectionRequest,
    UpdateTenantSettingsRequest, UserSpec, get_user_by_request,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, change_data, patch};
use crate::on_both_stores;

/// A user as Google Workspace or JumpCloud may send it: the home address first, no flag.
fn home_first(user_name: &str, home: &str, work: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{"value": home, "type": "home"}, {"value": work, "type": "work"}],
        "active": true
    })
}

async fn email_of(app: &TestApp, id: &str) -> Option<String> {
    app.directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.into(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .email
}

#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

async fn the_first_work_address_is_primary_everywhere(app: TestApp) {
    TenantSettingsClient::new(app.channel().await)
        .update_tenant_settings(UpdateTenantSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            invites_enabled: Some(true),
            invite_delay_seconds: Some(600),
            ..Default::default()
        })
        .await
        .unwrap();
    let start = dirsync_core::clock::system().now_ms();
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(home_first("ann", "ann@private.example", "ann@acme.example")),
        )
        .await;
    r.expect(201);
    let ann = r.body["id"].as_str().unwrap().to_owned();
    // Only home and other addresses: the first one.
    let mut carl = home_first("carl", "carl@private.example", "x");
    carl["emails"] =
        json!([{"value": "carl@private.example", "type": "home"}, {"value": "carl@other.example", "type": "other"}]);
    let r = app.scim(Method::POST, "/Users", Some(carl)).await;
    r.expect(201);
    let carl = r.body["id"].as_str().unwrap().to_owned();

    // User.email over gRPC.
    assert_eq!(email_of(&app, &ann).await.as_deref(), Some("ann@acme.example"));
    assert_eq!(email_of(&app, &carl).await.as_deref(), Some("carl@private.example"));
    // Lookups by e-mail.
    let by = |email: &str| {
        let app = &app;
        let email = email.to_owned();
        async move {
            app.directory()
                .await
                .get_user_by(GetUserByRequest {
                    tenant_id: app.tenant_id.clone(),
                    key: Some(get_user_by_request::Key::Email(email)),
                    connection_id: None,
                })
                .await
        }
    };
    assert_eq!(by("ANN@acme.example").await.unwrap().into_inner().id, ann);
    assert_eq!(
        by("ann@private.example").await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    // Sorting by e-mail uses the same address: acme < private.
    let r = app.scim(Method::GET, "/Users?sortBy=emails", None).await;
    r.expect(200);
    let order: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["ann", "carl"]);

    // The invite goes to the work address.
    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let later: SharedClock = std::sync::Arc::new(At(start + 601_000));
    send_due_invites(&db, &later, "replica-b").await.unwrap();
    db.close().await.unwrap();
    let invites: Vec<Value> = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .iter()
        .filter(|c| c.r#type == "invite.due" && c.resource_id == ann)
        .map(change_data)
        .collect();
    assert_eq!(invites.len(), 1, "{invites:?}");
    assert_eq!(invites[0]["email"], "ann@acme.example", "{}", invites[0]);

    // A flagged address wins over the work one.
    app.scim(
        Method::PATCH,
        &format!("/Users/{ann}"),
        Some(patch(
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
        )),
    )
    .await
    .expect(200);
    assert_eq!(email_of(&app, &ann).await.as_deref(), Some("ann@private.example"));

    // Adoption matches a native account by the work address of a home-first user.
    let native = app
        .directory()
        .await
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "bob.native".into(),
                email: Some("bob@acme.example".into()),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut admin = app.admin().await;
    admin
        .add_verified_domain(AddVerifiedDomainRequest {
            tenant_id: app.tenant_id.clone(),
            domain: "acme.example".into(),
        })
        .await
        .unwrap();
    admin
        .update_connection(UpdateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
            allow_adoption: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(home_first("bob.idp", "bob@private.example", "bob@acme.example")),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["id"], native.id.as_str(), "adopted by its work address");
}

on_both_stores!(the_first_work_address_is_primary_everywhere);
