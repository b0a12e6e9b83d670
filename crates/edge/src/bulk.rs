//! `POST /Bulk` (RFC 7644 §3.7). Each operation runs through the same router as a single
//! request would, with the caller's credentials, so validation, authorisation and errors are
//! identical. `bulkId:` references are resolved from earlier results; operations whose
//! references are not resolved yet wait for a later pass (§3.7.1).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Request, header};
use dirsync_scim::ScimType;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::media::{Scim, ScimJson};
use crate::state::AppState;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// Advertised as `bulk.maxOperations`.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Deserialize)]
pub struct TenantPath {
    tenant: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Operation {
    method: String,
    #[serde(rename = "bulkId")]
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// Replaces every `"bulkId:<id>"` string in `v`; `Err` names the first unresolved id.
fn resolve(v: &Value, ids: &HashMap<String, String>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => match s.strip_prefix("bulkId:") {
            Some(b) => Value::String(ids.get(b).cloned().ok_or_else(|| b.to_owned())?),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, ids)).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x, ids)?)))
                .collect::<Result<_, String>>()?,
        ),
        _ => v.clone(),
    })
}

/// Replaces a `bulkId:<id>` segment of an operation path (`/Users/bulkId:qwerty`).
fn resolve_path(path: &str, ids: &HashMap<String, String>) -> Result<String, String> {
    path.split('/')
        .map(|seg| match seg.strip_prefix("bulkId:") {
            Some(b) => ids.get(b).cloned().ok_or_else(|| b.to_owned()),
            None => Ok(seg.to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|segs| segs.join("/"))
}

fn op_result(op: &Operation, status: u16, location: Option<String>, response: Option<Value>) -> Value {
    let mut r = json!({ "method": op.method, "status": status.to_string() });
    let o = r.as_object_mut();
    if let Some(o) = o {
        if let Some(b) = &op.bulk_id {
            o.insert("bulkId".into(), json!(b));
        }
        if let Some(v) = &op.version {
            o.insert("version".into(), json!(v));
        }
        if let Some(l) = location {
            o.insert("location".into(), json!(l));
        }
        if let Some(resp) = response {
            o.insert("response".into(), resp);
        }
    }
    r
}

fn failed(op: &Operation, status: u16, t: Option<ScimType>, detail: String) -> Value {
    op_result(op, status, None, Some(ApiError::new(status, t, detail).0.to_json()))
}

/// POST /Bulk
pub async fn bulk(
    State(state): State<AppState>,
    _caller: Caller,
    Path(path): Path<TenantPath>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> ApiResult<Scim> {
    let ops_raw = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request(ScimType::InvalidSyntax, "a BulkRequest needs an Operations array"))?;
    if ops_raw.len() > MAX_OPERATIONS {
        return Err(ApiError::new(
            413,
            Some(ScimType::TooLarge),
            format!("{} operations exceed maxOperations {MAX_OPERATIONS}", ops_raw.len()),
        ));
    }
    let ops: Vec<Operation> = ops_raw
        .iter()
        .map(|o| serde_json::from_value(o.clone()))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::bad_request(ScimType::InvalidSyntax, format!("invalid bulk operation: {e}")))?;
    let fail_on_errors = body.get("failOnErrors").and_then(Value::as_u64).unwrap_or(0);
    let router = crate::router(state.clone());
    let auth = headers.get(header::AUTHORIZATION).cloned();
    let prefix = format!("/scim/v2/{}", path.tenant);

    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut errors = 0u64;
    // Each pass runs what it can; a pass that makes no progress leaves the rest unresolved.
    'passes: loop {
        let mut progressed = false;
        for (i, op) in ops.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let resolved_path = resolve_path(&op.path, &ids);
            let resolved_data = op.data.as_ref().map(|d| resolve(d, &ids)).transpose();
            let (Ok(op_path), Ok(data)) = (resolved_path, resolved_data) else {
                continue;
            };
            progressed = true;
            let method = match Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()) {
                Ok(m) if [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&m) => m,
                _ => {
                    results[i] = Some(failed(
                        op,
                        400,
                        Some(ScimType::InvalidSyntax),
                        format!("unsupported bulk method {:?}", op.method),
                    ));
                    errors += 1;
                    if fail_on_errors > 0 && errors >= fail_on_errors {
                        break 'passes;
                    }
                    continue;
                }
            };
            if method == Method::POST && op.bulk_id.is_none() {
                results[i] = Some(failed(
                    op,
                    400,
                    Some(ScimType::InvalidValue),
                    "POST operations need a bulkId".into(),
                ));
                errors += 1;
                continue;
            }
            let mut req = Request::builder().method(method.clone()).uri({
                let uri = format!("{prefix}{op_path}");
                crate::paths::canonical(&uri).unwrap_or(uri)
            });
            if let Some(a) = &auth {
                req = req.header(header::AUTHORIZATION, a.clone());
            }
            if let Some(v) = &op.version {
                req = req.header(header::IF_MATCH, v.as_str());
            }
            let body = match data {
                Some(d) => {
                    req = req.header(header::CONTENT_TYPE, dirsync_scim::MEDIA_TYPE);
                    Body::from(d.to_string())
                }
                None => Body::empty(),
            };
            let request = req
                .body(body)
                .map_err(|_| ApiError::bad_request(ScimType::InvalidPath, format!("invalid bulk path {op_path:?}")))?;
            let resp = router
                .clone()
                .oneshot(request)
                .await
                .map_err(|_| ApiError::internal())?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .map_err(|_| ApiError::internal())?;
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if status < 300 {
                if let (Some(b), Some(id)) = (&op.bulk_id, json.get("id").and_then(Value::as_str)) {
                    ids.insert(b.clone(), id.to_owned());
                }
                results[i] = Some(op_result(op, status, location, None));
            } else {
                results[i] = Some(op_result(op, status, None, Some(json)));
                errors += 1;
                if fail_on_errors > 0 && errors >= fail_on_errors {
                    break 'passes;
                }
            }
        }
        if !progressed || results.iter().all(Option::is_some) {
            break;
        }
    }
    // What never ran: unresolved references (RFC 7644 §3.7.3 answers 409) or stopped by failOnErrors.
    let stopped = fail_on_errors > 0 && errors >= fail_on_errors;
    let mut out = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(v) => out.push(v),
            None if stopped => {}
            None => out.push(failed(
                &ops[i],
                409,
                Some(ScimType::InvalidValue),
                "the operation refers to a bulkId that no successful operation created".into(),
            )),
        }
    }
    Ok(Scim::ok(json!({ "schemas": [BULK_RESPONSE], "Operations": out })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_ids_resolve_anywhere_in_the_data() {
        let ids = HashMap::from([("a".to_owned(), "id-a".to_owned())]);
        let data = json!({"members": [{"value": "bulkId:a"}], "x": "bulkIdnot"});
        assert_eq!(
            resolve(&data, &ids).unwrap(),
            json!({"members": [{"value": "id-a"}], "x": "bulkIdnot"})
        );
        assert_eq!(resolve(&json!(["bulkId:b"]), &ids).unwrap_err(), "b");
        assert_eq!(resolve_path("/Users/bulkId:a", &ids).unwrap(), "/Users/id-a");
        assert_eq!(resolve_path("/Users/bulkId:b", &ids).unwrap_err(), "b");
    }
}
