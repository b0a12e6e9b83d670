//! Roles, group mappings and assignments: the reads the rules in `dirsync_domain::roles` decide on and
//! the writes that carry out their decisions. Recomputing is set-based, by chunks of ids, so
//! a 10,000-member change is a few statements per thousand users, never one per user.

use std::collections::{BTreeSet, HashMap};

use dirsync_domain::User;
use dirsync_domain::ids::IdSource;
use sea_orm::sea_query::{Alias, Expr, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::groups::MemberDelta;
use super::is_unique_violation;
use crate::entity::{group_members, role_mappings, roles, tenants, user_roles, users};
use crate::error::{Result, StoreError};
use crate::journal::Event;
use dirsync_domain::roles::{self as rules, Catalog, Facts, Role, RoleSource, Trigger};

/// Ids per statement: well under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 1000;

/// `tenants.role_source`: read and written here only, so the tenants entity stays the admin's.
fn role_source_col() -> Alias {
    Alias::new("role_source")
}

pub async fn source<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<RoleSource> {
    let q = Query::select()
        .expr_as(Expr::col(role_source_col()), role_source_col())
        .from(tenants::Entity)
        .and_where(tenants::Column::Id.eq(tenant_id))
        .to_owned();
    let row = db
        .query_one(&q)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tenant {tenant_id} not found")))?;
    let s: String = row.try_get("", "role_source")?;
    Ok(RoleSource::parse(&s))
}

pub async fn set_source(txn: &DatabaseTransaction, tenant_id: Uuid, source: RoleSource) -> Result<()> {
    let q = Query::update()
        .table(tenants::Entity)
        .value(role_source_col(), source.as_str())
        .and_where(tenants::Column::Id.eq(tenant_id))
        .to_owned();
    txn.execute(&q).await?;
    Ok(())
}

/// The tenant's roles, source and mappings; three small reads, or one when it has no roles.
pub async fn catalog<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Catalog> {
    let list = list(db, tenant_id).await?;
    if list.is_empty() {
        return Ok(Catalog::default());
    }
    let mappings: Vec<(Uuid, Uuid)> = role_mappings::Entity::find()
        .select_only()
        .columns([role_mappings::Column::GroupId, role_mappings::Column::RoleId])
        .filter(role_mappings::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Catalog::new(
        source(db, tenant_id).await?,
        list,
        mappings.into_iter().collect(),
    ))
}

pub async fn list<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<Role>> {
    Ok(roles::Entity::find()
        .filter(roles::Column::TenantId.eq(tenant_id))
        .order_by_desc(roles::Column::Rank)
        .order_by_asc(roles::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Role::from)
        .collect())
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<Role> {
    Ok(row(db, tenant_id, id).await?.into())
}

async fn row<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<roles::Model> {
    roles::Entity::find_by_id(id)
        .filter(roles::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("role {id} not found")))
}

/// A role as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    pub rank: i32,
    pub is_admin: bool,
    pub is_guest: bool,
    pub is_default: bool,
}

fn name_taken(name: &str) -> StoreError {
    StoreError::uniqueness(format!("a role named {name:?} already exists in this tenant"))
}

/// At most one default role per tenant: flagging one clears the others.
async fn clear_default(txn: &DatabaseTransaction, tenant_id: Uuid, except: Uuid) -> Result<()> {
    roles::Entity::update_many()
        .col_expr(roles::Column::IsDefault, Expr::val(false))
        .filter(roles::Column::TenantId.eq(tenant_id))
        .filter(roles::Column::Id.ne(except))
        .exec(txn)
        .await?;
    Ok(())
}

