//! Service credentials for the gRPC API: every calling service (the SCIM edge, the operator
//! CLI, the product's services) presents its own bearer key. Keys are held as SHA-256 digests
//! and compared in constant time; health and reflection stay open.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// The name of the service a call came from, for logs and authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingService(pub String);

/// Verifies the `authorization: Bearer <key>` metadata of each call.
#[derive(Clone)]
pub struct ServiceAuth {
    keys: Arc<Vec<(String, [u8; 32])>>,
}

impl std::fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ServiceAuth").field("services", &names).finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ServiceAuth {
    /// Accepts the given (service name, key) pairs.
    pub fn new<I, N, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = (N, K)>,
        N: Into<String>,
        K: AsRef<str>,
    {
        Self {
            keys: Arc::new(keys.into_iter().map(|(n, k)| (n.into(), digest(k.as_ref()))).collect()),
        }
    }

    /// The service a presented key belongs to; every configured key is compared, so the time
    /// taken does not depend on which one matched.
    pub fn verify(&self, presented: &str) -> Option<&str> {
        let d = digest(presented);
        let mut found = None;
        for (name, key) in self.keys.iter() {
            if bool::from(key.ct_eq(&d)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

impl tonic::service::Interceptor for ServiceAuth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let presented = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let name = presented
            .and_then(|k| self.verify(k))
            .map(str::to_owned)
            .ok_or_else(|| {
                Status::unauthenticated(
                    "missing or invalid service credentials: send authorization: Bearer <service key>",
                )
            })?;
        req.extensions_mut().insert(CallingService(name));
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use tonic::service::Interceptor;

    use super::*;

    #[test]
    fn keys_are_checked() {
        let mut auth = ServiceAuth::new([("edge", "k-edge"), ("billing", "k-billing")]);
        assert_eq!(auth.verify("k-billing"), Some("billing"));
        assert_eq!(auth.verify("k-other"), None);
        assert!(!format!("{auth:?}").contains("k-edge"));
        for (header, ok) in [
            (Some("Bearer k-edge"), true),
            (Some("Bearer nope"), false),
            (Some("k-edge"), false),
            (None, false),
        ] {
            let mut req = Request::new(());
            if let Some(h) = header {
                req.metadata_mut().insert("authorization", h.parse().unwrap());
            }
            let got = auth.call(req);
            assert_eq!(got.is_ok(), ok, "{header:?}");
            if let Ok(r) = got {
                assert_eq!(
                    r.extensions().get::<CallingService>(),
                    Some(&CallingService("edge".into()))
                );
            }
        }
    }
}
