//! The journal of a mutation: its change-feed events and its sync-log entry, written in the
//! mutation's own transaction, so that neither can disagree with the data.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Set};

use dirsync_domain::ids::IdSource;
use uuid::Uuid;

use crate::entity::{changes, sync_log, tenants};
use crate::error::{Result, StoreError};
pub use dirsync_domain::events::{Event, uri};

/// The SCIM request a mutation answers, as the edge described it (the core reads it from the
/// call's gRPC metadata), or a job's own context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub method: String,
    pub path: String,
    pub idp_request_id: Option<String>,
    pub trace_id: Option<String>,
    /// Values the IdP cleared and the tenant's schema kept (`keptOnRemoval`).
    pub kept_on_removal: Vec<String>,
}

/// Writes the events of one mutation (with gapless per-tenant cursors) and, for a SCIM
/// request, its sync-log entry, in the mutation's transaction.
pub async fn write(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    ctx: &RequestContext,
    events: &[Event],
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    // A write whose only effect was to keep values the IdP cleared still says so.
    let kept = (!ctx.kept_on_removal.is_empty()).then(|| {
        format!(
            "kept on removal: {} (the IdP cleared it; the tenant's schema keeps it)",
            ctx.kept_on_removal.join(", ")
        )
    });
    let kept_fact = (!ctx.kept_on_removal.is_empty())
        .then(|| serde_json::json!({"kind": KEPT_ON_REMOVAL, "attributes": ctx.kept_on_removal}));
    let facts = |events: &[Event]| {
        let facts: Vec<serde_json::Value> = events.iter().map(Event::fact).chain(kept_fact.clone()).collect();
        Some(serde_json::Value::Array(facts).to_string())
    };
    let columns = [sync_log::Column::Summary, sync_log::Column::Facts];
    if events.is_empty() {
        if let (Some(connection_id), Some(kept)) = (connection_id, kept) {
            let line = Line {
                summary: kept,
                warning: None,
                facts: facts(events),
            };
            upsert_line(txn, tenant_id, connection_id, ctx, line, &columns, id_source, now).await?;
        }
        return Ok(());
    }
    let n = events.len() as i64;
    // Locks the tenant row until commit: a tenant's changes commit in cursor order.
    let bump = Query::update()
        .table(tenants::Entity)
        .value(tenants::Column::ChangeSeq, Expr::col(tenants::Column::ChangeSeq).add(n))
        .and_where(tenants::Column::Id.eq(tenant_id))
        .returning_col(tenants::Column::ChangeSeq)
        .to_owned();
    let row = txn
        .query_one(&bump)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tenant {tenant_id} not found")))?;
    let last: i64 = row.try_get("", "change_seq")?;
    let first = last - n + 1;
    let rows = events.iter().enumerate().map(|(i, e)| changes::ActiveModel {
        tenant_id: Set(tenant_id),
        seq: Set(first + i as i64),
        kind: Set(e.kind.to_owned()),
        event_uri: Set(e.uri.to_owned()),
        resource_type: Set(e.resource_type.to_owned()),
        resource_id: Set(e.resource_id),
        connection_id: Set(connection_id),
        data: Set(e.data.clone()),
        created_at: Set(now),
    });
    changes::Entity::insert_many(rows).exec_without_returning(txn).await?;

    if let Some(connection_id) = connection_id {
        let summary = events
            .iter()
            .map(|e| e.summary.as_str())
            .chain(kept.as_deref())
            .collect::<Vec<_>>()
            .join("; ");
        let line = Line {
            summary,
            warning: None,
            facts: facts(events),
        };
        upsert_line(txn, tenant_id, connection_id, ctx, line, &columns, id_source, now).await?;
    }
    Ok(())
}

/// The fact kind of a write that kept values the IdP cleared (`keptOnRemoval`).
pub const KEPT_ON_REMOVAL: &str = "kept_on_removal";

/// What a sync-log line says.
struct Line {
    summary: String,
    warning: Option<String>,
    /// JSON facts (`Event::fact`), for the portal's languages.
    facts: Option<String>,
}

/// The sync log's method for lines the core writes on its own (jobs), outside any request.
pub const JOB_METHOD: &str = "JOB";

impl RequestContext {
    /// The context of a job's work on one thing (`key` makes its sync-log line unique).
    pub fn job(key: String, path: String) -> Self {
        RequestContext {
            request_id: Some(key),
            method: JOB_METHOD.into(),
            path,
            ..Default::default()
        }
    }
}

/// What a mutation did, as a line of the request's sync-log entry (the edge records the
/// request's outcome on the same entry, keyed by connection and request id). Without a
/// request id there is no entry to write to.
pub async fn log_line<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ctx: &RequestContext,
    summary: String,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    let line = Line {
        summary,
        warning: None,
        facts: None,
    };
    upsert_line(
        db,
        tenant_id,
        connection_id,
        ctx,
        line,
        &[sync_log::Column::Summary],
        id_source,
        now,
    )
    .await
}

/// Adds a warning for the IdP's admin to the request's sync-log entry (the one `write` wrote
/// in the same transaction, or a new one when the request changed nothing).
pub async fn log_warning<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ctx: &RequestContext,
    warning: String,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    let summary = crate::sync_log::describe(&ctx.method, &ctx.path, 0, None);
    let line = Line {
        summary,
        warning: Some(warning),
        facts: None,
    };
    upsert_line(
        db,
        tenant_id,
        connection_id,
        ctx,
        line,
        &[sync_log::Column::Warning],
        id_source,
        now,
    )
    .await
}

/// Writes the request's sync-log line (status 0 until the edge completes it), or, when the
/// line exists already, sets only `columns` of it. A call without a request id has no line.
#[allow(clippy::too_many_arguments)]
async fn upsert_line<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ctx: &RequestContext,
    line: Line,
    columns: &[sync_log::Column],
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    let Some(request_id) = ctx.request_id.as_deref() else {
        return Ok(());
    };
    let entry = sync_log::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        request_id: Set(request_id.to_owned()),
        at: Set(now),
        method: Set(ctx.method.clone()),
        path: Set(ctx.path.clone()),
        status: Set(0),
        duration_ms: Set(0),
        summary: Set(line.summary),
        error: Set(None),
        idp_request_id: Set(ctx.idp_request_id.clone()),
        trace_id: Set(ctx.trace_id.clone()),
        body: Set(None),
        warning: Set(line.warning),
        facts: Set(line.facts),
    };
    sync_log::Entity::insert(entry)
        .on_conflict(
            OnConflict::columns([sync_log::Column::ConnectionId, sync_log::Column::RequestId])
                .update_columns(columns.iter().copied())
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
