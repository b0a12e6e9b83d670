//! Tenant-defined extension schemas: the rules a definition must follow before it is stored.
//! Pure functions; storage is in the store crate (`store::schemas`), the SCIM meaning in the edge.

use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, Result};

/// URNs a tenant may not take: the schemas dirsync defines itself, and the non-standard
/// spellings of them the SCIM edge accepts from IdPs (they already name a built-in schema).
const RESERVED_URNS: [&str; 8] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:scim:schemas:core:2.0",
    "urn:scim:schemas:core:1.0",
    "urn:scim:schemas:extension:enterprise:2.0",
    "urn:scim:schemas:extension:enterprise:1.0",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
];

/// RFC 7643 §2.3 simple types an extension attribute may have (no complex, no binary).
pub const TYPES: [&str; 6] = ["string", "boolean", "integer", "decimal", "dateTime", "reference"];

/// RFC 7643 §7 mutabilities an extension attribute may declare (readWrite when none).
pub const MUTABILITIES: [&str; 4] = ["readOnly", "readWrite", "immutable", "writeOnly"];

/// Resource types an extension may extend.
pub const RESOURCE_TYPES: [&str; 2] = ["User", "Group"];

/// One attribute of a definition, and the definition as registered: the SCIM library's types,
/// so the rules here, the store, the gRPC conversion and the SCIM schema share one struct.
pub use dirsync_scim::extension::{ExtensionAttribute as Attribute, ExtensionDefinition as Definition};

/// The string value of attribute `name` in a user document, under any extension URN key
/// (e.g. `urn:ietf:params:scim:schemas:extension:<vendor>:2.0:User`) whose object has it:
/// what the `attribute` sources of roles (`userRole`) and licenses (`licenseTier`) read.
/// Attribute names are case-insensitive (RFC 7643 §2.1); the value is taken exactly.
pub fn extension_value<'a>(document: &'a Value, name: &str) -> Option<&'a str> {
    document
        .as_object()?
        .iter()
        .filter(|(k, _)| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")))
        .find_map(|(_, ext)| {
            ext.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
        })
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidValue, msg)
}

/// RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; the
/// RFC's own `$ref` shows `$` is allowed too.
fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$'))
}

/// A URN safe to use as a JSON key in filters and paths: `urn:` then printable ASCII without
/// spaces, quotes or brackets.
fn is_urn(s: &str) -> bool {
    // `get`, not indexing: a multi-byte character within the first four bytes is no URN,
    // never a panic.
    s.len() > 4
        && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        && s.len() <= 300
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_'))
        && !s.ends_with(':')
}

/// Checks a definition and returns it with its resource type spelled canonically.
pub fn validate(mut d: Definition) -> Result<Definition> {
    d.urn = d.urn.trim().to_owned();
    if !is_urn(&d.urn) {
        return Err(invalid(format!(
            "schema URN {:?} must start with \"urn:\" and use only letters, digits and : . - _ \
             (e.g. urn:ietf:params:scim:schemas:extension:acme:2.0:User)",
            d.urn
        )));
    }
    if RESERVED_URNS.iter().any(|r| r.eq_ignore_ascii_case(&d.urn)) {
        return Err(invalid(format!(
            "schema URN {} is built in and cannot be registered",
            d.urn
        )));
    }
    d.resource_type = RESOURCE_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(d.resource_type.trim()))
        .map(|t| (*t).to_owned())
        .ok_or_else(|| invalid(format!("resource type {:?} is not one of User, Group", d.resource_type)))?;
    if d.name.trim().is_empty() {
        // The last URN segment ("User") is what most schemas are named after.
        d.name = d.urn.rsplit(':').next().unwrap_or_default().to_owned();
    }
    if d.attributes.is_empty() {
        return Err(invalid(format!("schema {} has no attributes", d.urn)));
    }
    let mut seen: Vec<String> = Vec::new();
    for a in &mut d.attributes {
        check_attribute(a)?;
        let key = a.name.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(invalid(format!(
                "attribute {:?} is defined twice (names are case-insensitive)",
                a.name
            )));
        }
        seen.push(key);
    }
    Ok(d)
}

