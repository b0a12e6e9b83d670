//! Service-key scopes: every method of every dirsync service, called with a key of each scope,
//! is allowed or refused (PERMISSION_DENIED) exactly as the table below says.

use dirsync_core::Scope;
use prost::Message;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use crate::harness::TestApp;
use crate::on_both_stores;

/// Who besides `admin` may call each method: e = edge, p = portal, l = portal.links,
/// r = directory.read, n = entitlements, c = changes. Written out by hand, apart from the code's table, so a
/// change of either shows up here; a method missing from it fails the test.
const EXPECTED: &[(&str, &str)] = &[
    ("Admin/CreateTenant", ""),
    ("Admin/GetTenant", ""),
    ("Admin/ListTenants", ""),
    ("Admin/CreateConnection", ""),
    ("Admin/ListConnections", ""),
    ("Admin/RotateToken", ""),
    ("Admin/RevokeTokens", ""),
    ("Admin/GetConnectionConfig", ""),
    ("Admin/EndConnection", ""),
    ("Admin/UpdateConnection", ""),
    ("Admin/GetConnectionHold", ""),
    ("Admin/ApproveConnectionHold", ""),
    ("Admin/RejectConnectionHold", ""),
    ("Admin/Authenticate", "e"),
    ("Admin/RecordRequest", "e"),
    ("Admin/RecordRequests", "e"),
    ("Admin/ListSyncLog", ""),
    ("Admin/ConnectionStatus", ""),
    ("Admin/CreateRole", ""),
    ("Admin/UpdateRole", ""),
    ("Admin/ListRoles", ""),
    ("Admin/DeleteRole", ""),
    ("Admin/MapGroupToRole", ""),
    ("Admin/UnmapGroup", ""),
    ("Admin/SetRoleSource", ""),
    ("Admin/AddVerifiedDomain", ""),
    ("Admin/ListVerifiedDomains", ""),
    ("Admin/RemoveVerifiedDomain", ""),
    ("Schemas/RegisterSchema", ""),
    ("Schemas/ListSchemas", "e"),
    ("Schemas/GetSchema", "e"),
    ("Schemas/DeleteSchema", ""),
    ("Licenses/CreateTier", ""),
    ("Licenses/UpdateTier", ""),
    ("Licenses/DeleteTier", ""),
    ("Licenses/ListTiers", ""),
    ("Licenses/MapGroupToTier", ""),
    ("Licenses/UnmapGroupFromTier", ""),
    ("Licenses/GetLicenseSettings", ""),
    ("Licenses/SetLicenseSettings", ""),
    ("Licenses/ListPurchases", ""),
    ("Changes/Watch", "c"),
    ("Changes/ListChanges", "c"),
    ("TenantSettings/GetTenantSettings", ""),
    ("TenantSettings/UpdateTenantSettings", ""),
    ("Directory/CreateUser", "e"),
    ("Directory/GetUser", "er"),
    ("Directory/ReplaceUser", "e"),
    ("Directory/DeleteUser", "e"),
    ("Directory/ListUsers", "er"),
    ("Directory/CreateGroup", "e"),
    ("Directory/GetGroup", "er"),
    ("Directory/ReplaceGroup", "e"),
    ("Directory/PatchGroup", "e"),
    ("Directory/DeleteGroup", "e"),
    ("Directory/ListGroups", "er"),
    ("Directory/GetUserBy", "r"),
    ("Directory/ListUserGroups", "r"),
    ("Directory/ListGroupMembers", "er"),
    ("Directory/StreamGroupMembers", "er"),
    ("Directory/ResolveLogin", "r"),
    ("Directory/GetEntitlements", "n"),
    ("Directory/BatchGetEntitlements", "n"),
    ("Portal/CreateLink", "l"),
    ("Portal/RevokeLink", "l"),
    ("Portal/InspectLink", "p"),
    ("Portal/RedeemLink", "p"),
    ("Portal/GetSession", "p"),
    ("Portal/EndSession", "p"),
    ("Portal/Overview", "p"),
    ("Portal/ChooseIdp", "p"),
    ("Portal/RevealToken", "p"),
    ("Portal/RotateToken", "p"),
    ("Portal/RevokeTokens", "p"),
    ("Portal/EndConnection", "p"),
    ("Portal/SyncLog", "p"),
    ("Portal/Mappings", "p"),
    ("Portal/PreviewMapping", "p"),
    ("Portal/SaveMapping", "p"),
    ("Portal/People", "p"),
    ("Portal/SetInvitations", "p"),
    ("Portal/SetSilenceThreshold", "p"),
    ("Portal/Hold", "p"),
    ("Portal/ApproveHold", "p"),
    ("Portal/RejectHold", "p"),
    ("Portal/SetHoldPolicy", "p"),
];

fn letter(scope: Scope) -> Option<char> {
    match scope {
        Scope::Admin => None,
        Scope::Edge => Some('e'),
        Scope::Portal => Some('p'),
        Scope::PortalLinks => Some('l'),
        Scope::DirectoryRead => Some('r'),
        Scope::Entitlements => Some('n'),
        Scope::Changes => Some('c'),
    }
}

/// Every method of every dirsync service, from the descriptors the server reflects.
fn all_methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(dirsync_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for m in &service.method {
                out.push((format!("{}/{}", service.name(), m.name()), m.server_streaming()));
            }
        }
    }
    out
}

/// The code a call of `method` with an empty message and `key` ends in (OK when it succeeds);
/// a refused service key is a test failure.
async fn call(channel: tonic::transport::Channel, key: &str, method: &str, streaming: bool) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(());
    req.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    let path = PathAndQuery::try_from(format!("/dirsync.v1.{method}")).unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let result = if streaming {
        grpc.server_streaming(req, path, codec).await.map(|_| ())
    } else {
        grpc.unary(req, path, codec).await.map(|_| ())
    };
    let Err(status) = result else { return Code::Ok };
    assert!(
        !status.message().contains("service credentials"),
        "{method}: {status:?}"
    );
    status.code()
}

async fn every_method_is_allowed_only_to_its_scopes(app: TestApp) {
    let channel = tonic::transport::Endpoint::from_shared(app.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let methods = all_methods();
    let mut unlisted = Vec::new();
    let mut wrong = Vec::new();
    for (method, streaming) in &methods {
        let Some((_, allowed)) = EXPECTED.iter().find(|(m, _)| m == method) else {
            unlisted.push(method.clone());
            continue;
        };
        for scope in Scope::ALL {
            let want = letter(scope).is_none_or(|l| allowed.contains(l));
            let code = call(channel.clone(), &app.keys.scoped(scope), method, *streaming).await;
            let got = code != Code::PermissionDenied;
            if got != want {
                wrong.push(format!(
                    "{method} as {}: allowed={got}, want {want} ({code:?})",
                    scope.name()
                ));
            }
        }
    }
    assert!(unlisted.is_empty(), "methods no scope table classifies: {unlisted:?}");
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        methods.len(),
        EXPECTED.len(),
        "EXPECTED lists methods that no longer exist"
    );
}

on_both_stores!(every_method_is_allowed_only_to_its_scopes);
