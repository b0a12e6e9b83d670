//! Input bounds (issue 12): every bound answers its 4xx with a detail naming the limit, the
//! process keeps serving, and another tenant's request succeeds right after. The same checks
//! hold on the gRPC API, which is a trust boundary too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_proto::v1::schemas_client::SchemasClient;
use dirsync_proto::v1::{
    self as pb, AttributePath, Comparison, CreateGroupRequest, CreateUserRequest, ExtensionSchema, Filter, FilterList,
    FilterValue, IdList, ListUsersRequest, MemberChange, PatchGroupRequest, RegisterSchemaRequest, SchemaAttribute,
    Sort, UserSpec, filter, filter_value, member_change,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Tenant, TestApp, assert_status, patch, urlencode};
use crate::on_both_stores;

fn enc(s: &str) -> String {
    urlencode(s)
}

fn terms(n: usize, sep: &str) -> String {
    vec!["title pr"; n].join(sep)
}

/// The shortest terms, so that 100,000 of them fit in a request body.
fn short_terms(n: usize) -> String {
    vec!["a pr"; n].join(" or ")
}

/// A request and the error it must get: status, scimType, a part of the detail.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    scim_type: Option<&'static str>,
    detail: &'static str,
}

fn case(name: &'static str, method: Method, path: String, body: Option<Value>) -> Case {
    Case {
        name,
        method,
        path,
        body,
        headers: Vec::new(),
        status: 400,
        scim_type: None,
        detail: "",
    }
}

impl Case {
    fn want(mut self, status: u16, scim_type: Option<&'static str>, detail: &'static str) -> Self {
        self.status = status;
        self.scim_type = scim_type;
        self.detail = detail;
        self
    }
}

fn members(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"value": format!("00000000-0000-7000-8000-{i:012}")}))
        .collect()
}

