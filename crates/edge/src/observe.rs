//! What operators see of the SCIM edge: one SERVER span per request named after its route
//! template (`GET /scim/v2/{tenant}/Users/{id}`, never a raw path), the
//! `http.server.request.duration` histogram, SCIM operations by resource and outcome,
//! authentication failures and rate-limit refusals; and the `/readyz` probe.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tracing::Instrument;

use crate::state::AppState;

struct Instruments {
    duration: Histogram<f64>,
    operations: Counter<u64>,
    auth_failures: Counter<u64>,
    rate_limited: Counter<u64>,
}

static METRICS: LazyLock<Instruments> = LazyLock::new(|| {
    let meter = dirsync_telemetry::metrics::meter();
    Instruments {
        duration: meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests")
            .with_boundaries(dirsync_telemetry::metrics::DURATION_BUCKETS.to_vec())
            .build(),
        operations: meter
            .u64_counter("dirsync.scim.operations")
            .with_unit("{operation}")
            .with_description("SCIM operations answered, by resource, operation and outcome")
            .build(),
        auth_failures: meter
            .u64_counter("dirsync.scim.auth.failures")
            .with_unit("{request}")
            .with_description("SCIM requests refused for missing or invalid credentials")
            .build(),
        rate_limited: meter
            .u64_counter("dirsync.scim.rate_limited")
            .with_unit("{request}")
            .with_description("SCIM requests refused by a rate limit (429)")
            .build(),
    }
});

/// The authenticated connection of a request, left on its response by the connection
/// middleware so that the request's span and metrics can name it.
#[derive(Debug, Clone)]
pub struct ConnectionTag {
    pub tenant_id: String,
    pub connection_id: String,
}

/// `(scim.resource, scim.operation)` of a SCIM route template, `None` for other routes.
fn scim_operation(route: &str, method: &axum::http::Method) -> Option<(&'static str, &'static str)> {
    use axum::http::Method;
    let rest = route.strip_prefix("/scim/v2/{tenant}")?;
    let resource = match rest.split('/').nth(1)? {
        "Users" => "User",
        "Groups" => "Group",
        ".search" => "All",
        "Bulk" => "Bulk",
        "Me" => "Me",
        "ServiceProviderConfig" | "ResourceTypes" | "Schemas" => "Discovery",
        _ => return None,
    };
    let item = rest.ends_with("/{id}");
    let op = if rest.ends_with(".search") {
        "search"
    } else if *method == Method::GET {
        if item || resource == "Discovery" { "get" } else { "list" }
    } else if *method == Method::POST {
        if resource == "Bulk" { "bulk" } else { "create" }
    } else if *method == Method::PUT {
        "replace"
    } else if *method == Method::PATCH {
        "patch"
    } else if *method == Method::DELETE {
        "delete"
    } else {
        "other"
    };
    Some((resource, op))
}

fn outcome(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "server_error"
    } else if status.is_client_error() {
        "client_error"
    } else {
        "success"
    }
}

