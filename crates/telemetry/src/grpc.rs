//! Spans and durations of gRPC calls, on both ends: a SERVER span per call the core answers
//! (continuing the caller's trace) and a CLIENT span per call the edge makes, named
//! `package.Service/Method` with the `rpc.*` attributes of the semantic conventions, and the
//! `rpc.server.duration` / `rpc.client.duration` histograms (milliseconds).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tracing::Instrument;

/// Which end of the call this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// Wraps a tonic server (`Server::builder().layer(..)`) or a channel (client side).
#[derive(Debug, Clone)]
pub struct GrpcLayer {
    side: Side,
    duration: Histogram<f64>,
}

impl GrpcLayer {
    pub fn new(side: Side) -> Self {
        let (name, description) = match side {
            Side::Server => ("rpc.server.duration", "Duration of inbound gRPC calls"),
            Side::Client => ("rpc.client.duration", "Duration of outbound gRPC calls"),
        };
        let duration = crate::metrics::meter()
            .f64_histogram(name)
            .with_unit("ms")
            .with_description(description)
            .with_boundaries(crate::metrics::DURATION_BUCKETS.iter().map(|s| s * 1000.0).collect())
            .build();
        Self { side, duration }
    }
}

impl<S> tower::Layer<S> for GrpcLayer {
    type Service = Grpc<S>;

    fn layer(&self, inner: S) -> Grpc<S> {
        Grpc {
            inner,
            layer: Arc::new(self.clone()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Grpc<S> {
    inner: S,
    layer: Arc<GrpcLayer>,
}

const HEALTH: &str = "grpc.health.v1.Health";

/// `("dirsync.v1.Directory", "GetUser")` from `/dirsync.v1.Directory/GetUser`.
pub fn rpc_parts(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.rsplit_once('/').unwrap_or((path, ""))
}

fn span(side: Side, service: &str, method: &str) -> tracing::Span {
    let name = format!("{service}/{method}");
    match side {
        Side::Server => tracing::info_span!(
            "grpc",
            otel.name = %name,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        ),
        Side::Client => tracing::info_span!(
            "grpc",
            otel.name = %name,
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        ),
    }
}

/// The gRPC status of a response, from its headers: tonic sends errors as trailers-only
/// responses (status in the headers); a successful call's status comes in trailers as 0.
fn status_code<B>(resp: &http::Response<B>) -> i64 {
    resp.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Codes that are the server's fault (the semantic conventions' list for server spans).
fn server_fault(code: i64) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Grpc<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let side = self.layer.side;
        let (service, method) = rpc_parts(req.uri().path());
        // Health probes run every few seconds: measured, but not a trace each.
        let span = if service == HEALTH {
            tracing::Span::none()
        } else {
            span(side, service, method)
        };
        if side == Side::Server {
            crate::set_parent_from_headers(&span, req.headers());
        }
        let attrs = vec![
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_owned()),
            KeyValue::new("rpc.method", method.to_owned()),
        ];
        // Called inside the span: on the client, the interceptor below injects this span's
        // context as `traceparent`, so the server's span is its child.
        let fut = span.in_scope(|| self.inner.call(req));
        let layer = self.layer.clone();
        let started = Instant::now();
        Box::pin(
            async move {
                let result = fut.await;
                let current = tracing::Span::current();
                let mut attrs = attrs;
                match &result {
                    Ok(resp) => {
                        let code = status_code(resp);
                        current.record("rpc.grpc.status_code", code);
                        if (side == Side::Server && server_fault(code)) || (side == Side::Client && code != 0) {
                            current.record("otel.status_code", "ERROR");
                        }
                        attrs.push(KeyValue::new("rpc.grpc.status_code", code));
                    }
                    Err(e) => {
                        current.record("otel.status_code", "ERROR");
                        tracing::debug!(error = %e, "gRPC call failed");
                        attrs.push(KeyValue::new("error.type", "transport"));
                    }
                }
                layer.duration.record(started.elapsed().as_secs_f64() * 1000.0, &attrs);
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::rpc_parts;

    #[test]
    fn paths_split_into_service_and_method() {
        for (path, want) in [
            ("/dirsync.v1.Directory/GetUser", ("dirsync.v1.Directory", "GetUser")),
            ("/grpc.health.v1.Health/Check", ("grpc.health.v1.Health", "Check")),
            ("/odd", ("odd", "")),
        ] {
            assert_eq!(rpc_parts(path), want, "{path}");
        }
    }
}
