//! Checking and coercing client-sent values against attribute definitions (RFC 7643 §2.3),
//! with the leniencies real IdPs need: booleans as strings (docs/idp/notes.md B1.2), `manager` as a
//! plain string or one-element array (B1.9), nulls as absent (B1.11). Values are otherwise
//! kept exactly as sent.

use serde_json::{Map, Value};

use crate::datetime::parse_rfc3339;
use crate::error::{ScimError, ScimType};
use crate::filter::parse_bool;
use crate::schema::{AttrType, AttributeDef, Mutability};

fn mismatch(name: &str, expected: &str, got: &Value) -> ScimError {
    let mut shown = got.to_string();
    if shown.chars().count() > 64 {
        shown = shown.chars().take(61).collect::<String>() + "...";
    }
    ScimError::bad_request(
        ScimType::InvalidValue,
        format!("attribute '{name}' must be {expected}, got {shown}"),
    )
}

/// Coerces a whole attribute value; `Ok(None)` means "no value" (null, empty list, empty
/// complex value), which callers treat as absent.
pub(crate) fn coerce(def: &AttributeDef, value: &Value, name: &str) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        return coerce_element(def, value, name);
    }
    let items: Vec<&Value> = match value {
        Value::Array(xs) => xs.iter().collect(),
        // A lone object stands for a one-element list; a lone scalar only for simple lists.
        Value::Object(_) => vec![value],
        _ if def.attr_type != AttrType::Complex => vec![value],
        _ => return Err(mismatch(name, "a list of objects", value)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.is_array() {
            return Err(mismatch(name, "a list of single values", item));
        }
        if def.attr_type == AttrType::Complex && !item.is_object() && !item.is_null() {
            return Err(mismatch(name, "a list of objects", item));
        }
        if let Some(v) = coerce_element(def, item, name)? {
            out.push(v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Coerces one value of the attribute (the attribute itself when single-valued, one element
/// when multi-valued).
pub(crate) fn coerce_element(def: &AttributeDef, value: &Value, name: &str) -> Result<Option<Value>, ScimError> {
    match value {
        Value::Null => Ok(None),
        _ if def.attr_type == AttrType::Complex => coerce_complex(def, value, name),
        _ => coerce_simple(def, value, name).map(Some),
    }
}

fn coerce_complex(def: &AttributeDef, value: &Value, name: &str) -> Result<Option<Value>, ScimError> {
    let obj = match value {
        Value::Object(o) => o,
        // B1.9: Entra sends `"manager": "id"` in POST/PUT.
        Value::String(s) if !def.multi_valued => {
            let Some(value_def) = def.sub_attribute("value") else {
                return Err(mismatch(name, "an object", value));
            };
            if s.is_empty() {
                return Ok(None);
            }
            let mut m = Map::new();
            m.insert(value_def.name.clone(), value.clone());
            return Ok(Some(Value::Object(m)));
        }
        // B1.9: and `"manager": [{"$ref": ..., "value": ...}]` in PATCH.
        Value::Array(xs) if !def.multi_valued => {
            return match xs.as_slice() {
                [] => Ok(None),
                [one] if !one.is_array() => coerce_complex(def, one, name),
                _ => Err(mismatch(name, "a single object", value)),
            };
        }
        _ => return Err(mismatch(name, "an object", value)),
    };
    let mut out = Map::new();
    for (k, v) in obj {
        if v.is_null() {
            continue;
        }
        match def.sub_attribute(k) {
            // Client-sent read-only sub-attributes (e.g. manager.displayName) are ignored.
            Some(sub) if sub.mutability == Mutability::ReadOnly => {}
            Some(sub) => {
                let sub_name = format!("{name}.{}", sub.name);
                if let Some(cv) = coerce(sub, v, &sub_name)? {
                    out.insert(sub.name.clone(), cv);
                }
            }
            // Unknown sub-attributes are kept as sent.
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn coerce_simple(def: &AttributeDef, value: &Value, name: &str) -> Result<Value, ScimError> {
    match (def.attr_type, value) {
        (AttrType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        // B1.2: `"True"`, `"false"` in any case.
        (AttrType::Boolean, Value::String(s)) => parse_bool(s)
            .map(Value::Bool)
            .ok_or_else(|| mismatch(name, "a boolean", value)),
        (AttrType::Boolean, _) => Err(mismatch(name, "a boolean", value)),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        (AttrType::Integer, _) => Err(mismatch(name, "an integer", value)),
        (AttrType::Decimal, Value::Number(_)) => Ok(value.clone()),
        (AttrType::Decimal, _) => Err(mismatch(name, "a number", value)),
        // RFC 7643 §2.3.5: xsd:dateTime, which we read as RFC 3339 with a zone.
        (AttrType::DateTime, Value::String(s)) if parse_rfc3339(s).is_some() => Ok(value.clone()),
        (AttrType::DateTime, _) => Err(mismatch(name, "an RFC 3339 date-time", value)),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => Ok(value.clone()),
        // IdPs map numeric source attributes (employee numbers) onto string attributes.
        (AttrType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => Err(mismatch(name, "a string", value)),
        (AttrType::Complex, _) => Err(mismatch(name, "an object", value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ResourceSchema, enterprise_user_schema};
    use serde_json::json;

    #[test]
    fn coerces_values() {
        let rs = ResourceSchema::user();
        let ent = enterprise_user_schema();
        let def = |n: &str| rs.core.attribute(n).or_else(|| ent.attribute(n)).unwrap().clone();
        let cases = [
            ("active", json!(true), Some(json!(true))),
            ("active", json!("True"), Some(json!(true))),
            ("active", json!("FALSE"), Some(json!(false))),
            ("active", json!(null), None),
            ("userName", json!(" Bob "), Some(json!(" Bob "))),
            ("employeeNumber", json!(1234), Some(json!("1234"))),
            ("manager", json!("m1"), Some(json!({"value": "m1"}))),
            ("manager", json!(""), None),
            (
                "manager",
                json!([{"value": "m1", "$ref": null}]),
                Some(json!({"value": "m1"})),
            ),
            ("manager", json!([]), None),
            (
                "manager",
                json!({"Value": "m1", "displayName": "ro"}),
                Some(json!({"value": "m1"})),
            ),
            ("emails", json!([]), None),
            ("emails", json!({"value": "a@b.c"}), Some(json!([{"value": "a@b.c"}]))),
            (
                "emails",
                json!([{"VALUE": "a@b.c", "Primary": "true", "extra": 1}, null]),
                Some(json!([{"value": "a@b.c", "primary": true, "extra": 1}])),
            ),
            ("name", json!({"givenName": null}), None),
            ("meta", json!({"created": "2011-08-01T18:29:49Z"}), Some(json!({}))),
        ];
        for (name, input, want) in cases {
            let got = coerce(&def(name), &input, name).unwrap();
            // read-only sub-attributes vanish, so a read-only complex becomes empty -> None
            let want = want.filter(|w| w != &json!({}));
            assert_eq!(got, want, "{name}: {input}");
        }
    }

    #[test]
    fn rejects_mismatches() {
        let rs = ResourceSchema::user();
        let ent = enterprise_user_schema();
        let def = |n: &str| rs.core.attribute(n).or_else(|| ent.attribute(n)).unwrap().clone();
        let cases = [
            (
                "active",
                json!("maybe"),
                "attribute 'active' must be a boolean, got \"maybe\"",
            ),
            ("active", json!(1), "attribute 'active' must be a boolean, got 1"),
            (
                "emails",
                json!("x"),
                "attribute 'emails' must be a list of objects, got \"x\"",
            ),
            (
                "emails",
                json!(["x"]),
                "attribute 'emails' must be a list of objects, got \"x\"",
            ),
            (
                "emails",
                json!([{"primary": "yes"}]),
                "attribute 'emails.primary' must be a boolean, got \"yes\"",
            ),
            (
                "userName",
                json!({"a": 1}),
                "attribute 'userName' must be a string, got {\"a\":1}",
            ),
            (
                "manager",
                json!([{"value": "a"}, {"value": "b"}]),
                "attribute 'manager' must be a single object, got [{\"value\":\"a\"},{\"value\":\"b\"}]",
            ),
            ("name", json!("Bob"), "attribute 'name' must be an object, got \"Bob\""),
        ];
        for (name, input, detail) in cases {
            let e = coerce(&def(name), &input, name).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
            assert_eq!(e.detail, detail);
        }
        let created = rs
            .core
            .attribute("meta")
            .unwrap()
            .sub_attribute("created")
            .unwrap()
            .clone();
        assert!(coerce(&created, &json!("yesterday"), "meta.created").is_err());
        let long = json!("x".repeat(200));
        let e = coerce(&def("active"), &long, "active").unwrap_err();
        assert!(e.detail.ends_with("..."), "{}", e.detail);
    }
}
