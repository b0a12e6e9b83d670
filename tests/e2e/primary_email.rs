//! The primary e-mail: the address flagged primary, else the first `work` address, else the
//! first. One rule for every reader: `User.email` over gRPC, lookups by e-mail, sorting by
//! e-mail, invites and the adoption of native accounts.

use dirsync_core::jobs::send_due_invites;
use dirsync_domain::clock::{Clock, SharedClock};
use dirsync_proto::v1::tenant_settings_client::TenantSettingsClient;
use dirsync_proto::v1::{
    AddVerifiedDomainRequest, CreateUserRequest, GetUserByRequest, GetUserRequest, UpdateConnectionRequest,
    UpdateTenantSettingsRequest, UserSpec, get_user_by_request,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, Store, TestApp, change_data, patch, replica};
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
    let start = dirsync_domain::clock::system().now_ms();
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
    send_due_invites(&replica(&db, later), "replica-b").await.unwrap();
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

/// A store written before the rule was fixed (before migration 000016) holds the first address
/// of any type in `users.email`; after the migration `User.email` and lookups by e-mail give
/// the work address. The version (the ETag) stays, rows already right stay, and a native
/// account keeps the address its product chose.
async fn a_store_from_before_the_rule_migrates_to_the_work_address(backend: Backend) {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    // At 000014 (and 000015 where the tree has it): every migration before this one.
    let Some((store, db, tenant)) = Store::before_migration(backend, "m20261201_000016_primary_emails").await else {
        return;
    };
    // (user name, source, document, stored e-mail as the old code wrote it, version)
    let users = [
        (
            "ann",
            "scim",
            home_first("ann", "ann@private.example", "Ann@ACME.example"),
            Some("ann@private.example"),
            3i64,
        ),
        (
            "bea",
            "scim",
            home_first("bea", "bea@private.example", "bea@acme.example"),
            Some("bea@acme.example"),
            5,
        ),
        (
            "nat",
            "native",
            home_first("nat", "nat@private.example", "nat@acme.example"),
            Some("nat@private.example"),
            2,
        ),
    ];
    let mut ids = Vec::new();
    for (i, (user_name, source, document, email, version)) in users.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        db.execute(
            &Query::insert()
                .into_table(Alias::new("users"))
                .columns(
                    [
                        "id",
                        "tenant_id",
                        "connection_id",
                        "source",
                        "user_name",
                        "user_name_key",
                        "active",
                        "email",
                        "email_key",
                        "document",
                        "version",
                        "created_at",
                        "updated_at",
                    ]
                    .map(Alias::new),
                )
                .values_panic([
                    id.into(),
                    tenant.into(),
                    Option::<uuid::Uuid>::None.into(),
                    (*source).into(),
                    (*user_name).into(),
                    user_name.to_lowercase().into(),
                    true.into(),
                    email.map(str::to_owned).into(),
                    email.map(str::to_lowercase).into(),
                    document.clone().into(),
                    (*version).into(),
                    (i as i64 + 1).into(),
                    (i as i64 + 1).into(),
                ])
                .to_owned(),
        )
        .await
        .unwrap();
        ids.push(id.to_string());
    }
    db.close().await.unwrap();

    let app = TestApp::start(&store).await;
    let tenant_id = tenant.to_string();
    let mut dir = app.directory().await;
    let want = [
        ("ann", "Ann@ACME.example", 3),
        ("bea", "bea@acme.example", 5),
        ("nat", "nat@private.example", 2),
    ];
    for (id, (user_name, email, version)) in ids.iter().zip(want) {
        let user = dir
            .get_user(GetUserRequest {
                tenant_id: tenant_id.clone(),
                id: id.clone(),
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(user.email.as_deref(), Some(email), "{user_name}");
        assert_eq!(user.version, version, "{user_name}: the ETag stays");
        // Found by that address, whatever its case (the key column).
        let found = dir
            .get_user_by(GetUserByRequest {
                tenant_id: tenant_id.clone(),
                key: Some(get_user_by_request::Key::Email(email.to_uppercase())),
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(found.id, *id, "{user_name} by {email}");
    }
    // Nobody is found by the address the old rule picked.
    let old = dir
        .get_user_by(GetUserByRequest {
            tenant_id: tenant_id.clone(),
            key: Some(get_user_by_request::Key::Email("ann@private.example".into())),
            connection_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(old.code(), tonic::Code::NotFound);
    drop(app);
    store.cleanup().await;
}

mod a_store_from_before_the_rule_migrates_to_the_work_address {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_store_from_before_the_rule_migrates_to_the_work_address(crate::harness::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_store_from_before_the_rule_migrates_to_the_work_address(crate::harness::Backend::Postgres).await;
    }
}
