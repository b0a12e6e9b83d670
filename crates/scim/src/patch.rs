//! PATCH (RFC 7644 §3.5.2): parsing PatchOp bodies, applying operations to a resource
//! document, and splitting group-membership changes out for set-based storage.
//!
//! Leniencies from docs/idp/notes.md, accepted from every client: op names in any case (B1.1),
//! booleans as strings (B1.2), dotted and URN-prefixed keys in no-path values (B1.4),
//! member removal by value list (B1.5), filtered add/replace creating a missing entry
//! (B1.7), `manager` as string or array (B1.9), `""`/`null` replace clearing (B1.12),
//! read-only attributes inside no-path values ignored (B2.8, B7).

use serde_json::{Map, Value};

use crate::coerce::{coerce, coerce_element};
use crate::error::{ScimError, ScimType};
use crate::filter::{self, CompValue, CompareOp, Filter, get_ci, parse_bool};
use crate::path::{AttrPath, PatchPath};
use crate::resource::{check_required, sync_schemas};
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema, Returned, Schema};

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

impl PatchOpKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }

    /// Case-insensitive: Entra sends "Add", "Replace", "Remove" (B1.1).
    pub fn parse(s: &str) -> Option<Self> {
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// One PatchOp operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    /// `Some(Value::Null)` when the client sent `"value": null`, `None` when it sent no value.
    pub value: Option<Value>,
}

/// Bounds on one PatchOp request, checked before any operation is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchLimits {
    /// Most operations in one request (`DIRSYNC_MAX_PATCH_OPERATIONS`).
    pub max_operations: usize,
    /// Most values in one operation's `value` array (`DIRSYNC_MAX_PATCH_VALUES`).
    pub max_values: usize,
}

impl PatchLimits {
    /// IdPs send one to a few hundred operations, and member lists in batches well below
    /// 10,000 (Entra: 1,000 per group PATCH at most).
    pub const DEFAULT: PatchLimits = PatchLimits {
        max_operations: 1_000,
        max_values: 10_000,
    };
}

impl Default for PatchLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// [`parse_request_with`] within [`PatchLimits::DEFAULT`].
pub fn parse_request(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    parse_request_with(body, &PatchLimits::DEFAULT)
}

/// Parses a PatchOp request body within `limits` (400 tooMany above them). Lenient: op any case ("Add","REPLACE"); missing/odd `schemas` tolerated; `Operations` empty => Ok(vec![]); unknown op => 400 invalidSyntax; bad path => 400 invalidPath; add/replace without value => 400 invalidValue.
pub fn parse_request_with(body: &Value, limits: &PatchLimits) -> Result<Vec<PatchOperation>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad_request(ScimType::InvalidSyntax, "PATCH body must be a JSON object"))?;
    let ops = match get_ci(obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "'Operations' must be an array",
            ));
        }
        None => {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "PATCH body has no 'Operations'",
            ));
        }
    };
    if ops.len() > limits.max_operations {
        return Err(ScimError::bad_request(
            ScimType::TooMany,
            format!(
                "PATCH has {} operations, more than the limit of {} (DIRSYNC_MAX_PATCH_OPERATIONS)",
                ops.len(),
                limits.max_operations
            ),
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        let values = op.as_object().and_then(|o| get_ci(o, "value")).map_or(0, count_values);
        if values > limits.max_values {
            return Err(ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "operation {i} has {values} values, more than the limit of {} (DIRSYNC_MAX_PATCH_VALUES)",
                    limits.max_values
                ),
            ));
        }
    }
    ops.iter().enumerate().map(|(i, op)| parse_operation(i, op)).collect()
}

/// The values an operation carries: the elements of an array, or of the arrays inside a
/// no-path object (`{"members": [...]}`), one level deep.
fn count_values(v: &Value) -> usize {
    match v {
        Value::Array(xs) => xs.len(),
        Value::Object(o) => o
            .values()
            .map(|x| x.as_array().map_or(1, Vec::len))
            .fold(0, usize::saturating_add),
        _ => 1,
    }
}