fn check_attribute(a: &mut Attribute) -> Result<()> {
    if !is_attr_name(&a.name) {
        return Err(invalid(format!(
            "attribute name {:?} must start with a letter and use only letters, digits, - _ $",
            a.name
        )));
    }
    a.attr_type = TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(a.attr_type.trim()))
        .map(|t| (*t).to_owned())
        .ok_or_else(|| {
            invalid(format!(
                "attribute {:?} has type {:?}; use one of {}",
                a.name,
                a.attr_type,
                TYPES.join(", ")
            ))
        })?;
    a.mutability = match a.mutability.trim() {
        "" => "readWrite".to_owned(),
        m => MUTABILITIES
            .iter()
            .find(|t| t.eq_ignore_ascii_case(m))
            .map(|t| (*t).to_owned())
            .ok_or_else(|| {
                invalid(format!(
                    "attribute {:?} has mutability {m:?}; use one of {}",
                    a.name,
                    MUTABILITIES.join(", ")
                ))
            })?,
    };
    if a.kept_on_removal && matches!(a.mutability.as_str(), "readOnly" | "immutable") {
        return Err(invalid(format!(
            "attribute {:?}: keptOnRemoval needs a readWrite or writeOnly attribute (the IdP \
             cannot set a readOnly value, and an immutable value cannot be removed at all)",
            a.name
        )));
    }
    let is_string = a.attr_type == "string";
    if !a.canonical_values.is_empty() && !is_string {
        return Err(invalid(format!(
            "attribute {:?}: canonical values are only allowed on string attributes",
            a.name
        )));
    }
    if let Some(v) = a
        .canonical_values
        .iter()
        .find(|v| v.trim().is_empty() || v.trim() != v.as_str())
    {
        return Err(invalid(format!(
            "attribute {:?}: canonical value {v:?} is empty or has surrounding spaces",
            a.name
        )));
    }
    if !a.separator.is_empty() {
        if !is_string {
            return Err(invalid(format!(
                "attribute {:?}: a separator is only allowed on string attributes",
                a.name
            )));
        }
        if a.separator.trim().is_empty() {
            return Err(invalid(format!(
                "attribute {:?}: the separator cannot be blank",
                a.name
            )));
        }
        if let Some(v) = a.canonical_values.iter().find(|v| v.contains(a.separator.as_str())) {
            return Err(invalid(format!(
                "attribute {:?}: canonical value {v:?} contains the separator {:?}",
                a.name, a.separator
            )));
        }
    }
    Ok(())
}

/// The attributes as stored (JSON text).
pub fn attributes_to_json(attrs: &[Attribute]) -> String {
    let list: Vec<Value> = attrs
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "type": a.attr_type,
                "multiValued": a.multi_valued,
                "required": a.required,
                "caseExact": a.case_exact,
                "canonicalValues": a.canonical_values,
                "description": a.description,
                "separator": a.separator,
                "mutability": a.mutability,
                "keptOnRemoval": a.kept_on_removal,
            })
        })
        .collect();
    Value::Array(list).to_string()
}

