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
