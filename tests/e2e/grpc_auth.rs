//! The gRPC API: service keys on every method, tenant isolation, connection lifecycle.

use dirsync_proto::v1::{
    self as pb, AuthenticateRequest, CreateUserRequest, DeleteGroupRequest, DeleteUserRequest, EndConnectionRequest,
    GetConnectionConfigRequest, GetGroupRequest, GetUserRequest, GroupSpec, ListChangesRequest, ListConnectionsRequest,
    ListSyncLogRequest, ListUsersRequest, PatchGroupRequest, ReplaceGroupRequest, ReplaceUserRequest,
    RevokeTokensRequest, RotateTokenRequest, UserSpec, changes_client::ChangesClient,
};
use prost::Message;
use reqwest::Method;
use serde_json::json;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use crate::harness::{BearerKey, TestApp};
use crate::on_both_stores;
use crate::users::create;

/// Every method of every dirsync service, from the descriptors the server reflects.
fn all_methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(dirsync_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for m in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), m.name());
                out.push((path, m.server_streaming()));
            }
        }
    }
    out
}

/// Calls `path` with an empty message, as any client could; whether the service key was
/// refused (as opposed to the call failing on its empty request).
async fn refused(channel: tonic::transport::Channel, key: Option<&str>, path: &str, streaming: bool) -> bool {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(());
    if let Some(k) = key {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {k}").parse().unwrap());
    }
    let path = PathAndQuery::try_from(path).unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let result = if streaming {
        grpc.server_streaming(req, path, codec).await.map(|_| ())
    } else {
        grpc.unary(req, path, codec).await.map(|_| ())
    };
    result.is_err_and(|s| s.code() == Code::Unauthenticated && s.message().contains("service credentials"))
}

