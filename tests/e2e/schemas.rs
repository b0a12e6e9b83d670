//! Tenant-defined extension schemas end to end: registered over gRPC (and the CLI), served by
//! the SCIM edge per tenant, enforced on POST/PUT/PATCH, filterable, projected, and driving
//! roles through `userRole`.

use dirsync_proto::v1::schemas_client::SchemasClient;
use dirsync_proto::v1::{
    CreateRoleRequest, DeleteSchemaRequest, ExtensionSchema, GetEntitlementsRequest, GetSchemaRequest,
    ListSchemasRequest, RegisterSchemaRequest, RoleSource, SchemaAttribute, SetRoleSourceRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Grpc, TestApp, patch, urlencode};
use crate::on_both_stores;
use crate::users::user;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/schemas/acme-user.json");

fn attr(name: &str, canonical: &[&str], separator: &str) -> SchemaAttribute {
    SchemaAttribute {
        name: name.into(),
        r#type: "string".into(),
        case_exact: true,
        canonical_values: canonical.iter().map(|s| (*s).to_string()).collect(),
        separator: separator.into(),
        ..Default::default()
    }
}

/// The example: teams (a comma list of team names), absenceRegion, userRole.
fn acme_schema() -> ExtensionSchema {
    ExtensionSchema {
        urn: ACME.into(),
        name: "AcmeUser".into(),
        description: "Acme's user attributes".into(),
        resource_type: "User".into(),
        attributes: vec![
            attr("teams", &["Blue", "Red", "Green", "Platform Team"], ","),
            attr("absenceRegion", &["EU", "US", "APAC"], ""),
            attr("userRole", &["Admin", "Member", "Viewer"], ""),
        ],
        ..Default::default()
    }
}

async fn schemas(app: &TestApp) -> SchemasClient<Grpc> {
    SchemasClient::new(app.channel().await)
}

async fn register(app: &TestApp, tenant: &str, schema: ExtensionSchema) -> ExtensionSchema {
    schemas(app)
        .await
        .register_schema(RegisterSchemaRequest {
            tenant_id: tenant.into(),
            schema: Some(schema),
        })
        .await
        .unwrap()
        .into_inner()
}

fn acme_user(name: &str, ext: Value) -> Value {
    let mut body = user(name);
    body[ACME] = ext;
    body["schemas"].as_array_mut().unwrap().push(json!(ACME));
    body
}

async fn count(app: &TestApp, filter: &str) -> u64 {
    let url = format!("/Users?filter={}", urlencode(filter));
    let r = app.scim(Method::GET, &url, None).await;
    r.expect(200);
    r.body["totalResults"].as_u64().unwrap()
}

async fn discovery_and_isolation(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    let other = app.new_tenant("other").await;
    // /Schemas, /Schemas/{urn} and /ResourceTypes, per tenant.
    let listed = app.scim(Method::GET, "/Schemas", None).await;
    listed.expect(200);
    let acme = listed.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == ACME)
        .cloned()
        .unwrap_or_else(|| panic!("{ACME} missing: {}", listed.body));
    let teams = acme["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "teams")
        .unwrap();
    assert_eq!(
        teams["canonicalValues"],
        json!(["Blue", "Red", "Green", "Platform Team"])
    );
    assert_eq!(teams["separator"], ",");
    assert_eq!(teams["caseExact"], true);
    let one = app.scim(Method::GET, &format!("/Schemas/{ACME}"), None).await;
    one.expect(200);
    assert_eq!(one.body["id"], ACME);
    let rt = app.scim(Method::GET, "/ResourceTypes/User", None).await;
    rt.expect(200);
    assert!(
        rt.body["schemaExtensions"]
            .as_array()
            .unwrap()
            .contains(&json!({"schema": ACME, "required": false})),
        "{}",
        rt.body
    );
    let other_get = |path: String| {
        let (app, other) = (&app, &other);
        async move {
            app.send(
                Method::GET,
                &format!("{}{path}", other.scim),
                Some(&other.token),
                None,
                &[],
            )
            .await
        }
    };
    let theirs = other_get("/Schemas".into()).await;
    theirs.expect(200);
    assert!(!theirs.body.to_string().contains(ACME), "{}", theirs.body);
    other_get(format!("/Schemas/{ACME}")).await.expect_error(404, None);
    let rt = other_get("/ResourceTypes".into()).await;
    assert!(!rt.body.to_string().contains(ACME), "{}", rt.body);
    // The other tenant cannot address the attributes.
    let created = app
        .send(
            Method::POST,
            &format!("{}/Users", other.scim),
            Some(&other.token),
            Some(user("o@x.test")),
            &[],
        )
        .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    app.send(
        Method::PATCH,
        &format!("{}/Users/{id}", other.scim),
        Some(&other.token),
        Some(patch(
            json!([{"op": "replace", "path": format!("{ACME}:teams"), "value": "Blue"}]),
        )),
        &[],
    )
    .await
    .expect_error(400, Some("invalidPath"));
}

