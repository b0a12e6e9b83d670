use sea_orm::entity::prelude::*;

/// A tenant's license settings; a tenant without a row has the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub auto_purchase: bool,
    pub billing_window_seconds: i64,
    /// "groups", "attribute" or "default" (`licenses::Source`).
    pub source: String,
    /// The tier every active user gets with source "default".
    pub default_tier_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
