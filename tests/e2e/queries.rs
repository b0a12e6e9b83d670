//! The product-facing queries: lookups, keyset paging, memberships, login resolution, and
//! native users as SCIM sees them.

use std::collections::{BTreeSet, HashMap, HashSet};

use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{
    self as pb, CreateGroupRequest, CreateUserRequest, DeleteUserRequest, GetUserByRequest, GroupSpec, IdList,
    ListGroupMembersRequest, ListGroupsRequest, ListUserGroupsRequest, ListUsersRequest, LoginKey, MemberChange,
    PatchGroupRequest, ReplaceUserRequest, ResolveLoginRequest, StreamGroupMembersRequest, User, UserSpec,
    get_user_by_request::Key,
};
use reqwest::Method;
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::harness::TestApp;
use crate::on_both_stores;

fn spec(user_name: &str) -> UserSpec {
    UserSpec {
        user_name: user_name.into(),
        active: true,
        ..Default::default()
    }
}

/// Creates native users (no connection) through gRPC, four at a time.
async fn seed(app: &TestApp, tenant_id: &str, specs: Vec<UserSpec>) -> Vec<User> {
    let mut chunks: Vec<Vec<(usize, UserSpec)>> = vec![Vec::new(); 4];
    for (i, s) in specs.into_iter().enumerate() {
        chunks[i % 4].push((i, s));
    }
    let workers = chunks.into_iter().map(|chunk| async move {
        let mut dir = DirectoryClient::new(app.channel().await);
        let mut out = Vec::with_capacity(chunk.len());
        for (i, s) in chunk {
            let u = dir
                .create_user(CreateUserRequest {
                    tenant_id: tenant_id.to_owned(),
                    user: Some(s),
                    connection_id: None,
                })
                .await
                .unwrap()
                .into_inner();
            out.push((i, u));
        }
        out
    });
    let mut all: Vec<(usize, User)> = futures::future::join_all(workers).await.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, u)| u).collect()
}

/// What a call should answer: the user's id, or a status code with its ErrorInfo reason.
type Want<'a> = Result<&'a str, (Code, &'static str)>;

#[track_caller]
fn check(name: &str, got: Result<tonic::Response<User>, tonic::Status>, want: Want<'_>) {
    match (got, want) {
        (Ok(u), Ok(id)) => assert_eq!(u.into_inner().id, id, "{name}"),
        (Err(s), Err((code, reason))) => {
            assert_eq!(s.code(), code, "{name}: {s:?}");
            assert_eq!(dirsync_edge::error::reason(&s).as_deref(), Some(reason), "{name}");
        }
        (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
    }
}

#[track_caller]
fn assert_status(status: &tonic::Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        dirsync_edge::error::reason(status).as_deref(),
        Some(reason),
        "{status:?}"
    );
}

async fn lookups_by_key(app: TestApp) {
    let t = app.tenant_id.clone();
    let users = seed(
        &app,
        &t,
        vec![
            UserSpec {
                external_id: Some("Ext-Ada".into()),
                email: Some("Ada@Example.com".into()),
                ..spec("Ada.Lovelace@example.com")
            },
            UserSpec {
                external_id: Some("ext-shared".into()),
                email: Some("shared@example.com".into()),
                ..spec("one@example.com")
            },
            UserSpec {
                external_id: Some("ext-shared".into()),
                email: Some("SHARED@example.com".into()),
                ..spec("two@example.com")
            },
        ],
    )
    .await;
    let ada = &users[0].id;
    let other = app.new_tenant("other").await;
    let key = |k: Key| Some(k);
    let cases: Vec<(&str, &str, Option<Key>, Want)> = vec![
        (
            "userName",
            &t,
            key(Key::UserName("ada.lovelace@EXAMPLE.com".into())),
            Ok(ada),
        ),
        ("e-mail", &t, key(Key::Email("ADA@example.COM".into())), Ok(ada)),
        ("externalId", &t, key(Key::ExternalId("Ext-Ada".into())), Ok(ada)),
        (
            "externalId is exact",
            &t,
            key(Key::ExternalId("ext-ada".into())),
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "unknown",
            &t,
            key(Key::UserName("nobody@example.com".into())),
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "another tenant",
            &other.id,
            key(Key::UserName("ada.lovelace@example.com".into())),
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "shared e-mail",
            &t,
            key(Key::Email("shared@example.com".into())),
            Err((Code::FailedPrecondition, "AMBIGUOUS")),
        ),
        (
            "shared externalId",
            &t,
            key(Key::ExternalId("ext-shared".into())),
            Err((Code::FailedPrecondition, "AMBIGUOUS")),
        ),
        (
            "empty value",
            &t,
            key(Key::Email(String::new())),
            Err((Code::InvalidArgument, "INVALID_VALUE")),
        ),
        ("no key", &t, None, Err((Code::InvalidArgument, "INVALID_VALUE"))),
    ];
    let mut dir = DirectoryClient::new(app.channel().await);
    for (name, tenant_id, key, want) in cases {
        let got = dir
            .get_user_by(GetUserByRequest {
                tenant_id: tenant_id.to_owned(),
                key,
                connection_id: None,
            })
            .await;
        check(name, got, want);
    }
}

fn path(name: &str, sub: &str) -> pb::AttributePath {
    pb::AttributePath {
        name: name.into(),
        sub_attribute: sub.into(),
        ..Default::default()
    }
}

fn sort(name: &str, sub: &str, descending: bool) -> Option<pb::Sort> {
    Some(pb::Sort {
        path: Some(path(name, sub)),
        descending,
    })
}

fn starts_with(name: &str, prefix: &str) -> pb::Filter {
    pb::Filter {
        kind: Some(pb::filter::Kind::Compare(pb::Comparison {
            path: Some(path(name, "")),
            op: pb::CompareOp::Sw as i32,
            value: Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::String(prefix.into())),
            }),
            case_exact: false,
        })),
    }
}

