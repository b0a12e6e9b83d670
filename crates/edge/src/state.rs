//! What every handler shares: gRPC clients of the core and edge settings.

use std::sync::Arc;

use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::directory_client::DirectoryClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::auth::{AuthCache, SharedAuthCache};

/// Puts the current span's W3C trace context into outgoing gRPC metadata, so the core's spans
/// join the trace of the IdP's HTTP request.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
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

pub type CoreChannel = InterceptedService<Channel, TracePropagation>;

/// Edge settings.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Base URL IdPs use, for `Location` and `meta.location`; when unset, taken from `Host`.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Page size when a client sends no `count`.
    pub default_page_size: u64,
    /// Largest page served (advertised as `filter.maxResults`).
    pub max_page_size: u64,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_body_bytes: 1 << 20,
            default_page_size: 100,
            max_page_size: 1000,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    channel: Channel,
    pub config: Arc<EdgeConfig>,
    pub auth_cache: SharedAuthCache,
}

impl AppState {
    pub fn new(channel: Channel, config: EdgeConfig) -> Self {
        Self {
            channel,
            config: Arc::new(config),
            auth_cache: Arc::new(AuthCache::default()),
        }
    }

    pub fn directory(&self) -> DirectoryClient<CoreChannel> {
        DirectoryClient::with_interceptor(self.channel.clone(), TracePropagation)
    }

    pub fn admin(&self) -> AdminClient<CoreChannel> {
        AdminClient::with_interceptor(self.channel.clone(), TracePropagation)
    }
}
