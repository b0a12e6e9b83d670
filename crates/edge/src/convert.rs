//! SCIM <-> gRPC: filters and sorts become typed trees resolved against the resource schema;
//! resources become specs with their indexed fields; core records become SCIM resources.

use dirsync_proto::Timestamp;
use dirsync_proto::v1 as pb;
use dirsync_scim::filter::{CompValue, CompareOp, Filter};
use dirsync_scim::path::AttrPath;
use dirsync_scim::schema::{AttrType, AttributeDef, ResourceSchema};
use dirsync_scim::{ScimType, resource};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ApiResult};

fn invalid_filter(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(ScimType::InvalidFilter, detail)
}

/// An attribute path resolved against the schema, and the definition of what it names.
fn root_path<'a>(p: &AttrPath, rs: &'a ResourceSchema) -> (pb::AttributePath, Option<&'a AttributeDef>) {
    match rs.resolve(p) {
        Some(r) => {
            let leaf = r.sub_attr.or_else(|| {
                // `emails eq "x"` compares the `value` sub-attribute.
                (r.attr.attr_type == AttrType::Complex)
                    .then(|| r.attr.sub_attribute("value"))
                    .flatten()
            });
            (
                pb::AttributePath {
                    schema: if rs.is_core(r.schema) {
                        String::new()
                    } else {
                        r.schema.to_owned()
                    },
                    name: r.attr.name.clone(),
                    sub_attribute: r.sub_attr.map(|s| s.name.clone()).unwrap_or_default(),
                    multi_valued: r.attr.multi_valued,
                },
                leaf.or(Some(r.attr)),
            )
        }
        // Attributes outside the schema are stored as sent, so they can still be filtered.
        None => (
            pb::AttributePath {
                schema: p.schema.clone().unwrap_or_default(),
                name: p.attr.clone(),
                sub_attribute: p.sub_attr.clone().unwrap_or_default(),
                multi_valued: false,
            },
            None,
        ),
    }
}

fn element_path<'a>(p: &AttrPath, parent: Option<&'a AttributeDef>) -> (pb::AttributePath, Option<&'a AttributeDef>) {
    let def = parent.and_then(|d| d.sub_attribute(&p.attr));
    (
        pb::AttributePath {
            schema: String::new(),
            name: def.map_or_else(|| p.attr.clone(), |d| d.name.clone()),
            sub_attribute: p.sub_attr.clone().unwrap_or_default(),
            multi_valued: false,
        },
        def,
    )
}

fn op(o: CompareOp) -> pb::CompareOp {
    match o {
        CompareOp::Eq => pb::CompareOp::Eq,
        CompareOp::Ne => pb::CompareOp::Ne,
        CompareOp::Co => pb::CompareOp::Co,
        CompareOp::Sw => pb::CompareOp::Sw,
        CompareOp::Ew => pb::CompareOp::Ew,
        CompareOp::Gt => pb::CompareOp::Gt,
        CompareOp::Ge => pb::CompareOp::Ge,
        CompareOp::Lt => pb::CompareOp::Lt,
        CompareOp::Le => pb::CompareOp::Le,
    }
}

/// Types a literal by the attribute it is compared with (RFC 7644 §3.4.2.2: booleans and
/// dates compare as such; Entra quotes its booleans).
fn value(v: &CompValue, def: Option<&AttributeDef>, path: &pb::AttributePath) -> ApiResult<pb::FilterValue> {
    use pb::filter_value::Kind;
    let ty = def.map(|d| d.attr_type);
    let kind = match v {
        CompValue::Str(s) => match ty {
            Some(AttrType::DateTime) => {
                let t = OffsetDateTime::parse(s, &Rfc3339)
                    .map_err(|_| invalid_filter(format!("{:?} is not an RFC 3339 date-time (for {})", s, path.name)))?;
                Kind::DateTime(Timestamp {
                    seconds: t.unix_timestamp(),
                    nanos: t.nanosecond() as i32,
                })
            }
            Some(AttrType::Boolean) if s.eq_ignore_ascii_case("true") => Kind::Boolean(true),
            Some(AttrType::Boolean) if s.eq_ignore_ascii_case("false") => Kind::Boolean(false),
            Some(AttrType::Boolean) => {
                return Err(invalid_filter(format!(
                    "{} compares with true or false, not {s:?}",
                    path.name
                )));
            }
            _ => Kind::String(s.clone()),
        },
        CompValue::Bool(b) => Kind::Boolean(*b),
        CompValue::Num(n) => Kind::Number(n.as_f64().unwrap_or_default()),
        CompValue::Null => Kind::Null(true),
    };
    Ok(pb::FilterValue { kind: Some(kind) })
}

