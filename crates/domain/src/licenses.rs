//! Licenses: which tier each user is licensed for, and whether it holds a seat, waits for one
//! or has one bought. The decisions are made here, on counts the store reads under the tenant
//! row's lock (`store::licenses`), so they can be tested without a database.
//!
//! - A tenant defines tiers (a rank and a seat capacity each) and maps IdP groups to them. An
//!   active user in several license groups is licensed for the lowest-ranked tier; in none, or
//!   deactivated, for none (a deactivated user keeps its memberships but releases its seat).
//! - A user takes a free seat of its tier unless others wait for one (first come, first
//!   served). With no free seat, auto-purchase buys one (capacity +1, a purchase row); without
//!   it, the user's license is pending until a seat frees up.
//! - A freed seat goes to the tier's first pending user; with nobody waiting, an unbilled
//!   purchase of the tier is cancelled instead (capacity -1): a user created and deleted within
//!   the billing window costs nothing.
//! - Purchases are billed per tenant, as one `billing.due` event, a window after the first
//!   unbilled one.
//! - The IdP's facts are always stored: seats never make a SCIM request fail.

use std::collections::HashMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::ids::{IdSource, SharedIds};

/// A license tier of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Case-sensitive, unique per tenant.
    pub name: String,
    /// Lower is the cheaper tier: a user in several license groups gets the lowest.
    pub rank: i32,
    /// Capacity: the operator's seat count plus the seats bought since.
    pub seats: i64,
    pub created_at: i64,
}

/// Change-feed event URIs of licenses.
pub mod uri {
    pub const LICENSE_ASSIGNED: &str = "urn:dirsync:event:license:assigned";
    pub const LICENSE_PENDING: &str = "urn:dirsync:event:license:pending";
    pub const LICENSE_RELEASED: &str = "urn:dirsync:event:license:released";
    pub const SEATS_PURCHASED: &str = "urn:dirsync:event:seats:purchased";
    pub const SEATS_CANCELLED: &str = "urn:dirsync:event:seats:cancelled";
    pub const BILLING_DUE: &str = "urn:dirsync:event:billing:due";
}

/// The billing window when a tenant sets none: 30 minutes.
pub const DEFAULT_BILLING_WINDOW_SECONDS: i64 = 30 * 60;
/// The longest billing window: 31 days.
pub const MAX_BILLING_WINDOW_SECONDS: i64 = 31 * 24 * 3600;

/// Whether a user's license holds a seat or waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Assigned,
    Pending,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Assigned => "assigned",
            State::Pending => "pending",
        }
    }

    /// The stored value; anything unknown reads as pending (it holds no seat).
    pub fn parse(s: &str) -> State {
        match s {
            "assigned" => State::Assigned,
            _ => State::Pending,
        }
    }
}

/// The extension attribute naming a user's tier exactly (source `attribute`), under any
/// extension URN, like `userRole` for roles.
pub const LICENSE_TIER_ATTRIBUTE: &str = "licenseTier";

/// Where a tenant's users' tiers come from. Seats, the pending queue and auto-purchase work
/// the same whatever the source; a deactivated user holds no license under any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The lowest-ranked tier among the mapped groups the user is a direct member of.
    #[default]
    Groups,
    /// The tier named exactly (case-sensitively) by the user's `licenseTier` attribute; a
    /// name of no tier licenses nothing (the SCIM write still succeeds).
    Attribute,
    /// The tenant's default tier, for every active user.
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Groups => "groups",
            Source::Attribute => "attribute",
            Source::Default => "default",
        }
    }

    /// The stored value; anything unknown reads as `groups` (the behaviour before sources).
    pub fn parse(s: &str) -> Source {
        match s {
            "attribute" => Source::Attribute,
            "default" => Source::Default,
            _ => Source::Groups,
        }
    }
}

/// A tenant's license settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Buy a seat when a tier is full, instead of queueing the user.
    pub auto_purchase: bool,
    /// How long after the first unbilled purchase the tenant's purchases are billed.
    pub billing_window_seconds: i64,
    pub source: Source,
    /// The tier of every active user with source `default`.
    pub default_tier: Option<Uuid>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_purchase: false,
            billing_window_seconds: DEFAULT_BILLING_WINDOW_SECONDS,
            source: Source::Groups,
            default_tier: None,
        }
    }
}

/// Settings as an operator may set them: the default source needs a default tier.
pub fn validate_source(s: &Settings) -> Result<()> {
    if s.source == Source::Default && s.default_tier.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "the license source \"default\" needs a default tier (default_tier_id)",
        ));
    }
    Ok(())
}

