//! License tiers, group mappings, users' licenses, purchases and settings: the reads the rules
//! in `dirsync_domain::licenses` decide on and the writes that carry out their decisions.
//!
//! Every change that moves seats takes the tenant row's lock first and counts after it, so two
//! core replicas never hand out the same seat. Recomputing is set-based, by chunks of ids.

use std::collections::{BTreeSet, HashMap, HashSet};

use dirsync_domain::User;
use sea_orm::sea_query::{Expr, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::groups::MemberDelta;
use super::is_unique_violation;
use crate::entity::{
    group_members, license_mappings, license_purchases, license_settings, license_tiers, user_licenses, users,
};
use crate::error::{Result, StoreError};
use crate::journal::Event;
use dirsync_domain::ids::{IdSource, SharedIds};
use dirsync_domain::licenses::{
    self as rules, Before, Catalog, Ledger, Purchase, Seats, Settings, Settlement, State, Tier, Unbilled,
};

/// Ids per statement: well under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 1000;

pub async fn settings<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Settings> {
    Ok(license_settings::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .map_or_else(Settings::default, |s| Settings {
            auto_purchase: s.auto_purchase,
            billing_window_seconds: s.billing_window_seconds,
            source: rules::Source::parse(&s.source),
            default_tier: s.default_tier_id,
        }))
}

/// Stores the settings; the default tier, when set, must be one of the tenant's tiers.
pub async fn set_settings(txn: &DatabaseTransaction, tenant_id: Uuid, s: Settings) -> Result<()> {
    rules::validate_window(s.billing_window_seconds)?;
    rules::validate_source(&s)?;
    if let Some(tier) = s.default_tier {
        get(txn, tenant_id, tier).await?;
    }
    license_settings::Entity::insert(license_settings::ActiveModel {
        tenant_id: Set(tenant_id),
        auto_purchase: Set(s.auto_purchase),
        billing_window_seconds: Set(s.billing_window_seconds),
        source: Set(s.source.as_str().to_owned()),
        default_tier_id: Set(s.default_tier),
    })
    .on_conflict(
        OnConflict::column(license_settings::Column::TenantId)
            .update_columns([
                license_settings::Column::AutoPurchase,
                license_settings::Column::BillingWindowSeconds,
                license_settings::Column::Source,
                license_settings::Column::DefaultTierId,
            ])
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The tenant's tiers, lowest rank first.
pub async fn list<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<Tier>> {
    Ok(license_tiers::Entity::find()
        .filter(license_tiers::Column::TenantId.eq(tenant_id))
        .order_by_asc(license_tiers::Column::Rank)
        .order_by_asc(license_tiers::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Tier::from)
        .collect())
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<Tier> {
    Ok(row(db, tenant_id, id).await?.into())
}

async fn row<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<license_tiers::Model> {
    license_tiers::Entity::find_by_id(id)
        .filter(license_tiers::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("license tier {id} not found")))
}

/// The tenant's tiers, mappings and settings; one read when it has no tiers.
pub async fn catalog<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Catalog> {
    let tiers = list(db, tenant_id).await?;
    if tiers.is_empty() {
        return Ok(Catalog::default());
    }
    let mappings: Vec<(Uuid, Uuid)> = license_mappings::Entity::find()
        .select_only()
        .columns([license_mappings::Column::GroupId, license_mappings::Column::TierId])
        .filter(license_mappings::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Catalog::new(
        settings(db, tenant_id).await?,
        tiers,
        mappings.into_iter().collect(),
    ))
}

/// Seats held and awaited per tier, with each tier's capacity.
pub async fn seats<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<HashMap<Uuid, Seats>> {
    let mut out: HashMap<Uuid, Seats> = list(db, tenant_id)
        .await?
        .into_iter()
        .map(|t| {
            (
                t.id,
                Seats {
                    capacity: t.seats,
                    ..Default::default()
                },
            )
        })
        .collect();
    let rows: Vec<(Uuid, String, i64)> = user_licenses::Entity::find()
        .select_only()
        .column(user_licenses::Column::TierId)
        .column(user_licenses::Column::State)
        .column_as(Expr::expr(Func::count(Expr::col(user_licenses::Column::UserId))), "n")
        .filter(user_licenses::Column::TenantId.eq(tenant_id))
        .group_by(user_licenses::Column::TierId)
        .group_by(user_licenses::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    for (tier, state, n) in rows {
        let s = out.entry(tier).or_default();
        match State::parse(&state) {
            State::Assigned => s.assigned += n,
            State::Pending => s.pending += n,
        }
    }
    Ok(out)
}

/// A tier as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSpec {
    pub name: String,
    pub rank: i32,
    pub seats: i64,
}

fn name_taken(name: &str) -> StoreError {
    StoreError::uniqueness(format!("a license tier named {name:?} already exists in this tenant"))
}

pub async fn create(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    spec: &TierSpec,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<Tier> {
    rules::validate_tier(&spec.name, spec.seats)?;
    super::admin::get_tenant(txn, tenant_id).await?;
    license_tiers::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(tenant_id),
        name: Set(spec.name.clone()),
        rank: Set(spec.rank),
        seats: Set(spec.seats),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map(Tier::from)
    .map_err(|e| {
        if is_unique_violation(&e) {
            name_taken(&spec.name)
        } else {
            e.into()
        }
    })
}

/// Replaces a tier's name, rank and seats (refusing fewer seats than are held); returns it
/// before and after. The caller recomputes the licenses.
pub async fn update(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid, spec: &TierSpec) -> Result<(Tier, Tier)> {
    rules::validate_tier(&spec.name, spec.seats)?;
    super::lock_tenant(txn, tenant_id).await?;
    let before = row(txn, tenant_id, id).await?;
    let held = seats(txn, tenant_id).await?.get(&id).copied().unwrap_or_default();
    if spec.seats < held.assigned {
        return Err(rules::seats_in_use(&before.name, spec.seats, held.assigned).into());
    }
    let mut row: license_tiers::ActiveModel = before.clone().into();
    row.name = Set(spec.name.clone());
    row.rank = Set(spec.rank);
    row.seats = Set(spec.seats);
    let after = row.update(txn).await.map_err(|e| {
        if is_unique_violation(&e) {
            name_taken(&spec.name)
        } else {
            e.into()
        }
    })?;
    Ok((before.into(), after.into()))
}

/// Deletes a tier nobody holds or awaits, with its group mappings.
pub async fn delete(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid) -> Result<Tier> {
    super::lock_tenant(txn, tenant_id).await?;
    let tier = get(txn, tenant_id, id).await?;
    let held = seats(txn, tenant_id).await?.get(&id).copied().unwrap_or_default();
    if held.assigned > 0 || held.pending > 0 {
        return Err(rules::tier_in_use(&tier.name, held.assigned, held.pending).into());
    }
    let mut s = settings(txn, tenant_id).await?;
    if s.default_tier == Some(id) {
        if s.source == rules::Source::Default {
            return Err(StoreError::license_in_use(format!(
                "license tier {:?} is the default tier every active user gets; choose another \
                 default tier or license source first",
                tier.name
            )));
        }
        s.default_tier = None;
        set_settings(txn, tenant_id, s).await?;
    }
    license_mappings::Entity::delete_many()
        .filter(license_mappings::Column::TenantId.eq(tenant_id))
        .filter(license_mappings::Column::TierId.eq(id))
        .exec(txn)
        .await?;
    license_tiers::Entity::delete_many()
        .filter(license_tiers::Column::TenantId.eq(tenant_id))
        .filter(license_tiers::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(tier)
}

pub use crate::group_mappings::Mapping;

pub async fn mappings<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Vec<Mapping>> {
    crate::group_mappings::list::<license_mappings::Entity, C>(db, tenant_id).await
}

/// Maps a group of the tenant to a tier of the tenant, replacing the group's mapping.
pub async fn map_group(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid, tier_id: Uuid) -> Result<Mapping> {
    let group = super::groups::get(txn, tenant_id, group_id).await?;
    get(txn, tenant_id, tier_id).await?;
    crate::group_mappings::map::<license_mappings::Entity>(txn, group, tier_id).await
}

/// Removes a group's mapping; returns whether it had one.
pub async fn unmap_group(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<bool> {
    crate::group_mappings::unmap::<license_mappings::Entity>(txn, tenant_id, group_id).await
}

/// A recompute in progress: the domain's seat ledger over the seats counted under the lock,
/// and the rows its decisions write.
struct Work<'a> {
    tenant_id: Uuid,
    ledger: Ledger<'a>,
    now: i64,
}

/// A purchase row as the ledger decided it.
fn purchase_row(tenant_id: Uuid, p: Purchase) -> license_purchases::ActiveModel {
    license_purchases::ActiveModel {
        id: Set(p.id),
        tenant_id: Set(tenant_id),
        tier_id: Set(p.tier_id),
        tier_name: Set(p.tier_name),
        user_id: Set(Some(p.user_id)),
        user_name: Set(p.user_name),
        purchased_at: Set(p.purchased_at),
        cancelled_at: Set(None),
        billed_at: Set(None),
        billing_id: Set(None),
    }
}

impl<'a> Work<'a> {
    async fn start(
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        catalog: &'a Catalog,
        id_source: &SharedIds,
        now: i64,
    ) -> Result<Work<'a>> {
        super::lock_tenant(txn, tenant_id).await?;
        let seats = seats(txn, tenant_id).await?;
        Ok(Work {
            tenant_id,
            ledger: Ledger::new(catalog, seats, id_source.clone(), now),
            now,
        })
    }

    /// Serves each tier's queue from its free seats (buying the rest with auto-purchase on),
    /// nets out unbilled purchases whose seats this change left free, and writes capacities.
    async fn settle(mut self, txn: &DatabaseTransaction) -> Result<Vec<Event>> {
        let catalog = self.ledger.catalog();
        for tier in catalog.tiers() {
            let (promote, buy) = self.ledger.to_promote(tier.id);
            if promote + buy > 0 {
                let queue: Vec<(Uuid, i64)> = user_licenses::Entity::find()
                    .select_only()
                    .columns([user_licenses::Column::UserId, user_licenses::Column::Since])
                    .filter(user_licenses::Column::TenantId.eq(self.tenant_id))
                    .filter(user_licenses::Column::TierId.eq(tier.id))
                    .filter(user_licenses::Column::State.eq(State::Pending.as_str()))
                    .order_by_asc(user_licenses::Column::Since)
                    .order_by_asc(user_licenses::Column::UserId)
                    .limit(u64::try_from(promote + buy).unwrap_or_default())
                    .into_tuple()
                    .all(txn)
                    .await?;
                let ids: Vec<Uuid> = queue.iter().map(|(id, _)| *id).collect();
                let names = user_names(txn, self.tenant_id, &ids).await?;
                let mut purchases = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    let name = names.get(id).map_or("", String::as_str);
                    let bought = i64::try_from(i).unwrap_or(i64::MAX) >= promote;
                    if let Some(p) = self.ledger.promote(tier, *id, name, bought) {
                        purchases.push(purchase_row(self.tenant_id, p));
                    }
                }
                if !ids.is_empty() {
                    user_licenses::Entity::update_many()
                        .col_expr(user_licenses::Column::State, Expr::val(State::Assigned.as_str()))
                        .col_expr(user_licenses::Column::Since, Expr::val(self.now))
                        .filter(user_licenses::Column::TenantId.eq(self.tenant_id))
                        .filter(user_licenses::Column::UserId.is_in(ids))
                        .exec(txn)
                        .await?;
                }
                if !purchases.is_empty() {
                    license_purchases::Entity::insert_many(purchases)
                        .exec_without_returning(txn)
                        .await?;
                }
            }
            let (freed, _) = self.ledger.freed(tier.id);
            if freed > 0 {
                self.net_out(txn, tier, freed).await?;
            }
            let capacity = self.ledger.capacity(tier);
            if capacity != tier.seats {
                license_tiers::Entity::update_many()
                    .col_expr(license_tiers::Column::Seats, Expr::val(capacity))
                    .filter(license_tiers::Column::TenantId.eq(self.tenant_id))
                    .filter(license_tiers::Column::Id.eq(tier.id))
                    .exec(txn)
                    .await?;
            }
        }
        Ok(self.ledger.into_events())
    }

    /// Cancels unbilled purchases of `tier` for seats this change freed and nobody took:
    /// those bought for the users who released them first, then the newest.
    async fn net_out(&mut self, txn: &DatabaseTransaction, tier: &Tier, freed: i64) -> Result<()> {
        let free = self.ledger.seats(tier.id).free();
        if free == 0 {
            return Ok(());
        }
        let open: Vec<(Uuid, Option<Uuid>, String)> = license_purchases::Entity::find()
            .select_only()
            .columns([
                license_purchases::Column::Id,
                license_purchases::Column::UserId,
                license_purchases::Column::UserName,
            ])
            .filter(license_purchases::Column::TenantId.eq(self.tenant_id))
            .filter(license_purchases::Column::TierId.eq(tier.id))
            .filter(license_purchases::Column::BilledAt.is_null())
            .filter(license_purchases::Column::CancelledAt.is_null())
            .order_by_desc(license_purchases::Column::PurchasedAt)
            .order_by_desc(license_purchases::Column::Id)
            .into_tuple()
            .all(txn)
            .await?;
        let n = rules::to_cancel(free, freed, i64::try_from(open.len()).unwrap_or(i64::MAX));
        let released: HashSet<Uuid> = self.ledger.freed(tier.id).1.iter().copied().collect();
        let mut chosen: Vec<&(Uuid, Option<Uuid>, String)> = open
            .iter()
            .filter(|(_, u, _)| u.is_some_and(|u| released.contains(&u)))
            .collect();
        chosen.extend(
            open.iter()
                .filter(|(_, u, _)| !u.is_some_and(|u| released.contains(&u))),
        );
        chosen.truncate(usize::try_from(n).unwrap_or_default());
        if chosen.is_empty() {
            return Ok(());
        }
        for (id, _, user_name) in &chosen {
            self.ledger.cancel(tier, *id, user_name);
        }
        license_purchases::Entity::update_many()
            .col_expr(license_purchases::Column::CancelledAt, Expr::val(self.now))
            .filter(license_purchases::Column::TenantId.eq(self.tenant_id))
            .filter(license_purchases::Column::Id.is_in(chosen.iter().map(|(id, _, _)| *id)))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Recomputes the licenses of `ids` (at most [`CHUNK`]; non-users are skipped): releases
    /// first, so a seat one user leaves can serve the queue before newcomers are decided.
    async fn chunk(&mut self, txn: &DatabaseTransaction, ids: &[Uuid]) -> Result<()> {
        let tenant_id = self.tenant_id;
        let facts: Vec<(Uuid, String, bool)> = users::Entity::find()
            .select_only()
            .columns([users::Column::Id, users::Column::UserName, users::Column::Active])
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(users::Column::Id)
            .into_tuple()
            .all(txn)
            .await?;
        let rows: Vec<(Uuid, Uuid)> = group_members::Entity::find()
            .select_only()
            .columns([group_members::Column::MemberId, group_members::Column::GroupId])
            .filter(group_members::Column::TenantId.eq(tenant_id))
            .filter(group_members::Column::MemberId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        let mut mapped: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (member, group) in rows {
            if let Some(tier) = self.ledger.catalog().mapped_tier(group) {
                mapped.entry(member).or_default().push(tier);
            }
        }
        let attributes: HashMap<Uuid, String> = if self.ledger.catalog().settings.source == rules::Source::Attribute {
            users::Entity::find()
                .select_only()
                .columns([users::Column::Id, users::Column::Document])
                .filter(users::Column::TenantId.eq(tenant_id))
                .filter(users::Column::Id.is_in(ids.iter().copied()))
                .into_tuple::<(Uuid, serde_json::Value)>()
                .all(txn)
                .await?
                .into_iter()
                .filter_map(|(id, doc)| tier_attribute(&doc).map(|v| (id, v.to_owned())))
                .collect()
        } else {
            HashMap::new()
        };
        let current: HashMap<Uuid, (Uuid, State)> = user_licenses::Entity::find()
            .filter(user_licenses::Column::TenantId.eq(tenant_id))
            .filter(user_licenses::Column::UserId.is_in(ids.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|r| (r.user_id, (r.tier_id, State::parse(&r.state))))
            .collect();

        let catalog = self.ledger.catalog();
        let mut moving = Vec::new();
        let mut cleared = Vec::new();
        for (id, user_name, active) in &facts {
            let wanted = catalog
                .wanted(
                    *active,
                    mapped.get(id).map_or(&[], Vec::as_slice),
                    attributes.get(id).map(String::as_str),
                )
                .map(|t| t.id);
            let held = current.get(id).copied();
            if held.map(|(t, _)| t) == wanted {
                continue;
            }
            if let Some((tier, state)) = held {
                self.ledger.release(*id, tier, state);
            }
            let before = Before {
                tier: held.and_then(|(t, _)| catalog.get(t)),
                state: held.map(|(_, s)| s),
            };
            match wanted {
                Some(tier) => moving.push((*id, user_name.as_str(), before, tier)),
                None => {
                    cleared.push(*id);
                    self.ledger.cleared(*id, user_name, before);
                }
            }
        }
        let mut upserts = Vec::new();
        let mut purchases = Vec::new();
        for (id, user_name, before, tier_id) in moving {
            let Some(tier) = catalog.get(tier_id) else { continue };
            let (state, purchase) = self.ledger.place(id, user_name, before, tier);
            purchases.extend(purchase.map(|p| purchase_row(tenant_id, p)));
            upserts.push(user_licenses::ActiveModel {
                tenant_id: Set(tenant_id),
                user_id: Set(id),
                tier_id: Set(tier_id),
                state: Set(state.as_str().to_owned()),
                since: Set(self.now),
            });
        }
        if !cleared.is_empty() {
            user_licenses::Entity::delete_many()
                .filter(user_licenses::Column::TenantId.eq(tenant_id))
                .filter(user_licenses::Column::UserId.is_in(cleared))
                .exec(txn)
                .await?;
        }
        if !upserts.is_empty() {
            user_licenses::Entity::insert_many(upserts)
                .on_conflict(
                    OnConflict::column(user_licenses::Column::UserId)
                        .update_columns([
                            user_licenses::Column::TierId,
                            user_licenses::Column::State,
                            user_licenses::Column::Since,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        if !purchases.is_empty() {
            license_purchases::Entity::insert_many(purchases)
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }
}

async fn user_names(txn: &DatabaseTransaction, tenant_id: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    Ok(users::Entity::find()
        .select_only()
        .columns([users::Column::Id, users::Column::UserName])
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(Uuid, String)>()
        .all(txn)
        .await?
        .into_iter()
        .collect())
}

/// Recomputes the licenses of the users among `ids` under the tenant's lock, then serves the
/// queues and nets out purchases; returns the events.
async fn reassign(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    catalog: &Catalog,
    ids: &[Uuid],
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    let ids: Vec<Uuid> = ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let mut work = Work::start(txn, tenant_id, catalog, id_source, now).await?;
    for chunk in ids.chunks(CHUNK) {
        work.chunk(txn, chunk).await?;
    }
    work.settle(txn).await
}

/// Whether the tenant defines a tier (the cheap check before any lock is taken).
async fn has_tiers<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<bool> {
    Ok(license_tiers::Entity::find()
        .filter(license_tiers::Column::TenantId.eq(tenant_id))
        .count(db)
        .await?
        > 0)
}

/// A user's `licenseTier` (source `attribute`).
fn tier_attribute(document: &serde_json::Value) -> Option<&str> {
    dirsync_domain::schemas::extension_value(document, rules::LICENSE_TIER_ATTRIBUTE)
}

/// After a user was created or replaced: (de)activation releases or retakes its seat; with
/// source `attribute` a new or changed `licenseTier` moves it, with source `default` a new
/// user takes the default tier. (With source `groups` a new user is in no group yet.)
pub async fn after_user_write(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    before: Option<&User>,
    after: &User,
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    let activation = before.is_some_and(|b| b.active != after.active);
    let source_may_move = || async {
        Ok::<_, StoreError>(match settings(txn, tenant_id).await?.source {
            rules::Source::Groups => false,
            rules::Source::Default => before.is_none(),
            rules::Source::Attribute => {
                before.is_none_or(|b| tier_attribute(&b.document) != tier_attribute(&after.document))
            }
        })
    };
    if !activation && !source_may_move().await? {
        return Ok(Vec::new());
    }
    if !has_tiers(txn, tenant_id).await? {
        return Ok(Vec::new());
    }
    let catalog = catalog(txn, tenant_id).await?;
    reassign(txn, tenant_id, &catalog, &[after.id], id_source, now).await
}

/// A deleted user's license, read before the deletion takes it.
#[derive(Debug, Clone)]
pub struct Gone {
    user_id: Uuid,
    user_name: String,
    tier: Uuid,
    state: State,
}

/// Before a user is deleted: the license it holds or awaits, if any.
pub async fn before_user_delete(txn: &DatabaseTransaction, tenant_id: Uuid, user_id: Uuid) -> Result<Option<Gone>> {
    let Some(row) = user_licenses::Entity::find_by_id(user_id)
        .filter(user_licenses::Column::TenantId.eq(tenant_id))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let user = super::users::get(txn, tenant_id, user_id).await?;
    Ok(Some(Gone {
        user_id,
        user_name: user.user_name,
        tier: row.tier_id,
        state: State::parse(&row.state),
    }))
}

/// After a user was deleted: its seat goes to the first pending user, or its unbilled
/// purchase is cancelled.
pub async fn after_user_deleted(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    gone: Option<Gone>,
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    let Some(gone) = gone else { return Ok(Vec::new()) };
    let catalog = catalog(txn, tenant_id).await?;
    // The row went with the user (foreign key); deleting it here too keeps the counts exact
    // whatever the store did, and the counts below no longer include it.
    user_licenses::Entity::delete_many()
        .filter(user_licenses::Column::TenantId.eq(tenant_id))
        .filter(user_licenses::Column::UserId.eq(gone.user_id))
        .exec(txn)
        .await?;
    let mut work = Work::start(txn, tenant_id, &catalog, id_source, now).await?;
    if gone.state == State::Assigned {
        work.ledger.freed_by(gone.user_id, gone.tier);
    }
    let before = Before {
        tier: catalog.get(gone.tier),
        state: Some(gone.state),
    };
    work.ledger.cleared(gone.user_id, &gone.user_name, before);
    work.settle(txn).await
}

/// After a group's members changed: the licenses of the users who joined or left it, when it
/// is mapped to a tier.
pub async fn after_members_changed(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    group_id: Uuid,
    delta: &MemberDelta,
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    if delta.added.is_empty() && delta.removed.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = catalog(txn, tenant_id).await?;
    if !catalog.is_mapped(group_id) {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = delta.added.iter().chain(&delta.removed).copied().collect();
    reassign(txn, tenant_id, &catalog, &ids, id_source, now).await
}

/// The members whose licenses a group's deletion may change: read before it is deleted (its
/// memberships and mapping go with it); empty unless it is mapped.
pub async fn before_group_delete(txn: &DatabaseTransaction, tenant_id: Uuid, group_id: Uuid) -> Result<Vec<Uuid>> {
    let mapped = license_mappings::Entity::find()
        .filter(license_mappings::Column::TenantId.eq(tenant_id))
        .filter(license_mappings::Column::GroupId.eq(group_id))
        .count(txn)
        .await?;
    if mapped == 0 {
        return Ok(Vec::new());
    }
    super::groups::user_member_ids(txn, tenant_id, group_id).await
}

/// After a mapped group was deleted: the licenses of its former members.
pub async fn after_group_deleted(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    members: &[Uuid],
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = catalog(txn, tenant_id).await?;
    reassign(txn, tenant_id, &catalog, members, id_source, now).await
}

pub use crate::group_mappings::Scope;

/// After an operator changed the license configuration: recomputes the users in `scope` and
/// serves every tier's queue, in the change's transaction.
pub async fn reassign_after_config(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    scope: Scope,
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    let catalog = catalog(txn, tenant_id).await?;
    let ids: Vec<Uuid> = match scope {
        Scope::Group(group_id) => super::groups::user_member_ids(txn, tenant_id, group_id).await?,
        // Every user may hold a license by attribute or default: all of them.
        Scope::Tenant if catalog.settings.source != rules::Source::Groups => {
            users::Entity::find()
                .select_only()
                .column(users::Column::Id)
                .filter(users::Column::TenantId.eq(tenant_id))
                .into_tuple::<Uuid>()
                .all(txn)
                .await?
        }
        Scope::Tenant => {
            let mapped = Query::select()
                .column(license_mappings::Column::GroupId)
                .from(license_mappings::Entity)
                .and_where(license_mappings::Column::TenantId.eq(tenant_id))
                .to_owned();
            let mut ids: BTreeSet<Uuid> = group_members::Entity::find()
                .select_only()
                .column(group_members::Column::MemberId)
                .filter(group_members::Column::TenantId.eq(tenant_id))
                .filter(group_members::Column::MemberType.eq("User"))
                .filter(group_members::Column::GroupId.in_subquery(mapped))
                .distinct()
                .into_tuple::<Uuid>()
                .all(txn)
                .await?
                .into_iter()
                .collect();
            ids.extend(
                user_licenses::Entity::find()
                    .select_only()
                    .column(user_licenses::Column::UserId)
                    .filter(user_licenses::Column::TenantId.eq(tenant_id))
                    .into_tuple::<Uuid>()
                    .all(txn)
                    .await?,
            );
            ids.into_iter().collect()
        }
    };
    reassign(txn, tenant_id, &catalog, &ids, id_source, now).await
}

/// A user's license as the product reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub tier: String,
    pub state: State,
}

/// The licenses of the users among `ids` (users without one are left out).
pub async fn held<C: ConnectionTrait>(db: &C, tenant_id: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, Held>> {
    let tiers: HashMap<Uuid, String> = list(db, tenant_id).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let mut out = HashMap::new();
    if tiers.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(CHUNK) {
        let rows = user_licenses::Entity::find()
            .filter(user_licenses::Column::TenantId.eq(tenant_id))
            .filter(user_licenses::Column::UserId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for r in rows {
            if let Some(name) = tiers.get(&r.tier_id) {
                out.insert(
                    r.user_id,
                    Held {
                        tier: name.clone(),
                        state: State::parse(&r.state),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Which purchases ListPurchases returns: all, or those in one `licenses::PurchaseState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseFilter {
    All,
    State(rules::PurchaseState),
}

/// The tenant's purchases, newest first.
pub async fn purchases<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    filter: PurchaseFilter,
    limit: u64,
) -> Result<Vec<license_purchases::Model>> {
    let mut q = license_purchases::Entity::find().filter(license_purchases::Column::TenantId.eq(tenant_id));
    q = match filter {
        PurchaseFilter::All => q,
        // The same states as `PurchaseState::of`: a billing id bills, a cancellation nets out.
        PurchaseFilter::State(rules::PurchaseState::Billed) => {
            q.filter(license_purchases::Column::BillingId.is_not_null())
        }
        PurchaseFilter::State(rules::PurchaseState::Cancelled) => q
            .filter(license_purchases::Column::CancelledAt.is_not_null())
            .filter(license_purchases::Column::BillingId.is_null()),
        PurchaseFilter::State(rules::PurchaseState::Open) => q
            .filter(license_purchases::Column::CancelledAt.is_null())
            .filter(license_purchases::Column::BillingId.is_null()),
    };
    Ok(q.order_by_desc(license_purchases::Column::PurchasedAt)
        .order_by_desc(license_purchases::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Tenants with unbilled purchases, with the time of the first one.
pub async fn unbilled_tenants<C: ConnectionTrait>(db: &C) -> Result<Vec<(Uuid, i64)>> {
    Ok(license_purchases::Entity::find()
        .select_only()
        .column(license_purchases::Column::TenantId)
        .column_as(
            Expr::expr(Func::min(Expr::col(license_purchases::Column::PurchasedAt))),
            "first",
        )
        .filter(license_purchases::Column::BilledAt.is_null())
        .group_by(license_purchases::Column::TenantId)
        .into_tuple()
        .all(db)
        .await?)
}

/// Bills a tenant's purchases whose window has passed at `now`: marks them billed (cancelled
/// ones settled without a bill) and returns the `billing.due` event, unless every purchase of
/// the window was netted out. Takes the tenant's lock, so no purchase is billed twice.
pub async fn bill(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<Option<Bill>> {
    super::lock_tenant(txn, tenant_id).await?;
    let window = settings(txn, tenant_id).await?.billing_window_seconds;
    let first: Option<i64> = license_purchases::Entity::find()
        .select_only()
        .column_as(
            Expr::expr(Func::min(Expr::col(license_purchases::Column::PurchasedAt))),
            "first",
        )
        .filter(license_purchases::Column::TenantId.eq(tenant_id))
        .filter(license_purchases::Column::BilledAt.is_null())
        .into_tuple::<Option<i64>>()
        .one(txn)
        .await?
        .flatten();
    let Some(start) = first else { return Ok(None) };
    let end = rules::billing_window_end(start, window);
    if now < end {
        return Ok(None);
    }
    let rows = license_purchases::Entity::find()
        .filter(license_purchases::Column::TenantId.eq(tenant_id))
        .filter(license_purchases::Column::BilledAt.is_null())
        .filter(license_purchases::Column::PurchasedAt.lt(end))
        .order_by_asc(license_purchases::Column::PurchasedAt)
        .order_by_asc(license_purchases::Column::Id)
        .all(txn)
        .await?;
    let unbilled: Vec<Unbilled> = rows
        .into_iter()
        .map(|p| Unbilled {
            id: p.id,
            tier_id: p.tier_id,
            tier_name: p.tier_name,
            user_id: p.user_id,
            user_name: p.user_name,
            cancelled: p.cancelled_at.is_some(),
        })
        .collect();
    let Settlement {
        billing_id,
        billed,
        cancelled,
        billed_users,
        event,
    } = rules::settle(&unbilled, start, end, id_source);
    if !cancelled.is_empty() {
        license_purchases::Entity::update_many()
            .col_expr(license_purchases::Column::BilledAt, Expr::val(now))
            .filter(license_purchases::Column::TenantId.eq(tenant_id))
            .filter(license_purchases::Column::Id.is_in(cancelled.iter().copied()))
            .exec(txn)
            .await?;
    }
    let Some(event) = event else {
        return Ok(None);
    };
    license_purchases::Entity::update_many()
        .col_expr(license_purchases::Column::BilledAt, Expr::val(now))
        .col_expr(license_purchases::Column::BillingId, Expr::val(billing_id))
        .filter(license_purchases::Column::TenantId.eq(tenant_id))
        .filter(license_purchases::Column::Id.is_in(billed))
        .exec(txn)
        .await?;
    // The connections whose users the seats were bought for: each gets a sync-log line.
    let mut connections: Vec<Uuid> = Vec::new();
    for chunk in billed_users.chunks(CHUNK) {
        let found: Vec<Option<Uuid>> = users::Entity::find()
            .select_only()
            .column(users::Column::ConnectionId)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        connections.extend(found.into_iter().flatten());
    }
    connections.sort();
    connections.dedup();
    Ok(Some(Bill {
        id: billing_id,
        event,
        connections,
    }))
}

/// A tenant's bill: its `billing.due` change and the connections whose users it bought for.
#[derive(Debug, Clone)]
pub struct Bill {
    pub id: Uuid,
    pub event: Event,
    pub connections: Vec<Uuid>,
}
