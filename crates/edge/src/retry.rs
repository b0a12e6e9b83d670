//! Writes that lost a race: PUT and PATCH are a read-modify-write on the resource's version,
//! and the core answers `ABORTED` when another writer changed it in between. Such a write is
//! read and applied again here, so concurrent IdP requests never lose an update and the IdP
//! never has to retry; a client that sent `If-Match` asked for that version and gets 412.

use std::time::Duration;

use crate::error::{ApiError, ApiResult};

/// How often a read-modify-write is tried when another writer got there first: each round
/// lets at least one writer through, so this bounds the concurrency a resource absorbs.
pub const MAX_WRITE_ATTEMPTS: usize = 64;

/// How one attempt of a write ended without landing.
#[derive(Debug)]
pub enum WriteError {
    /// Answered as is: the resource is missing, `If-Match` failed, the input is wrong.
    Refused(ApiError),
    /// The core's answer to the write; `ABORTED` means another writer got there first.
    Core(tonic::Status),
}

impl From<ApiError> for WriteError {
    fn from(e: ApiError) -> Self {
        Self::Refused(e)
    }
}

impl From<tonic::Status> for WriteError {
    fn from(s: tonic::Status) -> Self {
        Self::Core(s)
    }
}

/// Runs `attempt` (read, modify, write) until it lands. A lost race is tried again after a
/// short pause when `retry` (no `If-Match`), at most [`MAX_WRITE_ATTEMPTS`] times, then 409
/// naming `what`; every other outcome is the answer.
///
/// `attempt` is a closure returning a future rather than an async closure: the handlers'
/// futures must be `Send`, which rustc cannot yet prove through an async closure's borrows.
pub async fn until_written<T, F, Fut>(what: &str, retry: bool, mut attempt: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WriteError>>,
{
    for n in 0..MAX_WRITE_ATTEMPTS {
        match attempt().await {
            Ok(written) => return Ok(written),
            Err(WriteError::Core(s)) if retry && s.code() == tonic::Code::Aborted => backoff(n).await,
            Err(WriteError::Core(s)) => return Err(s.into()),
            Err(WriteError::Refused(e)) => return Err(e),
        }
    }
    Err(ApiError::new(
        409,
        None,
        format!("{what} is being changed concurrently; retry the request"),
    ))
}

/// A short randomised pause before trying again, so that concurrent writers spread out
/// instead of colliding again: up to 2^n ms, at most 32 ms.
async fn backoff(attempt: usize) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let cap = 2u64.saturating_pow(attempt.min(5) as u32);
    tokio::time::sleep(Duration::from_millis(u64::from(jitter) % (cap + 1))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lost_races_are_tried_again_only_without_if_match() {
        let aborted = || WriteError::Core(tonic::Status::aborted("version moved"));
        // (retry, attempts that lose the race before one lands, answer)
        for (retry, losses, want) in [
            (true, 0, Ok(0)),
            (true, 3, Ok(3)),
            (false, 1, Err(412)),
            (true, MAX_WRITE_ATTEMPTS, Err(409)),
        ] {
            let tried = std::cell::Cell::new(0);
            let got = until_written("user u1", retry, || {
                tried.set(tried.get() + 1);
                let n = tried.get();
                async move { if n <= losses { Err(aborted()) } else { Ok(n - 1) } }
            })
            .await
            .map_err(|e| e.status());
            assert_eq!(got, want, "retry {retry}, {losses} lost");
        }
        // Refusals and other core errors are answered at once.
        let tried = std::cell::Cell::new(0);
        let got: ApiResult<()> = until_written("user u1", true, || {
            tried.set(tried.get() + 1);
            async { Err(WriteError::Core(tonic::Status::not_found("no such user"))) }
        })
        .await;
        assert_eq!((got.map_err(|e| e.status()), tried.get()), (Err(404), 1));
    }
}