/// Lowest rank first, then the older tier.
fn by_rank(a: &Tier, b: &Tier) -> std::cmp::Ordering {
    a.rank.cmp(&b.rank).then(a.id.cmp(&b.id))
}

/// A tenant's tiers, mappings and settings, read once per transaction.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub settings: Settings,
    /// Lowest rank first.
    tiers: Vec<Tier>,
    /// Group id -> tier id.
    mappings: HashMap<Uuid, Uuid>,
}

impl Catalog {
    pub fn new(settings: Settings, mut tiers: Vec<Tier>, mappings: HashMap<Uuid, Uuid>) -> Self {
        tiers.sort_by(by_rank);
        Catalog {
            settings,
            tiers,
            mappings,
        }
    }

    /// A tenant without tiers licenses nobody: every rule here is then a no-op.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    pub fn get(&self, id: Uuid) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.id == id)
    }

    pub fn is_mapped(&self, group_id: Uuid) -> bool {
        self.mappings.contains_key(&group_id)
    }

    pub fn mapped_tier(&self, group_id: Uuid) -> Option<Uuid> {
        self.mappings.get(&group_id).copied()
    }

    /// The tier a user is licensed for, by the tenant's source (see [`Source`]): none when it
    /// is deactivated. `mapped` are its mapped groups' tiers, `attribute` its `licenseTier`.
    pub fn wanted(&self, active: bool, mapped: &[Uuid], attribute: Option<&str>) -> Option<&Tier> {
        if !active {
            return None;
        }
        match self.settings.source {
            Source::Groups => self.tiers.iter().find(|t| mapped.contains(&t.id)),
            Source::Attribute => attribute.and_then(|name| self.tiers.iter().find(|t| t.name == name)),
            Source::Default => self.settings.default_tier.and_then(|id| self.get(id)),
        }
    }
}

/// A tier's seats as counted under the tenant's lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seats {
    pub capacity: i64,
    pub assigned: i64,
    pub pending: i64,
}

impl Seats {
    pub fn free(&self) -> i64 {
        (self.capacity - self.assigned).max(0)
    }
}

/// What happens to a user who newly wants a tier's seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A free seat, and nobody waiting before the user.
    Assign,
    /// Full (or others wait) and auto-purchase is on: a seat is bought for the user.
    Buy,
    /// Full (or others wait) and auto-purchase is off: the user queues.
    Pend,
}

pub fn decide(seats: &Seats, auto_purchase: bool) -> Decision {
    if seats.free() > 0 && seats.pending == 0 {
        Decision::Assign
    } else if auto_purchase {
        Decision::Buy
    } else {
        Decision::Pend
    }
}

/// After seats changed: how many pending users take a free seat, and how many more get one
/// bought (all the rest, with auto-purchase on).
pub fn fill(seats: &Seats, auto_purchase: bool) -> (i64, i64) {
    let promote = seats.free().min(seats.pending);
    let buy = if auto_purchase { seats.pending - promote } else { 0 };
    (promote, buy)
}

/// A seat bought for a user, as a recompute decided it (the store writes the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub id: Uuid,
    pub tier_id: Uuid,
    pub tier_name: String,
    pub user_id: Uuid,
    pub user_name: String,
    pub purchased_at: i64,
}

/// The seat book of one recompute: each tier's seats as counted under the tenant's lock,
/// changed as users are placed, released, promoted and purchases cancelled, with the events
/// those decisions make. The store reads the facts and writes what the ledger decided.
#[derive(Debug)]
pub struct Ledger<'a> {
    catalog: &'a Catalog,
    seats: HashMap<Uuid, Seats>,
    /// Seats released per tier by this change (for netting out purchases).
    freed: HashMap<Uuid, i64>,
    /// Users who released a seat, per tier: their own purchase is netted out first.
    released: HashMap<Uuid, Vec<Uuid>>,
    events: Vec<Event>,
    ids: SharedIds,
    now: i64,
}

impl<'a> Ledger<'a> {
    pub fn new(catalog: &'a Catalog, seats: HashMap<Uuid, Seats>, ids: SharedIds, now: i64) -> Self {
        Ledger {
            catalog,
            seats,
            freed: HashMap::new(),
            released: HashMap::new(),
            events: Vec::new(),
            ids,
            now,
        }
    }

    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    /// A tier's seats as they stand now.
    pub fn seats(&self, tier: Uuid) -> Seats {
        self.seats.get(&tier).copied().unwrap_or_default()
    }

    /// A tier's capacity now (the tier's stored seats when nothing counted it).
    pub fn capacity(&self, tier: &Tier) -> i64 {
        self.seats.get(&tier.id).map_or(tier.seats, |s| s.capacity)
    }

