//! Storage of adoption: verified domains, which users a SCIM connection sees (an SQL
//! condition, so lists and lookups never load rows to hide them), and the takeover itself.

use dirsync_domain::{User, UserSpec};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{admin, ci_key, is_unique_violation};
use crate::entity::{connections, tenant_domains, users};
use crate::error::{Result, StoreError};
use dirsync_domain::adoption::{self, Match, Takeover};

/// The `source` of users created outside SCIM.
pub const NATIVE: &str = "native";

/// Which users of a tenant a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The product (no connection): every user.
    All,
    /// A SCIM connection: SCIM users, plus the native users it may adopt when `adopts`.
    Connection { id: Uuid, adopts: bool },
    /// A SCIM connection whose `allow_adoption` the query reads itself: reads take no extra
    /// round trip for it.
    Reading { id: Uuid },
}

impl Visibility {
    pub fn connection_id(&self) -> Option<Uuid> {
        match self {
            Visibility::All => None,
            Visibility::Connection { id, .. } | Visibility::Reading { id } => Some(*id),
        }
    }

    /// The visibility of a read: resolved by the read's own query.
    pub fn reading(connection_id: Option<Uuid>) -> Visibility {
        connection_id.map_or(Visibility::All, |id| Visibility::Reading { id })
    }
}

/// The visibility of a caller: a connection of another tenant is NOT_FOUND.
pub async fn visibility<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
) -> Result<Visibility> {
    let Some(id) = connection_id else {
        return Ok(Visibility::All);
    };
    let conn = admin::get_connection(db, tenant_id, id).await?;
    Ok(Visibility::Connection {
        id,
        adopts: conn.allow_adoption,
    })
}

/// The SQL condition on `users` rows a caller sees; `None` when it sees all of them. The
/// domain test mirrors `adoption::matching`: the lowercased userName or primary e-mail ends
/// with "@<verified domain>" (domains hold only [a-z0-9.-], so LIKE has no wildcard to escape).
pub fn condition(v: Visibility) -> Option<Expr> {
    let scim = users::Column::Source.ne(NATIVE);
    let adoptable = Expr::cust(
        "EXISTS (SELECT 1 FROM \"tenant_domains\" \"td\" WHERE \"td\".\"tenant_id\" = \"users\".\"tenant_id\" \
         AND (\"users\".\"user_name_key\" LIKE ('%@' || \"td\".\"domain\") \
         OR \"users\".\"email_key\" LIKE ('%@' || \"td\".\"domain\")))",
    );
    match v {
        Visibility::All => None,
        Visibility::Connection { adopts: false, .. } => Some(scim),
        Visibility::Connection { adopts: true, .. } => Some(scim.or(adoptable)),
        Visibility::Reading { id } => {
            let adopts = Query::select()
                .expr(Expr::val(1))
                .from(connections::Entity)
                .and_where(connections::Column::Id.eq(id))
                .and_where(
                    Expr::col((connections::Entity, connections::Column::TenantId))
                        .equals((users::Entity, users::Column::TenantId)),
                )
                .and_where(connections::Column::AllowAdoption.eq(true))
                .to_owned();
            Some(scim.or(Expr::exists(adopts).and(adoptable)))
        }
    }
}

/// One user as `v` sees it: NOT_FOUND when it does not exist or is hidden.
pub async fn get_visible<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid, v: Visibility) -> Result<User> {
    let mut q = users::Entity::find_by_id(id).filter(users::Column::TenantId.eq(tenant_id));
    if let Some(c) = condition(v) {
        q = q.filter(c);
    }
    q.one(db)
        .await?
        .map(User::from)
        .ok_or_else(|| StoreError::not_found(format!("user {id} not found")))
}

/// The tenant's verified domains, sorted.
pub async fn domains<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<tenant_domains::Model>> {
    Ok(tenant_domains::Entity::find()
        .filter(tenant_domains::Column::TenantId.eq(tenant_id))
        .order_by_asc(tenant_domains::Column::Domain)
        .all(db)
        .await?)
}

async fn domain_names<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<String>> {
    Ok(domains(db, tenant_id).await?.into_iter().map(|d| d.domain).collect())
}

pub async fn add_domain(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    domain: &str,
    now: i64,
) -> Result<tenant_domains::Model> {
    let domain = adoption::validate_domain(domain)?;
    admin::get_tenant(txn, tenant_id).await?;
    tenant_domains::ActiveModel {
        tenant_id: Set(tenant_id),
        domain: Set(domain.clone()),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::uniqueness(format!("domain {domain:?} is already verified for this tenant"))
        } else {
            e.into()
        }
    })
}

pub async fn remove_domain(txn: &DatabaseTransaction, tenant_id: Uuid, domain: &str) -> Result<()> {
    let key = domain.trim().to_ascii_lowercase();
    let gone = tenant_domains::Entity::delete_many()
        .filter(tenant_domains::Column::TenantId.eq(tenant_id))
        .filter(tenant_domains::Column::Domain.eq(key.as_str()))
        .exec(txn)
        .await?
        .rows_affected;
    if gone == 0 {
        return Err(StoreError::not_found(format!(
            "domain {domain:?} is not a verified domain of tenant {tenant_id}"
        )));
    }
    Ok(())
}

