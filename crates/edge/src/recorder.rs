//! Request outcomes for the sync log, sent to the core in batches: one commit per batch instead
//! of one per request. A mutation's own entry is already written in its transaction; this only
//! completes it (status, duration, error), and records requests that changed nothing.

use std::time::Duration;

use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::{RecordRequestRequest, RecordRequestsRequest};
use tokio::sync::{mpsc, oneshot};

use crate::calls::CoreChannel;
use dirsync_domain::text::cut as truncate;

/// Outcomes waiting at most this long before they are sent.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Most outcomes in one batch.
const BATCH: usize = 500;
/// Outcomes queued before new ones are dropped (with a warning) rather than slow requests.
const QUEUE: usize = 10_000;
/// A batch is sent once its encoded outcomes reach this size (captured bodies make single
/// outcomes large), so every batch stays far below `dirsync_proto::MAX_MESSAGE_BYTES`.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// A recorded request path (with its query) is cut to this many characters.
pub const MAX_PATH_CHARS: usize = dirsync_domain::text::LOG_PATH_CHARS;
/// A recorded error detail is cut to this many characters.
pub const MAX_ERROR_CHARS: usize = dirsync_domain::text::LOG_ERROR_CHARS;

enum Msg {
    Record(Box<RecordRequestRequest>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
}

impl Recorder {
    /// Starts the task that sends batches through `admin`.
    pub fn spawn(admin: AdminClient<CoreChannel>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(admin, rx));
        Self { tx }
    }

    pub fn record(&self, mut r: RecordRequestRequest) {
        truncate(&mut r.path, MAX_PATH_CHARS);
        if let Some(e) = r.error.as_mut() {
            truncate(e, MAX_ERROR_CHARS);
        }
        if self.tx.try_send(Msg::Record(Box::new(r))).is_err() {
            tracing::warn!("the sync-log queue is full; a request outcome was not recorded");
        }
    }

    /// Sends everything queued so far and waits until the core has it.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn send(admin: &mut AdminClient<CoreChannel>, batch: &mut Vec<RecordRequestRequest>) {
    if batch.is_empty() {
        return;
    }
    let records = std::mem::take(batch);
    let n = records.len();
    let Err(e) = admin
        .record_requests(RecordRequestsRequest {
            records: records.clone(),
        })
        .await
    else {
        return;
    };
    if n == 1 || matches!(e.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded) {
        tracing::warn!(code = ?e.code(), message = %e.message(), lost = n, "recording request outcomes failed");
        return;
    }
    // The core refused the batch itself: send its outcomes one by one, so one bad outcome
    // never takes other requests' (or other tenants') lines with it.
    let mut lost = 0;
    for r in records {
        if admin
            .record_requests(RecordRequestsRequest { records: vec![r] })
            .await
            .is_err()
        {
            lost += 1;
        }
    }
    if lost > 0 {
        tracing::warn!(code = ?e.code(), message = %e.message(), lost, "recording request outcomes failed");
    }
}

async fn run(mut admin: AdminClient<CoreChannel>, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut bytes = 0;
    loop {
        let first = match rx.recv().await {
            Some(m) => m,
            None => return,
        };
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => {
                    bytes += prost::Message::encoded_len(&*r);
                    batch.push(*r);
                }
                Msg::Flush(done) => {
                    send(&mut admin, &mut batch).await;
                    let _ = done.send(());
                    break;
                }
            }
            if batch.len() >= BATCH || bytes >= MAX_BATCH_BYTES {
                break;
            }
            next = match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => Some(m),
                Ok(None) | Err(_) => None,
            };
        }
        send(&mut admin, &mut batch).await;
        bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncation_keeps_whole_characters() {
        for (input, max, want) in [("abc", 3, "abc"), ("abcd", 3, "abc…"), ("äöüß", 2, "äö…"), ("", 0, "")] {
            let mut s = input.to_owned();
            super::truncate(&mut s, max);
            assert_eq!(s, want);
        }
    }
}
