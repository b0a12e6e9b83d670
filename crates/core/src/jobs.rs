//! Periodic jobs. Each takes a database lease first, so that with several core replicas
//! exactly one runs it at a time.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::error::Result;
use crate::service::mutation::Pipeline;
use dirsync_domain::clock::SharedClock;
use dirsync_store as store;

pub use crate::settings::invites::{InviteRun, send_due_invites};
pub use crate::silence::{SilenceRun, watch_silence};

/// How long the sync log is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Entries older than this go.
    pub max_age: Duration,
    /// Per tenant, only the newest this many stay.
    pub max_entries: u64,
    /// How often the job runs.
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_entries: 100_000,
            interval: Duration::from_secs(60),
        }
    }
}

const SYNC_LOG_RETENTION: &str = "sync-log-retention";

/// One run of the sync-log retention job, if this replica holds the lease; returns the
/// number of entries removed, or `None` when another replica holds the lease.
pub async fn prune_sync_log(
    db: &DatabaseConnection,
    clock: &SharedClock,
    holder: &str,
    retention: &Retention,
) -> Result<Option<u64>> {
    let now = clock.now_ms();
    let ttl = i64::try_from(retention.interval.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
    if !store::leases::acquire(db, SYNC_LOG_RETENTION, holder, now, ttl).await? {
        return Ok(None);
    }
    let before = now - i64::try_from(retention.max_age.as_millis()).unwrap_or(i64::MAX);
    let mut removed = 0;
    for tenant in store::admin::list_tenants(db).await? {
        removed += store::sync_log::prune(db, tenant.id, before, retention.max_entries).await?;
    }
    Ok(Some(removed))
}

/// Runs the periodic jobs until the process stops. The billing and invite jobs write their
/// change rows through `pipeline` (one transaction per tenant, one per invite), which journals
/// them and wakes `Watch` streams like any other change.
pub fn spawn(pipeline: Pipeline, retention: Retention) {
    let holder = pipeline.ids().new_id().to_string();
    let (db, clock) = (pipeline.db().clone(), pipeline.clock().clone());
    crate::billing::spawn(pipeline.clone(), holder.clone());
    spawn_invites(pipeline.clone(), holder.clone());
    spawn_silence(pipeline, holder.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(retention.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let run = prune_sync_log(&db, &clock, &holder, &retention).await;
            crate::observe::job_run("retention", &run);
            match run {
                Ok(Some(n)) if n > 0 => tracing::info!(removed = n, "sync log retention"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sync log retention failed; retrying next interval"),
            }
        }
    });
}

/// Sends due invites every second (its own interval: an invite should not wait a minute).
fn spawn_invites(pipeline: Pipeline, holder: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::settings::invites::INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let run = send_due_invites(&pipeline, &holder).await;
            crate::observe::job_run("invites", &run);
            match run {
                Ok(Some(r)) if r.sent + r.skipped > 0 => {
                    tracing::info!(sent = r.sent, skipped = r.skipped, "invites");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending due invites failed; retrying next interval"),
            }
        }
    });
}

/// Looks for silent and resumed connections every [`crate::silence::INTERVAL`].
fn spawn_silence(pipeline: Pipeline, holder: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::silence::INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let run = watch_silence(&pipeline, &holder).await;
            crate::observe::job_run("silence", &run);
            match run {
                Ok(Some(r)) if r.silent + r.resumed > 0 => {
                    tracing::info!(silent = r.silent, resumed = r.resumed, "connection silence");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "watching for silent connections failed; retrying next interval"),
            }
        }
    });
}