fn parse_operation(i: usize, v: &Value) -> Result<PatchOperation, ScimError> {
    let syntax = |detail: String| ScimError::bad_request(ScimType::InvalidSyntax, detail);
    let obj = v
        .as_object()
        .ok_or_else(|| syntax(format!("operation {i} must be an object")))?;
    let op_name = get_ci(obj, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| syntax(format!("operation {i} has no 'op'")))?;
    let op = PatchOpKind::parse(op_name).ok_or_else(|| syntax(format!("operation {i} has unknown op '{op_name}'")))?;
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s)?),
        Some(other) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("operation {i} has a non-string path {other}"),
            ));
        }
    };
    let value = get_ci(obj, "value").cloned();
    if op != PatchOpKind::Remove && value.is_none() {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("operation {i} ({}) needs a 'value'", op.as_str()),
        ));
    }
    Ok(PatchOperation { op, path, value })
}

/// Applies operations in order to a resource document (the full SCIM JSON object minus
/// `id`/`meta`), atomically: on error `doc` is left unchanged (RFC 7644 §3.5.2: "each
/// operation ... MUST be applied ... or the entire request fails").
///
/// Writes to `password` (writeOnly, returned never) are dropped: it is never stored (B2.2).
pub fn apply(doc: &mut Value, ops: &[PatchOperation], schema: &ResourceSchema) -> Result<(), ScimError> {
    let mut work = doc.clone();
    let root = work
        .as_object_mut()
        .ok_or_else(|| ScimError::new(500, None, "stored resource document is not a JSON object"))?;
    for op in ops {
        apply_one(root, op, schema)?;
    }
    check_required(root, schema)?;
    crate::extension::check_root(doc.as_object(), root, schema)?;
    if root.contains_key("schemas") {
        sync_schemas(root, schema);
    }
    *doc = work;
    Ok(())
}

/// Whether a path was named by the client (errors on read-only targets) or is a key of a
/// no-path value object (read-only targets are skipped: Okta sends `id`, B2.8).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Path,
    ValueKey,
}

fn apply_one(root: &mut Map<String, Value>, op: &PatchOperation, rs: &ResourceSchema) -> Result<(), ScimError> {
    match (&op.path, op.op) {
        // RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with ... "noTarget"".
        (None, PatchOpKind::Remove) => Err(ScimError::bad_request(ScimType::NoTarget, "remove requires a path")),
        (None, kind) => match &op.value {
            Some(Value::Object(obj)) => apply_object(root, obj, kind, rs, None),
            _ => Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("{} without a path needs an object value", kind.as_str()),
            )),
        },
        (Some(path), kind) => apply_path(root, path, kind, op.value.as_ref(), rs, Origin::Path),
    }
}

/// RFC 7644 §3.5.2.1/§3.5.2.3 with no path: each key of the value is an attribute path
/// (B1.4: `name.givenName`, `urn:...:User:employeeNumber`) or an extension URN.
fn apply_object(
    root: &mut Map<String, Value>,
    obj: &Map<String, Value>,
    kind: PatchOpKind,
    rs: &ResourceSchema,
    schema_hint: Option<&str>,
) -> Result<(), ScimError> {
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if schema_hint.is_none()
            && let Some(schema) = rs.schema_by_urn(key)
        {
            apply_schema_value(root, schema, kind, Some(value), rs)?;
            continue;
        }
        // Keys are full PATCH paths: Entra's flagged no-path replace sends value-filtered
        // keys like `emails[type eq "work"].value` beside dotted ones (B1.4, [MS-compat]).
        let mut path = PatchPath::parse(key).map_err(|_| unknown_path(key))?;
        if path.attr.schema.is_none() {
            path.attr.schema = schema_hint.map(str::to_string);
        }
        apply_path(root, &path, kind, Some(value), rs, Origin::ValueKey)?;
    }
    Ok(())
}