    fn seats_of(&mut self, tier: Uuid) -> &mut Seats {
        self.seats.entry(tier).or_default()
    }

    /// Seats of `tier` released by this change, and the users who released them (in order).
    pub fn freed(&self, tier: Uuid) -> (i64, &[Uuid]) {
        (
            self.freed.get(&tier).copied().unwrap_or_default(),
            self.released.get(&tier).map_or(&[], Vec::as_slice),
        )
    }

    /// Counts a user's current license out of its tier.
    pub fn release(&mut self, user_id: Uuid, tier: Uuid, state: State) {
        let s = self.seats_of(tier);
        match state {
            State::Assigned => {
                s.assigned -= 1;
                self.freed_by(user_id, tier);
            }
            State::Pending => s.pending -= 1,
        }
    }

    /// Notes a seat freed by a user whose license is already gone from the counts.
    pub fn freed_by(&mut self, user_id: Uuid, tier: Uuid) {
        *self.freed.entry(tier).or_default() += 1;
        self.released.entry(tier).or_default().push(user_id);
    }

    /// A user's license is gone (deactivated, out of every license group).
    pub fn cleared(&mut self, user_id: Uuid, user_name: &str, before: Before<'_>) {
        self.events.push(Event::license_released(user_id, user_name, before));
    }

    /// Buys one seat of `tier` for a user.
    fn buy(&mut self, tier: &Tier, user_id: Uuid, user_name: &str) -> Purchase {
        let s = self.seats_of(tier.id);
        let before = s.capacity;
        s.capacity += 1;
        let id = self.ids.new_id();
        self.events
            .push(Event::seats_purchased(tier, before, id, user_id, user_name));
        Purchase {
            id,
            tier_id: tier.id,
            tier_name: tier.name.clone(),
            user_id,
            user_name: user_name.to_owned(),
            purchased_at: self.now,
        }
    }

    /// Places a user who newly wants a seat of `tier`: a free seat, a bought one, or the
    /// queue ([`decide`]). Returns its state and the purchase, if one was made.
    pub fn place(
        &mut self,
        user_id: Uuid,
        user_name: &str,
        before: Before<'_>,
        tier: &Tier,
    ) -> (State, Option<Purchase>) {
        let decision = decide(&self.seats(tier.id), self.catalog.settings.auto_purchase);
        let purchase = (decision == Decision::Buy).then(|| self.buy(tier, user_id, user_name));
        let s = self.seats_of(tier.id);
        if decision == Decision::Pend {
            s.pending += 1;
            self.events
                .push(Event::license_pending(user_id, user_name, before, tier));
            (State::Pending, purchase)
        } else {
            s.assigned += 1;
            self.events
                .push(Event::license_assigned(user_id, user_name, before, tier));
            (State::Assigned, purchase)
        }
    }

    /// How many of `tier`'s queue get a seat now: (free seats taken, seats bought) ([`fill`]).
    pub fn to_promote(&self, tier: Uuid) -> (i64, i64) {
        fill(&self.seats(tier), self.catalog.settings.auto_purchase)
    }

    /// A queued user takes a seat (`bought`: one bought for it).
    pub fn promote(&mut self, tier: &Tier, user_id: Uuid, user_name: &str, bought: bool) -> Option<Purchase> {
        let purchase = bought.then(|| self.buy(tier, user_id, user_name));
        let s = self.seats_of(tier.id);
        s.pending -= 1;
        s.assigned += 1;
        let before = Before {
            tier: Some(tier),
            state: Some(State::Pending),
        };
        self.events
            .push(Event::license_assigned(user_id, user_name, before, tier));
        purchase
    }

    /// An unbilled purchase of `tier` is cancelled: its seat goes.
    pub fn cancel(&mut self, tier: &Tier, purchase_id: Uuid, user_name: &str) {
        let s = self.seats_of(tier.id);
        let before = s.capacity;
        s.capacity -= 1;
        self.events
            .push(Event::seats_cancelled(tier, before, purchase_id, user_name));
    }

    /// The events of every decision, in the order they were made.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}

/// How many unbilled purchases of a tier to cancel after `freed` of its seats were released
/// and the queue was served: the seats that stay free, up to what was bought and not billed.
pub fn to_cancel(free_after_fill: i64, freed: i64, unbilled: i64) -> i64 {
    free_after_fill.min(freed).min(unbilled).max(0)
}

/// Where a purchase stands (licenses.proto documents the set). `billed_at` is the billing
/// job's settlement time: it settles cancelled purchases too, without a bill, so only a
/// billing id makes a purchase billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    Open,
    Cancelled,
    Billed,
}

