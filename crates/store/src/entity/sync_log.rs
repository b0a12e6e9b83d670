use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Uuid,
    pub request_id: String,
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub duration_ms: i64,
    pub summary: String,
    pub error: Option<String>,
    pub idp_request_id: Option<String>,
    pub trace_id: Option<String>,
    pub body: Option<String>,
    /// What the IdP's admin should fix although the request succeeded (migration 000012).
    pub warning: Option<String>,
    /// What the request did, as JSON facts (kind and names) the portal renders in the
    /// admin's language; `summary` says it in English (migration 000018).
    pub facts: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
