use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Canonical BCP 47 tags, comma-separated, in the tenant's order.
    pub supported_languages: String,
    /// One of the supported languages, or empty (then the first one is the default).
    pub default_language: String,
    pub invites_enabled: bool,
    pub invite_delay_seconds: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
