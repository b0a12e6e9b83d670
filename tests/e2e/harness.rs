//! Boots dirsync on ephemeral loopback ports against a real store, and speaks to it like a
//! client would: SCIM over HTTP, the API over gRPC.

use std::future::Future;
use std::path::PathBuf;

use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{
    Change, CreateConnectionRequest, CreateTenantRequest, ListChangesRequest, ListSyncLogRequest, SyncLogEntry,
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tokio::sync::oneshot;
use tonic::transport::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store for one test: a SQLite file in a fresh directory, or a fresh PostgreSQL database.
pub struct Store {
    pub url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl Store {
    /// A fresh store migrated up to, but not including, migration `name`, holding one tenant
    /// (`legacy`): for tests of what a migration does to rows written before it.
    pub async fn before_migration(
        backend: Backend,
        name: &str,
    ) -> Option<(Store, sea_orm::DatabaseConnection, uuid::Uuid)> {
        use migration::{Migrator, MigratorTrait};
        use sea_orm::sea_query::{Alias, Query};

        let store = Store::empty(backend).await?;
        let before = Migrator::migrations().iter().position(|m| m.name() == name).unwrap();
        let db = Database::connect(&store.url).await.unwrap();
        Migrator::up(&db, Some(u32::try_from(before).unwrap())).await.unwrap();
        let tenant = uuid::Uuid::now_v7();
        db.execute(
            &Query::insert()
                .into_table(Alias::new("tenants"))
                .columns([Alias::new("id"), Alias::new("name"), Alias::new("created_at")])
                .values_panic([tenant.into(), "legacy".into(), 1i64.into()])
                .to_owned(),
        )
        .await
        .unwrap();
        Some((store, db, tenant))
    }

    /// `None` when PostgreSQL is not configured outside CI (the test is then skipped). A
    /// PostgreSQL database is a copy of the migrated template ([`template`]).
    pub async fn new(backend: Backend) -> Option<Store> {
        Store::create(backend, true).await
    }

    /// Like [`Store::new`], but a PostgreSQL database without any migration applied.
    pub async fn empty(backend: Backend) -> Option<Store> {
        Store::create(backend, false).await
    }

    async fn create(backend: Backend, migrated: bool) -> Option<Store> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("dirsync-e2e-{id}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}/dirsync.db?mode=rwc", dir.display());
                Some(Store {
                    url,
                    dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var("CI").is_err(),
                        "TEST_DATABASE_URL is not set: under CI the PostgreSQL tests must run"
                    );
                    eprintln!("skipped: set TEST_DATABASE_URL=postgres://… to run on PostgreSQL");
                    return None;
                };
                let name = format!("dirsync_t_{id}");
                let from = if migrated {
                    format!(" TEMPLATE {}", template(&admin_url).await)
                } else {
                    String::new()
                };
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connecting to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}{from}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                Some(Store {
                    url: database_url(&admin_url, &name),
                    dir: None,
                    pg: Some((admin_url, name)),
                })
            }
        }
    }

    /// A store at `url` that the test manages itself (cleanup removes nothing).
    pub fn at(url: &str) -> Store {
        Store {
            url: url.to_owned(),
            dir: None,
            pg: None,
        }
    }

    pub async fn cleanup(self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin_url, name)) = &self.pg {
            let admin = Database::connect(admin_url)
                .await
                .expect("connecting to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
            let _ = admin.close().await;
        }
    }
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    format!("{base}/{name}")
}

/// The PostgreSQL template every test database is copied from (`CREATE DATABASE … TEMPLATE`),
/// with every migration applied: migrating is done once per test-binary run, not per test.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Held (as a PostgreSQL advisory lock) while a template is checked or built, so that test
/// processes running at once build it once.
const TEMPLATE_LOCK: i64 = 0x6469_7273_796e_6331; // "dirsync1"