/// A request of `other`'s that must keep working while `app`'s tenant sends hostile input.
async fn other_tenant_still_served(app: &TestApp, other: &Tenant) {
    let r = app
        .send(
            Method::GET,
            &format!("{}/Users?filter={}", other.scim, enc("userName eq \"neighbour\"")),
            Some(&other.token),
            None,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
}

async fn scim_bounds_answer_4xx_naming_the_limit(app: TestApp) {
    let other = app.new_tenant("neighbour").await;
    app.send(
        Method::POST,
        &format!("{}/Users", other.scim),
        Some(&other.token),
        Some(json!({"userName": "neighbour"})),
        &[],
    )
    .await
    .expect(201);
    let group = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": "Bounded"})))
        .await;
    group.expect(201);
    let group_path = format!("/Groups/{}", group.body["id"].as_str().unwrap());

    let search = |filter: String| {
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter}))
    };
    let add_members = |n: usize| json!({"op": "add", "path": "members", "value": members(n)});
    let cases = vec![
        case(
            "201 terms",
            Method::GET,
            format!("/Users?filter={}", enc(&terms(201, " or "))),
            None,
        )
        .want(
            400,
            Some("invalidFilter"),
            "more than 200 terms (DIRSYNC_MAX_FILTER_TERMS)",
        ),
        case(
            "17 levels",
            Method::GET,
            format!(
                "/Groups?filter={}",
                enc(&format!("{}title pr{}", "(".repeat(17), ")".repeat(17)))
            ),
            None,
        )
        .want(
            400,
            Some("invalidFilter"),
            "more than 16 levels deep (DIRSYNC_MAX_FILTER_DEPTH)",
        ),
        case(
            "10,001-byte filter",
            Method::POST,
            "/Users/.search".into(),
            search(format!("userName eq \"{}\"", "x".repeat(9_990))),
        )
        .want(400, Some("invalidFilter"), "limit of 10000 (DIRSYNC_MAX_FILTER_LENGTH)"),
        case(
            "100,000 terms",
            Method::POST,
            "/Users/.search".into(),
            search(short_terms(100_000)),
        )
        .want(400, Some("invalidFilter"), "DIRSYNC_MAX_FILTER_LENGTH"),
        case(
            "NUL in a filter",
            Method::GET,
            format!("/Users?filter={}", enc("userName eq \"a\\u0000\"")),
            None,
        )
        .want(400, Some("invalidFilter"), "NUL"),
        case(
            "9 KiB query string",
            Method::GET,
            format!("/Users?excludedAttributes=emails&x={}", "y".repeat(9 * 1024)),
            None,
        )
        .want(414, None, "limit of 8192 (DIRSYNC_MAX_QUERY_BYTES)"),
        case(
            "32 KiB query string",
            Method::GET,
            format!(
                "/Users?filter={}",
                enc(&format!("userName eq \"{}\"", "x".repeat(32 * 1024)))
            ),
            None,
        )
        .want(414, None, "DIRSYNC_MAX_QUERY_BYTES"),
        Case {
            headers: vec![("x-padding", "p".repeat(40 * 1024))],
            ..case("40 KiB of headers", Method::GET, "/Users".into(), None).want(
                431,
                None,
                "limit of 32768 (DIRSYNC_MAX_HEADER_BYTES)",
            )
        },
        case(
            "101 attributes",
            Method::GET,
            format!("/Users?attributes={}", vec!["userName"; 101].join(",")),
            None,
        )
        .want(400, Some("invalidSyntax"), "more than the limit of 100"),
        case(
            "long sortBy",
            Method::GET,
            format!("/Users?sortBy={}", "a".repeat(600)),
            None,
        )
        .want(400, Some("invalidSyntax"), "limit of 512"),
        case(
            "1,001 PATCH operations",
            Method::PATCH,
            group_path.clone(),
            Some(patch(Value::Array(vec![
                json!({"op": "replace", "path": "displayName", "value": "x"});
                1001
            ]))),
        )
        .want(400, Some("tooMany"), "limit of 1000 (DIRSYNC_MAX_PATCH_OPERATIONS)"),
        case(
            "10,001 values in one operation",
            Method::PATCH,
            group_path.clone(),
            Some(patch(json!([add_members(10_001)]))),
        )
        .want(400, Some("tooMany"), "limit of 10000 (DIRSYNC_MAX_PATCH_VALUES)"),
        case(
            "12,000 members over two operations",
            Method::PATCH,
            group_path.clone(),
            Some(patch(json!([add_members(6_000), add_members(6_000)]))),
        )
        .want(400, Some("tooMany"), "limit of 10000 (DIRSYNC_MAX_MEMBERS_PER_REQUEST)"),
        case(
            "POST with 10,001 members",
            Method::POST,
            "/Groups".into(),
            Some(json!({"displayName": "Huge", "members": members(10_001)})),
        )
        .want(400, Some("tooMany"), "DIRSYNC_MAX_MEMBERS_PER_REQUEST"),
        case(
            "NUL in a value",
            Method::POST,
            "/Users".into(),
            Some(json!({"userName": "nul\u{0}user"})),
        )
        .want(400, Some("invalidValue"), "NUL character"),
        case(
            "NUL in a PATCH value",
            Method::PATCH,
            group_path.clone(),
            Some(patch(
                json!([{"op": "replace", "path": "displayName", "value": "a\u{0}"}]),
            )),
        )
        .want(400, Some("invalidValue"), "NUL character"),
        case(
            "body over 1 MiB",
            Method::POST,
            "/Users".into(),
            Some(json!({"userName": "big", "title": "x".repeat(1 << 20)})),
        )
        .want(413, Some("tooLarge"), "DIRSYNC_MAX_BODY_BYTES"),
        case(
            "1,001 bulk operations",
            Method::POST,
            "/Bulk".into(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": vec![json!({"method": "DELETE", "path": "/Users/x"}); 1001],
            })),
        )
        .want(413, Some("tooLarge"), "maxOperations 1000"),
    ];
    for c in cases {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = std::time::Instant::now();
        let r = app
            .send(
                c.method.clone(),
                &format!("{}{}", app.scim, c.path),
                Some(&app.token),
                c.body.clone(),
                &headers,
            )
            .await;
        eprintln!("bounds: {} -> {} in {:?}", c.name, r.status, started.elapsed());
        assert_eq!(r.status.as_u16(), c.status, "{}: {}", c.name, r.body);
        r.expect_error(c.status, c.scim_type);
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(c.detail), "{}: {detail}", c.name);
        other_tenant_still_served(&app, &other).await;
    }
    // Nothing was changed by any of them.
    let g = app.scim(Method::GET, &group_path, None).await;
    g.expect(200);
    assert_eq!(g.body["displayName"], "Bounded");
    let users = app.scim(Method::GET, "/Users", None).await;
    assert_eq!(users.body["totalResults"], 0, "{}", users.body);
    // ServiceProviderConfig advertises the bounds RFC 7643 §5 has fields for, as enforced.
    let spc = app.scim(Method::GET, "/ServiceProviderConfig", None).await;
    spc.expect(200);
    assert_eq!(spc.body["filter"]["maxResults"], 1000, "{}", spc.body);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000, "{}", spc.body);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1 << 20, "{}", spc.body);
}

