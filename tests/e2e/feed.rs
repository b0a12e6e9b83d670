//! The change feed: every change, in commit order, with gapless cursors, resumable, live,
//! and correct when two core replicas write into one store at once.

use std::collections::HashSet;
use std::time::Duration;

use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::licenses_client::LicensesClient;
use dirsync_proto::v1::{
    Change, CreateGroupRequest, CreateRoleRequest, CreateTierRequest, CreateUserRequest, GroupSpec, ListChangesRequest,
    MapGroupToRoleRequest, MapGroupToTierRequest, UserSpec, WatchRequest,
};
use reqwest::Method;
use serde_json::json;

use crate::harness::{Grpc, TestApp, change_data, patch};
use crate::on_both_stores;
use crate::users::create;

async fn every_change_is_in_the_feed(app: TestApp) {
    let alice = create(&app, "alice@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = create(&app, "bob@example.com").await["id"].as_str().unwrap().to_owned();
    let user = format!("/Users/{alice}");
    app.scim(
        Method::PATCH,
        &user,
        Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
    )
    .await
    .expect(200);
    app.scim(
        Method::PATCH,
        &user,
        Some(patch(json!([{"op": "replace", "path": "active", "value": true}]))),
    )
    .await
    .expect(200);
    app.scim(
        Method::PATCH,
        &user,
        Some(patch(json!([{"op": "replace", "path": "title", "value": "CTO"}]))),
    )
    .await
    .expect(200);
    // A PATCH that changes nothing writes nothing.
    app.scim(
        Method::PATCH,
        &user,
        Some(patch(json!([{"op": "replace", "path": "title", "value": "CTO"}]))),
    )
    .await
    .expect(200);
    let g = app
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": alice}]})),
        )
        .await;
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let group = format!("/Groups/{gid}");
    app.scim(
        Method::PATCH,
        &group,
        Some(patch(json!([
            {"op": "add", "path": "members", "value": [{"value": bob}, {"value": alice}]},
            {"op": "replace", "path": "displayName", "value": "Sales EMEA"}
        ]))),
    )
    .await
    .expect(204);
    app.scim(
        Method::PATCH,
        &group,
        Some(patch(
            json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
        )),
    )
    .await
    .expect(204);
    app.scim(Method::DELETE, &format!("/Users/{bob}"), None)
        .await
        .expect(204);
    app.scim(Method::DELETE, &group, None).await.expect(204);

    let changes = app.changes(&app.tenant_id, 0, 7).await;
    let kinds: Vec<&str> = changes.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.created",
            "user.deactivated",
            "user.reactivated",
            "user.updated",
            "group.created",
            "group.members_added",
            "group.renamed",
            "group.members_added",
            "group.members_removed",
            "user.deleted",
            "group.deleted",
        ]
    );
    let cursors: Vec<u64> = changes.iter().map(|c| c.cursor).collect();
    assert_eq!(
        cursors,
        (1..=changes.len() as u64).collect::<Vec<_>>(),
        "gapless, in order"
    );
    assert_eq!(changes[0].event_uri, "urn:ietf:params:SCIM:event:prov:create:full");
    assert_eq!(changes[2].event_uri, "urn:ietf:params:SCIM:event:prov:deactivate");
    assert_eq!(change_data(&changes[2])["before"]["active"], true);
    assert_eq!(change_data(&changes[2])["after"]["active"], false);
    assert_eq!(change_data(&changes[4])["changedAttributes"], json!(["title"]));
    assert_eq!(
        change_data(&changes[8])["members"],
        json!([bob]),
        "re-adding alice is not a change"
    );
    assert_eq!(change_data(&changes[9])["members"], json!([alice]));
    assert_eq!(change_data(&changes[10])["groups"], json!([gid]));
    for c in &changes {
        assert_eq!(c.connection_id.as_deref(), Some(app.connection_id.as_str()));
        assert_eq!(c.tenant_id, app.tenant_id);
    }
    // Another tenant's feed is its own.
    let other = app.new_tenant("other").await;
    let mut client = ChangesClient::new(app.channel().await);
    let theirs = client
        .list_changes(ListChangesRequest {
            tenant_id: other.id,
            after_cursor: 0,
            limit: 100,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.changes.is_empty());
}

async fn next(stream: &mut tonic::Streaming<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no change within 10 s")
        .unwrap()
        .unwrap()
}

async fn native_user(dir: &mut DirectoryClient<Grpc>, tenant: &str, name: &str) -> String {
    let spec = UserSpec {
        user_name: name.into(),
        active: true,
        ..Default::default()
    };
    dir.create_user(CreateUserRequest {
        tenant_id: tenant.into(),
        user: Some(spec),
        connection_id: None,
    })
    .await
    .unwrap()
    .into_inner()
    .id
}

