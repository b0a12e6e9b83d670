//! The "connection silent" signal: a connection that synced before and has sent no request
//! for its threshold gets one `connection.silent` change (and a sync-log line); its next
//! request ends the silence with one `connection.resumed`. The state lives on the connection
//! row (`silent_since`), so a run that finds a connection still silent writes nothing again,
//! and the lease lets one replica run it at a time.

use std::time::Duration;

use crate::error::Result;
use crate::journal::{Event, RequestContext};
use crate::service::mutation::{Author, Done, Pipeline};
use dirsync_store as store;
use dirsync_store::entity::connections;

/// How often the job looks; a silence is noticed at most this late.
pub const INTERVAL: Duration = Duration::from_secs(60);
const LEASE: &str = "connection-silence";

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SilenceRun {
    /// `connection.silent` changes written.
    pub silent: u64,
    /// `connection.resumed` changes written.
    pub resumed: u64,
}

/// What a connection's state becomes, if it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Silent since its last request, at this time.
    Silent(i64),
    /// A request came at this time after being silent since the first.
    Resumed(i64, i64),
}

/// The change a connection's state needs at `now`, given its last request.
fn change(conn: &connections::Model, last_request: Option<i64>, now: i64) -> Option<Change> {
    match (conn.silent_since, last_request) {
        (Some(since), Some(last)) if last > since => Some(Change::Resumed(since, last)),
        (Some(_), _) => None,
        // Never synced: nothing to miss.
        (None, None) => None,
        (None, Some(last)) => {
            let threshold = conn.silence_after_seconds.saturating_mul(1000);
            (threshold > 0 && now.saturating_sub(last) >= threshold).then_some(Change::Silent(last))
        }
    }
}

/// The sync-log line of one state change (unique per silence).
fn context(conn: &connections::Model, since: i64) -> RequestContext {
    RequestContext::job(format!("silence:{}:{since}", conn.id), "/connection".into())
}

/// Writes one connection's change through the pipeline (journaled, `Watch` woken), unless
/// another run did first.
async fn apply(pipeline: &Pipeline, conn: &connections::Model, change: Change) -> Result<bool> {
    let (from, to, since, event) = match change {
        Change::Silent(last) => (
            None,
            Some(last),
            last,
            Event::connection_silent(conn.id, &conn.name, last, conn.silence_after_seconds),
        ),
        Change::Resumed(since, at) => (
            Some(since),
            None,
            since,
            Event::connection_resumed(conn.id, &conn.name, since, at),
        ),
    };
    let mut ctx = context(conn, since);
    if to.is_none() {
        ctx.request_id = ctx.request_id.map(|k| format!("{k}:resumed"));
    }
    let author = Author {
        connection_id: Some(conn.id),
        ctx,
    };
    pipeline
        .transact(conn.tenant_id, async |txn, _now| {
            if !store::silence::mark(txn, conn.id, from, to).await? {
                return Ok(Done::new(false));
            }
            Ok(Done::new(true).by(author, vec![event]))
        })
        .await
}

/// One run, if this replica holds the lease (`None` otherwise): every live connection whose
/// threshold passed since its last request at the pipeline clock's `now` goes silent, every
/// silent one that sent a request since resumes.
pub async fn watch_silence(pipeline: &Pipeline, holder: &str) -> Result<Option<SilenceRun>> {
    let db = pipeline.db();
    let now = pipeline.clock().now_ms();
    let ttl = i64::try_from(INTERVAL.as_millis().saturating_mul(2)).unwrap_or(i64::MAX);
    if !store::leases::acquire(db, LEASE, holder, now, ttl).await? {
        return Ok(None);
    }
    let mut run = SilenceRun::default();
    for conn in store::silence::watched(db).await? {
        let last = store::silence::last_request(db, conn.id).await?;
        let Some(change) = change(&conn, last, now) else {
            continue;
        };
        if apply(pipeline, &conn, change).await? {
            match change {
                Change::Silent(_) => run.silent += 1,
                Change::Resumed(..) => run.resumed += 1,
            }
        }
    }
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_starts_once_and_ends_with_a_request() {
        let hour = 3_600_000;
        let conn = |silent_since: Option<i64>, threshold: i64| connections::Model {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            name: "okta".into(),
            idp_profile: "okta".into(),
            created_at: 0,
            ended_at: None,
            capture_bodies: false,
            allow_adoption: false,
            hold_max_users: 0,
            hold_max_percent: 0,
            hold_window_seconds: 3600,
            silence_after_seconds: threshold,
            silent_since,
        };
        let day = 24 * 3600;
        for (state, last, now, want) in [
            (conn(None, day), None, 100 * hour, None),
            (conn(None, day), Some(hour), 24 * hour, None),
            (conn(None, day), Some(hour), 25 * hour, Some(Change::Silent(hour))),
            (conn(None, 0), Some(hour), 1000 * hour, None),
            (conn(Some(hour), day), Some(hour), 50 * hour, None),
            (
                conn(Some(hour), day),
                Some(60 * hour),
                60 * hour,
                Some(Change::Resumed(hour, 60 * hour)),
            ),
        ] {
            assert_eq!(change(&state, last, now), want, "{state:?} {last:?} {now}");
        }
    }
}
