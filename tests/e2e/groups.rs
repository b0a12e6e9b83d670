//! SCIM Groups end to end: members as set-based changes, the shapes IdPs send.

use dirsync_proto::v1::{
    CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, GroupSpec, ListGroupsRequest, PatchGroupRequest,
    ReplaceGroupRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Backend, Store, TestApp, assert_status, patch};
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

    // Entra: add several members at once, re-adding an existing one succeeds (docs/idp/notes.md B1.6).
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

fn group(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})
}

fn spec(name: &str) -> GroupSpec {
    GroupSpec {
        display_name: name.to_owned(),
        external_id: None,
        document: json!({"displayName": name}).to_string(),
    }
}

/// Entra's SCIM guidance: a group's displayName is unique; role and license mappings by name
/// rely on it. Case is ignored, Unicode-aware.
async fn group_names_are_unique_per_tenant_ignoring_case(app: TestApp) {
    let r = app.scim(Method::POST, "/Groups", Some(group("Ärzte"))).await;
    r.expect(201);
    let a = r.body["id"].as_str().unwrap().to_owned();
    let r = app.scim(Method::POST, "/Groups", Some(group("Sales"))).await;
    r.expect(201);
    let b = r.body["id"].as_str().unwrap().to_owned();
    let b_path = format!("/Groups/{b}");
    // (method, path, body): each takes "Ärzte" in another case; 409 naming group a.
    for (method, path, body) in [
        (Method::POST, "/Groups".to_owned(), group("ÄRZTE")),
        (Method::PUT, b_path.clone(), group("ärzte")),
        (
            Method::PATCH,
            b_path.clone(),
            patch(json!([{"op": "replace", "path": "displayName", "value": "ärztE"}])),
        ),
        (
            Method::PATCH,
            b_path.clone(),
            patch(json!([{"op": "Replace", "value": {"displayName": "ÄRZTE"}}])),
        ),
    ] {
        let r = app.scim(method.clone(), &path, Some(body.clone())).await;
        r.expect_error(409, Some("uniqueness"));
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(&a), "{method} {body}: {detail}");
    }
    assert_eq!(app.scim(Method::GET, &b_path, None).await.body["displayName"], "Sales");
    // Entra matches groups by `displayName eq`: it finds the group a create would collide with.
    let found = app
        .scim(
            Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22%C3%A4RZTE%22",
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], a.as_str());
    // Its own name in another case is no conflict.
    app.scim(Method::PUT, &b_path, Some(group("SALES"))).await.expect(200);
    // Another tenant has its own names.
    let other = app.new_tenant("other").await;
    app.send(
        Method::POST,
        &format!("{}/Groups", other.scim),
        Some(&other.token),
        Some(group("ärzte")),
        &[],
    )
    .await
    .expect(201);
    // The gRPC API says the same.
    let mut dir = app.directory().await;
    let err = dir
        .create_group(CreateGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group: Some(spec("ärzte")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", &a);
    let err = dir
        .patch_group(PatchGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: b.clone(),
            group: Some(spec("Ärzte")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", &a);
    // A deleted group frees its name.
    app.scim(Method::DELETE, &format!("/Groups/{a}"), None)
        .await
        .expect(204);
    app.scim(Method::POST, "/Groups", Some(group("ärzte")))
        .await
        .expect(201);
}

/// `count` users of the app's connection, written straight into the store in multi-row
/// inserts (60,000 `CreateUser` calls would take minutes); returns their ids.
async fn insert_users(app: &TestApp, count: usize) -> Vec<String> {
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, Database};

    let db = Database::connect(&app.store_url).await.unwrap();
    let tenant: uuid::Uuid = app.tenant_id.parse().unwrap();
    let connection: uuid::Uuid = app.connection_id.parse().unwrap();
    let now = dirsync_telemetry::now_ms();
    let columns = [
        "id",
        "tenant_id",
        "connection_id",
        "source",
        "user_name",
        "user_name_key",
        "active",
        "display_name",
        "display_name_key",
        "document",
        "version",
        "created_at",
        "updated_at",
    ];
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("users")).columns(columns.map(Alias::new));
        for i in chunk {
            let id = uuid::Uuid::now_v7();
            let name = format!("m{i}@large.example");
            let display = format!("Member {i}");
            insert.values_panic([
                id.into(),
                tenant.into(),
                connection.into(),
                "scim".into(),
                name.clone().into(),
                name.clone().into(),
                true.into(),
                display.clone().into(),
                display.to_lowercase().into(),
                json!({"userName": name, "displayName": display}).into(),
                1i64.into(),
                now.into(),
                now.into(),
            ]);
            ids.push(id.to_string());
        }
        db.execute(&insert).await.unwrap();
    }
    db.close().await.unwrap();
    ids
}

