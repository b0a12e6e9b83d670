//! Runs a call again when its transaction lost to a concurrent one (a deadlock or
//! serialization failure on PostgreSQL, a busy SQLite file held by another process).
//!
//! Such a transaction was rolled back whole, so the call changed nothing and running it again
//! from its request is safe. The retry is one tower layer in front of every service rather
//! than a loop in each handler: the handlers stay one transaction each, and a new RPC gets it
//! without doing anything. The service marks a conflict with [`CONFLICT_METADATA`] on its
//! `UNAVAILABLE` status (see `CoreError`'s conversion); after [`ATTEMPTS`] the caller gets
//! that status, which clients retry later.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http;

/// The metadata key that marks a status as a lost transaction.
pub const CONFLICT_METADATA: &str = "dirsync-conflict";
/// Runs of a call whose transaction keeps losing, before the caller gets `UNAVAILABLE`.
pub const ATTEMPTS: u32 = 5;

/// The tower layer.
#[derive(Debug, Clone, Default)]
pub struct ConflictRetryLayer;

impl<S> tower::Layer<S> for ConflictRetryLayer {
    type Service = ConflictRetry<S>;

    fn layer(&self, inner: S) -> ConflictRetry<S> {
        ConflictRetry { inner }
    }
}

#[derive(Debug, Clone)]
pub struct ConflictRetry<S> {
    inner: S,
}

fn lost(resp: &http::Response<Body>) -> bool {
    resp.headers().contains_key(CONFLICT_METADATA)
}

/// A copy of `parts` with `body`, for one run.
fn rebuild(parts: &http::request::Parts, body: tonic::codegen::Bytes) -> http::Request<Body> {
    let mut req = http::Request::new(Body::new(Full::new(body)));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    req
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower::Service<http::Request<Body>> for ConflictRetry<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // The clone that was driven to readiness serves the first run (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return Ok(Status::cancelled(format!("reading the request: {e}")).into_http()),
            };
            let mut attempt = 1;
            loop {
                let resp = inner.call(rebuild(&parts, body.clone())).await?;
                if !lost(&resp) || attempt >= ATTEMPTS {
                    return Ok(resp);
                }
                tracing::debug!(
                    attempt,
                    path = parts.uri.path(),
                    "transaction lost to a concurrent one; running the call again"
                );
                let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
                tokio::time::sleep(Duration::from_millis((10 << attempt) + jitter)).await;
                attempt += 1;
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            }
        })
    }
}
