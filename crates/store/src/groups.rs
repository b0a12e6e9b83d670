//! Groups and their membership. Membership changes are set-based statements over
//! `group_members`: they never read or rewrite a group's whole member list.

use std::collections::{BTreeMap, HashSet};

use dirsync_domain::filter::{Filter, Sort};
use dirsync_domain::group::{Group, GroupSpec};
use dirsync_domain::ids::IdSource;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryResult, QuerySelect, Set,
};
use uuid::Uuid;

use super::adoption::Visibility;
use super::filter::{self, Target};
use super::keyset::{self, Cursor, Paged, SeekOrder, Start};
use super::{Page, ci_key, is_unique_violation};
use crate::entity::{group_members, groups, users};
use crate::error::{Result, StoreError};

/// Rows per statement: keeps every statement under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 1000;

/// One change to a group's member set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

/// A member as listed on a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: Uuid,
    pub member_type: String,
    pub display: Option<String>,
}

fn document(spec: &GroupSpec) -> Result<serde_json::Value> {
    if spec.document.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let doc: serde_json::Value = serde_json::from_str(&spec.document)
        .map_err(|e| StoreError::invalid_value(format!("document is not valid JSON: {e}")))?;
    if !doc.is_object() {
        return Err(StoreError::invalid_value("document must be a JSON object".into()));
    }
    Ok(doc)
}

fn validate(spec: &GroupSpec) -> Result<()> {
    if spec.display_name.trim().is_empty() {
        return Err(StoreError::invalid_value(
            "displayName is required and must not be empty".into(),
        ));
    }
    Ok(())
}

