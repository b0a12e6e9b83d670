//! Resource documents: normalising client bodies (POST/PUT, RFC 7644 §3.3, §3.5.1) to the
//! stored form, reading indexed values back out, and the mutability/required checks that
//! apply to whole documents.

use serde_json::{Map, Value};

use crate::coerce::coerce;
use crate::error::{ScimError, ScimType};
use crate::filter::get_ci;
use crate::patch::{canonicalize_key, is_primary, loose_eq, member_ids};
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Mutability, ResourceSchema, Returned};

/// Canonicalises a client-sent resource body: keys renamed to their schema-canonical casing (attributes, sub-attributes, extension URN keys matched case-insensitively); non-standard URNs tolerated (OneLogin `urn:scim:schemas:core:2.0`, `urn:scim:schemas:extension:enterprise:2.0`, the typo `...enterprise:2.0User`): map them to the standard ones; explicit nulls and empty arrays dropped (B1.11); read-only attributes (`id`, `meta`, `groups` on User) dropped; `password` dropped (never stored; B2.2); boolean strings coerced; `manager` string/array/object normalised to an object; `schemas` rewritten to the core schema plus extension URNs actually present; values otherwise kept EXACTLY as sent (no trimming, no phone/locale normalisation). Unknown top-level attributes are kept as-is. Type mismatches (e.g. `active: "maybe"`, `emails: "x"`) => 400 invalidValue naming the attribute. Missing required attributes (userName / displayName) => 400 invalidValue.
///
/// Group `members` stay in the document, normalised; [`take_members`] splits them off for
/// set-based storage.
pub fn normalize(body: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad_request(ScimType::InvalidSyntax, "resource body must be a JSON object"))?;
    let mut out = Map::new();
    for (key, value) in obj {
        place_top(&mut out, key, value, schema)?;
    }
    check_required(&out, schema)?;
    crate::extension::check_root(None, &out, schema)?;
    sync_schemas(&mut out, schema);
    Ok(Value::Object(out))
}

/// Places one top-level entry: a schema-URN object (an extension, or the core schema, which
/// some clients nest attributes in) or an attribute.
fn place_top(out: &mut Map<String, Value>, key: &str, value: &Value, rs: &ResourceSchema) -> Result<(), ScimError> {
    if key.eq_ignore_ascii_case("schemas") || value.is_null() {
        return Ok(());
    }
    let Some(s) = rs.schema_by_urn(key) else {
        return place(out, key, value, rs, None);
    };
    let Value::Object(inner) = value else {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("attribute '{key}' must be an object"),
        ));
    };
    for (k, v) in inner {
        if rs.is_core(&s.id) {
            // Keys nested under the core URN are read exactly like top-level keys.
            place_top(out, k, v, rs)?;
        } else {
            place(out, k, v, rs, Some(&s.id))?;
        }
    }
    Ok(())
}

/// Runs `f` on the object that attributes of `schema_id` live in: the root for the core
/// schema, else the extension's object under its URN (created on demand, dropped if empty).
fn with_container<R>(
    out: &mut Map<String, Value>,
    schema_id: &str,
    rs: &ResourceSchema,
    f: impl FnOnce(&mut Map<String, Value>) -> R,
) -> R {
    if rs.is_core(schema_id) {
        return f(out);
    }
    let mut ext = match out.remove(schema_id) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let result = f(&mut ext);
    if !ext.is_empty() {
        out.insert(schema_id.to_string(), Value::Object(ext));
    }
    result
}

fn place(
    out: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    rs: &ResourceSchema,
    hint: Option<&str>,
) -> Result<(), ScimError> {
    if value.is_null() {
        return Ok(());
    }
    let path = AttrPath::parse(key).ok().map(|mut p| {
        if p.schema.is_none() {
            p.schema = hint.map(str::to_string);
        }
        p
    });
    let Some(r) = path.as_ref().and_then(|p| rs.resolve(p)) else {
        // Unknown attributes are kept as sent (B1.11: but not as null or []).
        if value.as_array().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        let id = hint.unwrap_or(&rs.core.id);
        with_container(out, id, rs, |c| c.insert(key.to_string(), value.clone()));
        return Ok(());
    };
    let def = r.attr;
    // RFC 7643 §2.2: readOnly values from clients are ignored (B7); password is never stored (B2.2).
    if def.mutability == Mutability::ReadOnly
        || r.sub_attr.is_some_and(|s| s.mutability == Mutability::ReadOnly)
        || ((def.mutability == Mutability::WriteOnly || def.returned == Returned::Never) && !def.stores_write_only)
    {
        return Ok(());
    }
    with_container(out, r.schema, rs, |c| place_known(c, def, r.sub_attr, value))
}

