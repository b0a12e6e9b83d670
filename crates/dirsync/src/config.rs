//! Command-line flags; every one also reads an environment variable (see the README table).

use clap::Args;
use dirsync_edge::EdgeConfig;
use dirsync_edge::limits::Limits;

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite store.
    #[arg(long, env = "DIRSYNC_DATA_DIR", default_value = "./data")]
    pub data_dir: String,
    /// Store URL (`sqlite://…` or `postgres://…`); overrides --data-dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// File of `name=key` lines: the services allowed to call the gRPC API (created with keys
    /// for the edge and for `dirsync admin` when missing).
    #[arg(long, env = "DIRSYNC_SERVICE_KEYS_FILE")]
    pub service_keys_file: Option<String>,
    /// Server key (32 bytes, base64) that seals connection secrets; else read from
    /// --secret-key-file, created there on first start.
    #[arg(long, env = "DIRSYNC_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// File holding the server key (default <data-dir>/secret.key, mode 0600).
    #[arg(long, env = "DIRSYNC_SECRET_KEY_FILE")]
    pub secret_key_file: Option<String>,
    /// Sync-log entries older than this many days are deleted.
    #[arg(long, env = "DIRSYNC_SYNC_LOG_MAX_AGE_DAYS", default_value_t = 30)]
    pub sync_log_max_age_days: u64,
    /// Per tenant, only the newest this many sync-log entries are kept.
    #[arg(long, env = "DIRSYNC_SYNC_LOG_MAX_ENTRIES", default_value_t = 100_000)]
    pub sync_log_max_entries: u64,
    /// Members one group list page carries at most, its groups together (a page ends before
    /// the group that would pass it); bounds one response's size and the core's memory.
    #[arg(long, env = "DIRSYNC_MAX_PAGE_MEMBERS", default_value_t = dirsync_core::PAGE_MEMBERS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_page_members: u64,
    /// PostgreSQL cancels a statement running longer than this many seconds (0: never); the
    /// request answers 503 with Retry-After.
    #[arg(long, env = "DIRSYNC_STATEMENT_TIMEOUT_SECS", default_value_t = dirsync_core::STATEMENT_TIMEOUT.as_secs())]
    pub statement_timeout_secs: u64,
}

impl StoreArgs {
    pub fn store_options(&self) -> dirsync_core::StoreOptions {
        dirsync_core::StoreOptions {
            statement_timeout: std::time::Duration::from_secs(self.statement_timeout_secs),
        }
    }

    pub fn retention(&self) -> dirsync_core::jobs::Retention {
        dirsync_core::jobs::Retention {
            max_age: std::time::Duration::from_secs(self.sync_log_max_age_days.saturating_mul(24 * 3600)),
            max_entries: self.sync_log_max_entries,
            ..Default::default()
        }
    }

    /// The server key, and whether it was just created.
    pub fn sealing(&self) -> anyhow::Result<(dirsync_store::sealing::SecretBox, bool)> {
        let path = self.secret_key_file.as_ref().map_or_else(
            || std::path::Path::new(&self.data_dir).join("secret.key"),
            std::path::PathBuf::from,
        );
        crate::keys::server_key(self.secret_key.as_deref(), &path)
    }

    pub fn keys_path(&self) -> std::path::PathBuf {
        self.service_keys_file.as_ref().map_or_else(
            || crate::keys::default_path(Some(&self.data_dir)),
            std::path::PathBuf::from,
        )
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/dirsync.db?mode=rwc", self.data_dir.trim_end_matches('/')))
    }
}

#[derive(Debug, Clone, Args)]
pub struct EdgeFlags {
    /// Largest SCIM request body, in bytes (413 above it).
    #[arg(long, env = "DIRSYNC_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// Largest page a list request returns (advertised as filter.maxResults).
    #[arg(long, env = "DIRSYNC_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: u64,
    /// Sustained SCIM requests per second per tenant (0: unlimited); early requests wait,
    /// 429 only when one would wait more than 1 s.
    #[arg(long, env = "DIRSYNC_RATE_LIMIT", default_value_t = Limits::DEFAULT.per_second)]
    pub rate_limit: u32,
    /// Requests per tenant admitted at once, without waiting, above the sustained rate.
    #[arg(long, env = "DIRSYNC_RATE_LIMIT_BURST", default_value_t = Limits::DEFAULT.burst)]
    pub rate_limit_burst: u32,
    /// SCIM requests one connection may have in flight (0: unlimited); 429 above it.
    #[arg(long, env = "DIRSYNC_MAX_IN_FLIGHT", default_value_t = Limits::DEFAULT.connection_in_flight)]
    pub max_in_flight: u32,
    /// SCIM requests all connections of one tenant may have in flight (0: unlimited).
    #[arg(long, env = "DIRSYNC_TENANT_MAX_IN_FLIGHT", default_value_t = Limits::DEFAULT.tenant_in_flight)]
    pub tenant_max_in_flight: u32,
    /// Record every SCIM request in the sync log (turn off only to measure its cost).
    #[arg(long, env = "DIRSYNC_SYNC_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    pub sync_log: bool,
    /// Seconds a successful token lookup is reused by the edge (0: never); a revoked token
    /// works at most this long.
    #[arg(long, env = "DIRSYNC_AUTH_CACHE_TTL_SECS", default_value_t = dirsync_edge::auth::DEFAULT_CACHE_TTL.as_secs())]
    pub auth_cache_ttl_secs: u64,
    /// Seconds a tenant's schemas are reused by the edge (0: never); a registered or deleted
    /// schema takes effect within this time.
    #[arg(long, env = "DIRSYNC_SCHEMA_CACHE_TTL_SECS", default_value_t = dirsync_edge::tenant_schemas::DEFAULT_CACHE_TTL.as_secs())]
    pub schema_cache_ttl_secs: u64,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For is believed:
    /// behind them, the failed-auth limiter counts the right-most untrusted entry, not the proxy.
    #[arg(long, env = "DIRSYNC_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: dirsync_edge::auth::TrustedProxies,
    #[command(flatten)]
    pub bounds: BoundsFlags,
}