/// The name of the migrated template, made when missing. It is named by a hash of the
/// migrations (their names and source), so a new or changed migration gets a new template; it
/// is built as `<name>_new` and renamed only when complete, so a process that died half-way
/// leaves no template that looks whole. Templates of other migrations are then dropped.
/// `.ci/run` drops only leftover test databases (`dirsync_t_…`), so a template outlives runs.
async fn template(admin_url: &str) -> String {
    TEMPLATE
        .get_or_init(|| async {
            use migration::{Migrator, MigratorTrait};
            use sea_orm::{DbBackend, Statement};

            let name = format!("dirsync_tpl_{}", migrations_hash());
            // One connection: the session's advisory lock and the statements share it.
            let mut opts = sea_orm::ConnectOptions::new(admin_url.to_owned());
            opts.max_connections(1).sqlx_logging(false);
            let admin = Database::connect(opts).await.expect("connecting to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
                .await
                .unwrap();
            let databases = |sql: &str| Statement::from_sql_and_values(DbBackend::Postgres, sql, [name.clone().into()]);
            let exists = admin
                .query_one_raw(databases("SELECT 1 FROM pg_database WHERE datname = $1"))
                .await
                .unwrap()
                .is_some();
            if !exists {
                let building = format!("{name}_new");
                for sql in [
                    format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
                    format!("CREATE DATABASE {building}"),
                ] {
                    admin.execute_unprepared(&sql).await.unwrap();
                }
                let db = Database::connect(database_url(admin_url, &building)).await.unwrap();
                Migrator::up(&db, None).await.unwrap();
                db.close().await.unwrap();
                admin
                    .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .await
                    .unwrap();
                let stale = admin
                    .query_all_raw(databases(
                        r"SELECT datname FROM pg_database WHERE datname LIKE 'dirsync\_tpl\_%' AND datname <> $1",
                    ))
                    .await
                    .unwrap();
                for row in stale {
                    let old: String = row.try_get("", "datname").unwrap();
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                        .await
                        .unwrap();
                }
            }
            admin
                .execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
                .await
                .unwrap();
            admin.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// A short hash of the migrations: their names in order and the source of `migrations/src`.
fn migrations_hash() -> String {
    use migration::{Migrator, MigratorTrait};
    use sha2::{Digest, Sha256};

    let mut hash = Sha256::new();
    for m in Migrator::migrations() {
        hash.update(m.name().as_bytes());
        hash.update([0]);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        hash.update(std::fs::read(&file).unwrap());
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Presents a service key to the core's gRPC API.
#[derive(Clone)]
pub struct BearerKey(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl BearerKey {
    pub fn new(key: &str) -> Self {
        BearerKey(format!("Bearer {key}").parse().unwrap())
    }
}

impl tonic::service::Interceptor for BearerKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A gRPC channel that authenticates as a service.
pub type Grpc = tonic::service::interceptor::InterceptedService<Channel, BearerKey>;

/// The keys of a test deployment: the edge's and the tests' service keys, the server key.
pub struct Keys {
    pub edge: String,
    pub test: String,
    /// The setup portal's key (served by the edge process).
    pub portal: String,
    pub server: String,
}

impl Keys {
    fn new() -> Keys {
        let key = || {
            format!(
                "dsk_test_{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )
        };
        Keys {
            edge: key(),
            test: key(),
            portal: key(),
            server: dirsync_store::sealing::SecretBox::generate_key().unwrap(),
        }
    }

    /// Core settings with these keys; every replica of a deployment shares them.
    pub fn settings(&self, public_url: &str) -> dirsync_core::CoreSettings {
        dirsync_core::CoreSettings {
            public_url: public_url.to_owned(),
            auth: self.auth(),
            sealing: dirsync_store::sealing::SecretBox::from_base64(&self.server).unwrap(),
            retention: Default::default(),
            feed_poll: dirsync_core::FEED_POLL,
            page_members: dirsync_core::PAGE_MEMBERS,
        }
    }

    /// The edge's key with its default scope, the tests' key with `admin`, and one key per
    /// scope (named `scope-<name>`, its key [`Keys::scoped`]) for the scope tests.
    pub fn auth(&self) -> dirsync_core::ServiceAuth {
        use dirsync_core::{Scope, Scopes};
        let mut keys = vec![
            ("edge".to_owned(), self.edge.clone(), Scopes::default_for("edge")),
            ("test".to_owned(), self.test.clone(), Scopes::of([Scope::Admin])),
            ("portal".to_owned(), self.portal.clone(), Scopes::default_for("portal")),
        ];
        for scope in Scope::ALL {
            keys.push((
                format!("scope-{}", scope.name()),
                self.scoped(scope),
                Scopes::of([scope]),
            ));
        }
        dirsync_core::ServiceAuth::with_scopes(keys)
    }

    /// The key that holds exactly `scope`.
    pub fn scoped(&self, scope: dirsync_core::Scope) -> String {
        format!("{}-{}", self.test, scope.name())
    }
}

/// A running core and edge, and the credentials of a first tenant's SCIM connection.
pub struct TestApp {
    /// The store both the app and any extra replica use.
    pub store_url: String,
    pub keys: Keys,
    pub root: String,
    pub grpc: String,
    pub scim: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub token: String,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// A tenant's SCIM coordinates.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub connection_id: String,
    pub scim: String,
    pub token: String,
}

impl TestApp {
    pub async fn start(store: &Store) -> TestApp {
        let db = dirsync_core::connect(&store.url).await.expect("store");
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = format!("http://{}", grpc_listener.local_addr().unwrap());
        let root = format!("http://{}", scim_listener.local_addr().unwrap());
        let store_url = store.url.clone();
        let keys = Keys::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let (core_stop, core_stopped) = oneshot::channel::<()>();
        let (edge_stop, edge_stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = stopped.await;
            let _ = core_stop.send(());
            let _ = edge_stop.send(());
        });
        let clock = dirsync_domain::clock::system();
        let core = dirsync_core::start(db, clock, keys.settings(&root))
            .await
            .expect("core");
        // As in `dirsync serve`: the edge and the portal call the core in-process (a second
        // edge, `edge_with`, and `dirsync edge` in binary.rs go over gRPC).
        let link = dirsync_link::CoreLink::in_process(core.service());
        tokio::spawn(core.serve(grpc_listener, async {
            let _ = core_stopped.await;
        }));
        let state = dirsync_edge::AppState::new(
            link.clone(),
            // The product's default limits: the tests are clients like any other. Only the
            // caches keep nothing, so a test sees a revoked token or a new schema at once
            // instead of sleeping out a time to live (`auth::an_edge_reuses_token_checks...`
            // tests the caches themselves).
            dirsync_edge::EdgeConfig {
                public_url: Some(root.clone()),
                service_key: Some(dirsync_edge::ServiceKey(keys.edge.clone())),
                auth_cache_ttl: std::time::Duration::ZERO,
                schema_cache_ttl: std::time::Duration::ZERO,
                ..Default::default()
            },
        );
        // The edge serves the setup portal beside SCIM, as `dirsync serve` does.
        let portal = dirsync_portal::router(dirsync_portal::PortalState::new(
            dirsync_portal::core_client(link, &keys.portal),
            dirsync_portal::PortalConfig {
                public_url: Some(root.clone()),
                ..Default::default()
            },
        ));
        tokio::spawn(dirsync_edge::serve_with(scim_listener, state, portal, async {
            let _ = edge_stopped.await;
        }));
        let mut app = TestApp {
            store_url,
            keys,
            root,
            grpc,
            scim: String::new(),
            tenant_id: String::new(),
            connection_id: String::new(),
            token: String::new(),
            http: reqwest::Client::new(),

            _stop: stop,
        };
        let t = app.new_tenant("acme").await;
        app.scim = t.scim;
        app.tenant_id = t.id;
        app.connection_id = t.connection_id;
        app.token = t.token;
        app
    }

    /// Another core replica on the same store; returns its gRPC URL. It stops with the test.
    pub async fn second_core(&self) -> String {
        self.core_with(self.keys.settings(&self.root)).await
    }

    /// Another core replica on the same store with these settings (e.g. from
    /// [`Keys::settings`], changed); returns its gRPC URL. It stops with the test.
    pub async fn core_with(&self, settings: dirsync_core::CoreSettings) -> String {
        let db = dirsync_core::connect(&self.store_url).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(dirsync_core::serve(
            db,
            dirsync_domain::clock::system(),
            settings,
            listener,
            std::future::pending(),
        ));
        url
    }

    /// Another edge in front of this app's core, with its own settings (and the edge's key);
    /// returns its root URL.
    pub async fn edge_with(&self, mut config: dirsync_edge::EdgeConfig) -> String {
        config.service_key = Some(dirsync_edge::ServiceKey(self.keys.edge.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        let state = dirsync_edge::AppState::new(dirsync_edge::core_channel(&self.grpc).unwrap(), config);
        tokio::spawn(dirsync_edge::serve(listener, state, std::future::pending()));
        root
    }

    /// An authenticated channel to this app's core.
    pub async fn channel(&self) -> Grpc {
        self.connect(&self.grpc).await
    }

    /// An authenticated channel to any core replica of this app.
    pub async fn connect(&self, url: &str) -> Grpc {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
            .unwrap()
            .connect()
            .await
            .unwrap();
        tonic::service::interceptor::InterceptedService::new(channel, BearerKey::new(&self.keys.test))
    }

    pub async fn directory(&self) -> DirectoryClient<Grpc> {
        DirectoryClient::new(self.channel().await)
    }

    pub async fn admin(&self) -> AdminClient<Grpc> {
        AdminClient::new(self.channel().await)
    }

    /// Every change of a tenant after `after`, read through `ListChanges` pages of `limit`.
    pub async fn changes(&self, tenant_id: &str, after: u64, limit: u32) -> Vec<Change> {
        let mut client = ChangesClient::new(self.channel().await);
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let page = client
                .list_changes(ListChangesRequest {
                    tenant_id: tenant_id.to_owned(),
                    after_cursor: cursor,
                    limit,
                })
                .await
                .unwrap()
                .into_inner();
            if page.changes.is_empty() {
                return out;
            }
            cursor = page.next_cursor;
            out.extend(page.changes);
        }
    }

    /// The sync log of the app's own connection (newest 1,000 entries).
    pub async fn sync_log(&self) -> Vec<SyncLogEntry> {
        self.admin()
            .await
            .list_sync_log(ListSyncLogRequest {
                tenant_id: self.tenant_id.clone(),
                connection_id: Some(self.connection_id.clone()),
                failed_only: false,
                limit: 1000,
                after_id: None,
            })
            .await
            .unwrap()
            .into_inner()
            .entries
    }

    /// Creates a tenant with one connection, through the Admin API.
    pub async fn new_tenant(&self, name: &str) -> Tenant {
        let mut admin = self.admin().await;
        let t = admin
            .create_tenant(CreateTenantRequest { name: name.into() })
            .await
            .unwrap()
            .into_inner();
        let c = admin
            .create_connection(CreateConnectionRequest {
                tenant_id: t.id.clone(),
                name: "idp".into(),
                idp_profile: "generic".into(),
                allow_adoption: None,
            })
            .await
            .unwrap()
            .into_inner();
        let conn = c.connection.unwrap();
        Tenant {
            id: t.id,
            connection_id: conn.id,
            scim: conn.scim_base_url,
            token: c.token,
        }
    }

    /// A SCIM request to `path` under this app's tenant, with its bearer token.
    pub async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send(method, &format!("{}{path}", self.scim), Some(&self.token), body, &[])
            .await
    }

    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Response { status, headers, body }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self
    }

    /// Asserts a SCIM error response (RFC 7644 §3.12).
    #[track_caller]
    pub fn expect_error(&self, status: u16, scim_type: Option<&str>) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "{:?}",
            self.headers
        );
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string(), "{}", self.body);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            self.body
        );
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], t, "{}", self.body),
            None => assert!(self.body.get("scimType").is_none(), "{}", self.body),
        }
        self
    }
}

