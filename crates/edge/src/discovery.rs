//! Service discovery (RFC 7644 §4): what this service supports, truthfully.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use dirsync_scim::discovery::{AuthScheme, ServiceProviderConfig, resource_type_json};
use dirsync_scim::list::list_response;
use std::sync::Arc;

use crate::tenant_schemas::TenantSchemas;
use serde::Deserialize;

use crate::auth::Caller;
use crate::base_url;
use crate::error::{ApiError, ApiResult};
use crate::media::Scim;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct NamePath {
    #[allow(dead_code)]
    tenant: String,
    name: String,
}

/// The caller's tenant's resource types: built-in schemas plus its registered extensions.
async fn resource_schemas(state: &AppState, caller: &Caller) -> ApiResult<Arc<TenantSchemas>> {
    state.tenant_schemas(&caller.tenant_id).await
}

/// GET /ServiceProviderConfig (RFC 7643 §5)
pub async fn service_provider_config(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Scim> {
    let config = ServiceProviderConfig {
        documentation_uri: None,
        patch: true,
        bulk: Some((crate::bulk::MAX_OPERATIONS as u64, state.config.max_body_bytes as u64)),
        filter_max_results: state.config.max_page_size,
        change_password: false,
        sort: true,
        etag: true,
        auth_schemes: vec![
            AuthScheme {
                kind: "oauthbearertoken".into(),
                name: "Bearer token".into(),
                description: "The connection's secret token in Authorization: Bearer <token>".into(),
                primary: true,
            },
            AuthScheme {
                kind: "httpbasic".into(),
                name: "HTTP Basic".into(),
                description: "Basic authentication with the tenant id as user name and the secret token as password"
                    .into(),
                primary: false,
            },
        ],
    };
    Ok(Scim::ok(config.to_json(&base_url(&state, &headers, &caller.tenant_id))))
}

/// GET /ResourceTypes (RFC 7643 §6)
pub async fn resource_types(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> ApiResult<Scim> {
    let base = base_url(&state, &headers, &caller.tenant_id);
    let items: Vec<_> = resource_schemas(&state, &caller)
        .await?
        .all()
        .iter()
        .map(|rs| resource_type_json(rs, &base))
        .collect();
    let n = items.len() as u64;
    Ok(Scim::ok(list_response(items, n, 1)))
}

/// GET /ResourceTypes/{name}
pub async fn resource_type(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<NamePath>,
    headers: HeaderMap,
) -> ApiResult<Scim> {
    let base = base_url(&state, &headers, &caller.tenant_id);
    resource_schemas(&state, &caller)
        .await?
        .all()
        .iter()
        .find(|rs| rs.name.eq_ignore_ascii_case(&path.name))
        .map(|rs| Scim::ok(resource_type_json(rs, &base)))
        .ok_or_else(|| ApiError::not_found(format!("resource type {} not found", path.name)))
}

async fn all_schemas(state: &AppState, caller: &Caller) -> ApiResult<Vec<dirsync_scim::schema::Schema>> {
    let mut out: Vec<dirsync_scim::schema::Schema> = Vec::new();
    for rs in resource_schemas(state, caller).await?.all() {
        for s in rs.schemas() {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s.clone());
            }
        }
    }
    Ok(out)
}

/// GET /Schemas (RFC 7643 §7)
pub async fn schemas(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> ApiResult<Scim> {
    let base = base_url(&state, &headers, &caller.tenant_id);
    let items: Vec<_> = all_schemas(&state, &caller)
        .await?
        .iter()
        .map(|s| s.to_json(&base))
        .collect();
    let n = items.len() as u64;
    Ok(Scim::ok(list_response(items, n, 1)))
}

/// GET /Schemas/{id}
pub async fn schema(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<NamePath>,
    headers: HeaderMap,
) -> ApiResult<Scim> {
    let base = base_url(&state, &headers, &caller.tenant_id);
    all_schemas(&state, &caller)
        .await?
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&path.name))
        .map(|s| Scim::ok(s.to_json(&base)))
        .ok_or_else(|| ApiError::not_found(format!("schema {} not found", path.name)))
}
