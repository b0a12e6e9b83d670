//! Tenant settings (languages, invites) and the invites waiting to fall due.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::entity::{pending_invites, tenant_settings};
use crate::error::Result;
use dirsync_domain::settings::language::Languages;

pub use dirsync_domain::settings::{DEFAULT_INVITE_DELAY_SECONDS, TenantSettings};

fn from_row(m: tenant_settings::Model) -> TenantSettings {
    TenantSettings {
        languages: Languages {
            supported: m
                .supported_languages
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            default: m.default_language,
        },
        invites_enabled: m.invites_enabled,
        invite_delay_seconds: m.invite_delay_seconds,
        updated_at: Some(m.updated_at),
    }
}

/// The settings of `tenant_id` (the defaults when it never changed them). Does not check that
/// the tenant exists.
pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<TenantSettings> {
    Ok(tenant_settings::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .map(from_row)
        .unwrap_or_default())
}

/// Stores `s` as the settings of `tenant_id` (validated by the caller).
pub async fn put<C: ConnectionTrait>(db: &C, tenant_id: Uuid, s: &TenantSettings, now: i64) -> Result<TenantSettings> {
    let row = tenant_settings::ActiveModel {
        tenant_id: Set(tenant_id),
        supported_languages: Set(s.languages.supported.join(",")),
        default_language: Set(s.languages.default.clone()),
        invites_enabled: Set(s.invites_enabled),
        invite_delay_seconds: Set(s.invite_delay_seconds),
        updated_at: Set(now),
    };
    tenant_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tenant_settings::Column::TenantId)
                .update_columns([
                    tenant_settings::Column::SupportedLanguages,
                    tenant_settings::Column::DefaultLanguage,
                    tenant_settings::Column::InvitesEnabled,
                    tenant_settings::Column::InviteDelaySeconds,
                    tenant_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    get(db, tenant_id).await
}

/// Schedules the invite of a user just created through `connection_id`.
pub async fn schedule_invite<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    connection_id: Uuid,
    due_at: i64,
) -> Result<()> {
    pending_invites::ActiveModel {
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        due_at: Set(due_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Up to `limit` invites due at `now`, oldest first, across tenants.
pub async fn due_invites<C: ConnectionTrait>(db: &C, now: i64, limit: u64) -> Result<Vec<pending_invites::Model>> {
    Ok(pending_invites::Entity::find()
        .filter(pending_invites::Column::DueAt.lte(now))
        .order_by_asc(pending_invites::Column::DueAt)
        .order_by_asc(pending_invites::Column::UserId)
        .limit(limit)
        .all(db)
        .await?)
}

/// Removes one pending invite; false when it was already gone (another run took it, or its
/// user was deleted).
pub async fn take_invite<C: ConnectionTrait>(db: &C, tenant_id: Uuid, user_id: Uuid) -> Result<bool> {
    let gone = pending_invites::Entity::delete_many()
        .filter(pending_invites::Column::TenantId.eq(tenant_id))
        .filter(pending_invites::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(gone > 0)
}

/// The pending invites of a tenant, soonest first (for tests and operators).
pub async fn pending_invites<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<pending_invites::Model>> {
    Ok(pending_invites::Entity::find()
        .filter(pending_invites::Column::TenantId.eq(tenant_id))
        .order_by_asc(pending_invites::Column::DueAt)
        .all(db)
        .await?)
}