/// An operation addressed to a whole schema by its URN: `{"urn:...:enterprise:2.0:User": {...}}`
/// in a no-path value, or `path: "urn:...:enterprise:2.0:User"`.
fn apply_schema_value(
    root: &mut Map<String, Value>,
    schema: &Schema,
    kind: PatchOpKind,
    value: Option<&Value>,
    rs: &ResourceSchema,
) -> Result<(), ScimError> {
    let is_core = rs.is_core(&schema.id);
    match (kind, value) {
        (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
            if is_core {
                return Err(ScimError::bad_request(
                    ScimType::NoTarget,
                    "the core schema cannot be removed as a whole",
                ));
            }
            remove_key_ci(root, &schema.id);
            Ok(())
        }
        // Keys under the core URN are read like top-level keys.
        (_, Some(Value::Object(obj))) => apply_object(root, obj, kind, rs, (!is_core).then_some(schema.id.as_str())),
        (_, Some(other)) => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("value for '{}' must be an object, got {other}", schema.id),
        )),
    }
}

fn unknown_path(path: &str) -> ScimError {
    ScimError::bad_request(ScimType::InvalidPath, format!("unknown attribute path '{path}'"))
}

fn mutability_error(path: &str, what: &str) -> ScimError {
    ScimError::bad_request(ScimType::Mutability, format!("attribute '{path}' is {what}"))
}

/// `null` and `""` clear the target (B1.12: Entra's validator expects them to read back empty).
fn is_clearing(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Null) | None => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Everything an operation on one attribute needs, resolved once.
struct Target<'a> {
    /// Schema id of the container (core => document root).
    schema_id: &'a str,
    def: &'a AttributeDef,
    sub: Option<&'a AttributeDef>,
    filter: Option<&'a Filter>,
    /// The path as the client wrote it, for error details.
    shown: String,
}

fn apply_path(
    root: &mut Map<String, Value>,
    path: &PatchPath,
    kind: PatchOpKind,
    value: Option<&Value>,
    rs: &ResourceSchema,
    origin: Origin,
) -> Result<(), ScimError> {
    let shown = path.to_string();
    let attr_only = AttrPath {
        schema: path.attr.schema.clone(),
        attr: path.attr.attr.clone(),
        sub_attr: None,
    };
    let Some(resolved) = rs.resolve(&attr_only) else {
        // `path: "urn:...:enterprise:2.0:User"` parses as URN "...:2.0" + attribute "User".
        if path.filter.is_none()
            && path.attr.sub_attr.is_none()
            && path.sub_attr.is_none()
            && let Some(urn) = &path.attr.schema
            && let Some(schema) = rs.schema_by_urn(&format!("{urn}:{}", path.attr.attr))
        {
            return apply_schema_value(root, schema, kind, value, rs);
        }
        return Err(unknown_path(&shown));
    };
    let def = resolved.attr;
    let sub_name = match (&path.attr.sub_attr, &path.sub_attr) {
        (Some(_), Some(_)) => return Err(unknown_path(&shown)),
        (a, b) => a.as_deref().or(b.as_deref()),
    };
    let sub = match sub_name {
        Some(n) => Some(def.sub_attribute(n).ok_or_else(|| unknown_path(&shown))?),
        None => None,
    };
    if path.filter.is_some() && !def.multi_valued {
        return Err(ScimError::bad_request(
            ScimType::InvalidPath,
            format!("'{shown}' filters a single-valued attribute"),
        ));
    }
    // RFC 7643 §2.2 readOnly: "SHALL NOT be modified"; ignored inside no-path values (B7).
    if def.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return match origin {
            Origin::ValueKey => Ok(()),
            Origin::Path => Err(mutability_error(&shown, "readOnly")),
        };
    }
    // Never stored (B2.2), so there is nothing to write.
    if (def.mutability == Mutability::WriteOnly || def.returned == Returned::Never) && !def.stores_write_only {
        return Ok(());
    }
    let target = Target {
        schema_id: resolved.schema,
        def,
        sub,
        filter: path.filter.as_ref(),
        shown,
    };
    let is_core = rs.is_core(target.schema_id);
    let create = kind != PatchOpKind::Remove && !is_clearing(value);
    let Some(container) = container_mut(root, target.schema_id, is_core, create) else {
        // Nothing stored for this extension: removing from it is a no-op, unless a filter
        // was expected to match (RFC 7644 §3.5.2: noTarget).
        return match target.filter {
            Some(_) if !is_members(def) => Err(no_target(&target)),
            _ => Ok(()),
        };
    };
    let result = match (target.filter, kind) {
        (Some(_), PatchOpKind::Remove) => remove_filtered(container, &target, rs, true),
        (Some(_), _) if is_clearing(value) => remove_filtered(container, &target, rs, false),
        (Some(_), _) => write_filtered(container, &target, value, rs),
        (None, PatchOpKind::Remove) => remove_unfiltered(container, &target, value),
        (None, _) if is_clearing(value) => remove_unfiltered(container, &target, None),
        (None, _) => write_unfiltered(container, &target, kind, value),
    };
    if !is_core && container.is_empty() {
        root.remove(target.schema_id);
    }
    result
}

