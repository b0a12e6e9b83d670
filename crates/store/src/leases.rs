//! Database leases: the replica holding a job's lease runs it; the others skip it.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entity::leases;
use crate::error::Result;

/// Takes or renews the lease `name` for `holder` until `now + ttl_ms`; true when `holder` has
/// it. A lease held by another replica is taken only once it has expired.
pub async fn acquire<C: ConnectionTrait>(db: &C, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<bool> {
    let row = leases::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder.to_owned()),
        expires_at: Set(now + ttl_ms),
    };
    leases::Entity::insert(row)
        .on_conflict(
            OnConflict::column(leases::Column::Name)
                .update_columns([leases::Column::Holder, leases::Column::ExpiresAt])
                .action_and_where(
                    Expr::col((leases::Entity, leases::Column::ExpiresAt))
                        .lt(now)
                        .or(Expr::col((leases::Entity, leases::Column::Holder)).eq(holder)),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let current = leases::Entity::find_by_id(name.to_owned()).one(db).await?;
    Ok(current.is_some_and(|l| l.holder == holder && l.expires_at == now + ttl_ms))
}

/// Gives the lease up, so another replica can take it at once.
pub async fn release<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> Result<()> {
    leases::Entity::delete_many()
        .filter(leases::Column::Name.eq(name))
        .filter(leases::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
