//! Query parameters and `.search` bodies (RFC 7644 §3.4.2, §3.4.3, §3.9), and the request
//! headers that carry versions (§3.14).

use axum::http::{HeaderMap, header};
use dirsync_scim::list::SearchRequest;
use dirsync_scim::path::AttrPath;
use dirsync_scim::projection::parse_attr_list;
use dirsync_scim::schema::ResourceSchema;
use dirsync_scim::{ScimType, filter};
use serde_json::Value;

use crate::bounds;
use crate::state::EdgeConfig;

use crate::error::{ApiError, ApiResult};

/// `attributes` / `excludedAttributes`.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Whether the response needs `attr` at all (e.g. `members`, which is costly to load).
    pub fn wants(&self, attr: &str) -> bool {
        let named = |list: &[AttrPath]| {
            list.iter()
                .any(|p| p.attr.eq_ignore_ascii_case(attr) && p.sub_attr.is_none())
        };
        let named_any = |list: &[AttrPath]| list.iter().any(|p| p.attr.eq_ignore_ascii_case(attr));
        if !self.attributes.is_empty() {
            return named_any(&self.attributes);
        }
        !named(&self.excluded)
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }
}

/// Everything a list or search request can say.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// The filter as sent; parsed by [`ListParams::core_query`] within the edge's
    /// [`crate::bounds::Bounds`].
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub projection: Projection,
}

fn int(name: &str, v: &str) -> ApiResult<i64> {
    v.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(ScimType::InvalidValue, format!("{name} must be an integer, not {v:?}")))
}

fn descending(order: Option<&str>) -> ApiResult<bool> {
    match order.map(str::trim) {
        None | Some("") => Ok(false),
        Some(o) if o.eq_ignore_ascii_case("ascending") => Ok(false),
        Some(o) if o.eq_ignore_ascii_case("descending") => Ok(true),
        Some(o) => Err(ApiError::bad_request(
            ScimType::InvalidValue,
            format!("sortOrder must be ascending or descending, not {o:?}"),
        )),
    }
}

fn raw_filter(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}

/// `attributes` / `excludedAttributes`, counted before they are parsed.
fn attr_list(param: &str, raw: &str) -> ApiResult<Vec<AttrPath>> {
    bounds::check_attribute_list(param, raw)?;
    Ok(parse_attr_list(raw)?)
}

fn sort_by(raw: String) -> ApiResult<Option<String>> {
    bounds::check_sort_by(&raw)?;
    Ok(Some(raw).filter(|s| !s.trim().is_empty()))
}

impl ListParams {
    /// From a query string; parameter names are matched case-insensitively and stray `&`/`?`
    /// are ignored (OneLogin sends them).
    pub fn from_query(raw: Option<&str>) -> ApiResult<Self> {
        let mut p = ListParams::default();
        let mut order = None;
        let mut projection = Projection::default();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").trim_start_matches('?').as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = raw_filter(&v),
                "startindex" => p.start_index = Some(int("startIndex", &v)?),
                "count" => p.count = Some(int("count", &v)?),
                "sortby" => p.sort_by = sort_by(v.into_owned())?,
                "sortorder" => order = Some(v.into_owned()),
                "attributes" => projection.attributes = attr_list("attributes", &v)?,
                "excludedattributes" => projection.excluded = attr_list("excludedAttributes", &v)?,
                _ => {}
            }
        }
        p.descending = descending(order.as_deref())?;
        p.projection = projection;
        Ok(p)
    }

    /// From a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> ApiResult<Self> {
        let req: SearchRequest = serde_json::from_value(body.clone())
            .map_err(|e| ApiError::bad_request(ScimType::InvalidSyntax, format!("invalid SearchRequest: {e}")))?;
        let list = |param: &str, v: Option<Vec<String>>| -> ApiResult<Vec<AttrPath>> {
            Ok(v.map(|items| attr_list(param, &items.join(",")))
                .transpose()?
                .unwrap_or_default())
        };
        Ok(ListParams {
            filter: req.filter.as_deref().and_then(raw_filter),
            start_index: req.start_index,
            count: req.count,
            sort_by: req.sort_by.map(sort_by).transpose()?.flatten(),
            descending: descending(req.sort_order.as_deref())?,
            projection: Projection {
                attributes: list("attributes", req.attributes)?,
                excluded: list("excludedAttributes", req.excluded_attributes)?,
            },
        })
    }
}

/// A list request as the core takes it: typed filter and sort, normalised paging.
#[derive(Debug, Clone)]
pub struct CoreQuery {
    pub filter: Option<dirsync_proto::v1::Filter>,
    pub sort: Option<dirsync_proto::v1::Sort>,
    pub start_index: u64,
    pub count: u64,
}

