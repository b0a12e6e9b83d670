//! Tenant settings rules: the languages a tenant's product speaks, users' time zones, and
//! what a change to a tenant's settings may be.

pub mod language;
pub mod timezone;

use crate::error::{Error, ErrorKind, Result};
use language::{Languages, canonical_tag};

/// Invite delay of a tenant that never set one: ten minutes, long enough for an admin to
/// notice and delete a test user.
pub const DEFAULT_INVITE_DELAY_SECONDS: i64 = 600;

/// A tenant's settings; a tenant without a stored row has the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    pub languages: Languages,
    pub invites_enabled: bool,
    pub invite_delay_seconds: i64,
    /// Epoch ms of the last change; `None` while the tenant has the defaults.
    pub updated_at: Option<i64>,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            languages: Languages::default(),
            invites_enabled: false,
            invite_delay_seconds: DEFAULT_INVITE_DELAY_SECONDS,
            updated_at: None,
        }
    }
}

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
            return Err(Error::new(
                ErrorKind::InvalidValue,
                format!("at most {MAX_LANGUAGES} supported languages, not {}", list.len()),
            ));
        }
        let mut supported: Vec<String> = Vec::with_capacity(list.len());
        for tag in list {
            let tag = canonical_tag(tag)
                .map_err(|e| Error::new(ErrorKind::InvalidValue, format!("supported_languages: {e}")))?;
            if supported.contains(&tag) {
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    format!("supported_languages lists {tag:?} twice"),
                ));
            }
            supported.push(tag);
        }
        next.languages.supported = supported;
    }
    match &update.default_language {
        Some(d) if d.trim().is_empty() => next.languages.default.clear(),
        Some(d) => {
            next.languages.default =
                canonical_tag(d).map_err(|e| Error::new(ErrorKind::InvalidValue, format!("default_language: {e}")))?;
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
        return Err(Error::new(
            ErrorKind::InvalidValue,
            if l.supported.is_empty() {
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
            },
        ));
    }
    if let Some(on) = update.invites_enabled {
        next.invites_enabled = on;
    }
    if let Some(delay) = update.invite_delay_seconds {
        if delay > MAX_INVITE_DELAY_SECONDS {
            return Err(Error::new(
                ErrorKind::InvalidValue,
                format!("invite_delay_seconds must be at most {MAX_INVITE_DELAY_SECONDS} (30 days), not {delay}"),
            ));
        }
        next.invite_delay_seconds = i64::try_from(delay).unwrap_or(i64::MAX);
    }
    Ok(next)
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
