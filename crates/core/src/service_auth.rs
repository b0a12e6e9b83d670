//! Service credentials for the gRPC API: every calling service (the SCIM edge, the operator
//! CLI, the setup portal, the product's services) presents its own bearer key, and each key
//! carries scopes that say which methods it may call. Keys are held as SHA-256 digests and
//! compared in constant time; health and reflection stay open.
//!
//! Authorisation is one tower layer in front of every service ([`ServiceAuth::layer`]), so a
//! method is refused (`PERMISSION_DENIED`) before its request is even decoded, and a method
//! added to a `.proto` file is refused to every scope but `admin` until [`allows`] names it.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::Status;
use tonic::codegen::http;

/// What a service key may do. Every method of the API belongs to at least one scope's list in
/// [`allows`]; `admin` allows everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Everything, including reading connection secrets (the operator CLI).
    Admin,
    /// The SCIM edge: authenticate SCIM tokens, SCIM reads and writes of the directory,
    /// schema reads, recording sync-log outcomes.
    Edge,
    /// The setup portal: only the `Portal` session calls, each of which names its tenant
    /// through the admin's portal session (never by id), so a leaked portal key reaches no
    /// tenant without a redeemed link.
    Portal,
    /// Minting and revoking portal links for a tenant (`Portal/CreateLink`, `RevokeLink`): the
    /// product's service that shows its customer's admin the way to the portal.
    PortalLinks,
    /// Users, groups and memberships, read only.
    DirectoryRead,
    /// "May this user use the product, with which role and license".
    Entitlements,
    /// The change feed.
    Changes,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Admin,
        Scope::Edge,
        Scope::Portal,
        Scope::PortalLinks,
        Scope::DirectoryRead,
        Scope::Entitlements,
        Scope::Changes,
    ];

    /// The name used in the service-keys file.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Edge => "edge",
            Scope::Portal => "portal",
            Scope::PortalLinks => "portal.links",
            Scope::DirectoryRead => "directory.read",
            Scope::Entitlements => "entitlements",
            Scope::Changes => "changes",
        }
    }
}

/// A set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<Scope>);

/// A scope name the key file used that is not one of [`Scope::ALL`] or `product`.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown scope {0:?}; known scopes: admin, edge, portal, portal.links, directory.read, entitlements, changes, product (= directory.read,entitlements,changes)"
)]
pub struct UnknownScope(pub String);

impl Scopes {
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Scopes(scopes.into_iter().collect())
    }

    /// What a product service gets: directory reads, entitlements and the change feed.
    pub fn product() -> Self {
        Scopes::of([Scope::DirectoryRead, Scope::Entitlements, Scope::Changes])
    }

    /// The scopes of a key given without any: the well-known services keep what they always
    /// needed, every other name gets the least a product service needs.
    pub fn default_for(service: &str) -> Self {
        match service {
            "admin" => Scopes::of([Scope::Admin]),
            "edge" => Scopes::of([Scope::Edge]),
            "portal" => Scopes::of([Scope::Portal]),
            _ => Scopes::product(),
        }
    }

    /// Parses a comma-separated list (`directory.read,changes`, `product`, `admin`).
    pub fn parse(list: &str) -> Result<Self, UnknownScope> {
        let mut out = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "product" {
                out.extend(Scopes::product().0);
                continue;
            }
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| UnknownScope(name.to_owned()))?;
            out.insert(scope);
        }
        Ok(Scopes(out))
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any of these scopes allows the method (`/dirsync.v1.Admin/GetTenant`).
    pub fn allow(&self, method_path: &str) -> bool {
        let method = method_path.strip_prefix("/dirsync.v1.").unwrap_or("");
        self.0.iter().any(|s| allows(*s, method))
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.name()).collect();
        f.write_str(&names.join(","))
    }
}

const DIRECTORY_READS: &[&str] = &[
    "Directory/GetUser",
    "Directory/ListUsers",
    "Directory/GetGroup",
    "Directory/ListGroups",
    "Directory/GetUserBy",
    "Directory/ListUserGroups",
    "Directory/ListGroupMembers",
    "Directory/StreamGroupMembers",
    "Directory/ResolveLogin",
];

