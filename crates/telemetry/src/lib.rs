//! Tracing and OpenTelemetry for every dirsync process, and the W3C trace-context
//! propagation that makes one SCIM request one trace across edge and core.
//!
//! Export is configured by the standard `OTEL_*` variables and is off unless an OTLP endpoint
//! is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).

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

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("building the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("installing the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and shuts the exporter down when dropped, so the last spans are not lost on exit.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Guard {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(Err(err)) = self.provider.take().map(|p| p.shutdown()) {
            eprintln!("telemetry: shutting the exporter down: {err}");
        }
    }
}

fn otlp_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The log filter when `RUST_LOG` is unset: `info`, without the start-up chatter a newcomer
/// would read before the banner (one line per migration applied, the OpenTelemetry SDK's
/// set-up); `RUST_LOG=debug` shows them.
pub const DEFAULT_LOGS: &str = "info,sea_orm_migration=warn,opentelemetry=warn,opentelemetry_sdk=warn";

/// Installs the global subscriber: logs to stderr filtered by `RUST_LOG` (default
/// [`DEFAULT_LOGS`]), plus OTLP export when configured. `OTEL_SERVICE_NAME` overrides
/// `service_name`.
pub fn init(service_name: &str) -> Result<Guard, TelemetryError> {
    init_with_logs(service_name, DEFAULT_LOGS)
}

/// Like [`init`], with another log filter when `RUST_LOG` is unset (tests use `off`). The log
/// filter never hides spans from tracing: traces keep every `info` span.
pub fn init_with_logs(service_name: &str, default_logs: &str) -> Result<Guard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_logs));
    // The provider is installed even without an exporter, so that trace ids exist for the
    // sync log and `traceparent` still flows from edge to core.
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service_name.to_owned());
    let mut builder = SdkTracerProvider::builder().with_resource(Resource::builder().with_service_name(name).build());
    let exporting = otlp_configured();
    if exporting {
        // The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers, timeout).
        builder = builder.with_batch_exporter(opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?);
    }
    let provider = builder.build();
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("dirsync"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(otel)
        .try_init()?;
    opentelemetry::global::set_tracer_provider(provider.clone());
    let provider = exporting.then_some(provider);
    Ok(Guard { provider })
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