async fn watch_resumes_and_sees_both_replicas(app: TestApp) {
    let replica = app.second_core().await;
    let replica_channel = app.connect(&replica).await;
    let mut watch = ChangesClient::new(replica_channel.clone())
        .watch(WatchRequest {
            tenant_id: app.tenant_id.clone(),
            after_cursor: 0,
        })
        .await
        .unwrap()
        .into_inner();

    // Writers on both replicas at once: SCIM through the first, native gRPC through the second.
    let n = 20;
    let scim_writes = async {
        for i in 0..n {
            create(&app, &format!("scim{i}@example.com")).await;
        }
    };
    let native_writes = async {
        let mut dir = DirectoryClient::new(replica_channel.clone());
        for i in 0..n {
            native_user(&mut dir, &app.tenant_id, &format!("native{i}@example.com")).await;
        }
    };
    tokio::join!(scim_writes, native_writes);

    let mut seen = Vec::new();
    for _ in 0..2 * n {
        seen.push(next(&mut watch).await);
    }
    let cursors: Vec<u64> = seen.iter().map(|c| c.cursor).collect();
    assert_eq!(
        cursors,
        (1..=2 * n as u64).collect::<Vec<_>>(),
        "every change once, in order"
    );
    let ids: HashSet<&str> = seen.iter().map(|c| c.resource_id.as_str()).collect();
    assert_eq!(ids.len(), 2 * n);
    assert_eq!(
        seen.iter().filter(|c| c.connection_id.is_none()).count(),
        n,
        "native writes have no connection"
    );

    // Live: a change made now arrives on the open stream.
    let mut dir = DirectoryClient::new(app.channel().await);
    let live = native_user(&mut dir, &app.tenant_id, "live@example.com").await;
    let got = next(&mut watch).await;
    assert_eq!(
        (got.cursor, got.resource_id.as_str()),
        (2 * n as u64 + 1, live.as_str())
    );
    drop(watch);

    // Resuming from a cursor replays exactly what came after it.
    let mut resumed = ChangesClient::new(app.channel().await)
        .watch(WatchRequest {
            tenant_id: app.tenant_id.clone(),
            after_cursor: 30,
        })
        .await
        .unwrap()
        .into_inner();
    for want in 31..=41 {
        assert_eq!(next(&mut resumed).await.cursor, want);
    }
    let unknown = ChangesClient::new(app.channel().await)
        .watch(WatchRequest {
            tenant_id: uuid::Uuid::now_v7().to_string(),
            after_cursor: 0,
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);
}

/// A write made through one core replica, and the change it must put on that replica's feed.
#[derive(Debug, Clone, Copy)]
enum Write {
    /// Directory: a native user.
    NativeUser,
    /// Admin: the tenant's first role, which every user gets.
    CreateRole,
    /// Admin: a group mapped to a role its member does not hold.
    MapGroupToRole,
    /// Licenses: a group mapped to a tier, licensing its member.
    MapGroupToTier,
}

/// A tenant for `write`, made through `app`'s core: a user in group `Staff`, and what the
/// write needs besides (a role or tier nobody holds yet). Returns the tenant, the group and
/// that role or tier.
async fn prepare(app: &TestApp, write: Write, name: &str) -> (String, String, String) {
    let tenant = app.new_tenant(name).await.id;
    let mut dir = app.directory().await;
    let user = native_user(&mut dir, &tenant, &format!("first@{name}.example.com")).await;
    let group = dir
        .create_group(CreateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(GroupSpec {
                display_name: "Staff".into(),
                ..Default::default()
            }),
            member_ids: vec![user],
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let target = match write {
        Write::NativeUser | Write::CreateRole => String::new(),
        Write::MapGroupToRole => {
            // The user gets Viewer, the least privileged role; Member waits for the mapping.
            let mut admin = app.admin().await;
            admin.create_role(role(&tenant, "Viewer", 5)).await.unwrap();
            admin
                .create_role(role(&tenant, "Member", 10))
                .await
                .unwrap()
                .into_inner()
                .id
        }
        Write::MapGroupToTier => {
            let tier = CreateTierRequest {
                tenant_id: tenant.clone(),
                name: "Team".into(),
                rank: 10,
                seats: 5,
            };
            let mut licenses = LicensesClient::new(app.channel().await);
            licenses.create_tier(tier).await.unwrap().into_inner().id
        }
    };
    (tenant, group, target)
}

fn role(tenant: &str, name: &str, rank: i32) -> CreateRoleRequest {
    CreateRoleRequest {
        tenant_id: tenant.into(),
        name: name.into(),
        rank,
        is_admin: false,
        is_guest: false,
        is_default: false,
    }
}

/// Makes `write` through `channel` in `tenant` (with the group and role or tier of `prepare`).
async fn make(write: Write, channel: Grpc, tenant: &str, group: &str, target: &str) {
    match write {
        Write::NativeUser => {
            native_user(&mut DirectoryClient::new(channel), tenant, "second@example.com").await;
        }
        Write::CreateRole => {
            let member = role(tenant, "Member", 10);
            AdminClient::new(channel).create_role(member).await.unwrap();
        }
        Write::MapGroupToRole => {
            let mapping = MapGroupToRoleRequest {
                tenant_id: tenant.into(),
                group_id: group.into(),
                role_id: target.into(),
            };
            AdminClient::new(channel).map_group_to_role(mapping).await.unwrap();
        }
        Write::MapGroupToTier => {
            let mapping = MapGroupToTierRequest {
                tenant_id: tenant.into(),
                group_id: group.into(),
                tier_id: target.into(),
            };
            LicensesClient::new(channel).map_group_to_tier(mapping).await.unwrap();
        }
    }
}

/// Every kind of write wakes the `Watch` streams of the replica that committed it at once: on a
/// replica whose watchers poll only every hour, a stream that has read everything up to now
/// still receives the write's change (within `next`'s 10 s). A write that did not signal would
/// reach it only through the poll, and the test would fail.
async fn writes_wake_watchers_without_the_poll(app: TestApp) {
    let mut settings = app.keys.settings(&app.root);
    settings.feed_poll = Duration::from_secs(3600);
    let core = app.core_with(settings).await;
    let cases = [
        (Write::NativeUser, "user.created"),
        (Write::CreateRole, "role.assigned"),
        (Write::MapGroupToRole, "role.assigned"),
        (Write::MapGroupToTier, "license.assigned"),
    ];
    for (i, (write, want)) in cases.into_iter().enumerate() {
        let (tenant, group, target) = prepare(&app, write, &format!("wake{i}")).await;
        let mut watch = ChangesClient::new(app.connect(&core).await)
            .watch(WatchRequest {
                tenant_id: tenant.clone(),
                after_cursor: 0,
            })
            .await
            .unwrap()
            .into_inner();
        // Everything made so far (through the other core, which never wakes this one) comes
        // in the stream's first read; once it has, the stream waits for this core's signal or
        // its hour-long poll.
        let before = app.changes(&tenant, 0, 100).await;
        for c in &before {
            assert_eq!(next(&mut watch).await.cursor, c.cursor, "{write:?}");
        }
        make(write, app.connect(&core).await, &tenant, &group, &target).await;
        let got = next(&mut watch).await;
        assert_eq!(got.cursor, before.len() as u64 + 1, "{write:?}");
        assert_eq!(got.r#type, want, "{write:?}");
    }
}

/// The example consumer, built by `cargo test` next to this test binary.
fn example_consumer() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join("feed_consumer");
    assert!(
        path.exists(),
        "{} is missing: `cargo test --workspace` builds the examples",
        path.display()
    );
    path
}

fn consume(app: &TestApp, cursor_file: &std::path::Path, n: u64) -> Vec<String> {
    let out = std::process::Command::new(example_consumer())
        .env("DIRSYNC_SERVICE_KEY", &app.keys.test)
        .args([
            "--core-url",
            &app.grpc,
            "--tenant",
            &app.tenant_id,
            "--max-events",
            &n.to_string(),
        ])
        .args(["--idle-timeout-secs", "20", "--cursor-file"])
        .arg(cursor_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn the_example_consumer_resumes_from_its_cursor(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("dirsync-consumer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cursor_file = dir.join("feed.cursor");
    let ann = create(&app, "ann@example.com").await["id"].as_str().unwrap().to_owned();
    create(&app, "ben@example.com").await;
    let deactivate = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    app.scim(Method::PATCH, &format!("/Users/{ann}"), Some(deactivate))
        .await
        .expect(200);

    let first_ann = ann.clone();
    let (app, cursor) = tokio::task::spawn_blocking(move || {
        let lines = consume(&app, &cursor_file, 3);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("cursor=1 change=user.created"), "{lines:?}");
        assert!(
            lines[2].starts_with(&format!(
                "cursor=3 change=user.deactivated user={first_ann} active=false"
            )),
            "{lines:?}"
        );
        assert_eq!(std::fs::read_to_string(&cursor_file).unwrap(), "3");
        (app, cursor_file)
    })
    .await
    .unwrap();

    // A later run starts after the stored cursor: only what is new.
    app.scim(Method::DELETE, &format!("/Users/{ann}"), None)
        .await
        .expect(204);
    let lines = tokio::task::spawn_blocking(move || consume(&app, &cursor, 1))
        .await
        .unwrap();
    assert_eq!(
        lines,
        [format!(
            "cursor=4 change=user.deleted user={ann} entitlements=none (deleted)"
        )]
    );
    let _ = std::fs::remove_dir_all(dir);
}

on_both_stores!(
    every_change_is_in_the_feed,
    watch_resumes_and_sees_both_replicas,
    writes_wake_watchers_without_the_poll,
    the_example_consumer_resumes_from_its_cursor
);
