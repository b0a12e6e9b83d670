//! The one mutation pipeline. Every write of users and groups, and every other write that adds
//! rows to the change feed, whichever RPC or job starts it, runs through [`Pipeline::run`]
//! (RPCs) or [`Pipeline::transact`] (the billing and invite jobs, which are no user or group
//! writes but journal the same way):
//!
//!   open transaction -> the mutation's steps -> journal (change rows, sync-log lines,
//!   warnings, a job's own sync-log notes) -> commit -> wake this replica's `Watch` streams.
//!
//! The per-entity steps live here too, each written once and run in one fixed order:
//!
//! - user write (create, create over an adoptable user, replace): adoption -> write ->
//!   settings -> roles -> licenses -> warning;
//! - user delete: adoption -> roles -> licenses -> delete -> licenses;
//! - group write (create, replace, patch): write -> roles -> licenses -> members read back;
//! - group delete: roles -> licenses -> delete -> roles -> licenses.
//!
//! A call whose transaction lost to a concurrent one fails with the status that the conflict
//! retry layer (`service::conflicts`) runs again; nothing is notified for it.

use crate::settings::cache::LanguageCache;
use dirsync_domain::{Group, GroupSpec, User, UserSpec};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tonic::Status;
use uuid::Uuid;

use crate::error::{CoreError, ErrorKind, Result};
use crate::journal::{self, Event, RequestContext};
use crate::service::changes::ChangeSignal;
use crate::settings::language::Languages;
use crate::settings::{self as tenant_settings, timezone};
use dirsync_domain::adoption::Takeover;
use dirsync_domain::clock::SharedClock;
use dirsync_domain::hold::{self, Effect};
use dirsync_domain::ids::{IdSource, SharedIds};
use dirsync_domain::roles::Trigger;
use dirsync_store::adoption::{self, Visibility};
use dirsync_store::groups::{MemberChange, MemberRow};
use dirsync_store::holds::{self, Held};
use dirsync_store::users::NewUser;
use dirsync_store::{groups, licenses, roles, sync_log, users};

/// Runs mutations: holds the store, the clock that stamps them, the id source that names the
/// rows they create (every service and job takes it from here) and the signal that wakes
/// `Watch` streams after they commit.
#[derive(Debug, Clone)]
pub struct Pipeline {
    db: DatabaseConnection,
    clock: SharedClock,
    ids: SharedIds,
    signal: ChangeSignal,
    languages: LanguageCache,
}

/// Who made a mutation, as its journal records it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Author {
    /// The SCIM connection that wrote, if an IdP did.
    pub connection_id: Option<Uuid>,
    /// The request it answers (an empty context for the product, operators and jobs).
    pub ctx: RequestContext,
}

impl Author {
    /// The product, an operator or a job: no connection, no SCIM request.
    pub fn system() -> Author {
        Author::default()
    }

    /// Who writes, for the role rules: a call with a connection comes from an IdP over SCIM.
    fn trigger(&self) -> Trigger {
        if self.connection_id.is_some() {
            Trigger::Scim
        } else {
            Trigger::Native
        }
    }
}

/// Events of one author, with an optional warning for the IdP's admin.
#[derive(Debug)]
struct Entry {
    author: Author,
    events: Vec<Event>,
    warning: Option<String>,
}

/// A sync-log line of a job's own, with no change rows: what a job did for one connection.
#[derive(Debug)]
struct Note {
    connection_id: Uuid,
    ctx: RequestContext,
    summary: String,
}

/// What a mutation's steps hand back: the value for the response and what to journal, in order
/// (the entries, then the notes).
#[derive(Debug)]
pub(crate) struct Done<T> {
    value: T,
    journal: Vec<Entry>,
    notes: Vec<Note>,
}

