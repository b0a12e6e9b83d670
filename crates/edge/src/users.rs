//! `/Users` (RFC 7644 §3.3–§3.6).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use dirsync_proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, ReplaceUserRequest, User,
};
use dirsync_scim::schema::ResourceSchema;
use dirsync_scim::{extension, patch, projection, resource};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::base_url;
use crate::convert::{etag, render_user, user_document, user_spec};
use crate::error::ApiResult;
use crate::media::{Scim, ScimJson};
use crate::params::{
    ListParams, Precondition, check_if_match, delete_version, if_match, if_none_match, projection_from_query,
};
use crate::retry::until_written;
use crate::state::AppState;
use crate::tenant_schemas::{Kind, SchemaRef};

/// gRPC metadata of a user write: the `<urn>:<attribute>` values kept on removal, for the
/// sync log (read by the core's `journal::RequestContext`).
const KEPT_ON_REMOVAL: &str = "x-dirsync-kept-on-removal";

#[derive(Debug, Deserialize)]
pub struct ResourcePath {
    pub tenant: String,
    pub id: String,
}

/// The caller's tenant's User schema: built-in plus the tenant's extensions.
async fn schema(state: &AppState, caller: &Caller) -> ApiResult<SchemaRef> {
    Ok(SchemaRef::new(
        state.tenant_schemas(&caller.tenant_id).await?,
        Kind::User,
    ))
}

fn respond(u: &User, base: &str, status: StatusCode, proj: &crate::params::Projection, rs: &ResourceSchema) -> Scim {
    let body = projection::project(&render_user(u, base, rs), rs, &proj.attributes, &proj.excluded);
    Scim {
        status,
        body: Some(body),
        etag: Some(etag(u.version)),
        location: Some(format!("{base}/Users/{}", u.id)),
    }
}