impl PurchaseState {
    pub fn of(cancelled_at: Option<i64>, billing_id: Option<Uuid>) -> PurchaseState {
        match (cancelled_at, billing_id) {
            (_, Some(_)) => PurchaseState::Billed,
            (Some(_), None) => PurchaseState::Cancelled,
            (None, None) => PurchaseState::Open,
        }
    }
}

/// When a tenant's purchases are billed: `window` seconds after the first unbilled one.
pub fn billing_window_end(first_unbilled_at: i64, window_seconds: i64) -> i64 {
    first_unbilled_at.saturating_add(window_seconds.saturating_mul(1000))
}

/// A tier as a caller asks for it.
pub fn validate_tier(name: &str, seats: i64) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "a license tier name must not be empty",
        ));
    }
    if seats < 0 {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("tier {name:?}: seats must be 0 or more, not {seats}"),
        ));
    }
    Ok(())
}

pub fn validate_window(seconds: i64) -> Result<()> {
    if !(1..=MAX_BILLING_WINDOW_SECONDS).contains(&seconds) {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("the billing window must be between 1 and {MAX_BILLING_WINDOW_SECONDS} seconds, not {seconds}"),
        ));
    }
    Ok(())
}

fn users(n: i64) -> String {
    format!("{n} user{}", if n == 1 { "" } else { "s" })
}

/// The refusal of a seat count below the seats held.
pub fn seats_in_use(tier: &str, seats: i64, assigned: i64) -> Error {
    Error::new(
        ErrorKind::LicenseInUse,
        format!(
            "tier {tier:?} cannot have {seats} seats: {} hold one; release seats first (nothing was changed)",
            users(assigned)
        ),
    )
}

/// The refusal to delete a tier someone holds or waits for.
pub fn tier_in_use(tier: &str, assigned: i64, pending: i64) -> Error {
    Error::new(
        ErrorKind::LicenseInUse,
        format!(
            "tier {tier:?} is held by {} and awaited by {}; unmap its groups or move those users first \
         (nothing was changed)",
            users(assigned),
            users(pending)
        ),
    )
}

fn tier_view(t: &Tier) -> Value {
    json!({"id": t.id, "name": t.name, "rank": t.rank})
}

/// A user's license as events show it.
fn license_view(tier: Option<&Tier>, state: Option<State>) -> Value {
    match (tier, state) {
        (Some(t), Some(s)) => json!({"tier": tier_view(t), "state": s.as_str()}),
        _ => Value::Null,
    }
}

fn license_name(tier: Option<&Tier>, state: Option<State>) -> String {
    match (tier, state) {
        (Some(t), Some(State::Assigned)) => format!("tier {}", t.name),
        (Some(t), Some(State::Pending)) => format!("pending tier {}", t.name),
        _ => "no license".into(),
    }
}

/// A user's license before a change: its tier and state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Before<'a> {
    pub tier: Option<&'a Tier>,
    pub state: Option<State>,
}

impl Event {
    /// A user took a seat (first license, a move, or its turn in the queue).
    pub fn license_assigned(user_id: Uuid, user_name: &str, before: Before<'_>, after: &Tier) -> Event {
        Event {
            kind: "license.assigned",
            uri: uri::LICENSE_ASSIGNED,
            resource_type: "User",
            resource_id: user_id,
            data: json!({
                "userId": user_id,
                "userName": user_name,
                "before": license_view(before.tier, before.state),
                "after": license_view(Some(after), Some(State::Assigned)),
            }),
            summary: format!(
                "assigned license tier {} to {user_name} (was {})",
                after.name,
                license_name(before.tier, before.state)
            ),
        }
    }

    /// A user waits for a seat of a full tier.
    pub fn license_pending(user_id: Uuid, user_name: &str, before: Before<'_>, after: &Tier) -> Event {
        Event {
            kind: "license.pending",
            uri: uri::LICENSE_PENDING,
            resource_type: "User",
            resource_id: user_id,
            data: json!({
                "userId": user_id,
                "userName": user_name,
                "before": license_view(before.tier, before.state),
                "after": license_view(Some(after), Some(State::Pending)),
            }),
            summary: format!(
                "license tier {} pending for {user_name}: no free seat (was {})",
                after.name,
                license_name(before.tier, before.state)
            ),
        }
    }

