//! Request bodies for the sync log, when a connection captures them: secrets and passwords
//! are replaced before anything is stored.

use serde_json::Value;

/// Largest captured body kept, in bytes.
const MAX_CAPTURED: usize = 64 * 1024;
const REDACTED: &str = "***";

fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "credential"]
        .iter()
        .any(|s| k.contains(s))
}

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            // A PATCH operation that targets a password carries it in `value`.
            let targets_secret = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .and_then(|(_, p)| p.as_str())
                .is_some_and(is_secret_name);
            for (k, child) in map.iter_mut() {
                if is_secret_name(k) || (targets_secret && k.eq_ignore_ascii_case("value")) {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact_value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// The body as the sync log keeps it.
pub fn redacted(body: &[u8]) -> String {
    let mut text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) if body.is_empty() => String::new(),
        Err(_) => format!("<{} bytes, not JSON: not kept>", body.len()),
    };
    if text.len() > MAX_CAPTURED {
        let mut cut = MAX_CAPTURED;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("…(truncated)");
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_never_reach_the_log() {
        let cases = [
            (
                json!({"userName": "a", "password": "hunter2"}),
                json!({"userName": "a", "password": "***"}),
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "password", "value": "hunter2"}]}),
                json!({"Operations": [{"op": "replace", "path": "password", "value": "***"}]}),
            ),
            (
                json!({"Operations": [{"op": "replace", "value": {"Password": "x", "title": "CTO"}}]}),
                json!({"Operations": [{"op": "replace", "value": {"Password": "***", "title": "CTO"}}]}),
            ),
            (
                json!({"x": {"apiToken": "t", "clientSecret": "s"}}),
                json!({"x": {"apiToken": "***", "clientSecret": "***"}}),
            ),
        ];
        for (input, want) in cases {
            let got: Value = serde_json::from_str(&redacted(input.to_string().as_bytes())).unwrap();
            assert_eq!(got, want);
        }
        assert_eq!(redacted(b"password=hunter2"), "<16 bytes, not JSON: not kept>");
        assert!(redacted(json!({"a": "x".repeat(100_000)}).to_string().as_bytes()).ends_with("…(truncated)"));
    }
}
