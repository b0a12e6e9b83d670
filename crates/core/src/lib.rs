//! dirsync's core: the directory service. It owns the data and every domain rule, answers
//! over gRPC, and knows no HTTP, SCIM JSON or IdP quirks.

pub mod billing;
pub mod convert;
pub mod error;
pub mod jobs;
pub mod journal;
pub mod observe;
pub mod service;
pub mod service_auth;
pub mod settings;
pub mod silence;

use std::future::Future;
use std::time::Duration;

use dirsync_proto::v1::admin_server::AdminServer;
use dirsync_proto::v1::changes_server::ChangesServer;
use dirsync_proto::v1::directory_server::DirectoryServer;
use dirsync_proto::v1::licenses_server::LicensesServer;
use dirsync_proto::v1::portal_server::PortalServer;
use dirsync_proto::v1::schemas_server::SchemasServer;
use dirsync_proto::v1::tenant_settings_server::TenantSettingsServer;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DbErr};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use sea_orm::DatabaseConnection;
pub use service::admin::{AdminService, scim_base_url};
pub use service::changes::{ChangeSignal, ChangesService};
pub use service::directory::DirectoryService;
pub use service::licenses::LicensesService;
pub use service::mutation::Pipeline;
pub use service::portal::PortalService;
pub use service::schemas::SchemasService;
pub use service::settings::TenantSettingsService;
pub use service_auth::{Scope, Scopes, ServiceAuth};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("creating the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("{0}")]
    Bootstrap(#[from] error::CoreError),
}

impl From<error::StoreError> for StartError {
    fn from(err: error::StoreError) -> Self {
        StartError::Bootstrap(err.into())
    }
}

/// How long a request waits for a PostgreSQL connection (a new one included) before it is
/// answered `UNAVAILABLE`: while the store is down, requests fail fast with 503 and
/// `Retry-After` instead of hanging, and a saturated pool sheds load.
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request waits for the one SQLite connection before `UNAVAILABLE`.
pub const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits for a write lock another process holds before `UNAVAILABLE`.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Like [`connect`], but while the store cannot be reached (PostgreSQL not up yet, a network
/// partition), waits and tries again with exponential backoff (0.5 s doubling to 10 s),
/// logging each failure; errors that waiting cannot fix (a bad URL, a failed migration) end
/// it at once. Stop it by dropping its future (at SIGTERM).
pub async fn connect_waiting(url: &str, options: &StoreOptions) -> Result<DatabaseConnection, StartError> {
    let mut wait = Duration::from_millis(500);
    loop {
        match connect_with(url, options).await {
            Err(StartError::Db(e)) if error::DbFailure::of(&e) == error::DbFailure::Unavailable => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "store unavailable at start; waiting for it");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

/// How the store is used, besides its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// PostgreSQL cancels a statement running longer than this (`statement_timeout` of every
    /// connection; zero: never), so a pathological query answers `UNAVAILABLE` instead of
    /// holding a connection (`DIRSYNC_STATEMENT_TIMEOUT_SECS`). Migrations run without it.
    pub statement_timeout: Duration,
}

/// The default of [`StoreOptions::statement_timeout`].
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            statement_timeout: STATEMENT_TIMEOUT,
        }
    }
}

/// [`connect_with`] the default options.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StartError> {
    connect_with(url, &StoreOptions::default()).await
}

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and applies migrations.
///
/// SQLite runs in WAL mode with `synchronous=FULL`, so an acknowledged write survives a crash,
/// and through a single connection, so writers never fail with SQLITE_BUSY.
pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<DatabaseConnection, StartError> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let path = sqlite_file(url).map(std::path::PathBuf::from);
        if let Some(dir) = path
            .as_deref()
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        opts.max_connections(1).min_connections(1).map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
        opts.acquire_timeout(SQLITE_ACQUIRE_TIMEOUT);
    } else {
        opts.max_connections(16)
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .connect_timeout(PG_ACQUIRE_TIMEOUT);
    }
    let timeout_ms = options.statement_timeout.as_millis();
    if url.starts_with("postgres") && timeout_ms > 0 {
        // Migrations may run long (backfills): on a pool of their own, without the timeout.
        let migrating = Database::connect(opts.clone()).await?;
        Migrator::up(&migrating, None).await?;
        migrating.close().await?;
        opts.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", format!("{timeout_ms}ms"))]));
        let mut db = Database::connect(opts).await?;
        observe::instrument_db(&mut db);
        return Ok(db);
    }
    let mut db = Database::connect(opts).await?;
    Migrator::up(&db, None).await?;
    observe::instrument_db(&mut db);
    Ok(db)
}

/// The file path inside a `sqlite://path?…` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// What `serve` prints on first start: a tenant and a connection to paste into an IdP.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub tenant_id: String,
    pub connection_id: String,
    pub scim_base_url: String,
    pub token: String,
}

