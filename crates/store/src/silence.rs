//! The "connection silent" signal: a connection that synced before and has sent nothing for
//! its threshold is silent until its next request. The job in `dirsync_core::jobs` reads and
//! flips the state here; the change events it writes say so once per silence.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::admin::get_connection;
use crate::entity::{connections, sync_log};
use crate::error::{Result, StoreError};
use crate::journal::JOB_METHOD;

/// The threshold a new connection gets: an IdP syncs every 40 minutes (Entra) to a few hours.
pub const DEFAULT_SILENCE_SECONDS: u64 = 24 * 3600;
/// The longest threshold: the sync log, which says when the last request came, keeps 30 days
/// by default; a longer silence could not be told from one that never synced.
pub const MAX_SILENCE_SECONDS: u64 = 30 * 24 * 3600;
/// Sync-log lines that are not the IdP's requests: jobs and portal actions.
const NOT_REQUESTS: [&str; 2] = [JOB_METHOD, "PORTAL"];

/// Sets a connection's threshold (0: never silent). Turning it off ends a silence at once,
/// without an event: nobody watches the connection any more.
pub async fn set_threshold<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
    seconds: u64,
) -> Result<connections::Model> {
    if seconds > MAX_SILENCE_SECONDS {
        return Err(StoreError::invalid_value(format!(
            "silence threshold {seconds} s is longer than the sync log is kept ({MAX_SILENCE_SECONDS} s, 30 days)"
        )));
    }
    let mut conn: connections::ActiveModel = get_connection(db, tenant_id, id).await?.into();
    conn.silence_after_seconds = Set(i64::try_from(seconds).unwrap_or(i64::MAX));
    if seconds == 0 {
        conn.silent_since = Set(None);
    }
    Ok(conn.update(db).await?)
}

/// Live connections of every tenant that are watched (threshold above 0) or still marked
/// silent.
pub async fn watched<C: ConnectionTrait>(db: &C) -> Result<Vec<connections::Model>> {
    Ok(connections::Entity::find()
        .filter(connections::Column::EndedAt.is_null())
        .filter(
            Condition::any()
                .add(connections::Column::SilenceAfterSeconds.gt(0))
                .add(connections::Column::SilentSince.is_not_null()),
        )
        .order_by_asc(connections::Column::Id)
        .all(db)
        .await?)
}

/// When the IdP's last request through a connection arrived (jobs and portal actions are not
/// requests); `None` when it never sent one.
pub async fn last_request<C: ConnectionTrait>(db: &C, connection_id: Uuid) -> Result<Option<i64>> {
    Ok(sync_log::Entity::find()
        .select_only()
        .column(sync_log::Column::At)
        .filter(sync_log::Column::ConnectionId.eq(connection_id))
        .filter(sync_log::Column::Method.is_not_in(NOT_REQUESTS))
        .order_by_desc(sync_log::Column::At)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?)
}

/// Marks a connection silent since `last_request`, or (`None`) not silent; false when
/// another run changed it first (the state was not `from`).
pub async fn mark<C: ConnectionTrait>(db: &C, id: Uuid, from: Option<i64>, to: Option<i64>) -> Result<bool> {
    let mut update = connections::Entity::update_many()
        .col_expr(connections::Column::SilentSince, sea_orm::sea_query::Expr::value(to))
        .filter(connections::Column::Id.eq(id));
    update = match from {
        Some(f) => update.filter(connections::Column::SilentSince.eq(f)),
        None => update.filter(connections::Column::SilentSince.is_null()),
    };
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// A tenant's live connections that are silent now (the portal's banner).
pub async fn silent<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<connections::Model>> {
    Ok(connections::Entity::find()
        .filter(connections::Column::TenantId.eq(tenant_id))
        .filter(connections::Column::EndedAt.is_null())
        .filter(connections::Column::SilentSince.is_not_null())
        .order_by_asc(connections::Column::Id)
        .all(db)
        .await?)
}
