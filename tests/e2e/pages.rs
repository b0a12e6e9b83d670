//! List pages stay within the gRPC message limit (issue 12): a page of groups with their
//! members ends early where its members would pass the page's member budget, a group over it
//! comes alone without them (the edge streams them), and a page of large users ends early.

use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{Group, ListGroupsRequest, ListUsersRequest};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::on_both_stores;

async fn user(app: &TestApp, name: &str, display: &str) -> String {
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(json!({"userName": name, "displayName": display})),
        )
        .await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn group(app: &TestApp, name: &str, members: &[String]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let r = app
        .scim(
            Method::POST,
            "/Groups?excludedAttributes=members",
            Some(json!({"displayName": name, "members": members})),
        )
        .await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Every page of `ListGroups` with members, followed by token: (names, members, omitted).
async fn token_pages(dir: &mut DirectoryClient<crate::harness::Grpc>, tenant: &str) -> Vec<Vec<(String, usize, bool)>> {
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = dir
            .list_groups(ListGroupsRequest {
                tenant_id: tenant.to_owned(),
                count: 10,
                include_members: true,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_results, 5);
        pages.push(summary(&page.groups));
        if page.next_page_token.is_empty() {
            return pages;
        }
        token = Some(page.next_page_token);
    }
}

fn summary(groups: &[Group]) -> Vec<(String, usize, bool)> {
    groups
        .iter()
        .map(|g| (g.display_name.clone(), g.members.len(), g.members_omitted))
        .collect()
}

fn owned(page: &[(&str, usize, bool)]) -> Vec<(String, usize, bool)> {
    page.iter().map(|(n, m, o)| ((*n).to_owned(), *m, *o)).collect()
}

/// `--max-page-members` (here 5) ends a page before the group that would pass it; a group over
/// it alone comes alone, without members, which StreamGroupMembers then serves.
async fn group_pages_end_at_the_member_budget(app: TestApp) {
    let mut u = Vec::new();
    for i in 0..6 {
        u.push(user(&app, &format!("u{i}"), &format!("User {i}")).await);
    }
    group(&app, "g1", &u[0..2]).await;
    group(&app, "g2", &u[2..4]).await;
    group(&app, "g3", &u[0..6]).await;
    group(&app, "g4", &[]).await;
    group(&app, "g5", &u[4..5]).await;
    let mut settings = app.keys.settings(&app.root);
    settings.page_members = 5;
    let url = app.core_with(settings).await;
    let mut dir = DirectoryClient::new(app.connect(&url).await);
    let t = app.tenant_id.clone();
    let want = vec![
        owned(&[("g1", 2, false), ("g2", 2, false)]),
        owned(&[("g3", 0, true)]),
        owned(&[("g4", 0, false), ("g5", 1, false)]),
    ];
    assert_eq!(token_pages(&mut dir, &t).await, want);
    // Offset paging: the next start is the start plus the groups returned.
    let cases = [
        (1, vec![("g1", 2, false), ("g2", 2, false)]),
        (3, vec![("g3", 0, true)]),
        (4, vec![("g4", 0, false), ("g5", 1, false)]),
        (2, vec![("g2", 2, false)]),
    ];
    for (start, want) in cases {
        let page = dir
            .list_groups(ListGroupsRequest {
                tenant_id: t.clone(),
                start_index: start,
                count: 10,
                include_members: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(summary(&page.groups), owned(&want), "start {start}");
    }
    // Without members nothing is omitted and one page holds all.
    let page = dir
        .list_groups(ListGroupsRequest {
            tenant_id: t.clone(),
            count: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.groups.len(), 5);
    assert!(page.next_page_token.is_empty());
}

/// Users whose `title` fills most of a request body: 20 of them are more than one gRPC
/// message (16 MiB) holds. User lists end pages early instead of failing, over SCIM (paged by
/// `startIndex += itemsPerPage`, the root search too) and over gRPC (paged by token). An
/// indexed value over 1024 bytes is refused alike on both stores (PostgreSQL cannot index it).
async fn pages_stay_within_the_message_limit(app: TestApp) {
    let title = "x".repeat(900_000);
    for i in 0..20 {
        let r = app
            .scim(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("big{i:02}"), "title": title})),
            )
            .await;
        r.expect(201);
    }
    user(&app, "small", "Small").await;
    group(&app, "one", &[]).await;
    for (field, body) in [
        (
            "displayName",
            json!({"userName": "long", "displayName": "y".repeat(1025)}),
        ),
        ("userName", json!({"userName": "y".repeat(1025)})),
    ] {
        let r = app.scim(Method::POST, "/Users", Some(body)).await;
        r.expect_error(400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().unwrap().contains("1024"),
            "{field}: {}",
            r.body
        );
    }
    let r = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": "z".repeat(1025)})))
        .await;
    r.expect_error(400, Some("invalidValue"));

    let mut start = 1;
    let mut users = 0;
    let mut pages = 0;
    while start <= 21 {
        let r = app
            .scim(Method::GET, &format!("/Users?startIndex={start}&count=100"), None)
            .await;
        r.expect(200);
        let n = r.body["Resources"].as_array().unwrap().len();
        assert!(n > 0 && n < 21, "start {start}: {n} users");
        assert_eq!(r.body["totalResults"], 21);
        assert_eq!(r.body["itemsPerPage"], n);
        users += n;
        pages += 1;
        start += n as u64;
    }
    assert_eq!(users, 21);
    assert!(pages >= 2);
    // The root search: a short user page is not filled up with groups.
    let r = app
        .scim(Method::POST, "/.search", Some(json!({"startIndex": 1, "count": 100})))
        .await;
    r.expect(200);
    assert_eq!(r.body["totalResults"], 22);
    let resources = r.body["Resources"].as_array().unwrap();
    assert!(resources.len() < 21, "{}", resources.len());
    assert!(resources.iter().all(|u| u.get("userName").is_some()));

    let mut dir = DirectoryClient::new(app.channel().await).max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES);
    let mut token = None;
    let mut names = Vec::new();
    loop {
        let page = dir
            .list_users(ListUsersRequest {
                tenant_id: app.tenant_id.clone(),
                count: 100,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!page.users.is_empty());
        names.extend(page.users.into_iter().map(|u| u.user_name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    let mut want: Vec<String> = (0..20).map(|i| format!("big{i:02}")).collect();
    want.push("small".into());
    assert_eq!(names, want);
}

on_both_stores!(
    group_pages_end_at_the_member_budget,
    pages_stay_within_the_message_limit
);
