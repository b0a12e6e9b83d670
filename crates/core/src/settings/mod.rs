//! Tenant settings in the core: the hooks the directory service calls from its user writes
//! and reads (languages into events, invites scheduled), and delayed invites (`invites`, also
//! a job). The rules are the domain's (`dirsync_domain::settings`).

pub mod cache;
pub mod invites;
pub use dirsync_domain::settings::{MAX_INVITE_DELAY_SECONDS, MAX_LANGUAGES, Update, apply, language, timezone};

use dirsync_domain as domain;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::Result;
use crate::journal::Event;
use dirsync_store::settings as store;
use language::Languages;

/// The tenant's languages, read once per call.
pub async fn languages<C: ConnectionTrait>(db: &C, tenant_id: Uuid) -> Result<Languages> {
    Ok(store::get(db, tenant_id).await?.languages)
}

/// Adds the user's normalised language to the `after` view of its user events.
fn annotate(langs: &Languages, u: &domain::User, events: &mut [Event]) {
    let language = langs.of_document(&u.document);
    let zone = timezone::of_document(&u.document);
    for e in events.iter_mut() {
        if e.resource_id == u.id
            && e.kind.starts_with("user.")
            && let Some(after) = e.data.get_mut("after").and_then(|a| a.as_object_mut())
        {
            after.insert("language".into(), language.clone().into());
            after.insert("timezone".into(), zone.clone().into());
        }
    }
}

/// After a user was created (in its transaction): the language goes into its events, and a
/// user created by an IdP (`connection_id` set) in a tenant with invites on gets an invite
/// due after the tenant's delay. Returns the tenant's languages for the response.
pub async fn after_user_created<C: ConnectionTrait>(
    txn: &C,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    u: &domain::User,
    events: &mut [Event],
    now: i64,
) -> Result<Languages> {
    let s = store::get(txn, tenant_id).await?;
    annotate(&s.languages, u, events);
    if let (Some(connection_id), true) = (connection_id, s.invites_enabled) {
        let due_at = now.saturating_add(s.invite_delay_seconds.saturating_mul(1000));
        store::schedule_invite(txn, tenant_id, u.id, connection_id, due_at).await?;
    }
    Ok(s.languages)
}

/// After a user was replaced (in its transaction): the language goes into its events.
pub async fn after_user_replaced<C: ConnectionTrait>(
    txn: &C,
    tenant_id: Uuid,
    u: &domain::User,
    events: &mut [Event],
) -> Result<Languages> {
    let langs = languages(txn, tenant_id).await?;
    annotate(&langs, u, events);
    Ok(langs)
}
