//! Tenant settings end to end: languages normalised over gRPC while SCIM returns what the IdP
//! sent, time zones kept as sent and normalised over gRPC (with warnings), delayed invites in the change feed and the sync
//! log, and the TenantSettings RPCs (validation, tenant isolation, service keys).

use dirsync_core::jobs::{InviteRun, send_due_invites};
use dirsync_domain::clock::{Clock, SharedClock};
use dirsync_proto::v1::tenant_settings_client::TenantSettingsClient;
use dirsync_proto::v1::{
    Change, CreateUserRequest, GetTenantSettingsRequest, GetUserByRequest, GetUserRequest, LanguageList,
    ListUsersRequest, Settings, UpdateTenantSettingsRequest, UserSpec, get_user_by_request,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Grpc, TestApp, patch, replica};
use crate::on_both_stores;
use crate::users::user;

async fn client(app: &TestApp) -> TenantSettingsClient<Grpc> {
    TenantSettingsClient::new(app.channel().await)
}

async fn update(app: &TestApp, tenant_id: &str, req: UpdateTenantSettingsRequest) -> Result<Settings, tonic::Status> {
    client(app)
        .await
        .update_tenant_settings(UpdateTenantSettingsRequest {
            tenant_id: tenant_id.to_owned(),
            ..req
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn get(app: &TestApp, tenant_id: &str) -> Result<Settings, tonic::Status> {
    client(app)
        .await
        .get_tenant_settings(GetTenantSettingsRequest {
            tenant_id: tenant_id.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn languages(tags: &[&str]) -> Option<LanguageList> {
    Some(LanguageList {
        tags: tags.iter().map(|t| t.to_string()).collect(),
    })
}

async fn grpc_user(app: &TestApp, id: &str) -> dirsync_proto::v1::User {
    app.directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.to_owned(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
}

/// A clock pinned at a given time, to run the invite job as if the delay had passed.
#[derive(Debug)]
struct At(i64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

fn at(ms: i64) -> SharedClock {
    std::sync::Arc::new(At(ms))
}

async fn languages_are_normalised_over_grpc_and_kept_over_scim(app: TestApp) {
    let s = update(
        &app,
        &app.tenant_id,
        UpdateTenantSettingsRequest {
            supported_languages: languages(&["de-DE", "en-GB"]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(s.effective_default_language, "de-DE", "the first supported language");
    // (preferredLanguage, locale, language over gRPC)
    let cases: [(Option<&str>, Option<&str>, &str); 9] = [
        (Some("de-AT"), None, "de-DE"),
        (Some("en-US"), None, "en-GB"),
        (Some("fr-FR"), None, "de-DE"),
        (Some("DE-de"), None, "de-DE"),
        (Some("fr-CH, en;q=0.8"), None, "en-GB"),
        (None, Some("en_US"), "en-GB"),
        (Some("en-US"), Some("de-DE"), "en-GB"),
        (Some("it-IT"), Some("de_CH"), "de-DE"),
        (None, None, "de-DE"),
    ];
    let mut ids = Vec::new();
    for (i, (preferred, locale, want)) in cases.iter().enumerate() {
        let mut body = user(&format!("lang{i}@example.com"));
        if let Some(p) = preferred {
            body["preferredLanguage"] = json!(p);
        }
        if let Some(l) = locale {
            body["locale"] = json!(l);
        }
        let r = app.scim(Method::POST, "/Users", Some(body)).await;
        r.expect(201);
        // SCIM returns exactly what was sent.
        assert_eq!(r.body.get("preferredLanguage").and_then(Value::as_str), *preferred);
        assert_eq!(r.body.get("locale").and_then(Value::as_str), *locale);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
        assert_eq!(got.body.get("preferredLanguage").and_then(Value::as_str), *preferred);
        assert!(
            got.body.get("language").is_none(),
            "no extra SCIM attribute: {}",
            got.body
        );
        assert_eq!(grpc_user(&app, &id).await.language, *want, "{preferred:?} {locale:?}");
        ids.push((id, *want));
    }
    // Every user-returning RPC carries it.
    let listed = app
        .directory()
        .await
        .list_users(ListUsersRequest {
            tenant_id: app.tenant_id.clone(),
            count: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    for (id, want) in &ids {
        let u = listed.iter().find(|u| &u.id == id).unwrap();
        assert_eq!(u.language, *want);
    }
    let by = app
        .directory()
        .await
        .get_user_by(GetUserByRequest {
            tenant_id: app.tenant_id.clone(),
            key: Some(get_user_by_request::Key::UserName("lang0@example.com".into())),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by.language, "de-DE");
    // The feed's user.created carries it too.
    let feed = app.changes(&app.tenant_id, 0, 1000).await;
    let created = feed
        .iter()
        .find(|c| c.r#type == "user.created" && c.resource_id == ids[1].0)
        .unwrap();
    let data: Value = serde_json::from_str(&created.data).unwrap();
    assert_eq!(data["after"]["language"], "en-GB");

    // A new explicit default applies to every read at once; PATCH changes the source value.
    update(
        &app,
        &app.tenant_id,
        UpdateTenantSettingsRequest {
            default_language: Some("en-GB".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        grpc_user(&app, &ids[2].0).await.language,
        "en-GB",
        "fr-FR -> the new default"
    );
    let r = app
        .scim(
            Method::PATCH,
            &format!("/Users/{}", ids[2].0),
            Some(patch(
                json!([{"op": "replace", "path": "preferredLanguage", "value": "de-LU"}]),
            )),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["preferredLanguage"], "de-LU");
    assert_eq!(grpc_user(&app, &ids[2].0).await.language, "de-DE");

    // A tenant without languages: empty.
    let other = app.new_tenant("other").await;
    let mut body = user("x@example.com");
    body["preferredLanguage"] = json!("de-DE");
    let r = app
        .send(
            Method::POST,
            &format!("{}/Users", other.scim),
            Some(&other.token),
            Some(body),
            &[],
        )
        .await;
    r.expect(201);
    let u = app
        .directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: other.id.clone(),
            id: r.body["id"].as_str().unwrap().to_owned(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(u.language, "");
}

/// The sync-log entry of the request sent with IdP request id `rid`.
async fn logged(app: &TestApp, rid: &str) -> dirsync_proto::v1::SyncLogEntry {
    app.sync_log()
        .await
        .into_iter()
        .find(|e| e.idp_request_id.as_deref() == Some(rid))
        .unwrap_or_else(|| panic!("no sync-log entry for {rid}"))
}

async fn timezones_are_kept_as_sent_normalised_over_grpc_and_never_refused(app: TestApp) {
    let created = app.scim(Method::POST, "/Users", Some(user("tz@example.com"))).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let put = |tz: Value| {
        let mut b = user("tz@example.com");
        b["timezone"] = tz;
        b
    };
    let post = |name: &str, tz: Value| {
        let mut b = user(name);
        b["timezone"] = tz;
        b
    };
    // (method, url, body, value SCIM reads back, zone over gRPC, warned)
    let cases: Vec<(Method, String, Value, Value, &str, bool)> = vec![
        (
            Method::POST,
            "/Users".into(),
            post("mars@example.com", json!("Mars/Olympus")),
            json!("Mars/Olympus"),
            "",
            true,
        ),
        (
            Method::POST,
            "/Users".into(),
            post("win@example.com", json!("W. Europe Standard Time")),
            json!("W. Europe Standard Time"),
            "Europe/Berlin",
            false,
        ),
        (
            Method::PUT,
            path.clone(),
            put(json!("Europe/Berlin")),
            json!("Europe/Berlin"),
            "Europe/Berlin",
            false,
        ),
        (Method::PUT, path.clone(), put(json!("CEST")), json!("CEST"), "", true),
        (
            Method::PUT,
            path.clone(),
            put(json!("america/new_york")),
            json!("america/new_york"),
            "America/New_York",
            false,
        ),
        (
            Method::PUT,
            path.clone(),
            put(json!("Pacific Standard Time")),
            json!("Pacific Standard Time"),
            "America/Los_Angeles",
            false,
        ),
        (
            Method::PATCH,
            path.clone(),
            patch(json!([{"op": "replace", "path": "timezone", "value": "Mars/Olympus"}])),
            json!("Mars/Olympus"),
            "",
            true,
        ),
        (
            Method::PATCH,
            path.clone(),
            patch(json!([{"op": "replace", "value": {"timezone": "Tokyo Standard Time"}}])),
            json!("Tokyo Standard Time"),
            "Asia/Tokyo",
            false,
        ),
        (
            Method::PATCH,
            path.clone(),
            patch(json!([{"op": "replace", "path": "timezone", "value": "Asia/Tokyo"}])),
            json!("Asia/Tokyo"),
            "Asia/Tokyo",
            false,
        ),
    ];
    let mut dir = app.directory().await;
    for (i, (method, url, body, kept, zone, warned)) in cases.into_iter().enumerate() {
        let rid = format!("tz-{i}");
        let r = app
            .send(
                method.clone(),
                &format!("{}{url}", app.scim),
                Some(&app.token),
                Some(body.clone()),
                &[("x-request-id", &rid)],
            )
            .await;
        r.expect(if method == Method::POST { 201 } else { 200 });
        assert_eq!(r.body["timezone"], kept, "{method} {body}: stored as sent");
        let user_id = r.body["id"].as_str().unwrap().to_owned();
        let read = app.scim(Method::GET, &format!("/Users/{user_id}"), None).await;
        assert_eq!(read.body["timezone"], kept, "{method} {body}: read back as sent");
        let over_grpc = dir
            .get_user(GetUserRequest {
                tenant_id: app.tenant_id.clone(),
                id: user_id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(over_grpc.timezone, zone, "{method} {body}: normalised over gRPC");
        let entry = logged(&app, &rid).await;
        match (warned, entry.warning.as_deref()) {
            (true, Some(w)) => assert!(
                w.starts_with(&format!("timezone {kept} is neither an IANA time zone")) && w.contains("in the IdP"),
                "{w}"
            ),
            (false, None) => {}
            (want, got) => panic!("{method} {body}: warning expected {want}, got {got:?}"),
        }
    }
    // locale and preferredLanguage are never refused for their value either, and kept as sent.
    for (locale, preferred) in [("german", "Deutsch"), ("de_DE", "de-CH, en;q=0.8"), ("", "*;q=0")] {
        let mut body = user(&format!("lang-{locale}@example.com"));
        body["locale"] = json!(locale);
        body["preferredLanguage"] = json!(preferred);
        let r = app.scim(Method::POST, "/Users", Some(body)).await;
        r.expect(201);
        assert_eq!(r.body["preferredLanguage"], preferred);
        if !locale.is_empty() {
            assert_eq!(r.body["locale"], locale);
        }
    }
    // The connection status shows the newest warning to the customer's admin.
    let status = app
        .admin()
        .await
        .connection_status(dirsync_proto::v1::ConnectionStatusRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let last = status.connections[0]
        .last_warning
        .as_ref()
        .expect("a warning in the status");
    assert_eq!(last.idp_request_id.as_deref(), Some("tz-6"));

    // Bulk goes through the same core calls: accepted, kept, warned.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "bulk@example.com", "timezone": "Nowhere/Land"}},
            {"method": "PATCH", "path": path, "data": {"Operations": [{"op": "replace", "path": "timezone", "value": "Romance Standard Time"}]}}
        ]
    });
    let r = app.scim(Method::POST, "/Bulk", Some(bulk)).await;
    r.expect(200);
    let statuses: Vec<&str> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "200"], "{}", r.body);
    assert_eq!(
        app.scim(Method::GET, &path, None).await.body["timezone"],
        "Romance Standard Time"
    );

    // Native writers over gRPC: never refused for the value either; a number is kept as sent.
    for (doc, zone) in [
        (
            json!({"userName": "native@example.com", "timezone": "Mars/Olympus"}),
            "",
        ),
        (json!({"userName": "native@example.com", "timezone": 42}), ""),
        (
            json!({"userName": "native@example.com", "timezone": "E. Europe Standard Time"}),
            "Europe/Chisinau",
        ),
    ] {
        let u = dir
            .create_user(CreateUserRequest {
                tenant_id: app.tenant_id.clone(),
                user: Some(UserSpec {
                    user_name: "native@example.com".into(),
                    active: true,
                    document: doc.to_string(),
                    ..Default::default()
                }),
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(u.timezone, zone, "{doc}");
        let stored: Value = serde_json::from_str(&u.document).unwrap();
        assert_eq!(stored["timezone"], doc["timezone"]);
        dir.delete_user(dirsync_proto::v1::DeleteUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: u.id,
            ..Default::default()
        })
        .await
        .unwrap();
    }
}

async fn create_scim(app: &TestApp, user_name: &str) -> String {
    let r = app.scim(Method::POST, "/Users", Some(user(user_name))).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn invites_fall_due_only_for_present_active_users(app: TestApp) {
    update(
        &app,
        &app.tenant_id,
        UpdateTenantSettingsRequest {
            supported_languages: languages(&["de-DE", "en-GB"]),
            invites_enabled: Some(true),
            invite_delay_seconds: Some(600),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let start = dirsync_domain::clock::system().now_ms();
    let mut kept_body = user("kept@example.com");
    kept_body["preferredLanguage"] = json!("en-US");
    let r = app.scim(Method::POST, "/Users", Some(kept_body)).await;
    r.expect(201);
    let kept = r.body["id"].as_str().unwrap().to_owned();
    let deleted = create_scim(&app, "deleted@example.com").await;
    app.scim(Method::DELETE, &format!("/Users/{deleted}"), None)
        .await
        .expect(204);
    let deactivated = create_scim(&app, "deactivated@example.com").await;
    app.scim(
        Method::PATCH,
        &format!("/Users/{deactivated}"),
        Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
    )
    .await
    .expect(200);
    // Native users are not invited by dirsync.
    app.directory()
        .await
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "native@example.com".into(),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap();
    // Another tenant with invites off (the default).
    let off = app.new_tenant("off").await;
    app.send(
        Method::POST,
        &format!("{}/Users", off.scim),
        Some(&off.token),
        Some(user("off@example.com")),
        &[],
    )
    .await
    .expect(201);

    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let tenant = uuid::Uuid::parse_str(&app.tenant_id).unwrap();
    let pending = dirsync_store::settings::pending_invites(&db, tenant).await.unwrap();
    let pending_users: Vec<String> = pending.iter().map(|p| p.user_id.to_string()).collect();
    assert_eq!(
        pending_users.len(),
        2,
        "the deleted user's invite went with it: {pending_users:?}"
    );
    assert!(pending_users.contains(&kept) && pending_users.contains(&deactivated));
    let off_tenant = uuid::Uuid::parse_str(&off.id).unwrap();
    assert!(
        dirsync_store::settings::pending_invites(&db, off_tenant)
            .await
            .unwrap()
            .is_empty()
    );

    // Before the delay has passed: nothing is due. (The app's own job holds the lease for at
    // most 2 s of real time; a minute later this replica takes it.)
    let early = send_due_invites(&replica(&db, at(start + 60_000)), "replica-b")
        .await
        .unwrap();
    assert_eq!(early, Some(InviteRun::default()));
    // After it: one invite, one skipped.
    let later = at(start + 601_000);
    assert_eq!(
        send_due_invites(&replica(&db, later.clone()), "replica-b")
            .await
            .unwrap(),
        Some(InviteRun { sent: 1, skipped: 1 })
    );
    assert_eq!(
        send_due_invites(&replica(&db, later.clone()), "replica-b")
            .await
            .unwrap(),
        Some(InviteRun::default()),
        "each invite is sent once"
    );
    assert!(
        dirsync_store::settings::pending_invites(&db, tenant)
            .await
            .unwrap()
            .is_empty()
    );

    let feed = app.changes(&app.tenant_id, 0, 1000).await;
    let invites: Vec<&Change> = feed.iter().filter(|c| c.r#type == "invite.due").collect();
    assert_eq!(invites.len(), 1, "{invites:?}");
    let invite = invites[0];
    assert_eq!(invite.event_uri, "urn:dirsync:event:invite:due");
    assert_eq!(invite.resource_type, "User");
    assert_eq!(invite.resource_id, kept);
    assert_eq!(invite.connection_id.as_deref(), Some(app.connection_id.as_str()));
    let data: Value = serde_json::from_str(&invite.data).unwrap();
    assert_eq!(
        data,
        json!({"userId": kept, "userName": "kept@example.com", "email": "kept@example.com", "language": "en-GB"})
    );
    assert!(
        app.changes(&off.id, 0, 1000)
            .await
            .iter()
            .all(|c| c.r#type != "invite.due"),
        "invites off: nothing"
    );

    let log = app.sync_log().await;
    let jobs: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.method == "JOB")
        .map(|e| (e.path.as_str(), e.summary.as_str()))
        .collect();
    let kept_path = format!("/Users/{kept}");
    let deactivated_path = format!("/Users/{deactivated}");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(
        jobs.contains(&(kept_path.as_str(), "invite due for user kept@example.com")),
        "{jobs:?}"
    );
    assert!(
        jobs.contains(&(
            deactivated_path.as_str(),
            "invite for user deactivated@example.com skipped: the user is deactivated"
        )),
        "{jobs:?}"
    );
}

async fn invites_turned_off_before_due_are_skipped(app: TestApp) {
    let on = |enabled: bool| UpdateTenantSettingsRequest {
        invites_enabled: Some(enabled),
        invite_delay_seconds: Some(60),
        ..Default::default()
    };
    update(&app, &app.tenant_id, on(true)).await.unwrap();
    let start = dirsync_domain::clock::system().now_ms();
    create_scim(&app, "late@example.com").await;
    update(&app, &app.tenant_id, on(false)).await.unwrap();
    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    assert_eq!(
        send_due_invites(&replica(&db, at(start + 61_000)), "replica-b")
            .await
            .unwrap(),
        Some(InviteRun { sent: 0, skipped: 1 })
    );
    assert!(
        app.changes(&app.tenant_id, 0, 1000)
            .await
            .iter()
            .all(|c| c.r#type != "invite.due")
    );
    let log = app.sync_log().await;
    assert!(
        log.iter()
            .any(|e| e.summary == "invite for user late@example.com skipped: the tenant turned invites off"),
        "{log:?}"
    );
}

async fn settings_rpcs_validate_and_stay_in_their_tenant(app: TestApp) {
    let other = app.new_tenant("other").await;
    let defaults = get(&app, &other.id).await.unwrap();
    assert_eq!(
        (
            defaults.supported_languages.len(),
            defaults.default_language.as_str(),
            defaults.effective_default_language.as_str(),
            defaults.invites_enabled,
            defaults.invite_delay_seconds,
            defaults.updated.is_some()
        ),
        (0, "", "", false, 600, false)
    );
    let set = update(
        &app,
        &app.tenant_id,
        UpdateTenantSettingsRequest {
            supported_languages: languages(&["de_de", "EN-gb"]),
            default_language: Some("en-gb".into()),
            invites_enabled: Some(true),
            invite_delay_seconds: Some(30),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(set.supported_languages, ["de-DE", "en-GB"], "stored canonical");
    assert_eq!(set.default_language, "en-GB");
    assert!(set.invites_enabled && set.invite_delay_seconds == 30 && set.updated.is_some());
    assert_eq!(get(&app, &app.tenant_id).await.unwrap(), set);
    assert_eq!(
        get(&app, &other.id).await.unwrap(),
        defaults,
        "the other tenant is untouched"
    );

    // (request, words the message must contain)
    let bad: Vec<(UpdateTenantSettingsRequest, &str)> = vec![
        (
            UpdateTenantSettingsRequest {
                supported_languages: languages(&["german"]),
                ..Default::default()
            },
            "\"german\" is not a BCP 47 language tag",
        ),
        (
            UpdateTenantSettingsRequest {
                supported_languages: languages(&["de-DE", "de_de"]),
                ..Default::default()
            },
            "lists \"de-DE\" twice",
        ),
        (
            UpdateTenantSettingsRequest {
                default_language: Some("fr-FR".into()),
                ..Default::default()
            },
            "default_language \"fr-FR\" is not one of the supported languages (de-DE, en-GB)",
        ),
        (
            UpdateTenantSettingsRequest {
                supported_languages: languages(&["de-DE"]),
                ..Default::default()
            },
            "default_language \"en-GB\" would no longer be one of the supported languages",
        ),
        (
            UpdateTenantSettingsRequest {
                invite_delay_seconds: Some(10_000_000),
                ..Default::default()
            },
            "invite_delay_seconds must be at most 2592000",
        ),
    ];
    for (req, want) in bad {
        let err = update(&app, &app.tenant_id, req.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{req:?}");
        assert!(err.message().contains(want), "{req:?}: {}", err.message());
        assert_eq!(get(&app, &app.tenant_id).await.unwrap(), set, "{req:?} changed nothing");
    }
    // Unknown and malformed tenants.
    for id in [uuid::Uuid::now_v7().to_string(), "nope".to_owned()] {
        assert_eq!(get(&app, &id).await.unwrap_err().code(), Code::NotFound);
        let err = update(
            &app,
            &id,
            UpdateTenantSettingsRequest {
                invites_enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    // A service key is required.
    let channel = tonic::transport::Endpoint::from_shared(app.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let err = TenantSettingsClient::new(channel)
        .get_tenant_settings(GetTenantSettingsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

/// `dirsync admin settings ...` with the tests' service key: (exit ok, stdout, stderr).
async fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dirsync"))
        .env_remove("DIRSYNC_SERVICE_KEY")
        .args(["admin", "--core-url", &app.grpc, "--service-key", &app.keys.test])
        .args(args)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli_sets_and_shows_settings(app: TestApp) {
    let t = app.tenant_id.as_str();
    let (ok, out, err) = cli(
        &app,
        &[
            "--output",
            "json",
            "settings",
            "set",
            "--tenant",
            t,
            "--languages",
            "de-DE,en_gb",
            "--default-language",
            "en-GB",
            "--invites",
            "on",
            "--invite-delay",
            "10m",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let set: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(set["supported_languages"], json!(["de-DE", "en-GB"]));
    assert_eq!(set["default_language"], "en-GB");
    assert_eq!(set["invites_enabled"], true);
    assert_eq!(set["invite_delay_seconds"], 600);
    let (ok, out, _) = cli(&app, &["--output", "json", "settings", "show", "--tenant", t]).await;
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), set);
    let grpc = get(&app, t).await.unwrap();
    assert_eq!(
        (grpc.invite_delay_seconds, grpc.default_language.as_str()),
        (600, "en-GB")
    );
    // Text output for people.
    let (ok, out, _) = cli(&app, &["settings", "show", "--tenant", t]).await;
    assert!(ok);
    assert!(out.contains("Languages:        de-DE, en-GB"), "{out}");
    assert!(out.contains("Invites:          on, due 600 s after creation"), "{out}");
    // Refused input: a clear message (the CLI prints the gRPC status, quotes escaped), nothing
    // changed.
    for (args, want) in [
        (vec!["--languages", "german"], "german\\\" is not a BCP 47 language tag"),
        (vec!["--invite-delay", "5w"], "unknown unit"),
        (vec!["--invites", "maybe"], "invalid value 'maybe'"),
    ] {
        let mut all = vec!["settings", "set", "--tenant", t];
        all.extend(args.iter().copied());
        let (ok, _, err) = cli(&app, &all).await;
        assert!(!ok, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(get(&app, t).await.unwrap(), grpc, "{args:?} changed nothing");
    }
    // Languages off again: an empty list.
    let (ok, out, err) = cli(
        &app,
        &[
            "--output",
            "json",
            "settings",
            "set",
            "--tenant",
            t,
            "--languages",
            "",
            "--default-language",
            "",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let cleared: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cleared["supported_languages"], json!([]));
    assert_eq!(cleared["effective_default_language"], "");
    assert_eq!(cleared["invites_enabled"], true, "untouched");
}

on_both_stores!(
    cli_sets_and_shows_settings,
    languages_are_normalised_over_grpc_and_kept_over_scim,
    timezones_are_kept_as_sent_normalised_over_grpc_and_never_refused,
    invites_fall_due_only_for_present_active_users,
    invites_turned_off_before_due_are_skipped,
    settings_rpcs_validate_and_stay_in_their_tenant
);