/// Input bounds of the SCIM edge (`dirsync_edge::bounds`); over one, a 4xx naming it.
#[derive(Debug, Clone, Args)]
pub struct BoundsFlags {
    /// Longest SCIM filter, in bytes (400 invalidFilter above it).
    #[arg(long, env = "DIRSYNC_MAX_FILTER_LENGTH", default_value_t = 10_000)]
    pub max_filter_length: usize,
    /// Most comparisons and `pr` tests in one filter.
    #[arg(long, env = "DIRSYNC_MAX_FILTER_TERMS", default_value_t = 200)]
    pub max_filter_terms: usize,
    /// Deepest nesting of parentheses, `not` and value paths in a filter.
    #[arg(long, env = "DIRSYNC_MAX_FILTER_DEPTH", default_value_t = 16)]
    pub max_filter_depth: usize,
    /// Most operations in one PATCH (400 tooMany above it).
    #[arg(long, env = "DIRSYNC_MAX_PATCH_OPERATIONS", default_value_t = 1_000)]
    pub max_patch_operations: usize,
    /// Most values in one PATCH operation.
    #[arg(long, env = "DIRSYNC_MAX_PATCH_VALUES", default_value_t = 10_000)]
    pub max_patch_values: usize,
    /// Most member ids in one group request (POST, PUT or PATCH).
    #[arg(long, env = "DIRSYNC_MAX_MEMBERS_PER_REQUEST", default_value_t = 10_000)]
    pub max_members_per_request: usize,
    /// Longest query string, in bytes (414 above it).
    #[arg(long, env = "DIRSYNC_MAX_QUERY_BYTES", default_value_t = 8 * 1024)]
    pub max_query_bytes: usize,
    /// Most bytes of request headers (431 above it).
    #[arg(long, env = "DIRSYNC_MAX_HEADER_BYTES", default_value_t = 32 * 1024)]
    pub max_header_bytes: usize,
    /// Seconds a client has to send its request headers.
    #[arg(long, env = "DIRSYNC_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send its request body (408 after it).
    #[arg(long, env = "DIRSYNC_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    pub body_read_timeout_secs: u64,
}

impl BoundsFlags {
    pub fn bounds(&self) -> dirsync_edge::bounds::Bounds {
        use std::time::Duration;
        dirsync_edge::bounds::Bounds {
            filter: dirsync_scim::filter::FilterLimits {
                max_length: self.max_filter_length,
                max_terms: self.max_filter_terms,
                max_depth: self.max_filter_depth,
            },
            patch: dirsync_scim::patch::PatchLimits {
                max_operations: self.max_patch_operations,
                max_values: self.max_patch_values,
            },
            max_members_per_request: self.max_members_per_request,
            max_query_bytes: self.max_query_bytes,
            max_header_bytes: self.max_header_bytes,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
        }
    }
}

