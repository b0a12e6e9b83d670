//! The edge's calls to the core: what every call carries (the service key, the trace context
//! and the SCIM request's context) and the channel types the clients use. Apart from the
//! state, so the sync-log recorder and the handlers' clients share it without a cycle.

use std::sync::Arc;

use dirsync_link::CoreLink;
use tonic::service::interceptor::InterceptedService;

/// The SCIM request being answered, for the core's sync log (sent as gRPC metadata).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub idp_request_id: Option<String>,
}

tokio::task_local! {
    /// Set by the connection middleware around each SCIM request.
    pub static REQUEST: RequestContext;
}

/// The edge's key for the core's gRPC API; never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServiceKey(pub String);

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceKey(***)")
    }
}

/// Adds to every call to the core: the edge's service key, the current span's W3C trace
/// context (so the core's spans join the IdP request's trace), and the SCIM request context.
#[derive(Debug, Clone, Default)]
pub struct TracePropagation {
    key: Option<Arc<str>>,
}

impl TracePropagation {
    pub fn new(key: Option<&ServiceKey>) -> Self {
        Self {
            key: key.map(|k| Arc::from(k.0.as_str())),
        }
    }
}

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.key {
            let value = format!("Bearer {key}")
                .parse()
                .map_err(|_| tonic::Status::internal("the service key is not valid in a header"))?;
            req.metadata_mut().insert("authorization", value);
        }
        let mut headers = dirsync_telemetry::trace_headers(&tracing::Span::current());
        let _ = REQUEST.try_with(|r| {
            headers.push(("x-dirsync-request-id".into(), r.request_id.clone()));
            headers.push(("x-dirsync-method".into(), r.method.clone()));
            headers.push(("x-dirsync-path".into(), r.path.clone()));
            if let Some(id) = &r.idp_request_id {
                headers.push(("x-dirsync-idp-request-id".into(), id.clone()));
            }
        });
        for (k, v) in headers {
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

pub type CoreChannel = InterceptedService<CoreLink, TracePropagation>;

/// A call to the core in its own CLIENT span (the interceptor inside propagates that span).
pub type TracedChannel = dirsync_telemetry::grpc::Grpc<CoreChannel>;