impl<T> Done<T> {
    pub fn new(value: T) -> Self {
        Done {
            value,
            journal: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a sync-log line `summary` for `connection_id` under the job context `ctx`.
    pub fn note(mut self, connection_id: Uuid, ctx: RequestContext, summary: String) -> Self {
        self.notes.push(Note {
            connection_id,
            ctx,
            summary,
        });
        self
    }

    /// Journals `events` as made by `author` (after the entries added before).
    pub fn by(mut self, author: Author, events: Vec<Event>) -> Self {
        self.journal.push(Entry {
            author,
            events,
            warning: None,
        });
        self
    }

    /// The same journal with another value for the response.
    pub fn with<U>(self, value: U) -> Done<U> {
        Done {
            value,
            journal: self.journal,
            notes: self.notes,
        }
    }

    /// Adds a warning for the IdP's admin to the last entry's sync-log line (SCIM writes only).
    fn warning(mut self, warning: Option<String>) -> Self {
        if let Some(last) = self.journal.last_mut() {
            last.warning = warning;
        }
        self
    }
}

/// A user write as the pipeline takes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserWrite<'a> {
    /// A new user; a SCIM create over a native user its connection may adopt takes that over.
    Create(&'a UserSpec),
    /// The whole user `id` replaced.
    Replace {
        id: Uuid,
        spec: &'a UserSpec,
        expected_version: Option<i64>,
    },
}

/// A group write as the pipeline takes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupWrite<'a> {
    Create {
        spec: &'a GroupSpec,
        member_ids: &'a [String],
    },
    /// Attribute and member changes of group `id` (attributes only when `spec` is set).
    Update {
        id: Uuid,
        spec: Option<&'a GroupSpec>,
        changes: &'a [MemberChange],
        expected_version: Option<i64>,
    },
}

/// What a delete removes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deletion {
    User(Uuid),
    Group(Uuid),
}

/// Where a user write lands, decided by the adoption step.
enum Target {
    New,
    Existing {
        id: Uuid,
        /// How the write takes the user over, when it does.
        adopted: Option<Takeover>,
        expected_version: Option<i64>,
    },
}

impl Pipeline {
    pub fn new(db: DatabaseConnection, clock: SharedClock, ids: SharedIds, signal: ChangeSignal) -> Self {
        Self {
            db,
            clock,
            ids,
            signal,
            languages: LanguageCache::default(),
        }
    }

