//! The OpenTelemetry meter provider, its Prometheus endpoint, and the bound on per-connection
//! attributes.
//!
//! Instruments are created from [`meter`] after [`crate::init_with`] installed the provider
//! (before it, or in tests that install none, they are no-ops).

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use tokio::net::TcpListener;

/// Bucket boundaries (seconds) the semantic conventions recommend for request durations.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// dirsync's meter (instrumentation scope `dirsync`).
pub fn meter() -> Meter {
    opentelemetry::global::meter("dirsync")
}

/// The meter provider, or `None` when no reader would take its points: instruments then stay
/// the global no-ops (an SDK provider without readers logs an error for every observable gauge).
pub(crate) fn provider(
    resource: Resource,
    otlp: bool,
    prometheus: bool,
) -> Result<(Option<SdkMeterProvider>, Option<prometheus::Registry>), crate::TelemetryError> {
    if !otlp && !prometheus {
        return Ok((None, None));
    }
    let mut builder = SdkMeterProvider::builder().with_resource(resource);
    if otlp {
        // Cumulative temporality (the default) is what Prometheus's OTLP receiver expects.
        builder = builder.with_periodic_exporter(opentelemetry_otlp::MetricExporter::builder().with_tonic().build()?);
    }
    let registry = if prometheus {
        let registry = prometheus::Registry::new();
        builder = builder.with_reader(
            opentelemetry_prometheus::exporter()
                .with_registry(registry.clone())
                .build()?,
        );
        Some(registry)
    } else {
        None
    };
    Ok((Some(builder.build()), registry))
}

/// Serves `GET /metrics` in Prometheus text format on `listener` until `shutdown`. This is its
/// own listener (`--metrics-addr`), never the SCIM port: IdPs must not read operator data.
pub async fn serve_prometheus(
    listener: TcpListener,
    registry: prometheus::Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                let mut out = String::new();
                let encoder = prometheus::TextEncoder::new();
                match encoder.encode_utf8(&registry.gather(), &mut out) {
                    Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], out),
                    Err(e) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        format!("encoding metrics: {e}"),
                    ),
                }
            }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

static CONNECTION_LIMIT: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn set_connection_attributes(limit: usize) {
    CONNECTION_LIMIT.store(limit, Ordering::Relaxed);
}

fn seen() -> &'static Mutex<HashSet<String>> {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// `dirsync.tenant.id` and `dirsync.connection.id` for a connection's data points, for the
/// first `--metrics-connection-attributes` connections seen; none for the rest (their points
/// add up in the series without ids), so the number of series stays bounded.
pub fn connection_attributes(tenant_id: &str, connection_id: &str) -> Vec<KeyValue> {
    let limit = CONNECTION_LIMIT.load(Ordering::Relaxed);
    if limit == 0 {
        return Vec::new();
    }
    let Ok(mut seen) = seen().lock() else {
        return Vec::new();
    };
    if seen.contains(connection_id) || (seen.len() < limit && seen.insert(connection_id.to_owned())) {
        vec![
            KeyValue::new("dirsync.tenant.id", tenant_id.to_owned()),
            KeyValue::new("dirsync.connection.id", connection_id.to_owned()),
        ]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_attributes_are_bounded() {
        set_connection_attributes(0);
        assert!(connection_attributes("t", "c0").is_empty(), "off by default");
        set_connection_attributes(2);
        let got: Vec<usize> = ["c1", "c2", "c3", "c1"]
            .iter()
            .map(|c| connection_attributes("t", c).len())
            .collect();
        assert_eq!(got, [2, 2, 0, 2]);
        set_connection_attributes(0);
    }
}