async fn fetch(state: &AppState, caller: &Caller, id: &str) -> ApiResult<User> {
    Ok(state
        .directory()
        .get_user(GetUserRequest {
            tenant_id: caller.tenant_id.clone(),
            id: id.to_owned(),
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?
        .into_inner())
}

/// POST /Users (RFC 7644 §3.3)
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Scim> {
    let proj = projection_from_query(query.as_deref())?;
    let rs = schema(&state, &caller).await?;
    let mut doc = resource::normalize(&body, &rs)?;
    // The server's default, stored so that it reads back (RFC 7643 §4.1.1).
    if let Some(obj) = doc.as_object_mut() {
        obj.entry("active").or_insert(Value::Bool(true));
    }
    let spec = user_spec(&doc)?;
    let user = state
        .directory()
        .create_user(CreateUserRequest {
            tenant_id: caller.tenant_id.clone(),
            user: Some(spec),
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?
        .into_inner();
    Ok(respond(
        &user,
        &base_url(&state, &headers, &caller.tenant_id),
        StatusCode::CREATED,
        &proj,
        &rs,
    ))
}

/// GET /Users/{id} (RFC 7644 §3.4.1), with If-None-Match (§3.14).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Scim> {
    let proj = projection_from_query(query.as_deref())?;
    let rs = schema(&state, &caller).await?;
    let user = fetch(&state, &caller, &path.id).await?;
    if if_none_match(&headers)?.is_some_and(|p| p.matches(user.version)) {
        return Ok(Scim {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            etag: Some(etag(user.version)),
            location: None,
        });
    }
    Ok(respond(
        &user,
        &base_url(&state, &headers, &caller.tenant_id),
        StatusCode::OK,
        &proj,
        &rs,
    ))
}

/// Lists users; shared by GET /Users and POST /Users/.search.
pub async fn list_users(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: ListParams,
) -> ApiResult<Value> {
    let rs = schema(state, caller).await?;
    let q = params.core_query(&rs, &state.config)?;
    let resp = state
        .directory()
        .list_users(ListUsersRequest {
            tenant_id: caller.tenant_id.clone(),
            filter: q.filter,
            start_index: q.start_index,
            count: q.count,
            sort: q.sort,
            connection_id: Some(caller.connection_id.clone()),
            ..Default::default()
        })
        .await?
        .into_inner();
    let base = base_url(state, headers, &caller.tenant_id);
    Ok(params.list_of(
        &rs,
        resp.users.iter().map(|u| render_user(u, &base, &rs)),
        resp.total_results,
        q.start_index,
    ))
}

/// GET /Users (RFC 7644 §3.4.2)
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Scim> {
    let params = ListParams::from_query(query.as_deref())?;
    Ok(Scim::ok(list_users(&state, &caller, &headers, params).await?))
}

/// POST /Users/.search (RFC 7644 §3.4.3)
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> ApiResult<Scim> {
    let params = ListParams::from_search(&body)?;
    Ok(Scim::ok(list_users(&state, &caller, &headers, params).await?))
}

/// Writes `next` over `current` unless nothing changed (a native or unmanaged user is written
/// anyway: the write takes it over); retries on a concurrent write only when the client did
/// not pin a version.
///
/// Values the tenant's schema keeps on removal are put back first; a request that cleared one
/// is written even when nothing else changed, so that its sync-log line says what was kept.
async fn write(
    state: &AppState,
    caller: &Caller,
    current: &User,
    mut doc: Value,
    rs: &ResourceSchema,
) -> Result<User, tonic::Status> {
    let before = user_document(current);
    let kept = extension::keep_on_removal(&before, &mut doc, rs);
    let managed = current.source != "native" && current.connection_id.is_some();
    if doc == before && managed && kept.is_empty() {
        return Ok(current.clone());
    }
    let spec = user_spec(&doc).map_err(|e| tonic::Status::invalid_argument(e.0.detail))?;
    let mut request = tonic::Request::new(ReplaceUserRequest {
        tenant_id: caller.tenant_id.clone(),
        id: current.id.clone(),
        user: Some(spec),
        expected_version: Some(current.version),
        connection_id: Some(caller.connection_id.clone()),
    });
    if !kept.is_empty() {
        // Attribute paths are ASCII (URNs and RFC 7643 names), so they always fit a header.
        if let Ok(v) = kept.join(",").parse() {
            request.metadata_mut().insert(KEPT_ON_REMOVAL, v);
        }
    }
    Ok(state.directory().replace_user(request).await?.into_inner())
}

/// Runs a read-modify-write until it lands: concurrent PATCHes never lose an update, and the
/// retry happens here, not in the IdP.
async fn read_modify_write(
    state: &AppState,
    caller: &Caller,
    id: &str,
    pre: Option<Precondition>,
    rs: &ResourceSchema,
    modify: impl Fn(&User) -> ApiResult<Value>,
) -> ApiResult<User> {
    let (pre, modify) = (pre.as_ref(), &modify);
    until_written(&format!("user {id}"), pre.is_none(), move || async move {
        let current = fetch(state, caller, id).await?;
        check_if_match(pre, &format!("user {}", current.id), current.version)?;
        let doc = modify(&current)?;
        Ok(write(state, caller, &current, doc, rs).await?)
    })
    .await
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): replaces the resource; read-only attributes are ignored,
/// immutable ones must not change, and a body without `active` keeps the current state
/// (Okta sends PUT for everything, docs/idp/notes.md B2.4).
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Scim> {
    let proj = projection_from_query(query.as_deref())?;
    let rs = schema(&state, &caller).await?;
    let doc = resource::normalize(&body, &rs)?;
    let user = read_modify_write(&state, &caller, &path.id, if_match(&headers)?, &rs, |current| {
        resource::check_immutable(&user_document(current), &doc, &rs)?;
        let mut next = doc.clone();
        // A PUT without `active` never reactivates an inactive user.
        if let (Some(obj), false) = (next.as_object_mut(), current.active) {
            obj.entry("active").or_insert(Value::Bool(false));
        }
        Ok(next)
    })
    .await?;
    Ok(respond(
        &user,
        &base_url(&state, &headers, &caller.tenant_id),
        StatusCode::OK,
        &proj,
        &rs,
    ))
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply atomically; answers 200 with the
/// resource.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Scim> {
    let proj = projection_from_query(query.as_deref())?;
    let ops = patch::parse_request_with(&body, &state.config.bounds.patch)?;
    let rs = schema(&state, &caller).await?;
    let user = read_modify_write(&state, &caller, &path.id, if_match(&headers)?, &rs, |current| {
        let mut doc = user_document(current);
        patch::apply(&mut doc, &ops, &rs)?;
        Ok(doc)
    })
    .await?;
    Ok(respond(
        &user,
        &base_url(&state, &headers, &caller.tenant_id),
        StatusCode::OK,
        &proj,
        &rs,
    ))
}

/// DELETE /Users/{id} (RFC 7644 §3.6)
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
) -> ApiResult<Scim> {
    let what = format!("user {}", path.id);
    let expected_version = delete_version(if_match(&headers)?, &what, async {
        Ok(fetch(&state, &caller, &path.id).await?.version)
    })
    .await?;
    state
        .directory()
        .delete_user(DeleteUserRequest {
            tenant_id: caller.tenant_id.clone(),
            id: path.id,
            expected_version,
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?;
    Ok(Scim::no_content())
}