fn place_known(
    c: &mut Map<String, Value>,
    def: &AttributeDef,
    sub_attr: Option<&AttributeDef>,
    value: &Value,
) -> Result<(), ScimError> {
    match sub_attr {
        None => {
            let Some(new) = coerce(def, value, &def.name)? else {
                return Ok(());
            };
            // Merge with sub-attributes already placed from dotted keys (`name.givenName`).
            match (c.get_mut(&def.name), new) {
                (Some(Value::Object(existing)), Value::Object(new)) if !def.multi_valued => existing.extend(new),
                (_, new) => {
                    c.insert(def.name.clone(), new);
                }
            }
        }
        Some(sub) => {
            let shown = format!("{}.{}", def.name, sub.name);
            if def.multi_valued {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("attribute '{shown}' can only be sent inside the '{}' list", def.name),
                ));
            }
            let Some(new) = coerce(sub, value, &shown)? else {
                return Ok(());
            };
            let entry = c.entry(def.name.clone()).or_insert(Value::Null);
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(obj) = entry {
                obj.insert(sub.name.clone(), new);
            }
        }
    }
    Ok(())
}

/// RFC 7643 §2.2 `required`: checks client-writable required attributes of the core schema
/// and of the extensions present (or required).
pub(crate) fn check_required(root: &Map<String, Value>, rs: &ResourceSchema) -> Result<(), ScimError> {
    let core = std::iter::once((&rs.core, true));
    for (schema, required) in core.chain(rs.extensions.iter().map(|(s, r)| (s, *r))) {
        let c = if rs.is_core(&schema.id) {
            Some(root)
        } else {
            get_ci(root, &schema.id).and_then(Value::as_object)
        };
        let Some(c) = c else {
            if required {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("required schema extension '{}' is missing", schema.id),
                ));
            }
            continue;
        };
        for attr in schema
            .attributes
            .iter()
            .filter(|a| a.required && a.mutability != Mutability::ReadOnly)
        {
            if !has_value(get_ci(c, &attr.name)) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("required attribute '{}' is missing", attr.name),
                ));
            }
        }
    }
    Ok(())
}

fn has_value(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(xs)) => !xs.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// RFC 7643 §3: `schemas` lists the core schema and the extensions the resource carries.
pub(crate) fn sync_schemas(root: &mut Map<String, Value>, rs: &ResourceSchema) {
    canonicalize_key(root, "schemas");
    let mut ids = vec![Value::String(rs.core.id.clone())];
    for (ext, _) in &rs.extensions {
        if root
            .get(&ext.id)
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty())
        {
            ids.push(Value::String(ext.id.clone()));
        }
    }
    root.insert("schemas".into(), Value::Array(ids));
}

/// Removes `members` from a normalised group document and returns the member ids, so the
/// caller stores membership set-based instead of inside the document.
pub fn take_members(doc: &mut Value) -> Result<Vec<String>, ScimError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(Vec::new());
    };
    canonicalize_key(obj, "members");
    match obj.remove("members") {
        Some(members) => member_ids(&members),
        None => Ok(Vec::new()),
    }
}

/// Reads a top-level string attribute / nested path from a normalised document (e.g. "userName", "name.givenName"), for extracting indexed columns.
pub fn get_str<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let p = AttrPath::parse(path).ok()?;
    let root = doc.as_object()?;
    let c = match &p.schema {
        Some(urn) => get_ci(root, urn).and_then(Value::as_object).unwrap_or(root),
        None => root,
    };
    let v = get_ci(c, &p.attr)?;
    match &p.sub_attr {
        None => v.as_str(),
        Some(sub) => {
            let el = match v {
                Value::Array(items) => items.first()?,
                other => other,
            };
            el.as_object().and_then(|o| get_ci(o, sub)).and_then(Value::as_str)
        }
    }
}

