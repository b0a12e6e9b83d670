//! Group membership changes split out of PATCH requests (RFC 7644 §3.5.2 on `members`),
//! so the caller runs set-based statements instead of rewriting member lists. Covers the
//! Entra (B1.5, B1.6) and Okta (B2.8) shapes.

use std::collections::HashSet;

use serde_json::Value;

use super::{PatchOpKind, PatchOperation};
use crate::error::{ScimError, ScimType};
use crate::filter::{CompValue, CompareOp, Filter, get_ci};
use crate::path::{AttrPath, PatchPath};
use crate::schema::GROUP_SCHEMA;

/// Group membership ops split out so the caller can run them as set-based DB statements instead of rewriting the member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

/// Splits ops into (ops for the document, member changes in request order). Handles: add path=members value=[{value,$ref?,display?}]; remove path=members[value eq "x"] (also `or` of several eq); remove path=members with value array (Entra: remove only those, NEVER all); remove path=members no value => RemoveAll; replace path=members value=[...] (incl. []) => Replace; no-path add/replace whose value object contains "members" => the member part becomes Add/Replace and the rest stays a doc op (a no-path replace WITHOUT members must not touch members). members[...] filters on anything other than `value` => 400 invalidFilter/noTarget with a clear detail.
pub fn split_member_ops(ops: Vec<PatchOperation>) -> Result<(Vec<PatchOperation>, Vec<MemberChange>), ScimError> {
    let mut doc_ops = Vec::new();
    let mut changes = Vec::new();
    for op in ops {
        match &op.path {
            Some(path) if is_members_path(&path.attr) => {
                changes.extend(member_change(&op, path)?);
            }
            None if op.op != PatchOpKind::Remove => {
                let (rest, change) = split_no_path(op)?;
                changes.extend(change);
                doc_ops.extend(rest);
            }
            _ => doc_ops.push(op),
        }
    }
    Ok((doc_ops, changes))
}

fn is_members_path(p: &AttrPath) -> bool {
    p.attr.eq_ignore_ascii_case("members") && p.schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
}

fn member_change(op: &PatchOperation, path: &PatchPath) -> Result<Option<MemberChange>, ScimError> {
    if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::bad_request(
            ScimType::InvalidPath,
            format!("'{path}': members are patched as a whole or selected with members[value eq \"<id>\"]"),
        ));
    }
    let change = match (op.op, &path.filter) {
        (PatchOpKind::Remove, Some(filter)) => Some(MemberChange::Remove(member_filter_ids(filter)?)),
        (PatchOpKind::Remove, None) => match &op.value {
            // RFC 7644 §3.5.2.2: remove without a filter or value removes all members.
            None | Some(Value::Null) => Some(MemberChange::RemoveAll),
            // B1.5: Entra's value list removes only those members.
            Some(v) => {
                let ids = member_ids(v)?;
                (!ids.is_empty()).then_some(MemberChange::Remove(ids))
            }
        },
        (PatchOpKind::Add, None) => {
            let ids = member_ids(op.value.as_ref().unwrap_or(&Value::Null))?;
            (!ids.is_empty()).then_some(MemberChange::Add(ids))
        }
        (PatchOpKind::Replace, None) => Some(MemberChange::Replace(member_ids(
            op.value.as_ref().unwrap_or(&Value::Null),
        )?)),
        (kind, Some(_)) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!(
                    "'{} {path}': members cannot be added or replaced through a filter; use remove and add",
                    kind.as_str()
                ),
            ));
        }
    };
    Ok(change)
}

/// Member ids from `[{"value": id, "$ref"?, "display"?}, ...]` (a lone object or plain id
/// strings are accepted too), de-duplicated in order.
pub(crate) fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::Array(xs) => xs.iter().collect(),
        other => vec![other],
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
    for item in items {
        let id = match item {
            Value::Null => continue,
            Value::String(s) => s.as_str(),
            Value::Object(o) => match get_ci(o, "value") {
                Some(Value::String(s)) => s.as_str(),
                _ => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("member {item} needs a string 'value' with the member id"),
                    ));
                }
            },
            other => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("member {other} must be an object with a 'value'"),
                ));
            }
        };
        if id.is_empty() {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "member 'value' must not be empty",
            ));
        }
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// Ids selected by `value eq "a"` or `value eq "a" or value eq "b"` (Okta, Entra with flag).
fn member_filter_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    fn id(f: &Filter) -> Option<&str> {
        match f {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(id))
                if p.schema.is_none() && p.sub_attr.is_none() && p.attr.eq_ignore_ascii_case("value") =>
            {
                Some(id)
            }
            _ => None,
        }
    }
    let terms = match filter {
        Filter::Or(xs) => xs.as_slice(),
        one => std::slice::from_ref(one),
    };
    let mut seen = HashSet::with_capacity(terms.len());
    let ids: Option<Vec<String>> = terms
        .iter()
        .filter_map(|t| match id(t) {
            Some(id) if !seen.insert(id) => None,
            other => Some(other.map(str::to_owned)),
        })
        .collect();
    if let Some(ids) = ids {
        Ok(ids)
    } else {
        Err(ScimError::bad_request(
            ScimType::InvalidFilter,
            format!(
                "members can only be selected by id, as members[value eq \"<id>\"] optionally joined with 'or'; got members[{filter}]"
            ),
        ))
    }
}

/// Splits the `members` key out of a no-path add/replace value (B1.14, B2.8).
fn split_no_path(op: PatchOperation) -> Result<(Option<PatchOperation>, Option<MemberChange>), ScimError> {
    let Some(Value::Object(obj)) = &op.value else {
        return Ok((Some(op), None));
    };
    let key = obj
        .keys()
        .find(|k| AttrPath::parse(k).is_ok_and(|p| p.sub_attr.is_none() && is_members_path(&p)));
    let Some(key) = key.cloned() else {
        return Ok((Some(op), None));
    };
    let mut rest = obj.clone();
    let members = rest.remove(&key).unwrap_or(Value::Null);
    let ids = member_ids(&members)?;
    let change = match op.op {
        PatchOpKind::Replace => Some(MemberChange::Replace(ids)),
        _ => (!ids.is_empty()).then_some(MemberChange::Add(ids)),
    };
    let rest_op = (!rest.is_empty()).then_some(PatchOperation {
        op: op.op,
        path: None,
        value: Some(Value::Object(rest)),
    });
    Ok((rest_op, change))
}
