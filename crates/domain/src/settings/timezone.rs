//! A user's time zone, normalised for the product. The SCIM document keeps `timezone` exactly
//! as the IdP sent it, and no value is ever refused: an optional attribute the product cannot
//! interpret must not stop a person from being provisioned (the IdP would retry the whole
//! user forever). The product gets `User.timezone` over gRPC:
//!
//! - an IANA tz database name as is, in the tz database's spelling (`europe/berlin` ->
//!   `Europe/Berlin`; no two tz names differ only in case), checked against the tzdb compiled
//!   into `chrono-tz`;
//! - a Windows time zone id (`W. Europe Standard Time`), as directories synced from Active
//!   Directory carry, mapped to its IANA zone through Unicode CLDR's `windowsZones.xml`
//!   (the `001`, world-wide default row), as the `windows-timezones` crate carries it;
//! - anything else: empty, and a warning for the IdP's admin in the request's sync-log line
//!   and the connection status, so the mapping can be fixed in the IdP.

use serde_json::Value;

/// The attribute's name as the document spells it, and its value.
fn attribute(doc: &Value) -> Option<(&str, &Value)> {
    doc.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("timezone"))
        .map(|(k, v)| (k.as_str(), v))
}

/// The IANA zone `name` stands for, in the tz database's spelling: an IANA name (any case) or
/// a Windows time zone id; `None` for anything else.
pub fn iana(name: &str) -> Option<&'static str> {
    if let Ok(tz) = name.parse::<chrono_tz::Tz>() {
        return Some(tz.name());
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
    {
        return Some(tz.name());
    }
    name.trim()
        .parse::<windows_timezones::WindowsTimezone>()
        .ok()
        .map(|w| w.tzdb_id())
}

/// What the product gets for a document's `timezone`: the IANA zone, or empty (not sent, or
/// not something a zone can be derived from).
pub fn of_document(doc: &Value) -> String {
    match attribute(doc) {
        Some((_, Value::String(s))) => iana(s).unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// The warning for the IdP's admin when a document's `timezone` was sent but gives the product
/// no zone; `None` when it does, or when none was sent (absent, `null`, `""`).
pub fn warning(doc: &Value) -> Option<String> {
    let (attr, value) = attribute(doc)?;
    let shown = match value {
        Value::Null => return None,
        Value::String(s) if s.is_empty() || iana(s).is_some() => return None,
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    Some(format!(
        "{attr} {shown} is neither an IANA time zone (e.g. \"Europe/Berlin\") nor a Windows time zone id \
         (e.g. \"W. Europe Standard Time\"): stored as sent, but the product gets no time zone for this user; \
         map an IANA time zone to {attr} in the IdP"
    ))
}

/// [`warning`] for a `UserSpec`'s document (a document that is not JSON has none).
pub fn spec_warning(spec: &crate::user::UserSpec) -> Option<String> {
    serde_json::from_str::<Value>(&spec.document)
        .ok()
        .and_then(|doc| warning(&doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalised_zones() {
        for (name, want) in [
            ("Europe/Berlin", Some("Europe/Berlin")),
            ("America/Los_Angeles", Some("America/Los_Angeles")),
            ("UTC", Some("UTC")),
            ("Etc/GMT+1", Some("Etc/GMT+1")),
            ("US/Eastern", Some("US/Eastern")),
            ("europe/berlin", Some("Europe/Berlin")),
            // Windows ids, through CLDR's world-wide default row.
            ("W. Europe Standard Time", Some("Europe/Berlin")),
            ("Pacific Standard Time", Some("America/Los_Angeles")),
            ("Tokyo Standard Time", Some("Asia/Tokyo")),
            ("GMT Standard Time", Some("Europe/London")),
            ("UTC-11", Some("Etc/GMT+11")),
            ("Mars/Olympus", None),
            ("Europe/Berlin ", None),
            ("CEST", None),
            ("+01:00", None),
            ("W. Mars Standard Time", None),
            ("", None),
        ] {
            assert_eq!(iana(name), want, "{name:?}");
        }
    }

    #[test]
    fn documents() {
        let warned = |attr: &str, shown: &str| {
            Some(format!(
                "{attr} {shown} is neither an IANA time zone (e.g. \"Europe/Berlin\") nor a Windows time zone id \
                 (e.g. \"W. Europe Standard Time\"): stored as sent, but the product gets no time zone for this \
                 user; map an IANA time zone to {attr} in the IdP"
            ))
        };
        for (doc, zone, want_warning) in [
            (json!({"userName": "a"}), "", None),
            (json!({"timezone": "Europe/Vienna"}), "Europe/Vienna", None),
            (json!({"timezone": "W. Europe Standard Time"}), "Europe/Berlin", None),
            (json!({"timezone": ""}), "", None),
            (json!({"timezone": null}), "", None),
            (
                json!({"timezone": "Mars/Olympus"}),
                "",
                warned("timezone", "\"Mars/Olympus\""),
            ),
            (
                json!({"timeZone": "Mars/Olympus"}),
                "",
                warned("timeZone", "\"Mars/Olympus\""),
            ),
            (json!({"timezone": 3}), "", warned("timezone", "3")),
        ] {
            assert_eq!(of_document(&doc), zone, "{doc}");
            assert_eq!(warning(&doc), want_warning, "{doc}");
        }
    }
}
