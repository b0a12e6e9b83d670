//! Typed filter trees (RFC 7644 §3.4.2.2 semantics) translated to SQL conditions.
//!
//! Indexed attributes map to their columns; everything else is read from the JSON document
//! with the backend's JSON functions, so a filter is always evaluated by the database and never
//! by loading a tenant's resources into memory. Multi-valued attributes and value paths become
//! `EXISTS` over the array's elements; group membership becomes `EXISTS` over `group_members`.
//!
//! The gRPC API is a trust boundary: a filter is checked against [`MAX_FILTER_TERMS`],
//! [`MAX_FILTER_DEPTH`] and [`MAX_FILTER_VALUE_BYTES`] before any SQL is built, and every
//! attribute or schema name inlined into SQL is a [`Name`], which only [`checked_name`] makes.

use dirsync_domain::filter::{AttributePath, CompareOp, Comparison, Filter, FilterValue, Sort};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, FunctionCall, LikeExpr, Query};
use uuid::Uuid;

use super::ci_key;
use super::keyset::KeyKind;
use crate::error::{Result, StoreError};

/// Which resource table a filter runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Users,
    Groups,
}

impl Target {
    fn table(self) -> &'static str {
        match self {
            Target::Users => "users",
            Target::Groups => "groups",
        }
    }
}

/// Where attribute names are looked up: the resource row, or one element of a multi-valued
/// attribute inside a value path.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Root(Target),
    Element,
    Member(Target),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text compared case-insensitively through its folded key column ([`ci_key`], computed
    /// in Rust on every write), so both stores match alike whatever the script.
    TextKey,
    Text,
    Uuid,
    Bool,
    Millis,
}

/// The SQL that reads one attribute.
enum Accessor {
    Column(Expr, Kind),
    Json(String),
}

/// Most comparisons and `pr` tests in one filter from any caller (the SCIM edge's own,
/// configurable bound is lower: `DIRSYNC_MAX_FILTER_TERMS`).
pub const MAX_FILTER_TERMS: usize = 1_000;

/// Deepest nesting of `and`/`or`/`not`/value paths in one filter from any caller. Lists are
/// n-ary, so this counts parentheses, never terms.
pub const MAX_FILTER_DEPTH: usize = 32;

/// Longest string compared in a filter; SQLite refuses LIKE patterns over 50,000 bytes.
pub const MAX_FILTER_VALUE_BYTES: usize = 10_000;

/// Longest attribute or schema name.
const MAX_NAME_BYTES: usize = 256;

/// An attribute or schema name that passed [`checked_name`]: the only text from a caller that
/// is ever inlined into SQL (inside JSON paths).
#[derive(Debug, Clone, Copy)]
struct Name<'a>(&'a str);

/// Attribute and schema names are inlined into JSON paths, so only RFC 7643 name characters
/// (and the URN punctuation of schema ids) are allowed. Filters and sorts alike pass here.
fn checked_name(name: &str) -> Result<Name<'_>> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.'));
    if ok {
        Ok(Name(name))
    } else {
        let shown: String = name.chars().take(64).collect();
        Err(StoreError::invalid_filter(format!("invalid attribute name {shown:?}")))
    }
}

/// Refuses a filter over the bounds before anything is built from it. Iterative, so a hostile
/// tree costs no stack here; prost already refused anything nested past its decode limit.
pub fn check_bounds(filter: &Filter) -> Result<()> {
    let mut stack = vec![(filter, 0usize)];
    let mut terms = 0usize;
    while let Some((f, depth)) = stack.pop() {
        if depth > MAX_FILTER_DEPTH {
            return Err(StoreError::invalid_filter(format!(
                "filter is nested more than {MAX_FILTER_DEPTH} levels deep"
            )));
        }
        match f {
            Filter::And(list) | Filter::Or(list) => {
                stack.extend(list.iter().map(|x| (x, depth + 1)));
            }
            Filter::Not(inner) => stack.push((inner, depth + 1)),
            Filter::ValuePath { filter: inner, .. } => stack.push((inner, depth + 1)),
            Filter::Compare(c) => {
                terms += 1;
                if let FilterValue::String(s) = &c.value {
                    check_value(s)?;
                }
            }
            Filter::Present(_) => terms += 1,
        }
        if terms > MAX_FILTER_TERMS {
            return Err(StoreError::invalid_filter(format!(
                "filter has more than {MAX_FILTER_TERMS} terms"
            )));
        }
    }
    Ok(())
}

