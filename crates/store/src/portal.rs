//! Portal links and sessions. A link is a one-time token a product hands to a customer's IT
//! admin; redeeming it opens a session for that link's tenant. Both keep only the SHA-256 of
//! their secret; a lookup by hash is followed by a constant-time comparison.

use std::collections::{BTreeMap, HashMap};

use dirsync_domain::ids::{IdSource, SharedIds};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::{portal_links, portal_sessions};
use crate::error::{Result, StoreError};
use crate::tokens as secrets;

/// Prefix of portal link tokens (recognisable to secret scanners).
pub const LINK_PREFIX: &str = "dsl_";
/// Prefix of portal session secrets.
pub const SESSION_PREFIX: &str = "dsp_";

/// A link without a lifetime is meant for a redirect: it lives 15 minutes.
pub const DEFAULT_LINK_MS: i64 = 15 * 60 * 1000;
pub const MIN_LINK_MS: i64 = 60 * 1000;
/// Links sent by mail may live days, never longer than a week.
pub const MAX_LINK_MS: i64 = 7 * 24 * 3600 * 1000;
/// A session unused this long ends.
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends this long after it opened, however busy.
pub const ABSOLUTE_MS: i64 = 8 * 3600 * 1000;
pub const MAX_RETURN_URL: usize = 2000;

/// Why a link or session is refused; the same words for every reason, so that a guesser
/// learns nothing.
fn denied(what: &str) -> StoreError {
    StoreError::unauthenticated(format!("this portal {what} is invalid, used, revoked or expired"))
}

fn random(prefix: &str) -> Result<String> {
    secrets::generate_with_prefix(prefix)
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(format!("no randomness available: {e}"))))
}

/// Checks a lifetime (0: the default) and returns it in milliseconds.
pub fn link_lifetime_ms(seconds: u64) -> Result<i64> {
    if seconds == 0 {
        return Ok(DEFAULT_LINK_MS);
    }
    let ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    if !(MIN_LINK_MS..=MAX_LINK_MS).contains(&ms) {
        return Err(StoreError::invalid_value(format!(
            "lifetime_seconds must be between {} and {} (7 days), or 0 for 15 minutes; got {seconds}",
            MIN_LINK_MS / 1000,
            MAX_LINK_MS / 1000
        )));
    }
    Ok(ms)
}

/// A return URL must be an absolute http(s) URL without whitespace or quotes, and bounded.
pub fn check_return_url(url: &str) -> Result<()> {
    let ok = url.len() <= MAX_RETURN_URL
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "http://".len()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid_value(format!(
            "return_url must be an absolute http(s) URL of at most {MAX_RETURN_URL} characters without spaces or quotes"
        )))
    }
}

/// What a new link is for.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub intent: &'a str,
    pub lifetime_ms: i64,
    pub return_url: Option<&'a str>,
    pub created_by: &'a str,
}

/// Stores a new link and returns it with its token (shown once).
pub async fn create_link(
    txn: &DatabaseTransaction,
    new: NewLink<'_>,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<(portal_links::Model, String)> {
    let token = random(LINK_PREFIX)?;
    let row = portal_links::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(new.tenant_id),
        connection_id: Set(new.connection_id),
        intent: Set(new.intent.to_owned()),
        token_hash: Set(secrets::hash(&token)),
        return_url: Set(new.return_url.map(str::to_owned)),
        created_by: Set(new.created_by.to_owned()),
        created_at: Set(now),
        expires_at: Set(now.saturating_add(new.lifetime_ms)),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok((row, token))
}

