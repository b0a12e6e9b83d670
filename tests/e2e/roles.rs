//! Roles end to end: a tenant configured as products do it (an admin group and a member group),
//! provisioned over SCIM, read back over gRPC as entitlements and in the change feed.

use std::collections::HashMap;

use dirsync_proto::v1::{
    self as pb, BatchGetEntitlementsRequest, Change, CreateRoleRequest, CreateUserRequest, GetEntitlementsRequest,
    IdList, ListRolesRequest, MapGroupToRoleRequest, MemberChange, PatchGroupRequest, RoleSource, SetRoleSourceRequest,
    UnmapGroupRequest, UpdateRoleRequest, UserSpec, member_change,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{TestApp, assert_status, change_data, patch};
use crate::on_both_stores;
use crate::users::user;

const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

/// The tenant's roles and groups, by name.
struct Setup {
    roles: HashMap<&'static str, String>,
    groups: HashMap<&'static str, String>,
}

async fn create_role(app: &TestApp, name: &str, rank: i32, admin: bool, guest: bool) -> String {
    app.admin()
        .await
        .create_role(CreateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            name: name.into(),
            rank,
            is_admin: admin,
            is_guest: guest,
            is_default: false,
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

async fn scim_group(app: &TestApp, name: &str) -> String {
    let r = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": name})))
        .await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Admin (100, admin), Member (10), Viewer (5), Guest (0, guest); groups Admins -> Admin and
/// Members -> Member, as products configure it.
async fn setup(app: &TestApp) -> Setup {
    let mut roles = HashMap::new();
    for (name, rank, admin, guest) in [
        ("Admin", 100, true, false),
        ("Member", 10, false, false),
        ("Viewer", 5, false, false),
        ("Guest", 0, false, true),
    ] {
        roles.insert(name, create_role(app, name, rank, admin, guest).await);
    }
    let mut groups = HashMap::new();
    for (group, role) in [("Admins", "Admin"), ("Members", "Member")] {
        let id = scim_group(app, group).await;
        app.admin()
            .await
            .map_group_to_role(MapGroupToRoleRequest {
                tenant_id: app.tenant_id.clone(),
                group_id: id.clone(),
                role_id: roles[role].clone(),
            })
            .await
            .unwrap();
        groups.insert(group, id);
    }
    Setup { roles, groups }
}

async fn scim_user(app: &TestApp, name: &str, role_attribute: Option<&str>) -> String {
    let mut body = user(name);
    if let Some(role) = role_attribute {
        body[EXT] = json!({"userRole": role});
        body["schemas"].as_array_mut().unwrap().push(json!(EXT));
    }
    let r = app.scim(Method::POST, "/Users", Some(body)).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn add_members(app: &TestApp, group: &str, ids: &[&str]) -> crate::harness::Response {
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    app.scim(
        Method::PATCH,
        &format!("/Groups/{group}"),
        Some(patch(json!([{"op": "add", "path": "members", "value": members}]))),
    )
    .await
}

async fn remove_member(app: &TestApp, group: &str, id: &str) -> crate::harness::Response {
    app.scim(
        Method::PATCH,
        &format!("/Groups/{group}"),
        Some(patch(
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )),
    )
    .await
}

/// The name of the role a user holds, read over gRPC.
async fn role_of(app: &TestApp, id: &str) -> Option<String> {
    let e = app
        .directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    e.role.map(|r| r.name)
}

async fn highest_privilege_wins_and_the_default_applies(app: TestApp) {
    // Before any role exists, users provision and hold none.
    let early = scim_user(&app, "early@example.com", None).await;
    assert_eq!(role_of(&app, &early).await, None);

    let s = setup(&app).await;
    // Creating roles gave the existing user the default role at once.
    assert_eq!(role_of(&app, &early).await.as_deref(), Some("Viewer"));
    let mut ids = HashMap::new();
    let cases: [(&str, &[&str], &str); 4] = [
        ("alice@example.com", &["Admins", "Members"], "Admin"),
        ("bob@example.com", &["Members"], "Member"),
        ("carol@example.com", &["Members", "Admins"], "Admin"),
        // No mapped group: the least privileged non-guest role (none is flagged default).
        ("dave@example.com", &[], "Viewer"),
    ];
    for (name, groups, _) in cases {
        let id = scim_user(&app, name, None).await;
        for g in groups {
            add_members(&app, &s.groups[g], &[&id]).await.expect(204);
        }
        ids.insert(name, id);
    }
    for (name, _, want) in cases {
        assert_eq!(role_of(&app, &ids[name]).await.as_deref(), Some(want), "{name}");
    }

    // Flagging a default moves the users without a mapping, and only them.
    app.admin()
        .await
        .update_role(UpdateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Member"].clone(),
            is_default: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(role_of(&app, &ids["dave@example.com"]).await.as_deref(), Some("Member"));
    assert_eq!(role_of(&app, &ids["alice@example.com"]).await.as_deref(), Some("Admin"));

    // Leaving the admin group falls back to the next mapped group.
    remove_member(&app, &s.groups["Admins"], &ids["carol@example.com"])
        .await
        .expect(204);
    assert_eq!(
        role_of(&app, &ids["carol@example.com"]).await.as_deref(),
        Some("Member")
    );

    // The batch form answers in the order asked, with unknown ids apart; no license yet.
    let unknown = uuid::Uuid::now_v7().to_string();
    let batch = app
        .directory()
        .await
        .batch_get_entitlements(BatchGetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_ids: vec![
                ids["bob@example.com"].clone(),
                unknown.clone(),
                ids["alice@example.com"].clone(),
                "not-a-uuid".into(),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(&str, bool, &str, bool)> = batch
        .entitlements
        .iter()
        .map(|e| {
            let role = e.role.as_ref().unwrap();
            (e.user_id.as_str(), e.active, role.name.as_str(), role.is_admin)
        })
        .collect();
    assert_eq!(
        got,
        [
            (ids["bob@example.com"].as_str(), true, "Member", false),
            (ids["alice@example.com"].as_str(), true, "Admin", true),
        ]
    );
    assert_eq!(batch.missing_user_ids, [unknown.clone(), "not-a-uuid".to_owned()]);
    for e in &batch.entitlements {
        assert_eq!(e.license.as_ref().unwrap().state(), pb::LicenseState::None);
    }
    let missing = app
        .directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: unknown,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // ListRoles: most privileged first, with holders and mappings.
    let list = app
        .admin()
        .await
        .list_roles(ListRolesRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let summary: Vec<(&str, u64)> = list.roles.iter().map(|r| (r.name.as_str(), r.assigned_users)).collect();
    assert_eq!(summary, [("Admin", 1), ("Member", 4), ("Viewer", 0), ("Guest", 0)]);
    assert_eq!(list.source(), RoleSource::Groups);
    assert_eq!(list.mappings.len(), 2);
}

async fn the_last_admin_cannot_be_removed(app: TestApp) {
    let s = setup(&app).await;
    let alice = scim_user(&app, "alice@example.com", None).await;
    let bob = scim_user(&app, "bob@example.com", None).await;
    add_members(&app, &s.groups["Admins"], &[&alice]).await.expect(204);
    add_members(&app, &s.groups["Members"], &[&bob]).await.expect(204);
    let admins = s.groups["Admins"].clone();
    let user_path = format!("/Users/{alice}");
    let group_path = format!("/Groups/{admins}");

    // Every SCIM way of removing the only admin answers 409 and changes nothing.
    let attempts: [(&str, Method, &str, Option<Value>); 5] = [
        (
            "deactivate",
            Method::PATCH,
            &user_path,
            Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
        ),
        ("delete", Method::DELETE, &user_path, None),
        (
            "remove from the admin group",
            Method::PATCH,
            &group_path,
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
            )),
        ),
        (
            "remove all members of the admin group",
            Method::PATCH,
            &group_path,
            Some(patch(json!([{"op": "remove", "path": "members"}]))),
        ),
        ("delete the admin group", Method::DELETE, &group_path, None),
    ];
    for (what, method, path, body) in attempts {
        let r = app.scim(method, path, body).await;
        r.expect_error(409, None);
        assert!(
            r.body["detail"].as_str().unwrap().contains("last active admin"),
            "{what}: {}",
            r.body
        );
        let u = app.scim(Method::GET, &user_path, None).await;
        u.expect(200);
        assert_eq!(u.body["active"], json!(true), "{what}");
        assert_eq!(role_of(&app, &alice).await.as_deref(), Some("Admin"), "{what}");
        let g = app.scim(Method::GET, &group_path, None).await;
        g.expect(200);
        assert_eq!(g.body["members"][0]["value"], json!(alice), "{what}");
    }

    // The operator's changes keep the rule too.
    let mut admin = app.admin().await;
    let demote = admin
        .update_role(UpdateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Admin"].clone(),
            is_admin: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(
        &demote,
        Code::FailedPrecondition,
        "LAST_ADMIN",
        "without an active admin",
    );
    let unmap = admin
        .unmap_group(UnmapGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: admins.clone(),
        })
        .await
        .unwrap_err();
    assert_status(&unmap, Code::FailedPrecondition, "LAST_ADMIN", "last active admin");
    let source = admin
        .set_role_source(SetRoleSourceRequest {
            tenant_id: app.tenant_id.clone(),
            source: RoleSource::Attribute as i32,
        })
        .await
        .unwrap_err();
    assert_status(&source, Code::FailedPrecondition, "LAST_ADMIN", "last active admin");
    let in_use = admin
        .delete_role(pb::DeleteRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Admin"].clone(),
        })
        .await
        .unwrap_err();
    assert_status(&in_use, Code::FailedPrecondition, "ROLE_IN_USE", "held by 1 user");
    assert_eq!(role_of(&app, &alice).await.as_deref(), Some("Admin"));

    // With a second admin, the first may go.
    add_members(&app, &admins, &[&bob]).await.expect(204);
    app.scim(
        Method::PATCH,
        &user_path,
        Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
    )
    .await
    .expect(200);
    // Now bob is the last active one.
    remove_member(&app, &admins, &bob).await.expect_error(409, None);
    app.scim(Method::DELETE, &user_path, None).await.expect(204);
    app.scim(Method::DELETE, &format!("/Users/{bob}"), None)
        .await
        .expect_error(409, None);
}

async fn guests_are_never_assigned_through_scim(app: TestApp) {
    let s = setup(&app).await;
    // Group source: a group mapped to the guest role by the operator.
    let guests = scim_group(&app, "Guests").await;
    app.admin()
        .await
        .map_group_to_role(MapGroupToRoleRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: guests.clone(),
            role_id: s.roles["Guest"].clone(),
        })
        .await
        .unwrap();
    let erin = scim_user(&app, "erin@example.com", None).await;
    let r = add_members(&app, &guests, &[&erin]).await;
    r.expect_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("\"Guest\""), "{}", r.body);
    assert_eq!(role_of(&app, &erin).await.as_deref(), Some("Viewer"));
    let g = app.scim(Method::GET, &format!("/Groups/{guests}"), None).await;
    assert!(g.body.get("members").is_none_or(|m| m == &json!([])), "{}", g.body);
    // In a member group too, the more privileged role wins and nobody becomes a guest.
    add_members(&app, &s.groups["Members"], &[&erin]).await.expect(204);
    add_members(&app, &guests, &[&erin]).await.expect(204);
    assert_eq!(role_of(&app, &erin).await.as_deref(), Some("Member"));

    // Attribute source: naming the guest role (or no role at all) is refused.
    app.admin()
        .await
        .set_role_source(SetRoleSourceRequest {
            tenant_id: app.tenant_id.clone(),
            source: RoleSource::Attribute as i32,
        })
        .await
        .unwrap();
    for (value, part) in [("Guest", "\"Guest\""), ("guest", "\"guest\" names no role")] {
        let mut body = user("frank@example.com");
        body[EXT] = json!({"userRole": value});
        let r = app.scim(Method::POST, "/Users", Some(body)).await;
        r.expect_error(400, Some("invalidValue"));
        assert!(r.body["detail"].as_str().unwrap().contains(part), "{}", r.body);
    }
    let found = app
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22frank@example.com%22",
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 0, "nothing was created");
    // The product may make a guest of its own native users.
    let native = app
        .directory()
        .await
        .create_user(CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(UserSpec {
                user_name: "visitor@example.com".into(),
                active: true,
                document: json!({"userName": "visitor@example.com", EXT: {"userRole": "Guest"}}).to_string(),
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(role_of(&app, &native.id).await.as_deref(), Some("Guest"));
}

async fn the_user_role_attribute_names_the_role(app: TestApp) {
    let s = setup(&app).await;
    app.admin()
        .await
        .set_role_source(SetRoleSourceRequest {
            tenant_id: app.tenant_id.clone(),
            source: RoleSource::Attribute as i32,
        })
        .await
        .unwrap();
    let cases = [
        ("ada@example.com", Some("Admin"), "Admin"),
        ("ben@example.com", Some("Member"), "Member"),
        ("cy@example.com", None, "Viewer"),
        ("dee@example.com", Some(""), "Viewer"),
    ];
    let mut ids = HashMap::new();
    for (name, attribute, want) in cases {
        let id = scim_user(&app, name, attribute).await;
        assert_eq!(role_of(&app, &id).await.as_deref(), Some(want), "{name}");
        ids.insert(name, id);
    }
    // Groups do not matter under this source.
    add_members(&app, &s.groups["Admins"], &[&ids["ben@example.com"]])
        .await
        .expect(204);
    assert_eq!(role_of(&app, &ids["ben@example.com"]).await.as_deref(), Some("Member"));
    // A new value moves the user; names are case-sensitive. (PUT: PATCH paths into an
    // extension need its schema registered, which custom schemas will bring.)
    let put = |name: &'static str, role: &'static str| {
        let app = &app;
        let path = format!("/Users/{}", ids[name]);
        async move {
            let body = json!({"userName": name, EXT: {"userRole": role}});
            app.scim(Method::PUT, &path, Some(body)).await
        }
    };
    put("cy@example.com", "Admin").await.expect(200);
    assert_eq!(role_of(&app, &ids["cy@example.com"]).await.as_deref(), Some("Admin"));
    put("cy@example.com", "ADMIN")
        .await
        .expect_error(400, Some("invalidValue"));
    // Demoting one of two admins is fine; the last one is kept.
    put("cy@example.com", "Member").await.expect(200);
    put("ada@example.com", "Viewer").await.expect_error(409, None);
    assert_eq!(role_of(&app, &ids["ada@example.com"]).await.as_deref(), Some("Admin"));
}

async fn renaming_a_role_keeps_its_assignments(app: TestApp) {
    let s = setup(&app).await;
    let alice = scim_user(&app, "alice@example.com", None).await;
    add_members(&app, &s.groups["Admins"], &[&alice]).await.expect(204);
    let mut admin = app.admin().await;
    let renamed = admin
        .update_role(UpdateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Admin"].clone(),
            name: Some("Administrators".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (renamed.id.as_str(), renamed.assigned_users),
        (s.roles["Admin"].as_str(), 1)
    );
    let e = app
        .directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: alice.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let role = e.role.unwrap();
    assert_eq!(
        (role.id.as_str(), role.name.as_str(), role.is_admin),
        (s.roles["Admin"].as_str(), "Administrators", true)
    );
    // Names are unique per tenant, case-sensitively.
    let taken = admin
        .update_role(UpdateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Viewer"].clone(),
            name: Some("Member".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    create_role(&app, "member", 1, false, false).await;

    // Under the attribute source, a user whose userRole still carries the old name keeps the
    // role through the IdP's unrelated writes.
    let switch = SetRoleSourceRequest {
        tenant_id: app.tenant_id.clone(),
        source: RoleSource::Attribute as i32,
    };
    // alice has no userRole yet: she would lose admin.
    admin.set_role_source(switch.clone()).await.unwrap_err();
    let body = json!({"userName": "alice@example.com", EXT: {"userRole": "Administrators"}});
    app.scim(Method::PUT, &format!("/Users/{alice}"), Some(body))
        .await
        .expect(200);
    admin.set_role_source(switch).await.unwrap();
    assert_eq!(role_of(&app, &alice).await.as_deref(), Some("Administrators"));
    let bob = scim_user(&app, "bob@example.com", Some("Member")).await;
    assert_eq!(role_of(&app, &bob).await.as_deref(), Some("Member"));
    admin
        .update_role(UpdateRoleRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.roles["Member"].clone(),
            name: Some("Members".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    app.scim(
        Method::PATCH,
        &format!("/Users/{bob}"),
        Some(patch(json!([{"op": "replace", "path": "title", "value": "CTO"}]))),
    )
    .await
    .expect(200);
    assert_eq!(role_of(&app, &bob).await.as_deref(), Some("Members"));
}

async fn role_changes_are_in_the_feed(app: TestApp) {
    let s = setup(&app).await;
    let alice = scim_user(&app, "alice@example.com", None).await;
    add_members(&app, &s.groups["Admins"], &[&alice]).await.expect(204);
    // A large add is set-based: 1,200 members (over one chunk) in one request.
    let mut dir = app.directory().await;
    let mut many = Vec::new();
    for i in 0..1200 {
        let u = dir
            .create_user(CreateUserRequest {
                tenant_id: app.tenant_id.clone(),
                user: Some(UserSpec {
                    user_name: format!("u{i}@example.com"),
                    active: true,
                    ..Default::default()
                }),
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        many.push(u.id);
    }
    dir.patch_group(PatchGroupRequest {
        tenant_id: app.tenant_id.clone(),
        id: s.groups["Members"].clone(),
        member_changes: vec![MemberChange {
            kind: Some(member_change::Kind::Add(IdList { ids: many.clone() })),
        }],
        ..Default::default()
    })
    .await
    .unwrap();

    let changes = app.changes(&app.tenant_id, 0, 1000).await;
    let assigned: Vec<&Change> = changes.iter().filter(|c| c.r#type == "role.assigned").collect();
    // alice: Viewer on creation, then Admin; each native user: Viewer, then Member.
    assert_eq!(assigned.len(), 2 + 2 * 1200);
    let of_alice: Vec<Value> = assigned
        .iter()
        .filter(|c| c.resource_id == alice)
        .map(|c| change_data(c))
        .collect();
    assert_eq!(of_alice.len(), 2);
    assert_eq!(of_alice[0]["before"], Value::Null);
    assert_eq!(of_alice[0]["after"]["name"], "Viewer");
    assert_eq!(of_alice[1]["userId"], json!(alice));
    assert_eq!(of_alice[1]["before"]["id"], json!(s.roles["Viewer"]));
    assert_eq!(of_alice[1]["after"]["id"], json!(s.roles["Admin"]));
    assert_eq!(of_alice[1]["after"]["isAdmin"], true);
    let via_scim = assigned.iter().find(|c| c.resource_id == alice).unwrap();
    assert_eq!(via_scim.connection_id.as_deref(), Some(app.connection_id.as_str()));
    assert_eq!(via_scim.event_uri, "urn:dirsync:event:role:assigned");
    // The role event follows the change that caused it, in the same commit.
    let pos = changes
        .iter()
        .position(|c| c.r#type == "group.members_added" && change_data(c)["members"] == json!([alice]))
        .unwrap();
    assert_eq!(changes[pos + 1].r#type, "role.assigned");
    assert_eq!(changes[pos + 1].resource_id, alice);
    for batch in many.chunks(1000) {
        let members = app
            .directory()
            .await
            .batch_get_entitlements(BatchGetEntitlementsRequest {
                tenant_id: app.tenant_id.clone(),
                user_ids: batch.to_vec(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(members.entitlements.len(), batch.len());
        assert!(
            members
                .entitlements
                .iter()
                .all(|e| e.role.as_ref().is_some_and(|r| r.name == "Member"))
        );
    }
    // An operator's change is in the feed too, without a connection.
    app.admin()
        .await
        .unmap_group(UnmapGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: s.groups["Members"].clone(),
        })
        .await
        .unwrap();
    let after: Vec<Change> = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .into_iter()
        .skip(changes.len())
        .collect();
    assert_eq!(after.len(), 1200, "{:?}", after.first());
    assert!(
        after
            .iter()
            .all(|c| c.r#type == "role.assigned" && c.connection_id.is_none())
    );
    assert_eq!(change_data(&after[0])["after"]["name"], "Viewer");
}

on_both_stores!(
    highest_privilege_wins_and_the_default_applies,
    the_last_admin_cannot_be_removed,
    guests_are_never_assigned_through_scim,
    the_user_role_attribute_names_the_role,
    renaming_a_role_keeps_its_assignments,
    role_changes_are_in_the_feed,
);