/// A compared string: bounded, and without NUL (which PostgreSQL cannot take as text).
fn check_value(s: &str) -> Result<()> {
    if s.len() > MAX_FILTER_VALUE_BYTES {
        return Err(StoreError::invalid_filter(format!(
            "a compared value is {} bytes, more than the limit of {MAX_FILTER_VALUE_BYTES}",
            s.len()
        )));
    }
    if s.contains('\0') {
        return Err(StoreError::invalid_filter(
            "a compared value contains a NUL character (U+0000)".into(),
        ));
    }
    Ok(())
}

/// One step of a JSON path: a checked name, or the first element of an array.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(Name<'a>),
    First,
}

fn json_accessor(backend: DbBackend, source: &str, keys: &[Name<'_>]) -> String {
    let steps: Vec<Step<'_>> = keys.iter().copied().map(Step::Key).collect();
    json_step_accessor(backend, source, &steps)
}

/// The text at `steps` inside the JSON in `source`.
fn json_step_accessor(backend: DbBackend, source: &str, steps: &[Step<'_>]) -> String {
    match backend {
        DbBackend::Postgres => {
            let path: Vec<String> = steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => format!("\"{}\"", k.0),
                    Step::First => "0".to_owned(),
                })
                .collect();
            format!("({source} #>> '{{{}}}')", path.join(","))
        }
        _ => {
            let path: String = steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => format!(".\"{}\"", k.0),
                    Step::First => "[0]".to_owned(),
                })
                .collect();
            format!("json_extract({source}, '${path}')")
        }
    }
}

/// The table-valued function that yields the elements of an array inside the document.
fn json_array_source(backend: DbBackend, source: &str, keys: &[Name<'_>]) -> FunctionCall {
    match backend {
        DbBackend::Postgres => {
            let path: Vec<String> = keys.iter().map(|k| format!("\"{}\"", k.0)).collect();
            let at = format!("{source} #> '{{{}}}'", path.join(","));
            Func::cust(Alias::new("jsonb_array_elements")).arg(Expr::cust(format!(
                "CASE WHEN jsonb_typeof({at}) = 'array' THEN {at} ELSE '[]'::jsonb END"
            )))
        }
        _ => {
            let path: String = keys.iter().map(|k| format!(".\"{}\"", k.0)).collect();
            Func::cust(Alias::new("json_each"))
                .arg(Expr::cust(source.to_owned()))
                .arg(Expr::cust(format!("'${path}'")))
        }
    }
}

fn doc_column(target: Target) -> String {
    format!("\"{}\".\"document\"", target.table())
}

fn col(target: Target, name: &str) -> Expr {
    Expr::col((Alias::new(target.table()), Alias::new(name)))
}

/// Keys of an attribute inside the JSON document: extension attributes live under their URN.
fn doc_keys(path: &AttributePath, with_sub: bool) -> Result<Vec<Name<'_>>> {
    let mut keys = Vec::with_capacity(3);
    if !path.schema.is_empty() {
        keys.push(checked_name(&path.schema)?);
    }
    keys.push(checked_name(&path.name)?);
    if with_sub && !path.sub_attribute.is_empty() {
        keys.push(checked_name(&path.sub_attribute)?);
    }
    Ok(keys)
}