async fn writes_are_validated(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    // POST: valid values round-trip; invalid ones are 400 invalidValue and store nothing.
    let valid = json!({"teams": "Blue, Platform Team", "absenceRegion": "EU", "userRole": "Member"});
    let r = app
        .scim(Method::POST, "/Users", Some(acme_user("ok@x.test", valid.clone())))
        .await;
    r.expect(201);
    assert_eq!(r.body[ACME], valid);
    assert!(
        r.body["schemas"].as_array().unwrap().contains(&json!(ACME)),
        "{}",
        r.body
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.body[ACME], valid);

    let invalid = [
        (
            json!({"absenceRegion": "eu"}),
            "\"eu\", which is not one of \"EU\", \"US\", \"APAC\"",
        ),
        (json!({"absenceRegion": "Mars"}), "\"Mars\""),
        (json!({"teams": "Blue,Purple"}), "\"Purple\""),
        (json!({"teams": "blue"}), "\"blue\""),
        (json!({"userRole": "admin"}), "userRole"),
        (json!({"teem": "Blue"}), "'teem' is not defined"),
        // A number sent for a string is read as its digits ("5"), which is not a team.
        (json!({"teams": 5}), "\"5\""),
    ];
    for (i, (ext, detail)) in invalid.iter().enumerate() {
        let name = format!("bad{i}@x.test");
        let r = app
            .scim(Method::POST, "/Users", Some(acme_user(&name, ext.clone())))
            .await;
        r.expect_error(400, Some("invalidValue"));
        assert!(r.body["detail"].as_str().unwrap().contains(detail), "{ext}: {}", r.body);
        assert_eq!(count(&app, &format!("userName eq \"{name}\"")).await, 0, "{ext}");
    }

    // PUT: valid replaces, invalid changes nothing.
    let next = json!({"teams": "Red", "absenceRegion": "APAC"});
    let r = app
        .scim(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(acme_user("ok@x.test", next.clone())),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body[ACME], next);
    let bad = acme_user("ok@x.test", json!({"teams": "Red,Nope"}));
    app.scim(Method::PUT, &format!("/Users/{id}"), Some(bad))
        .await
        .expect_error(400, Some("invalidValue"));
    let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.body[ACME], next);

    // PATCH: by path, by URN-keyed value, remove; invalid values and unknown paths refused.
    let path = |a: &str| format!("{ACME}:{a}");
    let cases = [
        (
            json!([{"op": "replace", "path": path("absenceRegion"), "value": "US"}]),
            json!({"teams": "Red", "absenceRegion": "US"}),
        ),
        (
            json!([{"op": "add", "value": {ACME: {"teams": "Green,Blue"}}}]),
            json!({"teams": "Green,Blue", "absenceRegion": "US"}),
        ),
        (
            json!([{"op": "replace", "value": {path("userRole"): "Viewer"}}]),
            json!({"teams": "Green,Blue", "absenceRegion": "US", "userRole": "Viewer"}),
        ),
        (
            json!([{"op": "remove", "path": path("teams")}]),
            json!({"absenceRegion": "US", "userRole": "Viewer"}),
        ),
    ];
    for (ops, want) in cases {
        let r = app
            .scim(Method::PATCH, &format!("/Users/{id}"), Some(patch(ops.clone())))
            .await;
        r.expect(200);
        assert_eq!(r.body[ACME], want, "{ops}");
    }
    let refused = [
        (
            json!([{"op": "replace", "path": path("absenceRegion"), "value": "us"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "add", "value": {ACME: {"teams": "Blue,Nope"}}}]),
            "invalidValue",
        ),
        (
            json!([{"op": "add", "path": path("nope"), "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:unregistered:2.0:User:x", "value": "x"}]),
            "invalidPath",
        ),
    ];
    for (ops, scim_type) in refused {
        app.scim(Method::PATCH, &format!("/Users/{id}"), Some(patch(ops)))
            .await
            .expect_error(400, Some(scim_type));
    }
    let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.body[ACME], json!({"absenceRegion": "US", "userRole": "Viewer"}));
}

