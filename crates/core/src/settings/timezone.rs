//! A user's `timezone` (RFC 7643 §4.1.1: an IANA Time Zone database name) must name a zone
//! the tz database knows; the check uses the tzdb compiled into `chrono-tz`, never a
//! hand-written list.

use crate::error::CoreError;

/// True when `name` is a zone or link of the IANA tz database (`Europe/Berlin`, `UTC`,
/// `US/Eastern`). Other capitalisations (`europe/berlin`) are accepted too: no two tz names
/// differ only in case.
pub fn is_iana(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
        || chrono_tz::TZ_VARIANTS
            .iter()
            .any(|tz| tz.name().eq_ignore_ascii_case(name))
}

/// Refuses a user document whose `timezone` is not an IANA zone name. Absent, `null` and `""`
/// (IdPs send empty strings for unset attributes) mean "no time zone" and pass.
pub fn check_document(doc: &serde_json::Value) -> Result<(), CoreError> {
    let Some((attr, value)) = doc
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("timezone")))
    else {
        return Ok(());
    };
    match value {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::String(s) if s.is_empty() || is_iana(s) => Ok(()),
        serde_json::Value::String(s) => Err(CoreError::InvalidValue(format!(
            "{attr} {s:?} is not an IANA time zone (e.g. \"Europe/Berlin\")"
        ))),
        other => Err(CoreError::InvalidValue(format!(
            "{attr} must be a string naming an IANA time zone (e.g. \"Europe/Berlin\"), not {other}"
        ))),
    }
}

/// The same check on a `UserSpec`'s document (empty: a native user without one, no zone).
pub fn check_spec(spec: &dirsync_proto::v1::UserSpec) -> Result<(), CoreError> {
    if spec.document.trim().is_empty() {
        return Ok(());
    }
    // A document that is not JSON is refused by the store with its own message.
    match serde_json::from_str::<serde_json::Value>(&spec.document) {
        Ok(doc) => check_document(&doc),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zone_names() {
        for (name, ok) in [
            ("Europe/Berlin", true),
            ("America/Los_Angeles", true),
            ("UTC", true),
            ("Etc/GMT+1", true),
            ("US/Eastern", true),
            ("europe/berlin", true),
            ("Mars/Olympus", false),
            ("Europe/Berlin ", false),
            ("CEST", false),
            ("+01:00", false),
            ("", false),
        ] {
            assert_eq!(is_iana(name), ok, "{name:?}");
        }
    }

    #[test]
    fn documents() {
        for (doc, want) in [
            (json!({"userName": "a"}), None),
            (json!({"timezone": "Europe/Vienna"}), None),
            (json!({"timezone": ""}), None),
            (json!({"timezone": null}), None),
            (
                json!({"timezone": "Mars/Olympus"}),
                Some(r#"timezone "Mars/Olympus" is not an IANA time zone (e.g. "Europe/Berlin")"#),
            ),
            (
                json!({"timeZone": "Mars/Olympus"}),
                Some(r#"timeZone "Mars/Olympus" is not an IANA time zone (e.g. "Europe/Berlin")"#),
            ),
            (
                json!({"timezone": 3}),
                Some(r#"timezone must be a string naming an IANA time zone (e.g. "Europe/Berlin"), not 3"#),
            ),
        ] {
            let got = check_document(&doc).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), want, "{doc}");
        }
    }
}