fn no_target(t: &Target<'_>) -> ScimError {
    ScimError::bad_request(ScimType::NoTarget, format!("no value matches the path '{}'", t.shown))
}

/// Group members: removing a non-member is success (B7 idempotence).
fn is_members(def: &AttributeDef) -> bool {
    def.name.eq_ignore_ascii_case("members")
}

/// The object holding the attribute: the root for the core schema, else the extension's
/// object under its URN key (renamed to the canonical URN).
fn container_mut<'m>(
    root: &'m mut Map<String, Value>,
    schema_id: &str,
    is_core: bool,
    create: bool,
) -> Option<&'m mut Map<String, Value>> {
    if is_core {
        return Some(root);
    }
    canonicalize_key(root, schema_id);
    if create && !root.get(schema_id).is_some_and(Value::is_object) {
        root.insert(schema_id.to_string(), Value::Object(Map::new()));
    }
    root.get_mut(schema_id).and_then(Value::as_object_mut)
}

/// Renames case-variants of `name` to `name` (RFC 7643 §2.1: names are case-insensitive,
/// and we write back the schema's spelling). Returns whether the key is present.
pub(crate) fn canonicalize_key(map: &mut Map<String, Value>, name: &str) -> bool {
    let variants: Vec<String> = map
        .keys()
        .filter(|k| k.as_str() != name && k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    for k in variants {
        if let Some(v) = map.remove(&k)
            && !map.contains_key(name)
        {
            map.insert(name.to_string(), v);
        }
    }
    map.contains_key(name)
}

fn remove_key_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    canonicalize_key(map, name);
    map.remove(name)
}

/// RFC 7643 §2.2 immutable: may be set when absent; changing an existing value is refused.
fn check_immutable(
    def: &AttributeDef,
    existing: Option<&Value>,
    new: Option<&Value>,
    shown: &str,
) -> Result<(), ScimError> {
    if def.mutability != Mutability::Immutable {
        return Ok(());
    }
    match existing {
        Some(old) if !old.is_null() && Some(old) != new => Err(mutability_error(shown, "immutable")),
        _ => Ok(()),
    }
}

fn write_unfiltered(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let value = value.unwrap_or(&Value::Null);
    let name = t.def.name.as_str();
    canonicalize_key(container, name);
    if let Some(sub) = t.sub {
        return write_sub_everywhere(container, t, sub, value);
    }
    let Some(new) = coerce(t.def, value, &t.shown)? else {
        // An empty list or object: add has nothing to add, replace clears.
        if kind == PatchOpKind::Replace {
            check_immutable(t.def, container.get(name), None, &t.shown)?;
            container.remove(name);
        }
        return Ok(());
    };
    if t.def.multi_valued {
        let Value::Array(new_items) = new else {
            return Ok(());
        };
        if kind == PatchOpKind::Replace {
            // RFC 7644 §3.5.2.3: replace on a multi-valued attribute replaces all values.
            check_immutable(
                t.def,
                container.get(name),
                Some(&Value::Array(new_items.clone())),
                &t.shown,
            )?;
            let mut items = new_items;
            enforce_single_primary(&mut items, None);
            container.insert(name.to_string(), Value::Array(items));
        } else {
            // RFC 7644 §3.5.2.1: add appends; values already present are not duplicated.
            let mut items = take_array(container, name);
            let mut winner = None;
            for item in new_items {
                if items.iter().any(|old| same_element(t.def, old, &item)) {
                    continue;
                }
                if is_primary(&item) {
                    winner = winner.or(Some(items.len()));
                }
                items.push(item);
            }
            enforce_single_primary(&mut items, winner);
            put_array(container, name, items);
        }
        return Ok(());
    }
    if t.def.attr_type == AttrType::Complex {
        // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes given replace or add; others are kept.
        let Value::Object(new_obj) = new else {
            return Ok(());
        };
        let mut obj = take_object(container, name);
        for (k, v) in new_obj {
            if let Some(sub) = t.def.sub_attribute(&k) {
                canonicalize_key(&mut obj, &sub.name);
                check_immutable(sub, obj.get(&sub.name), Some(&v), &format!("{}.{}", t.shown, sub.name))?;
            }
            obj.insert(k, v);
        }
        put_object(container, name, obj);
        return Ok(());
    }
    check_immutable(t.def, container.get(name), Some(&new), &t.shown)?;
    container.insert(name.to_string(), new);
    Ok(())
}