pub async fn revoke_link(txn: &DatabaseTransaction, tenant_id: Uuid, link_id: Uuid, now: i64) -> Result<()> {
    let link = portal_links::Entity::find_by_id(link_id)
        .filter(portal_links::Column::TenantId.eq(tenant_id))
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("portal link {link_id} not found in tenant {tenant_id}")))?;
    if link.revoked_at.is_none() {
        portal_links::Entity::update_many()
            .col_expr(portal_links::Column::RevokedAt, Expr::val(now))
            .filter(portal_links::Column::Id.eq(link.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// The link a token opens, if it is unused, unrevoked and unexpired. Does not use it up.
pub async fn live_link<C: ConnectionTrait>(db: &C, token: &str, now: i64) -> Result<portal_links::Model> {
    if !token.starts_with(LINK_PREFIX) || token.len() > 100 {
        return Err(denied("link"));
    }
    let link = portal_links::Entity::find()
        .filter(portal_links::Column::TokenHash.eq(secrets::hash(token)))
        .one(db)
        .await?
        .ok_or_else(|| denied("link"))?;
    let live = link.used_at.is_none() && link.revoked_at.is_none() && link.expires_at > now;
    if !secrets::verify(token, &link.token_hash) || !live {
        return Err(denied("link"));
    }
    Ok(link)
}

/// Uses a link up and opens a session for its tenant; returns the session and its secret.
/// Of two concurrent redemptions exactly one succeeds (the conditional update decides).
pub async fn redeem_link(
    txn: &DatabaseTransaction,
    token: &str,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<(portal_sessions::Model, String)> {
    let link = live_link(txn, token, now).await?;
    let used = portal_links::Entity::update_many()
        .col_expr(portal_links::Column::UsedAt, Expr::val(now))
        .filter(portal_links::Column::Id.eq(link.id))
        .filter(portal_links::Column::UsedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    if used != 1 {
        return Err(denied("link"));
    }
    let secret = random(SESSION_PREFIX)?;
    let session = portal_sessions::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(link.tenant_id),
        link_id: Set(link.id),
        connection_id: Set(link.connection_id),
        intent: Set(link.intent),
        token_hash: Set(secrets::hash(&secret)),
        return_url: Set(link.return_url),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now.saturating_add(ABSOLUTE_MS)),
        ended_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok((session, secret))
}

/// The live session a secret names, with its idle expiry moved on to `now + IDLE_MS`.
pub async fn session<C: ConnectionTrait>(db: &C, secret: &str, now: i64) -> Result<portal_sessions::Model> {
    if !secret.starts_with(SESSION_PREFIX) || secret.len() > 100 {
        return Err(denied("session"));
    }
    let mut s = portal_sessions::Entity::find()
        .filter(portal_sessions::Column::TokenHash.eq(secrets::hash(secret)))
        .one(db)
        .await?
        .ok_or_else(|| denied("session"))?;
    let live = s.ended_at.is_none() && s.expires_at > now && s.last_seen_at.saturating_add(IDLE_MS) > now;
    if !secrets::verify(secret, &s.token_hash) || !live {
        return Err(denied("session"));
    }
    // Touching at most once a minute keeps page loads from writing on every request.
    if now - s.last_seen_at >= 60_000 {
        portal_sessions::Entity::update_many()
            .col_expr(portal_sessions::Column::LastSeenAt, Expr::val(now))
            .filter(portal_sessions::Column::Id.eq(s.id))
            .exec(db)
            .await?;
        s.last_seen_at = now;
    }
    Ok(s)
}

pub async fn end_session<C: ConnectionTrait>(db: &C, session_id: Uuid, now: i64) -> Result<()> {
    portal_sessions::Entity::update_many()
        .col_expr(portal_sessions::Column::EndedAt, Expr::val(now))
        .filter(portal_sessions::Column::Id.eq(session_id))
        .filter(portal_sessions::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Points a session at a connection of its tenant (after setup created one).
pub async fn set_connection(txn: &DatabaseTransaction, session_id: Uuid, connection_id: Uuid) -> Result<()> {
    portal_sessions::Entity::update_many()
        .col_expr(portal_sessions::Column::ConnectionId, Expr::val(Some(connection_id)))
        .filter(portal_sessions::Column::Id.eq(session_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// What a mapping change does to a group's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingEffect {
    pub group_name: String,
    pub members: u64,
    /// (from, to, users); "" is no role.
    pub role_moves: Vec<(String, String, u64)>,
    /// (from, to, users); "" is no license.
    pub tier_moves: Vec<(String, String, u64)>,
    pub seats_bought: u64,
}

/// The user members of a group.
async fn user_members<C: ConnectionTrait>(db: &C, tenant_id: Uuid, group_id: Uuid) -> Result<Vec<Uuid>> {
    use sea_orm::QuerySelect;

    use crate::entity::group_members;
    Ok(group_members::Entity::find()
        .select_only()
        .column(group_members::Column::MemberId)
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(group_members::Column::GroupId.eq(group_id))
        .filter(group_members::Column::MemberType.eq("User"))
        .into_tuple()
        .all(db)
        .await?)
}

/// Each user's role name and license tier name.
async fn snapshot(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<(HashMap<Uuid, String>, HashMap<Uuid, String>, u64)> {
    use sea_orm::PaginatorTrait;

    use crate::entity::license_purchases;
    let roles = super::roles::entitlements(txn, tenant_id, ids)
        .await?
        .into_iter()
        .filter_map(|e| e.role.map(|r| (e.user_id, r.name)))
        .collect();
    let tiers = super::licenses::held(txn, tenant_id, ids)
        .await?
        .into_iter()
        .map(|(u, h)| (u, h.tier))
        .collect();
    let purchases = license_purchases::Entity::find()
        .filter(license_purchases::Column::TenantId.eq(tenant_id))
        .count(txn)
        .await?;
    Ok((roles, tiers, purchases))
}

/// How many of `ids` went from which value to which.
fn moves(ids: &[Uuid], before: &HashMap<Uuid, String>, after: &HashMap<Uuid, String>) -> Vec<(String, String, u64)> {
    let mut out: BTreeMap<(String, String), u64> = BTreeMap::new();
    for id in ids {
        let (b, a) = (
            before.get(id).cloned().unwrap_or_default(),
            after.get(id).cloned().unwrap_or_default(),
        );
        if a != b {
            *out.entry((b, a)).or_default() += 1;
        }
    }
    out.into_iter().map(|((b, a), n)| (b, a, n)).collect()
}

/// Maps a group to `role` and `tier` (None: no mapping) and recomputes its members' roles and
/// licenses, in `txn`. Returns what moved and the feed events; the caller commits (save) or
/// rolls back (preview). Fails with LastAdmin when the tenant would lose its last admin.
pub async fn apply_mapping(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    group_id: Uuid,
    role: Option<Uuid>,
    tier: Option<Uuid>,
    id_source: &SharedIds,
    now: i64,
) -> Result<(MappingEffect, Vec<crate::journal::Event>)> {
    use super::{licenses, roles};
    let group = super::groups::get(txn, tenant_id, group_id).await?;
    let ids = user_members(txn, tenant_id, group_id).await?;
    let (roles_before, tiers_before, bought_before) = snapshot(txn, tenant_id, &ids).await?;
    let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
    match role {
        Some(r) => {
            roles::map_group(txn, tenant_id, group_id, r).await?;
        }
        None => {
            roles::unmap_group(txn, tenant_id, group_id).await?;
        }
    }
    let mut events =
        roles::reassign_after_config(txn, tenant_id, roles::Scope::Group(group_id), had_admins, now).await?;
    match tier {
        Some(t) => {
            licenses::map_group(txn, tenant_id, group_id, t).await?;
        }
        None => {
            licenses::unmap_group(txn, tenant_id, group_id).await?;
        }
    }
    events.extend(
        licenses::reassign_after_config(txn, tenant_id, licenses::Scope::Group(group_id), id_source, now).await?,
    );
    let (roles_after, tiers_after, bought_after) = snapshot(txn, tenant_id, &ids).await?;
    Ok((
        MappingEffect {
            group_name: group.display_name,
            members: ids.len() as u64,
            role_moves: moves(&ids, &roles_before, &roles_after),
            tier_moves: moves(&ids, &tiers_before, &tiers_after),
            seats_bought: bought_after.saturating_sub(bought_before),
        },
        events,
    ))
}

/// A group with its member count and mappings, for the Mappings page.
#[derive(Debug, Clone)]
pub struct MappedGroup {
    pub id: Uuid,
    pub display_name: String,
    pub members: u64,
    pub role_id: Option<Uuid>,
    pub tier_id: Option<Uuid>,
}

/// Most groups the Mappings page lists.
pub const MAX_GROUPS: u64 = 500;

pub async fn mapped_groups<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<MappedGroup>> {
    use sea_orm::{QueryOrder, QuerySelect};

    use crate::entity::{group_members, groups};
    let rows: Vec<(Uuid, String)> = groups::Entity::find()
        .select_only()
        .columns([groups::Column::Id, groups::Column::DisplayName])
        .filter(groups::Column::TenantId.eq(tenant_id))
        .order_by_asc(groups::Column::DisplayName)
        .limit(MAX_GROUPS)
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let counts: HashMap<Uuid, i64> = group_members::Entity::find()
        .select_only()
        .column(group_members::Column::GroupId)
        .column_as(group_members::Column::MemberId.count(), "n")
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(group_members::Column::MemberType.eq("User"))
        .filter(group_members::Column::GroupId.is_in(ids))
        .group_by(group_members::Column::GroupId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let role: HashMap<Uuid, Uuid> = super::roles::mappings(db, tenant_id)
        .await?
        .into_iter()
        .map(|m| (m.group_id, m.target_id))
        .collect();
    let tier: HashMap<Uuid, Uuid> = super::licenses::mappings(db, tenant_id)
        .await?
        .into_iter()
        .map(|m| (m.group_id, m.target_id))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, display_name)| MappedGroup {
            id,
            display_name,
            members: counts.get(&id).copied().unwrap_or_default().max(0) as u64,
            role_id: role.get(&id).copied(),
            tier_id: tier.get(&id).copied(),
        })
        .collect())
}

/// A user as the People page shows it.
#[derive(Debug, Clone)]
pub struct Person {
    pub user: crate::entity::users::Model,
    pub role: Option<String>,
    pub license: Option<super::licenses::Held>,
}

/// Most people one People page lists.
pub const MAX_PEOPLE: u64 = 200;

/// Users whose userName, display name or e-mail contains `search`, by userName.
pub async fn people<C: ConnectionTrait>(db: &C, tenant_id: Uuid, search: Option<&str>) -> Result<Vec<Person>> {
    use sea_orm::{QueryOrder, QuerySelect};

    use crate::entity::users;
    let mut q = users::Entity::find().filter(users::Column::TenantId.eq(tenant_id));
    if let Some(text) = search.filter(|t| !t.is_empty()) {
        q = q.filter(super::contains_ci(
            &[
                users::Column::UserNameKey,
                users::Column::DisplayNameKey,
                users::Column::EmailKey,
            ],
            text,
        ));
    }
    let rows = q
        .order_by_asc(users::Column::UserNameKey)
        .limit(MAX_PEOPLE)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let mut roles: HashMap<Uuid, String> = super::roles::entitlements(db, tenant_id, &ids)
        .await?
        .into_iter()
        .filter_map(|e| e.role.map(|r| (e.user_id, r.name)))
        .collect();
    let mut held = super::licenses::held(db, tenant_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|u| Person {
            role: roles.remove(&u.id),
            license: held.remove(&u.id),
            user: u,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_return_urls_are_bounded() {
        assert_eq!(link_lifetime_ms(0).unwrap(), DEFAULT_LINK_MS);
        assert_eq!(link_lifetime_ms(3600).unwrap(), 3_600_000);
        for bad in [1, 59, 7 * 24 * 3600 + 1, u64::MAX] {
            assert!(link_lifetime_ms(bad).is_err(), "{bad}");
        }
        check_return_url("https://app.example.com/settings/scim?x=1").unwrap();
        for bad in [
            "",
            "javascript:alert(1)",
            "//evil.example",
            "https://a b",
            "https://x\"onload=",
            "http://",
        ] {
            assert!(check_return_url(bad).is_err(), "{bad}");
        }
        assert!(check_return_url(&format!("https://x/{}", "a".repeat(MAX_RETURN_URL))).is_err());
    }
}