/// A user of the paging test: displayName missing on every third, title (a document
/// attribute) on every other, so sorts meet NULLs and JSON paths.
fn paging_user(name: String, i: usize) -> UserSpec {
    let display = (!i.is_multiple_of(3)).then(|| format!("D{:02}", (i * 7) % 31));
    let mut doc = json!({"userName": name});
    if i.is_multiple_of(2) {
        doc["title"] = json!(format!("T{}", i % 5));
    }
    UserSpec {
        display_name: display,
        document: doc.to_string(),
        ..spec(&name)
    }
}

async fn keyset_paging_is_stable_under_writes(app: TestApp) {
    let variants: Vec<(&str, Option<pb::Sort>, Option<pb::Filter>)> = vec![
        ("by id", None, None),
        ("userName", sort("userName", "", false), None),
        ("displayName desc, NULLs", sort("displayName", "", true), None),
        ("displayName asc, NULLs", sort("displayName", "", false), None),
        ("meta.created", sort("meta", "created", false), None),
        ("title (document)", sort("title", "", false), None),
        (
            "filtered",
            sort("userName", "", true),
            Some(starts_with("userName", "u")),
        ),
    ];
    let mut dir = DirectoryClient::new(app.channel().await);
    for (vi, (name, sort, filter)) in variants.into_iter().enumerate() {
        // A tenant per variant, so each starts from the same data.
        let tenant = app.new_tenant(&format!("paging-{vi}")).await.id;
        let matches = |user_name: &str| filter.is_none() || user_name.starts_with('u');
        let specs = (0..45)
            .map(|i| paging_user(format!("{}{i:03}", if i % 4 == 3 { 'v' } else { 'u' }), i))
            .collect();
        let initial = seed(&app, &tenant, specs).await;
        let names: HashMap<String, String> = initial.iter().map(|u| (u.id.clone(), u.user_name.clone())).collect();
        let mut existed: HashSet<String> = names.keys().cloned().collect();
        let mut deleted: HashSet<String> = HashSet::new();
        let mut seen: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        for round in 0.. {
            assert!(round < 100, "{name}: paging does not end");
            let page = dir
                .list_users(ListUsersRequest {
                    tenant_id: tenant.clone(),
                    filter: filter.clone(),
                    sort: sort.clone(),
                    count: 6,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.users.iter().map(|u| u.id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            // Between pages: delete the row the token points after, and another row further on;
            // insert rows that sort before and after the cursor.
            let last = page.users.last().unwrap().id.clone();
            let further = initial[(round * 11 + 7) % initial.len()].id.clone();
            for id in [last, further] {
                if names.contains_key(&id) && deleted.insert(id.clone()) {
                    dir.delete_user(DeleteUserRequest {
                        tenant_id: tenant.clone(),
                        id,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                }
            }
            let new = seed(
                &app,
                &tenant,
                vec![
                    paging_user(format!("u{round:03}-new"), round),
                    paging_user(format!("a{round:03}-new"), round + 1),
                ],
            )
            .await;
            existed.extend(new.into_iter().map(|u| u.id));
            token = Some(page.next_page_token);
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{name}: a row was repeated");
        assert!(
            seen.iter().all(|id| existed.contains(id)),
            "{name}: a row that never existed"
        );
        let throughout: BTreeSet<&String> = names
            .iter()
            .filter(|(id, n)| !deleted.contains(*id) && matches(n))
            .map(|(id, _)| id)
            .collect();
        let seen_throughout: Vec<&String> = seen.iter().filter(|id| throughout.contains(id)).collect();
        assert_eq!(
            seen_throughout.iter().copied().collect::<BTreeSet<_>>(),
            throughout,
            "{name}: a row that existed throughout was skipped"
        );
        // Same relative order as one offset listing of the final state.
        let all = dir
            .list_users(ListUsersRequest {
                tenant_id: tenant.clone(),
                filter: filter.clone(),
                sort: sort.clone(),
                start_index: 1,
                count: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ordered: Vec<&String> = all
            .users
            .iter()
            .map(|u| &u.id)
            .filter(|id| throughout.contains(id))
            .collect();
        assert_eq!(seen_throughout, ordered, "{name}: pages out of order");
    }
}

async fn page_tokens_are_checked_and_continue_offsets(app: TestApp) {
    let t = app.tenant_id.clone();
    let mut users = seed(&app, &t, (0..8).map(|i| spec(&format!("p{i}@example.com"))).collect()).await;
    // Seeded concurrently: in id order, the default order of a listing.
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut dir = DirectoryClient::new(app.channel().await);
    let list =
        |start_index: u64, page_token: Option<String>, sort: Option<pb::Sort>, tenant_id: String| ListUsersRequest {
            tenant_id,
            start_index,
            count: 3,
            sort,
            page_token,
            ..Default::default()
        };
    // Offset paging hands out a token that continues where it stopped.
    let first = dir
        .list_users(list(3, None, None, t.clone()))
        .await
        .unwrap()
        .into_inner();
    let ids = |us: &[User]| us.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first.users), ids(&users[2..5]));
    assert_eq!(first.total_results, 8);
    let token = first.next_page_token.clone();
    assert!(!token.is_empty());
    let next = dir
        .list_users(list(1, Some(token.clone()), None, t.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&next.users), ids(&users[5..8]));
    assert!(next.next_page_token.is_empty(), "the last page has no next token");

    let other = app.new_tenant("other").await;
    let group = dir
        .create_group(CreateGroupRequest {
            tenant_id: t.clone(),
            group: Some(GroupSpec {
                display_name: "G".into(),
                ..Default::default()
            }),
            member_ids: ids(&users),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let members_token = dir
        .list_group_members(ListGroupMembersRequest {
            tenant_id: t.clone(),
            group_id: group.id.clone(),
            count: 2,
            page_token: None,
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let cases: Vec<(&str, ListUsersRequest)> = vec![
        ("garbage", list(1, Some("not a token".into()), None, t.clone())),
        ("base64 of garbage", list(1, Some("eyJxIjoxfQ".into()), None, t.clone())),
        (
            "another sort",
            list(1, Some(token.clone()), sort("userName", "", false), t.clone()),
        ),
        ("another tenant", list(1, Some(token.clone()), None, other.id.clone())),
        ("a members token", list(1, Some(members_token.clone()), None, t.clone())),
    ];
    for (name, req) in cases {
        let err = dir.list_users(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{name}");
        assert_eq!(
            dirsync_edge::error::reason(&err).as_deref(),
            Some("INVALID_PAGE_TOKEN"),
            "{name}"
        );
    }
    let err = dir
        .list_groups(ListGroupsRequest {
            tenant_id: t.clone(),
            count: 2,
            page_token: Some(token),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "INVALID_PAGE_TOKEN");

    // Groups page by token too, sorted, while groups are created between pages.
    let mut created = BTreeSet::from([group.id.clone()]);
    for i in 0..7 {
        let g = dir
            .create_group(CreateGroupRequest {
                tenant_id: t.clone(),
                group: Some(GroupSpec {
                    display_name: format!("G{i}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        created.insert(g.id);
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = dir
            .list_groups(ListGroupsRequest {
                tenant_id: t.clone(),
                count: 3,
                sort: sort("displayName", "", true),
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.groups.iter().map(|g| g.display_name.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        dir.create_group(CreateGroupRequest {
            tenant_id: t.clone(),
            group: Some(GroupSpec {
                display_name: format!("A{}", seen.len()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        token = Some(page.next_page_token);
    }
    let originals: Vec<&String> = seen.iter().filter(|n| n.starts_with('G')).collect();
    assert_eq!(originals, ["G6", "G5", "G4", "G3", "G2", "G1", "G0", "G"]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

async fn memberships_page_and_stream(app: TestApp) {
    let t = app.tenant_id.clone();
    let specs = (0..2500)
        .map(|i| UserSpec {
            display_name: (i % 2 == 0).then(|| format!("Member {i}")),
            ..spec(&format!("m{i:04}@example.com"))
        })
        .collect();
    let users = seed(&app, &t, specs).await;
    let mut dir = DirectoryClient::new(app.channel().await);
    let group = |name: &str, member_ids: Vec<String>| CreateGroupRequest {
        tenant_id: t.clone(),
        group: Some(GroupSpec {
            display_name: name.into(),
            ..Default::default()
        }),
        member_ids,
        connection_id: None,
    };
    let big = dir.create_group(group("Everyone", vec![])).await.unwrap().into_inner();
    let all_ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    dir.patch_group(PatchGroupRequest {
        tenant_id: t.clone(),
        id: big.id.clone(),
        member_changes: vec![MemberChange {
            kind: Some(pb::member_change::Kind::Add(IdList { ids: all_ids.clone() })),
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let small = dir
        .create_group(group("Admins", vec![users[1].id.clone(), big.id.clone()]))
        .await
        .unwrap()
        .into_inner();
    let third = dir
        .create_group(group("Ops", vec![users[1].id.clone()]))
        .await
        .unwrap()
        .into_inner();
    let mut sorted_ids = all_ids.clone();
    sorted_ids.sort();

    // Pages of a group's members, by member id.
    let mut paged = Vec::new();
    let mut pages = 0;
    let mut token = None;
    loop {
        let page = dir
            .list_group_members(ListGroupMembersRequest {
                tenant_id: t.clone(),
                group_id: big.id.clone(),
                count: 1000,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        paged.extend(page.members);
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    assert_eq!(pages, 3);
    assert_eq!(paged.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), sorted_ids);
    let by_id: HashMap<&str, &User> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    for m in &paged {
        let u = by_id[m.id.as_str()];
        assert_eq!(m.r#type, "User");
        let want = u.display_name.clone().unwrap_or_else(|| u.user_name.clone());
        assert_eq!(m.display.as_deref(), Some(want.as_str()));
    }

    // Streams in batches; a nested group is a member of type Group.
    let cases: Vec<(&str, &pb::Group, u32, Vec<usize>)> = vec![
        ("default batches", &big, 0, vec![1000, 1000, 500]),
        ("batches of 700", &big, 700, vec![700, 700, 700, 400]),
        ("small group", &small, 0, vec![2]),
    ];
    for (name, g, batch_size, sizes) in cases {
        let mut stream = dir
            .stream_group_members(StreamGroupMembersRequest {
                tenant_id: t.clone(),
                group_id: g.id.clone(),
                batch_size,
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        let mut got_sizes = Vec::new();
        let mut ids = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            got_sizes.push(batch.members.len());
            ids.extend(batch.members.into_iter().map(|m| (m.id, m.r#type)));
        }
        assert_eq!(got_sizes, sizes, "{name}");
        if g.id == big.id {
            let streamed: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
            assert_eq!(streamed, sorted_ids, "{name}");
        } else {
            let mut want = vec![
                (users[1].id.clone(), "User".to_owned()),
                (big.id.clone(), "Group".to_owned()),
            ];
            want.sort();
            assert_eq!(ids, want, "{name}");
        }
    }

    // A user's groups, paged by group id.
    let mut groups_of = Vec::new();
    let mut token = None;
    loop {
        let page = dir
            .list_user_groups(ListUserGroupsRequest {
                tenant_id: t.clone(),
                user_id: users[1].id.clone(),
                count: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        groups_of.extend(page.groups.into_iter().map(|g| g.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    let mut want = vec![big.id.clone(), small.id.clone(), third.id.clone()];
    want.sort();
    assert_eq!(groups_of, want);
    let only_big = dir
        .list_user_groups(ListUserGroupsRequest {
            tenant_id: t.clone(),
            user_id: users[2].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only_big.groups.len(), 1);
    assert_eq!(only_big.groups[0].display_name, "Everyone");
    assert!(only_big.next_page_token.is_empty());

    // Unknown ids, and ids of another tenant, are not found.
    let other = app.new_tenant("other").await;
    let missing = uuid::Uuid::now_v7().to_string();
    let errors = [
        dir.list_user_groups(ListUserGroupsRequest {
            tenant_id: t.clone(),
            user_id: missing.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        dir.list_user_groups(ListUserGroupsRequest {
            tenant_id: other.id.clone(),
            user_id: users[1].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        dir.list_group_members(ListGroupMembersRequest {
            tenant_id: other.id.clone(),
            group_id: big.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        dir.stream_group_members(StreamGroupMembersRequest {
            tenant_id: t.clone(),
            group_id: missing,
            batch_size: 0,
            connection_id: None,
        })
        .await
        .unwrap_err(),
    ];
    for e in &errors {
        assert_status(e, Code::NotFound, "NOT_FOUND");
    }
}

async fn login_resolution(app: TestApp) {
    let t = app.tenant_id.clone();
    // Through SCIM, as an IdP provisions them (externalId "ext-<userName>").
    let mut ids = HashMap::new();
    for name in ["active@example.com", "inactive@example.com", "deleted@example.com"] {
        let u = crate::users::create(&app, name).await;
        ids.insert(name, u["id"].as_str().unwrap().to_owned());
    }
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    app.scim(
        Method::PATCH,
        &format!("/Users/{}", ids["inactive@example.com"]),
        Some(patch),
    )
    .await
    .expect(200);
    app.scim(Method::DELETE, &format!("/Users/{}", ids["deleted@example.com"]), None)
        .await
        .expect(204);
    seed(
        &app,
        &t,
        vec![
            UserSpec {
                external_id: Some("twice".into()),
                ..spec("twice-1")
            },
            UserSpec {
                external_id: Some("twice".into()),
                ..spec("twice-2")
            },
        ],
    )
    .await;
    let other = app.new_tenant("other").await;
    let active = ids["active@example.com"].as_str();
    let cases: Vec<(&str, &str, &str, LoginKey, Want)> = vec![
        (
            "by externalId",
            &t,
            "ext-active@example.com",
            LoginKey::ExternalId,
            Ok(active),
        ),
        (
            "by userName, any case",
            &t,
            "Active@Example.com",
            LoginKey::UserName,
            Ok(active),
        ),
        (
            "externalId is exact",
            &t,
            "EXT-active@example.com",
            LoginKey::ExternalId,
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "deactivated",
            &t,
            "ext-inactive@example.com",
            LoginKey::ExternalId,
            Err((Code::FailedPrecondition, "USER_INACTIVE")),
        ),
        (
            "deactivated, by userName",
            &t,
            "inactive@example.com",
            LoginKey::UserName,
            Err((Code::FailedPrecondition, "USER_INACTIVE")),
        ),
        (
            "deleted",
            &t,
            "ext-deleted@example.com",
            LoginKey::ExternalId,
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "never existed",
            &t,
            "ghost",
            LoginKey::UserName,
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "another tenant",
            &other.id,
            "ext-active@example.com",
            LoginKey::ExternalId,
            Err((Code::NotFound, "NOT_FOUND")),
        ),
        (
            "two users share the externalId",
            &t,
            "twice",
            LoginKey::ExternalId,
            Err((Code::FailedPrecondition, "AMBIGUOUS")),
        ),
        (
            "no key kind",
            &t,
            "active@example.com",
            LoginKey::Unspecified,
            Err((Code::InvalidArgument, "INVALID_VALUE")),
        ),
    ];
    let mut dir = DirectoryClient::new(app.channel().await);
    for (name, tenant_id, subject, by, want) in cases {
        let got = dir
            .resolve_login(ResolveLoginRequest {
                tenant_id: tenant_id.to_owned(),
                subject: subject.into(),
                by: by as i32,
            })
            .await;
        if let Ok(u) = &got {
            assert!(u.get_ref().active, "{name}");
        }
        check(name, got, want);
    }
}

async fn native_users_stay_native_and_show_over_scim(app: TestApp) {
    let t = app.tenant_id.clone();
    let mut dir = DirectoryClient::new(app.channel().await);
    let created = dir
        .create_user(CreateUserRequest {
            tenant_id: t.clone(),
            user: Some(UserSpec {
                display_name: Some("Nat Native".into()),
                given_name: Some("Nat".into()),
                family_name: Some("Native".into()),
                email: Some("nat@example.com".into()),
                ..spec("nat@example.com")
            }),
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.source, "native");
    // SCIM sees a native user only when its connection may adopt it (tests/e2e/adoption.rs).
    crate::adoption::enable(&app, "example.com").await;
    let r = app.scim(Method::GET, &format!("/Users/{}", created.id), None).await;
    r.expect(200);
    assert_eq!(r.body["userName"], "nat@example.com");
    assert_eq!(r.body["displayName"], "Nat Native");
    assert_eq!(r.body["name"], json!({"givenName": "Nat", "familyName": "Native"}));
    assert_eq!(r.body["emails"], json!([{"value": "nat@example.com", "primary": true}]));
    assert_eq!(r.body["active"], true);

    // Replaced natively: still native, and the SCIM view follows the new indexed fields (a
    // replace naming a connection is a SCIM write: it adopts, see tests/e2e/adoption.rs).
    let replacements = [(None, "Nat Renamed", "nat2@example.com")];
    for (connection_id, display, email) in replacements {
        let after = dir
            .replace_user(ReplaceUserRequest {
                tenant_id: t.clone(),
                id: created.id.clone(),
                user: Some(UserSpec {
                    display_name: Some(display.into()),
                    email: Some(email.into()),
                    active: false,
                    ..spec("nat@example.com")
                }),
                expected_version: None,
                connection_id,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(after.source, "native", "{display}");
        assert_eq!(after.connection_id, None, "{display}");
        let r = app.scim(Method::GET, &format!("/Users/{}", created.id), None).await;
        r.expect(200);
        assert_eq!(r.body["displayName"], display);
        assert_eq!(r.body["emails"][0]["value"], email);
        assert_eq!(r.body["active"], false);
        assert!(r.body.get("name").is_none(), "{}", r.body);
    }
}

on_both_stores!(
    lookups_by_key,
    keyset_paging_is_stable_under_writes,
    page_tokens_are_checked_and_continue_offsets,
    memberships_page_and_stream,
    login_resolution,
    native_users_stay_native_and_show_over_scim,
);
