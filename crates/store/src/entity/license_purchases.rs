use sea_orm::entity::prelude::*;

/// One seat bought by auto-purchase.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_purchases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tier_id: Uuid,
    pub tier_name: String,
    /// The user the seat was bought for (kept after that user is deleted).
    pub user_id: Option<Uuid>,
    pub user_name: String,
    pub purchased_at: i64,
    /// Netted out before billing: the seat was given back (capacity -1).
    pub cancelled_at: Option<i64>,
    /// Settled by the billing job (cancelled purchases too, without a billing id).
    pub billed_at: Option<i64>,
    /// The `billing.due` event that billed it.
    pub billing_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
