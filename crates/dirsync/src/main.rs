//! `dirsync`: the SCIM edge and the directory core in one binary, and the operator CLI.

mod admin;
mod config;
mod config_file;
mod keys;

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{CoreArgs, EdgeArgs, ServeArgs, TelemetryArgs};

/// A request allocates and frees many small objects on every worker thread; glibc malloc spent
/// a quarter of a request's CPU on them, mimalloc's thread-local free lists far less
/// (docs/benchmarks.md, "Session 5").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "dirsync",
    version,
    about = "SCIM 2.0 directory sync: IdPs push users and groups, your services read them over gRPC"
)]
struct Cli {
    /// A file of NAME=value settings, named as the environment variables (flags and the
    /// environment take precedence over it).
    #[arg(long, global = true, env = "DIRSYNC_CONFIG")]
    config: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Core and SCIM edge in one process (the default).
    Serve(ServeArgs),
    /// Only the core: storage and the gRPC API.
    Core(CoreArgs),
    /// Only the SCIM edge, talking to a core over gRPC.
    Edge(EdgeArgs),
    /// Operator commands against a running core.
    Admin(admin::AdminArgs),
}

fn main() -> anyhow::Result<()> {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cli = parse(&argv)?;
    if cli.command.is_none() {
        // No subcommand means `serve`, with its defaults, environment and configuration file.
        argv.push("serve".into());
        cli = parse(&argv)?;
    }
    let Some(command) = cli.command else {
        anyhow::bail!("no command given");
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Serve(args) => serve(args).await,
            Command::Core(args) => core(args).await,
            Command::Edge(args) => edge(args).await,
            Command::Admin(args) => admin::run(args).await,
        }
    })
}

/// The command line, with the configuration file's settings under the flags and the
/// environment (`config_file`); usage errors and `--help` exit here.
fn parse(argv: &[std::ffi::OsString]) -> anyhow::Result<Cli> {
    let (mut cmd, matches) = config_file::matches(<Cli as clap::CommandFactory>::command(), argv)?;
    Ok(<Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit()))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Opens the store, waiting with backoff while it is unreachable; `None` when a signal to
/// stop came first. (Readiness reporting during the wait belongs here.)
async fn open_store(
    url: &str,
    options: &dirsync_core::StoreOptions,
) -> anyhow::Result<Option<dirsync_core::DatabaseConnection>> {
    let url = plain_on_this_host(url, std::env::var_os("PGSSLMODE").is_some());
    tokio::select! {
        db = dirsync_core::connect_waiting(&url, options) => Ok(Some(db.context("opening the store")?)),
        () = shutdown_signal() => Ok(None),
    }
}