impl ListParams {
    /// Resolves the filter and sort against `rs` and normalises paging (RFC 7644 §3.4.2.4).
    pub fn core_query(&self, rs: &ResourceSchema, cfg: &EdgeConfig) -> ApiResult<CoreQuery> {
        let filter = self
            .filter
            .as_deref()
            .map(|f| -> ApiResult<_> { crate::convert::filter(&filter::parse_with(f, &cfg.bounds.filter)?, rs) })
            .transpose()?;
        let sort = self
            .sort_by
            .as_deref()
            .map(|s| crate::convert::sort(s, self.descending, rs))
            .transpose()?;
        let (start_index, count) = dirsync_scim::list::normalize_paging(
            self.start_index,
            self.count,
            cfg.default_page_size,
            cfg.max_page_size,
        );
        Ok(CoreQuery {
            filter,
            sort,
            start_index,
            count,
        })
    }

    /// A ListResponse of rendered resources, with this request's projection applied.
    pub fn list_of(
        &self,
        rs: &ResourceSchema,
        rendered: impl Iterator<Item = Value>,
        total: u64,
        start_index: u64,
    ) -> Value {
        let p = &self.projection;
        let resources = rendered
            .map(|r| dirsync_scim::projection::project(&r, rs, &p.attributes, &p.excluded))
            .collect();
        dirsync_scim::list::list_response(resources, total, start_index)
    }
}

/// `attributes` / `excludedAttributes` of a single-resource request.
pub fn projection_from_query(raw: Option<&str>) -> ApiResult<Projection> {
    Ok(ListParams::from_query(raw)?.projection)
}

/// A version precondition from `If-Match` / `If-None-Match` (weak ETags `W/"n"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    Any,
    Versions(Vec<i64>),
}

impl Precondition {
    pub fn matches(&self, version: i64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(v) => v.contains(&version),
        }
    }
}

fn precondition(headers: &HeaderMap, name: header::HeaderName) -> ApiResult<Option<Precondition>> {
    let Some(raw) = headers.get(&name) else { return Ok(None) };
    let raw = raw
        .to_str()
        .map_err(|_| ApiError::bad_request(ScimType::InvalidValue, format!("{name} is not valid text")))?;
    if raw.trim() == "*" {
        return Ok(Some(Precondition::Any));
    }
    // Unparseable tags match no version: the precondition then fails, as RFC 7232 asks.
    let versions = raw
        .split(',')
        .filter_map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.trim_matches('"').parse::<i64>().ok()
        })
        .collect();
    Ok(Some(Precondition::Versions(versions)))
}

/// 412 unless `pre` (an `If-Match`) names `version`; `what` names the resource, e.g. "user 42".
pub fn check_if_match(pre: Option<&Precondition>, what: &str, version: i64) -> ApiResult<()> {
    match pre {
        Some(p) if !p.matches(version) => Err(ApiError::precondition_failed(format!(
            "{what} is at version W/\"{version}\", not the one in If-Match"
        ))),
        _ => Ok(()),
    }
}

/// The version a conditional DELETE must find: none without `If-Match` (or with `*`), else
/// the current version, once it is one the header names.
pub async fn delete_version(
    pre: Option<Precondition>,
    what: &str,
    current: impl std::future::Future<Output = ApiResult<i64>>,
) -> ApiResult<Option<i64>> {
    match pre {
        None | Some(Precondition::Any) => Ok(None),
        Some(p) => {
            let version = current.await?;
            check_if_match(Some(&p), what, version)?;
            Ok(Some(version))
        }
    }
}

pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<Precondition>> {
    precondition(headers, header::IF_MATCH)
}

pub fn if_none_match(headers: &HeaderMap) -> ApiResult<Option<Precondition>> {
    precondition(headers, header::IF_NONE_MATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings() {
        let p = ListParams::from_query(Some(
            "?&FILTER=userName%20eq%20%22a%22&startIndex=1&Count=100&sortBy=userName&sortOrder=Descending&excludedAttributes=members",
        ))
        .unwrap();
        assert!(p.filter.is_some());
        assert_eq!((p.start_index, p.count, p.descending), (Some(1), Some(100), true));
        assert!(!p.projection.wants("members"));
        assert!(ListParams::from_query(Some("count=ten")).is_err());
        assert!(ListParams::from_query(Some("sortOrder=up")).is_err());
        let cfg = EdgeConfig::default();
        let rs = ResourceSchema::user();
        let query = |q: &str| ListParams::from_query(Some(q)).and_then(|p| p.core_query(&rs, &cfg));
        assert_eq!(query("filter=userName%20eqq%20x").unwrap_err().status(), 400);
        let many = vec!["a%20pr"; 201].join("%20or%20");
        let e = query(&format!("filter={many}")).unwrap_err();
        assert_eq!(e.0.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.0.detail.contains("DIRSYNC_MAX_FILTER_TERMS"), "{}", e.0.detail);
        assert!(query(&format!("attributes={}", vec!["a"; 101].join(","))).is_err());
        assert!(query(&format!("sortBy={}", "a".repeat(600))).is_err());
    }

    #[test]
    fn etags() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, "W/\"3\", \"4\"".parse().unwrap());
        let p = if_match(&h).unwrap().unwrap();
        assert!(p.matches(3) && p.matches(4) && !p.matches(5));
        h.insert(header::IF_MATCH, "*".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), Some(Precondition::Any));
        h.insert(header::IF_MATCH, "garbage".parse().unwrap());
        assert!(!if_match(&h).unwrap().unwrap().matches(1));
    }
}