/// Within the bounds, what used to fail now works the same on both stores: long `co`
/// patterns (SQLite: "LIKE pattern too complex"), LIKE wildcards taken literally, and filters
/// of the largest allowed size.
async fn allowed_inputs_work_alike_on_both_stores(app: TestApp) {
    for (name, title) in [
        ("fifty", "50% off"),
        ("five", "500 off"),
        ("under", "a_b"),
        ("plain", "ab"),
    ] {
        app.scim(
            Method::POST,
            "/Users",
            Some(json!({"userName": name, "title": title, "displayName": title})),
        )
        .await
        .expect(201);
    }
    let search =
        |filter: String| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
    let long_co = format!("title co \"{}\"", "ab".repeat(4_900));
    let cases = [
        ("title co \"50%\"".to_owned(), 1),
        ("displayName co \"50%\"".to_owned(), 1),
        ("title sw \"a_\"".to_owned(), 1),
        ("displayName ew \"_b\"".to_owned(), 1),
        ("title co \"%\"".to_owned(), 1),
        ("title co \"\\\\\"".to_owned(), 0),
        (long_co, 0),
        (terms(200, " or "), 4),
        (terms(200, " and "), 4),
        (format!("{}title pr{}", "(".repeat(16), ")".repeat(16)), 4),
    ];
    for (filter, want) in cases {
        let r = app
            .scim(Method::POST, "/Users/.search", Some(search(filter.clone())))
            .await;
        r.expect(200);
        assert_eq!(
            r.body["totalResults"],
            want,
            "{}: {}",
            &filter[..filter.len().min(60)],
            r.body
        );
    }
}

/// The 100,000-id member PATCH and the 100,000-term filter, within raised edge settings:
/// refused by the core's own bounds (linear work: set de-duplication, an iterative check).
async fn hostile_sizes_are_refused_by_the_core_too(app: TestApp) {
    let mut config = dirsync_edge::EdgeConfig {
        max_body_bytes: 64 << 20,
        ..Default::default()
    };
    config.bounds.filter.max_length = usize::MAX;
    config.bounds.filter.max_terms = usize::MAX;
    config.bounds.patch.max_values = usize::MAX;
    config.bounds.max_members_per_request = usize::MAX;
    let root = app.edge_with(config).await;
    let base = format!("{root}/scim/v2/{}", app.tenant_id);
    let group = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": "Target"})))
        .await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let r = app
        .send(
            Method::PATCH,
            &format!("{base}/Groups/{id}"),
            Some(&app.token),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": members(100_001)}]),
            )),
            &[],
        )
        .await;
    eprintln!(
        "bounds: 100,001 member ids (raised edge bounds) -> {} in {:?}",
        r.status,
        started.elapsed()
    );
    r.expect_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("limit of 100000"),
        "{}",
        r.body
    );

    let started = std::time::Instant::now();
    let r = app
        .send(
            Method::PATCH,
            &format!("{base}/Groups/{id}"),
            Some(&app.token),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": members(100_000)}]),
            )),
            &[],
        )
        .await;
    eprintln!(
        "bounds: 100,000 unknown member ids (raised edge bounds) -> {} in {:?}",
        r.status,
        started.elapsed()
    );
    r.expect_error(400, Some("invalidValue"));

    let started = std::time::Instant::now();
    let r = app
        .send(
            Method::POST,
            &format!("{base}/Users/.search"),
            Some(&app.token),
            Some(json!({"filter": short_terms(100_000)})),
            &[],
        )
        .await;
    eprintln!(
        "bounds: 100,000-term filter (raised edge bounds) -> {} in {:?}",
        r.status,
        started.elapsed()
    );
    r.expect_error(400, Some("invalidFilter"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("more than 1000 terms"),
        "{}",
        r.body
    );
    // The group is as it was, and the app still serves.
    let g = app.scim(Method::GET, &format!("/Groups/{id}"), None).await;
    g.expect(200);
    assert_eq!(g.body["members"], json!([]), "{}", g.body);
}

