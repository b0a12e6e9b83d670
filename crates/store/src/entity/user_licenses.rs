use sea_orm::entity::prelude::*;

/// The one license a user holds or waits for (derived by the core; see `dirsync_domain::licenses`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_licenses")]
pub struct Model {
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub tier_id: Uuid,
    /// `assigned` or `pending`.
    pub state: String,
    /// When the seat was taken or the wait began (pending users are served in this order).
    pub since: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
