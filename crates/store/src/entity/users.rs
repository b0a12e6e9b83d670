use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub source: String,
    pub user_name: String,
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub display_name_key: Option<String>,
    pub given_name_key: Option<String>,
    pub family_name_key: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub document: Json,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for dirsync_domain::user::User {
    fn from(m: Model) -> Self {
        dirsync_domain::user::User {
            id: m.id,
            tenant_id: m.tenant_id,
            connection_id: m.connection_id,
            source: m.source,
            user_name: m.user_name,
            external_id: m.external_id,
            active: m.active,
            display_name: m.display_name,
            given_name: m.given_name,
            family_name: m.family_name,
            email: m.email,
            document: m.document,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