fn wrap(kind: pb::filter::Kind) -> pb::Filter {
    pb::Filter { kind: Some(kind) }
}

/// A parsed SCIM filter as the core's typed tree, after the filter compatibility rules
/// (`dirsync_scim::compat`: PingOne's `email`, Entra's `manager eq`).
pub fn filter(f: &Filter, rs: &ResourceSchema) -> ApiResult<pb::Filter> {
    convert(&dirsync_scim::compat::rewrite_filter(f, rs), rs, None)
}

fn convert(f: &Filter, rs: &ResourceSchema, element_of: Option<Option<&AttributeDef>>) -> ApiResult<pb::Filter> {
    let resolve = |p: &AttrPath| match element_of {
        Some(parent) => element_path(p, parent),
        None => root_path(p, rs),
    };
    Ok(match f {
        // n-ary lists stay n-ary on the wire: the message is as deep as the filter's
        // parentheses, never as long as its list of terms.
        Filter::And(xs) => wrap(pb::filter::Kind::And(pb::FilterList {
            filters: xs
                .iter()
                .map(|x| convert(x, rs, element_of))
                .collect::<ApiResult<_>>()?,
        })),
        Filter::Or(xs) => wrap(pb::filter::Kind::Or(pb::FilterList {
            filters: xs
                .iter()
                .map(|x| convert(x, rs, element_of))
                .collect::<ApiResult<_>>()?,
        })),
        Filter::Not(inner) => wrap(pb::filter::Kind::Not(Box::new(convert(inner, rs, element_of)?))),
        Filter::Present(p) => wrap(pb::filter::Kind::Present(resolve(p).0)),
        Filter::Compare(p, o, v) => {
            let (path, def) = resolve(p);
            let value = value(v, def, &path)?;
            wrap(pb::filter::Kind::Compare(pb::Comparison {
                case_exact: def.is_some_and(|d| d.case_exact),
                path: Some(path),
                op: op(*o) as i32,
                value: Some(value),
            }))
        }
        Filter::ValuePath(p, inner) => {
            if element_of.is_some() {
                return Err(invalid_filter("value paths cannot be nested"));
            }
            let (mut path, _) = root_path(p, rs);
            let parent = rs.resolve(p).map(|r| r.attr);
            path.sub_attribute.clear();
            wrap(pb::filter::Kind::ValuePath(Box::new(pb::ValuePathFilter {
                path: Some(path),
                filter: Some(Box::new(convert(inner, rs, Some(parent))?)),
            })))
        }
    })
}

/// `sortBy` as the core's typed sort (RFC 7644 §3.4.2.3).
pub fn sort(sort_by: &str, descending: bool, rs: &ResourceSchema) -> ApiResult<pb::Sort> {
    let p = AttrPath::parse(sort_by.trim()).map_err(|_| {
        ApiError::bad_request(
            ScimType::InvalidValue,
            format!("sortBy {sort_by:?} is not an attribute path"),
        )
    })?;
    Ok(pb::Sort {
        path: Some(root_path(&p, rs).0),
        descending,
    })
}

fn str_at(doc: &Value, path: &str) -> Option<String> {
    resource::get_str(doc, path).map(str::to_owned)
}