/// The value column behind a folded key, for comparisons a schema declares case-exact.
fn exact_column(scope: Scope, path: &AttributePath) -> Option<Accessor> {
    let Scope::Root(target @ Target::Users) = scope else {
        return None;
    };
    if !path.schema.is_empty() {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attribute.to_ascii_lowercase();
    let column = match (name.as_str(), sub.as_str()) {
        ("displayname", "") => "display_name",
        ("name", "givenname") => "given_name",
        ("name", "familyname") => "family_name",
        _ => return None,
    };
    Some(Accessor::Column(col(target, column), Kind::Text))
}

/// `emails`/`emails.value` compared case-insensitively: the primary address also through its
/// folded key, so it matches alike on both stores in any script (the other addresses live only
/// in the JSON document and fold with the store's `lower()`, ASCII-only on SQLite).
fn primary_email_key(scope: Scope, path: &AttributePath, c: &Comparison, op: CompareOp) -> Option<Expr> {
    let Scope::Root(target @ Target::Users) = scope else {
        return None;
    };
    let value_sub = path.sub_attribute.is_empty() || path.sub_attribute.eq_ignore_ascii_case("value");
    if c.case_exact
        || !path.schema.is_empty()
        || !path.name.eq_ignore_ascii_case("emails")
        || !value_sub
        || !matches!(op, CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    {
        return None;
    }
    let FilterValue::String(s) = &c.value else {
        return None;
    };
    Some(key_compare(col(target, "email_key"), op, s))
}

/// A positive comparison of a folded key column with the folded `s`.
fn key_compare(e: Expr, op: CompareOp, s: &str) -> Expr {
    let key = ci_key(s);
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => e.like(LikeExpr::new(like_pattern(op, &key)).escape('\\')),
        _ => e.eq(key),
    }
}

fn core_column(target: Target, path: &AttributePath) -> Option<Accessor> {
    if !path.schema.is_empty() {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attribute.to_ascii_lowercase();
    let c = |n| col(target, n);
    let found = match (target, name.as_str(), sub.as_str()) {
        (_, "id", "") => (c("id"), Kind::Uuid),
        (_, "externalid", "") => (c("external_id"), Kind::Text),
        (_, "meta", "created") => (c("created_at"), Kind::Millis),
        (_, "meta", "lastmodified") => (c("updated_at"), Kind::Millis),
        (Target::Users, "username", "") => (c("user_name_key"), Kind::TextKey),
        (Target::Users, "active", "") => (c("active"), Kind::Bool),
        (Target::Users, "displayname", "") => (c("display_name_key"), Kind::TextKey),
        (Target::Users, "name", "givenname") => (c("given_name_key"), Kind::TextKey),
        (Target::Users, "name", "familyname") => (c("family_name_key"), Kind::TextKey),
        // The key the name is unique by (migration 000012): a filter finds the group that a
        // create of the same name would collide with, in any case (Entra matches by it).
        (Target::Groups, "displayname", "") => (c("display_name_key"), Kind::TextKey),
        _ => return None,
    };
    Some(Accessor::Column(found.0, found.1))
}

/// Translates a filter on `target` into a SQL condition, after [`check_bounds`].
pub fn condition(backend: DbBackend, target: Target, filter: &Filter) -> Result<Expr> {
    check_bounds(filter)?;
    translate(backend, Scope::Root(target), filter)
}

/// Joins `parts` with AND or OR as a balanced tree, so the expression (and the SQL parser's
/// stack) is as deep as the logarithm of the list, not its length.
fn balanced(mut parts: Vec<Expr>, is_and: bool) -> Option<Expr> {
    while parts.len() > 1 {
        let mut next = Vec::with_capacity(parts.len().div_ceil(2));
        let mut it = parts.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) if is_and => a.and(b),
                Some(b) => a.or(b),
                None => a,
            });
        }
        parts = next;
    }
    parts.pop()
}

fn translate(backend: DbBackend, scope: Scope, f: &Filter) -> Result<Expr> {
    match f {
        Filter::And(list) | Filter::Or(list) => {
            let is_and = matches!(f, Filter::And(_));
            let parts = list
                .iter()
                .map(|f| translate(backend, scope, f))
                .collect::<Result<Vec<_>>>()?;
            balanced(parts, is_and).ok_or_else(|| StoreError::invalid_filter("empty and/or".into()))
        }
        Filter::Not(inner) => Ok(translate(backend, scope, inner)?.not()),
        Filter::Compare(c) => compare(backend, scope, c),
        Filter::Present(path) => present(backend, scope, path),
        Filter::ValuePath { path, filter: inner } => exists_elements(backend, scope, path, |backend, elem_scope| {
            translate(backend, elem_scope, inner)
        }),
    }
}