    /// A user holds no license any more (deactivated, out of every license group, deleted).
    pub fn license_released(user_id: Uuid, user_name: &str, before: Before<'_>) -> Event {
        Event {
            kind: "license.released",
            uri: uri::LICENSE_RELEASED,
            resource_type: "User",
            resource_id: user_id,
            data: json!({
                "userId": user_id,
                "userName": user_name,
                "before": license_view(before.tier, before.state),
                "after": Value::Null,
            }),
            summary: format!(
                "released {user_name}'s license (was {})",
                license_name(before.tier, before.state)
            ),
        }
    }

    /// Auto-purchase bought a seat for a user.
    pub fn seats_purchased(
        tier: &Tier,
        capacity_before: i64,
        purchase_id: Uuid,
        user_id: Uuid,
        user_name: &str,
    ) -> Event {
        Event {
            kind: "seats.purchased",
            uri: uri::SEATS_PURCHASED,
            resource_type: "LicenseTier",
            resource_id: tier.id,
            data: json!({
                "tier": tier_view(tier),
                "purchaseId": purchase_id,
                "userId": user_id,
                "userName": user_name,
                "seats": {"before": capacity_before, "after": capacity_before + 1},
            }),
            summary: format!(
                "bought 1 {} seat for {user_name} (capacity {capacity_before} -> {})",
                tier.name,
                capacity_before + 1
            ),
        }
    }

    /// An unbilled purchase was netted out: its seat was freed again within the window.
    pub fn seats_cancelled(tier: &Tier, capacity_before: i64, purchase_id: Uuid, user_name: &str) -> Event {
        Event {
            kind: "seats.cancelled",
            uri: uri::SEATS_CANCELLED,
            resource_type: "LicenseTier",
            resource_id: tier.id,
            data: json!({
                "tier": tier_view(tier),
                "purchaseId": purchase_id,
                "userName": user_name,
                "seats": {"before": capacity_before, "after": capacity_before - 1},
            }),
            summary: format!(
                "cancelled the unbilled {} seat bought for {user_name} (capacity {capacity_before} -> {})",
                tier.name,
                capacity_before - 1
            ),
        }
    }
}

/// One tier's line of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub tier_id: Uuid,
    pub tier_name: String,
    /// (user id, user name) of each seat bought and not cancelled.
    pub users: Vec<(Option<Uuid>, String)>,
}

/// The lines of a bill from its purchases (tier id, tier name, user id, user name, cancelled):
/// cancelled purchases are netted out, tiers without a seat left are left out.
pub fn bill_lines(purchases: &[(Uuid, String, Option<Uuid>, String, bool)]) -> Vec<BillLine> {
    let mut lines: Vec<BillLine> = Vec::new();
    for (tier_id, tier_name, user_id, user_name, cancelled) in purchases {
        if *cancelled {
            continue;
        }
        match lines.iter_mut().find(|l| l.tier_id == *tier_id) {
            Some(line) => line.users.push((*user_id, user_name.clone())),
            None => lines.push(BillLine {
                tier_id: *tier_id,
                tier_name: tier_name.clone(),
                users: vec![(*user_id, user_name.clone())],
            }),
        }
    }
    lines
}

/// An unbilled purchase of a billing window, as the billing job reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbilled {
    pub id: Uuid,
    pub tier_id: Uuid,
    pub tier_name: String,
    pub user_id: Option<Uuid>,
    pub user_name: String,
    pub cancelled: bool,
}

/// What billing one window decides: cancelled purchases are settled without a bill; the rest
/// are billed under one new billing id, with one `billing.due` event (none when nothing is
/// left to bill).
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub billing_id: Uuid,
    pub billed: Vec<Uuid>,
    pub cancelled: Vec<Uuid>,
    /// The users the billed seats were bought for.
    pub billed_users: Vec<Uuid>,
    pub event: Option<Event>,
}

/// Settles the unbilled purchases of the window `[start, end)`, in purchase order.
pub fn settle(purchases: &[Unbilled], start: i64, end: i64, ids: &dyn IdSource) -> Settlement {
    let facts: Vec<(Uuid, String, Option<Uuid>, String, bool)> = purchases
        .iter()
        .map(|p| {
            (
                p.tier_id,
                p.tier_name.clone(),
                p.user_id,
                p.user_name.clone(),
                p.cancelled,
            )
        })
        .collect();
    let lines = bill_lines(&facts);
    let (cancelled, billed): (Vec<&Unbilled>, Vec<&Unbilled>) = purchases.iter().partition(|p| p.cancelled);
    let billing_id = ids.new_id();
    let event =
        (!billed.is_empty()).then(|| Event::billing_due(billing_id, start, end, &lines, cancelled.len() as u64));
    Settlement {
        billing_id,
        billed: billed.iter().map(|p| p.id).collect(),
        cancelled: cancelled.iter().map(|p| p.id).collect(),
        billed_users: billed.iter().filter_map(|p| p.user_id).collect(),
        event,
    }
}

