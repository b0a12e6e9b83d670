//! What every handler shares: gRPC clients of the core and edge settings.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use dirsync_link::CoreLink;
use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::schemas_client::SchemasClient;
use tonic::service::interceptor::InterceptedService;

use crate::auth::{AuthCache, Caller, Refusal};
use crate::calls::{ServiceKey, TracePropagation, TracedChannel};
use crate::error::ApiResult;
use crate::limits::{Limiter, Limits};
use crate::tenant_schemas::{SchemaCache, TenantSchemas};

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
    /// Admission limits of SCIM requests (see `limits`).
    pub limits: Limits,
    /// Record every request in the sync log (off only to measure its cost).
    pub record_requests: bool,
    /// The edge's key for the core's gRPC API.
    pub service_key: Option<ServiceKey>,
    /// Bounds on request sizes, filters, PATCH and member lists (`bounds.rs`).
    pub bounds: crate::bounds::Bounds,
    /// How long a successful token lookup is reused (zero: never), so a revoked token works
    /// at most this long on this edge.
    pub auth_cache_ttl: Duration,
    /// How long a tenant's schemas are reused (zero: never), so a schema change takes effect
    /// on this edge within this time.
    pub schema_cache_ttl: Duration,
    /// Proxies whose `X-Forwarded-For` names the source the failed-auth limiter counts
    /// (`DIRSYNC_TRUSTED_PROXIES`; none by default).
    pub trusted_proxies: crate::auth::TrustedProxies,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_body_bytes: 1 << 20,
            default_page_size: 100,
            max_page_size: 1000,
            limits: Limits::DEFAULT,
            record_requests: true,
            service_key: None,
            bounds: crate::bounds::Bounds::default(),
            auth_cache_ttl: crate::auth::DEFAULT_CACHE_TTL,
            schema_cache_ttl: crate::tenant_schemas::DEFAULT_CACHE_TTL,
            trusted_proxies: crate::auth::TrustedProxies::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    channel: CoreLink,
    calls: TracePropagation,
    traced: dirsync_telemetry::grpc::GrpcLayer,
    pub config: Arc<EdgeConfig>,
    pub auth_cache: AuthCache,
    pub auth_failures: Arc<crate::auth_failures::AuthFailures>,
    pub limiter: Limiter,
    pub recorder: crate::recorder::Recorder,
    pub schema_cache: SchemaCache,
}

impl AppState {
    /// `channel`: a tonic `Channel` to a core in another process, or the core in this one.
    pub fn new(channel: impl Into<CoreLink>, config: EdgeConfig) -> Self {
        let channel = channel.into();
        let limiter = Limiter::new(config.limits);
        let calls = TracePropagation::new(config.service_key.as_ref());
        // Started here so that every edge, in `serve` or in a test, records what it answers.
        let recorder = crate::recorder::Recorder::spawn(
            AdminClient::with_interceptor(channel.clone(), calls.clone())
                .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES),
        );
        let auth_cache = AuthCache::new(config.auth_cache_ttl, crate::auth::CACHE_MAX);
        let schema_cache = SchemaCache::new(config.schema_cache_ttl, crate::tenant_schemas::CACHE_MAX);
        Self {
            recorder,
            channel,
            calls,
            traced: dirsync_telemetry::grpc::GrpcLayer::new(dirsync_telemetry::grpc::Side::Client),
            config: Arc::new(config),
            auth_cache,
            auth_failures: Arc::default(),
            limiter,
            schema_cache,
        }
    }

    pub fn directory(&self) -> DirectoryClient<TracedChannel> {
        DirectoryClient::new(self.traced_channel())
            .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
    }

    pub fn admin(&self) -> AdminClient<TracedChannel> {
        AdminClient::new(self.traced_channel())
            .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
    }

    pub fn schemas(&self) -> SchemasClient<TracedChannel> {
        SchemasClient::new(self.traced_channel())
            .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
    }

    fn traced_channel(&self) -> TracedChannel {
        tower::Layer::layer(
            &self.traced,
            InterceptedService::new(self.channel.clone(), self.calls.clone()),
        )
    }

    /// The link to the core, for its health service (which needs no key).
    pub(crate) fn core_channel(&self) -> CoreLink {
        self.channel.clone()
    }
}

/// The caches, filled from the core through this state's clients.
impl AppState {
    /// Authenticates a request's credentials for the tenant in its path (see `auth`).
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        source: Option<IpAddr>,
        path_tenant: &str,
    ) -> Result<Caller, Refusal> {
        crate::auth::authenticate(
            &self.auth_cache,
            &self.auth_failures,
            headers,
            source,
            path_tenant,
            async |request| Ok(self.admin().authenticate(request).await?.into_inner()),
        )
        .await
    }

    /// The tenant's schemas (see `tenant_schemas`).
    pub async fn tenant_schemas(&self, tenant_id: &str) -> ApiResult<Arc<TenantSchemas>> {
        crate::tenant_schemas::for_tenant(&self.schema_cache, tenant_id, async |request| {
            Ok(self.schemas().list_schemas(request).await?.into_inner())
        })
        .await
    }
}

/// Handlers get the caller the connection middleware authenticated.
impl FromRequestParts<AppState> for Caller {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |u| &u.0);
        state
            .authenticate(
                &parts.headers,
                crate::auth::source(&parts.extensions, &parts.headers, &state.config.trusted_proxies),
                crate::auth::path_tenant(uri.path()),
            )
            .await
    }
}
