use sea_orm::entity::prelude::*;

/// A license tier of a tenant (see `dirsync_domain::licenses`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_tiers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Case-sensitive, unique per tenant.
    pub name: String,
    /// Lower is the cheaper tier: a user in several license groups gets the lowest.
    pub rank: i32,
    /// Capacity: the operator's seat count plus the seats bought since.
    pub seats: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for dirsync_domain::licenses::Tier {
    fn from(m: Model) -> Self {
        dirsync_domain::licenses::Tier {
            id: m.id,
            tenant_id: m.tenant_id,
            name: m.name,
            rank: m.rank,
            seats: m.seats,
            created_at: m.created_at,
        }
    }
}