fn parse_member_ids(ids: &[String]) -> Result<Vec<Uuid>> {
    let mut seen = HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let parsed = Uuid::parse_str(id.trim())
            .map_err(|_| StoreError::invalid_value(format!("member {id:?} is not a user or group of this tenant")))?;
        if seen.insert(parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// Resolves each id to "User" or "Group" within the tenant; unknown ids are an error, raised
/// at the first chunk that holds one (a request of 100,000 unknown ids costs one chunk's
/// queries, not all of them).
async fn member_types(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, &'static str)>> {
    let mut kinds: BTreeMap<Uuid, &'static str> = BTreeMap::new();
    let resolve = |kinds: &BTreeMap<Uuid, &'static str>, ids: &[Uuid]| -> Result<Vec<(Uuid, &'static str)>> {
        ids.iter()
            .map(|id| {
                if *id == group_id {
                    return Err(StoreError::invalid_value(format!(
                        "group {id} cannot be a member of itself"
                    )));
                }
                kinds.get(id).map(|k| (*id, *k)).ok_or_else(|| {
                    StoreError::invalid_value(format!("member {id} is not a user or group of this tenant"))
                })
            })
            .collect()
    };
    let mut resolved = 0;
    for chunk in ids.chunks(CHUNK) {
        resolved += chunk.len();
        let found: Vec<Uuid> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            // Lock order step 2: a concurrent delete of the user waits for this membership.
            .lock_shared()
            .into_tuple()
            .all(txn)
            .await?;
        kinds.extend(found.into_iter().map(|id| (id, "User")));
        let missing: Vec<Uuid> = chunk.iter().copied().filter(|id| !kinds.contains_key(id)).collect();
        if missing.is_empty() {
            continue;
        }
        let found: Vec<Uuid> = groups::Entity::find()
            .select_only()
            .column(groups::Column::Id)
            .filter(groups::Column::TenantId.eq(tenant_id))
            .filter(groups::Column::Id.is_in(missing))
            .lock_shared()
            .into_tuple()
            .all(txn)
            .await?;
        kinds.extend(found.into_iter().map(|id| (id, "Group")));
        if chunk.iter().any(|id| !kinds.contains_key(id)) {
            // The first problem in request order lies among the ids read so far.
            resolve(&kinds, ids.get(..resolved).unwrap_or(ids))?;
        }
    }
    resolve(&kinds, ids)
}

/// Which of `ids` are members of the group now (reads only those ids, never the whole list).
async fn present(txn: &DatabaseTransaction, group_id: Uuid, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<Uuid> = group_members::Entity::find()
            .select_only()
            .column(group_members::Column::MemberId)
            .filter(group_members::Column::GroupId.eq(group_id))
            .filter(group_members::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

async fn all_members(txn: &DatabaseTransaction, group_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(group_members::Entity::find()
        .select_only()
        .column(group_members::Column::MemberId)
        .filter(group_members::Column::GroupId.eq(group_id))
        .into_tuple()
        .all(txn)
        .await?)
}

/// Adds members; returns the ids that were not members before.
async fn add_uuids(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let typed = member_types(txn, tenant_id, group_id, ids).await?;
    let already = present(txn, group_id, ids).await?;
    let new: Vec<(Uuid, &str)> = typed.into_iter().filter(|(id, _)| !already.contains(id)).collect();
    for chunk in new.chunks(CHUNK) {
        let rows = chunk.iter().map(|(id, kind)| group_members::ActiveModel {
            tenant_id: Set(tenant_id),
            group_id: Set(group_id),
            member_id: Set(*id),
            member_type: Set((*kind).to_owned()),
        });
        // Adding an existing member succeeds (docs/idp/notes.md B1.6, B7); a concurrent add of the
        // same member is absorbed the same way.
        group_members::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([group_members::Column::GroupId, group_members::Column::MemberId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(new.into_iter().map(|(id, _)| id).collect())
}

/// Removes members; returns the ids that were members.
async fn remove_uuids(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let was = present(txn, group_id, ids).await?;
    let gone: Vec<Uuid> = ids.iter().copied().filter(|id| was.contains(id)).collect();
    for chunk in gone.chunks(CHUNK) {
        group_members::Entity::delete_many()
            .filter(group_members::Column::TenantId.eq(tenant_id))
            .filter(group_members::Column::GroupId.eq(group_id))
            .filter(group_members::Column::MemberId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(gone)
}

/// The net effect of a request's member changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberDelta {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

impl MemberDelta {
    fn add(&mut self, ids: Vec<Uuid>) {
        for id in ids {
            match self.removed.iter().position(|r| *r == id) {
                Some(i) => {
                    self.removed.remove(i);
                }
                None => self.added.push(id),
            }
        }
    }

    fn remove(&mut self, ids: Vec<Uuid>) {
        for id in ids {
            match self.added.iter().position(|a| *a == id) {
                Some(i) => {
                    self.added.remove(i);
                }
                None => self.removed.push(id),
            }
        }
    }
}

pub async fn apply_member_changes(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    group_id: Uuid,
    changes: &[MemberChange],
) -> Result<MemberDelta> {
    let mut delta = MemberDelta::default();
    for change in changes {
        match change {
            MemberChange::Add(ids) => {
                let ids = parse_member_ids(ids)?;
                delta.add(add_uuids(txn, tenant_id, group_id, &ids).await?);
            }
            MemberChange::Remove(ids) => {
                // Ids that name nothing cannot be members: removing a non-member succeeds.
                let ids: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id.trim()).ok()).collect();
                delta.remove(remove_uuids(txn, tenant_id, group_id, &ids).await?);
            }
            MemberChange::RemoveAll => {
                let current = all_members(txn, group_id).await?;
                delta.remove(remove_uuids(txn, tenant_id, group_id, &current).await?);
            }
            MemberChange::Replace(ids) => {
                // Only the difference is written: members that stay are untouched.
                let wanted = parse_member_ids(ids)?;
                let wanted_set: HashSet<Uuid> = wanted.iter().copied().collect();
                let current = all_members(txn, group_id).await?;
                let current_set: HashSet<Uuid> = current.iter().copied().collect();
                let leave: Vec<Uuid> = current.into_iter().filter(|id| !wanted_set.contains(id)).collect();
                let join: Vec<Uuid> = wanted.into_iter().filter(|id| !current_set.contains(id)).collect();
                delta.remove(remove_uuids(txn, tenant_id, group_id, &leave).await?);
                delta.add(add_uuids(txn, tenant_id, group_id, &join).await?);
            }
        }
    }
    Ok(delta)
}

/// The tenant's group (other than `except`) whose name is `name` ignoring case, if any; groups
/// marked `name_shared` by migration 000012 count too.
async fn name_holder(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<Option<Uuid>> {
    let mut q = groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::DisplayNameKey.eq(ci_key(name)));
    if let Some(id) = except {
        q = q.filter(groups::Column::Id.ne(id));
    }
    Ok(q.into_tuple().one(txn).await?)
}

/// 409 `uniqueness` naming the group that holds the name, so the IdP's admin can find it.
fn name_taken(name: &str, holder: Option<Uuid>) -> StoreError {
    StoreError::uniqueness(match holder {
        Some(other) => format!(
            "displayName {name:?} is already taken by group {other} (group names are unique per tenant, ignoring case)"
        ),
        None => format!(
            "displayName {name:?} was taken by another group at the same moment (group names are unique per tenant, ignoring case)"
        ),
    })
}

/// Refuses `name` when another group of the tenant holds it.
async fn check_name_free(txn: &DatabaseTransaction, tenant_id: Uuid, name: &str, except: Option<Uuid>) -> Result<()> {
    match name_holder(txn, tenant_id, name, except).await? {
        Some(other) => Err(name_taken(name, Some(other))),
        None => Ok(()),
    }
}

pub async fn create(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    spec: &GroupSpec,
    member_ids: &[String],
    id_source: &dyn IdSource,
    now: i64,
) -> Result<(Group, Vec<Uuid>)> {
    validate(spec)?;
    check_name_free(txn, tenant_id, &spec.display_name, None).await?;
    let model = groups::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        display_name: Set(spec.display_name.clone()),
        display_name_key: Set(ci_key(&spec.display_name)),
        name_shared: Set(false),
        external_id: Set(spec.external_id.clone()),
        document: Set(document(spec)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            name_taken(&spec.display_name, None)
        } else {
            e.into()
        }
    })?;
    let ids = parse_member_ids(member_ids)?;
    let added = add_uuids(txn, tenant_id, model.id, &ids).await?;
    Ok((model.into(), added))
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<Group> {
    Ok(row(db, tenant_id, id).await?.into())
}

/// The group's row, with the stored columns the domain does not see (its name key).
async fn row<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<groups::Model> {
    groups::Entity::find_by_id(id)
        .filter(groups::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("group {id} not found")))
}

/// Locks the group's row for the rest of the transaction (step 1 of the lock order in
/// `store`); a missing group is left to the caller's own lookup to report.
pub async fn lock(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid) -> Result<()> {
    groups::Entity::find_by_id(id)
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::TenantId.eq(tenant_id))
        .lock_exclusive()
        .into_tuple::<Uuid>()
        .one(txn)
        .await?;
    Ok(())
}

fn check_version(current: &Group, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current.version => Err(StoreError::version_mismatch(format!(
            "group {} is at version {}, not {v}",
            current.id, current.version
        ))),
        _ => Ok(()),
    }
}

/// Updates attributes (when `spec` is given) and members, bumping the version once; returns
/// the group before and after, and the net member changes.
pub async fn update(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    spec: Option<&GroupSpec>,
    changes: &[MemberChange],
    expected_version: Option<i64>,
    now: i64,
) -> Result<(Group, Group, MemberDelta)> {
    let current = row(txn, tenant_id, id).await?;
    let name_key = current.display_name_key.clone();
    let current = Group::from(current);
    check_version(&current, expected_version)?;
    let mut update = groups::Entity::update_many()
        .col_expr(groups::Column::Version, Expr::col(groups::Column::Version).add(1))
        .col_expr(groups::Column::UpdatedAt, Expr::val(now));
    if let Some(spec) = spec {
        validate(spec)?;
        // A rename claims the new name; keeping the name (in any case) keeps the group's claim,
        // also for a group that shares its name since migration 000012.
        let key = ci_key(&spec.display_name);
        if key != name_key {
            check_name_free(txn, tenant_id, &spec.display_name, Some(id)).await?;
            update = update
                .col_expr(groups::Column::DisplayNameKey, Expr::val(key))
                .col_expr(groups::Column::NameShared, Expr::val(false));
        }
        update = update
            .col_expr(groups::Column::DisplayName, Expr::val(spec.display_name.clone()))
            .col_expr(groups::Column::ExternalId, Expr::val(spec.external_id.clone()))
            .col_expr(groups::Column::Document, Expr::val(document(spec)?));
    }
    let result = update
        .filter(groups::Column::Id.eq(id))
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::Version.eq(current.version))
        .exec(txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(spec.map_or("", |s| s.display_name.as_str()), None)
            } else {
                e.into()
            }
        })?;
    if result.rows_affected == 0 {
        return Err(StoreError::version_mismatch(format!("group {id} changed concurrently")));
    }
    let delta = apply_member_changes(txn, tenant_id, id, changes).await?;
    let after = get(txn, tenant_id, id).await?;
    Ok((current, after, delta))
}