/// What a core needs besides its store.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Where IdPs reach the SCIM edge, for Tenant URLs.
    pub public_url: String,
    /// Who may call the gRPC API.
    pub auth: ServiceAuth,
    /// The server key that seals connection secrets.
    pub sealing: dirsync_store::sealing::SecretBox,
    /// How long the sync log is kept.
    pub retention: jobs::Retention,
    /// How often a `Watch` stream looks for changes other replicas committed (this replica's
    /// own commits wake it at once); [`FEED_POLL`] unless a test needs it otherwise.
    pub feed_poll: Duration,
    /// Members one `ListGroups` page carries at most ([`PAGE_MEMBERS`] by default).
    pub page_members: u64,
}

/// The default of [`CoreSettings::page_members`].
pub const PAGE_MEMBERS: u64 = service::directory::PAGE_MEMBERS;

/// The default of [`CoreSettings::feed_poll`].
pub const FEED_POLL: Duration = service::changes::POLL;

/// On an empty store, creates a first tenant and SCIM connection; otherwise does nothing.
pub async fn bootstrap(
    db: &DatabaseConnection,
    clock: &dirsync_domain::clock::SharedClock,
    settings: &CoreSettings,
) -> Result<Option<Bootstrapped>, StartError> {
    let public_url = settings.public_url.as_str();
    let txn = dirsync_store::begin(db).await?;
    if !dirsync_store::admin::list_tenants(&txn).await?.is_empty() {
        txn.rollback().await?;
        return Ok(None);
    }
    let now = clock.now_ms();
    // Start-up, before any pipeline: the production id source.
    let ids = dirsync_domain::ids::UuidV7;
    let tenant = dirsync_store::admin::create_tenant(&txn, "default", &ids, now).await?;
    let conn = dirsync_store::admin::create_connection(&txn, tenant.id, "default", "generic", &ids, now).await?;
    let (_, token) = dirsync_store::admin::issue_token(&txn, &conn, &settings.sealing, &ids, now).await?;
    txn.commit().await?;
    Ok(Some(Bootstrapped {
        tenant_id: tenant.id.to_string(),
        connection_id: conn.id.to_string(),
        scim_base_url: scim_base_url(public_url, &tenant.id.to_string()),
        token,
    }))
}

/// Accepted connections with Nagle's algorithm off: small gRPC frames must not wait for the
/// peer's delayed ACK (measured: ~40 ms on every reused connection).
fn incoming(listener: TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |conn| {
        conn.inspect(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        })
    })
}

/// How long calls in flight may take to finish after the stop signal before the core stops
/// anyway (Watch streams end at once with `UNAVAILABLE`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// Serves the core's gRPC API (Directory, Admin, Changes, health, reflection) until
/// `shutdown`. Every service but health and reflection requires a service key.
pub async fn serve(
    db: DatabaseConnection,
    clock: dirsync_domain::clock::SharedClock,
    settings: CoreSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    start(db, clock, settings).await?.serve(listener, shutdown).await
}

/// The core's layers, outermost first: telemetry; every method but health and reflection
/// needs a service key whose scopes allow it; a call whose transaction lost to a concurrent
/// one runs again (never a 500).
type CoreLayers = tower::layer::util::Stack<
    service::conflicts::ConflictRetryLayer,
    tower::layer::util::Stack<
        service_auth::AuthLayer,
        tower::layer::util::Stack<dirsync_telemetry::grpc::GrpcLayer, tower::layer::util::Identity>,
    >,
>;

/// The core with its services and jobs running, not yet on a port: [`Core::serve`] puts it
/// on one, [`Core::service`] answers calls in this process (`dirsync serve`'s edge).
pub struct Core {
    db: DatabaseConnection,
    routes: tonic::service::Routes,
    layers: CoreLayers,
    stopping_tx: tokio::sync::watch::Sender<bool>,
}