fn path(name: &str, sub: &str, multi: bool) -> AttributePath {
    AttributePath {
        schema: String::new(),
        name: name.into(),
        sub_attribute: sub.into(),
        multi_valued: multi,
    }
}

fn title_eq(v: &str) -> Filter {
    Filter {
        kind: Some(filter::Kind::Compare(Comparison {
            path: Some(path("title", "", false)),
            op: pb::CompareOp::Eq as i32,
            value: Some(FilterValue {
                kind: Some(filter_value::Kind::String(v.into())),
            }),
            case_exact: false,
        })),
    }
}

/// The gRPC API checks what the edge checks: filter bounds, names inlined into SQL (sort
/// too), page tokens, NUL, member ids, schema URNs.
async fn grpc_inputs_are_bounded(app: TestApp) {
    let mut dir = app.directory().await;
    let tenant = app.tenant_id.clone();
    for name in ["b", "a", "c"] {
        dir.create_user(CreateUserRequest {
            tenant_id: tenant.clone(),
            user: Some(UserSpec {
                user_name: name.into(),
                display_name: Some(name.to_uppercase()),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap();
    }
    let list = |filter: Option<Filter>, sort: Option<Sort>, token: Option<String>| ListUsersRequest {
        tenant_id: tenant.clone(),
        filter,
        start_index: 1,
        count: 1,
        sort,
        page_token: token,
        connection_id: None,
        unmanaged: false,
    };
    let or = |n: usize| Filter {
        kind: Some(filter::Kind::Or(FilterList {
            filters: vec![title_eq("x"); n],
        })),
    };
    let mut deep = title_eq("x");
    for _ in 0..40 {
        deep = Filter {
            kind: Some(filter::Kind::Not(Box::new(deep))),
        };
    }
    let sort = |name: &str, sub: &str, multi: bool| Sort {
        path: Some(path(name, sub, multi)),
        descending: false,
    };
    let refused = [
        (list(Some(or(1_001)), None, None), "more than 1000 terms"),
        (list(Some(deep), None, None), "nested more than 32 levels"),
        (list(Some(title_eq("a\0")), None, None), "NUL"),
        (list(Some(title_eq(&"x".repeat(10_001))), None, None), "limit of 10000"),
        (
            list(None, Some(sort("addresses", "x') OR 1=1 --", true)), None),
            "invalid attribute name",
        ),
    ];
    for (req, detail) in refused {
        let e = dir.list_users(req).await.unwrap_err();
        assert_status(&e, Code::InvalidArgument, "INVALID_FILTER", detail);
    }
    // A 1,000-term list is answered (a balanced SQL tree on both stores).
    let ok = dir
        .list_users(list(Some(or(1_000)), None, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.total_results, 0);

    // A page token whose key is not of the sort's type is refused, not a store error.
    let by_name = sort("displayName", "", false);
    let first = dir
        .list_users(list(None, Some(by_name.clone()), None))
        .await
        .unwrap()
        .into_inner();
    let mut token: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&first.next_page_token).unwrap()).unwrap();
    for forged in [
        json!(["i", 5]),
        json!(["u", "00000000-0000-7000-8000-000000000000"]),
        json!(["b", true]),
    ] {
        token["k"] = forged;
        let t = URL_SAFE_NO_PAD.encode(token.to_string());
        let e = dir
            .list_users(list(None, Some(by_name.clone()), Some(t)))
            .await
            .unwrap_err();
        assert_status(&e, Code::InvalidArgument, "INVALID_PAGE_TOKEN", "sort");
    }
    token["k"] = json!(["s", "'); DROP TABLE users; --"]);
    let t = URL_SAFE_NO_PAD.encode(token.to_string());
    // A text key is only ever a bound value: the page is answered, nothing else happens.
    dir.list_users(list(None, Some(by_name), Some(t))).await.unwrap();

    // NUL in what is written or looked up.
    let e = dir
        .create_user(CreateUserRequest {
            tenant_id: tenant.clone(),
            user: Some(UserSpec {
                user_name: "nul".into(),
                document: r#"{"userName":"nul","title":"a\u0000"}"#.into(),
                active: true,
                ..Default::default()
            }),
            connection_id: None,
        })
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "INVALID_VALUE", "NUL");
    let e = dir
        .create_group(CreateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(pb::GroupSpec {
                display_name: "g\0".into(),
                ..Default::default()
            }),
            member_ids: vec![],
            connection_id: None,
        })
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "INVALID_VALUE", "NUL");

    // Member ids per request.
    let g = dir
        .create_group(CreateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(pb::GroupSpec {
                display_name: "g".into(),
                ..Default::default()
            }),
            member_ids: vec![],
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = (0..100_001)
        .map(|i| format!("00000000-0000-7000-8000-{i:012}"))
        .collect();
    let e = dir
        .patch_group(PatchGroupRequest {
            tenant_id: tenant.clone(),
            id: g.id.clone(),
            member_changes: vec![MemberChange {
                kind: Some(member_change::Kind::Add(IdList { ids })),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "INVALID_VALUE", "limit of 100000");

    // A schema URN with multi-byte characters where its prefix is read: refused, no panic.
    let mut schemas = SchemasClient::new(app.channel().await);
    for urn in ["ur€:acme", "ürn:acme:User", "urn:acme:Üser"] {
        let e = schemas
            .register_schema(RegisterSchemaRequest {
                tenant_id: tenant.clone(),
                schema: Some(ExtensionSchema {
                    urn: urn.into(),
                    resource_type: "User".into(),
                    attributes: vec![SchemaAttribute {
                        name: "team".into(),
                        r#type: "string".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{urn}: {e:?}");
    }
    // The core still answers.
    let all = dir.list_users(list(None, None, None)).await.unwrap().into_inner();
    assert_eq!(all.total_results, 3);
}

/// A client that sends its headers or body too slowly is cut off (headers: the connection is
/// closed; body: 408), and the edge serves others meanwhile.
async fn slow_clients_are_cut_off(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = dirsync_edge::EdgeConfig::default();
    config.bounds.header_read_timeout = std::time::Duration::from_secs(1);
    config.bounds.body_read_timeout = std::time::Duration::from_secs(1);
    let root = app.edge_with(config).await;
    let addr = root.trim_start_matches("http://").to_owned();
    let path = format!("/scim/v2/{}/Users", app.tenant_id);

    // Headers never finished.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n").as_bytes())
        .await
        .unwrap();
    // Another client is served meanwhile.
    let r = app
        .send(Method::GET, &format!("{root}{path}"), Some(&app.token), None, &[])
        .await;
    r.expect(200);
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the connection was not closed after the header read timeout"
    );

    // A body that never arrives in full.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\"",
        app.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("no answer after the body read timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("DIRSYNC_BODY_READ_TIMEOUT_SECS"), "{answer}");
}

/// Filter text the way IdPs and attackers write it: attribute paths the store maps to columns,
/// JSON paths, multi-valued attributes and memberships; every operator; strings with LIKE
/// wildcards, quotes, escapes and non-ASCII; joined with and/or/not, parentheses and value
/// paths.
fn filter_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let attr = prop::sample::select(vec![
        "userName",
        "displayName",
        "id",
        "externalId",
        "active",
        "title",
        "name.givenName",
        "name.familyName",
        "meta.created",
        "meta.lastModified",
        "emails",
        "emails.value",
        "emails.type",
        "members",
        "members.value",
        "groups.value",
        "email",
        "manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "x-Custom$1",
    ]);
    let op = prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ"]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "\"x\"",
            "\"50%\"",
            "\"a_b\"",
            "\"\\\\\"",
            "\"'); DROP TABLE users; --\"",
            "\"Öztürk\"",
            "\"ß\"",
            "\"\\u00e9\"",
            "\"\"",
            "\"2011-05-13T04:42:34Z\"",
            "\"True\"",
            "\"01a21023-3113-71d3-8603-485dc8df4aff\"",
            "true",
            "false",
            "null",
            "0",
            "-2.5e3",
            "18446744073709551615",
            "bare",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9%_ '\"\\\\éß]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    let leaf = prop_oneof![
        4 => (attr.clone(), op, value).prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        1 => attr.clone().prop_map(|a| format!("{a} pr")),
        1 => (attr, prop::sample::select(vec!["type eq \"work\"", "value co \"@\"", "value eq \"x\" or type pr", "not (primary eq true)"]))
            .prop_map(|(a, inner)| format!("{a}[{inner}]")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| xs.join(" and ")),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| xs.join(" or ")),
            inner.clone().prop_map(|x| format!("not ({x})")),
            inner.prop_map(|x| format!("({x})")),
        ]
    })
}

/// The stable-toolchain fuzzer of filter -> SQL (cargo-fuzz has `filter_sql` for the same
/// path): every filter the SCIM parser accepts is either refused as invalidFilter or becomes a
/// condition that this store executes, for users and groups alike.
async fn every_parsed_filter_yields_sql_the_store_accepts(app: TestApp) {
    use dirsync_store::filter::{Target, condition};
    use proptest::strategy::{Strategy, ValueTree};
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::{ConnectionTrait, Statement};

    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let backend = db.get_database_backend();
    let schemas = [
        (dirsync_scim::schema::ResourceSchema::user(), Target::Users, "users"),
        (dirsync_scim::schema::ResourceSchema::group(), Target::Groups, "groups"),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = filter_text();
    let (mut executed, mut refused) = (0, 0);
    for _ in 0..600 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        let Ok(parsed) = dirsync_scim::filter::parse(&text) else {
            continue;
        };
        for (rs, target, table) in &schemas {
            let Ok(pb_filter) = dirsync_edge::convert::filter(&parsed, rs) else {
                refused += 1;
                continue;
            };
            let cond =
                match dirsync_core::convert::filter(&pb_filter).and_then(|f| Ok(condition(backend, *target, &f)?)) {
                    Ok(c) => c,
                    Err(e) if e.kind() == Some(dirsync_core::error::ErrorKind::InvalidFilter) => {
                        refused += 1;
                        continue;
                    }
                    Err(e) => panic!("{text}: {e:?}"),
                };
            let q = Query::select()
                .expr(Expr::val(1))
                .from(Alias::new(*table))
                .and_where(cond)
                .limit(1)
                .to_owned();
            let (sql, values) = match backend {
                sea_orm::DbBackend::Postgres => q.build(sea_orm::sea_query::PostgresQueryBuilder),
                _ => q.build(sea_orm::sea_query::SqliteQueryBuilder),
            };
            db.query_all_raw(Statement::from_sql_and_values(backend, sql.clone(), values))
                .await
                .unwrap_or_else(|e| panic!("the store refused the SQL of {text:?}: {e}\n{sql}"));
            executed += 1;
        }
    }
    eprintln!("filter -> SQL: {executed} executed, {refused} refused as invalidFilter");
    assert!(executed > 300, "too few filters reached the store: {executed}");
}

on_both_stores!(
    every_parsed_filter_yields_sql_the_store_accepts,
    slow_clients_are_cut_off,
    scim_bounds_answer_4xx_naming_the_limit,
    allowed_inputs_work_alike_on_both_stores,
    hostile_sizes_are_refused_by_the_core_too,
    grpc_inputs_are_bounded,
);
