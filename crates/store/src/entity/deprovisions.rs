use sea_orm::entity::prelude::*;

/// A deactivation or deletion of a user by a connection with the hold on: applied (counted
/// within the window) or held (waiting for an admin; `spec` is the state the IdP asked for).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deprovisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Uuid,
    pub user_id: Uuid,
    /// "deactivate" or "delete".
    pub effect: String,
    pub held: bool,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub spec: Option<Json>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
