//! The protobuf messages of the API as domain types, in one place: every RPC converts its
//! request here once, and the store and the rules never see protobuf.

use dirsync_domain::filter::{AttributePath, CompareOp, Comparison, Filter, FilterValue, Sort};
use dirsync_domain::group::GroupSpec;
use dirsync_domain::settings::language::Languages;
use dirsync_domain::settings::timezone;
use dirsync_domain::user::{User, UserSpec};
use dirsync_proto::v1 as pb;

use crate::error::{CoreError, Result};

pub fn user_spec(spec: pb::UserSpec) -> UserSpec {
    UserSpec {
        user_name: spec.user_name,
        external_id: spec.external_id,
        active: spec.active,
        display_name: spec.display_name,
        given_name: spec.given_name,
        family_name: spec.family_name,
        email: spec.email,
        document: spec.document,
    }
}

pub fn group_spec(spec: pb::GroupSpec) -> GroupSpec {
    GroupSpec {
        display_name: spec.display_name,
        external_id: spec.external_id,
        document: spec.document,
    }
}

fn path(path: &pb::AttributePath) -> AttributePath {
    AttributePath {
        schema: path.schema.clone(),
        name: path.name.clone(),
        sub_attribute: path.sub_attribute.clone(),
        multi_valued: path.multi_valued,
    }
}

fn invalid(message: &str) -> CoreError {
    CoreError::invalid_filter(message.to_owned())
}

/// A filter tree; parts the message leaves unset are refused (INVALID_FILTER). Recursion is
/// bounded by protobuf's decode limit of 100 levels; the store checks its own, lower bounds.
pub fn filter(f: &pb::Filter) -> Result<Filter> {
    use pb::filter::Kind;
    let kind = f.kind.as_ref().ok_or_else(|| invalid("empty filter expression"))?;
    Ok(match kind {
        Kind::And(list) => Filter::And(list.filters.iter().map(filter).collect::<Result<_>>()?),
        Kind::Or(list) => Filter::Or(list.filters.iter().map(filter).collect::<Result<_>>()?),
        Kind::Not(inner) => Filter::Not(Box::new(filter(inner)?)),
        Kind::Present(p) => Filter::Present(path(p)),
        Kind::ValuePath(vp) => {
            let p = vp
                .path
                .as_ref()
                .ok_or_else(|| invalid("value path without attribute"))?;
            let inner = vp.filter.as_ref().ok_or_else(|| invalid("value path without filter"))?;
            Filter::ValuePath {
                path: path(p),
                filter: Box::new(filter(inner)?),
            }
        }
        Kind::Compare(c) => Filter::Compare(comparison(c)?),
    })
}

fn comparison(c: &pb::Comparison) -> Result<Comparison> {
    use pb::filter_value::Kind as V;
    let p = c.path.as_ref().ok_or_else(|| invalid("comparison without attribute"))?;
    let op = match pb::CompareOp::try_from(c.op).unwrap_or(pb::CompareOp::Unspecified) {
        pb::CompareOp::Eq => CompareOp::Eq,
        pb::CompareOp::Ne => CompareOp::Ne,
        pb::CompareOp::Co => CompareOp::Co,
        pb::CompareOp::Sw => CompareOp::Sw,
        pb::CompareOp::Ew => CompareOp::Ew,
        pb::CompareOp::Gt => CompareOp::Gt,
        pb::CompareOp::Ge => CompareOp::Ge,
        pb::CompareOp::Lt => CompareOp::Lt,
        pb::CompareOp::Le => CompareOp::Le,
        pb::CompareOp::Unspecified => {
            return Err(CoreError::invalid_filter(format!(
                "comparison on {} without operator",
                p.name
            )));
        }
    };
    let value = match c.value.as_ref().and_then(|v| v.kind.as_ref()) {
        Some(V::String(s)) => FilterValue::String(s.clone()),
        Some(V::Boolean(b)) => FilterValue::Boolean(*b),
        Some(V::Number(n)) => FilterValue::Number(*n),
        Some(V::DateTime(ts)) => FilterValue::DateTime(
            ts.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(ts.nanos) / 1_000_000),
        ),
        Some(V::Null(_)) => FilterValue::Null,
        None => {
            return Err(CoreError::invalid_filter(format!(
                "comparison on {} without value",
                p.name
            )));
        }
    };
    Ok(Comparison {
        path: path(p),
        op,
        value,
        case_exact: c.case_exact,
    })
}

pub fn sort(s: &pb::Sort) -> Result<Sort> {
    let p = s.path.as_ref().ok_or_else(|| invalid("sortBy without attribute"))?;
    Ok(Sort {
        path: path(p),
        descending: s.descending,
    })
}

/// An optional filter and sort of a list request.
pub fn query(f: Option<&pb::Filter>, s: Option<&pb::Sort>) -> Result<(Option<Filter>, Option<Sort>)> {
    Ok((f.map(filter).transpose()?, s.map(sort).transpose()?))
}

pub(crate) fn user_to_proto(m: User) -> pb::User {
    pb::User {
        id: m.id.to_string(),
        tenant_id: m.tenant_id.to_string(),
        user_name: m.user_name,
        external_id: m.external_id,
        active: m.active,
        display_name: m.display_name,
        given_name: m.given_name,
        family_name: m.family_name,
        email: m.email,
        document: m.document.to_string(),
        version: m.version,
        created: Some(crate::service::timestamp(m.created_at)),
        last_modified: Some(crate::service::timestamp(m.updated_at)),
        connection_id: m.connection_id.map(|c| c.to_string()),
        source: m.source,
        // Need the tenant's languages and the document: filled by `user_out`.
        language: String::new(),
        timezone: String::new(),
    }
}

/// A user as the API returns it: the row, plus its normalised language.
pub(crate) fn user_out(langs: &Languages, m: User) -> pb::User {
    let language = langs.of_document(&m.document);
    let zone = timezone::of_document(&m.document);
    let mut u = user_to_proto(m);
    u.language = language;
    u.timezone = zone;
    u
}
