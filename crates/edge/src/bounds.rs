//! Bounds on everything a SCIM request carries, checked before work is done on it: sizes of
//! the request line and headers, filters, PATCH requests, member lists, attribute lists, and
//! text the store cannot hold. Over a bound the client gets a 4xx SCIM error whose detail
//! names the limit and the setting that raises it; nothing is changed and no other tenant
//! notices. (Per-connection request rates are `limits.rs`; body size is `media.rs`.)

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dirsync_scim::ScimType;
use dirsync_scim::filter::FilterLimits;
use dirsync_scim::patch::{MemberChange, PatchLimits};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// Most entries in `attributes` or `excludedAttributes`: a resource has fewer attributes.
pub const MAX_ATTRIBUTES: usize = 100;

/// Longest `sortBy` (one attribute path; the longest schema URN plus a name fits easily).
pub const MAX_SORT_BY_BYTES: usize = 512;

/// The edge's input bounds; each field is a setting (its environment variable in the doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Filter length, terms and nesting (`DIRSYNC_MAX_FILTER_LENGTH`, `_TERMS`, `_DEPTH`).
    pub filter: FilterLimits,
    /// PATCH operations per request and values per operation
    /// (`DIRSYNC_MAX_PATCH_OPERATIONS`, `DIRSYNC_MAX_PATCH_VALUES`).
    pub patch: PatchLimits,
    /// Member ids in one group request, all operations together
    /// (`DIRSYNC_MAX_MEMBERS_PER_REQUEST`).
    pub max_members_per_request: usize,
    /// Longest query string, in bytes: 414 above it (`DIRSYNC_MAX_QUERY_BYTES`). It travels
    /// to the core as request metadata, so it stays well below HTTP/2's 16 KiB header list.
    pub max_query_bytes: usize,
    /// Most bytes of request headers, names and values together: 431 above it
    /// (`DIRSYNC_MAX_HEADER_BYTES`).
    pub max_header_bytes: usize,
    /// Time a client has to send its request line and headers (`DIRSYNC_HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// Time a client has to send its request body (`DIRSYNC_BODY_READ_TIMEOUT_SECS`).
    pub body_read_timeout: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            filter: FilterLimits::DEFAULT,
            patch: PatchLimits::DEFAULT,
            max_members_per_request: 10_000,
            max_query_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish. Hand-written
/// instead of `axum::serve` because that sets no header read timeout and no header buffer
/// size: here a client gets [`Bounds::header_read_timeout`] to send its headers, and hyper
/// refuses (431) headers beyond what [`Bounds`] allows before they are buffered.
/// `ConnectInfo<SocketAddr>` is set on every request, as `axum::serve` would with
/// `into_make_service_with_connect_info`.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    bounds: Bounds,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    // Request line and headers together; room above the bounds so that the middleware, not
    // hyper, answers a request just over them (with a SCIM error body).
    let header_buffer = (bounds.max_query_bytes + bounds.max_header_bytes + 16 * 1024).max(8 * 1024);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read_timeout)
        .max_buf_size(header_buffer);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(header_buffer).unwrap_or(u32::MAX));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Nagle's algorithm off: responses must not wait for the client's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let svc = app
            .clone()
            .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                req
            });
        let conn = builder
            .serve_connection(TokioIo::new(tcp), hyper_util::service::TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Refuses a request whose query string or headers are over their bounds, before it is
/// authenticated, routed or forwarded.
pub async fn request_size(State(bounds): State<Bounds>, req: Request, next: Next) -> Response {
    match check_request_size(&bounds, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn check_request_size(b: &Bounds, req: &Request) -> ApiResult<()> {
    let query = req.uri().query().map_or(0, str::len);
    if query > b.max_query_bytes {
        return Err(ApiError::new(
            414,
            None,
            format!(
                "query string is {query} bytes, more than the limit of {} (DIRSYNC_MAX_QUERY_BYTES); \
                 send long filters in a POST .search body",
                b.max_query_bytes
            ),
        ));
    }
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .fold(0usize, usize::saturating_add);
    if headers > b.max_header_bytes {
        return Err(ApiError::new(
            431,
            None,
            format!(
                "request headers are {headers} bytes, more than the limit of {} (DIRSYNC_MAX_HEADER_BYTES)",
                b.max_header_bytes
            ),
        ));
    }
    Ok(())
}

/// Why a request body could not be read: it arrived too slowly (408) or is too large (413).
pub fn body_read_error(e: &axum::Error, limit: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                408,
                None,
                "the request body did not arrive within the body read timeout (DIRSYNC_BODY_READ_TIMEOUT_SECS)",
            );
        }
        source = err.source();
    }
    ApiError::new(
        413,
        Some(ScimType::TooLarge),
        format!("request body is larger than {limit} bytes (DIRSYNC_MAX_BODY_BYTES)"),
    )
}

/// 400 tooMany when a group request names more member ids than `limit`.
pub fn check_member_count(count: usize, limit: usize) -> ApiResult<()> {
    if count > limit {
        return Err(ApiError::bad_request(
            ScimType::TooMany,
            format!(
                "the request names {count} members, more than the limit of {limit} \
                 (DIRSYNC_MAX_MEMBERS_PER_REQUEST); send them in several requests"
            ),
        ));
    }
    Ok(())
}

/// Member ids named by a PATCH's member changes, all operations together.
pub fn member_count(changes: &[MemberChange]) -> usize {
    changes
        .iter()
        .map(|c| match c {
            MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::Replace(ids) => ids.len(),
            MemberChange::RemoveAll => 0,
        })
        .fold(0, usize::saturating_add)
}

