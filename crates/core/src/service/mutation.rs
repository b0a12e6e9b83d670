//! The one mutation pipeline. Every write of users and groups, and every other write that adds
//! rows to the change feed, whichever RPC or job starts it, runs through [`Pipeline::run`]:
//!
//!   open transaction -> the mutation's steps -> journal (change rows, sync-log lines,
//!   warnings) -> commit -> wake this replica's `Watch` streams.
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

use dirsync_domain::{Group, GroupSpec, User, UserSpec};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tonic::Status;
use uuid::Uuid;

use super::in_txn;
use crate::error::Result;
use crate::journal::{self, Event, RequestContext};
use crate::service::changes::ChangeSignal;
use crate::settings::language::Languages;
use crate::settings::{self as tenant_settings, timezone};
use dirsync_domain::adoption::Takeover;
use dirsync_domain::clock::SharedClock;
use dirsync_domain::roles::Trigger;
use dirsync_store::adoption::{self, Visibility};
use dirsync_store::groups::{MemberChange, MemberRow};
use dirsync_store::users::NewUser;
use dirsync_store::{groups, licenses, roles, users};

/// Runs mutations: holds the store, the clock that stamps them and the signal that wakes
/// `Watch` streams after they commit.
#[derive(Debug, Clone)]
pub struct Pipeline {
    db: DatabaseConnection,
    clock: SharedClock,
    signal: ChangeSignal,
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

/// What a mutation's steps hand back: the value for the response and what to journal, in order.
#[derive(Debug)]
pub(crate) struct Done<T> {
    value: T,
    journal: Vec<Entry>,
}

impl<T> Done<T> {
    pub fn new(value: T) -> Self {
        Done {
            value,
            journal: Vec::new(),
        }
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
    pub fn new(db: DatabaseConnection, clock: SharedClock, signal: ChangeSignal) -> Self {
        Self { db, clock, signal }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Wakes this replica's `Watch` streams. Only for writes that commit their own
    /// transactions (the jobs); everything else goes through [`Pipeline::run`].
    pub fn notify(&self) {
        self.signal.notify();
    }

    /// Runs `steps` in one transaction of tenant `tenant_id` (stamped with one `now`), writes
    /// their journal entries in order, commits, and wakes `Watch` streams.
    pub(crate) async fn run<T, F>(&self, tenant_id: Uuid, steps: F) -> Result<T, Status>
    where
        F: AsyncFnOnce(&DatabaseTransaction, i64) -> Result<Done<T>>,
    {
        let now = self.clock.now_ms();
        let value = in_txn(&self.db, async |txn| {
            let done = steps(txn, now).await?;
            for entry in &done.journal {
                let Entry {
                    author,
                    events,
                    warning,
                } = entry;
                journal::write(txn, tenant_id, author.connection_id, &author.ctx, events, now).await?;
                if let (Some(c), Some(w)) = (author.connection_id, warning) {
                    journal::log_warning(txn, tenant_id, c, &author.ctx, w.clone(), now).await?;
                }
            }
            Ok(done.value)
        })
        .await?;
        self.signal.notify();
        Ok(value)
    }

    /// Creates or replaces a user; returns it with the tenant's languages (for the response).
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
        let connection_id = author.connection_id;
        self.run(tenant_id, async |txn, now| {
            let target = adopt(txn, tenant_id, connection_id, write).await?;
            let (before, after, mut events) = write_user_row(txn, tenant_id, connection_id, spec, target, now).await?;
            let langs = match &before {
                None => {
                    tenant_settings::after_user_created(txn, tenant_id, connection_id, &after, &mut events, now).await?
                }
                Some(_) => tenant_settings::after_user_replaced(txn, tenant_id, &after, &mut events).await?,
            };
            events
                .extend(roles::after_user_write(txn, tenant_id, before.as_ref(), &after, author.trigger(), now).await?);
            events.extend(licenses::after_user_write(txn, tenant_id, before.as_ref(), &after, now).await?);
            Ok(Done::new((after, langs)).by(author, events).warning(warning))
        })
        .await
    }

    /// Deletes a user or a group.
    pub(crate) async fn delete(
        &self,
        tenant_id: Uuid,
        author: Author,
        target: Deletion,
        expected_version: Option<i64>,
    ) -> Result<(), Status> {
        self.run(tenant_id, async |txn, now| {
            let events = delete_steps(txn, tenant_id, &author, target, expected_version, now).await?;
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
                    let (g, added) = groups::create(txn, tenant_id, connection_id, spec, member_ids, now).await?;
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
                events.extend(licenses::after_members_changed(txn, tenant_id, id, delta, now).await?);
            }
            let members = members(txn, tenant_id, id, include_members, connection_id).await?;
            Ok(Done::new((after, members)).by(author, events))
        })
        .await
    }
}

/// The steps of a delete; returns its events.
async fn delete_steps(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    author: &Author,
    target: Deletion,
    expected_version: Option<i64>,
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
            events.extend(licenses::after_user_deleted(txn, tenant_id, license, now).await?);
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
            events.extend(licenses::after_group_deleted(txn, tenant_id, &licensed, now).await?);
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
            let u = users::create(txn, new, now).await?;
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
