use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Case-sensitive, unique per tenant.
    pub name: String,
    /// Privilege: higher is more privileged.
    pub rank: i32,
    pub is_admin: bool,
    pub is_guest: bool,
    pub is_default: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for dirsync_domain::roles::Role {
    fn from(m: Model) -> Self {
        dirsync_domain::roles::Role {
            id: m.id,
            tenant_id: m.tenant_id,
            name: m.name,
            rank: m.rank,
            is_admin: m.is_admin,
            is_guest: m.is_guest,
            is_default: m.is_default,
            created_at: m.created_at,
        }
    }
}