/// Runs `test` against a fresh app on `backend`, then removes its store.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    init_logs();
    let Some(store) = Store::new(backend).await else { return };
    let app = TestApp::start(&store).await;
    test(app).await;
    store.cleanup().await;
}

/// Declares a test that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::harness::run($crate::harness::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::harness::run($crate::harness::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
}

/// Tracing as in production (trace ids, propagation); logs go to stderr only when `TEST_LOG`
/// is set.
fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let logs = if std::env::var_os("TEST_LOG").is_some() {
            "info"
        } else {
            "off"
        };
        if let Ok(guard) = dirsync_telemetry::init_with_logs("dirsync-test", logs) {
            // Lives for the whole test process.
            std::mem::forget(guard);
        }
    });
}

/// A SCIM PatchOp body with these operations.
pub fn patch(ops: Value) -> Value {
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// A change's data, parsed.
pub fn change_data(c: &Change) -> Value {
    serde_json::from_str(&c.data).unwrap()
}

/// A gRPC error with this code, `ErrorInfo` reason and a message containing `detail_part`.
#[track_caller]
pub fn assert_status(status: &tonic::Status, code: tonic::Code, reason: &str, detail_part: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        dirsync_edge::error::reason(status).as_deref(),
        Some(reason),
        "{status:?}"
    );
    assert!(status.message().contains(detail_part), "{status:?}");
}

/// `s` percent-encoded for a query string (RFC 3986 unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Another core replica's mutation pipeline over `db`, at the time `clock` says: what the
/// tests run the jobs (billing, invites) with by hand.
pub fn replica(db: &sea_orm::DatabaseConnection, clock: dirsync_domain::clock::SharedClock) -> dirsync_core::Pipeline {
    dirsync_core::Pipeline::new(
        db.clone(),
        clock,
        dirsync_domain::ids::v7(),
        dirsync_core::ChangeSignal::default(),
    )
}