async fn filters_and_projection(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    for (name, ext) in [
        ("a@x.test", json!({"teams": "Blue,Red", "absenceRegion": "EU"})),
        ("b@x.test", json!({"teams": "Red", "absenceRegion": "US"})),
        ("c@x.test", json!({"absenceRegion": "EU"})),
    ] {
        app.scim(Method::POST, "/Users", Some(acme_user(name, ext)))
            .await
            .expect(201);
    }
    let cases = [
        (format!("{ACME}:absenceRegion eq \"EU\""), 2),
        ("absenceRegion eq \"US\"".to_owned(), 1),
        (format!("{ACME}:teams co \"Blue\""), 1),
        (format!("{ACME}:teams co \"Red\""), 2),
        (format!("{ACME}:teams pr"), 2),
        (format!("{ACME}:absenceRegion eq \"EU\" and {ACME}:teams co \"Red\""), 1),
        (format!("not ({ACME}:teams pr)"), 1),
    ];
    for (filter, want) in cases {
        assert_eq!(count(&app, &filter).await, want, "{filter}");
    }
    let url = format!(
        "/Users?filter={}&attributes={}",
        urlencode("userName eq \"a@x.test\""),
        urlencode(&format!("{ACME}:teams"))
    );
    let r = app.scim(Method::GET, &url, None).await;
    r.expect(200);
    let u = &r.body["Resources"][0];
    assert_eq!(u[ACME], json!({"teams": "Blue,Red"}), "{u}");
    assert!(u.get("emails").is_none(), "{u}");
    let url = format!(
        "/Users?filter={}&excludedAttributes={}",
        urlencode("userName eq \"a@x.test\""),
        urlencode(&format!("{ACME}:teams"))
    );
    let r = app.scim(Method::GET, &url, None).await;
    assert_eq!(
        r.body["Resources"][0][ACME],
        json!({"absenceRegion": "EU"}),
        "{}",
        r.body
    );
}

async fn deleting_a_schema(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(acme_user("d@x.test", json!({"teams": "Blue"}))),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    schemas(&app)
        .await
        .delete_schema(DeleteSchemaRequest {
            tenant_id: app.tenant_id.clone(),
            urn: ACME.to_uppercase(),
        })
        .await
        .unwrap();
    let listed = app.scim(Method::GET, "/Schemas", None).await;
    assert!(!listed.body.to_string().contains(ACME), "{}", listed.body);
    app.scim(Method::GET, &format!("/Schemas/{ACME}"), None)
        .await
        .expect_error(404, None);
    // Stored values stay; the URN is no longer a PATCH target.
    let got = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.body[ACME], json!({"teams": "Blue"}));
    app.scim(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(patch(
            json!([{"op": "replace", "path": format!("{ACME}:teams"), "value": "Red"}]),
        )),
    )
    .await
    .expect_error(400, Some("invalidPath"));
}

async fn role_of(app: &TestApp, id: &str) -> Option<String> {
    app.directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .map(|r| r.name)
}

async fn user_role_drives_roles(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    let mut admin = app.admin().await;
    for (name, rank, is_admin) in [("Admin", 100, true), ("Member", 10, false)] {
        admin
            .create_role(CreateRoleRequest {
                tenant_id: app.tenant_id.clone(),
                name: name.into(),
                rank,
                is_admin,
                is_guest: false,
                is_default: false,
            })
            .await
            .unwrap();
    }
    admin
        .set_role_source(SetRoleSourceRequest {
            tenant_id: app.tenant_id.clone(),
            source: RoleSource::Attribute as i32,
        })
        .await
        .unwrap();
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(acme_user("r@x.test", json!({"userRole": "Member"}))),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(role_of(&app, &id).await.as_deref(), Some("Member"));
    let set = |v: &str| patch(json!([{"op": "replace", "path": format!("{ACME}:userRole"), "value": v}]));
    app.scim(Method::PATCH, &format!("/Users/{id}"), Some(set("Admin")))
        .await
        .expect(200);
    assert_eq!(role_of(&app, &id).await.as_deref(), Some("Admin"));
    // A wrong-case role is refused by the schema, so the role stays.
    app.scim(Method::PATCH, &format!("/Users/{id}"), Some(set("member")))
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(role_of(&app, &id).await.as_deref(), Some("Admin"));
}

