//! Tenant extension schemas: register (create or replace by URN), list, get, delete. Every
//! query is scoped by tenant.

use dirsync_domain::ids::IdSource;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::entity::tenant_schemas;
use crate::error::{Result, StoreError};
use dirsync_domain::schemas::{self as rules, Definition};

fn urn_key(urn: &str) -> String {
    urn.trim().to_ascii_lowercase()
}

/// Validates and stores a definition, replacing the tenant's schema with the same URN.
pub async fn register(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    def: Definition,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<tenant_schemas::Model> {
    let def = rules::validate(def)?;
    super::admin::get_tenant(txn, tenant_id).await?;
    let attributes = rules::attributes_to_json(&def.attributes);
    match find(txn, tenant_id, &def.urn).await? {
        Some(row) => {
            let mut m = row.into_active_model();
            m.urn = Set(def.urn);
            m.name = Set(def.name);
            m.description = Set(def.description);
            m.resource_type = Set(def.resource_type);
            m.attributes = Set(attributes);
            m.updated_at = Set(now);
            Ok(m.update(txn).await?)
        }
        None => Ok(tenant_schemas::ActiveModel {
            id: Set(id_source.new_id()),
            tenant_id: Set(tenant_id),
            urn_key: Set(urn_key(&def.urn)),
            urn: Set(def.urn),
            name: Set(def.name),
            description: Set(def.description),
            resource_type: Set(def.resource_type),
            attributes: Set(attributes),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?),
    }
}

async fn find<C: ConnectionTrait>(db: &C, tenant_id: Uuid, urn: &str) -> Result<Option<tenant_schemas::Model>> {
    Ok(tenant_schemas::Entity::find()
        .filter(tenant_schemas::Column::TenantId.eq(tenant_id))
        .filter(tenant_schemas::Column::UrnKey.eq(urn_key(urn)))
        .one(db)
        .await?)
}

/// The tenant's schemas by URN; only one resource type's when given ("User", "Group").
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    resource_type: Option<&str>,
) -> Result<Vec<tenant_schemas::Model>> {
    let mut q = tenant_schemas::Entity::find().filter(tenant_schemas::Column::TenantId.eq(tenant_id));
    if let Some(rt) = resource_type {
        let rt = rules::RESOURCE_TYPES
            .iter()
            .find(|t| t.eq_ignore_ascii_case(rt.trim()))
            .ok_or_else(|| StoreError::invalid_value(format!("resource type {rt:?} is not one of User, Group")))?;
        q = q.filter(tenant_schemas::Column::ResourceType.eq(*rt));
    }
    Ok(q.order_by_asc(tenant_schemas::Column::UrnKey).all(db).await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, urn: &str) -> Result<tenant_schemas::Model> {
    find(db, tenant_id, urn)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("schema {urn} not found in tenant {tenant_id}")))
}

pub async fn delete(txn: &DatabaseTransaction, tenant_id: Uuid, urn: &str) -> Result<()> {
    let row = get(txn, tenant_id, urn).await?;
    tenant_schemas::Entity::delete_by_id(row.id).exec(txn).await?;
    Ok(())
}