/// The user's primary e-mail, the one rule every reader of an e-mail uses (the indexed e-mail
/// column behind `User.email`, invites, adoption matching, lookups and sorting by e-mail): the
/// address flagged `primary`, else the first of type `work` (case-insensitive), else the first.
/// Elements without a string `value` are skipped.
pub fn primary_email(doc: &Value) -> Option<&str> {
    let emails = doc.as_object().and_then(|o| get_ci(o, "emails"))?.as_array()?;
    let is_work = |e: &&Value| {
        e.as_object()
            .and_then(|o| get_ci(o, "type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"))
    };
    emails
        .iter()
        .filter(|e| is_primary(e))
        .find_map(email_value)
        .or_else(|| emails.iter().filter(is_work).find_map(email_value))
        .or_else(|| emails.iter().find_map(email_value))
}

/// Normalised key of a case-insensitive value (RFC 7643 §2.4 caseExact=false): THE fold of
/// dirsync, stored beside every value compared case-insensitively (`user_name_key`,
/// `email_key`, `display_name_key`, `given_name_key`, `family_name_key`, groups'
/// `display_name_key`) and applied to filter values, so SQLite and PostgreSQL match alike
/// (SQLite's `lower()` folds ASCII only). Lives in this I/O-free crate so the store's writes
/// and the migrations that write keys for older rows share it.
///
/// It is Rust's `str::to_lowercase` (Unicode lower-case mapping, no locale, no case folding):
/// Ö → ö, Ж → ж, ẞ → ß but "SS" → "ss" ≠ "ß"; Σ → σ, or ς at the end of a word; I → i and
/// İ → "i̇" (i + combining dot above), while ı stays ı, so Turkish dotless ı matches neither
/// I nor i.
pub fn ci_key(s: &str) -> String {
    s.to_lowercase()
}

fn email_value(e: &Value) -> Option<&str> {
    e.as_object().and_then(|o| get_ci(o, "value")).and_then(Value::as_str)
}

/// Immutable attributes must not change on PUT (RFC 7643 §2.2): 400 mutability naming the attribute.
/// Removing a set immutable value counts as a change; immutable sub-attributes of
/// multi-valued attributes (`members.value`) are not compared, since elements have no identity.
pub fn check_immutable(old: &Value, new: &Value, schema: &ResourceSchema) -> Result<(), ScimError> {
    let empty = Map::new();
    let (Some(old_root), new_root) = (old.as_object(), new.as_object().unwrap_or(&empty)) else {
        return Ok(());
    };
    for s in schema.schemas() {
        let is_core = schema.is_core(&s.id);
        let Some(old_c) = schema_object(old_root, &s.id, is_core) else {
            continue;
        };
        let new_c = schema_object(new_root, &s.id, is_core).unwrap_or(&empty);
        for attr in &s.attributes {
            let (o, n) = (get_ci(old_c, &attr.name), get_ci(new_c, &attr.name));
            unchanged(attr, o, n, &attr.name)?;
            if attr.multi_valued {
                continue;
            }
            let (Some(Value::Object(o)), n) = (o, n) else {
                continue;
            };
            let n = n.and_then(Value::as_object).unwrap_or(&empty);
            for sub in &attr.sub_attributes {
                let shown = format!("{}.{}", attr.name, sub.name);
                unchanged(sub, get_ci(o, &sub.name), get_ci(n, &sub.name), &shown)?;
            }
        }
    }
    Ok(())
}

fn schema_object<'m>(root: &'m Map<String, Value>, schema_id: &str, is_core: bool) -> Option<&'m Map<String, Value>> {
    if is_core {
        Some(root)
    } else {
        get_ci(root, schema_id).and_then(Value::as_object)
    }
}

fn unchanged(def: &AttributeDef, old: Option<&Value>, new: Option<&Value>, shown: &str) -> Result<(), ScimError> {
    if def.mutability != Mutability::Immutable {
        return Ok(());
    }
    match (old, new) {
        (None | Some(Value::Null), _) => Ok(()),
        (Some(o), Some(n)) if loose_eq(o, n, def.case_exact) => Ok(()),
        _ => Err(ScimError::bad_request(
            ScimType::Mutability,
            format!("attribute '{shown}' is immutable"),
        )),
    }
}

#[cfg(test)]
mod tests;
