//! `dirsync.v1.Changes`: the change feed, streamed and paged.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dirsync_proto::v1::changes_server::Changes;
use dirsync_proto::v1::{Change, ListChangesRequest, ListChangesResponse, WatchRequest};
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{tenant, timestamp};
use crate::error::CoreError;
use dirsync_store as store;
use dirsync_store::entity::changes;

/// How often a watcher looks for changes committed by other replicas (by default).
pub const POLL: Duration = Duration::from_millis(250);
const BATCH: u64 = 500;

/// Wakes this replica's watchers when one of its transactions committed changes.
#[derive(Debug, Clone, Default)]
pub struct ChangeSignal(Arc<Notify>);

impl ChangeSignal {
    pub fn notify(&self) {
        self.0.notify_waiters();
    }
}

#[derive(Debug, Clone)]
pub struct ChangesService {
    db: DatabaseConnection,
    signal: ChangeSignal,
    /// How often a watcher looks for other replicas' commits.
    poll: Duration,
    watchers: Arc<crate::observe::Watchers>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl ChangesService {
    pub fn new(db: DatabaseConnection, signal: ChangeSignal) -> Self {
        // A sender that is never used: without `with_shutdown`, streams end only with their client.
        let (_, stopping) = tokio::sync::watch::channel(false);
        Self {
            db,
            signal,
            poll: POLL,
            watchers: Arc::default(),
            stopping,
        }
    }

    /// Watchers look for other replicas' commits every `poll` instead of every [`POLL`].
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The open Watch streams, for the change-feed lag metric.
    pub fn watchers(&self) -> Arc<crate::observe::Watchers> {
        self.watchers.clone()
    }

    /// Ends every `Watch` stream with `UNAVAILABLE` once `stopping` turns true, so the server
    /// can stop and clients reconnect (to another replica, or this one restarted) from the
    /// last cursor they received.
    pub fn with_shutdown(mut self, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        self.stopping = stopping;
        self
    }
}

fn shutting_down() -> Status {
    Status::unavailable("the server is shutting down; reconnect with after_cursor set to the last cursor received")
}

pub(crate) fn change_to_proto(c: changes::Model) -> Change {
    Change {
        tenant_id: c.tenant_id.to_string(),
        cursor: c.seq as u64,
        r#type: c.kind,
        event_uri: c.event_uri,
        resource_type: c.resource_type,
        resource_id: c.resource_id.to_string(),
        connection_id: c.connection_id.map(|id| id.to_string()),
        time: Some(timestamp(c.created_at)),
        data: c.data.to_string(),
    }
}

fn cursor(c: u64) -> i64 {
    i64::try_from(c).unwrap_or(i64::MAX)
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<Change, Status>> + Send>>;

#[tonic::async_trait]
impl Changes for ChangesService {
    type WatchStream = WatchStream;

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, after = request.get_ref().after_cursor))]
    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        store::admin::get_tenant(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        let (tx, rx) = mpsc::channel(BATCH as usize);
        let db = self.db.clone();
        let signal = self.signal.clone();
        let watching = self.watchers.watch(tenant_id, cursor(req.after_cursor));
        let mut stopping = self.stopping.clone();
        let poll = self.poll;
        tokio::spawn(async move {
            let mut last = cursor(req.after_cursor);
            loop {
                if *stopping.borrow() {
                    // Never waits: a client that reads nothing still sees its stream end.
                    let _ = tx.try_send(Err(shutting_down()));
                    return;
                }
                // Registered before the query, so a commit between the two is not missed.
                let notified = signal.0.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let rows = match store::changes::after(&db, tenant_id, last, BATCH).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(CoreError::from(e).into())).await;
                        return;
                    }
                };
                let caught_up = (rows.len() as u64) < BATCH;
                for row in rows {
                    last = row.seq;
                    if tx.send(Ok(change_to_proto(row))).await.is_err() {
                        return;
                    }
                    watching.sent(last);
                }
                if caught_up {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep(poll) => {}
                        _ = tx.closed() => return,
                        _ = stopping.wait_for(|s| *s) => {}
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, after = request.get_ref().after_cursor))]
    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        store::admin::get_tenant(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        let limit = match req.limit {
            0 => 100,
            n => u64::from(n.min(1000)),
        };
        let rows = store::changes::after(&self.db, tenant_id, cursor(req.after_cursor), limit)
            .await
            .map_err(CoreError::from)?;
        let next_cursor = rows.last().map_or(req.after_cursor, |r| r.seq as u64);
        Ok(Response::new(ListChangesResponse {
            changes: rows.into_iter().map(change_to_proto).collect(),
            next_cursor,
        }))
    }
}