pub async fn create(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    spec: &RoleSpec,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<Role> {
    rules::validate(&spec.name, spec.is_admin, spec.is_guest, spec.is_default)?;
    super::admin::get_tenant(txn, tenant_id).await?;
    let id = id_source.new_id();
    if spec.is_default {
        clear_default(txn, tenant_id, id).await?;
    }
    roles::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        name: Set(spec.name.clone()),
        rank: Set(spec.rank),
        is_admin: Set(spec.is_admin),
        is_guest: Set(spec.is_guest),
        is_default: Set(spec.is_default),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map(Role::from)
    .map_err(|e| {
        if is_unique_violation(&e) {
            name_taken(&spec.name)
        } else {
            e.into()
        }
    })
}

/// Replaces a role's name, rank and flags; returns it before and after.
pub async fn update(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid, spec: &RoleSpec) -> Result<(Role, Role)> {
    rules::validate(&spec.name, spec.is_admin, spec.is_guest, spec.is_default)?;
    let before = row(txn, tenant_id, id).await?;
    if spec.is_default {
        clear_default(txn, tenant_id, id).await?;
    }
    let mut row: roles::ActiveModel = before.clone().into();
    row.name = Set(spec.name.clone());
    row.rank = Set(spec.rank);
    row.is_admin = Set(spec.is_admin);
    row.is_guest = Set(spec.is_guest);
    row.is_default = Set(spec.is_default);
    let after = row.update(txn).await.map_err(|e| {
        if is_unique_violation(&e) {
            name_taken(&spec.name)
        } else {
            e.into()
        }
    })?;
    Ok((before.into(), after.into()))
}

/// Deletes a role nobody holds, with its group mappings.
pub async fn delete(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid) -> Result<Role> {
    let role = get(txn, tenant_id, id).await?;
    let holders = user_roles::Entity::find()
        .filter(user_roles::Column::TenantId.eq(tenant_id))
        .filter(user_roles::Column::RoleId.eq(id))
        .count(txn)
        .await?;
    if holders > 0 {
        return Err(StoreError::role_in_use(format!(
            "role {:?} is held by {holders} user{}; change their role first",
            role.name,
            if holders == 1 { "" } else { "s" }
        )));
    }
    role_mappings::Entity::delete_many()
        .filter(role_mappings::Column::TenantId.eq(tenant_id))
        .filter(role_mappings::Column::RoleId.eq(id))
        .exec(txn)
        .await?;
    roles::Entity::delete_many()
        .filter(roles::Column::TenantId.eq(tenant_id))
        .filter(roles::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(role)
}

/// How many users hold each role.
pub async fn holders<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<HashMap<Uuid, u64>> {
    let rows: Vec<(Uuid, i64)> = user_roles::Entity::find()
        .select_only()
        .column(user_roles::Column::RoleId)
        .column_as(Expr::expr(Func::count(Expr::col(user_roles::Column::UserId))), "n")
        .filter(user_roles::Column::TenantId.eq(tenant_id))
        .group_by(user_roles::Column::RoleId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or_default()))
        .collect())
}

pub use crate::group_mappings::Mapping;

pub async fn mappings<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<Mapping>> {
    crate::group_mappings::list::<role_mappings::Entity, C>(db, tenant_id).await
}

/// Maps a group of the tenant to a role of the tenant, replacing the group's mapping.
pub async fn map_group(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid, role_id: Uuid) -> Result<Mapping> {
    let group = super::groups::get(txn, tenant_id, group_id).await?;
    get(txn, tenant_id, role_id).await?;
    crate::group_mappings::map::<role_mappings::Entity>(txn, group, role_id).await
}

/// Removes a group's mapping; returns whether it had one.
pub async fn unmap_group(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<bool> {
    crate::group_mappings::unmap::<role_mappings::Entity>(txn, tenant_id, group_id).await
}

/// Active users holding an admin role.
pub async fn active_admins<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<u64> {
    let admin_roles = Query::select()
        .column(roles::Column::Id)
        .from(roles::Entity)
        .and_where(roles::Column::TenantId.eq(tenant_id))
        .and_where(roles::Column::IsAdmin.eq(true))
        .to_owned();
    let active_users = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::TenantId.eq(tenant_id))
        .and_where(users::Column::Active.eq(true))
        .to_owned();
    Ok(user_roles::Entity::find()
        .filter(user_roles::Column::TenantId.eq(tenant_id))
        .filter(user_roles::Column::RoleId.in_subquery(admin_roles))
        .filter(user_roles::Column::UserId.in_subquery(active_users))
        .count(db)
        .await?)
}