/// `name.givenName` / `manager.value` on a single-valued complex attribute, or an
/// unfiltered `emails.value`, which RFC 7644 §3.5.2 applies to every element.
fn write_sub_everywhere(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    sub: &AttributeDef,
    value: &Value,
) -> Result<(), ScimError> {
    let name = t.def.name.as_str();
    let Some(new) = coerce(sub, value, &t.shown)? else {
        return remove_sub_everywhere(container, t, sub);
    };
    if t.def.multi_valued {
        let mut items = take_array(container, name);
        if items.is_empty() {
            let mut el = Map::new();
            el.insert(sub.name.clone(), new);
            items.push(Value::Object(el));
        } else {
            for item in items.iter_mut() {
                if let Value::Object(el) = item {
                    canonicalize_key(el, &sub.name);
                    check_immutable(sub, el.get(&sub.name), Some(&new), &t.shown)?;
                    el.insert(sub.name.clone(), new.clone());
                }
            }
            enforce_single_primary(&mut items, None);
        }
        put_array(container, name, items);
        return Ok(());
    }
    let mut obj = take_object(container, name);
    canonicalize_key(&mut obj, &sub.name);
    check_immutable(sub, obj.get(&sub.name), Some(&new), &t.shown)?;
    obj.insert(sub.name.clone(), new);
    put_object(container, name, obj);
    Ok(())
}

fn remove_sub_everywhere(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    sub: &AttributeDef,
) -> Result<(), ScimError> {
    let name = t.def.name.as_str();
    match container.get_mut(name) {
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                if let Value::Object(el) = item {
                    check_immutable(sub, get_ci(el, &sub.name), None, &t.shown)?;
                    remove_key_ci(el, &sub.name);
                }
            }
            // An element without its `value` is meaningless (RFC 7643 §2.4).
            if sub.name == "value" {
                items.retain(|el| el.as_object().is_some_and(|o| get_ci(o, "value").is_some()));
            }
            if items.is_empty() {
                container.remove(name);
            }
        }
        Some(Value::Object(obj)) => {
            check_immutable(sub, get_ci(obj, &sub.name), None, &t.shown)?;
            remove_key_ci(obj, &sub.name);
            if obj.is_empty() {
                container.remove(name);
            }
        }
        _ => {}
    }
    Ok(())
}

fn remove_unfiltered(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = t.def.name.as_str();
    canonicalize_key(container, name);
    if let Some(sub) = t.sub {
        return remove_sub_everywhere(container, t, sub);
    }
    // Remove with a value list removes just those values, never the whole attribute (B1.5).
    if t.def.multi_valued
        && let Some(given) = value.filter(|v| !v.is_null())
    {
        let given: Vec<&Value> = match given {
            Value::Array(xs) => xs.iter().collect(),
            other => vec![other],
        };
        let mut items = take_array(container, name);
        items.retain(|el| !given.iter().any(|g| subset_match(t.def, g, el)));
        put_array(container, name, items);
        return Ok(());
    }
    check_immutable(t.def, container.get(name), None, &t.shown)?;
    container.remove(name);
    Ok(())
}

/// Indices of the elements of a multi-valued attribute that the value filter selects.
fn matching_indices(items: &[Value], filter: &Filter, def: &AttributeDef, rs: &ResourceSchema) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, el)| filter::matches(filter, el, Some(rs), Some(def)))
        .map(|(i, _)| i)
        .collect()
}

