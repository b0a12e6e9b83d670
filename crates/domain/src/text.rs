//! Text the stores cannot hold is refused alike on both: PostgreSQL stores neither a NUL
//! character (U+0000) in text nor `\u0000` in JSON, while SQLite would take both, so the same
//! request would succeed on one store and fail with 500 on the other. Checked on every gRPC
//! input that reaches a text column or a stored document.

use crate::error::{Error, ErrorKind, Result};
use crate::group::GroupSpec;
use crate::user::UserSpec;

/// 400 (INVALID_VALUE) when `value` of `field` holds a NUL character.
pub fn check(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("{field} contains a NUL character (U+0000), which the directory does not store"),
        ));
    }
    Ok(())
}

/// 400 when a JSON document holds a NUL character, raw or as the escape `\u0000`.
pub fn check_document(field: &str, doc: &str) -> Result<()> {
    check(field, doc)?;
    let b = doc.as_bytes();
    let mut i = 0;
    while let Some(off) = doc.get(i..).and_then(|rest| rest.find("u0000")) {
        let at = i + off;
        // An escape when preceded by an odd number of backslashes (`\\u0000` is text).
        let backslashes = b[..at].iter().rev().take_while(|c| **c == b'\\').count();
        if backslashes % 2 == 1 {
            return Err(Error::new(
                ErrorKind::InvalidValue,
                format!("{field} contains a NUL character (\\u0000), which the directory does not store"),
            ));
        }
        i = at + 5;
    }
    Ok(())
}

/// Longest value of an attribute the stores index (userName, externalId, displayName, names,
/// e-mail): PostgreSQL refuses a B-tree index entry over about 2.7 KB (500 before this bound),
/// SQLite would take it, so both refuse it alike (400).
pub const MAX_INDEXED_BYTES: usize = 1024;

fn each(fields: &[(&str, Option<&str>)]) -> Result<()> {
    fields
        .iter()
        .filter_map(|(f, v)| v.map(|v| (f, v)))
        .try_for_each(|(f, v)| {
            if v.len() > MAX_INDEXED_BYTES {
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "{f} is {} bytes, more than the limit of {MAX_INDEXED_BYTES} for a value the directory indexes",
                        v.len()
                    ),
                ));
            }
            check(f, v)
        })
}

/// Every text of a user as written.
pub fn check_user(u: &UserSpec) -> Result<()> {
    each(&[
        ("userName", Some(&u.user_name)),
        ("externalId", u.external_id.as_deref()),
        ("displayName", u.display_name.as_deref()),
        ("name.givenName", u.given_name.as_deref()),
        ("name.familyName", u.family_name.as_deref()),
        ("email", u.email.as_deref()),
    ])?;
    check_document("the user document", &u.document)
}

/// Every text of a group as written.
pub fn check_group(g: &GroupSpec) -> Result<()> {
    each(&[
        ("displayName", Some(&g.display_name)),
        ("externalId", g.external_id.as_deref()),
    ])?;
    check_document("the group document", &g.document)
}

/// Sync-log lines are capped where they are stored (the core, whoever calls it) and where
/// they are sent (the edge, so batches stay small): characters of a request path with its
/// query.
pub const LOG_PATH_CHARS: usize = 2048;
/// Characters of a sync-log error detail.
pub const LOG_ERROR_CHARS: usize = 1024;
/// Characters of a captured request body (the edge captures at most 64 KiB).
pub const LOG_BODY_CHARS: usize = 65_600;
/// Characters of a sync-log request id, method, IdP request id or trace id.
pub const LOG_FIELD_CHARS: usize = 256;
/// Outcomes in one `RecordRequests` call (the edge sends at most 500).
pub const LOG_BATCH: usize = 1000;

/// `s` cut to `max` characters, marked with "…" when it was cut.
pub fn cut(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
        s.push('…');
    }
}

/// `s` cut to `max` characters with NUL characters replaced (U+FFFD): a log line records what
/// came, it is not refused for it.
pub fn for_log(s: &mut String, max: usize) {
    cut(s, max);
    if s.contains('\0') {
        *s = s.replace('\0', "\u{fffd}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_values_are_bounded() {
        let spec = |name: String| GroupSpec {
            display_name: name,
            external_id: None,
            document: "{}".into(),
        };
        let cases = [(MAX_INDEXED_BYTES, true), (MAX_INDEXED_BYTES + 1, false)];
        for (len, ok) in cases {
            assert_eq!(check_group(&spec("x".repeat(len))).is_ok(), ok, "{len}");
        }
    }

    #[test]
    fn nul_in_text_and_documents() {
        let cases = [
            (r#"{"a":"x"}"#, true),
            (r#"{"a":"x\u0000"}"#, false),
            (r#"{"a":"x\\u0000"}"#, true),
            (r#"{"a":"x\\\u0000"}"#, false),
            (r#"{"u0000":"\\\\u0000"}"#, true),
            ("{\"a\":\"\0\"}", false),
            (r#"{"a":"Öztürk ß ẞ"}"#, true),
        ];
        for (doc, ok) in cases {
            assert_eq!(check_document("d", doc).is_ok(), ok, "{doc}");
        }
        let user = UserSpec {
            user_name: "a\0b".into(),
            ..Default::default()
        };
        assert!(
            matches!(check_user(&user), Err(e) if e.kind() == ErrorKind::InvalidValue && e.message().starts_with("userName"))
        );
    }
}
