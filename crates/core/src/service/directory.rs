//! `dirsync.v1.Directory`: users and groups.

use std::collections::HashMap;
use std::pin::Pin;

use dirsync_domain as domain;
use dirsync_proto::v1::directory_server::Directory;
use dirsync_proto::v1::{
    BatchGetEntitlementsRequest, BatchGetEntitlementsResponse, CreateGroupRequest, CreateUserRequest,
    DeleteGroupRequest, DeleteGroupResponse, DeleteUserRequest, DeleteUserResponse, Entitlements,
    GetEntitlementsRequest, GetGroupRequest, GetUserByRequest, GetUserRequest, Group, License, LicenseState,
    ListGroupMembersRequest, ListGroupMembersResponse, ListGroupsRequest, ListGroupsResponse, ListUserGroupsRequest,
    ListUserGroupsResponse, ListUsersRequest, ListUsersResponse, LoginKey, Member, MemberBatch, PatchGroupRequest,
    ReplaceGroupRequest, ReplaceUserRequest, ResolveLoginRequest, RoleRef, StreamGroupMembersRequest, User,
    get_user_by_request, member_change,
};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;
use uuid::Uuid;

use super::mutation::{self, Author, Deletion, GroupWrite, Pipeline, UserWrite};
use super::{in_txn, optional_id, tenant, timestamp};
use crate::convert::{self, user_out};
use crate::error::{CoreError, Result, parse_id};
use crate::journal::{self, RequestContext};
use dirsync_store::adoption::Visibility;
use dirsync_store::groups::{MemberChange, MemberRow};
use dirsync_store::users::LookupKey;
use dirsync_store::{Page, adoption, groups, holds, licenses, roles, users};

#[derive(Debug, Clone)]
pub struct DirectoryService {
    db: DatabaseConnection,
    /// Every user and group write runs through it.
    pipeline: Pipeline,
    /// Members one `ListGroups` page carries at most (`DIRSYNC_MAX_PAGE_MEMBERS`).
    page_members: u64,
}

impl DirectoryService {
    pub fn new(pipeline: Pipeline, page_members: u64) -> Self {
        Self {
            db: pipeline.db().clone(),
            pipeline,
            page_members,
        }
    }
}

fn group_to_proto(m: domain::Group, members: Vec<MemberRow>) -> Group {
    Group {
        id: m.id.to_string(),
        tenant_id: m.tenant_id.to_string(),
        display_name: m.display_name,
        external_id: m.external_id,
        document: m.document.to_string(),
        version: m.version,
        created: Some(timestamp(m.created_at)),
        last_modified: Some(timestamp(m.updated_at)),
        members: members.into_iter().map(member_to_proto).collect(),
        connection_id: m.connection_id.map(|c| c.to_string()),
        members_omitted: false,
    }
}

/// A group answered alone: without its members (`members_omitted`) when they were too many
/// to read (`None`) or the message would pass the limit with them.
fn one_group(g: domain::Group, members: Option<Vec<MemberRow>>) -> Group {
    let omitted = members.is_none();
    let mut g = group_to_proto(g, members.unwrap_or_default());
    if omitted || prost::Message::encoded_len(&g) > PAGE_BYTES {
        g.members.clear();
        g.members_omitted = true;
    }
    g
}

/// The default of the members one `ListGroups` page carries at most, its groups together: a
/// page ends before the group that would pass it, and a first group over it comes alone, its
/// members omitted. Bounds what the core reads into memory for one page.
pub const PAGE_MEMBERS: u64 = 50_000;

/// Encoded size a list page stays under: the message limit less room for the envelope.
pub const PAGE_BYTES: usize = dirsync_proto::MAX_MESSAGE_BYTES - (256 << 10);

/// How many of `ids` (in page order) a page keeps so their members stay within `budget`.
fn within_member_budget(ids: &[Uuid], counts: &std::collections::BTreeMap<Uuid, u64>, budget: u64) -> usize {
    let mut sum = 0u64;
    ids.iter()
        .take_while(|id| {
            sum = sum.saturating_add(counts.get(id).copied().unwrap_or(0));
            sum <= budget
        })
        .count()
}

