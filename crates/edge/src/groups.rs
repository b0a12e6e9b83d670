//! `/Groups` (RFC 7644 §3.3–§3.6). Member changes travel to the core as set-based operations;
//! the member list is loaded only when the response shows it.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{
    self as pb, CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, Group, ListGroupsRequest, PatchGroupRequest,
};
use dirsync_scim::patch::{self, MemberChange};
use dirsync_scim::schema::ResourceSchema;
use dirsync_scim::{ScimType, projection, resource};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::auth::Caller;
use crate::base_url;
use crate::bounds::{check_member_count, member_count};
use crate::convert::{etag, group_document, group_spec, render_group, render_member};
use crate::error::{ApiError, ApiResult};
use crate::media::{Scim, ScimJson};
use crate::params::{
    ListParams, Precondition, Projection, check_if_match, delete_version, if_match, if_none_match,
    projection_from_query,
};
use crate::retry::until_written;
use crate::state::AppState;
use crate::tenant_schemas::{Kind, SchemaRef};
use crate::users::ResourcePath;

/// The caller's tenant's Group schema: built-in plus the tenant's extensions.
async fn schema(state: &AppState, caller: &Caller) -> ApiResult<SchemaRef> {
    Ok(SchemaRef::new(
        state.tenant_schemas(&caller.tenant_id).await?,
        Kind::Group,
    ))
}

fn respond(
    g: &Group,
    base: &str,
    status: StatusCode,
    proj: &Projection,
    with_members: bool,
    rs: &ResourceSchema,
) -> Scim {
    let body = projection::project(
        &render_group(g, base, rs, with_members),
        rs,
        &proj.attributes,
        &proj.excluded,
    );
    Scim {
        status,
        body: Some(body),
        etag: Some(etag(g.version)),
        location: Some(format!("{base}/Groups/{}", g.id)),
    }
}

/// Splits `members` off a POST/PUT body: `None` when the body has no `members` at all; more
/// than `limit` members are refused before any is read.
fn take_members(body: &Value, limit: usize) -> ApiResult<(Value, Option<Vec<String>>)> {
    let mut body = body.clone();
    let Some(obj) = body.as_object_mut() else {
        return Ok((body, None));
    };
    let key = obj.keys().find(|k| k.eq_ignore_ascii_case("members")).cloned();
    let Some(raw) = key.and_then(|k| obj.remove(&k)) else {
        return Ok((body, None));
    };
    if let Value::Array(items) = &raw {
        check_member_count(items.len(), limit)?;
    }
    let ids = match raw {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|m| match m.get("value") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(ApiError::bad_request(
                    ScimType::InvalidValue,
                    "each member needs a string \"value\" (the member's id)",
                )),
            })
            .collect::<ApiResult<_>>()?,
        _ => {
            return Err(ApiError::bad_request(
                ScimType::InvalidValue,
                "members must be an array",
            ));
        }
    };
    Ok((body, Some(ids)))
}

fn member_change(c: MemberChange) -> pb::MemberChange {
    use pb::member_change::Kind;
    let kind = match c {
        MemberChange::Add(ids) => Kind::Add(pb::IdList { ids }),
        MemberChange::Remove(ids) => Kind::Remove(pb::IdList { ids }),
        MemberChange::RemoveAll => Kind::RemoveAll(true),
        MemberChange::Replace(ids) => Kind::Replace(pb::IdList { ids }),
    };
    pb::MemberChange { kind: Some(kind) }
}