/// `EXISTS` over the elements of a multi-valued attribute, with `cond` built in element scope.
fn exists_elements(
    backend: DbBackend,
    scope: Scope,
    path: &AttributePath,
    cond: impl FnOnce(DbBackend, Scope) -> Result<Expr>,
) -> Result<Expr> {
    let Scope::Root(target) = scope else {
        return Err(StoreError::invalid_filter(format!(
            "value paths cannot be nested ({})",
            path.name
        )));
    };
    let lname = path.name.to_ascii_lowercase();
    if path.schema.is_empty()
        && ((target == Target::Groups && lname == "members") || (target == Target::Users && lname == "groups"))
    {
        let inner = cond(backend, Scope::Member(target))?;
        let (owner_col, tbl_id) = match target {
            Target::Groups => ("group_id", col(Target::Groups, "id")),
            Target::Users => ("member_id", col(Target::Users, "id")),
        };
        let sub = Query::select()
            .expr(Expr::val(1))
            .from_as(Alias::new("group_members"), Alias::new("gm"))
            .and_where(Expr::col((Alias::new("gm"), Alias::new(owner_col))).eq(tbl_id))
            .and_where(inner)
            .to_owned();
        return Ok(Expr::exists(sub));
    }
    let keys = doc_keys(path, false)?;
    let source = json_array_source(backend, &doc_column(target), &keys);
    let inner = cond(backend, Scope::Element)?;
    let sub = Query::select()
        .expr(Expr::val(1))
        .from_function(source, Alias::new("e"))
        .and_where(inner)
        .to_owned();
    Ok(Expr::exists(sub))
}

fn accessor(backend: DbBackend, scope: Scope, path: &AttributePath) -> Result<Accessor> {
    match scope {
        Scope::Root(target) => {
            if let Some(a) = core_column(target, path) {
                return Ok(a);
            }
            Ok(Accessor::Json(json_accessor(
                backend,
                &doc_column(target),
                &doc_keys(path, true)?,
            )))
        }
        Scope::Element => {
            // Inside a value path the attribute name is the element's sub-attribute.
            let mut keys = vec![checked_name(&path.name)?];
            if !path.sub_attribute.is_empty() {
                keys.push(checked_name(&path.sub_attribute)?);
            }
            Ok(Accessor::Json(json_accessor(backend, "\"e\".\"value\"", &keys)))
        }
        Scope::Member(target) => {
            let gm = |n| Expr::col((Alias::new("gm"), Alias::new(n)));
            match (target, path.name.to_ascii_lowercase().as_str()) {
                (Target::Groups, "value") => Ok(Accessor::Column(gm("member_id"), Kind::Uuid)),
                (Target::Users, "value") => Ok(Accessor::Column(gm("group_id"), Kind::Uuid)),
                (_, "type") => Ok(Accessor::Column(gm("member_type"), Kind::Text)),
                (_, other) => Err(StoreError::invalid_filter(format!(
                    "filtering on membership attribute {other:?} is not supported; use value or type"
                ))),
            }
        }
    }
}

fn present(backend: DbBackend, scope: Scope, path: &AttributePath) -> Result<Expr> {
    if path.multi_valued && matches!(scope, Scope::Root(_)) {
        return exists_elements(backend, scope, path, |_, _| Ok(Expr::val(1).eq(1)));
    }
    Ok(match accessor(backend, scope, path)? {
        Accessor::Column(e, Kind::Text | Kind::TextKey) => e.clone().is_not_null().and(e.ne("")),
        Accessor::Column(e, _) => e.is_not_null(),
        Accessor::Json(sql) => {
            let e = Expr::cust(sql);
            e.clone().is_not_null().and(e.ne(""))
        }
    })
}

fn compare(backend: DbBackend, scope: Scope, c: &Comparison) -> Result<Expr> {
    let path = &c.path;
    if path.multi_valued && matches!(scope, Scope::Root(_)) {
        // `emails.value eq x`, or `emails eq x` (which compares `value`, RFC 7644 §3.4.2.2).
        let mut elem = path.clone();
        elem.name = if path.sub_attribute.is_empty() {
            "value".to_owned()
        } else {
            path.sub_attribute.clone()
        };
        elem.sub_attribute.clear();
        elem.schema.clear();
        elem.multi_valued = false;
        let inner = Comparison {
            path: elem,
            ..c.clone()
        };
        let op = c.op;
        let elements = exists_elements(backend, scope, path, |backend, s| compare(backend, s, &inner))?;
        return Ok(match primary_email_key(scope, path, c, op) {
            Some(primary) => primary.or(elements),
            None => elements,
        });
    }
    let op = c.op;
    let value = c.value.clone();
    let column = match exact_column(scope, path).filter(|_| c.case_exact) {
        Some(exact) => exact,
        None => accessor(backend, scope, path)?,
    };
    match column {
        Accessor::Column(e, kind) => compare_column(backend, e, kind, op, value, c.case_exact),
        Accessor::Json(sql) => compare_json(backend, sql, op, value, c.case_exact),
    }
}