/// Keeps the leading items of a page whose encoded size stays within `budget` (the rest follow
/// on the next page), at least one: a first item over it alone is kept, `shrink`ed.
fn within_bytes<T: prost::Message>(items: &mut Vec<T>, budget: usize, shrink: impl FnOnce(&mut T)) {
    let mut used = 0usize;
    let mut keep = 0;
    for item in items.iter_mut() {
        // The item, its field tag and length prefix.
        let len = item.encoded_len() + 8;
        if used + len > budget {
            if keep == 0 {
                shrink(item);
                keep = 1;
            }
            break;
        }
        used += len;
        keep += 1;
    }
    items.truncate(keep);
}

fn member_to_proto(r: MemberRow) -> Member {
    Member {
        id: r.id.to_string(),
        r#type: r.member_type,
        display: r.display,
    }
}

/// Page size of the membership listings: default 100, at most 1000.
fn membership_page(count: u32) -> u64 {
    match count {
        0 => 100,
        n => u64::from(n.min(1000)),
    }
}

/// Members per StreamGroupMembers batch: default 1000, at most 5000.
fn stream_batch(size: u32) -> u64 {
    match size {
        0 => 1000,
        n => u64::from(n.min(5000)),
    }
}

type MemberStream = Pin<Box<dyn Stream<Item = Result<MemberBatch, Status>> + Send>>;

/// Most member ids one request may name (all its changes together), from any caller; the
/// SCIM edge's own bound is lower (`DIRSYNC_MAX_MEMBERS_PER_REQUEST`).
pub const MAX_MEMBER_IDS_PER_REQUEST: usize = 100_000;

fn check_member_count(n: usize) -> Result<()> {
    if n > MAX_MEMBER_IDS_PER_REQUEST {
        return Err(CoreError::invalid_value(format!(
            "the request names {n} member ids, more than the limit of {MAX_MEMBER_IDS_PER_REQUEST}"
        )));
    }
    Ok(())
}

fn member_changes(changes: &[dirsync_proto::v1::MemberChange]) -> Result<Vec<MemberChange>> {
    let ids = changes
        .iter()
        .map(|c| match &c.kind {
            Some(member_change::Kind::Add(l) | member_change::Kind::Remove(l) | member_change::Kind::Replace(l)) => {
                l.ids.len()
            }
            _ => 0,
        })
        .fold(0, usize::saturating_add);
    check_member_count(ids)?;
    changes
        .iter()
        .map(|c| match &c.kind {
            Some(member_change::Kind::Add(l)) => Ok(MemberChange::Add(l.ids.clone())),
            Some(member_change::Kind::Remove(l)) => Ok(MemberChange::Remove(l.ids.clone())),
            Some(member_change::Kind::RemoveAll(_)) => Ok(MemberChange::RemoveAll),
            Some(member_change::Kind::Replace(l)) => Ok(MemberChange::Replace(l.ids.clone())),
            None => Err(CoreError::invalid_value("empty member change".into())),
        })
        .collect()
}

fn page(start_index: u64, count: u64) -> Page {
    Page {
        start_index: start_index.max(1),
        count,
    }
}

fn entitlements_to_proto(e: roles::Entitlement, license: Option<&licenses::Held>) -> Entitlements {
    Entitlements {
        user_id: e.user_id.to_string(),
        active: e.active,
        role: e.role.map(|r| RoleRef {
            id: r.id.to_string(),
            name: r.name,
            is_admin: r.is_admin,
            is_guest: r.is_guest,
        }),
        license: Some(match license {
            Some(held) => License {
                state: match held.state {
                    dirsync_domain::licenses::State::Assigned => LicenseState::Assigned,
                    dirsync_domain::licenses::State::Pending => LicenseState::Pending,
                } as i32,
                tier: Some(held.tier.clone()),
            },
            None => License {
                state: LicenseState::None as i32,
                tier: None,
            },
        }),
    }
}

/// Most ids one BatchGetEntitlements call takes.
const MAX_ENTITLEMENT_BATCH: usize = 1000;

/// The request's SCIM context, taken before the request is consumed.
fn context<T>(request: &Request<T>) -> RequestContext {
    journal::from_metadata(request.metadata())
}

/// Who makes a write: the request's SCIM context and the connection it names, if any.
fn author(ctx: RequestContext, connection_id: Option<&str>) -> Result<Author> {
    Ok(Author {
        connection_id: optional_id("connection", connection_id)?,
        ctx,
    })
}

