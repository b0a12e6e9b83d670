//! The mass-deprovisioning hold of a connection (`dirsync_domain::hold`): its settings on the
//! connection row, and `deprovisions`, the window's applied deactivations and deletions (to
//! count) and the held ones (to apply or discard when the admin decides). Rows are written only
//! for connections with the hold on; a decision clears the connection's rows, so its window
//! starts afresh.

use std::collections::HashMap;

use dirsync_domain::hold::{Effect, HoldPolicy, Window};
use dirsync_domain::ids::IdSource;
use dirsync_domain::user::{User, UserSpec};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin::get_connection;
use crate::entity::{connections, deprovisions, users};
use crate::error::{Result, StoreError};

/// A connection's hold settings as the domain takes them.
pub fn policy(c: &connections::Model) -> HoldPolicy {
    HoldPolicy {
        max_users: u32::try_from(c.hold_max_users).unwrap_or(0),
        max_percent: u32::try_from(c.hold_max_percent).unwrap_or(0),
        window_seconds: u64::try_from(c.hold_window_seconds).unwrap_or(dirsync_domain::hold::DEFAULT_WINDOW_SECONDS),
    }
}

/// Changes a connection's hold settings (checked by the domain's ranges).
pub async fn set_policy(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    p: HoldPolicy,
) -> Result<connections::Model> {
    p.validate().map_err(StoreError::invalid_value)?;
    let mut conn: connections::ActiveModel = get_connection(txn, tenant_id, id).await?.into();
    conn.hold_max_users = Set(i32::try_from(p.max_users).unwrap_or(i32::MAX));
    conn.hold_max_percent = Set(i32::try_from(p.max_percent).unwrap_or(100));
    conn.hold_window_seconds = Set(i64::try_from(p.window_seconds).unwrap_or(i64::MAX));
    Ok(conn.update(txn).await?)
}

/// One held change.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub user_id: Uuid,
    pub effect: Effect,
    /// The state the IdP asked for (a deactivation; none for a deletion).
    pub spec: Option<UserSpec>,
    pub created_at: i64,
}

fn spec_to_json(s: &UserSpec) -> Value {
    json!({
        "userName": s.user_name,
        "externalId": s.external_id,
        "active": s.active,
        "displayName": s.display_name,
        "givenName": s.given_name,
        "familyName": s.family_name,
        "email": s.email,
        "document": s.document,
    })
}

fn spec_from_json(v: &Value) -> UserSpec {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    UserSpec {
        user_name: s("userName").unwrap_or_default(),
        external_id: s("externalId"),
        active: v.get("active").and_then(Value::as_bool).unwrap_or(false),
        display_name: s("displayName"),
        given_name: s("givenName"),
        family_name: s("familyName"),
        email: s("email"),
        document: s("document").unwrap_or_default(),
    }
}

fn held_from(m: deprovisions::Model) -> Result<Held> {
    let effect = Effect::parse(&m.effect)
        .ok_or_else(|| StoreError::invalid_value(format!("unknown held effect {:?}", m.effect)))?;
    Ok(Held {
        user_id: m.user_id,
        effect,
        spec: m.spec.as_ref().map(spec_from_json),
        created_at: m.created_at,
    })
}

fn of_connection(tenant_id: Uuid, connection_id: Uuid) -> sea_orm::Select<deprovisions::Entity> {
    deprovisions::Entity::find()
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::ConnectionId.eq(connection_id))
}

/// The held changes of `connection_id` among users `ids` (for what the IdP reads back).
pub async fn held_among<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Held>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = of_connection(tenant_id, connection_id)
        .filter(deprovisions::Column::Held.eq(true))
        .filter(deprovisions::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    rows.into_iter().map(|m| held_from(m).map(|h| (h.user_id, h))).collect()
}

/// How many users of `connection_id` wait.
pub async fn pending_count<C: ConnectionTrait>(db: &C, tenant_id: Uuid, connection_id: Uuid) -> Result<u64> {
    Ok(of_connection(tenant_id, connection_id)
        .filter(deprovisions::Column::Held.eq(true))
        .count(db)
        .await?)
}