async fn every_method_requires_a_service_key(app: TestApp) {
    let channel = tonic::transport::Endpoint::from_shared(app.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let methods = all_methods();
    assert!(methods.len() >= 20, "{methods:?}");
    for (path, streaming) in &methods {
        let truncated = &app.keys.edge[..app.keys.edge.len() - 1];
        for key in [None, Some("dsk_not-a-key"), Some(truncated)] {
            assert!(
                refused(channel.clone(), key, path, *streaming).await,
                "{path} with {key:?}"
            );
        }
        // With a key, the call gets past authentication (and fails on its empty request).
        assert!(
            !refused(channel.clone(), Some(&app.keys.test), path, *streaming).await,
            "{path}"
        );
    }
    // Health stays open.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .unwrap();
    let _ = BearerKey::new("x");
}

/// Tenant A's id with tenant B's resources: every call is not found or sees nothing.
async fn tenants_are_isolated_on_every_grpc_call(app: TestApp) {
    let b = app.new_tenant("globex").await;
    let victim_user = app
        .send(
            Method::POST,
            &format!("{}/Users", b.scim),
            Some(&b.token),
            Some(json!({"userName": "victim@globex.com"})),
            &[],
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let victim_group = app
        .send(
            Method::POST,
            &format!("{}/Groups", b.scim),
            Some(&b.token),
            Some(json!({"displayName": "Globex"})),
            &[],
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = create(&app, "mine@acme.com").await["id"].as_str().unwrap().to_owned();
    let a = app.tenant_id.clone();
    let mut dir = app.directory().await;
    let mut admin = app.admin().await;
    let spec = || {
        Some(UserSpec {
            user_name: "pwned".into(),
            active: true,
            ..Default::default()
        })
    };
    let gspec = || {
        Some(GroupSpec {
            display_name: "pwned".into(),
            ..Default::default()
        })
    };
    let add_b_to_a = pb::MemberChange {
        kind: Some(pb::member_change::Kind::Add(pb::IdList {
            ids: vec![victim_user.clone()],
        })),
    };
    let my_group = dir
        .create_group(pb::CreateGroupRequest {
            tenant_id: a.clone(),
            group: gspec(),
            member_ids: vec![mine.clone()],
            connection_id: None,
        })
        .await
        .unwrap()
        .into_inner()
        .id;

    let calls: Vec<(&str, Result<(), tonic::Status>)> = vec![
        (
            "GetUser",
            dir.get_user(GetUserRequest {
                tenant_id: a.clone(),
                id: victim_user.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "ReplaceUser",
            dir.replace_user(ReplaceUserRequest {
                tenant_id: a.clone(),
                id: victim_user.clone(),
                user: spec(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "DeleteUser",
            dir.delete_user(DeleteUserRequest {
                tenant_id: a.clone(),
                id: victim_user.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "GetGroup",
            dir.get_group(GetGroupRequest {
                tenant_id: a.clone(),
                id: victim_group.clone(),
                include_members: true,
                connection_id: None,
            })
            .await
            .map(|_| ()),
        ),
        (
            "ReplaceGroup",
            dir.replace_group(ReplaceGroupRequest {
                tenant_id: a.clone(),
                id: victim_group.clone(),
                group: gspec(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "PatchGroup",
            dir.patch_group(PatchGroupRequest {
                tenant_id: a.clone(),
                id: victim_group.clone(),
                group: gspec(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "DeleteGroup",
            dir.delete_group(DeleteGroupRequest {
                tenant_id: a.clone(),
                id: victim_group.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "PatchGroup (B's user into A's group)",
            dir.patch_group(PatchGroupRequest {
                tenant_id: a.clone(),
                id: my_group.clone(),
                member_changes: vec![add_b_to_a],
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "RotateToken",
            admin
                .rotate_token(RotateTokenRequest {
                    tenant_id: a.clone(),
                    connection_id: b.connection_id.clone(),
                    grace_seconds: 0,
                })
                .await
                .map(|_| ()),
        ),
        (
            "RevokeTokens",
            admin
                .revoke_tokens(RevokeTokensRequest {
                    tenant_id: a.clone(),
                    connection_id: b.connection_id.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "GetConnectionConfig",
            admin
                .get_connection_config(GetConnectionConfigRequest {
                    tenant_id: a.clone(),
                    connection_id: b.connection_id.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "EndConnection",
            admin
                .end_connection(EndConnectionRequest {
                    tenant_id: a.clone(),
                    connection_id: b.connection_id.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "Authenticate",
            admin
                .authenticate(AuthenticateRequest {
                    token: b.token.clone(),
                    tenant_id: Some(a.clone()),
                })
                .await
                .map(|_| ()),
        ),
    ];
    for (name, result) in calls {
        let code = result.err().map(|s| s.code());
        assert!(
            matches!(
                code,
                Some(Code::NotFound | Code::InvalidArgument | Code::Unauthenticated)
            ),
            "{name}: {code:?}"
        );
    }
    // Lists under A show nothing of B.
    let users = dir
        .list_users(ListUsersRequest {
            tenant_id: a.clone(),
            start_index: 1,
            count: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(users.users.iter().all(|u| u.id != victim_user));
    let conns = admin
        .list_connections(ListConnectionsRequest { tenant_id: a.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(conns.connections.iter().all(|c| c.id != b.connection_id));
    let log = admin
        .list_sync_log(ListSyncLogRequest {
            tenant_id: a.clone(),
            connection_id: Some(b.connection_id.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(log.entries.is_empty());
    let changes = ChangesClient::new(app.channel().await)
        .list_changes(ListChangesRequest {
            tenant_id: a.clone(),
            after_cursor: 0,
            limit: 1000,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        changes
            .changes
            .iter()
            .all(|c| c.resource_id != victim_user && c.resource_id != victim_group)
    );
    // B's data and access are untouched.
    let theirs = app
        .send(
            Method::GET,
            &format!("{}/Users/{victim_user}", b.scim),
            Some(&b.token),
            None,
            &[],
        )
        .await;
    theirs.expect(200);
    assert_eq!(theirs.body["userName"], "victim@globex.com");
    app.send(
        Method::GET,
        &format!("{}/Groups/{victim_group}", b.scim),
        Some(&b.token),
        None,
        &[],
    )
    .await
    .expect(200);
}

async fn connections_show_their_secret_and_end_cleanly(app: TestApp) {
    let mut admin = app.admin().await;
    let shown = admin
        .get_connection_config(GetConnectionConfigRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.token, app.token, "the secret can be shown again");
    assert!(shown.connection.unwrap().scim_base_url.ends_with(&app.tenant_id));
    let rotated = admin
        .rotate_token(RotateTokenRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
            grace_seconds: 3600,
        })
        .await
        .unwrap()
        .into_inner();
    let shown = admin
        .get_connection_config(GetConnectionConfigRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.token, rotated.token, "the newest secret");
    // Within the grace period both work.
    let url = format!("{}/Users", app.scim);
    app.send(Method::GET, &url, Some(&app.token), None, &[])
        .await
        .expect(200);
    app.send(Method::GET, &url, Some(&rotated.token), None, &[])
        .await
        .expect(200);

    let user = app
        .send(
            Method::POST,
            &url,
            Some(&rotated.token),
            Some(json!({"userName": "kept@example.com"})),
            &[],
        )
        .await;
    let id = user.body["id"].as_str().unwrap().to_owned();
    let ended = admin
        .end_connection(EndConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (ended.tokens_revoked, ended.users_unlinked, ended.groups_unlinked),
        (2, 1, 0)
    );
    // Dead at once for every token of the connection (the edge's 2 s cache aside: poll).
    for token in [&app.token, &rotated.token] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while app.send(Method::GET, &url, Some(token), None, &[]).await.status != 401 {
            assert!(
                std::time::Instant::now() < deadline,
                "token still works after the connection ended"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let kept = app
        .directory()
        .await
        .get_user(GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (kept.user_name.as_str(), kept.connection_id.as_deref()),
        ("kept@example.com", None)
    );
    let conns = admin
        .list_connections(ListConnectionsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(conns.connections[0].ended.is_some());
    let code = admin
        .rotate_token(RotateTokenRequest {
            tenant_id: app.tenant_id.clone(),
            connection_id: app.connection_id.clone(),
            grace_seconds: 0,
        })
        .await
        .unwrap_err()
        .code();
    assert_eq!(code, Code::InvalidArgument);
    // A later connection sees the users.
    let next = admin
        .create_connection(pb::CreateConnectionRequest {
            tenant_id: app.tenant_id.clone(),
            name: "okta".into(),
            idp_profile: "okta".into(),
            allow_adoption: None,
        })
        .await
        .unwrap()
        .into_inner();
    let found = app
        .send(
            Method::GET,
            &format!("{}/Users/{id}", app.scim),
            Some(&next.token),
            None,
            &[],
        )
        .await;
    found.expect(200);
    let _ = CreateUserRequest::default();
}

on_both_stores!(
    every_method_requires_a_service_key,
    tenants_are_isolated_on_every_grpc_call,
    connections_show_their_secret_and_end_cleanly
);
