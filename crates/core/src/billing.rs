//! The seat-billing job: bills each tenant's auto-purchased seats as one `billing.due` change
//! once its billing window has passed. One replica runs it at a time (a database lease).

use std::time::Duration;

use crate::error::Result;
use crate::journal::RequestContext;
use crate::service::mutation::{Author, Done, Pipeline};
use dirsync_store as store;

const LEASE: &str = "license-billing";
/// How often the job looks for due windows.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The lease outlives a few missed runs, so a stalled replica is replaced within seconds.
const LEASE_TTL_MS: i64 = 5_000;

/// One run of the billing job, if this replica holds the lease: returns the number of
/// `billing.due` changes written, or `None` when another replica holds the lease. Each bill is
/// written through the mutation pipeline (one transaction per tenant, journaled and notified
/// like every change), so `Watch` streams see it at once.
pub async fn bill_purchases(pipeline: &Pipeline, holder: &str) -> Result<Option<u64>> {
    let db = pipeline.db();
    let now = pipeline.clock().now_ms();
    if !store::leases::acquire(db, LEASE, holder, now, LEASE_TTL_MS).await? {
        return Ok(None);
    }
    let mut billed = 0;
    for (tenant_id, first) in store::licenses::unbilled_tenants(db).await? {
        // Most runs find windows still open: those take no lock at all.
        let window = store::licenses::settings(db, tenant_id).await?.billing_window_seconds;
        if now < dirsync_domain::licenses::billing_window_end(first, window) {
            continue;
        }
        // One transaction per tenant: a failing tenant does not hold back the others' bills.
        let wrote = pipeline
            .transact(tenant_id, async |txn, now| {
                let Some(bill) = store::licenses::bill(txn, tenant_id, pipeline.ids(), now).await? else {
                    return Ok(Done::new(false));
                };
                // The admin reads the sync log per connection: the bill shows in each it concerns.
                let ctx = RequestContext::job(format!("billing:{}", bill.id), "/billing".into());
                let summary = bill.event.summary.clone();
                let done = Done::new(true).by(Author::system(), vec![bill.event]);
                Ok(bill.connections.into_iter().fold(done, |done, connection_id| {
                    done.note(connection_id, ctx.clone(), summary.clone())
                }))
            })
            .await?;
        billed += u64::from(wrote);
    }
    Ok(Some(billed))
}

/// Runs the billing job every [`INTERVAL`] until the process stops.
pub fn spawn(pipeline: Pipeline, holder: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let run = bill_purchases(&pipeline, &holder).await;
            crate::observe::job_run("billing", &run);
            match run {
                Ok(Some(n)) if n > 0 => tracing::info!(bills = n, "seat billing"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "seat billing failed; retrying next interval"),
            }
        }
    });
}