/// A group of 60,000 members: `GET /Groups/{id}` streams them from the core into the body
/// (chunked, no Content-Length: never built whole in memory, never one gRPC message), and the
/// body is one valid document with every member once, projected like any other response.
async fn a_large_group_is_streamed(app: TestApp) {
    use dirsync_proto::v1::{IdList, MemberChange, member_change};
    const MEMBERS: usize = 60_000;
    let ids = insert_users(&app, MEMBERS).await;
    let mut dir = app.directory().await;
    let group = dir
        .create_group(CreateGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group: Some(GroupSpec {
                display_name: "Everyone".into(),
                document: "{}".into(),
                ..Default::default()
            }),
            member_ids: Vec::new(),
            connection_id: Some(app.connection_id.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    for batch in ids.chunks(10_000) {
        dir.patch_group(PatchGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: group.id.clone(),
            member_changes: vec![MemberChange {
                kind: Some(member_change::Kind::Add(IdList { ids: batch.to_vec() })),
            }],
            connection_id: Some(app.connection_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let version = dir
        .get_group(GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: group.id.clone(),
            include_members: false,
            connection_id: Some(app.connection_id.clone()),
        })
        .await
        .unwrap()
        .into_inner()
        .version;
    let want: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    // (query, the keys of each member, or None when members are not in the response)
    let cases: [(&str, Option<&[&str]>); 4] = [
        ("", Some(&["$ref", "display", "type", "value"])),
        ("?attributes=members.value", Some(&["value"])),
        ("?excludedAttributes=members.display", Some(&["$ref", "type", "value"])),
        ("?excludedAttributes=members", None),
    ];
    for (query, member_keys) in cases {
        let r = app
            .scim(Method::GET, &format!("/Groups/{}{query}", group.id), None)
            .await;
        r.expect(200);
        assert_eq!(r.header("etag"), Some(format!("W/\"{version}\"").as_str()), "{query}");
        assert!(r.header("location").is_some_and(|l| l.ends_with(&group.id)), "{query}");
        assert_eq!(r.body["id"], group.id.as_str(), "{query}");
        assert_eq!(
            r.body["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
        );
        let Some(keys) = member_keys else {
            assert!(r.body.get("members").is_none(), "{query}");
            assert!(
                r.header("content-length").is_some(),
                "{query}: a small body is sent whole"
            );
            continue;
        };
        assert!(
            r.header("content-length").is_none(),
            "{query}: the members are streamed"
        );
        let members = r.body["members"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: no members array"));
        assert_eq!(members.len(), MEMBERS, "{query}");
        let got: std::collections::HashSet<&str> = members.iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(got, want, "{query}");
        for m in members {
            let mut have: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
            have.sort_unstable();
            assert_eq!(have, keys, "{query}: {m}");
        }
        if keys.contains(&"display") {
            let first = &members[0];
            let i = ids
                .iter()
                .position(|id| id == first["value"].as_str().unwrap())
                .unwrap();
            assert_eq!(first["display"], format!("Member {i}"));
            assert_eq!(first["type"], "User");
            assert!(first["$ref"].as_str().unwrap().ends_with(&format!("/Users/{}", ids[i])));
        }
        if query.is_empty() {
            assert_eq!(r.body["displayName"], "Everyone");
            assert_eq!(r.body["meta"]["version"], format!("W/\"{version}\""));
        }
    }
    // An unchanged group answers 304 without streaming anything.
    let etag = format!("W/\"{version}\"");
    let r = app
        .send(
            Method::GET,
            &format!("{}/Groups/{}", app.scim, group.id),
            Some(&app.token),
            None,
            &[("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.status.as_u16(), 304);
    // A write answered with the members streams them too.
    let r = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{}?attributes=displayName,members.value", group.id),
            Some(patch(json!([{"op": "replace", "path": "displayName", "value": "All"}]))),
        )
        .await;
    r.expect(200);
    assert!(r.header("content-length").is_none());
    assert_eq!(r.body["displayName"], "All");
    assert_eq!(r.body["members"].as_array().unwrap().len(), MEMBERS);
}

on_both_stores!(
    group_lifecycle,
    put_keeps_or_replaces_members,
    large_membership_patch,
    a_large_group_is_streamed,
    group_names_are_unique_per_tenant_ignoring_case
);

/// A store that already holds groups of the same name (before migration 000012) migrates and
/// starts: every group keeps its name, id and members; the oldest holds the name, and no new
/// group or rename may take it while any of them has it.
async fn a_store_with_duplicate_group_names_migrates_and_starts(backend: Backend) {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    let Some((store, db, tenant)) = Store::before_migration(backend, "m20261201_000012_group_names").await else {
        return;
    };
    // Oldest first: "Sales" holds the name after the migration.
    let names = ["Sales", "sales", "SALES", "Ops"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        db.execute(
            &Query::insert()
                .into_table(Alias::new("groups"))
                .columns(
                    [
                        "id",
                        "tenant_id",
                        "display_name",
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
                    (*name).into(),
                    json!({"displayName": name}).into(),
                    1i64.into(),
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
    let listed = dir
        .list_groups(ListGroupsRequest {
            tenant_id: tenant_id.clone(),
            count: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut got: Vec<(String, String)> = listed.groups.into_iter().map(|g| (g.id, g.display_name)).collect();
    got.sort();
    let want: Vec<(String, String)> = ids.iter().cloned().zip(names.iter().map(|n| n.to_string())).collect();
    assert_eq!(got, want, "every group kept its id and name");
    let create = |name: &str| CreateGroupRequest {
        tenant_id: tenant_id.clone(),
        group: Some(spec(name)),
        ..Default::default()
    };
    // The oldest holds the name.
    let err = dir.create_group(create("sALES")).await.unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", &ids[0]);
    // A group sharing its name can still be written, keeping its name.
    dir.replace_group(ReplaceGroupRequest {
        tenant_id: tenant_id.clone(),
        id: ids[1].clone(),
        group: Some(spec("sales")),
        ..Default::default()
    })
    .await
    .unwrap();
    // Renamed to a free name, it holds that one; it cannot go back.
    let rename = |id: &str, name: &str| PatchGroupRequest {
        tenant_id: tenant_id.clone(),
        id: id.to_owned(),
        group: Some(spec(name)),
        ..Default::default()
    };
    dir.patch_group(rename(&ids[2], "Sales EMEA")).await.unwrap();
    let err = dir.patch_group(rename(&ids[2], "Sales")).await.unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", "is already taken by group");
    let err = dir.create_group(create("sales emea")).await.unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", &ids[2]);
    // With the oldest gone, the one still named so holds the name.
    dir.delete_group(DeleteGroupRequest {
        tenant_id: tenant_id.clone(),
        id: ids[0].clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = dir.create_group(create("Sales")).await.unwrap_err();
    assert_status(&err, Code::AlreadyExists, "UNIQUENESS", &ids[1]);
    let g = dir
        .get_group(GetGroupRequest {
            tenant_id: tenant_id.clone(),
            id: ids[3].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.display_name, "Ops");
    drop(app);
    store.cleanup().await;
}

mod a_store_with_duplicate_group_names_migrates_and_starts {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_store_with_duplicate_group_names_migrates_and_starts(crate::harness::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_store_with_duplicate_group_names_migrates_and_starts(crate::harness::Backend::Postgres).await;
    }
}