/// Traces and measures every request (an axum middleware on the whole router).
pub async fn http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    // Semantic conventions: `{method} {route}`, or only the method when no route matched.
    let name = match &route {
        Some(r) => format!("{method} {r}"),
        None => method.to_string(),
    };
    // Probes (`/healthz`, `/readyz`) are measured, but not a trace each.
    let probe = matches!(route.as_deref(), Some("/healthz" | "/readyz"));
    let span = if probe {
        tracing::Span::none()
    } else {
        tracing::info_span!(
            "http",
            otel.name = %name,
            otel.kind = "server",
            http.request.method = %method,
            http.route = route.as_deref(),
            url.scheme = "http",
            url.path = %req.uri().path(),
            user_agent.original = req
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect::<String>()),
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            dirsync.tenant.id = tracing::field::Empty,
            dirsync.connection.id = tracing::field::Empty,
        )
    };
    dirsync_telemetry::set_parent_from_headers(&span, req.headers());
    let resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.as_str());
    }
    let tag = resp.extensions().get::<ConnectionTag>();
    if let Some(tag) = tag {
        span.record("dirsync.tenant.id", tag.tenant_id.as_str());
        span.record("dirsync.connection.id", tag.connection_id.as_str());
    }
    // At debug level, one line per request, in its span (so with its trace id in JSON logs).
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "SCIM request answered"
        );
    });

    let m = &*METRICS;
    let mut attrs = vec![
        KeyValue::new("http.request.method", method.to_string()),
        KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
        KeyValue::new("url.scheme", "http"),
    ];
    if let Some(r) = &route {
        attrs.push(KeyValue::new("http.route", r.clone()));
    }
    if status.is_server_error() {
        attrs.push(KeyValue::new("error.type", status.as_str().to_owned()));
    }
    m.duration.record(started.elapsed().as_secs_f64(), &attrs);

    let connection = tag
        .map(|t| dirsync_telemetry::metrics::connection_attributes(&t.tenant_id, &t.connection_id))
        .unwrap_or_default();
    if status == StatusCode::UNAUTHORIZED {
        m.auth_failures.add(1, &[]);
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        m.rate_limited.add(1, &connection);
    }
    if let Some((resource, op)) = route.as_deref().and_then(|r| scim_operation(r, &method)) {
        let mut attrs = vec![
            KeyValue::new("scim.resource", resource),
            KeyValue::new("scim.operation", op),
            KeyValue::new("dirsync.outcome", outcome(status)),
            KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
        ];
        attrs.extend(connection);
        m.operations.add(1, &attrs);
    }
    resp
}

/// How long `/readyz` waits for the core.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz`: the process is alive (it answers).
pub async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: ready to take SCIM traffic when the core answers, its store is reachable and its
/// migrations are applied (the core's `grpc.health.v1` services `dirsync.store` and
/// `dirsync.migrations`). 503 with what is missing otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut client = HealthClient::new(state.core_channel());
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for (name, service) in [
        ("core", ""),
        ("store", "dirsync.store"),
        ("migrations", "dirsync.migrations"),
    ] {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let answer = tokio::time::timeout(READY_TIMEOUT, client.check(request)).await;
        let status = match answer {
            Ok(Ok(resp)) if resp.get_ref().status == ServingStatus::Serving as i32 => "ok".to_owned(),
            Ok(Ok(_)) => "not serving".to_owned(),
            Ok(Err(s)) if name == "core" => format!("unreachable: {}", s.message()),
            Ok(Err(s)) => format!("unknown: {}", s.message()),
            Err(_) => "timed out".to_owned(),
        };
        ready &= status == "ok";
        checks.insert(name.to_owned(), serde_json::Value::String(status));
    }
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        axum::Json(serde_json::json!({"status": if ready { "ready" } else { "not ready" }, "checks": checks})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::scim_operation;

    #[test]
    fn routes_name_scim_operations() {
        let t = "/scim/v2/{tenant}";
        for (route, method, want) in [
            (format!("{t}/Users"), Method::GET, Some(("User", "list"))),
            (format!("{t}/Users"), Method::POST, Some(("User", "create"))),
            (format!("{t}/Users/{{id}}"), Method::GET, Some(("User", "get"))),
            (format!("{t}/Groups/{{id}}"), Method::PATCH, Some(("Group", "patch"))),
            (format!("{t}/Groups/{{id}}"), Method::PUT, Some(("Group", "replace"))),
            (format!("{t}/Users/{{id}}"), Method::DELETE, Some(("User", "delete"))),
            (format!("{t}/Users/.search"), Method::POST, Some(("User", "search"))),
            (format!("{t}/.search"), Method::POST, Some(("All", "search"))),
            (format!("{t}/Bulk"), Method::POST, Some(("Bulk", "bulk"))),
            (format!("{t}/Schemas/{{name}}"), Method::GET, Some(("Discovery", "get"))),
            ("/healthz".to_owned(), Method::GET, None),
        ] {
            assert_eq!(scim_operation(&route, &method), want, "{method} {route}");
        }
    }
}
