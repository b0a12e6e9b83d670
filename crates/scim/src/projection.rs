//! Attribute projection (RFC 7644 §3.4.2.5, §3.9): `attributes` and `excludedAttributes`
//! applied to a rendered resource, honouring each attribute's `returned` characteristic
//! (RFC 7643 §7): `always` is kept, `never` is dropped, `request` only when asked for.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::{AttributeDef, ResourceSchema, Returned};

/// One `attributes` / `excludedAttributes` entry resolved against the schema.
struct Selector {
    /// Canonical schema id the attribute belongs to.
    schema: String,
    /// `None` selects the whole extension (`attributes=urn:...:enterprise:2.0:User`).
    attr: Option<String>,
    sub: Option<String>,
}

impl Selector {
    fn new(path: &AttrPath, rs: &ResourceSchema) -> Self {
        if let Some(r) = rs.resolve(path) {
            return Self {
                schema: r.schema.to_string(),
                attr: Some(r.attr.name.clone()),
                sub: r.sub_attr.map(|s| s.name.clone()).or_else(|| path.sub_attr.clone()),
            };
        }
        if let (Some(urn), None) = (&path.schema, &path.sub_attr)
            && let Some(s) = rs.schema_by_urn(&format!("{urn}:{}", path.attr))
        {
            return Self {
                schema: s.id.clone(),
                attr: None,
                sub: None,
            };
        }
        // Attributes outside the schema still select the stored keys of that name.
        let schema = match &path.schema {
            Some(urn) => rs.schema_by_urn(urn).map_or_else(|| urn.clone(), |s| s.id.clone()),
            None => rs.core.id.clone(),
        };
        Self {
            schema,
            attr: Some(path.attr.clone()),
            sub: path.sub_attr.clone(),
        }
    }

    fn in_schema(&self, schema_id: &str) -> bool {
        self.schema.eq_ignore_ascii_case(schema_id)
    }

    /// Whether this selects attribute `key` of `schema_id` (or its whole schema).
    fn hits(&self, schema_id: &str, key: &str) -> bool {
        self.in_schema(schema_id) && self.attr.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(key))
    }
}

/// Applies `attributes` / `excludedAttributes` to a rendered resource (which includes `id`,
/// `schemas`, `meta`). `schemas` and returned=always attributes (`id`) are always kept,
/// returned=never (`password`) always removed, returned=request only when asked for. Paths
/// are case-insensitive, may be URN-qualified and may name sub-attributes (`name.givenName`,
/// `emails.value`). When both lists are given, `attributes` selects and `excludedAttributes`
/// then removes from that selection.
pub fn project(resource: &Value, schema: &ResourceSchema, attributes: &[AttrPath], excluded: &[AttrPath]) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let p = Projector {
        include: attributes.iter().map(|a| Selector::new(a, schema)).collect(),
        exclude: excluded.iter().map(|a| Selector::new(a, schema)).collect(),
    };
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        if let (Some(ext), Value::Object(inner)) = (schema.extension_by_urn(key), value) {
            let mut projected = Map::new();
            for (k, v) in inner {
                p.attribute(&mut projected, &ext.id, k, v, ext.attribute(k));
            }
            if !projected.is_empty() {
                out.insert(key.clone(), Value::Object(projected));
            }
            continue;
        }
        p.attribute(&mut out, &schema.core.id, key, value, schema.core.attribute(key));
    }
    Value::Object(out)
}

struct Projector {
    include: Vec<Selector>,
    exclude: Vec<Selector>,
}

impl Projector {
    fn attribute(
        &self,
        out: &mut Map<String, Value>,
        schema_id: &str,
        key: &str,
        original: &Value,
        def: Option<&AttributeDef>,
    ) {
        let value = original;
        let returned = def.map_or(Returned::Default, |d| d.returned);
        let value = match returned {
            Returned::Never => return,
            // RFC 7643 §7: "always" attributes are returned "regardless of the contents of
            // the attributes parameter" and cannot be excluded.
            Returned::Always => {
                out.insert(key.to_string(), keep_subs(value, def, |_| true));
                return;
            }
            Returned::Default | Returned::Request => {
                if self.include.is_empty() {
                    if returned == Returned::Request {
                        return;
                    }
                    value.clone()
                } else {
                    let hits: Vec<&Selector> = self.include.iter().filter(|s| s.hits(schema_id, key)).collect();
                    if hits.is_empty() {
                        return;
                    }
                    if hits.iter().any(|s| s.sub.is_none()) {
                        keep_subs(value, def, |_| true)
                    } else {
                        keep_subs(value, def, |sub| {
                            hits.iter()
                                .any(|s| s.sub.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(sub)))
                        })
                    }
                }
            }
        };
        let excluded: Vec<&Selector> = self.exclude.iter().filter(|s| s.hits(schema_id, key)).collect();
        if excluded.iter().any(|s| s.sub.is_none()) {
            return;
        }
        let value = if excluded.is_empty() {
            keep_subs(&value, def, |_| true)
        } else {
            keep_subs(&value, def, |sub| {
                !excluded
                    .iter()
                    .any(|s| s.sub.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(sub)))
            })
        };
        // A complex value whose every selected sub-attribute is absent is left out.
        if is_empty(&value) && !is_empty(original) {
            return;
        }
        out.insert(key.to_string(), value);
    }
}

