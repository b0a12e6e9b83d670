//! `dirsync.v1.Directory`: users and groups.

use std::pin::Pin;

use dirsync_domain::{self as domain, GroupSpec};
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

use super::{in_txn, optional_id, tenant, timestamp};
use crate::clock::SharedClock;
use crate::convert::{self, user_out};
use crate::error::{CoreError, Result, parse_id};
use crate::journal::{self, Event, RequestContext};
use crate::roles::Trigger;
use crate::service::changes::ChangeSignal;
use crate::settings::{self as tenant_settings, timezone};
use crate::store::adoption::Visibility;
use crate::store::groups::{MemberChange, MemberRow};
use crate::store::users::{LookupKey, NewUser};
use crate::store::{Page, adoption, groups, licenses, roles, users};

#[derive(Debug, Clone)]
pub struct DirectoryService {
    db: DatabaseConnection,
    clock: SharedClock,
    signal: ChangeSignal,
}

impl DirectoryService {
    pub fn new(db: DatabaseConnection, clock: SharedClock, signal: ChangeSignal) -> Self {
        Self { db, clock, signal }
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
    }
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

async fn with_members(
    txn: &sea_orm::DatabaseTransaction,
    tenant_id: Uuid,
    group: domain::Group,
    include: bool,
    connection_id: Option<Uuid>,
) -> Result<Group> {
    let members = if include {
        groups::members_of(txn, tenant_id, &[group.id], Visibility::reading(connection_id))
            .await?
            .remove(&group.id)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(group_to_proto(group, members))
}

fn page(start_index: u64, count: u64) -> Page {
    Page {
        start_index: start_index.max(1),
        count,
    }
}

/// Who is writing, for the role rules: a call with a connection comes from an IdP over SCIM.
fn trigger(connection_id: Option<Uuid>) -> Trigger {
    if connection_id.is_some() {
        Trigger::Scim
    } else {
        Trigger::Native
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
                    crate::licenses::State::Assigned => LicenseState::Assigned,
                    crate::licenses::State::Pending => LicenseState::Pending,
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

/// A SCIM request's warning for the IdP's admin, on its sync-log line (native writes have none).
async fn warn(
    txn: &sea_orm::DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    ctx: &RequestContext,
    warning: &Option<String>,
    now: i64,
) -> Result<()> {
    match (connection_id, warning) {
        (Some(c), Some(w)) => journal::log_warning(txn, tenant_id, c, ctx, w.clone(), now)
            .await
            .map_err(CoreError::from),
        _ => Ok(()),
    }
}

#[tonic::async_trait]
impl Directory for DirectoryService {
    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn create_user(&self, request: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let spec = convert::user_spec(
            req.user
                .ok_or_else(|| CoreError::invalid_value("user is required".into()))?,
        );
        crate::text::check_user(&spec).map_err(CoreError::from)?;
        // Never refused for its value; a zone the product cannot use is a warning (`timezone`).
        let zone_warning = timezone::spec_warning(&spec);
        let now = self.clock.now_ms();
        let source = if connection_id.is_some() { "scim" } else { "native" };
        let (user, langs) = in_txn(&self.db, async |txn| {
            // A SCIM create over a native user the connection may adopt takes it over.
            let visible = adoption::visibility(txn, tenant_id, connection_id).await?;
            if let (Some(found), Some(c)) = (
                adoption::before_create(txn, tenant_id, visible, &spec).await?,
                connection_id,
            ) {
                let (u, mut events) = super::adoption::create_over(txn, tenant_id, c, found, &spec, now).await?;
                let langs = tenant_settings::after_user_replaced(txn, tenant_id, &u, &mut events).await?;
                journal::write(txn, tenant_id, connection_id, &ctx, &events, now).await?;
                warn(txn, tenant_id, connection_id, &ctx, &zone_warning, now).await?;
                return Ok((u, langs));
            }
            let u = users::create(
                txn,
                NewUser {
                    tenant_id,
                    connection_id,
                    source,
                    spec: &spec,
                },
                now,
            )
            .await?;
            let mut events = vec![Event::user_created(&u)];
            let langs =
                tenant_settings::after_user_created(txn, tenant_id, connection_id, &u, &mut events, now).await?;
            events.extend(roles::after_user_write(txn, tenant_id, None, &u, trigger(connection_id), now).await?);
            events.extend(licenses::after_user_write(txn, tenant_id, None, &u, now).await?);
            journal::write(txn, tenant_id, connection_id, &ctx, &events, now).await?;
            warn(txn, tenant_id, connection_id, &ctx, &zone_warning, now).await?;
            Ok((u, langs))
        })
        .await?;
        self.signal.notify();
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
        let langs = tenant_settings::languages(&self.db, tenant_id).await?;
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn replace_user(&self, request: Request<ReplaceUserRequest>) -> Result<Response<User>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("user", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let spec = convert::user_spec(
            req.user
                .ok_or_else(|| CoreError::invalid_value("user is required".into()))?,
        );
        crate::text::check_user(&spec).map_err(CoreError::from)?;
        let zone_warning = timezone::spec_warning(&spec);
        let now = self.clock.now_ms();
        let (user, langs) = in_txn(&self.db, async |txn| {
            // The user's row first: the lock order in `store`.
            users::lock(txn, tenant_id, id).await?;
            // A SCIM write sees only what its connection sees, and adopts a native user it may.
            let visible = adoption::visibility(txn, tenant_id, connection_id).await?;
            let adopted = adoption::before_write(txn, tenant_id, id, visible, true).await?;
            let (before, after) = users::replace(txn, tenant_id, id, &spec, req.expected_version, now).await?;
            let mut events: Vec<Event> = connection_id
                .and_then(|c| super::adoption::adopted(adopted.as_ref(), &after, c))
                .into_iter()
                .collect();
            events.extend(Event::user_changed(&before, &after));
            let langs = tenant_settings::after_user_replaced(txn, tenant_id, &after, &mut events).await?;
            events.extend(
                roles::after_user_write(txn, tenant_id, Some(&before), &after, trigger(connection_id), now).await?,
            );
            events.extend(licenses::after_user_write(txn, tenant_id, Some(&before), &after, now).await?);
            journal::write(txn, tenant_id, connection_id, &ctx, &events, now).await?;
            warn(txn, tenant_id, connection_id, &ctx, &zone_warning, now).await?;
            Ok((after, langs))
        })
        .await?;
        self.signal.notify();
        Ok(Response::new(user_out(&langs, user)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<DeleteUserResponse>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("user", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let now = self.clock.now_ms();
        in_txn(&self.db, async |txn| {
            // The user's row first, then (for an admin) the tenant: the lock order in `store`.
            users::lock(txn, tenant_id, id).await?;
            let visible = adoption::visibility(txn, tenant_id, connection_id).await?;
            adoption::before_write(txn, tenant_id, id, visible, false).await?;
            roles::before_user_delete(txn, tenant_id, id).await?;
            let license = licenses::before_user_delete(txn, tenant_id, id).await?;
            let (gone, groups) = users::delete(txn, tenant_id, id, req.expected_version).await?;
            let mut events = vec![Event::user_deleted(&gone, &groups)];
            events.extend(licenses::after_user_deleted(txn, tenant_id, license, now).await?);
            journal::write(txn, tenant_id, connection_id, &ctx, &events, now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        self.signal.notify();
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
        let (total, rows, next) = users::list(
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
        // A filter that finds nobody (an IdP's "does it exist?") reads no settings.
        let langs = if rows.is_empty() {
            Default::default()
        } else {
            tenant_settings::languages(&self.db, tenant_id).await?
        };
        Ok(Response::new(ListUsersResponse {
            total_results: total,
            users: rows.into_iter().map(|u| user_out(&langs, u)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn create_group(&self, request: Request<CreateGroupRequest>) -> Result<Response<Group>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let spec = convert::group_spec(
            req.group
                .ok_or_else(|| CoreError::invalid_value("group is required".into()))?,
        );
        crate::text::check_group(&spec).map_err(CoreError::from)?;
        check_member_count(req.member_ids.len())?;
        let now = self.clock.now_ms();
        let group = in_txn(&self.db, async |txn| {
            let (g, added) = groups::create(txn, tenant_id, connection_id, &spec, &req.member_ids, now).await?;
            let mut events = vec![Event::group_created(&g)];
            events.extend(Event::members(&g, &added, &[]));
            journal::write(txn, tenant_id, connection_id, &ctx, &events, now).await?;
            with_members(txn, tenant_id, g, true, connection_id).await
        })
        .await?;
        self.signal.notify();
        Ok(Response::new(group))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn get_group(&self, request: Request<GetGroupRequest>) -> Result<Response<Group>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let group = in_txn(&self.db, async |txn| {
            let g = groups::get(txn, tenant_id, id).await?;
            with_members(txn, tenant_id, g, req.include_members, connection_id).await
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
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let spec = convert::group_spec(
            req.group
                .ok_or_else(|| CoreError::invalid_value("group is required".into()))?,
        );
        crate::text::check_group(&spec).map_err(CoreError::from)?;
        check_member_count(req.member_ids.len())?;
        let changes = [MemberChange::Replace(req.member_ids.clone())];
        let group = self
            .update_group(
                tenant_id,
                id,
                connection_id,
                &ctx,
                Some(&spec),
                &changes,
                req.expected_version,
                req.include_members,
            )
            .await?;
        Ok(Response::new(group))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id, id = %request.get_ref().id))]
    async fn patch_group(&self, request: Request<PatchGroupRequest>) -> Result<Response<Group>, Status> {
        let ctx = context(&request);
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("group", &req.id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let changes = member_changes(&req.member_changes)?;
        let spec = req.group.map(convert::group_spec);
        if let Some(spec) = &spec {
            crate::text::check_group(spec).map_err(CoreError::from)?;
        }
        let group = self
            .update_group(
                tenant_id,
                id,
                connection_id,
                &ctx,
                spec.as_ref(),
                &changes,
                req.expected_version,
                req.include_members,
            )
            .await?;
        Ok(Response::new(group))
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
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let now = self.clock.now_ms();
        in_txn(&self.db, async |txn| {
            // The group's row first: the lock order in `store`.
            groups::lock(txn, tenant_id, id).await?;
            let members = roles::before_group_delete(txn, tenant_id, id).await?;
            let licensed = licenses::before_group_delete(txn, tenant_id, id).await?;
            let gone = groups::delete(txn, tenant_id, id, req.expected_version).await?;
            let mut events = vec![Event::group_deleted(&gone)];
            events.extend(roles::after_group_deleted(txn, tenant_id, &members, trigger(connection_id), now).await?);
            events.extend(licenses::after_group_deleted(txn, tenant_id, &licensed, now).await?);
            journal::write(txn, tenant_id, connection_id, &ctx, &events, now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        self.signal.notify();
        Ok(Response::new(DeleteGroupResponse {}))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn list_groups(&self, request: Request<ListGroupsRequest>) -> Result<Response<ListGroupsResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let visible = Visibility::reading(optional_id("connection", req.connection_id.as_deref())?);
        let (filter, sort) = convert::query(req.filter.as_ref(), req.sort.as_ref())?;
        let groups = in_txn(&self.db, async |txn| {
            let (total, rows, next) = groups::list(
                txn,
                tenant_id,
                filter.as_ref(),
                sort.as_ref(),
                page(req.start_index, req.count),
                req.page_token.as_deref(),
            )
            .await?;
            let mut members = if req.include_members {
                let ids: Vec<Uuid> = rows.iter().map(|g| g.id).collect();
                groups::members_of(txn, tenant_id, &ids, visible).await?
            } else {
                Default::default()
            };
            let groups = rows
                .into_iter()
                .map(|g| {
                    let m = members.remove(&g.id).unwrap_or_default();
                    group_to_proto(g, m)
                })
                .collect();
            Ok(ListGroupsResponse {
                total_results: total,
                groups,
                next_page_token: next.unwrap_or_default(),
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
        crate::text::check("the lookup key", v).map_err(CoreError::from)?;
        let visible = adoption::Visibility::reading(connection_id);
        let user = users::get_by(&self.db, tenant_id, key, visible)
            .await
            .map_err(CoreError::from)?;
        let langs = tenant_settings::languages(&self.db, tenant_id).await?;
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
        Ok(Response::new(ListGroupMembersResponse {
            members: rows.into_iter().map(member_to_proto).collect(),
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
                    if !rows.is_empty() {
                        let members = rows.into_iter().map(member_to_proto).collect();
                        if tx.send(Ok(MemberBatch { members })).await.is_err() {
                            return; // the caller went away
                        }
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
        crate::text::check("subject", &req.subject).map_err(CoreError::from)?;
        let user = users::resolve_login(&self.db, tenant_id, key)
            .await
            .map_err(CoreError::from)?;
        let langs = tenant_settings::languages(&self.db, tenant_id).await?;
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

impl DirectoryService {
    /// Attribute and member changes of one group in one transaction, with their events.
    #[allow(clippy::too_many_arguments)]
    async fn update_group(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        connection_id: Option<Uuid>,
        ctx: &RequestContext,
        spec: Option<&GroupSpec>,
        changes: &[MemberChange],
        expected_version: Option<i64>,
        include_members: bool,
    ) -> Result<Group, Status> {
        let now = self.clock.now_ms();
        let group = in_txn(&self.db, async |txn| {
            // The group's row first: the lock order in `store`.
            groups::lock(txn, tenant_id, id).await?;
            let (before, after, delta) =
                groups::update(txn, tenant_id, id, spec, changes, expected_version, now).await?;
            let mut events: Vec<Event> = Event::group_changed(&before, &after).into_iter().collect();
            events.extend(Event::members(&after, &delta.added, &delta.removed));
            events.extend(roles::after_members_changed(txn, tenant_id, id, &delta, trigger(connection_id), now).await?);
            events.extend(licenses::after_members_changed(txn, tenant_id, id, &delta, now).await?);
            journal::write(txn, tenant_id, connection_id, ctx, &events, now).await?;
            with_members(txn, tenant_id, after, include_members, connection_id).await
        })
        .await?;
        self.signal.notify();
        Ok(group)
    }
}