/// The tenant's connections with held changes, and how many users wait on each.
pub async fn pending_by_connection<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<(Uuid, u64)>> {
    let rows: Vec<(Uuid, i64)> = deprovisions::Entity::find()
        .select_only()
        .column(deprovisions::Column::ConnectionId)
        .column_as(deprovisions::Column::Id.count(), "n")
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::Held.eq(true))
        .group_by(deprovisions::Column::ConnectionId)
        .order_by_asc(deprovisions::Column::ConnectionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(c, n)| (c, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The window before one more deprovisioning: the connection's applied ones since `since`,
/// and its active users now.
pub async fn window(txn: &DatabaseTransaction, tenant_id: Uuid, connection_id: Uuid, since: i64) -> Result<Window> {
    let deprovisioned = of_connection(tenant_id, connection_id)
        .filter(deprovisions::Column::Held.eq(false))
        .filter(deprovisions::Column::CreatedAt.gte(since))
        .count(txn)
        .await?;
    let active = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::ConnectionId.eq(connection_id))
        .filter(users::Column::Active.eq(true))
        .count(txn)
        .await?;
    Ok(Window { deprovisioned, active })
}

/// Records an applied deprovisioning (counted within the window), and forgets those older
/// than `since`.
#[allow(clippy::too_many_arguments)]
pub async fn record_applied(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Uuid,
    user_id: Uuid,
    effect: Effect,
    since: i64,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    deprovisions::Entity::delete_many()
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::ConnectionId.eq(connection_id))
        .filter(deprovisions::Column::Held.eq(false))
        .filter(deprovisions::Column::CreatedAt.lt(since))
        .exec(txn)
        .await?;
    insert(
        txn,
        tenant_id,
        connection_id,
        user_id,
        effect,
        false,
        None,
        id_source,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Uuid,
    user_id: Uuid,
    effect: Effect,
    held: bool,
    spec: Option<&UserSpec>,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    deprovisions::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        user_id: Set(user_id),
        effect: Set(effect.as_str().to_owned()),
        held: Set(held),
        spec: Set(spec.map(spec_to_json)),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Holds a change of user `user_id` (replacing one held before for the user: the IdP's latest
/// request wins).
#[allow(clippy::too_many_arguments)]
pub async fn hold(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Uuid,
    user_id: Uuid,
    effect: Effect,
    spec: Option<&UserSpec>,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    cancel(txn, tenant_id, connection_id, user_id).await?;
    insert(
        txn,
        tenant_id,
        connection_id,
        user_id,
        effect,
        true,
        spec,
        id_source,
        now,
    )
    .await
}

/// Drops the held change of user `user_id`, if any (the IdP took it back); whether it had one.
pub async fn cancel(txn: &DatabaseTransaction, tenant_id: Uuid, connection_id: Uuid, user_id: Uuid) -> Result<bool> {
    let r = deprovisions::Entity::delete_many()
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::ConnectionId.eq(connection_id))
        .filter(deprovisions::Column::UserId.eq(user_id))
        .filter(deprovisions::Column::Held.eq(true))
        .exec(txn)
        .await?;
    Ok(r.rows_affected > 0)
}

/// The held changes of a connection, oldest first, with each user's current userName (users
/// deleted since are left out); at most `limit`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    limit: u64,
) -> Result<Vec<(Held, String)>> {
    let rows = of_connection(tenant_id, connection_id)
        .filter(deprovisions::Column::Held.eq(true))
        .order_by_asc(deprovisions::Column::CreatedAt)
        .order_by_asc(deprovisions::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.user_id).collect();
    let names: HashMap<Uuid, String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::UserName)
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        if let Some(name) = names.get(&m.user_id).cloned() {
            out.push((held_from(m)?, name));
        }
    }
    Ok(out)
}

/// Every held change of a connection, oldest first, and clears the connection's rows (the
/// window starts afresh): the decision's input.
pub async fn take(txn: &DatabaseTransaction, tenant_id: Uuid, connection_id: Uuid) -> Result<Vec<Held>> {
    let rows = of_connection(tenant_id, connection_id)
        .filter(deprovisions::Column::Held.eq(true))
        .order_by_asc(deprovisions::Column::CreatedAt)
        .order_by_asc(deprovisions::Column::Id)
        .all(txn)
        .await?;
    deprovisions::Entity::delete_many()
        .filter(deprovisions::Column::TenantId.eq(tenant_id))
        .filter(deprovisions::Column::ConnectionId.eq(connection_id))
        .exec(txn)
        .await?;
    rows.into_iter().map(held_from).collect()
}

/// A user as the IdP that asked for `held` sees it: the state it sent (a deactivation) with
/// the stored row's id, version and times.
pub fn as_sent(user: User, held: &Held) -> User {
    let Some(spec) = &held.spec else {
        return User { active: false, ..user };
    };
    let document = if spec.document.trim().is_empty() {
        crate::users::synthesized_document(spec)
    } else {
        serde_json::from_str(&spec.document).unwrap_or_else(|_| crate::users::synthesized_document(spec))
    };
    User {
        user_name: spec.user_name.clone(),
        external_id: spec.external_id.clone(),
        active: spec.active,
        display_name: spec.display_name.clone(),
        given_name: spec.given_name.clone(),
        family_name: spec.family_name.clone(),
        email: spec.email.clone(),
        document,
        ..user
    }
}
