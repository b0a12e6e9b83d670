//! Tenant-defined extension schemas (RFC 7643 §3.3): building a [`Schema`] from a
//! registered definition, reading the RFC 7643 §7 representation back into one, and the
//! strict validation documents get against such schemas.
//!
//! Validation, on top of the type coercion every schema gets ([`crate::resource::normalize`],
//! [`crate::patch::apply`]): values must have the attribute's type and plurality; string
//! values with `canonicalValues` must be one of them, compared case-sensitively (for a
//! `separator` list, each trimmed, non-empty item); and an attribute the schema does not
//! define is refused (400 invalidValue, typo protection) instead of being stored as sent.
//! Only values that changed are checked, so narrowing a schema's canonical values never blocks
//! unrelated updates of users stored before.

use serde_json::{Map, Value, json};

use crate::datetime::parse_rfc3339;
use crate::error::{ScimError, ScimType};
use crate::filter::get_ci;
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema, Returned, SCHEMA_SCHEMA, Schema};

/// One attribute of a tenant's extension, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionAttribute {
    pub name: String,
    /// RFC 7643 §2.3 type name: string, boolean, integer, decimal, dateTime, reference.
    pub attr_type: String,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub canonical_values: Vec<String>,
    pub description: String,
    /// Empty: a plain string.
    pub separator: String,
    /// RFC 7643 §7 mutability: readOnly, readWrite (also when empty), immutable, writeOnly.
    /// readOnly values from the IdP are ignored (a PATCH of one is refused), immutable ones
    /// are set once, writeOnly ones are stored but never returned over SCIM.
    pub mutability: String,
    /// dirsync's `keptOnRemoval`: the IdP sets and changes the value but never clears it (a
    /// removal succeeds and the value stays; the sync log says so).
    pub kept_on_removal: bool,
}

/// A tenant's extension schema, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionDefinition {
    pub urn: String,
    pub name: String,
    pub description: String,
    /// "User" or "Group".
    pub resource_type: String,
    pub attributes: Vec<ExtensionAttribute>,
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

impl ExtensionDefinition {
    /// The schema the SCIM layer works with. Attributes of a type this crate does not know
    /// are left out (the core refuses them at registration, so this only guards old rows).
    pub fn to_schema(&self) -> Schema {
        let attributes = self
            .attributes
            .iter()
            .filter_map(|a| {
                let ty = AttrType::parse(&a.attr_type).filter(|t| *t != AttrType::Complex)?;
                let mut def = AttributeDef::new(&a.name, ty, &a.description);
                def.multi_valued = a.multi_valued;
                def.required = a.required;
                def.case_exact = a.case_exact;
                def.canonical_values = a.canonical_values.clone();
                def.separator = (!a.separator.is_empty()).then(|| a.separator.clone());
                def.mutability = Mutability::parse(&a.mutability).unwrap_or(Mutability::ReadWrite);
                if def.mutability == Mutability::WriteOnly {
                    // Kept for the product (gRPC), never returned over SCIM (RFC 7643 §7).
                    def.returned = Returned::Never;
                    def.stores_write_only = true;
                }
                def.kept_on_removal = a.kept_on_removal;
                Some(def)
            })
            .collect();
        Schema {
            id: self.urn.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            attributes,
            strict: true,
        }
    }