fn unsupported(op: CompareOp, what: &str) -> StoreError {
    StoreError::invalid_filter(format!("operator {} is not supported on {what}", op.as_str()))
}

/// `ne` includes resources that lack the attribute: they are not equal to the value.
fn ne_or_null(e: Expr, eq: Expr) -> Expr {
    e.is_null().or(eq.not())
}

fn ordering(e: Expr, op: CompareOp, v: Expr) -> Option<Expr> {
    Some(match op {
        CompareOp::Gt => e.gt(v),
        CompareOp::Ge => e.gte(v),
        CompareOp::Lt => e.lt(v),
        CompareOp::Le => e.lte(v),
        _ => return None,
    })
}

fn like_pattern(op: CompareOp, s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

/// Substring operators. SQLite's LIKE ignores ASCII case, so case-exact matching there uses
/// `instr`/`substr`; PostgreSQL's LIKE is case-sensitive and lower() makes it insensitive.
fn substring(backend: DbBackend, e: Expr, op: CompareOp, s: &str, case_exact: bool) -> Expr {
    if !case_exact {
        let lowered = s.to_lowercase();
        return Expr::expr(Func::lower(e)).like(LikeExpr::new(like_pattern(op, &lowered)).escape('\\'));
    }
    match backend {
        DbBackend::Postgres => e.like(LikeExpr::new(like_pattern(op, s)).escape('\\')),
        _ => {
            let instr = || Expr::expr(Func::cust(Alias::new("instr")).arg(e.clone()).arg(s));
            match op {
                CompareOp::Co => instr().gt(0),
                CompareOp::Sw => instr().eq(1),
                _ => {
                    let n = s.chars().count() as i64;
                    Expr::expr(Func::cust(Alias::new("substr")).arg(e.clone()).arg(-n))
                        .eq(s)
                        .and(Expr::expr(Func::cust(Alias::new("length")).arg(e)).gte(n))
                }
            }
        }
    }
}

fn compare_text(backend: DbBackend, e: Expr, op: CompareOp, s: &str, case_exact: bool) -> Result<Expr> {
    let (lhs, rhs) = if case_exact {
        (e.clone(), Expr::val(s.to_owned()))
    } else {
        (
            Expr::expr(Func::lower(e.clone())),
            Expr::expr(Func::lower(Expr::val(s.to_owned()))),
        )
    };
    Ok(match op {
        CompareOp::Eq => lhs.eq(rhs),
        CompareOp::Ne => ne_or_null(e, lhs.eq(rhs)),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => substring(backend, e, op, s, case_exact),
        other => ordering(lhs, other, rhs).ok_or_else(|| unsupported(other, "text"))?,
    })
}

fn millis_of(value: &FilterValue) -> Option<i64> {
    match value {
        FilterValue::DateTime(ms) => Some(*ms),
        FilterValue::String(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
        _ => None,
    }
}

fn compare_column(
    backend: DbBackend,
    e: Expr,
    kind: Kind,
    op: CompareOp,
    value: FilterValue,
    case_exact: bool,
) -> Result<Expr> {
    use FilterValue as V;
    if let V::Null = value {
        return match op {
            CompareOp::Eq => Ok(e.is_null()),
            CompareOp::Ne => Ok(e.is_not_null()),
            other => Err(unsupported(other, "null")),
        };
    }
    match kind {
        Kind::TextKey | Kind::Text => {
            let s = match value {
                V::String(s) => s,
                V::Boolean(b) => b.to_string(),
                V::Number(n) => n.to_string(),
                V::DateTime(_) | V::Null => {
                    return Err(StoreError::invalid_filter(
                        "text attributes compare with strings".into(),
                    ));
                }
            };
            if kind == Kind::Text {
                return compare_text(backend, e, op, &s, case_exact);
            }
            // The key column holds the folded value: compare with the folded filter value.
            match op {
                CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => Ok(key_compare(e, op, &s)),
                CompareOp::Ne => Ok(ne_or_null(e.clone(), e.eq(ci_key(&s)))),
                other => ordering(e, other, Expr::val(ci_key(&s))).ok_or_else(|| unsupported(other, "text")),
            }
        }
        Kind::Uuid => {
            let V::String(s) = value else {
                return Err(StoreError::invalid_filter("ids compare with strings".into()));
            };
            // A malformed id matches no resource; it is not an error (Entra probes with GUIDs).
            match (op, Uuid::parse_str(s.trim())) {
                (CompareOp::Eq, Ok(id)) => Ok(e.eq(id)),
                (CompareOp::Eq, Err(_)) => Ok(Expr::val(1).eq(0)),
                (CompareOp::Ne, Ok(id)) => Ok(e.ne(id)),
                (CompareOp::Ne, Err(_)) => Ok(Expr::val(1).eq(1)),
                (other, _) => Err(unsupported(other, "id")),
            }
        }
        Kind::Bool => {
            let b = match value {
                V::Boolean(b) => b,
                // Entra sends booleans as quoted, capitalised strings (docs/idp/notes.md B1.3).
                V::String(s) if s.eq_ignore_ascii_case("true") => true,
                V::String(s) if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(StoreError::invalid_filter("active compares with true or false".into()));
                }
            };
            match op {
                CompareOp::Eq => Ok(e.eq(b)),
                CompareOp::Ne => Ok(e.ne(b)),
                other => Err(unsupported(other, "booleans")),
            }
        }
        Kind::Millis => {
            let ms = millis_of(&value)
                .ok_or_else(|| StoreError::invalid_filter("dates compare with an RFC 3339 date-time string".into()))?;
            match op {
                CompareOp::Eq => Ok(e.eq(ms)),
                CompareOp::Ne => Ok(e.ne(ms)),
                other => ordering(e, other, Expr::val(ms)).ok_or_else(|| unsupported(other, "dates")),
            }
        }
    }
}

fn compare_json(backend: DbBackend, sql: String, op: CompareOp, value: FilterValue, case_exact: bool) -> Result<Expr> {
    use FilterValue as V;
    let e = Expr::cust(sql);
    match value {
        V::Null => match op {
            CompareOp::Eq => Ok(e.is_null()),
            CompareOp::Ne => Ok(e.is_not_null()),
            other => Err(unsupported(other, "null")),
        },
        V::String(s) => compare_text(backend, e, op, &s, case_exact),
        V::Boolean(b) => {
            // SQLite's json_extract yields 1/0 for JSON booleans; PostgreSQL's #>> yields text.
            // Entra also stores booleans as strings ("True"), which match case-insensitively.
            let truth = |e: Expr| match backend {
                DbBackend::Postgres => Expr::expr(Func::lower(e)).eq(b.to_string()),
                _ => e
                    .clone()
                    .eq(i32::from(b))
                    .or(Expr::expr(Func::lower(e)).eq(b.to_string())),
            };
            match op {
                CompareOp::Eq => Ok(truth(e)),
                CompareOp::Ne => Ok(ne_or_null(e.clone(), truth(e))),
                other => Err(unsupported(other, "booleans")),
            }
        }
        V::Number(n) => {
            let num = match backend {
                DbBackend::Postgres => Expr::cust(format!("CAST(NULLIF({}, '') AS DOUBLE PRECISION)", render_cust(&e))),
                _ => e.clone(),
            };
            let v = Expr::val(n);
            match op {
                CompareOp::Eq => Ok(num.eq(v)),
                CompareOp::Ne => Ok(ne_or_null(e, num.eq(v))),
                other => ordering(num, other, v).ok_or_else(|| unsupported(other, "numbers")),
            }
        }
        V::DateTime(ms) => {
            // Stored date-times are strings as sent; compare RFC 3339 text in UTC (to the second).
            let s = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .ok_or_else(|| StoreError::invalid_filter("date-time out of range".into()))?;
            compare_text(backend, e, op, &s, true)
        }
    }
}

fn render_cust(e: &Expr) -> String {
    match e {
        Expr::Custom(s) => s.to_string(),
        _ => String::new(),
    }
}

/// The type of value [`sort_expr`] yields, which a page token's key must have.
pub fn sort_key_kind(backend: DbBackend, target: Target, sort: &Sort) -> Result<KeyKind> {
    let path = &sort.path;
    let json = match backend {
        DbBackend::Postgres => KeyKind::Text,
        _ => KeyKind::Any,
    };
    if path.multi_valued {
        let email = target == Target::Users && path.schema.is_empty() && path.name.eq_ignore_ascii_case("emails");
        return Ok(if email { KeyKind::Text } else { json });
    }
    Ok(match accessor(backend, Scope::Root(target), path)? {
        Accessor::Column(_, Kind::Text | Kind::TextKey) => KeyKind::Text,
        Accessor::Column(_, Kind::Uuid) => KeyKind::Uuid,
        Accessor::Column(_, Kind::Bool) => KeyKind::Bool,
        Accessor::Column(_, Kind::Millis) => KeyKind::Int,
        Accessor::Json(_) => json,
    })
}

/// The ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3).
pub fn sort_expr(backend: DbBackend, target: Target, sort: &Sort) -> Result<Expr> {
    let path = &sort.path;
    if path.multi_valued {
        // Sorting by a multi-valued attribute uses its primary (else first) value; the
        // indexed e-mail column holds exactly that for emails.
        if target == Target::Users && path.schema.is_empty() && path.name.eq_ignore_ascii_case("emails") {
            return Ok(col(target, "email_key"));
        }
        let mut steps: Vec<Step<'_>> = doc_keys(path, false)?.into_iter().map(Step::Key).collect();
        steps.push(Step::First);
        steps.push(Step::Key(if path.sub_attribute.is_empty() {
            Name("value")
        } else {
            checked_name(&path.sub_attribute)?
        }));
        return Ok(Expr::cust(json_step_accessor(backend, &doc_column(target), &steps)));
    }
    Ok(match accessor(backend, Scope::Root(target), path)? {
        Accessor::Column(e, Kind::Text) => Expr::expr(Func::lower(e)),
        Accessor::Column(e, _) => e,
        Accessor::Json(sql) => Expr::expr(Func::lower(Expr::cust(sql))),
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    use crate::error::ErrorKind;

    use super::*;

    fn path(name: &str, sub: &str, multi: bool) -> AttributePath {
        AttributePath::new(name, sub, multi)
    }

    fn cmp(p: AttributePath, op: CompareOp, v: &str) -> Filter {
        Filter::compare(p, op, v)
    }

    fn sql(backend: DbBackend, target: Target, f: &Filter) -> String {
        let cond = condition(backend, target, f).unwrap();
        let q = Query::select()
            .expr(Expr::val(1))
            .from(Alias::new(target.table()))
            .and_where(cond)
            .to_owned();
        match backend {
            DbBackend::Postgres => q.to_string(PostgresQueryBuilder),
            _ => q.to_string(SqliteQueryBuilder),
        }
    }

    #[test]
    fn translations() {
        let work_email = Filter::ValuePath {
            path: path("emails", "", true),
            filter: Box::new(Filter::And(vec![
                cmp(path("type", "", false), CompareOp::Eq, "work"),
                cmp(path("value", "", false), CompareOp::Co, "@x"),
            ])),
        };
        let cases = [
            (
                DbBackend::Sqlite,
                Target::Users,
                cmp(path("userName", "", false), CompareOp::Eq, "Bob"),
                "\"users\".\"user_name_key\" = 'bob'",
            ),
            (
                DbBackend::Sqlite,
                Target::Users,
                work_email.clone(),
                "EXISTS(SELECT 1 FROM json_each(\"users\".\"document\", '$.\"emails\"') AS \"e\"",
            ),
            (
                DbBackend::Postgres,
                Target::Users,
                work_email,
                "jsonb_array_elements(CASE WHEN jsonb_typeof(\"users\".\"document\" #> '{\"emails\"}') = 'array'",
            ),
            (
                DbBackend::Postgres,
                Target::Users,
                cmp(path("title", "", false), CompareOp::Sw, "50%"),
                "LOWER((\"users\".\"document\" #>> '{\"title\"}')) LIKE E'50\\\\%%' ESCAPE E'\\\\'",
            ),
            (
                DbBackend::Sqlite,
                Target::Groups,
                cmp(
                    path("members", "value", true),
                    CompareOp::Eq,
                    "01a21023-3113-71d3-8603-485dc8df4aff",
                ),
                "FROM \"group_members\" AS \"gm\" WHERE \"gm\".\"group_id\" = \"groups\".\"id\"",
            ),
        ];
        for (backend, target, f, want) in cases {
            let got = sql(backend, target, &f);
            assert!(got.contains(want), "{backend:?}: {got}\n  does not contain\n{want}");
        }
    }

    fn list(is_and: bool, filters: Vec<Filter>) -> Filter {
        if is_and {
            Filter::And(filters)
        } else {
            Filter::Or(filters)
        }
    }

    #[test]
    fn bounds_are_checked_before_sql_is_built() {
        let term = || cmp(path("title", "", false), CompareOp::Eq, "x");
        let mut deep = term();
        for _ in 0..=MAX_FILTER_DEPTH {
            deep = Filter::Not(Box::new(deep));
        }
        let cases = [
            (list(false, vec![term(); MAX_FILTER_TERMS]), None),
            (
                list(true, vec![term(); MAX_FILTER_TERMS + 1]),
                Some("more than 1000 terms"),
            ),
            (deep, Some("nested more than 32 levels")),
            (
                cmp(
                    path("title", "", false),
                    CompareOp::Co,
                    &"x".repeat(MAX_FILTER_VALUE_BYTES + 1),
                ),
                Some("more than the limit of 10000"),
            ),
            (cmp(path("title", "", false), CompareOp::Eq, "a\0b"), Some("NUL")),
            (list(true, vec![]), Some("empty and/or")),
        ];
        for (f, want) in cases {
            for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
                match (condition(backend, Target::Users, &f), want) {
                    (Ok(_), None) => {}
                    (Err(e), Some(w)) if e.kind() == Some(ErrorKind::InvalidFilter) => {
                        assert!(e.to_string().contains(w), "{e}")
                    }
                    (got, _) => panic!("{want:?}: {got:?}"),
                }
            }
        }
        // A list of terms becomes a balanced tree: 1,000 terms render with parentheses
        // nested about log2(1000) deep, not 1,000.
        let sql = sql(
            DbBackend::Sqlite,
            Target::Users,
            &list(false, vec![term(); MAX_FILTER_TERMS]),
        );
        let mut depth = 0usize;
        let mut max = 0usize;
        for c in sql.chars() {
            match c {
                '(' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        assert!(max < 30, "nesting {max}");
    }

    #[test]
    fn sort_names_pass_the_same_check() {
        let bad = |name: &str, sub: &str| Sort {
            path: AttributePath::new(name, sub, true),
            descending: false,
        };
        for (name, sub) in [
            ("addresses", "x') OR 1=1 --"),
            ("addresses", "a\"}'"),
            ("x'", "value"),
            ("addresses", &"a".repeat(300)),
        ] {
            for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
                assert!(
                    matches!(
                        sort_expr(backend, Target::Users, &bad(name, sub)),
                        Err(e) if e.kind() == Some(ErrorKind::InvalidFilter)
                    ),
                    "{name} {sub}"
                );
            }
        }
        let ok = sort_expr(DbBackend::Sqlite, Target::Users, &bad("addresses", "locality")).unwrap();
        let Expr::Custom(sql) = ok else { panic!() };
        assert_eq!(
            sql.to_string(),
            "json_extract(\"users\".\"document\", '$.\"addresses\"[0].\"locality\"')"
        );
    }

    #[test]
    fn names_that_could_escape_a_json_path_are_refused() {
        let f = cmp(path("a'); DROP TABLE users; --", "", false), CompareOp::Eq, "x");
        assert!(matches!(
            condition(DbBackend::Sqlite, Target::Users, &f),
            Err(e) if e.kind() == Some(ErrorKind::InvalidFilter)
        ));
    }
}