/// The indexed fields of a normalised User document; a user without `active` is active.
pub fn user_spec(doc: &Value) -> ApiResult<pb::UserSpec> {
    let user_name = str_at(doc, "userName")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                ScimType::InvalidValue,
                "userName is required and must be a non-empty string",
            )
        })?;
    let active = match doc.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::bad_request(
                ScimType::InvalidValue,
                format!("active must be a boolean, not {other}"),
            ));
        }
    };
    Ok(pb::UserSpec {
        user_name,
        external_id: str_at(doc, "externalId"),
        active,
        display_name: str_at(doc, "displayName"),
        given_name: str_at(doc, "name.givenName"),
        family_name: str_at(doc, "name.familyName"),
        email: resource::primary_email(doc).map(str::to_owned),
        document: doc.to_string(),
    })
}

/// The indexed fields of a normalised Group document (members travel separately).
pub fn group_spec(doc: &Value) -> ApiResult<pb::GroupSpec> {
    let display_name = str_at(doc, "displayName")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                ScimType::InvalidValue,
                "displayName is required and must be a non-empty string",
            )
        })?;
    let mut doc = doc.clone();
    if let Some(m) = doc.as_object_mut() {
        m.remove("members");
    }
    Ok(pb::GroupSpec {
        display_name,
        external_id: str_at(&doc, "externalId"),
        document: doc.to_string(),
    })
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn rfc3339(ts: Option<&Timestamp>) -> Value {
    ts.and_then(|t| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)).ok()
    })
    .and_then(|t| t.format(&Rfc3339).ok())
    .map_or(Value::Null, Value::String)
}