    /// Reads the RFC 7643 §7 schema representation (what `GET /Schemas/{id}` returns), plus
    /// dirsync's optional `separator`, `keptOnRemoval` and `resourceType` ("User" unless
    /// given). `mutability` is read (readWrite when absent); returned follows from it (never
    /// for writeOnly); uniqueness is not configurable and is ignored.
    pub fn from_json(doc: &Value) -> Result<Self, ScimError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| invalid("a schema must be a JSON object".into()))?;
        let text =
            |o: &Map<String, Value>, k: &str| get_ci(o, k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let flag = |o: &Map<String, Value>, k: &str| -> Result<bool, ScimError> {
            match get_ci(o, k) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(invalid(format!("'{k}' must be true or false, got {other}"))),
            }
        };
        let urn = text(obj, "id");
        if urn.is_empty() {
            return Err(invalid("the schema needs an 'id' (its URN)".into()));
        }
        let attrs = match get_ci(obj, "attributes") {
            Some(Value::Array(xs)) => xs,
            _ => return Err(invalid("the schema needs an 'attributes' list".into())),
        };
        let mut attributes = Vec::with_capacity(attrs.len());
        for a in attrs {
            let o = a
                .as_object()
                .ok_or_else(|| invalid(format!("each attribute must be an object, got {a}")))?;
            if get_ci(o, "subAttributes").is_some_and(|s| s.as_array().is_some_and(|xs| !xs.is_empty())) {
                return Err(invalid(format!(
                    "attribute '{}': complex attributes (subAttributes) are not supported",
                    text(o, "name")
                )));
            }
            let canonical_values = match get_ci(o, "canonicalValues") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(xs)) => xs
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| invalid(format!("canonical values must be strings, got {x}")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => return Err(invalid(format!("'canonicalValues' must be a list, got {other}"))),
            };
            attributes.push(ExtensionAttribute {
                name: text(o, "name"),
                attr_type: text(o, "type"),
                multi_valued: flag(o, "multiValued")?,
                required: flag(o, "required")?,
                case_exact: flag(o, "caseExact")?,
                canonical_values,
                description: text(o, "description"),
                separator: text(o, "separator"),
                mutability: text(o, "mutability"),
                kept_on_removal: flag(o, "keptOnRemoval")?,
            });
        }
        let resource_type = match text(obj, "resourceType") {
            t if t.is_empty() => "User".to_owned(),
            t => t,
        };
        Ok(Self {
            urn,
            name: text(obj, "name"),
            description: text(obj, "description"),
            resource_type,
            attributes,
        })
    }

    /// The RFC 7643 §7 representation plus `resourceType` and `separator`: what
    /// [`Self::from_json`] reads, so `schema show` output can be registered again.
    pub fn to_json(&self) -> Value {
        let mut doc = self.to_schema().to_json("");
        if let Some(o) = doc.as_object_mut() {
            o.remove("meta");
            o.insert("schemas".into(), json!([SCHEMA_SCHEMA]));
            o.insert("resourceType".into(), json!(self.resource_type));
        }
        doc
    }
}

impl ResourceSchema {
    /// This resource type with the tenant's extension schemas added after the built-in ones
    /// (a URN that is already an extension is skipped).
    pub fn with_extensions(mut self, extensions: impl IntoIterator<Item = Schema>) -> Self {
        for s in extensions {
            if self.schema_by_urn(&s.id).is_none() {
                self.extensions.push((s, false));
            }
        }
        self
    }
}

/// Whether a value counts as cleared: absent, null, "" or an empty list.
fn cleared(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(xs)) => xs.is_empty(),
        Some(_) => false,
    }
}

/// Puts back into `new` every `keptOnRemoval` value of the tenant's extensions that `old` has
/// and `new` clears (a PATCH `remove`, a `replace` with "" or null, a PUT without it); returns
/// the `<urn>:<attribute>` names kept, for the sync log. Changing the value is not affected.
pub fn keep_on_removal(old: &Value, new: &mut Value, rs: &ResourceSchema) -> Vec<String> {
    let mut kept = Vec::new();
    let (Some(old_root), Some(new_root)) = (old.as_object(), new.as_object_mut()) else {
        return kept;
    };
    for (schema, _) in rs.extensions.iter().filter(|(s, _)| s.strict) {
        let Some(old_ext) = get_ci(old_root, &schema.id).and_then(Value::as_object) else {
            continue;
        };
        for def in schema.attributes.iter().filter(|a| a.kept_on_removal) {
            let Some((old_key, value)) = old_ext
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(&def.name) && !cleared(Some(v)))
            else {
                continue;
            };
            let ext_key = new_root
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&schema.id))
                .cloned()
                .unwrap_or_else(|| schema.id.clone());
            let ext = new_root.entry(ext_key).or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            let Some(ext) = ext.as_object_mut() else { continue };
            if !cleared(get_ci(ext, &def.name)) {
                continue;
            }
            ext.retain(|k, _| !k.eq_ignore_ascii_case(&def.name));
            ext.insert(old_key.clone(), value.clone());
            kept.push(format!("{}:{}", schema.id, def.name));
        }
    }
    if !kept.is_empty() {
        crate::resource::sync_schemas(new_root, rs);
    }
    kept
}

