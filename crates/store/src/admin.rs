//! Tenants, SCIM connections and their tokens.

use dirsync_domain::ids::IdSource;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::entity::{connections, groups, tenants, tokens, users};
use crate::error::{Result, StoreError};
use crate::sealing::SecretBox;
use crate::tokens as secrets;

/// The IdP profiles a connection can have (see docs/idp/).
pub const IDP_PROFILES: &[&str] = &["generic", "entra", "okta", "onelogin", "google", "pingone", "jumpcloud"];

pub async fn create_tenant(
    txn: &DatabaseTransaction,
    name: &str,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<tenants::Model> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid_value("tenant name must not be empty".into()));
    }
    Ok(tenants::ActiveModel {
        id: Set(id_source.new_id()),
        name: Set(name.to_owned()),
        created_at: Set(now),
        change_seq: Set(0),
    }
    .insert(txn)
    .await?)
}

pub async fn get_tenant<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<tenants::Model> {
    tenants::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tenant {id} not found")))
}

pub async fn list_tenants<C: ConnectionTrait>(db: &C) -> Result<Vec<tenants::Model>> {
    Ok(tenants::Entity::find()
        .order_by_asc(tenants::Column::Id)
        .all(db)
        .await?)
}

pub async fn create_connection(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    name: &str,
    idp_profile: &str,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<connections::Model> {
    get_tenant(txn, tenant_id).await?;
    let profile = if idp_profile.is_empty() { "generic" } else { idp_profile };
    let profile = profile.to_ascii_lowercase();
    if !IDP_PROFILES.contains(&profile.as_str()) {
        return Err(StoreError::invalid_value(format!(
            "unknown IdP profile {idp_profile:?}; expected one of {}",
            IDP_PROFILES.join(", ")
        )));
    }
    let name = if name.trim().is_empty() {
        profile.clone()
    } else {
        name.to_owned()
    };
    Ok(connections::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(tenant_id),
        name: Set(name),
        idp_profile: Set(profile),
        created_at: Set(now),
        ended_at: Set(None),
        capture_bodies: Set(false),
        allow_adoption: Set(false),
        hold_max_users: Set(0),
        hold_max_percent: Set(0),
        hold_window_seconds: Set(dirsync_domain::hold::DEFAULT_WINDOW_SECONDS as i64),
        silence_after_seconds: Set(crate::silence::DEFAULT_SILENCE_SECONDS as i64),
        silent_since: Set(None),
    }
    .insert(txn)
    .await?)
}

pub async fn get_connection<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<connections::Model> {
    connections::Entity::find_by_id(id)
        .filter(connections::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("connection {id} not found in tenant {tenant_id}")))
}

pub async fn list_connections<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<connections::Model>> {
    Ok(connections::Entity::find()
        .filter(connections::Column::TenantId.eq(tenant_id))
        .order_by_asc(connections::Column::Id)
        .all(db)
        .await?)
}

/// Issues a new secret for a connection: stored as a hash (to verify) and sealed with the
/// server key (to show again); returns the token row and the secret.
pub async fn issue_token(
    txn: &DatabaseTransaction,
    connection: &connections::Model,
    sealing: &SecretBox,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<(tokens::Model, String)> {
    let secret = secrets::generate()
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(format!("no randomness available: {e}"))))?;
    let id = id_source.new_id();
    let sealed = sealing
        .seal(&secret, id.as_bytes())
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    let row = tokens::ActiveModel {
        secret_sealed: Set(Some(sealed)),
        id: Set(id),
        tenant_id: Set(connection.tenant_id),
        connection_id: Set(connection.id),
        secret_hash: Set(secrets::hash(&secret)),
        created_at: Set(now),
        expires_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok((row, secret))
}

/// Makes the connection's live tokens (other than `keep`) expire at `at`.
pub async fn expire_tokens(txn: &DatabaseTransaction, connection_id: Uuid, keep: Option<Uuid>, at: i64) -> Result<u64> {
    let mut q = tokens::Entity::update_many()
        .col_expr(tokens::Column::ExpiresAt, Expr::val(at))
        .filter(tokens::Column::ConnectionId.eq(connection_id))
        .filter(tokens::Column::RevokedAt.is_null())
        .filter(tokens::Column::ExpiresAt.is_null().or(tokens::Column::ExpiresAt.gt(at)));
    if let Some(id) = keep {
        q = q.filter(tokens::Column::Id.ne(id));
    }
    Ok(q.exec(txn).await?.rows_affected)
}

