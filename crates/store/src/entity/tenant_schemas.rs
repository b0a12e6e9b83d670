use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_schemas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// As registered.
    pub urn: String,
    /// Lower-cased `urn`: unique per tenant.
    pub urn_key: String,
    pub name: String,
    pub description: String,
    /// "User" or "Group".
    pub resource_type: String,
    /// The attribute definitions, JSON (see `dirsync_domain::schemas`).
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
