//! Tenant settings: the languages a tenant's product speaks, users' normalised time zones,
//! and delayed invites. The rules are here; the directory service calls the hooks below from its
//! user writes and reads.

pub mod invites;
pub use dirsync_domain::settings::{language, timezone};

use dirsync_domain as domain;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::journal::Event;
use crate::store::settings::{self as store, TenantSettings};
use language::{Languages, canonical_tag};

/// Most languages one tenant lists.
pub const MAX_LANGUAGES: usize = 100;
/// Longest invite delay: 30 days.
pub const MAX_INVITE_DELAY_SECONDS: u64 = 30 * 24 * 3600;

/// A change to a tenant's settings; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub supported_languages: Option<Vec<String>>,
    pub default_language: Option<String>,
    pub invites_enabled: Option<bool>,
    pub invite_delay_seconds: Option<u64>,
}

/// `current` with `update` applied, or why the result would be invalid: tags must have the
/// BCP 47 shape (stored canonical), appear once, and the default must be one of them or empty.
pub fn apply(current: &TenantSettings, update: &Update) -> Result<TenantSettings> {
    let mut next = current.clone();
    if let Some(list) = &update.supported_languages {
        if list.len() > MAX_LANGUAGES {
            return Err(CoreError::invalid_value(format!(
                "at most {MAX_LANGUAGES} supported languages, not {}",
                list.len()
            )));
        }
        let mut supported: Vec<String> = Vec::with_capacity(list.len());
        for tag in list {
            let tag = canonical_tag(tag).map_err(|e| CoreError::invalid_value(format!("supported_languages: {e}")))?;
            if supported.contains(&tag) {
                return Err(CoreError::invalid_value(format!(
                    "supported_languages lists {tag:?} twice"
                )));
            }
            supported.push(tag);
        }
        next.languages.supported = supported;
    }
    match &update.default_language {
        Some(d) if d.trim().is_empty() => next.languages.default.clear(),
        Some(d) => {
            next.languages.default =
                canonical_tag(d).map_err(|e| CoreError::invalid_value(format!("default_language: {e}")))?;
        }
        None => {}
    }
    let l = &next.languages;
    if !l.default.is_empty() && !l.supported.contains(&l.default) {
        let why = if update.default_language.is_some() {
            "is not"
        } else {
            "would no longer be"
        };
        return Err(CoreError::invalid_value(if l.supported.is_empty() {
            format!(
                "default_language {:?} {why} one of the supported languages: the tenant would have none; \
                 set supported_languages or clear default_language",
                l.default
            )
        } else {
            format!(
                "default_language {:?} {why} one of the supported languages ({}); pick one of them or clear it",
                l.default,
                l.supported.join(", ")
            )
        }));
    }
    if let Some(on) = update.invites_enabled {
        next.invites_enabled = on;
    }
    if let Some(delay) = update.invite_delay_seconds {
        if delay > MAX_INVITE_DELAY_SECONDS {
            return Err(CoreError::invalid_value(format!(
                "invite_delay_seconds must be at most {MAX_INVITE_DELAY_SECONDS} (30 days), not {delay}"
            )));
        }
        next.invite_delay_seconds = i64::try_from(delay).unwrap_or(i64::MAX);
    }
    Ok(next)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(supported: &[&str], default: &str) -> TenantSettings {
        TenantSettings {
            languages: Languages {
                supported: supported.iter().map(|s| s.to_string()).collect(),
                default: default.into(),
            },
            ..Default::default()
        }
    }

    fn langs(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn updates() {
        let empty = with(&[], "");
        let de_en = with(&["de-DE", "en-GB"], "en-GB");
        let ok = |s: TenantSettings| Ok::<_, String>(s);
        for (current, update, want) in [
            (
                &empty,
                Update {
                    supported_languages: langs(&["de_de", "EN-gb"]),
                    default_language: Some("en-gb".into()),
                    ..Default::default()
                },
                ok(with(&["de-DE", "en-GB"], "en-GB")),
            ),
            (
                &de_en,
                Update {
                    default_language: Some(String::new()),
                    ..Default::default()
                },
                ok(with(&["de-DE", "en-GB"], "")),
            ),
            (
                &de_en,
                Update {
                    supported_languages: langs(&["en-GB", "fr-FR"]),
                    ..Default::default()
                },
                ok(with(&["en-GB", "fr-FR"], "en-GB")),
            ),
            (
                &empty,
                Update {
                    supported_languages: langs(&["german"]),
                    ..Default::default()
                },
                Err(r#"supported_languages: "german" is not a BCP 47 language tag (e.g. "de-DE", "en", "zh-Hant-TW")"#.into()),
            ),
            (
                &empty,
                Update {
                    supported_languages: langs(&["de-DE", "de_de"]),
                    ..Default::default()
                },
                Err(r#"supported_languages lists "de-DE" twice"#.into()),
            ),
            (
                &de_en,
                Update {
                    default_language: Some("fr-FR".into()),
                    ..Default::default()
                },
                Err(r#"default_language "fr-FR" is not one of the supported languages (de-DE, en-GB); pick one of them or clear it"#.into()),
            ),
            (
                &de_en,
                Update {
                    supported_languages: langs(&["de-DE"]),
                    ..Default::default()
                },
                Err(r#"default_language "en-GB" would no longer be one of the supported languages (de-DE); pick one of them or clear it"#.into()),
            ),
            (
                &empty,
                Update {
                    default_language: Some("en".into()),
                    ..Default::default()
                },
                Err(r#"default_language "en" is not one of the supported languages: the tenant would have none; set supported_languages or clear default_language"#.into()),
            ),
            (
                &empty,
                Update {
                    invites_enabled: Some(true),
                    invite_delay_seconds: Some(60),
                    ..Default::default()
                },
                ok(TenantSettings {
                    invites_enabled: true,
                    invite_delay_seconds: 60,
                    ..empty.clone()
                }),
            ),
            (
                &empty,
                Update {
                    invite_delay_seconds: Some(MAX_INVITE_DELAY_SECONDS + 1),
                    ..Default::default()
                },
                Err("invite_delay_seconds must be at most 2592000 (30 days), not 2592001".into()),
            ),
        ] {
            assert_eq!(apply(current, &update).map_err(|e| e.to_string()), want, "{update:?}");
        }
    }
}