fn document(doc: &str) -> Map<String, Value> {
    match serde_json::from_str(doc) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn meta(
    resource_type: &str,
    location: String,
    version: i64,
    created: Option<&Timestamp>,
    modified: Option<&Timestamp>,
) -> Value {
    json!({
        "resourceType": resource_type,
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": location,
        "version": etag(version),
    })
}

fn ensure_schemas(doc: &mut Map<String, Value>, rs: &ResourceSchema) {
    let mut schemas = vec![Value::String(rs.core.id.clone())];
    for (ext, _) in &rs.extensions {
        if doc.contains_key(&ext.id) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    doc.insert("schemas".into(), Value::Array(schemas));
}

/// A stored user as its SCIM representation (RFC 7643 §4.1).
pub fn render_user(u: &pb::User, base_url: &str, rs: &ResourceSchema) -> Value {
    let Value::Object(mut doc) = user_document(u) else {
        return Value::Null;
    };
    doc.insert("id".into(), Value::String(u.id.clone()));
    ensure_schemas(&mut doc, rs);
    let location = format!("{base_url}/Users/{}", u.id);
    doc.insert(
        "meta".into(),
        meta(
            "User",
            location,
            u.version,
            u.created.as_ref(),
            u.last_modified.as_ref(),
        ),
    );
    Value::Object(doc)
}

/// A stored group as its SCIM representation (RFC 7643 §4.2); `members` only when loaded.
/// One entry of a group's `members`.
pub fn render_member(m: &pb::Member, base_url: &str) -> Value {
    let endpoint = if m.r#type == "Group" { "Groups" } else { "Users" };
    let mut o = json!({
        "value": m.id,
        "$ref": format!("{base_url}/{endpoint}/{}", m.id),
        "type": m.r#type,
    });
    if let (Some(d), Some(obj)) = (&m.display, o.as_object_mut()) {
        obj.insert("display".into(), Value::String(d.clone()));
    }
    o
}

pub fn render_group(g: &pb::Group, base_url: &str, rs: &ResourceSchema, with_members: bool) -> Value {
    let mut doc = document(&g.document);
    doc.insert("id".into(), Value::String(g.id.clone()));
    doc.insert("displayName".into(), Value::String(g.display_name.clone()));
    ensure_schemas(&mut doc, rs);
    if with_members {
        let members = g.members.iter().map(|m| render_member(m, base_url)).collect();
        doc.insert("members".into(), Value::Array(members));
    }
    let location = format!("{base_url}/Groups/{}", g.id);
    doc.insert(
        "meta".into(),
        meta(
            "Group",
            location,
            g.version,
            g.created.as_ref(),
            g.last_modified.as_ref(),
        ),
    );
    Value::Object(doc)
}

/// The stored document of a user, for PATCH to apply to and for rendering. The indexed
/// columns are authoritative; `active` appears when it was sent or when the user is inactive
/// (an absent `active` reads back absent, as sent).
pub fn user_document(u: &pb::User) -> Value {
    let mut doc = document(&u.document);
    doc.insert("userName".into(), Value::String(u.user_name.clone()));
    if doc.contains_key("active") || !u.active {
        doc.insert("active".into(), Value::Bool(u.active));
    }
    Value::Object(doc)
}

pub fn group_document(g: &pb::Group) -> Value {
    let mut doc = document(&g.document);
    doc.insert("displayName".into(), Value::String(g.display_name.clone()));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(s: &str) -> pb::Filter {
        filter(&dirsync_scim::filter::parse(s).unwrap(), &ResourceSchema::user()).unwrap()
    }

    fn compare(f: &pb::Filter) -> &pb::Comparison {
        match f.kind.as_ref().unwrap() {
            pb::filter::Kind::Compare(c) => c,
            other => panic!("not a comparison: {other:?}"),
        }
    }

    #[test]
    fn paths_resolve_to_canonical_names_and_types() {
        let cases = [
            ("USERNAME eq \"Bob\"", "", "userName", "", false, false),
            ("externalId eq \"x\"", "", "externalId", "", false, true),
            ("name.GIVENNAME eq \"x\"", "", "name", "givenName", false, false),
            ("emails.value eq \"x\"", "", "emails", "value", true, false),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "department",
                "",
                false,
                false,
            ),
            ("unknownThing eq \"x\"", "", "unknownThing", "", false, false),
        ];
        for (input, schema, name, sub, multi, case_exact) in cases {
            let f = conv(input);
            let c = compare(&f);
            let p = c.path.as_ref().unwrap();
            assert_eq!(
                (
                    p.schema.as_str(),
                    p.name.as_str(),
                    p.sub_attribute.as_str(),
                    p.multi_valued,
                    c.case_exact
                ),
                (schema, name, sub, multi, case_exact),
                "{input}"
            );
        }
    }

    #[test]
    fn literals_are_typed_by_attribute() {
        use pb::filter_value::Kind;
        let v = |s: &str| compare(&conv(s)).value.clone().unwrap().kind.unwrap();
        assert_eq!(v("active eq \"True\""), Kind::Boolean(true));
        assert_eq!(v("active eq false"), Kind::Boolean(false));
        assert!(matches!(
            v("meta.lastModified gt \"2026-01-01T00:00:00Z\""),
            Kind::DateTime(_)
        ));
        assert_eq!(v("title eq \"True\""), Kind::String("True".into()));
        let bad = filter(
            &dirsync_scim::filter::parse("meta.created gt \"yesterday\"").unwrap(),
            &ResourceSchema::user(),
        );
        assert_eq!(bad.unwrap_err().status(), 400);
    }

    #[test]
    fn value_paths_resolve_inside_the_element() {
        let f = conv("emails[TYPE eq \"work\" and value co \"@example.com\"]");
        let pb::filter::Kind::ValuePath(vp) = f.kind.unwrap() else {
            panic!()
        };
        assert_eq!(vp.path.as_ref().unwrap().name, "emails");
        let pb::filter::Kind::And(list) = vp.filter.unwrap().kind.unwrap() else {
            panic!()
        };
        assert_eq!(compare(&list.filters[0]).path.as_ref().unwrap().name, "type");
    }
}
