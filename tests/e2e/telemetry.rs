//! What an operator's collector receives from the real binary: a real OTLP receiver (the
//! collector's gRPC services from `opentelemetry-proto`) gets one trace per SCIM request,
//! across edge and core, with semantic-convention names, kinds and attributes, and never a
//! secret; `OTEL_TRACES_SAMPLER` is honoured; JSON logs carry the trace ids. And a real
//! Prometheus scrapes `--metrics-addr`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use reqwest::Method;
use serde_json::json;
use tokio_stream::wrappers::TcpListenerStream;

use crate::binary::{Proc, edge_root, request};
use crate::harness::{Backend, Store};

/// A span as received, flattened.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: SpanKind,
    attrs: HashMap<String, String>,
}

impl Received {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

fn text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut out = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .map(|a| text(&a.value))
                .unwrap_or_default();
            for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                out.push(Received {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent: hex(&span.parent_span_id),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    attrs: span
                        .attributes
                        .iter()
                        .map(|a| (a.key.clone(), text(&a.value)))
                        .collect(),
                    name: span.name,
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut out = self.metrics.lock().unwrap();
        for rm in request.into_inner().resource_metrics {
            for m in rm.scope_metrics.into_iter().flat_map(|s| s.metrics) {
                out.push(m.name);
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Collector {
    /// Starts the receiver on an ephemeral loopback port; returns it and its endpoint URL.
    async fn start() -> (Collector, String) {
        let collector = Collector::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener));
        tokio::spawn(server);
        (collector, url)
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    fn metric_names(&self) -> Vec<String> {
        self.metrics.lock().unwrap().clone()
    }
}

fn otel_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
    ]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dirsync-otel-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every secret of a data directory: the SCIM token, the service keys, the server key.
fn secrets(dir: &std::path::Path, token: &str) -> Vec<String> {
    let mut out = vec![token.to_owned()];
    if let Ok(keys) = std::fs::read_to_string(dir.join("service-keys")) {
        out.extend(
            keys.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(_, k)| k.to_owned()),
        );
    }
    if let Ok(key) = std::fs::read_to_string(dir.join("secret.key")) {
        out.push(key.trim().to_owned());
    }
    out
}

/// The one trace of the `POST …/Users` request: edge HTTP span → edge gRPC CLIENT span →
/// core RPC SERVER span → database CLIENT spans, with their attributes; returns its trace id.
fn assert_one_trace(spans: &[Received], edge_service: &str, core_service: &str, db_system: &str) -> String {
    let route = "/scim/v2/{tenant}/Users";
    let http: Vec<&Received> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server && s.attr("http.route") == Some(route))
        .collect();
    assert_eq!(http.len(), 1, "one HTTP span for the one request: {spans:#?}");
    let http = http[0];
    assert_eq!(
        http.name,
        format!("POST {route}"),
        "named after the route template, no ids"
    );
    assert_eq!(http.service, edge_service);
    assert_eq!(http.attr("http.request.method"), Some("POST"));
    assert_eq!(http.attr("http.response.status_code"), Some("201"));
    assert!(
        http.parent.is_empty() || http.parent.chars().all(|c| c == '0'),
        "a root span"
    );
    let trace: Vec<&Received> = spans.iter().filter(|s| s.trace_id == http.trace_id).collect();
    // The trace as received (shown with --nocapture; in the failure output otherwise).
    for s in &trace {
        println!(
            "{} {:?} {:?} id={} parent={} {:?}",
            s.service, s.kind, s.name, s.span_id, s.parent, s.attrs
        );
    }
    let by_id: HashMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let descends = |s: &Received, ancestor: &Received| {
        let mut at = s;
        while let Some(p) = by_id.get(at.parent.as_str()) {
            if p.span_id == ancestor.span_id {
                return true;
            }
            at = p;
        }
        false
    };

    let rpc = "dirsync.v1.Directory/CreateUser";
    let client = trace
        .iter()
        .find(|s| s.name == rpc && s.kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("no CLIENT span {rpc} in the trace: {trace:#?}"));
    assert_eq!(client.service, edge_service);
    assert!(descends(client, http), "the edge's gRPC call is inside its HTTP span");
    let server = trace
        .iter()
        .find(|s| s.name == rpc && s.kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no SERVER span {rpc} in the trace: {trace:#?}"));
    assert_eq!(server.service, core_service);
    assert_eq!(
        server.parent, client.span_id,
        "the core's span is the child of the edge's call"
    );
    for s in [*client, *server] {
        assert_eq!(s.attr("rpc.system"), Some("grpc"));
        assert_eq!(s.attr("rpc.service"), Some("dirsync.v1.Directory"));
        assert_eq!(s.attr("rpc.method"), Some("CreateUser"));
        assert_eq!(s.attr("rpc.grpc.status_code"), Some("0"));
    }
    let db: Vec<&&Received> = trace
        .iter()
        .filter(|s| s.attrs.contains_key("db.system.name"))
        .collect();
    assert!(
        db.iter()
            .any(|s| s.attr("db.operation.name") == Some("INSERT") && s.name == "INSERT users" && descends(s, server)),
        "a database span for the insert, inside CreateUser: {db:#?}"
    );
    // Other RPCs of the request (the token check) have their statements under their own span.
    let rpc_servers: Vec<&&Received> = trace
        .iter()
        .filter(|s| s.kind == SpanKind::Server && s.attr("rpc.system") == Some("grpc"))
        .collect();
    for s in &db {
        assert_eq!(s.kind, SpanKind::Client, "{s:?}");
        assert_eq!(s.attr("db.system.name"), Some(db_system));
        assert!(s.attrs.contains_key("db.operation.name"), "{s:?}");
        assert_eq!(s.service, core_service);
        assert!(
            rpc_servers.iter().any(|r| descends(s, r)),
            "database spans are inside an RPC: {s:?}"
        );
    }
    http.trace_id.clone()
}

fn assert_no_secret(spans: &[Received], secrets: &[String]) {
    assert!(secrets.len() >= 3, "the test knows the secrets: {}", secrets.len());
    for span in spans {
        for (k, v) in &span.attrs {
            for secret in secrets {
                assert!(!v.contains(secret.as_str()), "a secret is in {k} of span {}", span.name);
            }
        }
    }
}

async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn db_system(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    }
}

/// `dirsync serve` against a real OTLP receiver: one SCIM request, one trace.
async fn serve_exports_one_trace(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let (collector, endpoint) = Collector::start().await;
    let dir = temp_dir();
    let log = dir.join("stderr.log");
    let env = otel_env(&endpoint);
    let args = [
        "serve",
        "--scim-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ];
    let mut p = Proc::spawn_with(&args, &store, &dir, Some(&log), &env_refs(&env));
    let tenant_url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    let (status, user) = request(
        Method::POST,
        &format!("{tenant_url}/Users"),
        &token,
        Some(json!({"userName": "otto@example.com"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    // Metrics arrive over OTLP too, under their conventional names.
    let want = [
        "http.server.request.duration",
        "rpc.server.duration",
        "rpc.client.duration",
        "db.client.operation.duration",
        "db.client.connection.count",
        "dirsync.scim.operations",
        "dirsync.job.runs",
    ];
    wait_for("the metrics", || {
        let names = collector.metric_names();
        want.iter().all(|w| names.iter().any(|n| n == w)).then_some(())
    })
    .await;
    p.terminate().await;

    let spans = collector.spans();
    let trace_id = assert_one_trace(&spans, "dirsync", "dirsync", db_system(backend));
    assert_no_secret(&spans, &secrets(&dir, &token));
    // JSON logs: every line is an object; those logged in the request carry its ids.
    let logs = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["trace_id"] == trace_id.as_str() && l["span_id"].as_str().is_some_and(|s| s.len() == 16)),
        "no log line of the request carries its trace id {trace_id}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

/// `dirsync core` + `dirsync edge` as two processes: still one trace, across both services.
async fn two_processes_export_one_trace(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let (collector, endpoint) = Collector::start().await;
    let dir = temp_dir();
    let mut core_env = otel_env(&endpoint);
    core_env.push(("OTEL_SERVICE_NAME", "dirsync-core".into()));
    let mut core = Proc::spawn_with(
        &["core", "--grpc-addr", "127.0.0.1:0"],
        &store,
        &dir,
        None,
        &env_refs(&core_env),
    );
    let grpc = core.value_after("gRPC core:").await;
    let mut edge_env = otel_env(&endpoint);
    edge_env.push(("OTEL_SERVICE_NAME", "dirsync-edge".into()));
    let mut edge = Proc::spawn_with(
        &["edge", "--core-url", &grpc, "--scim-addr", "127.0.0.1:0"],
        &store,
        &dir,
        None,
        &env_refs(&edge_env),
    );
    let root = edge_root(&edge.value_after("SCIM edge:").await);
    let tenant = crate::binary::admin(&dir, &grpc, &["tenant", "create", "Acme"]).await;
    let tenant_id = tenant["id"].as_str().unwrap();
    let conn = crate::binary::admin(&dir, &grpc, &["connection", "create", "--tenant", tenant_id]).await;
    let token = conn["token"].as_str().unwrap().to_owned();
    let (status, user) = request(
        Method::POST,
        &format!("{root}/scim/v2/{tenant_id}/Users"),
        &token,
        Some(json!({"userName": "otto@example.com"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    edge.terminate().await;
    // The core's last batch may still be on its way: wait for its RPC span before stopping it.
    wait_for("the core's spans", || {
        collector
            .spans()
            .iter()
            .any(|s| s.service == "dirsync-core" && s.name == "dirsync.v1.Directory/CreateUser")
            .then_some(())
    })
    .await;
    core.terminate().await;
    let spans = collector.spans();
    assert_one_trace(&spans, "dirsync-edge", "dirsync-core", db_system(backend));
    assert_no_secret(&spans, &secrets(&dir, &token));
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

/// `OTEL_TRACES_SAMPLER=always_off`: metrics still arrive, not one span.
async fn sampler_always_off_exports_no_span(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let (collector, endpoint) = Collector::start().await;
    let dir = temp_dir();
    let mut env = otel_env(&endpoint);
    env.push(("OTEL_TRACES_SAMPLER", "always_off".into()));
    let args = ["serve", "--scim-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"];
    let mut p = Proc::spawn_with(&args, &store, &dir, None, &env_refs(&env));
    let tenant_url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    let (status, _) = request(Method::GET, &format!("{tenant_url}/Users"), &token, None).await;
    assert_eq!(status, 200);
    wait_for("the request's metrics", || {
        collector
            .metric_names()
            .iter()
            .any(|n| n == "http.server.request.duration")
            .then_some(())
    })
    .await;
    p.terminate().await;
    assert_eq!(collector.spans().len(), 0, "always_off exports no span");
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_serve_sqlite() {
    serve_exports_one_trace(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_serve_postgres() {
    serve_exports_one_trace(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_core_and_edge_sqlite() {
    two_processes_export_one_trace(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_core_and_edge_postgres() {
    two_processes_export_one_trace(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_sampler_off_sqlite() {
    sampler_always_off_exports_no_span(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_sampler_off_postgres() {
    sampler_always_off_exports_no_span(Backend::Postgres).await;
}

/// Debian's `prometheus`, or `None` (test skipped) when it is not installed outside CI.
fn prometheus_binary() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "prometheus is not installed: under CI the scrape test must run (apt-get install prometheus)"
        );
        eprintln!("skipped: install prometheus (apt-get install prometheus) to run the scrape test");
    }
    found
}

/// A real Prometheus scrapes `dirsync serve --metrics-addr` and answers a query for a SCIM
/// metric; the SCIM port serves no metrics.
async fn prometheus_scrapes(backend: Backend) {
    let Some(prometheus) = prometheus_binary() else { return };
    let Some(store) = Store::new(backend).await else { return };
    let dir = temp_dir();
    let args = [
        "serve",
        "--scim-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
    ];
    let mut p = Proc::spawn(&args, &store, &dir);
    let metrics_url = p.value_after("metrics:").await;
    let target = metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let tenant_url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    let (status, _) = request(Method::GET, &format!("{tenant_url}/Users"), &token, None).await;
    assert_eq!(status, 200);
    let edge = edge_root(&p.value_after("SCIM edge:").await);
    let on_scim = reqwest::get(format!("{edge}/metrics")).await.unwrap();
    assert_eq!(on_scim.status(), 404, "metrics are not served on the SCIM port");

    let web = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: dirsync\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let mut prom = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting prometheus");
    let query = format!(
        "http://{web}/api/v1/query?query=dirsync_scim_operations_total%7Bscim_resource%3D%22User%22%2Cscim_operation%3D%22list%22%7D"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let value = loop {
        let answer = match reqwest::get(&query).await {
            Ok(r) => r.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        if let Some(v) = answer
            .as_ref()
            .and_then(|a| a["data"]["result"][0]["value"][1].as_str())
        {
            break v.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus never had the metric: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(value, "1", "one SCIM list request was counted");
    let _ = prom.kill().await;
    p.terminate().await;
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_sqlite() {
    prometheus_scrapes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_postgres() {
    prometheus_scrapes(Backend::Postgres).await;
}

/// The value of the first sample of `metrics` (Prometheus text) whose line starts with
/// `name{` and contains every one of `labels`.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The metrics the core reads from its store, as scraped: seats used and pending per tier,
/// the silence of a connection that has synced, the store probe, the pool, job runs.
async fn store_metrics_are_scraped(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let dir = temp_dir();
    let args = [
        "serve",
        "--scim-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
    ];
    let mut p = Proc::spawn(&args, &store, &dir);
    let metrics_url = p.value_after("metrics:").await;
    let grpc = p.value_after("gRPC core:").await;
    let tenant_url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    let tenant_id = tenant_url.rsplit('/').next().unwrap().to_owned();
    let admin = |args: Vec<String>| {
        let (dir, grpc) = (dir.clone(), grpc.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::binary::admin(&dir, &grpc, &args).await
        }
    };
    let tier = admin(
        [
            "license", "tier", "create", "--tenant", &tenant_id, "Team", "--rank", "20", "--seats", "1",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    let mut members = Vec::new();
    for name in ["ada@example.com", "bob@example.com"] {
        let (status, user) = request(
            Method::POST,
            &format!("{tenant_url}/Users"),
            &token,
            Some(json!({"userName": name})),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        members.push(json!({"value": user["id"]}));
    }
    let (status, group) = request(
        Method::POST,
        &format!("{tenant_url}/Groups"),
        &token,
        Some(json!({"displayName": "Team", "members": members})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    admin(
        [
            "license",
            "map",
            "--tenant",
            &tenant_id,
            "--group",
            group["id"].as_str().unwrap(),
            "--tier",
            tier["id"].as_str().unwrap(),
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;

    // The gauges read from the store are refreshed every 15 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let text = loop {
        let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
        let seats = |state: &str| {
            sample(
                &text,
                "dirsync_license_seats",
                &[
                    "dirsync_license_tier=\"Team\"",
                    &format!("dirsync_license_seat_state=\"{state}\""),
                ],
            )
        };
        if seats("used") == Some(1.0) && seats("pending") == Some(1.0) && seats("limit") == Some(1.0) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "seats never showed: {text}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let idle = sample(&text, "dirsync_connection_idle_time_seconds", &[]).expect("connection idle time");
    assert!((0.0..60.0).contains(&idle), "{idle}");
    assert_eq!(sample(&text, "dirsync_store_up", &[]), Some(1.0));
    assert!(sample(&text, "db_client_connection_max", &[]).unwrap() >= 1.0);
    assert!(sample(&text, "dirsync_job_runs_total", &["dirsync_job=\"billing\""]).unwrap() >= 1.0);
    assert!(
        sample(
            &text,
            "dirsync_scim_operations_total",
            &[
                "scim_resource=\"Group\"",
                "scim_operation=\"create\"",
                "dirsync_outcome=\"success\""
            ]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        sample(&text, "dirsync_changes_watch_streams", &[]),
        Some(0.0),
        "no Watch stream is open"
    );
    // Route templates only: no tenant id in any label.
    assert!(
        !text.contains(&tenant_id),
        "a tenant id is in the metrics (connection attributes are off)"
    );
    p.terminate().await;
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_metrics_sqlite() {
    store_metrics_are_scraped(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_metrics_postgres() {
    store_metrics_are_scraped(Backend::Postgres).await;
}
