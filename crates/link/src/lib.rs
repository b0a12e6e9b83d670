//! How the edge and the portal reach the core. Between processes (`dirsync edge`) that is a
//! tonic `Channel`: HTTP/2 over TCP. In one process (`dirsync serve`) it is the core's router
//! behind the same layers as on its port (telemetry, service-key scopes, conflict retry),
//! called directly as a tower service: messages are still encoded and carried with their
//! metadata, status and trailers in `http` requests and responses; only TCP and HTTP/2
//! framing go. Generated tonic clients are generic over their transport, so one type serves
//! both and the callers (interceptors, client spans, message limits) stay the same.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::transport::Channel;
use tower::Service;
use tower::util::BoxCloneSyncService;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a call to the core may take before the caller gives up with `CANCELLED` (the
/// edge's `Endpoint::timeout` over gRPC); a call's own shorter `grpc-timeout` wins.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The transport of a gRPC client of the core: a channel or the core in this process.
#[derive(Clone)]
pub struct CoreLink(BoxCloneSyncService<http::Request<Body>, http::Response<Body>, BoxError>);

impl std::fmt::Debug for CoreLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CoreLink")
    }
}

impl CoreLink {
    /// Over gRPC: a channel to a core in another process (its timeouts are the channel's).
    pub fn grpc(channel: Channel) -> Self {
        Self(BoxCloneSyncService::new(tower::util::MapErr::new(
            channel,
            BoxError::from,
        )))
    }

    /// In this process: `core` answers gRPC requests as the core's server does
    /// (`dirsync_core::Core::service`). Each call gets the deadline both ends of a channel
    /// give it, the shorter of its `grpc-timeout` and [`CALL_TIMEOUT`]; when it passes, the
    /// call is dropped (as a reset stream drops it on the server) and the caller gets
    /// `CANCELLED`, as from a channel.
    pub fn in_process<S>(core: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
    {
        Self(BoxCloneSyncService::new(Deadline {
            inner: core,
            limit: CALL_TIMEOUT,
        }))
    }
}

impl From<Channel> for CoreLink {
    fn from(channel: Channel) -> Self {
        Self::grpc(channel)
    }
}

impl Service<http::Request<Body>> for CoreLink {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        self.0.call(req)
    }
}

/// The deadline of an in-process call (tonic's own `GrpcTimeout` is private to it).
#[derive(Clone)]
struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<http::Request<Body>> for Deadline<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let limit = grpc_timeout(req.headers()).map_or(self.limit, |asked| asked.min(self.limit));
        let call = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(limit, call).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(_) => Err(tonic::TimeoutExpired(()).into()),
            }
        })
    }
}

/// A call's `grpc-timeout` (gRPC over HTTP/2: up to 8 digits and a unit, H M S m u n);
/// `None` when absent or malformed, as tonic treats it.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        for (header, want) in [
            ("2H", Some(Duration::from_secs(7200))),
            ("3M", Some(Duration::from_secs(180))),
            ("10S", Some(Duration::from_secs(10))),
            ("250m", Some(Duration::from_millis(250))),
            ("99999999u", Some(Duration::from_micros(99_999_999))),
            ("7n", Some(Duration::from_nanos(7))),
            ("123456789S", None),
            ("S", None),
            ("", None),
            ("5", None),
            ("5s", None),
            ("+5S", None),
            ("-5S", None),
        ] {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", http::HeaderValue::from_static(header));
            assert_eq!(grpc_timeout(&headers), want, "{header:?}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }

    /// A core that never answers: the call ends at its deadline with `CANCELLED`, as over a
    /// channel; one that answers is passed through.
    #[tokio::test]
    async fn deadline() {
        let silent = tower::service_fn(|_req: http::Request<Body>| {
            std::future::pending::<Result<http::Response<Body>, std::convert::Infallible>>()
        });
        let mut link = CoreLink::in_process(silent);
        let mut req = http::Request::new(Body::empty());
        req.headers_mut()
            .insert("grpc-timeout", http::HeaderValue::from_static("30m"));
        let started = std::time::Instant::now();
        let err = tower::ServiceExt::oneshot(&mut link, req).await.err().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(30));
        let status = tonic::Status::from_error(err);
        assert_eq!(status.code(), tonic::Code::Cancelled, "{status:?}");

        let answering = tower::service_fn(|_req: http::Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::builder().status(200).body(Body::empty()).unwrap())
        });
        let answer = tower::ServiceExt::oneshot(CoreLink::in_process(answering), http::Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
}
