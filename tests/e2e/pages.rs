//! List pages stay within the gRPC message limit (issue 12): a page of groups with their
//! members ends early where its members would pass the page's member budget or its size the
//! message limit, and a group too large for any page comes alone, its members streamed.

use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{
    GetGroupRequest, Group, ListGroupMembersRequest, ListGroupsRequest, ListUsersRequest, StreamGroupMembersRequest,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_stream::StreamExt;

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

/// Users whose displayName fills most of a request body: 20 of them are more than one gRPC
/// message (16 MiB) holds. Lists of users, and of groups with them as members, end pages
/// early instead of failing; a group too large for any page is streamed by the edge.
async fn pages_stay_within_the_message_limit(app: TestApp) {
    const DISPLAY: usize = 900_000;
    let mut big = Vec::new();
    for i in 0..20 {
        big.push(user(&app, &format!("big{i:02}"), &format!("{i:02}{}", "x".repeat(DISPLAY))).await);
    }
    let small = user(&app, "small", "Small").await;
    let all_id = group(&app, "all", &big).await;
    group(&app, "half1", &big[0..10]).await;
    group(&app, "half2", &big[10..20]).await;
    group(&app, "one", std::slice::from_ref(&small)).await;

    // SCIM: a client that pages by startIndex += itemsPerPage sees every group once, with
    // every member.
    let mut start = 1;
    let mut seen = Vec::new();
    while start <= 4 {
        let r = app
            .scim(Method::GET, &format!("/Groups?startIndex={start}&count=10"), None)
            .await;
        r.expect(200);
        assert_eq!(r.body["totalResults"], 4, "start {start}");
        assert_eq!(r.body["startIndex"], start, "start {start}");
        let resources = r.body["Resources"].as_array().unwrap();
        assert_eq!(r.body["itemsPerPage"], resources.len(), "start {start}");
        for g in resources {
            let members = g["members"].as_array().map_or(0, Vec::len);
            for m in g["members"].as_array().into_iter().flatten() {
                assert!(
                    m["value"].is_string() && m["display"].is_string(),
                    "{}",
                    g["displayName"]
                );
            }
            seen.push((g["displayName"].as_str().unwrap().to_owned(), members));
        }
        start += resources.len() as u64;
    }
    let want: Vec<(String, usize)> = [("all", 20), ("half1", 10), ("half2", 10), ("one", 1)]
        .iter()
        .map(|(n, m)| ((*n).to_owned(), *m))
        .collect();
    assert_eq!(seen, want);
    // The group too large for a page comes alone, its members streamed in full.
    let r = app.scim(Method::GET, "/Groups?startIndex=1&count=10", None).await;
    assert_eq!(r.body["itemsPerPage"], 1);
    let all = &r.body["Resources"][0];
    assert_eq!(all["displayName"], "all");
    assert_eq!(all["members"][19]["display"].as_str().unwrap().len(), DISPLAY + 2);
    // The same through POST .search and the root search (after the 21 users).
    let r = app
        .scim(
            Method::POST,
            "/Groups/.search",
            Some(json!({"startIndex": 2, "count": 10})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["Resources"][0]["displayName"], "half1");
    let r = app
        .scim(Method::POST, "/.search", Some(json!({"startIndex": 22, "count": 10})))
        .await;
    r.expect(200);
    assert_eq!(r.body["totalResults"], 25);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["Resources"][0]["members"].as_array().unwrap().len(), 20);
    // Without members every group fits one page.
    let r = app.scim(Method::GET, "/Groups?excludedAttributes=members", None).await;
    r.expect(200);
    assert_eq!(r.body["itemsPerPage"], 4);

    // Users: GET /Users pages end early, and paging by itemsPerPage reaches every user.
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
        users += n;
        pages += 1;
        start += n as u64;
    }
    assert_eq!(users, 21);
    assert!(pages >= 2);

    // gRPC, by page token, with the edge's message limit.
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
        names.extend(page.users.into_iter().map(|u| u.user_name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    let mut want: Vec<String> = (0..20).map(|i| format!("big{i:02}")).collect();
    want.push("small".into());
    assert_eq!(names, want);
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = dir
            .list_groups(ListGroupsRequest {
                tenant_id: app.tenant_id.clone(),
                count: 10,
                include_members: true,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(summary(&page.groups));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    let want = vec![
        owned(&[("all", 0, true)]),
        owned(&[("half1", 10, false)]),
        owned(&[("half2", 10, false), ("one", 1, false)]),
    ];
    assert_eq!(pages, want);
    // The group alone: GetGroup omits its members; the stream and the member pages carry
    // them in messages under the limit.
    let g = dir
        .get_group(GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: all_id.clone(),
            include_members: true,
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(g.members_omitted && g.members.is_empty());
    let mut stream = dir
        .stream_group_members(StreamGroupMembersRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: all_id.clone(),
            batch_size: 0,
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch.unwrap().members.len());
    }
    assert!(batches.len() >= 2 && batches.iter().sum::<usize>() == 20, "{batches:?}");
    let mut token = None;
    let mut pages = Vec::new();
    loop {
        let page = dir
            .list_group_members(ListGroupMembersRequest {
                tenant_id: app.tenant_id.clone(),
                group_id: all_id.clone(),
                count: 1000,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(page.members.len());
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    assert!(pages.len() >= 2 && pages.iter().sum::<usize>() == 20, "{pages:?}");
}

on_both_stores!(
    group_pages_end_at_the_member_budget,
    pages_stay_within_the_message_limit
);