pub async fn delete(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> Result<Group> {
    let current = get(txn, tenant_id, id).await?;
    check_version(&current, expected_version)?;
    // Its own member rows, and its rows as a member of other groups.
    group_members::Entity::delete_many()
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(
            group_members::Column::GroupId
                .eq(id)
                .or(group_members::Column::MemberId.eq(id)),
        )
        .exec(txn)
        .await?;
    groups::Entity::delete_many()
        .filter(groups::Column::Id.eq(id))
        .filter(groups::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok(current)
}

/// One page of the tenant's groups matching `filter`, by offset or after `page_token`; returns
/// the total, the page, and the token of the next page when more rows follow.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: Page,
    page_token: Option<&str>,
) -> Result<(u64, Paged<Group>)> {
    let backend = db.get_database_backend();
    let query_id = keyset::fingerprint(&[&Target::Groups, &tenant_id, &filter, &sort]);
    let start = match page_token.filter(|t| !t.is_empty()) {
        Some(t) => Start::After(
            keyset::decode(t, &query_id)?.checked(
                sort.map(|s| filter::sort_key_kind(backend, Target::Groups, s))
                    .transpose()?,
            )?,
        ),
        None => Start::Offset(page.offset()),
    };
    let mut query = groups::Entity::find().filter(groups::Column::TenantId.eq(tenant_id));
    if let Some(f) = filter {
        query = query.filter(filter::condition(backend, Target::Groups, f)?);
    }
    if page.count == 0 {
        return Ok((query.count(db).await?, Paged::empty()));
    }
    let key = sort
        .map(|s| filter::sort_expr(backend, Target::Groups, s))
        .transpose()?;
    let descending = sort.is_some_and(|s| s.descending);
    let order = SeekOrder::new(backend, key, descending, groups::Column::Id.into_expr());
    let (total, rows) = keyset::paged_and_total(db, query, &order, start, page.count, &query_id).await?;
    Ok((total, rows.map(Group::from)))
}

/// How many members each of `group_ids` has (visible or not: an upper bound for a listing),
/// counted without reading them.
pub async fn member_counts<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    group_ids: &[Uuid],
) -> Result<BTreeMap<Uuid, u64>> {
    let mut out = BTreeMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let gm = Alias::new("group_members");
    let select = Query::select()
        .column((gm.clone(), Alias::new("group_id")))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(gm.clone())
        .and_where(Expr::col((gm.clone(), Alias::new("tenant_id"))).eq(tenant_id))
        .and_where(Expr::col((gm.clone(), Alias::new("group_id"))).is_in(group_ids.iter().copied()))
        .group_by_col((gm, Alias::new("group_id")))
        .to_owned();
    for row in db.query_all(&select).await? {
        let group_id: Uuid = row.try_get("", "group_id")?;
        let n: i64 = row.try_get("", "n")?;
        out.insert(group_id, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// Members of the given groups with their display names, in one query.
pub async fn members_of<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    group_ids: &[Uuid],
    visible: Visibility,
) -> Result<BTreeMap<Uuid, Vec<MemberRow>>> {
    let mut out: BTreeMap<Uuid, Vec<MemberRow>> = BTreeMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let select = member_select(tenant_id, group_ids, visible);
    for row in db.query_all(&select).await? {
        let group_id: Uuid = row.try_get("", "group_id")?;
        out.entry(group_id).or_default().push(member_row(&row)?);
    }
    Ok(out)
}

/// Members of `group_ids` with their display names (a user's displayName, else its userName;
/// a group's displayName), ordered by member id; user members `visible` does not see are
/// left out (a SCIM connection never learns of native users it may not adopt).
fn member_select(tenant_id: Uuid, group_ids: &[Uuid], visible: Visibility) -> SelectStatement {
    let gm = Alias::new("gm");
    let u = Alias::new("u");
    let g = Alias::new("g");
    let mut select = Query::select();
    if let Some(condition) = crate::adoption::condition(visible) {
        let seen = Query::select()
            .expr(Expr::val(1))
            .from(users::Entity)
            .and_where(Expr::col((users::Entity, users::Column::Id)).equals((gm.clone(), Alias::new("member_id"))))
            .and_where(condition)
            .to_owned();
        select.and_where(
            Expr::col((gm.clone(), Alias::new("member_type")))
                .ne("User")
                .or(Expr::exists(seen)),
        );
    }
    select
        .column((gm.clone(), Alias::new("group_id")))
        .column((gm.clone(), Alias::new("member_id")))
        .column((gm.clone(), Alias::new("member_type")))
        .expr_as(
            Expr::cust("COALESCE(\"u\".\"display_name\", \"u\".\"user_name\", \"g\".\"display_name\")"),
            Alias::new("display"),
        )
        .from_as(Alias::new("group_members"), gm.clone())
        .join_as(
            JoinType::LeftJoin,
            Alias::new("users"),
            u.clone(),
            Expr::col((u.clone(), Alias::new("id"))).equals((gm.clone(), Alias::new("member_id"))),
        )
        .join_as(
            JoinType::LeftJoin,
            Alias::new("groups"),
            g.clone(),
            Expr::col((g.clone(), Alias::new("id"))).equals((gm.clone(), Alias::new("member_id"))),
        )
        .and_where(Expr::col((gm.clone(), Alias::new("tenant_id"))).eq(tenant_id))
        .and_where(Expr::col((gm.clone(), Alias::new("group_id"))).is_in(group_ids.iter().copied()))
        .order_by((gm.clone(), Alias::new("member_id")), sea_orm::Order::Asc)
        .to_owned()
}

fn member_row(row: &QueryResult) -> Result<MemberRow> {
    Ok(MemberRow {
        id: row.try_get("", "member_id")?,
        member_type: row.try_get("", "member_type")?,
        display: row.try_get("", "display")?,
    })
}

/// Up to `limit` members of a group after member id `after`, in member-id order: one keyset
/// query over the membership table's primary key, however large the group.
pub async fn members_after<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    group_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
    visible: Visibility,
) -> Result<Vec<MemberRow>> {
    let mut select = member_select(tenant_id, &[group_id], visible);
    if let Some(after) = after {
        select.and_where(Expr::col((Alias::new("gm"), Alias::new("member_id"))).gt(after));
    }
    select.limit(limit);
    db.query_all(&select).await?.iter().map(member_row).collect()
}

/// Tokens of a group's member pages are valid for that group only.
fn members_query(tenant_id: Uuid, group_id: Uuid) -> String {
    keyset::fingerprint(&[&"members", &tenant_id, &group_id])
}

/// The token of the member page after member `after` (a caller that ends a page early).
pub fn members_token(tenant_id: Uuid, group_id: Uuid, after: Uuid) -> String {
    keyset::encode(&members_query(tenant_id, group_id), &Cursor { key: None, id: after })
}

/// One page of a group's members after `page_token`, and the next page's token when more follow.
pub async fn members_page<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    group_id: Uuid,
    page_token: Option<&str>,
    count: u64,
) -> Result<(Vec<MemberRow>, Option<String>)> {
    let query_id = members_query(tenant_id, group_id);
    let after = page_token
        .filter(|t| !t.is_empty())
        .map(|t| keyset::decode(t, &query_id))
        .transpose()?
        .map(|c| c.id);
    get(db, tenant_id, group_id).await?;
    let mut rows = members_after(db, tenant_id, group_id, after, count.saturating_add(1), Visibility::All).await?;
    let more = rows.len() as u64 > count;
    rows.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    let next = match rows.last() {
        Some(last) if more => Some(keyset::encode(&query_id, &Cursor { key: None, id: last.id })),
        _ => None,
    };
    Ok((rows, next))
}