/// Filtered remove (RFC 7644 §3.5.2.2), or a filtered add/replace with an empty value
/// (`strict == false`: nothing to clear is not an error).
fn remove_filtered(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    rs: &ResourceSchema,
    strict: bool,
) -> Result<(), ScimError> {
    let Some(filter) = t.filter else {
        return Ok(());
    };
    let name = t.def.name.as_str();
    canonicalize_key(container, name);
    let matched = match container.get(name) {
        Some(Value::Array(items)) => matching_indices(items, filter, t.def, rs),
        Some(single @ Value::Object(_)) => matching_indices(std::slice::from_ref(single), filter, t.def, rs),
        _ => Vec::new(),
    };
    if matched.is_empty() {
        return if strict && !is_members(t.def) {
            Err(no_target(t))
        } else {
            Ok(())
        };
    }
    let Some(Value::Array(items)) = container.get_mut(name) else {
        container.remove(name);
        return Ok(());
    };
    match t.sub {
        None => {
            let mut i = 0;
            items.retain(|_| {
                let keep = !matched.contains(&i);
                i += 1;
                keep
            });
        }
        Some(sub) => {
            for &i in &matched {
                if let Some(Value::Object(el)) = items.get_mut(i) {
                    check_immutable(sub, get_ci(el, &sub.name), None, &t.shown)?;
                    remove_key_ci(el, &sub.name);
                }
            }
            // Entra's `remove emails[type eq "work"].value` means "drop the work e-mail".
            if sub.name == "value" {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            }
        }
    }
    if items.is_empty() {
        container.remove(name);
    }
    Ok(())
}

/// Filtered add/replace (RFC 7644 §3.5.2.3): updates the matching elements; when none
/// matches and the filter is a conjunction of `eq`s, creates the element (B1.7).
fn write_filtered(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    value: Option<&Value>,
    rs: &ResourceSchema,
) -> Result<(), ScimError> {
    let Some(filter) = t.filter else {
        return Ok(());
    };
    let value = value.unwrap_or(&Value::Null);
    let name = t.def.name.as_str();
    canonicalize_key(container, name);
    // The new content: one sub-attribute, or an element (merged into complex elements).
    let new = match t.sub {
        Some(sub) => coerce(sub, value, &t.shown)?,
        None => coerce_element(t.def, value, &t.shown)?,
    };
    let Some(new) = new else {
        return remove_filtered(container, t, rs, false);
    };
    let mut items = take_array(container, name);
    let matched = matching_indices(&items, filter, t.def, rs);
    let winner;
    if matched.is_empty() {
        let mut el = materialise(filter, t.def).ok_or_else(|| no_target(t))?;
        match (t.sub, new) {
            (Some(sub), v) => {
                el.insert(sub.name.clone(), v);
            }
            (None, Value::Object(obj)) => el.extend(obj),
            (None, _) => return Err(no_target(t)),
        }
        let el = coerce_element(t.def, &Value::Object(el), &t.shown)?.ok_or_else(|| no_target(t))?;
        winner = is_primary(&el).then_some(items.len());
        items.push(el);
    } else {
        for &i in &matched {
            let Some(item) = items.get_mut(i) else {
                continue;
            };
            match (t.sub, item) {
                (Some(sub), Value::Object(el)) => {
                    canonicalize_key(el, &sub.name);
                    check_immutable(sub, el.get(&sub.name), Some(&new), &t.shown)?;
                    el.insert(sub.name.clone(), new.clone());
                }
                (None, Value::Object(el)) => {
                    let Value::Object(obj) = &new else {
                        return Err(ScimError::bad_request(
                            ScimType::InvalidValue,
                            format!("value for '{}' must be an object", t.shown),
                        ));
                    };
                    for (k, v) in obj {
                        if let Some(sub) = t.def.sub_attribute(k) {
                            canonicalize_key(el, &sub.name);
                            check_immutable(sub, el.get(&sub.name), Some(v), &t.shown)?;
                        }
                        el.insert(k.clone(), v.clone());
                    }
                }
                // Simple multi-valued attributes: the element is the value.
                (_, item) => *item = new.clone(),
            }
        }
        winner = matched.iter().copied().find(|&i| items.get(i).is_some_and(is_primary));
    }
    enforce_single_primary(&mut items, winner);
    put_array(container, name, items);
    Ok(())
}