/// Builds the core's services behind its layers and starts its jobs.
pub async fn start(
    db: DatabaseConnection,
    clock: dirsync_domain::clock::SharedClock,
    settings: CoreSettings,
) -> Result<Core, StartError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<DirectoryServer<DirectoryService>>().await;
    health_reporter.set_serving::<AdminServer<AdminService>>().await;
    health_reporter.set_serving::<ChangesServer<ChangesService>>().await;
    health_reporter.set_serving::<LicensesServer<LicensesService>>().await;
    health_reporter.set_serving::<SchemasServer<SchemasService>>().await;
    health_reporter
        .set_serving::<TenantSettingsServer<TenantSettingsService>>()
        .await;
    health_reporter.set_serving::<PortalServer<PortalService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(dirsync_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let signal = ChangeSignal::default();
    // Every write that reaches the change feed runs through it and wakes `Watch` streams.
    let pipeline = Pipeline::new(db.clone(), clock.clone(), dirsync_domain::ids::v7(), signal.clone());
    let directory = DirectoryService::new(pipeline.clone(), settings.page_members);
    let licenses = LicensesService::new(pipeline.clone());
    // Set when `shutdown` resolves: Watch streams end, then the server stops.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let changes = ChangesService::new(db.clone(), signal)
        .with_poll(settings.feed_poll)
        .with_shutdown(stopping.clone());
    // Store probe behind grpc.health.v1, and the metrics read from the store.
    observe::spawn(db.clone(), health_reporter.clone(), served_names(), changes.watchers());
    let tenant_settings = TenantSettingsService::new(db.clone(), clock.clone(), pipeline.languages().clone());
    let CoreSettings {
        public_url,
        auth,
        sealing,
        retention,
        feed_poll: _,
        page_members: _,
    } = settings;
    jobs::spawn(pipeline.clone(), retention);
    let schemas = SchemasService::new(db.clone(), clock.clone(), pipeline.ids().clone());
    let portal = PortalService::new(pipeline.clone(), public_url.clone(), sealing.clone());
    let admin = AdminService::new(pipeline, public_url, sealing);
    // Every generated server has these two setters, but no trait names them.
    macro_rules! limits {
        ($server:expr) => {
            $server
                .max_decoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(dirsync_proto::MAX_MESSAGE_BYTES)
        };
    }
    let routes = tonic::service::Routes::new(health)
        .add_service(reflection)
        .add_service(limits!(DirectoryServer::new(directory)))
        .add_service(limits!(AdminServer::new(admin)))
        .add_service(limits!(LicensesServer::new(licenses)))
        .add_service(limits!(SchemasServer::new(schemas)))
        .add_service(limits!(TenantSettingsServer::new(tenant_settings)))
        .add_service(limits!(PortalServer::new(portal)))
        .add_service(limits!(ChangesServer::new(changes)))
        .prepare();
    let layers = tower::ServiceBuilder::new()
        .layer(dirsync_telemetry::grpc::GrpcLayer::new(
            dirsync_telemetry::grpc::Side::Server,
        ))
        .layer(auth.layer())
        .layer(service::conflicts::ConflictRetryLayer)
        .into_inner();
    Ok(Core {
        db,
        routes,
        layers,
        stopping_tx,
    })
}

impl Core {
    /// The core's services behind the same layers as on its port, as a tower service of
    /// gRPC requests: calling it is a gRPC call without TCP or HTTP/2 (what a server adds
    /// around it, the `grpc-timeout` deadline, is the caller's: `dirsync_link`).
    pub fn service(&self) -> <CoreLayers as tower::Layer<tonic::service::Routes>>::Service {
        tower::Layer::layer(&self.layers, self.routes.clone())
    }

    /// Serves the gRPC API on `listener` until `shutdown`, then ends Watch streams and lets
    /// calls in flight finish for [`SHUTDOWN_GRACE`].
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let Core {
            db,
            routes,
            layers,
            stopping_tx,
        } = self;
        let mut stopped = stopping_tx.subscribe();
        let shutdown = async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        };
        let deadline = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let server = tonic::transport::Server::builder()
            .layer(layers)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming(listener), shutdown);
        tokio::select! {
            served = server => served?,
            () = deadline => tracing::warn!(
                grace_ms = SHUTDOWN_GRACE.as_millis() as u64,
                "calls still running at the end of the shutdown grace period were cut off"
            ),
        }
        checkpoint(&db).await;
        Ok(())
    }
}

/// The gRPC services health reports on (besides the server as a whole, `""`).
fn served_names() -> Vec<&'static str> {
    use tonic::server::NamedService;
    vec![
        <DirectoryServer<DirectoryService> as NamedService>::NAME,
        <AdminServer<AdminService> as NamedService>::NAME,
        <ChangesServer<ChangesService> as NamedService>::NAME,
        <LicensesServer<LicensesService> as NamedService>::NAME,
        <SchemasServer<SchemasService> as NamedService>::NAME,
        <TenantSettingsServer<TenantSettingsService> as NamedService>::NAME,
    ]
}

/// On SQLite, folds the write-ahead log into the database file on a clean stop, so the file
/// alone holds every write (to copy or back up). A crash needs none of this: WAL replay on
/// the next open recovers every committed write.
async fn checkpoint(db: &DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    if let Err(e) = db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await {
        tracing::warn!(error = %e, "SQLite checkpoint at shutdown failed; the WAL is replayed on the next start");
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn sqlite_paths() {
        for (url, want) in [
            ("sqlite://data/dirsync.db?mode=rwc", Some("data/dirsync.db")),
            ("sqlite:///tmp/x.db", Some("/tmp/x.db")),
            ("sqlite::memory:", None),
            ("postgres://localhost/test", None),
        ] {
            assert_eq!(sqlite_file(url).as_deref(), want, "{url}");
        }
    }
}