/// What SCIM does to the directory (no login resolution or entitlements: the edge never asks).
const SCIM_DIRECTORY: &[&str] = &[
    "Directory/CreateUser",
    "Directory/GetUser",
    "Directory/ReplaceUser",
    "Directory/DeleteUser",
    "Directory/ListUsers",
    "Directory/CreateGroup",
    "Directory/GetGroup",
    "Directory/ReplaceGroup",
    "Directory/PatchGroup",
    "Directory/DeleteGroup",
    "Directory/ListGroups",
    "Directory/ListGroupMembers",
    "Directory/StreamGroupMembers",
];

const EDGE_ADMIN: &[&str] = &[
    "Admin/Authenticate",
    "Admin/RecordRequest",
    "Admin/RecordRequests",
    "Schemas/ListSchemas",
    "Schemas/GetSchema",
];

const ENTITLEMENTS: &[&str] = &["Directory/GetEntitlements", "Directory/BatchGetEntitlements"];

const CHANGES: &[&str] = &["Changes/Watch", "Changes/ListChanges"];

/// The portal's session calls; the tenant comes from the redeemed link's session.
const PORTAL: &[&str] = &["Portal/*"];

/// Links to the portal: whoever may mint one hands out management of that tenant.
const PORTAL_LINKS: &[&str] = &["Portal/CreateLink", "Portal/RevokeLink"];

/// The one table of who may call what; `method` is `Service/Method` (`Admin/GetTenant`).
pub fn allows(scope: Scope, method: &str) -> bool {
    let listed = |list: &[&str]| {
        list.iter().any(|m| match m.strip_suffix('*') {
            Some(service) => method.starts_with(service),
            None => *m == method,
        })
    };
    match scope {
        Scope::Admin => true,
        Scope::Edge => listed(SCIM_DIRECTORY) || listed(EDGE_ADMIN),
        Scope::Portal => listed(PORTAL) && !listed(PORTAL_LINKS),
        Scope::PortalLinks => listed(PORTAL_LINKS),
        Scope::DirectoryRead => listed(DIRECTORY_READS),
        Scope::Entitlements => listed(ENTITLEMENTS),
        Scope::Changes => listed(CHANGES),
    }
}

/// The service a call came from and what it may do; handlers find it in the request's
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingService {
    pub name: String,
    pub scopes: Scopes,
}

struct Key {
    name: String,
    digest: [u8; 32],
    scopes: Scopes,
}

/// Verifies the `authorization: Bearer <key>` metadata of each call, and that the key's
/// scopes allow the method called.
#[derive(Clone)]
pub struct ServiceAuth {
    keys: Arc<Vec<Key>>,
}

impl std::fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.keys.iter().map(|k| format!("{}[{}]", k.name, k.scopes)).collect();
        f.debug_struct("ServiceAuth").field("services", &names).finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Methods open to anyone: health checks and server reflection.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

impl ServiceAuth {
    /// Accepts the given (service name, key) pairs, each with the default scopes of its name
    /// ([`Scopes::default_for`]).
    pub fn new<I, N, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = (N, K)>,
        N: Into<String>,
        K: AsRef<str>,
    {
        Self::with_scopes(keys.into_iter().map(|(n, k)| {
            let n = n.into();
            let scopes = Scopes::default_for(&n);
            (n, k, scopes)
        }))
    }

    /// Accepts the given (service name, key, scopes).
    pub fn with_scopes<I, N, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = (N, K, Scopes)>,
        N: Into<String>,
        K: AsRef<str>,
    {
        Self {
            keys: Arc::new(
                keys.into_iter()
                    .map(|(n, k, scopes)| Key {
                        name: n.into(),
                        digest: digest(k.as_ref()),
                        scopes,
                    })
                    .collect(),
            ),
        }
    }

    /// The service a presented key belongs to; every configured key is compared, so the time
    /// taken does not depend on which one matched.
    pub fn verify(&self, presented: &str) -> Option<CallingService> {
        let d = digest(presented);
        let mut found = None;
        for key in self.keys.iter() {
            if bool::from(key.digest.ct_eq(&d)) {
                found = Some(key);
            }
        }
        found.map(|k| CallingService {
            name: k.name.clone(),
            scopes: k.scopes.clone(),
        })
    }

