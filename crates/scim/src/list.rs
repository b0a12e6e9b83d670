//! Query and list plumbing (RFC 7644 §3.4.2, §3.4.3): ListResponse bodies, SearchRequest
//! bodies and query parameters, paging and sort order.

use serde_json::{Value, json};

use crate::error::{ScimError, ScimType};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// RFC 7644 §3.4.2 ListResponse. The counters are JSON integers (Okta rejects strings, B2.7)
/// and `Resources` is present even when empty (Entra's test connection, B1.18).
pub fn list_response(resources: Vec<Value>, total_results: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

/// Query parameters of `GET /Users` or the body of `POST /.search` (RFC 7644 §3.4.3).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<Vec<String>>,
    pub excluded_attributes: Option<Vec<String>>,
}

impl SearchRequest {
    /// Reads a `POST /.search` body (RFC 7644 §3.4.3); malformed bodies are 400 invalidSyntax.
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        serde_json::from_value(body.clone())
            .map_err(|e| ScimError::bad_request(ScimType::InvalidSyntax, format!("invalid SearchRequest: {e}")))
    }

    /// Reads already-decoded query parameters (RFC 7644 §3.4.2). Names are matched
    /// case-insensitively; `attributes` lists are comma-separated; unknown names are ignored.
    pub fn from_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ScimError> {
        let mut req = Self::default();
        let list = |v: &str| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        for (name, value) in pairs {
            match name.to_ascii_lowercase().as_str() {
                "filter" => req.filter = Some(value.to_string()),
                "sortby" => req.sort_by = Some(value.to_string()),
                "sortorder" => req.sort_order = Some(value.to_string()),
                "startindex" => req.start_index = Some(parse_int("startIndex", value)?),
                "count" => req.count = Some(parse_int("count", value)?),
                "attributes" => req.attributes = Some(list(value)),
                "excludedattributes" => req.excluded_attributes = Some(list(value)),
                _ => {}
            }
        }
        Ok(req)
    }
}

/// An integer query parameter; out-of-range digits saturate, since paging clamps them anyway.
fn parse_int(name: &str, value: &str) -> Result<i64, ScimError> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    let digits = v.strip_prefix('-').or_else(|| v.strip_prefix('+')).unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if v.starts_with('-') { i64::MIN } else { i64::MAX });
    }
    Err(ScimError::bad_request(
        ScimType::InvalidValue,
        format!("'{name}' must be an integer, got '{value}'"),
    ))
}

/// RFC 7644 §3.4.2.4: `startIndex` below 1 is read as 1; a negative `count` as 0; `count`
/// above the server's maximum is capped (and the default is capped too).
pub fn normalize_paging(
    start_index: Option<i64>,
    count: Option<i64>,
    default_count: u64,
    max_count: u64,
) -> (u64, u64) {
    let start = start_index
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s >= 1)
        .unwrap_or(1);
    let count = match count {
        None => default_count,
        Some(c) => u64::try_from(c).unwrap_or(0),
    };
    (start, count.min(max_count))
}

/// RFC 7644 §3.4.2.3 `sortOrder`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    /// Case-insensitive; anything else is 400 invalidValue.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        if s.eq_ignore_ascii_case("ascending") {
            Ok(SortOrder::Ascending)
        } else if s.eq_ignore_ascii_case("descending") {
            Ok(SortOrder::Descending)
        } else {
            Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("sortOrder must be 'ascending' or 'descending', got '{s}'"),
            ))
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_list_responses() {
        let cases = [
            (
                list_response(vec![], 0, 1),
                json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []}),
            ),
            (
                list_response(vec![json!({"id": "a"}), json!({"id": "b"})], 7, 3),
                json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 7, "itemsPerPage": 2, "startIndex": 3, "Resources": [{"id": "a"}, {"id": "b"}]}),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
            assert!(got["totalResults"].is_u64() && got["startIndex"].is_u64() && got["itemsPerPage"].is_u64());
        }
    }

    #[test]
    fn normalizes_paging() {
        // (startIndex, count, default, max) -> (start, count)
        let cases = [
            ((None, None, 100, 200), (1, 100)),
            ((Some(0), Some(10), 100, 200), (1, 10)),
            ((Some(-5), Some(-1), 100, 200), (1, 0)),
            ((Some(101), Some(100), 100, 200), (101, 100)),
            ((Some(1), Some(1000), 100, 200), (1, 200)),
            ((None, None, 500, 200), (1, 200)),
            ((Some(i64::MAX), Some(i64::MAX), 100, 200), (i64::MAX as u64, 200)),
            ((Some(i64::MIN), Some(0), 100, 200), (1, 0)),
        ];
        for ((s, c, d, m), want) in cases {
            assert_eq!(normalize_paging(s, c, d, m), want, "{s:?} {c:?} {d} {m}");
        }
    }

    #[test]
    fn parses_sort_order() {
        let cases = [
            ("ascending", Some(SortOrder::Ascending)),
            ("DESCENDING", Some(SortOrder::Descending)),
            ("Ascending", Some(SortOrder::Ascending)),
            ("asc", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(SortOrder::parse(s).ok(), want, "{s}");
        }
        let e = SortOrder::parse("up").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(SortOrder::default().as_str(), "ascending");
    }

    #[test]
    fn reads_search_requests() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": ["emails"],
            "filter": "displayName sw \"smith\"",
            "sortBy": "userName",
            "sortOrder": "descending",
            "startIndex": 1,
            "count": 10
        });
        let want = SearchRequest {
            filter: Some("displayName sw \"smith\"".into()),
            sort_by: Some("userName".into()),
            sort_order: Some("descending".into()),
            start_index: Some(1),
            count: Some(10),
            attributes: Some(vec!["displayName".into(), "userName".into()]),
            excluded_attributes: Some(vec!["emails".into()]),
        };
        assert_eq!(SearchRequest::from_json(&body).unwrap(), want);
        assert_eq!(SearchRequest::from_json(&json!({})).unwrap(), SearchRequest::default());
        let e = SearchRequest::from_json(&json!({"count": "ten"})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));

        let query = [
            ("filter", "displayName sw \"smith\""),
            ("SORTBY", "userName"),
            ("sortOrder", "descending"),
            ("startIndex", "1"),
            ("count", " 10 "),
            ("attributes", "displayName, userName"),
            ("excludedAttributes", "emails"),
            ("unrelated", "x"),
        ];
        assert_eq!(SearchRequest::from_query(query).unwrap(), want);
        let big = SearchRequest::from_query([
            ("count", "99999999999999999999"),
            ("startIndex", "-99999999999999999999"),
        ])
        .unwrap();
        assert_eq!((big.count, big.start_index), (Some(i64::MAX), Some(i64::MIN)));
        let cases = [("count", "ten"), ("startIndex", "1.5"), ("count", ""), ("count", "-")];
        for (k, v) in cases {
            let e = SearchRequest::from_query([(k, v)]).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{k}={v}");
        }
    }
}
