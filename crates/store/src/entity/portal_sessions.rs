use sea_orm::entity::prelude::*;

/// A portal session, opened by redeeming a link; only the SHA-256 of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub link_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub intent: String,
    pub token_hash: String,
    pub return_url: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute expiry; the idle expiry is `last_seen_at` plus the idle timeout.
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