impl Event {
    /// A tenant's purchases of one billing window are due.
    pub fn billing_due(
        billing_id: Uuid,
        window_start: i64,
        window_end: i64,
        lines: &[BillLine],
        cancelled: u64,
    ) -> Event {
        let tiers: Vec<Value> = lines
            .iter()
            .map(|l| {
                json!({
                    "tierId": l.tier_id,
                    "tierName": l.tier_name,
                    "seats": l.users.len(),
                    "users": l.users.iter().map(|(id, name)| json!({"id": id, "userName": name})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let parts: Vec<String> = lines
            .iter()
            .map(|l| {
                format!(
                    "{} {} seat{}",
                    l.users.len(),
                    l.tier_name,
                    if l.users.len() == 1 { "" } else { "s" }
                )
            })
            .collect();
        Event {
            kind: "billing.due",
            uri: uri::BILLING_DUE,
            resource_type: "Billing",
            resource_id: billing_id,
            data: json!({
                "billingId": billing_id,
                "windowStart": window_start,
                "windowEnd": window_end,
                "tiers": tiers,
                "cancelledPurchases": cancelled,
            }),
            summary: format!("billing due: {}", parts.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(n: u128, name: &str, rank: i32) -> Tier {
        Tier {
            id: Uuid::from_u128(n),
            tenant_id: Uuid::nil(),
            name: name.into(),
            rank,
            seats: 1,
            created_at: 0,
        }
    }

    const STARTER: u128 = 1;
    const TEAM: u128 = 2;
    const ENTERPRISE: u128 = 3;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Ids counting up from 100, so purchases are predictable.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicU64);

    impl crate::ids::IdSource for Counting {
        fn new_id(&self) -> Uuid {
            Uuid::from_u128(100 + u128::from(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
        }
    }

    /// A window's purchases: cancelled ones are settled without a bill; the rest billed under
    /// one id, with one event, and none when nothing is left to bill.
    #[test]
    fn settling_a_window_bills_what_was_not_cancelled() {
        let purchase = |n: u128, cancelled: bool| Unbilled {
            id: id(n),
            tier_id: id(TEAM),
            tier_name: "Team".into(),
            user_id: Some(id(50 + n)),
            user_name: format!("u{n}"),
            cancelled,
        };
        // (cancelled flags, billed, cancelled, an event)
        let cases: [(&[bool], usize, usize, bool); 3] = [
            (&[false, true, false], 2, 1, true),
            (&[true, true], 0, 2, false),
            (&[false], 1, 0, true),
        ];
        for (flags, billed, cancelled, event) in cases {
            let purchases: Vec<Unbilled> = flags.iter().enumerate().map(|(n, c)| purchase(n as u128, *c)).collect();
            let s = settle(&purchases, 0, 1000, &Counting::default());
            assert_eq!(
                (s.billed.len(), s.cancelled.len(), s.event.is_some()),
                (billed, cancelled, event),
                "{flags:?}"
            );
            assert_eq!(s.billing_id, Uuid::from_u128(100));
            assert_eq!(s.billed_users.len(), billed);
            if let Some(e) = s.event {
                assert_eq!((e.kind, e.resource_id), ("billing.due", s.billing_id));
            }
        }
    }

    /// Three users want a one-seat tier, then the first leaves and the queue is served: the
    /// ledger's counts, states, purchases and events, with and without auto-purchase.
    #[test]
    fn the_ledger_places_releases_and_promotes() {
        // (auto-purchase, states of the three, purchases, capacity, pending after the first left)
        let cases = [
            (false, [State::Assigned, State::Pending, State::Pending], 0, 1, 1),
            (true, [State::Assigned, State::Assigned, State::Assigned], 2, 3, 0),
        ];
        for (auto_purchase, want, bought, capacity, pending_after) in cases {
            let team = tier(TEAM, "Team", 1);
            let settings = Settings {
                auto_purchase,
                ..Default::default()
            };
            let catalog = Catalog::new(settings, vec![team.clone()], HashMap::new());
            let seats = HashMap::from([(
                team.id,
                Seats {
                    capacity: 1,
                    assigned: 0,
                    pending: 0,
                },
            )]);
            let mut ledger = Ledger::new(&catalog, seats, std::sync::Arc::new(Counting::default()), 7);
            let mut purchases = Vec::new();
            for (n, want) in want.iter().enumerate() {
                let (state, p) = ledger.place(id(10 + n as u128), &format!("u{n}"), Before::default(), &team);
                assert_eq!(state, *want, "auto_purchase={auto_purchase} user {n}");
                purchases.extend(p);
            }
            assert_eq!(purchases.len(), bought);
            assert!(purchases.iter().all(|p| p.tier_id == team.id && p.purchased_at == 7));
            assert_eq!(
                purchases.first().map(|p| p.id),
                (bought > 0).then(|| Uuid::from_u128(100))
            );
            assert_eq!(ledger.capacity(&team), capacity);
            ledger.release(id(10), team.id, State::Assigned);
            assert_eq!(ledger.freed(team.id), (1, &[id(10)][..]));
            let (promote, buy) = ledger.to_promote(team.id);
            for n in 0..promote + buy {
                ledger.promote(&team, id(11 + n as u128), "next", n >= promote);
            }
            assert_eq!(
                ledger.seats(team.id).pending,
                pending_after,
                "auto_purchase={auto_purchase}"
            );
            let kinds: Vec<&str> = ledger.into_events().iter().map(|e| e.kind).collect();
            assert_eq!(kinds.iter().filter(|k| **k == "seats.purchased").count(), bought);
            assert_eq!(
                kinds.iter().filter(|k| **k == "license.pending").count(),
                3 - 1 - bought
            );
        }
    }

    #[test]
    fn the_lowest_tier_of_an_active_user_wins() {
        let cat = Catalog::new(
            Settings::default(),
            vec![
                tier(ENTERPRISE, "Enterprise", 30),
                tier(STARTER, "Starter", 10),
                tier(TEAM, "Team", 20),
            ],
            HashMap::new(),
        );
        let cases: [(bool, &[Uuid], Option<&str>); 6] = [
            (true, &[id(ENTERPRISE), id(TEAM)], Some("Team")),
            (true, &[id(TEAM), id(STARTER), id(ENTERPRISE)], Some("Starter")),
            (true, &[id(ENTERPRISE)], Some("Enterprise")),
            (true, &[], None),
            // Deactivated users keep memberships but hold no license.
            (false, &[id(STARTER)], None),
            // An id that names no tier (a tier deleted meanwhile) licenses nothing.
            (true, &[id(99)], None),
        ];
        for (active, mapped, want) in cases {
            assert_eq!(
                cat.wanted(active, mapped, None).map(|t| t.name.as_str()),
                want,
                "{active} {mapped:?}"
            );
        }
    }

    #[test]
    fn equal_ranks_go_to_the_older_tier() {
        let cat = Catalog::new(
            Settings::default(),
            vec![tier(9, "B", 5), tier(7, "A", 5)],
            HashMap::new(),
        );
        assert_eq!(
            cat.wanted(true, &[id(9), id(7)], None).map(|t| t.name.as_str()),
            Some("A")
        );
    }

    #[test]
    fn each_source_names_the_tier() {
        let tiers = || vec![tier(STARTER, "Starter", 10), tier(TEAM, "Team", 20)];
        let with = |source, default_tier| {
            Catalog::new(
                Settings {
                    source,
                    default_tier,
                    ..Settings::default()
                },
                tiers(),
                HashMap::new(),
            )
        };
        let groups = with(Source::Groups, None);
        let attribute = with(Source::Attribute, None);
        let default = with(Source::Default, Some(id(TEAM)));
        let gone = with(Source::Default, Some(id(99)));
        // (catalog, active, mapped tiers, licenseTier, wanted)
        type Case<'a> = (&'a Catalog, bool, &'a [Uuid], Option<&'a str>, Option<&'a str>);
        let cases: [Case; 9] = [
            (&groups, true, &[id(TEAM)], Some("Starter"), Some("Team")),
            (&attribute, true, &[id(TEAM)], Some("Starter"), Some("Starter")),
            (&attribute, true, &[], Some("starter"), None),
            (&attribute, true, &[], None, None),
            (&attribute, false, &[], Some("Team"), None),
            (&default, true, &[id(STARTER)], Some("Starter"), Some("Team")),
            (&default, true, &[], None, Some("Team")),
            (&default, false, &[], None, None),
            (&gone, true, &[], None, None),
        ];
        for (cat, active, mapped, attr, want) in cases {
            assert_eq!(
                cat.wanted(active, mapped, attr).map(|t| t.name.as_str()),
                want,
                "{:?} {active} {mapped:?} {attr:?}",
                cat.settings.source
            );
        }
        assert!(
            validate_source(&Settings {
                source: Source::Default,
                ..Settings::default()
            })
            .is_err()
        );
        for s in [Source::Groups, Source::Attribute, Source::Default] {
            assert_eq!(Source::parse(s.as_str()), s);
        }
    }

    #[test]
    fn a_free_seat_is_taken_unless_others_wait_else_bought_or_queued() {
        let seats = |capacity, assigned, pending| Seats {
            capacity,
            assigned,
            pending,
        };
        let cases = [
            (seats(2, 1, 0), false, Decision::Assign),
            (seats(2, 1, 0), true, Decision::Assign),
            (seats(2, 2, 0), false, Decision::Pend),
            (seats(2, 2, 0), true, Decision::Buy),
            // A freed seat belongs to the first in the queue, not to a newcomer.
            (seats(2, 1, 1), false, Decision::Pend),
            (seats(0, 0, 0), false, Decision::Pend),
            (seats(0, 0, 0), true, Decision::Buy),
            // Over capacity (never written, but counted defensively): no seat is free.
            (seats(1, 3, 0), false, Decision::Pend),
        ];
        for (s, auto, want) in cases {
            assert_eq!(decide(&s, auto), want, "{s:?} auto={auto}");
        }
    }

    #[test]
    fn freed_seats_serve_the_queue_first_then_cancel_unbilled_purchases() {
        let cases = [
            // (capacity, assigned, pending, auto) -> (promote, buy)
            ((3, 1, 5, false), (2, 0)),
            ((3, 1, 1, false), (1, 0)),
            ((3, 3, 2, false), (0, 0)),
            ((3, 3, 2, true), (0, 2)),
            ((3, 2, 4, true), (1, 3)),
            ((3, 1, 0, true), (0, 0)),
        ];
        for ((capacity, assigned, pending, auto), want) in cases {
            let s = Seats {
                capacity,
                assigned,
                pending,
            };
            assert_eq!(fill(&s, auto), want, "{s:?} auto={auto}");
        }
        // (free after fill, seats freed by the change, unbilled purchases) -> cancelled
        for ((free, freed, unbilled), want) in [
            ((1, 1, 1), 1),
            ((0, 1, 1), 0),
            ((3, 1, 2), 1),
            ((3, 2, 1), 1),
            ((2, 0, 2), 0),
        ] {
            assert_eq!(to_cancel(free, freed, unbilled), want, "{free} {freed} {unbilled}");
        }
    }

    #[test]
    fn bills_net_out_cancelled_purchases() {
        let (team, ent) = (id(TEAM), id(ENTERPRISE));
        let u = |n: u128| Some(Uuid::from_u128(100 + n));
        let purchases = vec![
            (team, "Team".to_owned(), u(1), "a".to_owned(), false),
            (ent, "Enterprise".to_owned(), u(2), "b".to_owned(), true),
            (team, "Team".to_owned(), u(3), "c".to_owned(), false),
            (ent, "Enterprise".to_owned(), None, "d".to_owned(), false),
        ];
        let lines = bill_lines(&purchases);
        let got: Vec<(&str, Vec<&str>)> = lines
            .iter()
            .map(|l| (l.tier_name.as_str(), l.users.iter().map(|(_, n)| n.as_str()).collect()))
            .collect();
        assert_eq!(got, [("Team", vec!["a", "c"]), ("Enterprise", vec!["d"])]);
        assert!(
            bill_lines(&purchases[1..2]).is_empty(),
            "a fully netted window bills nothing"
        );
        let e = Event::billing_due(Uuid::nil(), 1_000, 1_801_000, &lines, 1);
        assert_eq!(e.summary, "billing due: 2 Team seats, 1 Enterprise seat");
        assert_eq!(e.data["tiers"][0]["seats"], 2);
        assert_eq!(billing_window_end(1_000, 1800), 1_801_000);
    }

    #[test]
    fn bad_tiers_and_windows_are_refused() {
        for (name, seats, ok) in [
            ("Team", 0, true),
            ("Team", 5, true),
            (" ", 5, false),
            ("Team", -1, false),
        ] {
            assert_eq!(validate_tier(name, seats).is_ok(), ok, "{name:?} {seats}");
        }
        for (window, ok) in [
            (1, true),
            (1800, true),
            (0, false),
            (-5, false),
            (MAX_BILLING_WINDOW_SECONDS + 1, false),
        ] {
            assert_eq!(validate_window(window).is_ok(), ok, "{window}");
        }
        let refusal = seats_in_use("Team", 1, 3);
        assert_eq!(refusal.kind(), ErrorKind::LicenseInUse);
        assert!(refusal.to_string().contains("3 users hold one"), "{refusal}");
    }
}