    /// Who calls `path` with these headers, if their key allows it. `Ok(None)` for the open
    /// methods.
    pub fn authorize(&self, path: &str, headers: &http::HeaderMap) -> Result<Option<CallingService>, Status> {
        if is_open(path) {
            return Ok(None);
        }
        let presented = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let caller = presented.and_then(|k| self.verify(k)).ok_or_else(|| {
            Status::unauthenticated("missing or invalid service credentials: send authorization: Bearer <service key>")
        })?;
        if !caller.scopes.allow(path) {
            tracing::warn!(service = %caller.name, scopes = %caller.scopes, method = path, "method refused to service key");
            return Err(Status::permission_denied(format!(
                "the service key of {:?} (scopes: {}) does not allow {path}; grant a scope that does in the service-keys file",
                caller.name, caller.scopes
            )));
        }
        Ok(Some(caller))
    }

    /// The layer that authorises every call of a gRPC server.
    pub fn layer(&self) -> AuthLayer {
        AuthLayer(self.clone())
    }
}

/// A tower layer: [`ServiceAuth::authorize`] before every call.
#[derive(Debug, Clone)]
pub struct AuthLayer(ServiceAuth);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authorized<S>;

    fn layer(&self, inner: S) -> Authorized<S> {
        Authorized {
            inner,
            auth: self.0.clone(),
        }
    }
}

/// A service behind [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Authorized<S> {
    inner: S,
    auth: ServiceAuth,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Authorized<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        match self.auth.authorize(req.uri().path(), req.headers()) {
            Ok(caller) => {
                if let Some(caller) = caller {
                    req.extensions_mut().insert(caller);
                }
                Box::pin(self.inner.call(req))
            }
            Err(status) => Box::pin(std::future::ready(Ok::<_, S::Error>(status.into_http()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(a) = auth {
            h.insert("authorization", a.parse().unwrap());
        }
        h
    }

    #[test]
    fn keys_are_checked() {
        let auth = ServiceAuth::new([("edge", "k-edge"), ("billing", "k-billing")]);
        assert_eq!(auth.verify("k-billing").unwrap().name, "billing");
        assert_eq!(auth.verify("k-billing").unwrap().scopes, Scopes::product());
        assert!(auth.verify("k-other").is_none());
        assert!(!format!("{auth:?}").contains("k-edge"));
        let path = "/dirsync.v1.Directory/GetUser";
        for (header, ok) in [
            (Some("Bearer k-edge"), true),
            (Some("Bearer nope"), false),
            (Some("k-edge"), false),
            (None, false),
        ] {
            let got = auth.authorize(path, &headers(header));
            assert_eq!(got.is_ok(), ok, "{header:?}");
            if let Ok(r) = got {
                assert_eq!(r.unwrap().name, "edge");
            } else if let Err(s) = got {
                assert_eq!(s.code(), tonic::Code::Unauthenticated);
            }
        }
        assert!(
            auth.authorize("/grpc.health.v1.Health/Check", &headers(None))
                .unwrap()
                .is_none()
        );
        let denied = auth
            .authorize(
                "/dirsync.v1.Admin/GetConnectionConfig",
                &headers(Some("Bearer k-billing")),
            )
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(!denied.message().contains("k-billing"));
    }

    #[test]
    fn scope_lists() {
        assert_eq!(Scopes::parse("product").unwrap(), Scopes::product());
        assert_eq!(
            Scopes::parse(" changes, directory.read ").unwrap(),
            Scopes::of([Scope::Changes, Scope::DirectoryRead])
        );
        assert!(Scopes::parse("root").is_err());
        assert_eq!(Scopes::default_for("admin"), Scopes::of([Scope::Admin]));
        assert_eq!(Scopes::default_for("crm"), Scopes::product());
        // Only admin reads a stored secret; nothing but admin and edge authenticates SCIM tokens.
        for s in Scope::ALL {
            assert_eq!(allows(s, "Admin/GetConnectionConfig"), s == Scope::Admin, "{s:?}");
            assert_eq!(
                allows(s, "Admin/Authenticate"),
                matches!(s, Scope::Admin | Scope::Edge),
                "{s:?}"
            );
        }
        assert!(!allows(Scope::Portal, "Admin/ListTenants"));
        assert!(!allows(Scope::Edge, "Directory/GetEntitlements"));
        assert!(allows(Scope::Portal, "Portal/RedeemLink"));
        // The portal never mints its own links nor reaches a tenant by id.
        assert!(!allows(Scope::Portal, "Portal/CreateLink"));
        assert!(!allows(Scope::Portal, "Admin/GetTenant"));
        assert!(allows(Scope::PortalLinks, "Portal/CreateLink"));
        assert!(!allows(Scope::PortalLinks, "Portal/Overview"));
    }
}
