//! Reading the change feed.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::changes;
use crate::error::Result;

/// The tenant's changes after `cursor`, in cursor order.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    cursor: i64,
    limit: u64,
) -> Result<Vec<changes::Model>> {
    Ok(changes::Entity::find()
        .filter(changes::Column::TenantId.eq(tenant_id))
        .filter(changes::Column::Seq.gt(cursor))
        .order_by_asc(changes::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}
