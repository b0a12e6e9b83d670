use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub display_name: String,
    /// `store::ci_key(display_name)`, unique per tenant among groups not `name_shared`.
    pub display_name_key: String,
    /// One of several groups that already had this name before names became unique
    /// (migration 000012); kept as they were.
    pub name_shared: bool,
    pub external_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub document: Json,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for dirsync_domain::group::Group {
    fn from(m: Model) -> Self {
        dirsync_domain::group::Group {
            id: m.id,
            tenant_id: m.tenant_id,
            connection_id: m.connection_id,
            display_name: m.display_name,
            external_id: m.external_id,
            document: m.document,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
