use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub idp_profile: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    /// Keep (redacted) request bodies in the sync log.
    pub capture_bodies: bool,
    /// Takes over native users of the tenant's verified domains.
    pub allow_adoption: bool,
    /// The mass-deprovisioning hold (both 0: off); see `dirsync_domain::hold`.
    pub hold_max_users: i32,
    pub hold_max_percent: i32,
    pub hold_window_seconds: i64,
    /// After how long without a request a connection that synced before counts as silent;
    /// 0: never (migration 000018).
    pub silence_after_seconds: i64,
    /// While silent: when its last request arrived. Set and cleared by the silence job.
    pub silent_since: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
