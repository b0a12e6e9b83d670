//! Delayed invites: a user created by an IdP in a tenant with invites on gets an `invite.due`
//! change once the tenant's delay has passed, if it still exists and is active then. A test
//! user created and deleted at once gets nothing (its pending invite goes with it); one
//! deactivated by then is skipped, with a sync-log line saying so.

use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::Result;
use crate::journal::{Event, RequestContext};
use crate::service::mutation::{Author, Done, Pipeline};
use dirsync_domain::User;
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

/// Handles one due invite in `txn`: what happened, and what to journal.
async fn handle(txn: &DatabaseTransaction, inv: &pending_invites::Model) -> Result<Done<Outcome>> {
    if !store::settings::take_invite(txn, inv.tenant_id, inv.user_id).await? {
        return Ok(Done::new(Outcome::Gone));
    }
    let Some(user) = users::Entity::find_by_id(inv.user_id)
        .filter(users::Column::TenantId.eq(inv.tenant_id))
        .one(txn)
        .await?
    else {
        return Ok(Done::new(Outcome::Gone));
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
        return Ok(Done::new(Outcome::Skipped).note(inv.connection_id, context(inv.user_id), summary));
    }
    let language = settings.languages.of_document(&user.document);
    let user = User::from(user);
    let event = Event::invite_due(&user, &language);
    let author = Author {
        connection_id: Some(inv.connection_id),
        ctx: context(user.id),
    };
    Ok(Done::new(Outcome::Sent).by(author, vec![event]))
}

/// One run of the invite job, if this replica holds its lease: every invite due at the
/// clock's `now` is sent (an `invite.due` change plus a sync-log line) or skipped, and
/// removed, each in its own transaction of the mutation pipeline (journaled and notified like
/// every change). `None` when another replica holds the lease.
pub async fn send_due_invites(pipeline: &Pipeline, holder: &str) -> Result<Option<InviteRun>> {
    let db = pipeline.db();
    let now = pipeline.clock().now_ms();
    let ttl = i64::try_from(INTERVAL.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
    if !store::leases::acquire(db, LEASE, holder, now, ttl).await? {
        return Ok(None);
    }
    let mut run = InviteRun::default();
    loop {
        let due = store::settings::due_invites(db, now, BATCH).await?;
        for inv in &due {
            match pipeline
                .transact(inv.tenant_id, async |txn, _| handle(txn, inv).await)
                .await?
            {
                Outcome::Sent => run.sent += 1,
                Outcome::Skipped => run.skipped += 1,
                Outcome::Gone => {}
            }
        }
        if (due.len() as u64) < BATCH {
            return Ok(Some(run));
        }
    }
}