async fn schema_rpcs(app: TestApp) {
    let mut client = schemas(&app).await;
    let other = app.new_tenant("other").await;
    // Invalid definitions: INVALID_ARGUMENT with a message naming the problem.
    let with = |f: fn(&mut ExtensionSchema)| {
        let mut s = acme_schema();
        f(&mut s);
        s
    };
    let invalid = [
        (with(|s| s.urn = "acme:User".into()), "must start with \"urn:\""),
        (
            with(|s| s.urn = "urn:ietf:params:scim:schemas:core:2.0:User".into()),
            "built in",
        ),
        (with(|s| s.resource_type = "Device".into()), "not one of User, Group"),
        (
            with(|s| s.attributes[0].name = "2teams".into()),
            "must start with a letter",
        ),
        (with(|s| s.attributes[1].name = "TEAMS".into()), "defined twice"),
        (with(|s| s.attributes[0].r#type = "complex".into()), "use one of"),
        (
            with(|s| s.attributes[0].r#type = "integer".into()),
            "only allowed on string",
        ),
        (with(|s| s.attributes.clear()), "no attributes"),
    ];
    for (schema, want) in invalid {
        let e = client
            .register_schema(RegisterSchemaRequest {
                tenant_id: app.tenant_id.clone(),
                schema: Some(schema),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{want}: {e:?}");
        assert!(e.message().contains(want), "{want}: {}", e.message());
    }
    let lister = client.clone();
    let list = |tenant: String, rt: Option<&str>| {
        let mut client = lister.clone();
        let rt = rt.map(str::to_owned);
        async move {
            client
                .list_schemas(ListSchemasRequest {
                    tenant_id: tenant,
                    resource_type: rt,
                })
                .await
                .unwrap()
                .into_inner()
                .schemas
        }
    };
    assert!(list(app.tenant_id.clone(), None).await.is_empty(), "nothing stored");
    // Register, then replace by URN (case-insensitively).
    let first = register(&app, &app.tenant_id, acme_schema()).await;
    assert_eq!(first.attributes.len(), 3);
    let mut replaced = acme_schema();
    replaced.urn = ACME.to_uppercase();
    replaced.attributes.truncate(1);
    register(&app, &app.tenant_id, replaced).await;
    let mine = list(app.tenant_id.clone(), None).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].attributes.len(), 1);
    assert_eq!(mine[0].attributes[0].separator, ",");
    let group_ext = ExtensionSchema {
        urn: "urn:example:acme:Group".into(),
        resource_type: "group".into(),
        attributes: vec![attr("costCode", &["A1", "B2"], "")],
        ..Default::default()
    };
    let g = register(&app, &app.tenant_id, group_ext).await;
    assert_eq!((g.resource_type.as_str(), g.name.as_str()), ("Group", "Group"));
    assert_eq!(list(app.tenant_id.clone(), Some("Group")).await.len(), 1);
    assert_eq!(list(app.tenant_id.clone(), Some("user")).await.len(), 1);
    assert_eq!(list(app.tenant_id.clone(), None).await.len(), 2);
    // Group extensions are enforced on /Groups.
    app.scim(
        Method::POST,
        "/Groups",
        Some(json!({"displayName": "g1", "urn:example:acme:Group": {"costCode": "a1"}})),
    )
    .await
    .expect_error(400, Some("invalidValue"));
    let g = app
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "g2", "urn:example:acme:Group": {"costCode": "A1"}})),
        )
        .await;
    g.expect(201);
    assert!(
        g.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:example:acme:Group")),
        "{}",
        g.body
    );

    // Cross-tenant: the other tenant sees, gets and deletes nothing of ours.
    assert!(list(other.id.clone(), None).await.is_empty());
    let e = client
        .get_schema(GetSchemaRequest {
            tenant_id: other.id.clone(),
            urn: ACME.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = client
        .delete_schema(DeleteSchemaRequest {
            tenant_id: other.id.clone(),
            urn: ACME.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    register(&app, &other.id, acme_schema()).await;
    assert_eq!(list(other.id.clone(), None).await[0].attributes.len(), 3);
    assert_eq!(list(app.tenant_id.clone(), Some("User")).await[0].attributes.len(), 1);
    let got = client
        .get_schema(GetSchemaRequest {
            tenant_id: app.tenant_id.clone(),
            urn: ACME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.tenant_id, app.tenant_id);
    // Unknown tenant.
    let e = client
        .register_schema(RegisterSchemaRequest {
            tenant_id: uuid::Uuid::now_v7().to_string(),
            schema: Some(acme_schema()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

/// `dirsync admin schema register --file` with the example file, then show/list/delete.
async fn cli_round_trip(app: TestApp) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dirsync"))
            .args([
                "admin",
                "--core-url",
                &app.grpc,
                "--service-key",
                &app.keys.test,
                "--output",
                "json",
                "schema",
            ])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let t = app.tenant_id.as_str();
    let (ok, out, err) = run(&["register", "--tenant", t, "--file", EXAMPLE]);
    assert!(ok, "{err}");
    let registered: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(registered["id"], ACME);
    let (_, out, _) = run(&["show", "--tenant", t, "--urn", ACME]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let example: Value = serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap();
    for key in ["id", "name", "description", "resourceType"] {
        assert_eq!(shown[key], example[key], "{key}");
    }
    let names = |v: &Value| -> Vec<Value> {
        v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let mutability = a.get("mutability").cloned().unwrap_or(json!("readWrite"));
                json!([
                    a["name"],
                    a["canonicalValues"],
                    a.get("separator"),
                    mutability,
                    a.get("keptOnRemoval")
                ])
            })
            .collect()
    };
    assert_eq!(names(&shown), names(&example));
    let (_, out, _) = run(&["list", "--tenant", t]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["schemas"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The served form registers too (what /Schemas returns).
    let served = app.scim(Method::GET, &format!("/Schemas/{ACME}"), None).await;
    let file = std::env::temp_dir().join(format!("dirsync-schema-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, served.body.to_string()).unwrap();
    let (ok, _, err) = run(&["register", "--tenant", t, "--file", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(ok, "{err}");
    // A bad file names the problem; nothing changes.
    let (ok, _, err) = run(&["register", "--tenant", t, "--file", "/nonexistent.json"]);
    assert!(!ok && err.contains("/nonexistent.json"), "{err}");
    let (ok, out, err) = run(&["delete", "--tenant", t, "--urn", ACME]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["deleted"], ACME);
    let (ok, _, err) = run(&["show", "--tenant", t, "--urn", ACME]);
    assert!(!ok && err.contains("not found"), "{err}");
}

/// An absence region the IdP may set and change but never clear, and one attribute of each
/// RFC 7643 mutability.
fn mutability_schema() -> ExtensionSchema {
    let with = |name: &str, mutability: &str, kept: bool| SchemaAttribute {
        mutability: mutability.into(),
        kept_on_removal: kept,
        ..attr(name, &[], "")
    };
    ExtensionSchema {
        urn: ACME.into(),
        resource_type: "User".into(),
        attributes: vec![
            SchemaAttribute {
                kept_on_removal: true,
                ..attr("absenceRegion", &["EU", "US", "APAC"], "")
            },
            with("note", "", false),
            with("employeeNo", "immutable", false),
            with("score", "readOnly", false),
            with("pin", "writeOnly", true),
        ],
        ..Default::default()
    }
}

async fn grpc_doc(app: &TestApp, id: &str) -> Value {
    let u = app
        .directory()
        .await
        .get_user(dirsync_proto::v1::GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.into(),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    serde_json::from_str(&u.document).unwrap()
}

async fn mutability_and_kept_on_removal_are_honoured(app: TestApp) {
    // Declared mutability is stored and served as declared (not as readWrite).
    let stored = register(&app, &app.tenant_id, mutability_schema()).await;
    let got: Vec<(&str, &str, bool)> = stored
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.mutability.as_str(), a.kept_on_removal))
        .collect();
    assert_eq!(
        got,
        [
            ("absenceRegion", "readWrite", true),
            ("note", "readWrite", false),
            ("employeeNo", "immutable", false),
            ("score", "readOnly", false),
            ("pin", "writeOnly", true),
        ]
    );
    let served = app.scim(Method::GET, &format!("/Schemas/{ACME}"), None).await;
    served.expect(200);
    let by_name = |n: &str| {
        served.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("employeeNo")["mutability"], "immutable");
    assert_eq!(by_name("pin")["returned"], "never");
    assert_eq!(by_name("absenceRegion")["keptOnRemoval"], true);
    // Definitions that cannot hold are refused.
    let mut client = schemas(&app).await;
    for (mutability, kept, why) in [
        (
            "sometimes",
            false,
            "use one of readOnly, readWrite, immutable, writeOnly",
        ),
        (
            "immutable",
            true,
            "keptOnRemoval needs a readWrite or writeOnly attribute",
        ),
        ("readOnly", true, "keptOnRemoval needs"),
    ] {
        let mut bad = mutability_schema();
        bad.attributes[1].mutability = mutability.into();
        bad.attributes[1].kept_on_removal = kept;
        let e = client
            .register_schema(RegisterSchemaRequest {
                tenant_id: app.tenant_id.clone(),
                schema: Some(bad),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains(why), "{e:?}");
    }

    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(acme_user(
                "kept@x.test",
                json!({"absenceRegion": "EU", "note": "n", "employeeNo": "E1", "score": 5, "pin": "1234"}),
            )),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // readOnly from the IdP is ignored; writeOnly is stored for the product, never returned.
    assert_eq!(
        r.body[ACME],
        json!({"absenceRegion": "EU", "note": "n", "employeeNo": "E1"})
    );
    assert_eq!(grpc_doc(&app, &id).await[ACME]["pin"], "1234");
    assert!(grpc_doc(&app, &id).await[ACME].get("score").is_none());

    let path = format!("{ACME}:absenceRegion");
    let url = format!("/Users/{id}");
    let region = || {
        let (app, url) = (&app, url.clone());
        async move {
            let r = app.scim(Method::GET, &url, None).await;
            r.expect(200);
            r.body[ACME]["absenceRegion"].clone()
        }
    };
    // Each way an IdP clears a value: the request succeeds, the value stays.
    let put_body = acme_user("kept@x.test", json!({"note": "m", "employeeNo": "E1"}));
    let clears = [
        (
            "PATCH remove",
            Method::PATCH,
            patch(json!([{"op": "remove", "path": path}])),
        ),
        (
            "PATCH replace with \"\"",
            Method::PATCH,
            patch(json!([{"op": "replace", "path": path, "value": ""}])),
        ),
        (
            "PATCH replace with null",
            Method::PATCH,
            patch(json!([{"op": "replace", "path": path, "value": null}])),
        ),
        ("PUT without it", Method::PUT, put_body),
    ];
    for (case, method, body) in clears {
        let r = app.scim(method, &url, Some(body)).await;
        r.expect(200);
        assert_eq!(r.body[ACME]["absenceRegion"], "EU", "{case}: {}", r.body);
        assert_eq!(region().await, "EU", "{case}");
    }
    // The PUT removed the note (not kept) and the writeOnly pin (kept).
    let doc = grpc_doc(&app, &id).await;
    assert_eq!(doc[ACME]["note"], "m");
    assert_eq!(doc[ACME]["pin"], "1234");
    // Each of those requests has a sync-log line that says what was kept.
    let kept_lines = app
        .sync_log()
        .await
        .into_iter()
        .filter(|e| e.summary.contains(&format!("kept on removal: {ACME}:absenceRegion")))
        .count();
    assert_eq!(kept_lines, 4);
    // Changing the value is the IdP's right.
    app.scim(
        Method::PATCH,
        &url,
        Some(patch(json!([{"op": "replace", "path": path, "value": "US"}]))),
    )
    .await
    .expect(200);
    assert_eq!(region().await, "US");
    // immutable: never changed or removed; readOnly: never written by PATCH.
    for (attr, value) in [("employeeNo", json!("E2")), ("score", json!(6))] {
        app.scim(
            Method::PATCH,
            &url,
            Some(patch(
                json!([{"op": "replace", "path": format!("{ACME}:{attr}"), "value": value}]),
            )),
        )
        .await
        .expect_error(400, Some("mutability"));
    }
    app.scim(
        Method::PATCH,
        &url,
        Some(patch(json!([{"op": "remove", "path": format!("{ACME}:employeeNo")}]))),
    )
    .await
    .expect_error(400, Some("mutability"));
    assert_eq!(grpc_doc(&app, &id).await[ACME]["employeeNo"], "E1");
}

/// With roles from `userRole`, an IdP that removes or empties the attribute keeps the user's
/// role rather than demoting it to the default.
async fn a_removed_user_role_keeps_the_role(app: TestApp) {
    register(&app, &app.tenant_id, acme_schema()).await;
    let mut admin = app.admin().await;
    for (name, rank, is_admin, is_default) in [("Admin", 100, true, false), ("Member", 10, false, true)] {
        admin
            .create_role(CreateRoleRequest {
                tenant_id: app.tenant_id.clone(),
                name: name.into(),
                rank,
                is_admin,
                is_guest: false,
                is_default,
            })
            .await
            .unwrap();
    }
    admin
        .set_role_source(SetRoleSourceRequest {
            tenant_id: app.tenant_id.clone(),
            source: RoleSource::Attribute as i32,
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (name, role) in [("a@x.test", "Admin"), ("b@x.test", "Admin")] {
        let r = app
            .scim(Method::POST, "/Users", Some(acme_user(name, json!({"userRole": role}))))
            .await;
        r.expect(201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let path = format!("{ACME}:userRole");
    let removals = [
        patch(json!([{"op": "remove", "path": path}])),
        patch(json!([{"op": "replace", "path": path, "value": ""}])),
    ];
    for (id, body) in ids.iter().zip(removals) {
        app.scim(Method::PATCH, &format!("/Users/{id}"), Some(body))
            .await
            .expect(200);
        assert_eq!(
            role_of(&app, id).await.as_deref(),
            Some("Admin"),
            "not demoted to Member"
        );
    }
    // A PUT without it keeps the role too; a new name still moves it.
    app.scim(Method::PUT, &format!("/Users/{}", ids[0]), Some(user("a@x.test")))
        .await
        .expect(200);
    assert_eq!(role_of(&app, &ids[0]).await.as_deref(), Some("Admin"));
    app.scim(
        Method::PATCH,
        &format!("/Users/{}", ids[0]),
        Some(patch(json!([{"op": "replace", "path": path, "value": "Member"}]))),
    )
    .await
    .expect(200);
    assert_eq!(role_of(&app, &ids[0]).await.as_deref(), Some("Member"));
    // A new user without userRole starts with the default.
    let r = app.scim(Method::POST, "/Users", Some(user("c@x.test"))).await;
    r.expect(201);
    assert_eq!(
        role_of(&app, r.body["id"].as_str().unwrap()).await.as_deref(),
        Some("Member")
    );
}

/// An edge reuses a tenant's schemas for its `schema_cache_ttl`: with ten minutes a schema
/// registered after the first request is not served there yet, with zero it is at once.
async fn schemas_are_reused_for_their_time_to_live(app: TestApp) {
    use std::time::Duration;
    for (ttl, served) in [(Duration::ZERO, true), (Duration::from_secs(600), false)] {
        let root = app
            .edge_with(dirsync_edge::EdgeConfig {
                schema_cache_ttl: ttl,
                ..Default::default()
            })
            .await;
        let tenant = app.new_tenant("cached").await;
        let url = format!("{root}/scim/v2/{}/Schemas", tenant.id);
        let before = app.send(Method::GET, &url, Some(&tenant.token), None, &[]).await;
        before.expect(200);
        assert!(!before.body.to_string().contains(ACME), "{}", before.body);
        register(&app, &tenant.id, acme_schema()).await;
        let after = app.send(Method::GET, &url, Some(&tenant.token), None, &[]).await;
        after.expect(200);
        assert_eq!(after.body.to_string().contains(ACME), served, "time to live {ttl:?}");
    }
}

on_both_stores!(
    schemas_are_reused_for_their_time_to_live,
    discovery_and_isolation,
    writes_are_validated,
    filters_and_projection,
    deleting_a_schema,
    user_role_drives_roles,
    schema_rpcs,
    cli_round_trip,
    mutability_and_kept_on_removal_are_honoured,
    a_removed_user_role_keeps_the_role,
);