/// What the SCIM connection `connection_id` holds back of users `ids` (the
/// mass-deprovisioning hold); nothing for everyone else (the product), who reads the stored
/// users, and they keep their access.
async fn held_for(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, holds::Held>> {
    match connection_id {
        Some(c) => Ok(holds::held_among(db, tenant_id, c, ids).await?),
        None => Ok(HashMap::new()),
    }
}

/// A user as its connection reads it back: with its held change as if done, a deactivation
/// as the state it sent, a deletion gone.
fn as_the_idp_sent(held: &HashMap<Uuid, holds::Held>, u: domain::User) -> Option<domain::User> {
    match held.get(&u.id) {
        None => Some(u),
        Some(h) if h.effect == domain::hold::Effect::Delete => None,
        Some(h) => Some(holds::as_sent(u, h)),
    }
}

#[tonic::async_trait]
impl Directory for DirectoryService {
    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn create_user(&self, request: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        let spec = convert::user_spec(
            req.user
                .ok_or_else(|| CoreError::invalid_value("user is required".into()))?,
        );
        dirsync_domain::text::check_user(&spec).map_err(CoreError::from)?;
        let (user, langs) = self
            .pipeline
            .write_user(tenant_id, author, UserWrite::Create(&spec))
            .await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("user", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let visible = adoption::Visibility::reading(connection_id);
        let user = adoption::get_visible(&self.db, tenant_id, id, visible)
            .await
            .map_err(CoreError::from)?;
        let held = held_for(&self.db, tenant_id, connection_id, &[user.id]).await?;
        let user = as_the_idp_sent(&held, user).ok_or_else(|| CoreError::not_found(format!("user {id} not found")))?;
        let langs = self.pipeline.languages().get(&self.db, tenant_id).await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn replace_user(&self, request: Request<ReplaceUserRequest>) -> Result<Response<User>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("user", &req.id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        let spec = convert::user_spec(
            req.user
                .ok_or_else(|| CoreError::invalid_value("user is required".into()))?,
        );
        dirsync_domain::text::check_user(&spec).map_err(CoreError::from)?;
        let write = UserWrite::Replace {
            id,
            spec: &spec,
            expected_version: req.expected_version,
        };
        let (user, langs) = self.pipeline.write_user(tenant_id, author, write).await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<DeleteUserResponse>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("user", &req.id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        self.pipeline
            .delete(tenant_id, author, Deletion::User(id), req.expected_version)
            .await?;
        Ok(Response::new(DeleteUserResponse {}))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn list_users(&self, request: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let visible = adoption::Visibility::reading(connection_id);
        let managed = if req.unmanaged {
            users::Managed::Unmanaged
        } else {
            users::Managed::Any
        };
        let (filter, sort) = convert::query(req.filter.as_ref(), req.sort.as_ref())?;
        let (total, rows) = users::list(
            &self.db,
            tenant_id,
            visible,
            managed,
            filter.as_ref(),
            sort.as_ref(),
            page(req.start_index, req.count),
            req.page_token.as_deref(),
        )
        .await
        .map_err(CoreError::from)?;
        let ids: Vec<Uuid> = rows.rows.iter().map(|u| u.id).collect();
        let held = held_for(&self.db, tenant_id, connection_id, &ids).await?;
        let mut rows = rows.filter_map(|u| as_the_idp_sent(&held, u));
        // A filter that finds nobody (an IdP's "does it exist?") reads no settings.
        let langs = if rows.rows.is_empty() {
            Default::default()
        } else {
            self.pipeline.languages().get(&self.db, tenant_id).await?
        };
        let mut out: Vec<User> = std::mem::take(&mut rows.rows)
            .into_iter()
            .map(|u| user_out(&langs, u))
            .collect();
        within_bytes(&mut out, PAGE_BYTES, |_| {});
        rows.truncate(out.len());
        Ok(Response::new(ListUsersResponse {
            total_results: total,
            users: out,
            next_page_token: rows.next_token().unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn create_group(&self, request: Request<CreateGroupRequest>) -> Result<Response<Group>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        let spec = convert::group_spec(
            req.group
                .ok_or_else(|| CoreError::invalid_value("group is required".into()))?,
        );
        dirsync_domain::text::check_group(&spec).map_err(CoreError::from)?;
        check_member_count(req.member_ids.len())?;
        let write = GroupWrite::Create {
            spec: &spec,
            member_ids: &req.member_ids,
        };
        let (group, members) = self.pipeline.write_group(tenant_id, author, write, true).await?;
        Ok(Response::new(one_group(group, members)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn get_group(&self, request: Request<GetGroupRequest>) -> Result<Response<Group>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let group = in_txn(&self.db, async |txn| {
            let g = groups::get(txn, tenant_id, id).await?;
            let members = mutation::members(txn, tenant_id, id, req.include_members, connection_id).await?;
            Ok(one_group(g, members))
        })
        .await?;
        Ok(Response::new(group))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn replace_group(&self, request: Request<ReplaceGroupRequest>) -> Result<Response<Group>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        let spec = convert::group_spec(
            req.group
                .ok_or_else(|| CoreError::invalid_value("group is required".into()))?,
        );
        dirsync_domain::text::check_group(&spec).map_err(CoreError::from)?;
        check_member_count(req.member_ids.len())?;
        let changes = [MemberChange::Replace(req.member_ids.clone())];
        let write = GroupWrite::Update {
            id,
            spec: Some(&spec),
            changes: &changes,
            expected_version: req.expected_version,
        };
        let (group, members) = self
            .pipeline
            .write_group(tenant_id, author, write, req.include_members)
            .await?;
        Ok(Response::new(one_group(group, members)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn patch_group(&self, request: Request<PatchGroupRequest>) -> Result<Response<Group>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        let changes = member_changes(&req.member_changes)?;
        let spec = req.group.map(convert::group_spec);
        if let Some(spec) = &spec {
            dirsync_domain::text::check_group(spec).map_err(CoreError::from)?;
        }
        let write = GroupWrite::Update {
            id,
            spec: spec.as_ref(),
            changes: &changes,
            expected_version: req.expected_version,
        };
        let (group, members) = self
            .pipeline
            .write_group(tenant_id, author, write, req.include_members)
            .await?;
        Ok(Response::new(one_group(group, members)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let author = author(ctx, req.connection_id.as_deref())?;
        self.pipeline
            .delete(tenant_id, author, Deletion::Group(id), req.expected_version)
            .await?;
        Ok(Response::new(DeleteGroupResponse {}))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn list_groups(&self, request: Request<ListGroupsRequest>) -> Result<Response<ListGroupsResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let visible = Visibility::reading(optional_id("connection", req.connection_id.as_deref())?);
        let (filter, sort) = convert::query(req.filter.as_ref(), req.sort.as_ref())?;
        let groups = in_txn(&self.db, async |txn| {
            let (total, mut rows) = groups::list(
                txn,
                tenant_id,
                filter.as_ref(),
                sort.as_ref(),
                page(req.start_index, req.count),
                req.page_token.as_deref(),
            )
            .await?;
            // Members are counted before they are read: the page ends where they would pass
            // PAGE_MEMBERS, and a first group over it is sent without them.
            let mut omitted = None;
            let mut members = if req.include_members {
                let ids: Vec<Uuid> = rows.rows.iter().map(|g| g.id).collect();
                let counts = groups::member_counts(txn, tenant_id, &ids).await?;
                match within_member_budget(&ids, &counts, self.page_members) {
                    0 if !ids.is_empty() => {
                        rows.truncate(1);
                        omitted = ids.first().copied();
                        Default::default()
                    }
                    n => {
                        rows.truncate(n);
                        groups::members_of(txn, tenant_id, &ids[..n], visible).await?
                    }
                }
            } else {
                Default::default()
            };
            let mut out: Vec<Group> = std::mem::take(&mut rows.rows)
                .into_iter()
                .map(|g| {
                    let id = g.id;
                    let mut g = group_to_proto(g, members.remove(&id).unwrap_or_default());
                    g.members_omitted = omitted == Some(id);
                    g
                })
                .collect();
            // A first group too large with its members is sent without them.
            within_bytes(&mut out, PAGE_BYTES, |g| {
                g.members.clear();
                g.members_omitted = true;
            });
            rows.truncate(out.len());
            Ok(ListGroupsResponse {
                total_results: total,
                groups: out,
                next_page_token: rows.next_token().unwrap_or_default(),
            })
        })
        .await?;
        Ok(Response::new(groups))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn get_user_by(&self, request: Request<GetUserByRequest>) -> Result<Response<User>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let key = match &req.key {
            Some(get_user_by_request::Key::UserName(v)) => LookupKey::UserName(v),
            Some(get_user_by_request::Key::Email(v)) => LookupKey::Email(v),
            Some(get_user_by_request::Key::ExternalId(v)) => LookupKey::ExternalId(v),
            None => {
                return Err(
                    CoreError::invalid_value("a key (user_name, email or external_id) is required".into()).into(),
                );
            }
        };
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let (LookupKey::UserName(v) | LookupKey::Email(v) | LookupKey::ExternalId(v)) = key;
        dirsync_domain::text::check("the lookup key", v).map_err(CoreError::from)?;
        let visible = adoption::Visibility::reading(connection_id);
        let user = users::get_by(&self.db, tenant_id, key, visible)
            .await
            .map_err(CoreError::from)?;
        let langs = self.pipeline.languages().get(&self.db, tenant_id).await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, user = %request.get_ref().user_id))]
    async fn list_user_groups(
        &self,
        request: Request<ListUserGroupsRequest>,
    ) -> Result<Response<ListUserGroupsResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let user_id = parse_id("user", &req.user_id)?;
        let (rows, next) = groups::user_groups(
            &self.db,
            tenant_id,
            user_id,
            req.page_token.as_deref(),
            membership_page(req.count),
        )
        .await
        .map_err(CoreError::from)?;
        Ok(Response::new(ListUserGroupsResponse {
            groups: rows.into_iter().map(|g| group_to_proto(g, Vec::new())).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, group = %request.get_ref().group_id))]
    async fn list_group_members(
        &self,
        request: Request<ListGroupMembersRequest>,
    ) -> Result<Response<ListGroupMembersResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        let (rows, next) = groups::members_page(
            &self.db,
            tenant_id,
            group_id,
            req.page_token.as_deref(),
            membership_page(req.count),
        )
        .await
        .map_err(CoreError::from)?;
        let mut members: Vec<Member> = rows.into_iter().map(member_to_proto).collect();
        let listed = members.len();
        within_bytes(&mut members, PAGE_BYTES, |_| {});
        let next = match members.last() {
            // Ended early: the next page starts after the last member sent.
            Some(last) if members.len() < listed => Some(groups::members_token(
                tenant_id,
                group_id,
                parse_id("member", &last.id)?,
            )),
            _ => next,
        };
        Ok(Response::new(ListGroupMembersResponse {
            members,
            next_page_token: next.unwrap_or_default(),
        }))
    }

    type StreamGroupMembersStream = MemberStream;

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, group = %request.get_ref().group_id))]
    async fn stream_group_members(
        &self,
        request: Request<StreamGroupMembersRequest>,
    ) -> Result<Response<Self::StreamGroupMembersStream>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        let visible = Visibility::reading(optional_id("connection", req.connection_id.as_deref())?);
        groups::get(&self.db, tenant_id, group_id)
            .await
            .map_err(CoreError::from)?;
        let batch = stream_batch(req.batch_size);
        // Two batches in flight at most: a slow reader holds back the queries, not memory.
        let (tx, rx) = mpsc::channel(2);
        let db = self.db.clone();
        tokio::spawn(
            async move {
                let mut after = None;
                loop {
                    let rows = match groups::members_after(&db, tenant_id, group_id, after, batch, visible).await {
                        Ok(rows) => rows,
                        Err(e) => {
                            let _ = tx.send(Err(CoreError::from(e).into())).await;
                            return;
                        }
                    };
                    let last_batch = (rows.len() as u64) < batch;
                    after = rows.last().map(|r| r.id);
                    // A batch of long display names is sent as several messages under the limit.
                    let mut members: Vec<Member> = Vec::new();
                    let mut bytes = 0;
                    for m in rows.into_iter().map(member_to_proto) {
                        let len = prost::Message::encoded_len(&m) + 8;
                        if bytes + len > PAGE_BYTES && !members.is_empty() {
                            let full = std::mem::take(&mut members);
                            bytes = 0;
                            if tx.send(Ok(MemberBatch { members: full })).await.is_err() {
                                return; // the caller went away
                            }
                        }
                        bytes += len;
                        members.push(m);
                    }
                    if !members.is_empty() && tx.send(Ok(MemberBatch { members })).await.is_err() {
                        return;
                    }
                    if last_batch {
                        return;
                    }
                }
            }
            .in_current_span(),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, by = request.get_ref().by))]
    async fn resolve_login(&self, request: Request<ResolveLoginRequest>) -> Result<Response<User>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let key = match req.by() {
            LoginKey::ExternalId => LookupKey::ExternalId(&req.subject),
            LoginKey::UserName => LookupKey::UserName(&req.subject),
            LoginKey::Unspecified => {
                return Err(
                    CoreError::invalid_value("by must be LOGIN_KEY_EXTERNAL_ID or LOGIN_KEY_USER_NAME".into()).into(),
                );
            }
        };
        dirsync_domain::text::check("subject", &req.subject).map_err(CoreError::from)?;
        let user = users::resolve_login(&self.db, tenant_id, key)
            .await
            .map_err(CoreError::from)?;
        let langs = self.pipeline.languages().get(&self.db, tenant_id).await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, user = %request.get_ref().user_id))]
    async fn get_entitlements(
        &self,
        request: Request<GetEntitlementsRequest>,
    ) -> Result<Response<Entitlements>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let user_id = parse_id("user", &req.user_id)?;
        let (found, held) = in_txn(&self.db, async |txn| {
            let found = roles::entitlements(txn, tenant_id, &[user_id]).await?;
            Ok((found, licenses::held(txn, tenant_id, &[user_id]).await?))
        })
        .await?;
        let e = found
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::not_found(format!("user {user_id} not found")))?;
        let license = held.get(&e.user_id);
        Ok(Response::new(entitlements_to_proto(e, license)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, n = request.get_ref().user_ids.len()))]
    async fn batch_get_entitlements(
        &self,
        request: Request<BatchGetEntitlementsRequest>,
    ) -> Result<Response<BatchGetEntitlementsResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        if req.user_ids.len() > MAX_ENTITLEMENT_BATCH {
            return Err(CoreError::invalid_value(format!(
                "at most {MAX_ENTITLEMENT_BATCH} user ids per call, not {}",
                req.user_ids.len()
            ))
            .into());
        }
        // Malformed ids name no user: they are missing, like unknown ones.
        let ids: Vec<Uuid> = req.user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
        let (found, held) = in_txn(&self.db, async |txn| {
            let found = roles::entitlements(txn, tenant_id, &ids).await?;
            Ok((found, licenses::held(txn, tenant_id, &ids).await?))
        })
        .await?;
        let present: std::collections::HashSet<Uuid> = found.iter().map(|e| e.user_id).collect();
        let missing_user_ids = req
            .user_ids
            .into_iter()
            .filter(|id| !Uuid::parse_str(id).is_ok_and(|u| present.contains(&u)))
            .collect();
        Ok(Response::new(BatchGetEntitlementsResponse {
            entitlements: found
                .into_iter()
                .map(|e| {
                    let license = held.get(&e.user_id);
                    entitlements_to_proto(e, license)
                })
                .collect(),
            missing_user_ids,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(display_bytes: usize) -> Member {
        Member {
            id: Uuid::now_v7().to_string(),
            r#type: "User".into(),
            display: Some("x".repeat(display_bytes)),
        }
    }

    #[test]
    fn pages_end_before_the_budget() {
        // (sizes of the items in bytes, budget) -> items kept
        let cases: [(&[usize], usize, usize); 5] = [
            (&[100, 100, 100], 1000, 3),
            (&[100, 100, 100], 350, 2),
            (&[100, 100, 100], 110, 1),
            (&[5000, 10], 1000, 1),
            (&[], 1000, 0),
        ];
        for (sizes, budget, want) in cases {
            let mut items: Vec<Member> = sizes.iter().map(|n| member(*n)).collect();
            let mut shrunk = false;
            within_bytes(&mut items, budget, |m| {
                m.display = None;
                shrunk = true;
            });
            assert_eq!(items.len(), want, "{sizes:?} {budget}");
            // Only a first item over the budget alone is shrunk.
            assert_eq!(
                shrunk,
                sizes.first().is_some_and(|n| *n + 50 > budget),
                "{sizes:?} {budget}"
            );
        }
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let counts = |n: &[u64]| -> std::collections::BTreeMap<Uuid, u64> {
            ids.iter().copied().zip(n.iter().copied()).collect()
        };
        let cases: [(&[u64], u64, usize); 4] = [
            (&[2, 2, 6, 0], 5, 2),
            (&[6, 1, 1, 1], 5, 0),
            (&[0, 0, 0, 0], 5, 4),
            (&[5, 0, 0, 1], 5, 3),
        ];
        for (n, budget, want) in cases {
            assert_eq!(within_member_budget(&ids, &counts(n), budget), want, "{n:?}");
        }
    }
}