/// Makes a native user the connection's SCIM user (its version is left to the write that
/// follows): a conditional update (still native) that says whether this writer won. A user
/// adopted concurrently by another connection stays as that writer left it, and this one
/// gets `lost` (it may no longer see the user).
async fn take_over(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    connection_id: Uuid,
    lost: impl FnOnce() -> StoreError,
) -> Result<()> {
    let won = users::Entity::update_many()
        .col_expr(users::Column::Source, Expr::val("scim"))
        .col_expr(users::Column::ConnectionId, Expr::val(Some(connection_id)))
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Source.eq(NATIVE))
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    if won { Ok(()) } else { Err(lost()) }
}

/// Links an unmanaged SCIM user (its connection ended) to the connection that writes it. A
/// user linked concurrently by another connection stays with that one: the update is
/// conditional, and this connection then no longer sees the user (NOT_FOUND).
async fn link(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid, connection_id: Uuid) -> Result<()> {
    let won = users::Entity::update_many()
        .col_expr(users::Column::ConnectionId, Expr::val(Some(connection_id)))
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Source.ne(NATIVE))
        .filter(users::Column::ConnectionId.is_null())
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    if won {
        Ok(())
    } else {
        Err(StoreError::not_found(format!("user {id} not found")))
    }
}

/// Before a SCIM write (replace or delete) of user `id`: NOT_FOUND when `v` does not see it;
/// for a replace (`adopt`), takes over a native user it may adopt or an unmanaged user (its
/// connection ended), and says how.
pub async fn before_write(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    v: Visibility,
    adopt: bool,
) -> Result<Option<(User, Takeover)>> {
    let Visibility::Connection { id: connection_id, .. } = v else {
        return Ok(None);
    };
    let user = get_visible(txn, tenant_id, id, v).await?;
    if !adopt {
        return Ok(None);
    }
    if adoption::is_unmanaged(&user) {
        link(txn, tenant_id, id, connection_id).await?;
        return Ok(Some((user, Takeover::Linked)));
    }
    if user.source != NATIVE {
        return Ok(None);
    }
    let m = adoption::matching(&user, &domain_names(txn, tenant_id).await?)
        .ok_or_else(|| StoreError::not_found(format!("user {id} not found")))?;
    take_over(txn, tenant_id, id, connection_id, || {
        StoreError::not_found(format!("user {id} not found"))
    })
    .await?;
    Ok(Some((user, Takeover::Adopted(m))))
}

/// Before a SCIM create: the unmanaged user (its connection ended) with the new userName, now
/// linked to the connection; else the native user the new user collides with (same userName
/// or primary e-mail as the new userName or e-mail, case-insensitively) when the connection
/// may adopt it, now adopted; UNIQUENESS with the reason when the new userName is a native
/// user's it may not adopt; `None` when nothing unmanaged or native collides.
pub async fn before_create(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    v: Visibility,
    spec: &UserSpec,
) -> Result<Option<(User, Takeover)>> {
    let Visibility::Connection {
        id: connection_id,
        adopts,
    } = v
    else {
        return Ok(None);
    };
    let unmanaged = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::UserNameKey.eq(ci_key(&spec.user_name)))
        .filter(users::Column::Source.ne(NATIVE))
        .filter(users::Column::ConnectionId.is_null())
        .one(txn)
        .await?;
    if let Some(user) = unmanaged {
        link(txn, tenant_id, user.id, connection_id).await?;
        return Ok(Some((user.into(), Takeover::Linked)));
    }
    let mut keys = vec![ci_key(&spec.user_name)];
    if let Some(e) = spec.email.as_deref().filter(|e| !e.is_empty()) {
        keys.push(ci_key(e));
    }
    let candidates = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Source.eq(NATIVE))
        .filter(
            users::Column::UserNameKey
                .is_in(keys.clone())
                .or(users::Column::EmailKey.is_in(keys)),
        )
        .order_by_asc(users::Column::Id)
        .limit(10)
        .all(txn)
        .await?;
    if candidates.is_empty() {
        return Ok(None);
    }
    let domains = domain_names(txn, tenant_id).await?;
    let key = ci_key(&spec.user_name);
    // The one candidate whose userName is the new one, if any (by its stored key).
    let named = candidates.iter().position(|u| u.user_name_key == key);
    let candidates: Vec<User> = candidates.into_iter().map(User::from).collect();
    let mut adoptable: Vec<(User, Match)> = if adopts {
        candidates
            .iter()
            .filter_map(|u| adoption::matching(u, &domains).map(|m| (u.clone(), m)))
            .collect()
    } else {
        Vec::new()
    };
    match adoptable.len() {
        0 => match named.and_then(|i| candidates.get(i)) {
            Some(u) => Err(StoreError::uniqueness(adoption::refusal(u, adopts))),
            None => Ok(None),
        },
        1 => {
            let (user, m) = adoptable.remove(0);
            take_over(txn, tenant_id, user.id, connection_id, || {
                StoreError::uniqueness(format!(
                    "userName {:?} was just taken over by another connection",
                    spec.user_name
                ))
            })
            .await?;
            Ok(Some((user, Takeover::Adopted(m))))
        }
        _ => Err(StoreError::uniqueness(format!(
            "userName {:?} matches several accounts created outside SCIM ({}); merge them in the product first",
            spec.user_name,
            adoptable
                .iter()
                .map(|(u, _)| u.user_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Turns a connection's adoption on or off; returns the connection as it is now.
pub async fn set_allow_adoption(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Uuid,
    allow: bool,
) -> Result<crate::entity::connections::Model> {
    use crate::entity::connections;
    let mut conn: connections::ActiveModel = admin::get_connection(txn, tenant_id, connection_id).await?.into();
    conn.allow_adoption = Set(allow);
    Ok(conn.update(txn).await?)
}