/// The element a filter of `eq`s describes (`type eq "work"` => `{"type":"work"}`), with
/// sub-attribute names in their canonical spelling; `None` when the filter is anything else.
fn materialise(filter: &Filter, def: &AttributeDef) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.schema.is_none() && path.sub_attr.is_none() => {
            let sub = def.sub_attribute(&path.attr)?;
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            let mut m = Map::new();
            m.insert(sub.name.clone(), v);
            Some(m)
        }
        Filter::And(xs) => {
            let mut m = Map::new();
            for x in xs {
                for (k, v) in materialise(x, def)? {
                    if m.get(&k).is_some_and(|old| old != &v) {
                        return None;
                    }
                    m.insert(k, v);
                }
            }
            Some(m)
        }
        _ => None,
    }
}

/// Takes a multi-valued attribute out of its container (a stray single value becomes a
/// one-element list); [`put_array`] puts it back. A failed request discards the working copy,
/// so nothing is lost on early returns.
fn take_array(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match container.remove(name) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Stores a multi-valued attribute; an empty list is stored as absent (RFC 7643 §2.4).
fn put_array(container: &mut Map<String, Value>, name: &str, items: Vec<Value>) {
    if !items.is_empty() {
        container.insert(name.to_string(), Value::Array(items));
    }
}

fn take_object(container: &mut Map<String, Value>, name: &str) -> Map<String, Value> {
    match container.remove(name) {
        Some(Value::Object(obj)) => obj,
        _ => Map::new(),
    }
}

fn put_object(container: &mut Map<String, Value>, name: &str, obj: Map<String, Value>) {
    if !obj.is_empty() {
        container.insert(name.to_string(), Value::Object(obj));
    }
}

pub(crate) fn is_primary(v: &Value) -> bool {
    match v.as_object().and_then(|o| get_ci(o, "primary")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => parse_bool(s) == Some(true),
        _ => false,
    }
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
/// The element just written wins; otherwise the first one.
fn enforce_single_primary(items: &mut [Value], winner: Option<usize>) {
    let primaries: Vec<usize> = (0..items.len())
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .collect();
    if primaries.len() < 2 {
        return;
    }
    let keep = winner.filter(|w| primaries.contains(w)).or(primaries.first().copied());
    for i in primaries {
        if Some(i) == keep {
            continue;
        }
        if let Some(Value::Object(el)) = items.get_mut(i) {
            canonicalize_key(el, "primary");
            el.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// Whether an appended element duplicates an existing one: equal JSON, or for members
/// (whose `value` is immutable) the same `value` (B1.6: re-adding a member succeeds).
fn same_element(def: &AttributeDef, old: &Value, new: &Value) -> bool {
    if old == new {
        return true;
    }
    let keyed = def
        .sub_attribute("value")
        .is_some_and(|v| v.mutability == Mutability::Immutable);
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if keyed => match (get_ci(a, "value"), get_ci(b, "value")) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

/// Whether `el` matches a value given for removal: every non-null key of `given` is equal
/// in `el` (strings compared per the sub-attribute's caseExact).
fn subset_match(def: &AttributeDef, given: &Value, el: &Value) -> bool {
    match (given, el) {
        (Value::Object(g), Value::Object(e)) => {
            let mut keys = g.iter().filter(|(_, v)| !v.is_null()).peekable();
            keys.peek().is_some()
                && keys.all(|(k, gv)| {
                    let case_exact = def.sub_attribute(k).is_some_and(|s| s.case_exact);
                    get_ci(e, k).is_some_and(|ev| loose_eq(ev, gv, case_exact))
                })
        }
        (g, e) => loose_eq(e, g, def.case_exact),
    }
}

pub(crate) fn loose_eq(a: &Value, b: &Value, case_exact: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !case_exact => x.to_lowercase() == y.to_lowercase(),
        (Value::Bool(x), Value::String(y)) | (Value::String(y), Value::Bool(x)) => parse_bool(y) == Some(*x),
        _ => a == b,
    }
}

mod members;

pub(crate) use members::member_ids;
pub use members::{MemberChange, split_member_ops};

#[cfg(test)]
mod tests;
