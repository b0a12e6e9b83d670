//! The portal's gRPC client of the core: its own service key (`portal`) and the current
//! span's trace context on every call.

use std::sync::Arc;

use dirsync_link::CoreLink;
use tonic::service::interceptor::InterceptedService;

/// Adds the portal's service key and W3C trace context to each call.
#[derive(Clone)]
pub struct PortalKey(Arc<str>);

impl std::fmt::Debug for PortalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortalKey(***)")
    }
}

impl tonic::service::Interceptor for PortalKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| tonic::Status::internal("the portal's service key is not valid in a header"))?;
        req.metadata_mut().insert("authorization", value);
        for (k, v) in dirsync_telemetry::trace_headers(&tracing::Span::current()) {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
                tonic::metadata::MetadataValue::try_from(v.as_str()),
            ) {
                req.metadata_mut().insert(key, value);
            }
        }
        Ok(req)
    }
}

pub type PortalClient = dirsync_proto::v1::portal_client::PortalClient<InterceptedService<CoreLink, PortalKey>>;

/// A client of the core's Portal service over `channel` (a tonic `Channel` or the core in
/// this process), authenticated with `key`.
pub fn core_client(channel: impl Into<CoreLink>, key: &str) -> PortalClient {
    dirsync_proto::v1::portal_client::PortalClient::new(InterceptedService::new(channel.into(), PortalKey(key.into())))
}
