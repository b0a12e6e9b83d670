//! Group mappings: a group of the tenant names a role (`role_mappings`) or a license tier
//! (`license_mappings`). Both tables have one shape (tenant, group, target), so one code reads
//! and writes both; `roles` and `licenses` check their target and decide what a mapping moves.

use dirsync_domain::Group;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::entity::{license_mappings, role_mappings};
use crate::error::Result;

/// Which users a configuration change of roles or licenses may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole tenant (for licenses: everyone licensed or in a license group; ranks, seats,
    /// settings or the source changed).
    Tenant,
    /// The members of one group (its mapping changed).
    Group(Uuid),
}

/// A mapping table: its columns and how a row of it is made.
pub trait Table: EntityTrait {
    const TENANT: Self::Column;
    const GROUP: Self::Column;
    /// The role or tier the group maps to.
    const TARGET: Self::Column;
    fn row(tenant_id: Uuid, group_id: Uuid, target_id: Uuid) -> Self::ActiveModel;
}

impl Table for role_mappings::Entity {
    const TENANT: role_mappings::Column = role_mappings::Column::TenantId;
    const GROUP: role_mappings::Column = role_mappings::Column::GroupId;
    const TARGET: role_mappings::Column = role_mappings::Column::RoleId;
    fn row(tenant_id: Uuid, group_id: Uuid, role_id: Uuid) -> role_mappings::ActiveModel {
        role_mappings::ActiveModel {
            tenant_id: sea_orm::Set(tenant_id),
            group_id: sea_orm::Set(group_id),
            role_id: sea_orm::Set(role_id),
        }
    }
}

impl Table for license_mappings::Entity {
    const TENANT: license_mappings::Column = license_mappings::Column::TenantId;
    const GROUP: license_mappings::Column = license_mappings::Column::GroupId;
    const TARGET: license_mappings::Column = license_mappings::Column::TierId;
    fn row(tenant_id: Uuid, group_id: Uuid, tier_id: Uuid) -> license_mappings::ActiveModel {
        license_mappings::ActiveModel {
            tenant_id: sea_orm::Set(tenant_id),
            group_id: sea_orm::Set(group_id),
            tier_id: sea_orm::Set(tier_id),
        }
    }
}

/// A group mapping with the group's current name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub group_id: Uuid,
    /// The role or tier.
    pub target_id: Uuid,
    pub group_display_name: String,
}

/// The tenant's mappings in table `T`, by group id.
pub async fn list<T: Table, C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<Mapping>> {
    let rows: Vec<(Uuid, Uuid)> = T::find()
        .select_only()
        .columns([T::GROUP, T::TARGET])
        .filter(T::TENANT.eq(tenant_id))
        .order_by_asc(T::GROUP)
        .into_tuple()
        .all(db)
        .await?;
    let names = super::groups::display_names(db, tenant_id, rows.iter().map(|(g, _)| *g)).await?;
    Ok(rows
        .into_iter()
        .map(|(group_id, target_id)| Mapping {
            group_id,
            target_id,
            group_display_name: names.get(&group_id).cloned().unwrap_or_default(),
        })
        .collect())
}

/// Maps `group` to `target_id` (both of the tenant, which the caller has checked), replacing
/// the group's mapping in table `T`.
pub async fn map<T: Table>(txn: &DatabaseTransaction, group: Group, target_id: Uuid) -> Result<Mapping>
where
    T::ActiveModel: ActiveModelTrait<Entity = T> + Send,
{
    let (tenant_id, group_id) = (group.tenant_id, group.id);
    T::insert(T::row(tenant_id, group_id, target_id))
        .on_conflict(
            OnConflict::columns([T::TENANT, T::GROUP])
                .update_column(T::TARGET)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(Mapping {
        group_id,
        target_id,
        group_display_name: group.display_name,
    })
}

/// Removes a group's mapping in table `T`; returns whether it had one.
pub async fn unmap<T: Table>(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<bool> {
    super::groups::get(txn, tenant_id, group_id).await?;
    let gone = T::delete_many()
        .filter(T::TENANT.eq(tenant_id))
        .filter(T::GROUP.eq(group_id))
        .exec(txn)
        .await?;
    Ok(gone.rows_affected > 0)
}
