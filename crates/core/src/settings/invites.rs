//! Delayed invites: a user created by an IdP in a tenant with invites on gets an `invite.due`
//! change once the tenant's delay has passed, if it still exists and is active then. A test
//! user created and deleted at once gets nothing (its pending invite goes with it); one
//! deactivated by then is skipped, with a sync-log line saying so.

use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::journal::{self, Event, RequestContext};
use dirsync_domain::User;
use dirsync_domain::clock::SharedClock;
use dirsync_store as store;
use dirsync_store::entity::{pending_invites, users};

/// The feed's event URI for an invite that fell due.
pub use dirsync_domain::events::uri::INVITE_DUE;
/// How often the job looks for due invites.
pub const INTERVAL: Duration = Duration::from_secs(1);
const LEASE: &str = "invites";
/// Invites handled per query; a run keeps going until none are due.
const BATCH: u64 = 500;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InviteRun {
    /// `invite.due` events written.
    pub sent: u64,
    /// Invites dropped because the user was deactivated or the tenant turned invites off.
    pub skipped: u64,
}

/// What happened to one due invite.
enum Outcome {
    Sent,
    Skipped,
    /// Taken by another run, or its user is gone.
    Gone,
}

/// The sync-log context of an invite: one line per invite, keyed by its user.
fn context(user_id: Uuid) -> RequestContext {
    RequestContext::job(format!("invite:{user_id}"), format!("/Users/{user_id}"))
}

/// Handles one due invite in `txn`.
async fn handle(txn: &DatabaseTransaction, inv: &pending_invites::Model, now: i64) -> Result<Outcome> {
    if !store::settings::take_invite(txn, inv.tenant_id, inv.user_id).await? {
        return Ok(Outcome::Gone);
    }
    let Some(user) = users::Entity::find_by_id(inv.user_id)
        .filter(users::Column::TenantId.eq(inv.tenant_id))
        .one(txn)
        .await?
    else {
        return Ok(Outcome::Gone);
    };
    let settings = store::settings::get(txn, inv.tenant_id).await?;
    let skipped = if !settings.invites_enabled {
        Some("the tenant turned invites off")
    } else if !user.active {
        Some("the user is deactivated")
    } else {
        None
    };
    if let Some(why) = skipped {
        let summary = format!("invite for user {} skipped: {why}", user.user_name);
        journal::log_line(
            txn,
            inv.tenant_id,
            inv.connection_id,
            &context(inv.user_id),
            summary,
            now,
        )
        .await?;
        return Ok(Outcome::Skipped);
    }
    let language = settings.languages.of_document(&user.document);
    let user = User::from(user);
    let event = Event::invite_due(&user, &language);
    journal::write(
        txn,
        inv.tenant_id,
        Some(inv.connection_id),
        &context(user.id),
        &[event],
        now,
    )
    .await?;
    Ok(Outcome::Sent)
}

/// One run of the invite job, if this replica holds its lease: every invite due at the
/// clock's `now` is sent (an `invite.due` change plus a sync-log line) or skipped, and
/// removed, each in its own transaction. `None` when another replica holds the lease.
pub async fn send_due_invites(db: &DatabaseConnection, clock: &SharedClock, holder: &str) -> Result<Option<InviteRun>> {
    let now = clock.now_ms();
    let ttl = i64::try_from(INTERVAL.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
    if !store::leases::acquire(db, LEASE, holder, now, ttl).await? {
        return Ok(None);
    }
    let mut run = InviteRun::default();
    loop {
        let due = store::settings::due_invites(db, now, BATCH).await?;
        for inv in &due {
            let txn = dirsync_store::begin(db).await?;
            match handle(&txn, inv, now).await {
                Ok(outcome) => {
                    txn.commit().await?;
                    match outcome {
                        Outcome::Sent => run.sent += 1,
                        Outcome::Skipped => run.skipped += 1,
                        Outcome::Gone => {}
                    }
                }
                Err(e) => {
                    txn.rollback().await.map_err(CoreError::from)?;
                    return Err(e);
                }
            }
        }
        if (due.len() as u64) < BATCH {
            return Ok(Some(run));
        }
    }
}