/// PostgreSQL on this host (`localhost`, a loopback address, a Unix socket) with no `sslmode`
/// in the URL nor in `PGSSLMODE` is reached without TLS: sqlx's default, `prefer`, encrypts
/// whenever the server offers TLS (Debian's PostgreSQL does, with its snakeoil certificate),
/// which costs CPU on every query and protects nothing on loopback. An explicit `sslmode` is
/// always kept (README, Configuration).
fn plain_on_this_host(url: &str, sslmode_in_env: bool) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if sslmode_in_env || !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return url.to_owned();
    }
    let mut query_host = None;
    for (key, value) in parsed.query_pairs() {
        match &*key {
            // sqlx reads both spellings.
            "sslmode" | "ssl-mode" => return url.to_owned(),
            "host" => query_host = Some(value.into_owned()),
            _ => {}
        }
    }
    let loopback = |host: &str| {
        host.is_empty()
            || host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let local = match query_host {
        Some(host) => host.starts_with('/') || loopback(&host),
        None => parsed.host_str().is_none_or(loopback),
    };
    if !local {
        return url.to_owned();
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    parsed.into()
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} address {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Logs, traces and metrics for this process; with `--metrics-addr`, the Prometheus endpoint
/// on its own listener (refused on the address that serves `other`, SCIM or gRPC).
async fn telemetry(args: &TelemetryArgs, service: &str, other: &str) -> anyhow::Result<dirsync_telemetry::Guard> {
    let guard = dirsync_telemetry::init_with(args.options(service))?;
    if let (Some(addr), Some(registry)) = (&args.metrics_addr, guard.prometheus()) {
        anyhow::ensure!(
            addr != other || addr.ends_with(":0"),
            "--metrics-addr must differ from the service address {other}"
        );
        let (listener, local) = bind(addr, "metrics").await?;
        println!("  metrics:    http://{local}/metrics");
        tokio::spawn(async move {
            if let Err(e) =
                dirsync_telemetry::metrics::serve_prometheus(listener, registry, std::future::pending()).await
            {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    Ok(guard)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry(&args.telemetry, "dirsync", &args.scim_addr).await?;
    let database_url = args.database_url();
    let Some(db) = open_store(&database_url, &args.store.store_options()).await? else {
        return Ok(());
    };
    let (grpc, grpc_addr) = bind(&args.grpc_addr, "gRPC").await?;
    let (scim, scim_addr) = bind(&args.scim_addr, "SCIM").await?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{scim_addr}"));
    let keys_path = args.store.keys_path();
    let (keys, new_keys) = keys::KeyFile::load_or_create(&keys_path)?;
    let edge_key = keys
        .get("edge")
        .context("the service key file has no key for \"edge\"")?
        .to_owned();
    let (sealing, _) = args.store.sealing()?;
    let settings = dirsync_core::CoreSettings {
        public_url: public_url.clone(),
        auth: keys.auth(),
        sealing,
        retention: args.store.retention(),
        feed_poll: dirsync_core::FEED_POLL,
        page_members: args.store.max_page_members,
    };
    let clock = dirsync_domain::clock::system();
    let first = dirsync_core::bootstrap(&db, &clock, &settings).await?;

    // Stopped in order: the edge first (stops accepting, drains, flushes its sync-log
    // outcomes to the core), then the core (ends Watch streams, finishes its calls).
    let (core_stop, core_stopped) = tokio::sync::oneshot::channel::<()>();
    let (edge_stop, edge_stopped) = tokio::sync::oneshot::channel::<()>();
    let core = dirsync_core::start(db, clock, settings).await?;
    // The edge and the portal call the core in this process: the same layers, keys and
    // spans as over gRPC, without TCP and HTTP/2. The gRPC port serves product services.
    let link = dirsync_link::CoreLink::in_process(core.service());
    let core = tokio::spawn(core.serve(grpc, async {
        let _ = core_stopped.await;
    }));
    let portal = portal_routes(&link, keys.get("portal"), &args.portal, Some(public_url.clone()))?;
    let state = dirsync_edge::AppState::new(link, args.edge.config(Some(public_url.clone()), edge_key));
    let mut edge = tokio::spawn(dirsync_edge::serve_with(scim, state, portal, async {
        let _ = edge_stopped.await;
    }));

    println!("dirsync is running (store: {})", config::redact_url(&database_url));
    println!("  SCIM edge:  http://{scim_addr}/scim/v2/<tenant id>");
    println!("  gRPC core:  http://{grpc_addr}");
    println!("  portal:     {public_url}/portal/ (open a link from `dirsync admin portal link`)");
    print_keys(&keys_path, new_keys);
    if let Some(b) = first {
        println!();
        println!("A first tenant and SCIM connection were created. Paste these into your IdP:");
        println!("  Tenant URL:   {}", b.scim_base_url);
        println!("  Secret token: {}", b.token);
        println!("Show them again at any time:");
        println!(
            "  dirsync admin --core-url http://{grpc_addr} connection show --tenant {} --connection {}",
            b.tenant_id, b.connection_id
        );
        println!("Issue a new token if this one leaked:");
        println!(
            "  dirsync admin --core-url http://{grpc_addr} token rotate --tenant {} --connection {}",
            b.tenant_id, b.connection_id
        );
    } else {
        println!(
            "  List tenants and connections: dirsync admin --core-url http://{grpc_addr} connection list --tenant <id>"
        );
    }

    shutdown_signal().await;
    let _ = edge_stop.send(());
    match tokio::time::timeout(EDGE_DRAIN, &mut edge).await {
        Ok(done) => done.context("edge task")??,
        Err(_) => {
            tracing::warn!("SCIM requests still running after the drain period were cut off");
            edge.abort();
        }
    }
    let _ = core_stop.send(());
    core.await.context("core task")??;
    Ok(())
}

/// How long `serve` lets SCIM requests in flight finish at shutdown before it stops the core
/// (which has `dirsync_core::SHUTDOWN_GRACE` of its own): both fit in 10 s.
const EDGE_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Tells where the gRPC service keys are (never the keys themselves).
fn print_keys(path: &std::path::Path, created: bool) {
    let verb = if created { "written to" } else { "read from" };
    println!(
        "  gRPC service keys {verb} {} (one name=key line per calling service;",
        path.display()
    );
    println!("  the edge uses \"edge\", dirsync admin uses \"admin\")");
}

async fn core(args: CoreArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry(&args.telemetry, "dirsync-core", &args.grpc_addr).await?;
    let database_url = args.database_url();
    let Some(db) = open_store(&database_url, &args.store.store_options()).await? else {
        return Ok(());
    };
    let (grpc, grpc_addr) = bind(&args.grpc_addr, "gRPC").await?;
    let public_url = args.public_url.clone();
    let keys_path = args.store.keys_path();
    let (keys, new_keys) = keys::KeyFile::load_or_create(&keys_path)?;
    println!("dirsync core is running (store: {})", config::redact_url(&database_url));
    println!("  gRPC core:  http://{grpc_addr}");
    print_keys(&keys_path, new_keys);
    let (sealing, _) = args.store.sealing()?;
    let settings = dirsync_core::CoreSettings {
        public_url,
        auth: keys.auth(),
        sealing,
        retention: args.store.retention(),
        feed_poll: dirsync_core::FEED_POLL,
        page_members: args.store.max_page_members,
    };
    dirsync_core::serve(db, dirsync_domain::clock::system(), settings, grpc, shutdown_signal()).await?;
    Ok(())
}

async fn edge(args: EdgeArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry(&args.telemetry, "dirsync-edge", &args.scim_addr).await?;
    let (scim, scim_addr) = bind(&args.scim_addr, "SCIM").await?;
    let channel = dirsync_link::CoreLink::grpc(dirsync_edge::core_channel(&args.core_url).context("core URL")?);
    let portal = portal_routes(
        &channel,
        args.portal_key().as_deref(),
        &args.portal,
        args.public_url.clone(),
    )?;
    let state = dirsync_edge::AppState::new(channel, args.config()?);
    println!("dirsync edge is running, core at {}", args.core_url);
    println!("  SCIM edge:  http://{scim_addr}/scim/v2/<tenant id>");
    dirsync_edge::serve_with(scim, state, portal, shutdown_signal()).await?;
    Ok(())
}

/// The setup portal under /portal, with the `portal` service key; without that key (a key
/// file from before the portal) it is not served, and start-up says how to add it.
fn portal_routes(
    channel: &dirsync_link::CoreLink,
    key: Option<&str>,
    flags: &config::PortalFlags,
    public_url: Option<String>,
) -> anyhow::Result<axum::Router> {
    let config = flags.config(public_url)?;
    let Some(key) = key else {
        println!("  portal:     off (add a portal=<key> line to the service key file to serve it)");
        return Ok(axum::Router::new());
    };
    let client = dirsync_portal::core_client(channel.clone(), key);
    Ok(dirsync_portal::router(dirsync_portal::PortalState::new(client, config)))
}

#[cfg(test)]
mod tests {
    use super::plain_on_this_host;

    #[test]
    fn loopback_postgres_skips_tls_unless_asked() {
        for (url, want) in [
            (
                "postgres://u@127.0.0.1:5432/db",
                "postgres://u@127.0.0.1:5432/db?sslmode=disable",
            ),
            (
                "postgresql://u:p@localhost/db?application_name=x",
                "postgresql://u:p@localhost/db?application_name=x&sslmode=disable",
            ),
            (
                "postgres://u@[::1]:5432/db",
                "postgres://u@[::1]:5432/db?sslmode=disable",
            ),
            ("postgres:///db", "postgres:///db?sslmode=disable"),
            (
                "postgres:///db?host=/var/run/postgresql",
                "postgres:///db?host=/var/run/postgresql&sslmode=disable",
            ),
            // An explicit sslmode is kept, whatever the host.
            (
                "postgres://u@127.0.0.1/db?sslmode=require",
                "postgres://u@127.0.0.1/db?sslmode=require",
            ),
            (
                "postgres://u@localhost/db?ssl-mode=verify-full",
                "postgres://u@localhost/db?ssl-mode=verify-full",
            ),
            (
                "postgres://u@localhost/db?sslmode=prefer",
                "postgres://u@localhost/db?sslmode=prefer",
            ),
            // Other hosts keep sqlx's default (prefer).
            ("postgres://u@db.example.com/db", "postgres://u@db.example.com/db"),
            ("postgres://u@10.0.0.5:5432/db", "postgres://u@10.0.0.5:5432/db"),
            (
                "postgres://u@localhost/db?host=db.example.com",
                "postgres://u@localhost/db?host=db.example.com",
            ),
            // Not PostgreSQL.
            ("sqlite://data/dirsync.db?mode=rwc", "sqlite://data/dirsync.db?mode=rwc"),
        ] {
            assert_eq!(plain_on_this_host(url, false), want, "{url}");
        }
        // PGSSLMODE in the environment is as explicit as the URL.
        assert_eq!(
            plain_on_this_host("postgres://u@127.0.0.1/db", true),
            "postgres://u@127.0.0.1/db"
        );
    }
}
