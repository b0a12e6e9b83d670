//! Tracing and OpenTelemetry for every dirsync process, and the W3C trace-context
//! propagation that makes one SCIM request one trace across edge and core.
//!
//! Export is configured by the standard `OTEL_*` variables and is off unless an OTLP endpoint
//! is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the `_TRACES_`/`_METRICS_` one). Metrics can also
//! be scraped in Prometheus format ([`metrics::serve_prometheus`]).

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

pub mod grpc;
pub mod logs;
pub mod metrics;

pub use logs::LogFormat;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("building the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("building the Prometheus exporter: {0}")]
    Prometheus(#[from] opentelemetry_sdk::error::OTelSdkError),
    #[error("installing the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// How a process reports: its name, its logs, and where its metrics go.
#[derive(Debug, Clone)]
pub struct Options {
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    pub service_name: String,
    /// Log filter when `RUST_LOG` is unset.
    pub default_logs: String,
    pub log_format: LogFormat,
    /// Keep metrics for the Prometheus endpoint (`--metrics-addr`).
    pub prometheus: bool,
    /// Up to this many connections get their tenant and connection ids as metric attributes
    /// (0: none; ids are unbounded, so the operator sets the bound).
    pub connection_attributes: usize,
}

impl Options {
    pub fn new(service_name: &str) -> Self {
        Self {
            service_name: service_name.to_owned(),
            default_logs: DEFAULT_LOGS.to_owned(),
            log_format: LogFormat::Text,
            prometheus: false,
            connection_attributes: 0,
        }
    }
}

/// Flushes and shuts the exporters down when dropped, so the last spans and metric points are
/// not lost on exit.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct Guard {
    traces: Option<SdkTracerProvider>,
    metrics: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    registry: Option<prometheus::Registry>,
}

impl Guard {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.traces.is_some()
    }

    /// The metrics to serve in Prometheus format, when asked for.
    pub fn prometheus(&self) -> Option<prometheus::Registry> {
        self.registry.clone()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(Err(err)) = self.traces.take().map(|p| p.shutdown()) {
            eprintln!("telemetry: shutting the trace exporter down: {err}");
        }
        if let Some(Err(err)) = self.metrics.take().map(|m| m.shutdown()) {
            eprintln!("telemetry: shutting the metrics down: {err}");
        }
    }
}

/// Whether [`init_with`] configured a span exporter: without one, spans only carry the trace
/// context (sync log, `traceparent`, log lines), so work that only feeds exported spans is
/// skipped.
static EXPORTING_TRACES: AtomicBool = AtomicBool::new(false);

/// Whether spans leave this process (an OTLP trace exporter is configured).
pub fn exporting_traces() -> bool {
    EXPORTING_TRACES.load(Ordering::Relaxed)
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value))
}

/// OTLP export of `signal` (`TRACES`, `METRICS`) as the standard variables configure it.
fn otlp_configured(signal: &str) -> bool {
    let disabled = env_is("OTEL_SDK_DISABLED", "true") || env_is(&format!("OTEL_{signal}_EXPORTER"), "none");
    !disabled && (env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")))
}

/// The log filter when `RUST_LOG` is unset: `info`, without the start-up chatter a newcomer
/// would read before the banner (one line per migration applied, the OpenTelemetry SDK's
/// set-up); `RUST_LOG=debug` shows them.
pub const DEFAULT_LOGS: &str = "info,sea_orm_migration=warn,opentelemetry=warn,opentelemetry_sdk=warn";

/// Installs the global subscriber: logs to stderr filtered by `RUST_LOG` (default
/// [`DEFAULT_LOGS`]), plus OTLP export when configured. `OTEL_SERVICE_NAME` overrides
/// `service_name`.
pub fn init(service_name: &str) -> Result<Guard, TelemetryError> {
    init_with(Options::new(service_name))
}

/// Like [`init`], with another log filter when `RUST_LOG` is unset (tests use `off`). The log
/// filter never hides spans from tracing: traces keep every `info` span.
pub fn init_with_logs(service_name: &str, default_logs: &str) -> Result<Guard, TelemetryError> {
    init_with(Options {
        default_logs: default_logs.to_owned(),
        ..Options::new(service_name)
    })
}

/// Installs tracing, the trace and meter providers and the W3C propagator for this process.
///
/// The SDK reads the rest of the standard variables itself: `OTEL_TRACES_SAMPLER`(`_ARG`),
/// `OTEL_EXPORTER_OTLP_*` (endpoint, headers, timeout), `OTEL_METRIC_EXPORT_INTERVAL`.
pub fn init_with(options: Options) -> Result<Guard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    metrics::set_connection_attributes(options.connection_attributes);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&options.default_logs));
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| options.service_name.clone());
    let resource = Resource::builder().with_service_name(name).build();
    // The provider is installed even without an exporter, so that trace ids exist for the
    // sync log and `traceparent` still flows from edge to core.
    let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
    let exporting = otlp_configured("TRACES");
    EXPORTING_TRACES.store(exporting, Ordering::Relaxed);
    if exporting {
        builder = builder.with_batch_exporter(opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?);
    }
    let provider = builder.build();
    let (meters, registry) = metrics::provider(resource, otlp_configured("METRICS"), options.prometheus)?;
    if let Some(meters) = &meters {
        opentelemetry::global::set_meter_provider(meters.clone());
    }
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("dirsync"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let fmt_layer = match options.log_format {
        LogFormat::Text => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(logs::JsonWithTrace::default())
            .fmt_fields(fmt::format::JsonFields::new())
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(otel)
        .with(fmt_layer.with_filter(filter))
        .try_init()?;
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(Guard {
        traces: exporting.then_some(provider),
        metrics: meters,
        registry,
    })
}

struct HeaderInjector<'a>(&'a mut Vec<(String, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The `traceparent` (and `tracestate`) headers that carry `span`'s context to the next hop.
pub fn trace_headers(span: &tracing::Span) -> Vec<(String, String)> {
    let cx = span.context();
    let mut out = Vec::new();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(&mut out));
    });
    out
}

/// Makes `span` a child of the trace context found in `headers`, if any.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    if parent.span().span_context().is_valid() {
        // Only fails when the span is disabled; nothing to do then.
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span` as 32 hex digits, or `None` when it is not being traced.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// Wall-clock milliseconds since the Unix epoch (0 for a clock set before it): the one
/// timestamp source of the records both sides write (sync-log start times, gauges), so edge
/// and core stamp alike.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