pub async fn revoke_tokens(txn: &DatabaseTransaction, connection_id: Uuid, now: i64) -> Result<u64> {
    Ok(tokens::Entity::update_many()
        .col_expr(tokens::Column::RevokedAt, Expr::val(now))
        .filter(tokens::Column::ConnectionId.eq(connection_id))
        .filter(tokens::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
}

/// The connection a presented secret belongs to, if the secret is live.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    secret: &str,
    tenant_id: Option<Uuid>,
    now: i64,
) -> Result<connections::Model> {
    let denied = || StoreError::unauthenticated("invalid, expired or revoked token".into());
    let hash = secrets::hash(secret);
    let token = tokens::Entity::find()
        .filter(tokens::Column::SecretHash.eq(hash))
        .one(db)
        .await?
        .ok_or_else(denied)?;
    let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|t| t > now);
    if !secrets::verify(secret, &token.secret_hash) || !live {
        return Err(denied());
    }
    if tenant_id.is_some_and(|t| t != token.tenant_id) {
        return Err(denied());
    }
    let connection = get_connection(db, token.tenant_id, token.connection_id).await?;
    if connection.ended_at.is_some() {
        return Err(denied());
    }
    Ok(connection)
}

/// The newest live secret of a connection, opened with the server key.
pub async fn current_secret<C: ConnectionTrait>(
    db: &C,
    connection: &connections::Model,
    sealing: &SecretBox,
    now: i64,
) -> Result<(tokens::Model, String)> {
    let token = tokens::Entity::find()
        .filter(tokens::Column::ConnectionId.eq(connection.id))
        .filter(tokens::Column::RevokedAt.is_null())
        .filter(
            tokens::Column::ExpiresAt
                .is_null()
                .or(tokens::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(tokens::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| {
            StoreError::not_found(format!(
                "connection {} has no live secret; rotate to issue one",
                connection.id
            ))
        })?;
    let sealed = token
        .secret_sealed
        .as_deref()
        .ok_or_else(|| StoreError::not_found("this secret was issued before secrets were kept; rotate it".into()))?;
    let secret = sealing.open(sealed, token.id.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, connection = %connection.id, "opening a sealed secret failed");
        StoreError::Db(sea_orm::DbErr::Custom(
            "the server key does not open this secret".into(),
        ))
    })?;
    Ok((token, secret))
}

/// What ending a connection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    pub tokens_revoked: u64,
    pub users_unlinked: u64,
    pub groups_unlinked: u64,
}

/// Ends a connection: revokes its tokens and unlinks its users and groups (kept unchanged).
pub async fn end_connection(txn: &DatabaseTransaction, connection: &connections::Model, now: i64) -> Result<Ended> {
    let tokens_revoked = revoke_tokens(txn, connection.id, now).await?;
    connections::Entity::update_many()
        .col_expr(connections::Column::EndedAt, Expr::val(now))
        .filter(connections::Column::Id.eq(connection.id))
        .filter(connections::Column::EndedAt.is_null())
        .exec(txn)
        .await?;
    let users_unlinked = users::Entity::update_many()
        .col_expr(users::Column::ConnectionId, Expr::val(Option::<Uuid>::None))
        .filter(users::Column::TenantId.eq(connection.tenant_id))
        .filter(users::Column::ConnectionId.eq(connection.id))
        .exec(txn)
        .await?
        .rows_affected;
    let groups_unlinked = groups::Entity::update_many()
        .col_expr(groups::Column::ConnectionId, Expr::val(Option::<Uuid>::None))
        .filter(groups::Column::TenantId.eq(connection.tenant_id))
        .filter(groups::Column::ConnectionId.eq(connection.id))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(Ended {
        tokens_revoked,
        users_unlinked,
        groups_unlinked,
    })
}

/// Changes a connection's name, IdP profile or body capture.
pub async fn update_connection(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    name: Option<&str>,
    idp_profile: Option<&str>,
    capture_bodies: Option<bool>,
) -> Result<connections::Model> {
    let mut conn: connections::ActiveModel = get_connection(txn, tenant_id, id).await?.into();
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        conn.name = Set(n.to_owned());
    }
    if let Some(p) = idp_profile {
        let p = p.to_ascii_lowercase();
        if !IDP_PROFILES.contains(&p.as_str()) {
            return Err(StoreError::invalid_value(format!(
                "unknown IdP profile {p:?}; expected one of {}",
                IDP_PROFILES.join(", ")
            )));
        }
        conn.idp_profile = Set(p);
    }
    if let Some(c) = capture_bodies {
        conn.capture_bodies = Set(c);
    }
    Ok(conn.update(txn).await?)
}