async fn fetch(state: &AppState, caller: &Caller, id: &str, include_members: bool) -> ApiResult<Group> {
    Ok(state
        .directory()
        .get_group(GetGroupRequest {
            tenant_id: caller.tenant_id.clone(),
            id: id.to_owned(),
            include_members,
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?
        .into_inner())
}

/// POST /Groups (RFC 7644 §3.3)
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Response> {
    let proj = projection_from_query(query.as_deref())?;
    let (body, members) = take_members(&body, state.config.bounds.max_members_per_request)?;
    let rs = schema(&state, &caller).await?;
    let doc = resource::normalize(&body, &rs)?;
    let group = state
        .directory()
        .create_group(CreateGroupRequest {
            tenant_id: caller.tenant_id.clone(),
            group: Some(group_spec(&doc)?),
            member_ids: members.unwrap_or_default(),
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?
        .into_inner();
    let base = base_url(&state, &headers, &caller.tenant_id);
    if group.members_omitted && proj.wants("members") {
        // Too many members for one message: they are streamed.
        return respond_streamed(&state, &caller, &group, &base, &proj, rs, StatusCode::CREATED).await;
    }
    Ok(respond(&group, &base, StatusCode::CREATED, &proj, true, &rs).into_response())
}

/// GET /Groups/{id} (RFC 7644 §3.4.1); `excludedAttributes=members` never loads members, and
/// members are streamed into the body (`respond_ok`), so a group of any size is served.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let proj = projection_from_query(query.as_deref())?;
    let with_members = proj.wants("members");
    let rs = schema(&state, &caller).await?;
    let group = fetch(&state, &caller, &path.id, false).await?;
    if if_none_match(&headers)?.is_some_and(|p| p.matches(group.version)) {
        return Ok(Scim {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            etag: Some(etag(group.version)),
            location: None,
        }
        .into_response());
    }
    let base = base_url(&state, &headers, &caller.tenant_id);
    respond_ok(&state, &caller, &group, &base, &proj, rs, with_members).await
}

/// Members per `StreamGroupMembers` batch (the core's largest): one batch is what the edge
/// holds of a group's members at a time.
const MEMBER_BATCH: u32 = 5000;

/// 200 with `group` and, when `with_members`, all its members (see [`member_body`]).
async fn respond_ok(
    state: &AppState,
    caller: &Caller,
    group: &Group,
    base: &str,
    proj: &Projection,
    rs: SchemaRef,
    with_members: bool,
) -> ApiResult<Response> {
    if !with_members {
        return Ok(respond(group, base, StatusCode::OK, proj, false, &rs).into_response());
    }
    respond_streamed(state, caller, group, base, proj, rs, StatusCode::OK).await
}

/// `status` with `group` and all its members, streamed (see [`member_body`]).
async fn respond_streamed(
    state: &AppState,
    caller: &Caller,
    group: &Group,
    base: &str,
    proj: &Projection,
    rs: SchemaRef,
    status: StatusCode,
) -> ApiResult<Response> {
    let body = member_body(state, caller, group, base, proj, rs, String::new(), b"]}").await?;
    Ok(Scim {
        status,
        body: None,
        etag: Some(etag(group.version)),
        location: Some(format!("{base}/Groups/{}", group.id)),
    }
    .streamed(body))
}

/// `before`, then `group` with all its members, then `after`: the group's attributes first,
/// then its members streamed from the core batch by batch and written into the body as each
/// batch arrives.
/// Memory stays bounded by one batch however large the group, and no gRPC message holds
/// more than one batch. The first batch is read before answering, so a failure to list the
/// members (the group was just deleted) is still a proper error; a failure after that cuts
/// the body short, which the client sees as a broken response, never as a shorter group.
#[allow(clippy::too_many_arguments)]
async fn member_body(
    state: &AppState,
    caller: &Caller,
    group: &Group,
    base: &str,
    proj: &Projection,
    rs: SchemaRef,
    before: String,
    after: &'static [u8],
) -> ApiResult<Body> {
    let mut batches = state
        .directory()
        .stream_group_members(pb::StreamGroupMembersRequest {
            tenant_id: caller.tenant_id.clone(),
            group_id: group.id.clone(),
            batch_size: MEMBER_BATCH,
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?
        .into_inner();
    let first = batches.message().await?;
    let head = projection::project(
        &render_group(group, base, &rs, false),
        &rs,
        &proj.attributes,
        &proj.excluded,
    );
    let writer = MemberWriter {
        base: base.to_owned(),
        rs,
        proj: proj.clone(),
    };
    let mut opening = before.into_bytes();
    opening.extend_from_slice(&writer.opening(&head));
    let members = futures::stream::try_unfold((batches, first, false), move |(mut batches, next, written)| {
        let writer = writer.clone();
        async move {
            let batch = match next {
                Some(batch) => batch,
                None => match batches.message().await? {
                    Some(batch) => batch,
                    None => return Ok(None),
                },
            };
            let (bytes, written) = writer.batch(&batch.members, written);
            Ok::<_, tonic::Status>(Some((bytes, (batches, None, written))))
        }
    });
    let body = futures::stream::once(async move { Ok(Bytes::from(opening)) })
        .chain(members)
        .chain(futures::stream::once(async move { Ok(Bytes::from_static(after)) }))
        .inspect_err(
            |s| tracing::warn!(code = ?s.code(), message = %s.message(), "streaming a group's members failed"),
        );
    Ok(Body::from_stream(body))
}

/// Writes a group's `members` in pieces: each member rendered and projected as
/// `render_group` and `respond` would.
#[derive(Clone)]
struct MemberWriter {
    base: String,
    rs: SchemaRef,
    proj: Projection,
}

impl MemberWriter {
    /// The group document without its closing brace, then `"members":[`.
    fn opening(&self, head: &Value) -> Bytes {
        let mut out = head.to_string();
        out.pop();
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str("\"members\":[");
        Bytes::from(out)
    }

    /// One batch as array elements, after a comma when elements were `written` before.
    fn batch(&self, members: &[pb::Member], mut written: bool) -> (Bytes, bool) {
        let rendered: Vec<Value> = members.iter().map(|m| render_member(m, &self.base)).collect();
        let projected = projection::project(
            &serde_json::json!({ "members": rendered }),
            &self.rs,
            &self.proj.attributes,
            &self.proj.excluded,
        );
        let mut out = Vec::new();
        for member in projected.get("members").and_then(Value::as_array).into_iter().flatten() {
            if written {
                out.push(b',');
            }
            // Writing a JSON value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, member);
            written = true;
        }
        (Bytes::from(out), written)
    }
}

/// A page of groups as the core sent it.
pub enum GroupPage {
    /// A ListResponse.
    List(Value),
    /// One group whose members did not fit a page (the core omitted them): they are streamed
    /// into the response (`streamed_list`).
    Alone {
        group: Box<Group>,
        total: u64,
        start_index: u64,
    },
}

/// Lists groups; shared by GET /Groups, POST /Groups/.search and the root search.
pub async fn list_groups(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: ListParams,
) -> ApiResult<GroupPage> {
    let rs = schema(state, caller).await?;
    let q = params.core_query(&rs, &state.config)?;
    let with_members = params.projection.wants("members");
    let mut resp = state
        .directory()
        .list_groups(ListGroupsRequest {
            tenant_id: caller.tenant_id.clone(),
            filter: q.filter,
            start_index: q.start_index,
            count: q.count,
            sort: q.sort,
            include_members: with_members,
            connection_id: Some(caller.connection_id.clone()),
            ..Default::default()
        })
        .await?
        .into_inner();
    if with_members && resp.groups.first().is_some_and(|g| g.members_omitted) {
        resp.groups.truncate(1);
        if let Some(group) = resp.groups.pop() {
            return Ok(GroupPage::Alone {
                group: Box::new(group),
                total: resp.total_results,
                start_index: q.start_index,
            });
        }
    }
    let base = base_url(state, headers, &caller.tenant_id);
    let rendered = resp.groups.iter().map(|g| render_group(g, &base, &rs, with_members));
    Ok(GroupPage::List(params.list_of(
        &rs,
        rendered,
        resp.total_results,
        q.start_index,
    )))
}

/// A ListResponse of one group whose members are streamed (`GroupPage::Alone`); `total` and
/// `start_index` as the list's.
pub async fn streamed_list(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: &ListParams,
    group: &Group,
    total: u64,
    start_index: u64,
) -> ApiResult<Response> {
    let rs = schema(state, caller).await?;
    let base = base_url(state, headers, &caller.tenant_id);
    let mut envelope = dirsync_scim::list::list_response(Vec::new(), total, start_index);
    if let Some(obj) = envelope.as_object_mut() {
        obj.remove("Resources");
        obj.insert("itemsPerPage".into(), Value::from(1));
    }
    let mut before = envelope.to_string();
    before.pop();
    before.push_str(",\"Resources\":[");
    let body = member_body(state, caller, group, &base, &params.projection, rs, before, b"]}]}").await?;
    Ok(Scim {
        status: StatusCode::OK,
        body: None,
        etag: None,
        location: None,
    }
    .streamed(body))
}

/// GET /Groups and POST /Groups/.search.
async fn respond_list(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: ListParams,
) -> ApiResult<Response> {
    match list_groups(state, caller, headers, params.clone()).await? {
        GroupPage::List(v) => Ok(Scim::ok(v).into_response()),
        GroupPage::Alone {
            group,
            total,
            start_index,
        } => streamed_list(state, caller, headers, &params, &group, total, start_index).await,
    }
}

/// GET /Groups (RFC 7644 §3.4.2)
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = ListParams::from_query(query.as_deref())?;
    respond_list(&state, &caller, &headers, params).await
}

/// POST /Groups/.search (RFC 7644 §3.4.3)
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> ApiResult<Response> {
    let params = ListParams::from_search(&body)?;
    respond_list(&state, &caller, &headers, params).await
}

/// Computes a group's next document from its current state.
type Modify<'a> = dyn Fn(&Group) -> ApiResult<Value> + Sync + 'a;

/// Applies attribute changes (read-modify-write, retried on concurrent writes) and member
/// changes (set-based) in one core transaction. The group comes back without its members
/// (a response that shows them streams them).
async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    pre: Option<Precondition>,
    modify: Option<&Modify<'_>>,
    changes: Vec<pb::MemberChange>,
) -> ApiResult<Group> {
    let (pre, changes) = (pre.as_ref(), &changes);
    until_written(&format!("group {id}"), pre.is_none(), move || async move {
        let (group, expected_version) = match (modify, pre) {
            (None, None) => (None, None),
            _ => {
                let current = fetch(state, caller, id, false).await?;
                check_if_match(pre, &format!("group {}", current.id), current.version)?;
                let spec = match modify {
                    Some(f) => {
                        let doc = f(&current)?;
                        (doc != group_document(&current))
                            .then(|| group_spec(&doc))
                            .transpose()?
                    }
                    None => None,
                };
                (spec, Some(current.version))
            }
        };
        let written = state
            .directory()
            .patch_group(PatchGroupRequest {
                tenant_id: caller.tenant_id.clone(),
                id: id.to_owned(),
                group,
                member_changes: changes.clone(),
                expected_version,
                include_members: false,
                connection_id: Some(caller.connection_id.clone()),
            })
            .await?;
        Ok(written.into_inner())
    })
    .await
}

/// PUT /Groups/{id} (RFC 7644 §3.5.1). A body without `members` leaves membership alone;
/// `"members": []` empties the group.
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Response> {
    let proj = projection_from_query(query.as_deref())?;
    let (body, members) = take_members(&body, state.config.bounds.max_members_per_request)?;
    let rs = schema(&state, &caller).await?;
    let doc = resource::normalize(&body, &rs)?;
    let modify = |current: &Group| -> ApiResult<Value> {
        resource::check_immutable(&group_document(current), &doc, &rs)?;
        Ok(doc.clone())
    };
    let changes: Vec<pb::MemberChange> = members
        .map(|ids| member_change(MemberChange::Replace(ids)))
        .into_iter()
        .collect();
    let with_members = proj.wants("members");
    let group = update(&state, &caller, &path.id, if_match(&headers)?, Some(&modify), changes).await?;
    let base = base_url(&state, &headers, &caller.tenant_id);
    respond_ok(&state, &caller, &group, &base, &proj, rs, with_members).await
}

/// PATCH /Groups/{id} (RFC 7644 §3.5.2). Answers 204 (what Entra expects, docs/idp/notes.md B1.20)
/// unless the client asks for attributes, then 200 with the resource.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ScimJson(body): ScimJson,
) -> ApiResult<Response> {
    let proj = projection_from_query(query.as_deref())?;
    let bounds = &state.config.bounds;
    let ops = patch::parse_request_with(&body, &bounds.patch)?;
    let (doc_ops, member_ops) = patch::split_member_ops(ops)?;
    check_member_count(member_count(&member_ops), bounds.max_members_per_request)?;
    let rs = schema(&state, &caller).await?;
    let changes: Vec<pb::MemberChange> = member_ops.into_iter().map(member_change).collect();
    let modify = |current: &Group| -> ApiResult<Value> {
        let mut doc = group_document(current);
        patch::apply(&mut doc, &doc_ops, &rs)?;
        Ok(doc)
    };
    let modify: Option<&Modify<'_>> = if doc_ops.is_empty() { None } else { Some(&modify) };
    let with_members = !proj.is_empty() && proj.wants("members");
    let group = update(&state, &caller, &path.id, if_match(&headers)?, modify, changes).await?;
    if proj.is_empty() {
        return Ok(Scim {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: Some(etag(group.version)),
            location: None,
        }
        .into_response());
    }
    let base = base_url(&state, &headers, &caller.tenant_id);
    respond_ok(&state, &caller, &group, &base, &proj, rs, with_members).await
}

/// DELETE /Groups/{id} (RFC 7644 §3.6)
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ResourcePath>,
    headers: HeaderMap,
) -> ApiResult<Scim> {
    let what = format!("group {}", path.id);
    let expected_version = delete_version(if_match(&headers)?, &what, async {
        Ok(fetch(&state, &caller, &path.id, false).await?.version)
    })
    .await?;
    state
        .directory()
        .delete_group(DeleteGroupRequest {
            tenant_id: caller.tenant_id.clone(),
            id: path.id,
            expected_version,
            connection_id: Some(caller.connection_id.clone()),
        })
        .await?;
    Ok(Scim::no_content())
}