/// One page of the groups `user_id` is a direct member of, by group id, after `page_token`.
pub async fn user_groups<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    user_id: Uuid,
    page_token: Option<&str>,
    count: u64,
) -> Result<(Vec<Group>, Option<String>)> {
    let query_id = keyset::fingerprint(&[&"user_groups", &tenant_id, &user_id]);
    let start = match page_token.filter(|t| !t.is_empty()) {
        Some(t) => Start::After(keyset::decode(t, &query_id)?),
        None => Start::Offset(0),
    };
    super::users::get(db, tenant_id, user_id).await?;
    let memberships = Query::select()
        .column(group_members::Column::GroupId)
        .from(group_members::Entity)
        .and_where(group_members::Column::TenantId.eq(tenant_id))
        .and_where(group_members::Column::MemberId.eq(user_id))
        .to_owned();
    let query = groups::Entity::find()
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::Id.in_subquery(memberships));
    let order = SeekOrder::by_id(groups::Column::Id.into_expr());
    let (rows, next) = keyset::page(db, query, &order, start, count).await?;
    let rows = rows.into_iter().map(Group::from).collect();
    Ok((rows, next.map(|c| keyset::encode(&query_id, &c))))
}

/// The display names of the tenant's groups among `ids` (for listings of group mappings).
pub async fn display_names<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>> {
    Ok(groups::Entity::find()
        .select_only()
        .columns([groups::Column::Id, groups::Column::DisplayName])
        .filter(groups::Column::TenantId.eq(tenant_id))
        .filter(groups::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The users (not groups) that are direct members of group `group_id`: whom a change of the
/// group's role or license mapping moves.
pub(crate) async fn user_member_ids(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(group_members::Entity::find()
        .select_only()
        .column(group_members::Column::MemberId)
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(group_members::Column::GroupId.eq(group_id))
        .filter(group_members::Column::MemberType.eq("User"))
        .into_tuple()
        .all(txn)
        .await?)
}