    /// The tenants' languages for reads (see `settings::cache`); settings writes forget theirs.
    pub fn languages(&self) -> &LanguageCache {
        &self.languages
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub fn ids(&self) -> &SharedIds {
        &self.ids
    }

    /// [`Pipeline::transact`] for an RPC: its error as the gRPC status.
    pub(crate) async fn run<T, F>(&self, tenant_id: Uuid, steps: F) -> Result<T, Status>
    where
        F: AsyncFnOnce(&DatabaseTransaction, i64) -> Result<Done<T>>,
    {
        Ok(self.transact(tenant_id, steps).await?)
    }

    /// Runs `steps` in one transaction of tenant `tenant_id` (stamped with one `now`), writes
    /// their journal in order, commits, and wakes `Watch` streams; rolls back on any error.
    pub(crate) async fn transact<T, F>(&self, tenant_id: Uuid, steps: F) -> Result<T>
    where
        F: AsyncFnOnce(&DatabaseTransaction, i64) -> Result<Done<T>>,
    {
        let now = self.clock.now_ms();
        let txn = dirsync_store::begin(&self.db).await?;
        let written = async {
            let done = steps(&txn, now).await?;
            write_journal(&txn, tenant_id, &done, self.ids.as_ref(), now).await?;
            Ok(done.value)
        }
        .await;
        match written {
            Ok(value) => {
                txn.commit().await?;
                self.signal.notify();
                Ok(value)
            }
            Err(e) => {
                txn.rollback().await?;
                Err(e)
            }
        }
    }

    /// Creates or replaces a user; returns it with the tenant's languages (for the response).
    /// A SCIM deactivation the connection's hold keeps back comes back as the IdP sent it.
    pub(crate) async fn write_user(
        &self,
        tenant_id: Uuid,
        author: Author,
        write: UserWrite<'_>,
    ) -> Result<(User, Languages), Status> {
        let spec = match write {
            UserWrite::Create(spec) | UserWrite::Replace { spec, .. } => spec,
        };
        // Never refused for its value; a zone the product cannot use is a warning.
        let warning = timezone::spec_warning(spec);
        self.run(tenant_id, async |txn, now| {
            if let (
                UserWrite::Replace {
                    id, expected_version, ..
                },
                Some(c),
            ) = (write, author.connection_id)
            {
                if spec.active {
                    // A write that keeps or makes the user active takes a held deactivation back.
                    holds::cancel(txn, tenant_id, c, id).await?;
                } else {
                    let current = deprovisioned(txn, tenant_id, c, id, true, expected_version).await?;
                    let gate = gate(
                        txn,
                        tenant_id,
                        &author,
                        &current,
                        Effect::Deactivate,
                        Some(spec),
                        &self.ids,
                        now,
                    )
                    .await?;
                    if let Gate::Held(held, events) = gate {
                        let langs = tenant_settings::languages(txn, tenant_id).await?;
                        let shown = holds::as_sent(current, &held);
                        return Ok(Done::new((shown, langs)).by(author, events));
                    }
                }
            }
            let (after, langs, events) = user_write_steps(txn, tenant_id, &author, write, &self.ids, now).await?;
            Ok(Done::new((after, langs)).by(author, events).warning(warning))
        })
        .await
    }

    /// Decides on connection `connection_id`'s held changes: applies them all (`approve`) or
    /// discards them, and clears its window; returns how many users it concerned. The users'
    /// events have the connection as author; the decision's event and sync-log line name
    /// `decider`. NOT_FOUND when nothing is held.
    pub(crate) async fn decide_hold(
        &self,
        tenant_id: Uuid,
        connection_id: Uuid,
        approve: bool,
        decider: Decider,
    ) -> Result<u64, Status> {
        self.run(tenant_id, async |txn, now| {
            dirsync_store::admin::get_connection(txn, tenant_id, connection_id).await?;
            let held = holds::take(txn, tenant_id, connection_id).await?;
            if held.is_empty() {
                return Err(CoreError::not_found(format!(
                    "connection {connection_id} has no held changes"
                )));
            }
            let author = Author {
                connection_id: Some(connection_id),
                ctx: decider.ctx.clone(),
            };
            let mut events = Vec::new();
            if approve {
                for h in &held {
                    let applied = match (h.effect, &h.spec) {
                        (Effect::Deactivate, Some(spec)) => {
                            let write = UserWrite::Replace {
                                id: h.user_id,
                                spec,
                                expected_version: None,
                            };
                            user_write_steps(txn, tenant_id, &author, write, &self.ids, now)
                                .await
                                .map(|(_, _, e)| e)
                        }
                        _ => {
                            delete_steps(txn, tenant_id, &author, Deletion::User(h.user_id), None, &self.ids, now).await
                        }
                    };
                    match applied {
                        Ok(e) => events.extend(e),
                        // The user is gone since (deleted by the product): nothing left to do.
                        Err(e) if e.kind() == Some(ErrorKind::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            let users = held.len() as u64;
            events.push(Event::hold_decided(
                connection_id,
                approve,
                users,
                decider.actor.clone(),
                &decider.by,
            ));
            sync_log::record(
                txn,
                sync_log::Outcome {
                    tenant_id,
                    connection_id,
                    request_id: decider.ctx.request_id.clone().unwrap_or_default(),
                    method: decider.ctx.method.clone(),
                    path: decider.ctx.path.clone(),
                    status: 200,
                    duration_ms: 0,
                    started_at: now,
                    ..Default::default()
                },
                &self.ids,
            )
            .await?;
            Ok(Done::new(users).by(author, events))
        })
        .await
    }

    /// Deletes a user or a group. A SCIM deletion the connection's hold keeps back answers as
    /// done and leaves the user as it is.
    pub(crate) async fn delete(
        &self,
        tenant_id: Uuid,
        author: Author,
        target: Deletion,
        expected_version: Option<i64>,
    ) -> Result<(), Status> {
        self.run(tenant_id, async |txn, now| {
            if let (Deletion::User(id), Some(c)) = (target, author.connection_id) {
                let current = deprovisioned(txn, tenant_id, c, id, false, expected_version).await?;
                if let Gate::Held(_, events) =
                    gate(txn, tenant_id, &author, &current, Effect::Delete, None, &self.ids, now).await?
                {
                    return Ok(Done::new(()).by(author, events));
                }
            }
            let events = delete_steps(txn, tenant_id, &author, target, expected_version, &self.ids, now).await?;
            Ok(Done::new(()).by(author, events))
        })
        .await
    }

    /// Creates or updates a group; returns it with its members when `include_members` (as
    /// its author's connection sees them; `None`: too many, see [`members`]).
    pub(crate) async fn write_group(
        &self,
        tenant_id: Uuid,
        author: Author,
        write: GroupWrite<'_>,
        include_members: bool,
    ) -> Result<(Group, Option<Vec<MemberRow>>), Status> {
        let connection_id = author.connection_id;
        self.run(tenant_id, async |txn, now| {
            let (id, after, mut events, delta) = match write {
                GroupWrite::Create { spec, member_ids } => {
                    let (g, added) =
                        groups::create(txn, tenant_id, connection_id, spec, member_ids, &self.ids, now).await?;
                    let mut events = vec![Event::group_created(&g)];
                    events.extend(Event::members(&g, &added, &[]));
                    // A new group is mapped to no role or tier: nobody moves.
                    (g.id, g, events, None)
                }
                GroupWrite::Update {
                    id,
                    spec,
                    changes,
                    expected_version,
                } => {
                    // The group's row first: the lock order in `store`.
                    groups::lock(txn, tenant_id, id).await?;
                    let (before, after, delta) =
                        groups::update(txn, tenant_id, id, spec, changes, expected_version, now).await?;
                    let mut events: Vec<Event> = Event::group_changed(&before, &after).into_iter().collect();
                    events.extend(Event::members(&after, &delta.added, &delta.removed));
                    (id, after, events, Some(delta))
                }
            };
            if let Some(delta) = &delta {
                events.extend(roles::after_members_changed(txn, tenant_id, id, delta, author.trigger(), now).await?);
                events.extend(licenses::after_members_changed(txn, tenant_id, id, delta, &self.ids, now).await?);
            }
            let members = members(txn, tenant_id, id, include_members, connection_id).await?;
            Ok(Done::new((after, members)).by(author, events))
        })
        .await
    }
}

/// Writes what `done` journals, in order: each entry's change rows and sync-log line (and
/// warning), then the notes.
async fn write_journal<T>(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    done: &Done<T>,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<()> {
    for Entry {
        author,
        events,
        warning,
    } in &done.journal
    {
        journal::write(
            txn,
            tenant_id,
            author.connection_id,
            &author.ctx,
            events,
            id_source,
            now,
        )
        .await?;
        if let (Some(c), Some(w)) = (author.connection_id, warning) {
            journal::log_warning(txn, tenant_id, c, &author.ctx, w.clone(), id_source, now).await?;
        }
    }
    for note in &done.notes {
        journal::log_line(
            txn,
            tenant_id,
            note.connection_id,
            &note.ctx,
            note.summary.clone(),
            id_source,
            now,
        )
        .await?;
    }
    Ok(())
}

/// The steps of a user write: adoption -> write -> settings -> roles -> licenses; returns the
/// user, the tenant's languages and the events.
async fn user_write_steps(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    author: &Author,
    write: UserWrite<'_>,
    ids: &SharedIds,
    now: i64,
) -> Result<(User, Languages, Vec<Event>)> {
    let spec = match write {
        UserWrite::Create(spec) | UserWrite::Replace { spec, .. } => spec,
    };
    let connection_id = author.connection_id;
    let target = adopt(txn, tenant_id, connection_id, write).await?;
    let (before, after, mut events) = write_user_row(txn, tenant_id, connection_id, spec, target, ids, now).await?;
    let langs = match &before {
        None => tenant_settings::after_user_created(txn, tenant_id, connection_id, &after, &mut events, now).await?,
        Some(_) => tenant_settings::after_user_replaced(txn, tenant_id, &after, &mut events).await?,
    };
    events.extend(roles::after_user_write(txn, tenant_id, before.as_ref(), &after, author.trigger(), now).await?);
    events.extend(licenses::after_user_write(txn, tenant_id, before.as_ref(), &after, ids, now).await?);
    Ok((after, langs, events))
}

/// The user connection `c` deactivates (`replace`) or deletes, before the hold's gate: its
/// row locked (step 1 of the lock order), visible to the connection, at `expected_version`.
async fn deprovisioned(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    c: Uuid,
    id: Uuid,
    replace: bool,
    expected_version: Option<i64>,
) -> Result<User> {
    users::lock(txn, tenant_id, id).await?;
    let visible = adoption::visibility(txn, tenant_id, Some(c)).await?;
    adoption::before_write(txn, tenant_id, id, visible, replace).await?;
    let current = users::get(txn, tenant_id, id).await?;
    users::check_version(&current, expected_version)?;
    Ok(current)
}

/// Who decides on a hold, as its event and sync-log line name them.
#[derive(Debug, Clone)]
pub(crate) struct Decider {
    /// The event's `actor` (`{"type": "portal_session", ...}` or `{"type": "operator"}`).
    pub actor: serde_json::Value,
    /// The same in words, for the summary.
    pub by: String,
    /// The decision's own sync-log line (a request id, a method, a path).
    pub ctx: RequestContext,
}

/// What the hold makes of a SCIM deprovisioning.
enum Gate {
    /// It goes through (the hold is off, the user inactive already, or the window has room).
    Pass,
    /// It waits for the admin, with the events to journal (the hold's start, or none).
    Held(Box<Held>, Vec<Event>),
}

/// The hold step of a SCIM deactivation or deletion of `user` (its row locked): held when
/// the connection has changes held already or this one trips its thresholds, otherwise
/// counted (hold on) and passed. Runs after the user's lock and takes the tenant's (the
/// lock order in `store`), so concurrent deprovisionings count each other.
#[allow(clippy::too_many_arguments)]
async fn gate(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    author: &Author,
    user: &User,
    effect: Effect,
    spec: Option<&UserSpec>,
    ids: &SharedIds,
    now: i64,
) -> Result<Gate> {
    let Some(c) = author.connection_id else {
        return Ok(Gate::Pass);
    };
    if !user.active {
        return Ok(Gate::Pass);
    }
    let policy = holds::policy(&dirsync_store::admin::get_connection(txn, tenant_id, c).await?);
    let pending = holds::pending_count(txn, tenant_id, c).await? > 0;
    if !pending && !policy.enabled() {
        return Ok(Gate::Pass);
    }
    dirsync_store::lock_tenant(txn, tenant_id).await?;
    let since = now.saturating_sub(policy.window_ms());
    let events = if pending {
        journal::log_line(
            txn,
            tenant_id,
            c,
            &author.ctx,
            effect.held_summary(&user.user_name),
            ids.as_ref(),
            now,
        )
        .await?;
        Vec::new()
    } else {
        let w = holds::window(txn, tenant_id, c, since).await?;
        if !hold::trips(&policy, w) {
            holds::record_applied(txn, tenant_id, c, user.id, effect, since, ids.as_ref(), now).await?;
            return Ok(Gate::Pass);
        }
        vec![Event::hold_started(c, &policy, w, effect, &user.user_name)]
    };
    holds::hold(txn, tenant_id, c, user.id, effect, spec, ids.as_ref(), now).await?;
    let held = Held {
        user_id: user.id,
        effect,
        spec: spec.cloned(),
        created_at: now,
    };
    Ok(Gate::Held(Box::new(held), events))
}

/// The steps of a delete; returns its events.
async fn delete_steps(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    author: &Author,
    target: Deletion,
    expected_version: Option<i64>,
    id_source: &SharedIds,
    now: i64,
) -> Result<Vec<Event>> {
    match target {
        Deletion::User(id) => {
            // The user's row first, then (for an admin) the tenant: the lock order in `store`.
            users::lock(txn, tenant_id, id).await?;
            let visible = adoption::visibility(txn, tenant_id, author.connection_id).await?;
            adoption::before_write(txn, tenant_id, id, visible, false).await?;
            roles::before_user_delete(txn, tenant_id, id).await?;
            let license = licenses::before_user_delete(txn, tenant_id, id).await?;
            let (gone, groups) = users::delete(txn, tenant_id, id, expected_version).await?;
            let mut events = vec![Event::user_deleted(&gone, &groups)];
            events.extend(licenses::after_user_deleted(txn, tenant_id, license, id_source, now).await?);
            Ok(events)
        }
        Deletion::Group(id) => {
            // The group's row first: the lock order in `store`.
            groups::lock(txn, tenant_id, id).await?;
            let members = roles::before_group_delete(txn, tenant_id, id).await?;
            let licensed = licenses::before_group_delete(txn, tenant_id, id).await?;
            let gone = groups::delete(txn, tenant_id, id, expected_version).await?;
            let mut events = vec![Event::group_deleted(&gone)];
            events.extend(roles::after_group_deleted(txn, tenant_id, &members, author.trigger(), now).await?);
            events.extend(licenses::after_group_deleted(txn, tenant_id, &licensed, id_source, now).await?);
            Ok(events)
        }
    }
}

/// The adoption step of a user write. A replace locks the user's row first (the lock order in
/// `store`), and a SCIM write sees only what its connection sees and adopts a native user it
/// may; a SCIM create that collides with such a user (or an unmanaged one) takes it over.
async fn adopt(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    write: UserWrite<'_>,
) -> Result<Target> {
    match write {
        UserWrite::Create(spec) => {
            let visible = adoption::visibility(txn, tenant_id, connection_id).await?;
            match (
                adoption::before_create(txn, tenant_id, visible, spec).await?,
                connection_id,
            ) {
                (Some((user, how)), Some(_)) => Ok(Target::Existing {
                    id: user.id,
                    adopted: Some(how),
                    expected_version: None,
                }),
                _ => Ok(Target::New),
            }
        }
        UserWrite::Replace {
            id, expected_version, ..
        } => {
            users::lock(txn, tenant_id, id).await?;
            let visible = adoption::visibility(txn, tenant_id, connection_id).await?;
            let adopted = adoption::before_write(txn, tenant_id, id, visible, true).await?;
            Ok(Target::Existing {
                id,
                adopted: adopted.map(|(_, how)| how),
                expected_version,
            })
        }
    }
}

/// The write step of a user write: the row before (none for a new user), after, and the
/// events (a takeover first).
async fn write_user_row(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    spec: &UserSpec,
    target: Target,
    id_source: &dyn IdSource,
    now: i64,
) -> Result<(Option<User>, User, Vec<Event>)> {
    match target {
        Target::New => {
            let source = if connection_id.is_some() { "scim" } else { "native" };
            let new = NewUser {
                tenant_id,
                connection_id,
                source,
                spec,
            };
            let u = users::create(txn, new, id_source, now).await?;
            let events = vec![Event::user_created(&u)];
            Ok((None, u, events))
        }
        Target::Existing {
            id,
            adopted,
            expected_version,
        } => {
            let (before, after) = users::replace(txn, tenant_id, id, spec, expected_version, now).await?;
            let mut events: Vec<Event> = match (adopted, connection_id) {
                (Some(how), Some(c)) => vec![dirsync_domain::adoption::takeover_event(&after, c, &how)],
                _ => Vec::new(),
            };
            events.extend(Event::user_changed(&before, &after));
            Ok((Some(before), after, events))
        }
    }
}

/// The members of group `id` as `connection_id` sees them, when `include`; `None` when they
/// are more than one response carries (`super::directory::PAGE_MEMBERS`): they are not read,
/// the caller streams them.
pub(crate) async fn members(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    include: bool,
    connection_id: Option<Uuid>,
) -> Result<Option<Vec<MemberRow>>> {
    if !include {
        return Ok(Some(Vec::new()));
    }
    let count = groups::member_counts(txn, tenant_id, &[id]).await?;
    if count.get(&id).copied().unwrap_or(0) > super::directory::PAGE_MEMBERS {
        return Ok(None);
    }
    Ok(Some(
        groups::members_of(txn, tenant_id, &[id], Visibility::reading(connection_id))
            .await?
            .remove(&id)
            .unwrap_or_default(),
    ))
}