impl EdgeFlags {
    pub fn config(&self, public_url: Option<String>, service_key: String) -> EdgeConfig {
        EdgeConfig {
            public_url,
            service_key: Some(dirsync_edge::ServiceKey(service_key)),
            max_body_bytes: self.max_body_bytes,
            max_page_size: self.max_page_size,
            default_page_size: 100.min(self.max_page_size),
            limits: Limits {
                connection_in_flight: self.max_in_flight,
                tenant_in_flight: self.tenant_max_in_flight,
                per_second: self.rate_limit,
                burst: self.rate_limit_burst,
            },
            record_requests: self.sync_log,
            bounds: self.bounds.bounds(),
            auth_cache_ttl: std::time::Duration::from_secs(self.auth_cache_ttl_secs),
            schema_cache_ttl: std::time::Duration::from_secs(self.schema_cache_ttl_secs),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

/// How a server process reports: logs, metrics (traces follow the standard `OTEL_*` variables).
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Log lines as `text` or `json` (JSON lines carry the trace_id and span_id).
    #[arg(long, env = "DIRSYNC_LOG_FORMAT", default_value = "text")]
    pub log_format: dirsync_telemetry::LogFormat,
    /// Serve Prometheus metrics at http://<addr>/metrics (off by default; never the SCIM port).
    #[arg(long, env = "DIRSYNC_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Give up to this many connections their tenant and connection ids as metric attributes
    /// (0: none; each id is a series of its own).
    #[arg(long, env = "DIRSYNC_METRICS_CONNECTION_ATTRIBUTES", default_value_t = 0)]
    pub metrics_connection_attributes: usize,
}

impl TelemetryArgs {
    pub fn options(&self, service_name: &str) -> dirsync_telemetry::Options {
        dirsync_telemetry::Options {
            log_format: self.log_format,
            prometheus: self.metrics_addr.is_some(),
            connection_attributes: self.metrics_connection_attributes,
            ..dirsync_telemetry::Options::new(service_name)
        }
    }
}

/// The setup portal (issue 16): branding and embedding, per deployment.
#[derive(Debug, Clone, Args)]
pub struct PortalFlags {
    /// The product's name in the portal's header and texts.
    #[arg(long, env = "DIRSYNC_PORTAL_PRODUCT_NAME", default_value = "dirsync")]
    pub portal_product_name: String,
    /// An https URL of the product's logo, shown in the portal's header.
    #[arg(long, env = "DIRSYNC_PORTAL_LOGO_URL")]
    pub portal_logo_url: Option<String>,
    /// The portal's accent colour, #rrggbb.
    #[arg(long, env = "DIRSYNC_PORTAL_ACCENT_COLOUR", default_value = "#1f5fbf")]
    pub portal_accent_colour: String,
    /// Origins that may show the portal in a frame (comma-separated, e.g.
    /// https://app.example.com); none by default.
    #[arg(long, env = "DIRSYNC_PORTAL_FRAME_ORIGINS", value_delimiter = ',')]
    pub portal_frame_origins: Vec<String>,
}

impl PortalFlags {
    pub fn config(&self, public_url: Option<String>) -> anyhow::Result<dirsync_portal::PortalConfig> {
        let config = dirsync_portal::PortalConfig {
            public_url,
            product_name: self.portal_product_name.trim().to_owned(),
            logo_url: self.portal_logo_url.clone().filter(|u| !u.is_empty()),
            accent_colour: self.portal_accent_colour.clone(),
            frame_origins: self
                .portal_frame_origins
                .iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect(),
        };
        config.validate()?;
        Ok(config)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address of the SCIM edge (HTTP).
    #[arg(long, env = "DIRSYNC_SCIM_ADDR", default_value = "127.0.0.1:8080")]
    pub scim_addr: String,
    /// Address of the core's gRPC API.
    #[arg(long, env = "DIRSYNC_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: String,
    /// URL IdPs use to reach the edge (behind a proxy); default http://<scim-addr>.
    #[arg(long, env = "DIRSYNC_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub edge: EdgeFlags,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub portal: PortalFlags,
}

impl ServeArgs {
    pub fn database_url(&self) -> String {
        self.store.database_url()
    }
}

#[derive(Debug, Clone, Args)]
pub struct CoreArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, env = "DIRSYNC_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: String,
    /// URL IdPs use to reach the edge, for the Tenant URL shown to admins.
    #[arg(long, env = "DIRSYNC_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

impl CoreArgs {
    pub fn database_url(&self) -> String {
        self.store.database_url()
    }
}

#[derive(Debug, Clone, Args)]
pub struct EdgeArgs {
    /// gRPC URL of the core.
    #[arg(long, env = "DIRSYNC_CORE_URL", default_value = "http://127.0.0.1:50051")]
    pub core_url: String,
    #[arg(long, env = "DIRSYNC_SCIM_ADDR", default_value = "127.0.0.1:8080")]
    pub scim_addr: String,
    #[arg(long, env = "DIRSYNC_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The edge's key for the core's gRPC API (else the `edge` line of the key file).
    #[arg(long, env = "DIRSYNC_SERVICE_KEY", hide_env_values = true)]
    pub service_key: Option<String>,
    /// Key file to read the `edge` key from (default: <DIRSYNC_DATA_DIR or ./data>/service-keys).
    #[arg(long, env = "DIRSYNC_SERVICE_KEYS_FILE")]
    pub service_keys_file: Option<String>,
    #[command(flatten)]
    pub edge: EdgeFlags,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub portal: PortalFlags,
}

impl EdgeArgs {
    pub fn config(&self) -> anyhow::Result<EdgeConfig> {
        let key = crate::keys::client_key(self.service_key.as_deref(), self.service_keys_file.as_deref(), "edge")?;
        Ok(self.edge.config(self.public_url.clone(), key))
    }

    /// The portal's key: the `portal` line of the key file; none: the portal is not served.
    pub fn portal_key(&self) -> Option<String> {
        crate::keys::client_key(None, self.service_keys_file.as_deref(), "portal").ok()
    }
}

/// A store URL without its password, for printing.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