/// Keeps the sub-attributes `keep` accepts (and always drops returned=never ones), in a
/// complex value or in each element of a multi-valued one.
fn keep_subs(value: &Value, def: Option<&AttributeDef>, keep: impl Fn(&str) -> bool) -> Value {
    let filter_obj = |o: &Map<String, Value>| -> Map<String, Value> {
        o.iter()
            .filter(|(k, _)| {
                let never = def
                    .and_then(|d| d.sub_attribute(k))
                    .is_some_and(|s| s.returned == Returned::Never);
                !never && keep(k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    match value {
        Value::Object(o) => Value::Object(filter_obj(o)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(o) => {
                        let kept = filter_obj(o);
                        (!kept.is_empty()).then_some(Value::Object(kept))
                    }
                    other => Some(other.clone()),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Parses the comma-separated `attributes=` / `excludedAttributes=` query value.
pub fn parse_attr_list(s: &str) -> Result<Vec<AttrPath>, ScimError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(AttrPath::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use crate::{ScimType, schema::AttributeDef};
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "2819c223",
            "meta": {"resourceType": "User", "location": "https://x/Users/2819c223"},
            "userName": "bjensen",
            "password": "leaked?",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x.org", "type": "work"}, {"value": "h@x.org", "type": "home"}],
            "x-custom": "kept",
            ENT: {"department": "Ops", "manager": {"value": "m1", "displayName": "Boss"}}
        })
    }

    fn paths(s: &str) -> Vec<AttrPath> {
        parse_attr_list(s).unwrap()
    }

    #[test]
    fn projects_resources() {
        let rs = ResourceSchema::user();
        let cases = [
            (
                "",
                "",
                json!({
                    "schemas": [USER_SCHEMA, ENT], "id": "2819c223",
                    "meta": {"resourceType": "User", "location": "https://x/Users/2819c223"},
                    "userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
                    "emails": [{"value": "b@x.org", "type": "work"}, {"value": "h@x.org", "type": "home"}],
                    "x-custom": "kept",
                    ENT: {"department": "Ops", "manager": {"value": "m1", "displayName": "Boss"}}
                }),
            ),
            (
                "userName",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen"}),
            ),
            (
                "USERNAME,password",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen"}),
            ),
            (
                "name.givenName, emails.value",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "name": {"givenName": "Barbara"}, "emails": [{"value": "b@x.org"}, {"value": "h@x.org"}]}),
            ),
            (
                "name.givenName,name",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "name": {"givenName": "Barbara", "familyName": "Jensen"}}),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", ENT: {"department": "Ops"}}),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", ENT: {"department": "Ops", "manager": {"value": "m1", "displayName": "Boss"}}}),
            ),
            (
                "manager.value,urn:ietf:params:scim:schemas:core:2.0:User:userName,x-custom",
                "",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen", "x-custom": "kept", ENT: {"manager": {"value": "m1"}}}),
            ),
            (
                "",
                "emails,name.familyName,id,meta,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
                json!({
                    "schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen",
                    "name": {"givenName": "Barbara"}, "x-custom": "kept",
                    ENT: {"department": "Ops", "manager": {"value": "m1"}}
                }),
            ),
            (
                "",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,X-CUSTOM,meta,schemas",
                json!({
                    "schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen",
                    "name": {"givenName": "Barbara", "familyName": "Jensen"},
                    "emails": [{"value": "b@x.org", "type": "work"}, {"value": "h@x.org", "type": "home"}]
                }),
            ),
            (
                "name,emails",
                "name.givenName,emails.type",
                json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "name": {"familyName": "Jensen"}, "emails": [{"value": "b@x.org"}, {"value": "h@x.org"}]}),
            ),
            ("nickName", "", json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223"})),
        ];
        for (attrs, excluded, want) in cases {
            let got = project(&user(), &rs, &paths(attrs), &paths(excluded));
            assert_eq!(got, want, "attributes={attrs} excludedAttributes={excluded}");
        }
    }

    #[test]
    fn honours_returned_request() {
        let mut rs = ResourceSchema::group();
        rs.core
            .attributes
            .push(AttributeDef::new("secretNote", AttrType::String, "test").returned(Returned::Request));
        let group = json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng", "secretNote": "n", "members": [{"value": "a"}]});
        let cases = [
            (
                "",
                "",
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng", "members": [{"value": "a"}]}),
            ),
            (
                "",
                "members",
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng"}),
            ),
            (
                "secretNote",
                "",
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "secretNote": "n"}),
            ),
            (
                "displayName",
                "",
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng"}),
            ),
        ];
        for (attrs, excluded, want) in cases {
            assert_eq!(
                project(&group, &rs, &paths(attrs), &paths(excluded)),
                want,
                "{attrs} / {excluded}"
            );
        }
    }

    #[test]
    fn parses_attribute_lists() {
        assert_eq!(parse_attr_list("").unwrap(), vec![]);
        assert_eq!(parse_attr_list(" , ").unwrap(), vec![]);
        assert_eq!(
            parse_attr_list(
                "userName, name.givenName ,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
            )
            .unwrap(),
            vec![
                AttrPath::new("userName"),
                AttrPath {
                    schema: None,
                    attr: "name".into(),
                    sub_attr: Some("givenName".into())
                },
                AttrPath {
                    schema: Some(ENT.into()),
                    attr: "manager".into(),
                    sub_attr: Some("value".into())
                },
            ]
        );
        let e = parse_attr_list("userName,bad path").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert_eq!(project(&json!("x"), &ResourceSchema::user(), &[], &[]), json!("x"));
    }
}