/// Refuses the transaction's changes when they leave the tenant without an active admin.
/// `had_admins`: whether the tenant had one before (a tenant that never had one may change).
pub async fn keep_an_admin(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    had_admins: bool,
    who: Option<&str>,
) -> Result<()> {
    if !had_admins {
        return Ok(());
    }
    super::lock_tenant(txn, tenant_id).await?;
    if active_admins(txn, tenant_id).await? == 0 {
        return Err(rules::last_admin(who).into());
    }
    Ok(())
}

/// One user whose role is recomputed.
#[derive(Debug, Clone)]
struct Subject {
    id: Uuid,
    user_name: String,
    was_active: bool,
    active: bool,
    attribute: Option<String>,
    attribute_changed: bool,
}

/// Recomputes the roles of `subjects` (at most [`CHUNK`]), writes what changed, and returns
/// the events and the name of a user who stopped being an active admin, if any.
async fn reassign_chunk(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    catalog: &Catalog,
    subjects: &[Subject],
    trigger: Trigger,
    now: i64,
) -> Result<(Vec<Event>, Option<String>)> {
    let ids: Vec<Uuid> = subjects.iter().map(|s| s.id).collect();
    let current: HashMap<Uuid, Uuid> = user_roles::Entity::find()
        .select_only()
        .columns([user_roles::Column::UserId, user_roles::Column::RoleId])
        .filter(user_roles::Column::TenantId.eq(tenant_id))
        .filter(user_roles::Column::UserId.is_in(ids.iter().copied()))
        .into_tuple::<(Uuid, Uuid)>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let mut mapped: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if catalog.source == RoleSource::Groups {
        // One query for the chunk's memberships; the mapping itself is in the catalog.
        let rows: Vec<(Uuid, Uuid)> = group_members::Entity::find()
            .select_only()
            .columns([group_members::Column::MemberId, group_members::Column::GroupId])
            .filter(group_members::Column::TenantId.eq(tenant_id))
            .filter(group_members::Column::MemberId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        for (member, group) in rows {
            if let Some(role) = catalog.mapped_role(group) {
                mapped.entry(member).or_default().push(role);
            }
        }
    }

    let mut upserts = Vec::new();
    let mut cleared = Vec::new();
    let mut events = Vec::new();
    let mut lost_admin = None;
    for s in subjects {
        let held = current.get(&s.id).copied();
        let facts = Facts {
            current: held,
            mapped: mapped.get(&s.id).map_or(&[], Vec::as_slice),
            attribute: s.attribute.as_deref(),
            attribute_changed: s.attribute_changed,
        };
        let wanted = rules::decide(catalog, &facts, trigger)?;
        let wanted_id = wanted.map(|r| r.id);
        if rules::is_active_admin(catalog, held, s.was_active) && !rules::is_active_admin(catalog, wanted_id, s.active)
        {
            lost_admin.get_or_insert_with(|| s.user_name.clone());
        }
        if wanted_id == held {
            continue;
        }
        match wanted_id {
            Some(role_id) => upserts.push(user_roles::ActiveModel {
                tenant_id: Set(tenant_id),
                user_id: Set(s.id),
                role_id: Set(role_id),
                assigned_at: Set(now),
            }),
            None => cleared.push(s.id),
        }
        events.push(Event::role_assigned(
            s.id,
            &s.user_name,
            held.and_then(|id| catalog.get(id)),
            wanted,
        ));
    }
    if !upserts.is_empty() {
        user_roles::Entity::insert_many(upserts)
            .on_conflict(
                OnConflict::column(user_roles::Column::UserId)
                    .update_columns([user_roles::Column::RoleId, user_roles::Column::AssignedAt])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    if !cleared.is_empty() {
        user_roles::Entity::delete_many()
            .filter(user_roles::Column::TenantId.eq(tenant_id))
            .filter(user_roles::Column::UserId.is_in(cleared))
            .exec(txn)
            .await?;
    }
    Ok((events, lost_admin))
}

/// Recomputes the roles of the users among `ids` (other ids, e.g. nested groups, are skipped)
/// in chunks, and refuses the change if it removed the last active admin.
async fn reassign_ids(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    catalog: &Catalog,
    ids: &[Uuid],
    trigger: Trigger,
    now: i64,
) -> Result<Vec<Event>> {
    // Sorted, so concurrent recomputes lock assignment rows in the same order.
    let ids: Vec<Uuid> = ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let mut events = Vec::new();
    let mut lost_admin = None;
    for chunk in ids.chunks(CHUNK) {
        let facts: Vec<(Uuid, String, bool)> = users::Entity::find()
            .select_only()
            .columns([users::Column::Id, users::Column::UserName, users::Column::Active])
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(users::Column::Id)
            .into_tuple()
            .all(txn)
            .await?;
        let mut attributes: HashMap<Uuid, String> = HashMap::new();
        if catalog.source == RoleSource::Attribute {
            let docs: Vec<(Uuid, serde_json::Value)> = users::Entity::find()
                .select_only()
                .columns([users::Column::Id, users::Column::Document])
                .filter(users::Column::TenantId.eq(tenant_id))
                .filter(users::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(txn)
                .await?;
            for (id, doc) in docs {
                if let Some(v) = rules::user_role_attribute(&doc) {
                    attributes.insert(id, v.to_owned());
                }
            }
        }
        let subjects: Vec<Subject> = facts
            .into_iter()
            .map(|(id, user_name, active)| Subject {
                id,
                user_name,
                was_active: active,
                active,
                attribute: attributes.remove(&id),
                attribute_changed: true,
            })
            .collect();
        let (ev, lost) = reassign_chunk(txn, tenant_id, catalog, &subjects, trigger, now).await?;
        events.extend(ev);
        lost_admin = lost_admin.or(lost);
    }
    if let Some(who) = lost_admin {
        keep_an_admin(txn, tenant_id, true, Some(&who)).await?;
    }
    Ok(events)
}

/// After a user was created (`before` unset) or replaced: its role, with the rules applied.
pub async fn after_user_write(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    before: Option<&User>,
    after: &User,
    trigger: Trigger,
    now: i64,
) -> Result<Vec<Event>> {
    let catalog = catalog(txn, tenant_id).await?;
    if catalog.is_empty() {
        return Ok(Vec::new());
    }
    let attribute = rules::user_role_attribute(&after.document);
    let subject = Subject {
        id: after.id,
        user_name: after.user_name.clone(),
        was_active: before.map_or(after.active, |b| b.active),
        active: after.active,
        attribute: attribute.map(str::to_owned),
        attribute_changed: before.is_none_or(|b| rules::user_role_attribute(&b.document) != attribute),
    };
    let (events, lost_admin) = reassign_chunk(txn, tenant_id, &catalog, &[subject], trigger, now).await?;
    if let Some(who) = lost_admin {
        keep_an_admin(txn, tenant_id, true, Some(&who)).await?;
    }
    Ok(events)
}

/// Before a user is deleted: refuses to delete the tenant's last active admin.
pub async fn before_user_delete(txn: &DatabaseTransaction, tenant_id: Uuid, user_id: Uuid) -> Result<()> {
    let catalog = catalog(txn, tenant_id).await?;
    if catalog.is_empty() {
        return Ok(());
    }
    let user = super::users::get(txn, tenant_id, user_id).await?;
    let held = user_roles::Entity::find_by_id(user_id)
        .filter(user_roles::Column::TenantId.eq(tenant_id))
        .one(txn)
        .await?
        .map(|r| r.role_id);
    if !rules::is_active_admin(&catalog, held, user.active) {
        return Ok(());
    }
    super::lock_tenant(txn, tenant_id).await?;
    // The user is still there: it is the last admin when it is the only one.
    if active_admins(txn, tenant_id).await? <= 1 {
        return Err(rules::last_admin(Some(&user.user_name)).into());
    }
    Ok(())
}

/// After a group's members changed: the roles of the users who joined or left it, when it is
/// mapped to a role and the tenant takes roles from groups.
pub async fn after_members_changed(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    group_id: Uuid,
    delta: &MemberDelta,
    trigger: Trigger,
    now: i64,
) -> Result<Vec<Event>> {
    if delta.added.is_empty() && delta.removed.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = catalog(txn, tenant_id).await?;
    if catalog.source != RoleSource::Groups || !catalog.is_mapped(group_id) {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = delta.added.iter().chain(&delta.removed).copied().collect();
    reassign_ids(txn, tenant_id, &catalog, &ids, trigger, now).await
}

/// The members whose roles a group's deletion may change: read before it is deleted (its
/// memberships and mapping go with it); empty unless it is mapped and roles come from groups.
pub async fn before_group_delete(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<Vec<Uuid>> {
    let catalog = catalog(txn, tenant_id).await?;
    if catalog.source != RoleSource::Groups || !catalog.is_mapped(group_id) {
        return Ok(Vec::new());
    }
    super::groups::user_member_ids(txn, tenant_id, group_id).await
}

/// After a mapped group was deleted: the roles of its former members.
pub async fn after_group_deleted(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    members: &[Uuid],
    trigger: Trigger,
    now: i64,
) -> Result<Vec<Event>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = catalog(txn, tenant_id).await?;
    reassign_ids(txn, tenant_id, &catalog, members, trigger, now).await
}

pub use crate::group_mappings::Scope;

/// After an operator changed the role configuration: recomputes the roles in `scope` and
/// refuses the change if it left a tenant that had an active admin (`had_admins`) without one.
pub async fn reassign_after_config(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    scope: Scope,
    had_admins: bool,
    now: i64,
) -> Result<Vec<Event>> {
    let catalog = catalog(txn, tenant_id).await?;
    let mut events = Vec::new();
    match scope {
        Scope::Group(group_id) if catalog.source == RoleSource::Groups => {
            let ids = super::groups::user_member_ids(txn, tenant_id, group_id).await?;
            events = reassign_ids(txn, tenant_id, &catalog, &ids, Trigger::Admin, now).await?;
        }
        Scope::Group(_) => {}
        Scope::Tenant => {
            let mut after: Option<Uuid> = None;
            loop {
                let mut q = users::Entity::find()
                    .select_only()
                    .column(users::Column::Id)
                    .filter(users::Column::TenantId.eq(tenant_id));
                if let Some(last) = after {
                    q = q.filter(users::Column::Id.gt(last));
                }
                let ids: Vec<Uuid> = q
                    .order_by_asc(users::Column::Id)
                    .limit(CHUNK as u64)
                    .into_tuple()
                    .all(txn)
                    .await?;
                let Some(last) = ids.last().copied() else { break };
                events.extend(reassign_ids(txn, tenant_id, &catalog, &ids, Trigger::Admin, now).await?);
                if ids.len() < CHUNK {
                    break;
                }
                after = Some(last);
            }
        }
    }
    keep_an_admin(txn, tenant_id, had_admins, None).await?;
    Ok(events)
}

/// What the product needs to authorise one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub user_id: Uuid,
    pub active: bool,
    pub role: Option<Role>,
}

/// The entitlements of the users among `ids` (at most a few thousand), in the order asked;
/// ids that name no user of the tenant are left out.
pub async fn entitlements<C: ConnectionTrait>(db: &C, tenant_id: Uuid, ids: &[Uuid]) -> Result<Vec<Entitlement>> {
    let catalog_roles: HashMap<Uuid, Role> = list(db, tenant_id).await?.into_iter().map(|r| (r.id, r)).collect();
    let mut active: HashMap<Uuid, bool> = HashMap::new();
    let mut held: HashMap<Uuid, Uuid> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, bool)> = users::Entity::find()
            .select_only()
            .columns([users::Column::Id, users::Column::Active])
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        active.extend(rows);
        if catalog_roles.is_empty() {
            continue;
        }
        let rows: Vec<(Uuid, Uuid)> = user_roles::Entity::find()
            .select_only()
            .columns([user_roles::Column::UserId, user_roles::Column::RoleId])
            .filter(user_roles::Column::TenantId.eq(tenant_id))
            .filter(user_roles::Column::UserId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        held.extend(rows);
    }
    Ok(ids
        .iter()
        .filter_map(|id| {
            active.get(id).map(|a| Entitlement {
                user_id: *id,
                active: *a,
                role: held.get(id).and_then(|r| catalog_roles.get(r)).cloned(),
            })
        })
        .collect())
}
