//! The sync log: every request an IdP sent through a connection, with its outcome.

use std::collections::HashMap;

use dirsync_domain::ids::IdSource;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::entity::sync_log;
use crate::error::Result;

/// The outcome of one request, as the edge reports it.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub tenant_id: Uuid,
    pub connection_id: Uuid,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub idp_request_id: Option<String>,
    pub trace_id: Option<String>,
    pub body: Option<String>,
    pub started_at: i64,
}

/// A line for requests that changed nothing: what was asked, or why it was refused.
pub fn describe(method: &str, path: &str, status: i32, error: Option<&str>) -> String {
    let resource = path
        .split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .skip_while(|s| *s != "v2")
        .skip(2)
        .collect::<Vec<_>>()
        .join("/");
    if status >= 400 {
        return match error {
            Some(e) => format!("rejected {method} /{resource}: {e}"),
            None => format!("rejected {method} /{resource} ({status})"),
        };
    }
    match (method, path.contains("filter=")) {
        ("GET", true) => format!("searched /{resource}"),
        ("GET", false) => format!("read /{resource}"),
        ("POST", _) if resource.ends_with(".search") => format!("searched /{resource}"),
        _ => format!("{method} /{resource}: no change"),
    }
}

/// Completes the entry a mutation wrote, or writes one for a request that changed nothing.
pub async fn record<C: ConnectionTrait>(db: &C, o: Outcome, id_source: &dyn IdSource) -> Result<()> {
    let summary = describe(&o.method, &o.path, o.status, o.error.as_deref());
    let entry = sync_log::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(o.tenant_id),
        connection_id: Set(o.connection_id),
        request_id: Set(o.request_id),
        at: Set(o.started_at),
        method: Set(o.method),
        path: Set(o.path),
        status: Set(o.status),
        duration_ms: Set(o.duration_ms),
        summary: Set(summary),
        error: Set(o.error),
        idp_request_id: Set(o.idp_request_id),
        trace_id: Set(o.trace_id),
        body: Set(o.body),
        warning: Set(None),
        facts: Set(None),
    };
    sync_log::Entity::insert(entry)
        .on_conflict(
            OnConflict::columns([sync_log::Column::ConnectionId, sync_log::Column::RequestId])
                .update_columns([
                    // The edge's arrival time, so entries sort by when the IdP asked.
                    sync_log::Column::At,
                    sync_log::Column::Status,
                    sync_log::Column::DurationMs,
                    sync_log::Column::Error,
                    sync_log::Column::Body,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub failed_only: bool,
    pub limit: u64,
    /// Oldest first after this id; otherwise newest first.
    pub after_id: Option<Uuid>,
    /// Only entries whose path or summary contains this, case-insensitive.
    pub search: Option<String>,
}

pub async fn list<C: ConnectionTrait>(db: &C, q: Query) -> Result<Vec<sync_log::Model>> {
    let mut find = sync_log::Entity::find().filter(sync_log::Column::TenantId.eq(q.tenant_id));
    if let Some(c) = q.connection_id {
        find = find.filter(sync_log::Column::ConnectionId.eq(c));
    }
    if q.failed_only {
        find = find.filter(sync_log::Column::Status.gte(400));
    }
    if let Some(text) = q.search.as_deref().filter(|t| !t.is_empty()) {
        find = find.filter(super::contains_ci(
            &[sync_log::Column::Summary, sync_log::Column::Path],
            text,
        ));
    }
    find = match q.after_id {
        Some(after) => find
            .filter(sync_log::Column::Id.gt(after))
            .order_by_asc(sync_log::Column::Id),
        // Newest request first. (Following uses insertion order, so that an outcome recorded
        // late is still seen.)
        None => find
            .order_by_desc(sync_log::Column::At)
            .order_by_desc(sync_log::Column::Id),
    };
    Ok(find.limit(q.limit).all(db).await?)
}

/// What one connection did lately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub last_request: Option<i64>,
    pub last_success: Option<i64>,
    pub successes_24h: u64,
    pub failures_24h: u64,
    pub last_error: Option<sync_log::Model>,
    /// Requests refused with 429 in the last 24 hours.
    pub throttled_24h: u64,
    pub last_warning: Option<sync_log::Model>,
}

pub async fn stats<C: ConnectionTrait>(db: &C, connection_ids: &[Uuid], now: i64) -> Result<HashMap<Uuid, Stats>> {
    let day_ago = now - 24 * 3600 * 1000;
    let mut out = HashMap::new();
    for &c in connection_ids {
        let of = || sync_log::Entity::find().filter(sync_log::Column::ConnectionId.eq(c));
        let last_request: Option<i64> = of()
            .select_only()
            .column_as(sync_log::Column::At.max(), "m")
            .into_tuple::<Option<i64>>()
            .one(db)
            .await?
            .flatten();
        let last_success: Option<i64> = of()
            .filter(sync_log::Column::Status.between(200, 399))
            .select_only()
            .column_as(sync_log::Column::At.max(), "m")
            .into_tuple::<Option<i64>>()
            .one(db)
            .await?
            .flatten();
        let recent = || of().filter(sync_log::Column::At.gt(day_ago));
        let successes_24h = recent()
            .filter(sync_log::Column::Status.between(200, 399))
            .count(db)
            .await?;
        let failures_24h = recent().filter(sync_log::Column::Status.gte(400)).count(db).await?;
        let throttled_24h = recent().filter(sync_log::Column::Status.eq(429)).count(db).await?;
        let last_warning = of()
            .filter(sync_log::Column::Warning.is_not_null())
            .order_by_desc(sync_log::Column::Id)
            .one(db)
            .await?;
        let last_error = of()
            .filter(sync_log::Column::Status.gte(400))
            .order_by_desc(sync_log::Column::Id)
            .one(db)
            .await?;
        out.insert(
            c,
            Stats {
                last_request,
                last_success,
                successes_24h,
                failures_24h,
                last_error,
                throttled_24h,
                last_warning,
            },
        );
    }
    Ok(out)
}

/// Deletes a tenant's entries older than `before` (epoch ms) and all but its newest `keep`;
/// returns how many went.
pub async fn prune<C: ConnectionTrait>(db: &C, tenant_id: Uuid, before: i64, keep: u64) -> Result<u64> {
    let mut gone = sync_log::Entity::delete_many()
        .filter(sync_log::Column::TenantId.eq(tenant_id))
        .filter(sync_log::Column::At.lt(before))
        .exec(db)
        .await?
        .rows_affected;
    // The oldest entry that stays; ids are UUIDv7, so they order by time.
    let boundary: Option<Uuid> = sync_log::Entity::find()
        .select_only()
        .column(sync_log::Column::Id)
        .filter(sync_log::Column::TenantId.eq(tenant_id))
        .order_by_desc(sync_log::Column::Id)
        .offset(keep.saturating_sub(1))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    if let (Some(oldest_kept), true) = (boundary, keep > 0) {
        gone += sync_log::Entity::delete_many()
            .filter(sync_log::Column::TenantId.eq(tenant_id))
            .filter(sync_log::Column::Id.lt(oldest_kept))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn descriptions() {
        let t = "/scim/v2/0193/";
        for (method, path, status, error, want) in [
            (
                "GET",
                format!("{t}Users?filter=userName%20eq%20%22a%22"),
                200,
                None,
                "searched /Users",
            ),
            ("GET", format!("{t}Users/42"), 200, None, "read /Users/42"),
            (
                "POST",
                format!("{t}Users"),
                409,
                Some("userName taken"),
                "rejected POST /Users: userName taken",
            ),
            ("PATCH", format!("{t}Groups/7"), 204, None, "PATCH /Groups/7: no change"),
        ] {
            assert_eq!(describe(method, &path, status, error), want);
        }
    }
}