/// 400 invalidSyntax when `attributes`/`excludedAttributes` lists more than [`MAX_ATTRIBUTES`]
/// entries (counted before any is parsed).
pub fn check_attribute_list(param: &str, raw: &str) -> ApiResult<()> {
    let entries = raw.split(',').filter(|s| !s.trim().is_empty()).count();
    if entries > MAX_ATTRIBUTES {
        return Err(ApiError::bad_request(
            ScimType::InvalidSyntax,
            format!("{param} lists {entries} attributes, more than the limit of {MAX_ATTRIBUTES}"),
        ));
    }
    Ok(())
}

/// 400 invalidSyntax when `sortBy` is longer than [`MAX_SORT_BY_BYTES`].
pub fn check_sort_by(raw: &str) -> ApiResult<()> {
    if raw.len() > MAX_SORT_BY_BYTES {
        return Err(ApiError::bad_request(
            ScimType::InvalidSyntax,
            format!(
                "sortBy is {} bytes, more than the limit of {MAX_SORT_BY_BYTES} (one attribute path)",
                raw.len()
            ),
        ));
    }
    Ok(())
}

/// 400 invalidValue when a request body holds a NUL character (U+0000) in a key or string:
/// PostgreSQL cannot store it in text or JSON, so both stores refuse it alike, here.
pub fn check_text(body: &Value) -> ApiResult<()> {
    // An explicit stack: bodies nest at most as deep as serde_json allows (128), but the walk
    // needs no recursion at all.
    let mut stack = vec![body];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return Err(nul_error(s)),
            Value::Array(xs) => stack.extend(xs),
            Value::Object(o) => {
                for (k, x) in o {
                    if k.contains('\0') {
                        return Err(nul_error(k));
                    }
                    stack.push(x);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn nul_error(s: &str) -> ApiError {
    let shown: String = s
        .chars()
        .take(40)
        .map(|c| if c == '\0' { '\u{2400}' } else { c })
        .collect();
    ApiError::bad_request(
        ScimType::InvalidValue,
        format!("{shown:?} contains a NUL character (U+0000), which the directory does not store"),
    )
}

/// Answers `Connection: close` when the handler left the request body unread (a refusal
/// before the body was needed: 401, 413, 415, 429, ...). The server then closes the
/// connection instead of reading the rest (RFC 9112 §9.6); without the header a client pools
/// the connection and its next request on it fails (an IdP sees a network error and retries).
pub async fn close_unread(req: Request, next: Next) -> Response {
    use http_body::Body as _;
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let read = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let req = req.map(|body| {
        axum::body::Body::new(ReadToEnd {
            inner: body,
            read: read.clone(),
        })
    });
    let mut resp = next.run(req).await;
    if !read.load(std::sync::atomic::Ordering::Acquire) {
        resp.headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    resp
}

/// A request body that records whether it was read to its end.
struct ReadToEnd {
    inner: axum::body::Body,
    read: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl http_body::Body for ReadToEnd {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, std::sync::atomic::Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_sizes() {
        let b = Bounds {
            max_query_bytes: 10,
            max_header_bytes: 40,
            ..Bounds::default()
        };
        let req = |uri: &str, header: usize| {
            Request::builder()
                .uri(uri)
                .header("x-pad", "p".repeat(header))
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let status = |r: Request| check_request_size(&b, &r).map_err(|e| (e.status(), e.0.detail));
        assert!(status(req("/x?0123456789", 10)).is_ok());
        let (code, detail) = status(req("/x?0123456789a", 10)).unwrap_err();
        assert_eq!(code, 414);
        assert!(detail.contains("limit of 10 (DIRSYNC_MAX_QUERY_BYTES)"), "{detail}");
        let (code, detail) = status(req("/x", 40)).unwrap_err();
        assert_eq!(code, 431);
        assert!(detail.contains("DIRSYNC_MAX_HEADER_BYTES"), "{detail}");
    }

    #[test]
    fn nul_is_refused_anywhere_in_a_body() {
        let cases = [
            (json!({"userName": "a"}), true),
            (json!({"userName": "a\u{0}b"}), false),
            (json!({"emails": [{"value": "x\u{0}"}]}), false),
            (json!({"x\u{0}": 1}), false),
            (json!({"name": {"givenName": "Öztürk ␀"}}), true),
        ];
        for (body, ok) in cases {
            let got = check_text(&body);
            assert_eq!(got.is_ok(), ok, "{body}");
            if let Err(e) = got {
                assert_eq!((e.status(), e.0.scim_type), (400, Some(ScimType::InvalidValue)));
            }
        }
    }

    #[test]
    fn member_and_list_counts() {
        let changes = vec![
            MemberChange::Add(vec!["a".into(), "b".into()]),
            MemberChange::RemoveAll,
            MemberChange::Remove(vec!["c".into()]),
        ];
        assert_eq!(member_count(&changes), 3);
        assert!(check_member_count(3, 3).is_ok());
        let e = check_member_count(4, 3).unwrap_err();
        assert_eq!(e.0.scim_type, Some(ScimType::TooMany));
        assert!(e.0.detail.contains("DIRSYNC_MAX_MEMBERS_PER_REQUEST"));
        assert!(check_attribute_list("attributes", &vec!["a"; 100].join(",")).is_ok());
        assert!(check_attribute_list("attributes", &vec!["a"; 101].join(",")).is_err());
        assert!(check_sort_by(&"a".repeat(512)).is_ok());
        assert!(check_sort_by(&"a".repeat(513)).is_err());
    }
}
