//! dirsync's SCIM 2.0 edge (RFC 7643/7644): authenticates IdPs, speaks SCIM with their quirks,
//! and calls the core over gRPC. It knows no SQL.

pub mod auth;
pub mod auth_failures;
pub mod bounds;
pub mod bulk;
pub mod cache;
pub mod calls;
pub mod capture;
pub mod convert;
pub mod discovery;
pub mod error;
pub mod groups;
pub mod limits;
pub mod media;
pub mod observe;
pub mod params;
pub mod paths;
pub mod recorder;
pub mod retry;
pub mod state;
pub mod tenant_schemas;
pub mod users;

use std::future::Future;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;

use crate::auth::Caller;
pub use crate::calls::ServiceKey;
use crate::error::{ApiError, ApiResult};
use crate::groups::GroupPage;
use crate::media::{BodyLimit, Scim, ScimJson};
use crate::params::ListParams;
pub use crate::state::{AppState, EdgeConfig};

/// The tenant's SCIM base URL: the configured public URL, else `http://<Host>`.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap, tenant: &str) -> String {
    let root = match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{root}/scim/v2/{tenant}")
}

/// POST /.search on the service root (RFC 7644 §3.4.3): users, then groups.
async fn search_root(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> ApiResult<Response> {
    let params = ListParams::from_search(&body)?;
    let (start, count) = dirsync_scim::list::normalize_paging(
        params.start_index,
        params.count,
        state.config.default_page_size,
        state.config.max_page_size,
    );
    // Count both types first, then page over the concatenation.
    let count_only = |p: &ListParams| ListParams {
        count: Some(0),
        start_index: Some(1),
        ..p.clone()
    };
    let users_total = total(users::list_users(&state, &caller, &headers, count_only(&params)).await?);
    let groups_total = match groups::list_groups(&state, &caller, &headers, count_only(&params)).await? {
        GroupPage::List(list) => total(list),
        GroupPage::Alone { total, .. } => total,
    };
    let mut resources = Vec::new();
    let offset = start - 1;
    if offset < users_total && count > 0 {
        let page = ListParams {
            start_index: Some(start as i64),
            count: Some(count as i64),
            ..params.clone()
        };
        resources.extend(items(users::list_users(&state, &caller, &headers, page).await?));
    }
    let left = count.saturating_sub(resources.len() as u64);
    let reached = offset + resources.len() as u64;
    // Groups follow only when the users are done: a page that ended early stays short.
    if left > 0 && reached >= users_total && reached < users_total + groups_total {
        let group_start = reached - users_total + 1;
        let page = ListParams {
            start_index: Some(group_start as i64),
            count: Some(left as i64),
            ..params.clone()
        };
        match groups::list_groups(&state, &caller, &headers, page).await? {
            GroupPage::List(list) => resources.extend(items(list)),
            // A group whose members are streamed comes alone on its page.
            GroupPage::Alone { group, .. } if resources.is_empty() => {
                return groups::streamed_list(
                    &state,
                    &caller,
                    &headers,
                    &params,
                    &group,
                    users_total + groups_total,
                    start,
                )
                .await;
            }
            GroupPage::Alone { .. } => {}
        }
    }
    Ok(Scim::ok(dirsync_scim::list::list_response(
        resources,
        users_total + groups_total,
        start,
    ))
    .into_response())
}

fn total(list: serde_json::Value) -> u64 {
    list.get("totalResults")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

fn items(list: serde_json::Value) -> Vec<serde_json::Value> {
    match list {
        serde_json::Value::Object(mut m) => match m.remove("Resources") {
            Some(serde_json::Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// /Me is not supported: IdPs provision, they do not log in here (RFC 7644 §3.11).
async fn me(_caller: Caller) -> ApiError {
    ApiError::new(501, None, "/Me is not supported by this service provider")
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; SCIM resources live under /scim/v2/<tenant id>/")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(405, None, "method not allowed on this endpoint")
}

/// Headers in which IdPs send their own request ids.
const IDP_REQUEST_ID_HEADERS: &[&str] = &[
    "client-request-id",
    "x-ms-client-request-id",
    "x-okta-request-id",
    "x-request-id",
    "request-id",
];

/// 429 in the SCIM error schema with `Retry-After` (RFC 6585 §4), recorded in the sync log
/// like any other answer, so throttling shows there and in the connection status.
fn too_many_requests(refusal: limits::Refusal) -> Response {
    let mut resp = ApiError::new(429, None, refusal.detail).into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from(limits::retry_secs(refusal.retry_after)),
    );
    resp
}

/// Everything that happens per SCIM request of a connection: authentication, the rate limit,
/// the request context the core's sync log needs, and recording the outcome. A request is
/// recorded before its response is sent, so the log is complete when the IdP sees the answer.
async fn connection(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let started_at_ms = dirsync_telemetry::now_ms();
    // Nested routers see a stripped path; the tenant and the log need the original one.
    let uri = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().clone(), |u| u.0.clone());
    let tenant = auth::path_tenant(uri.path()).to_owned();
    let source = auth::source(req.extensions(), req.headers(), &state.config.trusted_proxies);
    let caller = match state.authenticate(req.headers(), source, &tenant).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let idp_request_id = IDP_REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()))
        .map(|v| v.chars().take(200).collect());
    let ctx = calls::RequestContext {
        request_id: uuid::Uuid::now_v7().to_string(),
        method: req.method().to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
        idp_request_id,
    };
    // Admitted before its body is read: a request whose body is still arriving holds its
    // place among the requests in flight.
    let mut body = None;
    let resp = match state
        .limiter
        .admit(&caller.tenant_id, &caller.connection_id, std::time::Instant::now())
    {
        Err(refusal) => too_many_requests(refusal),
        Ok(admission) => {
            if !admission.delay.is_zero() {
                tokio::time::sleep(admission.delay).await;
            }
            // Bodies are read here only for connections that capture them; the limit still holds.
            let mut unreadable = None;
            if caller.capture_bodies {
                let (parts, raw) = req.into_parts();
                let bytes = match axum::body::to_bytes(raw, state.config.max_body_bytes).await {
                    Ok(bytes) => {
                        body = Some(capture::redacted(&bytes));
                        bytes
                    }
                    Err(e) => {
                        unreadable = Some(bounds::body_read_error(&e, state.config.max_body_bytes).into_response());
                        axum::body::Bytes::new()
                    }
                };
                req = Request::from_parts(parts, axum::body::Body::from(bytes));
            }
            let resp = match unreadable {
                Some(resp) => resp,
                None => {
                    req.extensions_mut().insert(caller.clone());
                    calls::REQUEST.scope(ctx.clone(), next.run(req)).await
                }
            };
            drop(admission.permit);
            resp
        }
    };
    // The request's span and metrics name the connection (see observe.rs).
    let mut resp = resp;
    resp.extensions_mut().insert(observe::ConnectionTag {
        tenant_id: caller.tenant_id.clone(),
        connection_id: caller.connection_id.clone(),
    });
    if state.config.record_requests {
        let record = dirsync_proto::v1::RecordRequestRequest {
            tenant_id: caller.tenant_id,
            connection_id: caller.connection_id,
            request_id: ctx.request_id,
            method: ctx.method,
            path: ctx.path,
            status: u32::from(resp.status().as_u16()),
            duration_ms: started.elapsed().as_millis() as u64,
            error: resp.extensions().get::<error::ErrorDetail>().map(|d| d.0.clone()),
            idp_request_id: ctx.idp_request_id,
            trace_id: dirsync_telemetry::trace_id(&tracing::Span::current()),
            body: body.filter(|b| !b.is_empty()),
            started_at_ms,
        };
        state.recorder.record(record);
    }
    resp
}

/// Refuses requests whose `Accept` admits no JSON, before any work is done.
async fn negotiate(req: Request, next: Next) -> Response {
    match media::check_accept(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The SCIM router for `state`.
pub fn router(state: AppState) -> Router {
    let limit = BodyLimit(state.config.max_body_bytes);
    let scim = Router::new()
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", post(users::search))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/.search", post(search_root))
        .route("/ServiceProviderConfig", get(discovery::service_provider_config))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{name}", get(discovery::schema))
        .route("/Me", any(me))
        .route("/Bulk", post(bulk::bulk))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), connection))
        .layer(middleware::from_fn(negotiate));
    Router::new()
        .nest("/scim/v2/{tenant}", scim)
        .route("/healthz", get(observe::healthz))
        .route("/readyz", get(observe::readyz))
        .fallback(not_found)
        .layer(Extension(limit))
        // Input bounds: oversized request lines and headers are refused before anything else,
        // and a body must arrive within its read timeout.
        .layer(tower_http::map_request_body::MapRequestBodyLayer::new(
            axum::body::Body::new,
        ))
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(
            state.config.bounds.body_read_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.config.bounds,
            bounds::request_size,
        ))
        .layer(middleware::from_fn(bounds::close_unread))
        .layer(middleware::from_fn(observe::http))
        .with_state(state)
}

/// Serves the SCIM edge on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// Serves the SCIM edge with `extra` routes beside it (the setup portal under `/portal`).
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let recorder = state.recorder.clone();
    let bounds = state.config.bounds;
    // Paths are made canonical before routing (`paths`): `/users`, `/Users/`, ... A layer on
    // the router itself would run after routing, so the router is this wrapper's fallback.
    let app = Router::new().fallback_service(tower::Layer::layer(
        &middleware::from_fn(paths::normalize),
        router(state).merge(extra),
    ));
    bounds::serve_http(listener, app, bounds, shutdown).await?;
    // The last request outcomes reach the sync log before the edge exits.
    recorder.flush().await;
    Ok(())
}

/// A lazily connected channel to the core at `url` (`http://host:port`).
pub fn core_channel(url: &str) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())?
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(dirsync_link::CALL_TIMEOUT)
        .connect_lazy())
}