/// Reads stored attributes back; a corrupt row reads as no attributes rather than failing
/// every SCIM request of the tenant.
pub fn attributes_from_json(text: &str) -> Vec<Attribute> {
    let Ok(Value::Array(list)) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("stored schema attributes are not a JSON array");
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|o: &Map<String, Value>| {
            let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let b = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or_default();
            Attribute {
                name: s("name"),
                attr_type: s("type"),
                multi_valued: b("multiValued"),
                required: b("required"),
                case_exact: b("caseExact"),
                canonical_values: o
                    .get("canonicalValues")
                    .and_then(Value::as_array)
                    .map(|xs| xs.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
                description: s("description"),
                separator: s("separator"),
                // Rows stored before mutability was configurable are readWrite.
                mutability: Some(s("mutability"))
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "readWrite".to_owned()),
                kept_on_removal: b("keptOnRemoval"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, ty: &str) -> Attribute {
        Attribute {
            name: name.into(),
            attr_type: ty.into(),
            ..Default::default()
        }
    }

    fn def(urn: &str, attrs: Vec<Attribute>) -> Definition {
        Definition {
            urn: urn.into(),
            resource_type: "user".into(),
            attributes: attrs,
            ..Default::default()
        }
    }

    const URN: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

    #[test]
    fn accepts_the_example_and_canonicalises() {
        let teams = Attribute {
            canonical_values: vec!["Blue".into(), "Red".into()],
            separator: ",".into(),
            ..attr("teams", "String")
        };
        let d = validate(def(
            URN,
            vec![teams, attr("absenceRegion", "string"), attr("since", "datetime")],
        ))
        .unwrap();
        assert_eq!(d.resource_type, "User");
        assert_eq!(d.name, "User");
        assert_eq!(d.attributes[0].attr_type, "string");
        assert_eq!(d.attributes[2].attr_type, "dateTime");
        assert_eq!(attributes_from_json(&attributes_to_json(&d.attributes)), d.attributes);
    }

    #[test]
    fn rejects_bad_definitions() {
        let canon = |ty: &str| Attribute {
            canonical_values: vec!["A".into()],
            ..attr("x", ty)
        };
        let sep = |ty: &str, s: &str, canon: &[&str]| Attribute {
            separator: s.into(),
            canonical_values: canon.iter().map(|c| (*c).to_string()).collect(),
            ..attr("x", ty)
        };
        let cases: Vec<(Definition, &str)> = vec![
            (def("acme:User", vec![attr("a", "string")]), "must start with \"urn:\""),
            (def("urn:a b", vec![attr("a", "string")]), "must start with \"urn:\""),
            (def("urn:", vec![attr("a", "string")]), "must start with \"urn:\""),
            (def("urn:x:", vec![attr("a", "string")]), "must start with \"urn:\""),
            // Multi-byte characters where the prefix is sliced: refused, not a panic.
            (def("ürn:x", vec![attr("a", "string")]), "must start with \"urn:\""),
            (def("urnü:x", vec![attr("a", "string")]), "must start with \"urn:\""),
            (def("ur€", vec![attr("a", "string")]), "must start with \"urn:\""),
            (
                def("urn:acme:Üser", vec![attr("a", "string")]),
                "must start with \"urn:\"",
            ),
            (
                def("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER", vec![attr("a", "string")]),
                "built in",
            ),
            (
                def(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    vec![attr("a", "string")],
                ),
                "built in",
            ),
            (
                def("urn:scim:schemas:extension:enterprise:2.0", vec![attr("a", "string")]),
                "built in",
            ),
            (def(URN, vec![]), "no attributes"),
            (def(URN, vec![attr("1a", "string")]), "must start with a letter"),
            (def(URN, vec![attr("a.b", "string")]), "must start with a letter"),
            (def(URN, vec![attr("", "string")]), "must start with a letter"),
            (def(URN, vec![attr("a", "complex")]), "use one of"),
            (def(URN, vec![attr("a", "binary")]), "use one of"),
            (
                def(URN, vec![attr("a", "string"), attr("A", "integer")]),
                "defined twice",
            ),
            (def(URN, vec![canon("integer")]), "only allowed on string"),
            (def(URN, vec![canon("boolean")]), "only allowed on string"),
            (def(URN, vec![sep("integer", ",", &[])]), "separator is only allowed"),
            (def(URN, vec![sep("string", " ", &[])]), "cannot be blank"),
            (def(URN, vec![sep("string", ",", &["a,b"])]), "contains the separator"),
            (
                def(
                    URN,
                    vec![Attribute {
                        canonical_values: vec![" A".into()],
                        ..attr("x", "string")
                    }],
                ),
                "surrounding spaces",
            ),
        ];
        for (d, want) in cases {
            let shown = format!("{d:?}");
            match validate(d) {
                Err(e) if e.kind() == ErrorKind::InvalidValue => {
                    assert!(e.to_string().contains(want), "{shown}: {e}")
                }
                other => panic!("{shown}: {other:?}"),
            }
        }
        let mut group = def(URN, vec![attr("a", "string")]);
        group.resource_type = "Device".into();
        assert!(validate(group).is_err());
    }

    #[test]
    fn corrupt_attributes_read_as_none() {
        assert!(attributes_from_json("not json").is_empty());
        assert!(attributes_from_json("{}").is_empty());
    }
}