/// Checks every value of the strict (tenant-defined) extensions in `doc`.
pub fn validate(doc: &Value, rs: &ResourceSchema) -> Result<(), ScimError> {
    validate_changes(None, doc, rs)
}

/// Like [`validate`], but only the attributes whose value differs from `old`.
pub fn validate_changes(old: Option<&Value>, new: &Value, rs: &ResourceSchema) -> Result<(), ScimError> {
    match new.as_object() {
        Some(root) => check_root(old.and_then(Value::as_object), root, rs),
        None => Ok(()),
    }
}

pub(crate) fn check_root(
    old: Option<&Map<String, Value>>,
    root: &Map<String, Value>,
    rs: &ResourceSchema,
) -> Result<(), ScimError> {
    for (schema, _) in rs.extensions.iter().filter(|(s, _)| s.strict) {
        let Some(ext) = get_ci(root, &schema.id) else {
            continue;
        };
        let Value::Object(ext) = ext else {
            return Err(invalid(format!("'{}' must be an object, got {ext}", schema.id)));
        };
        let old_ext = old.and_then(|o| get_ci(o, &schema.id)).and_then(Value::as_object);
        for (key, value) in ext {
            if old_ext.and_then(|o| o.get(key)) == Some(value) {
                continue;
            }
            let Some(def) = schema.attribute(key) else {
                let known: Vec<&str> = schema.attributes.iter().map(|a| a.name.as_str()).collect();
                return Err(invalid(format!(
                    "attribute '{key}' is not defined in schema {}; it defines: {}",
                    schema.id,
                    known.join(", ")
                )));
            };
            check_value(&schema.id, def, value)?;
        }
    }
    Ok(())
}

fn check_value(urn: &str, def: &AttributeDef, value: &Value) -> Result<(), ScimError> {
    let shown = format!("{urn}:{}", def.name);
    match value {
        Value::Null => Ok(()),
        Value::Array(items) if def.multi_valued => items.iter().try_for_each(|v| check_element(&shown, def, v)),
        Value::Array(_) => Err(invalid(format!(
            "attribute '{shown}' is single-valued, got a list {}",
            short(value)
        ))),
        _ if def.multi_valued => Err(invalid(format!(
            "attribute '{shown}' is multi-valued and must be a list, got {}",
            short(value)
        ))),
        _ => check_element(&shown, def, value),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        s.chars().take(61).collect::<String>() + "..."
    } else {
        s
    }
}

fn check_element(shown: &str, def: &AttributeDef, value: &Value) -> Result<(), ScimError> {
    let ok = match (def.attr_type, value) {
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => true,
        (AttrType::Boolean, Value::Bool(_)) => true,
        (AttrType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (AttrType::Decimal, Value::Number(_)) => true,
        (AttrType::DateTime, Value::String(s)) => parse_rfc3339(s).is_some(),
        _ => false,
    };
    if !ok {
        return Err(invalid(format!(
            "attribute '{shown}' must be of type {}, got {}",
            def.attr_type.as_str(),
            short(value)
        )));
    }
    let (Some(s), false) = (value.as_str(), def.canonical_values.is_empty()) else {
        return Ok(());
    };
    let items: Vec<&str> = match &def.separator {
        Some(sep) => s.split(sep.as_str()).map(str::trim).filter(|i| !i.is_empty()).collect(),
        None => vec![s],
    };
    match items.iter().find(|i| !def.canonical_values.iter().any(|c| c == *i)) {
        None => Ok(()),
        Some(bad) => Err(invalid(format!(
            "attribute '{shown}' has value {bad:?}, which is not one of {} (case-sensitive)",
            def.canonical_values
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests;
