//! `dirsync.v1.Admin`: tenants, connections and tokens, and the tenants' roles.

use dirsync_proto::v1::admin_server::Admin;
use dirsync_proto::v1::{
    AddVerifiedDomainRequest, ListVerifiedDomainsRequest, ListVerifiedDomainsResponse, RemoveVerifiedDomainRequest,
    RemoveVerifiedDomainResponse, VerifiedDomain,
};
use dirsync_proto::v1::{
    AuthenticateRequest, AuthenticateResponse, Connection, ConnectionCredentials, ConnectionStats,
    ConnectionStatusRequest, ConnectionStatusResponse, CreateConnectionRequest, CreateTenantRequest,
    EndConnectionRequest, EndConnectionResponse, GetConnectionConfigRequest, GetTenantRequest, ListConnectionsRequest,
    ListConnectionsResponse, ListSyncLogRequest, ListSyncLogResponse, ListTenantsRequest, ListTenantsResponse, LogFact,
    RecordRequestRequest, RecordRequestResponse, RecordRequestsRequest, RevokeTokensRequest, RevokeTokensResponse,
    RotateTokenRequest, SyncLogEntry, Tenant, UpdateConnectionRequest,
};
use dirsync_proto::v1::{
    CreateRoleRequest, DeleteRoleRequest, DeleteRoleResponse, ListRolesRequest, ListRolesResponse,
    MapGroupToRoleRequest, Role, RoleMapping, RoleSource as PbRoleSource, SetRoleSourceRequest, SetRoleSourceResponse,
    UnmapGroupRequest, UnmapGroupResponse, UpdateRoleRequest,
};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use super::mutation::{Author, Decider, Done, Pipeline};
use super::{in_txn, optional_id, tenant, timestamp};
use crate::error::{CoreError, parse_id};
use crate::journal::RequestContext;
use dirsync_domain::clock::SharedClock;
use dirsync_domain::hold::HoldPolicy;
use dirsync_domain::roles::{Role as RoleRecord, RoleSource};
use dirsync_proto::v1::{ConnectionHold, ConnectionHoldRequest, HeldChange, HoldDecision};
use dirsync_store::entity::{connections, sync_log, tenants};
use dirsync_store::roles::{self, RoleSpec, Scope};
use dirsync_store::sealing::SecretBox;
use dirsync_store::sync_log as log;
use dirsync_store::{admin, adoption, holds, silence};

#[derive(Debug, Clone)]
pub struct AdminService {
    db: DatabaseConnection,
    clock: SharedClock,
    /// Role changes and connection ends run through it, so `Watch` streams see them at once.
    pipeline: Pipeline,
    /// Where IdPs reach the SCIM edge, e.g. `https://scim.example.com`.
    public_url: String,
    sealing: SecretBox,
}

impl AdminService {
    /// Each connection of `tenant_id` with what its sync log says of the last 24 hours (the
    /// operator's status and the portal's overview).
    pub(crate) async fn connection_stats(&self, tenant_id: uuid::Uuid) -> Result<Vec<ConnectionStats>, Status> {
        let conns = admin::list_connections(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        let ids: Vec<uuid::Uuid> = conns.iter().map(|c| c.id).collect();
        let mut stats = log::stats(&self.db, &ids, self.clock.now_ms())
            .await
            .map_err(CoreError::from)?;
        Ok(conns
            .into_iter()
            .map(|c| {
                let s = stats.remove(&c.id).unwrap_or_default();
                ConnectionStats {
                    connection: Some(self.connection(c)),
                    last_request: s.last_request.map(timestamp),
                    last_success: s.last_success.map(timestamp),
                    successes_24h: s.successes_24h,
                    failures_24h: s.failures_24h,
                    last_error: s.last_error.map(entry_to_proto),
                    throttled_24h: s.throttled_24h,
                    last_warning: s.last_warning.map(entry_to_proto),
                }
            })
            .collect())
    }

    async fn decide(&self, req: ConnectionHoldRequest, approve: bool) -> Result<Response<HoldDecision>, Status> {
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("connection", &req.connection_id)?;
        let decider = operator(if approve { "approve" } else { "reject" });
        let users = self.pipeline.decide_hold(tenant_id, id, approve, decider).await?;
        Ok(Response::new(HoldDecision {
            connection_id: id.to_string(),
            approved: approve,
            users,
        }))
    }

    pub fn new(pipeline: Pipeline, public_url: String, sealing: SecretBox) -> Self {
        Self {
            db: pipeline.db().clone(),
            clock: pipeline.clock().clone(),
            pipeline,
            public_url: public_url.trim_end_matches('/').to_owned(),
            sealing,
        }
    }

    pub(crate) fn connection(&self, c: connections::Model) -> Connection {
        Connection {
            scim_base_url: scim_base_url(&self.public_url, &c.tenant_id.to_string()),
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name,
            idp_profile: c.idp_profile,
            created: Some(timestamp(c.created_at)),
            ended: c.ended_at.map(timestamp),
            capture_bodies: c.capture_bodies,
            allow_adoption: c.allow_adoption,
            hold_max_users: u32::try_from(c.hold_max_users).unwrap_or(0),
            hold_max_percent: u32::try_from(c.hold_max_percent).unwrap_or(0),
            hold_window_seconds: u64::try_from(c.hold_window_seconds).unwrap_or(0),
            silence_after_seconds: u64::try_from(c.silence_after_seconds).unwrap_or_default(),
            silent_since: c.silent_since.map(timestamp),
        }
    }

    /// Connection `id`'s hold: what waits, oldest first (NOT_FOUND for another tenant's).
    pub(crate) async fn hold(&self, tenant_id: uuid::Uuid, id: uuid::Uuid) -> Result<ConnectionHold, Status> {
        let conn = admin::get_connection(&self.db, tenant_id, id)
            .await
            .map_err(CoreError::from)?;
        let held_users = holds::pending_count(&self.db, tenant_id, id)
            .await
            .map_err(CoreError::from)?;
        let listed = holds::list(&self.db, tenant_id, id, MAX_HELD_LISTED)
            .await
            .map_err(CoreError::from)?;
        let policy = holds::policy(&conn);
        Ok(ConnectionHold {
            connection_id: id.to_string(),
            pending: held_users > 0,
            held_users,
            since: listed.first().map(|(h, _)| timestamp(h.created_at)),
            changes: listed
                .into_iter()
                .map(|(h, user_name)| HeldChange {
                    user_id: h.user_id.to_string(),
                    user_name,
                    effect: h.effect.as_str().to_owned(),
                    time: Some(timestamp(h.created_at)),
                })
                .collect(),
            hold_max_users: policy.max_users,
            hold_max_percent: policy.max_percent,
            hold_window_seconds: policy.window_seconds,
        })
    }
}

/// Most held changes a hold view lists (the count says how many wait).
const MAX_HELD_LISTED: u64 = 500;

/// An operator's decision on a hold, as its event and sync-log line name it.
fn operator(action: &str) -> Decider {
    Decider {
        actor: serde_json::json!({"type": "operator"}),
        by: "an operator over the Admin API".into(),
        ctx: RequestContext {
            request_id: Some(format!("admin:{}", uuid::Uuid::now_v7())),
            method: "ADMIN".into(),
            path: format!("/admin/hold/{action}"),
            ..Default::default()
        },
    }
}

/// `policy` with the fields of an update that are set.
fn updated_policy(mut policy: HoldPolicy, req: &UpdateConnectionRequest) -> HoldPolicy {
    if let Some(n) = req.hold_max_users {
        policy.max_users = n;
    }
    if let Some(p) = req.hold_max_percent {
        policy.max_percent = p;
    }
    if let Some(w) = req.hold_window_seconds {
        policy.window_seconds = w;
    }
    policy
}

/// The SCIM base URL of a tenant ("Tenant URL" in the IdP).
pub fn scim_base_url(public_url: &str, tenant_id: &str) -> String {
    format!("{}/scim/v2/{tenant_id}", public_url.trim_end_matches('/'))
}

pub(crate) fn entry_to_proto(e: sync_log::Model) -> SyncLogEntry {
    SyncLogEntry {
        id: e.id.to_string(),
        tenant_id: e.tenant_id.to_string(),
        connection_id: e.connection_id.to_string(),
        request_id: e.request_id,
        time: Some(timestamp(e.at)),
        method: e.method,
        path: e.path,
        status: u32::try_from(e.status).unwrap_or_default(),
        duration_ms: u64::try_from(e.duration_ms).unwrap_or_default(),
        summary: e.summary,
        error: e.error,
        idp_request_id: e.idp_request_id,
        trace_id: e.trace_id,
        body: e.body,
        warning: e.warning,
        facts: e.facts.as_deref().map(facts_to_proto).unwrap_or_default(),
    }
}

/// The JSON facts of a sync-log line (`Event::fact`); a line that holds none has none.
fn facts_to_proto(json: &str) -> Vec<LogFact> {
    let Ok(serde_json::Value::Array(facts)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    let text = |f: &serde_json::Value, k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    facts
        .iter()
        .map(|f| LogFact {
            kind: text(f, "kind").unwrap_or_default(),
            name: text(f, "name"),
            from: text(f, "from"),
            to: text(f, "to"),
            count: f.get("count").and_then(|v| v.as_u64()).unwrap_or_default(),
            attributes: f
                .get("attributes")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// A recorded outcome with every text capped and storable, whatever the caller sent: the
/// edge caps them too, but the gRPC API is a trust boundary.
fn outcome(mut r: RecordRequestRequest) -> Result<log::Outcome, CoreError> {
    use dirsync_domain::text::{LOG_BODY_CHARS, LOG_ERROR_CHARS, LOG_FIELD_CHARS, LOG_PATH_CHARS, for_log};
    for_log(&mut r.request_id, LOG_FIELD_CHARS);
    for_log(&mut r.method, LOG_FIELD_CHARS);
    for_log(&mut r.path, LOG_PATH_CHARS);
    let optional = [
        (&mut r.error, LOG_ERROR_CHARS),
        (&mut r.idp_request_id, LOG_FIELD_CHARS),
        (&mut r.trace_id, LOG_FIELD_CHARS),
        (&mut r.body, LOG_BODY_CHARS),
    ];
    for (field, max) in optional {
        if let Some(s) = field.as_mut() {
            for_log(s, max);
        }
    }
    Ok(log::Outcome {
        tenant_id: tenant(&r.tenant_id)?,
        connection_id: parse_id("connection", &r.connection_id)?,
        request_id: r.request_id,
        method: r.method,
        path: r.path,
        status: i32::try_from(r.status).unwrap_or(i32::MAX),
        duration_ms: i64::try_from(r.duration_ms).unwrap_or(i64::MAX),
        error: r.error,
        idp_request_id: r.idp_request_id,
        trace_id: r.trace_id,
        body: r.body,
        started_at: r.started_at_ms,
    })
}

fn tenant_to_proto(t: tenants::Model) -> Tenant {
    Tenant {
        id: t.id.to_string(),
        name: t.name,
        created: Some(timestamp(t.created_at)),
    }
}

pub(crate) fn role_to_proto(r: RoleRecord, assigned_users: u64) -> Role {
    Role {
        id: r.id.to_string(),
        tenant_id: r.tenant_id.to_string(),
        name: r.name,
        rank: r.rank,
        is_admin: r.is_admin,
        is_guest: r.is_guest,
        is_default: r.is_default,
        created: Some(timestamp(r.created_at)),
        assigned_users,
    }
}

fn mapping_to_proto(m: roles::Mapping) -> RoleMapping {
    RoleMapping {
        group_id: m.group_id.to_string(),
        role_id: m.target_id.to_string(),
        group_display_name: m.group_display_name,
    }
}

pub(crate) fn source_to_proto(s: RoleSource) -> PbRoleSource {
    match s {
        RoleSource::Groups => PbRoleSource::Groups,
        RoleSource::Attribute => PbRoleSource::Attribute,
    }
}

/// After a role configuration change: recomputes the assignments in `scope` and keeps an
/// admin, in the change's transaction; returns `value` with the role.assigned events.
async fn settle<T>(
    txn: &sea_orm::DatabaseTransaction,
    tenant_id: uuid::Uuid,
    scope: Scope,
    had_admins: bool,
    now: i64,
    value: T,
) -> crate::error::Result<Done<T>> {
    let events = roles::reassign_after_config(txn, tenant_id, scope, had_admins, now).await?;
    Ok(Done::new(value).by(Author::system(), events))
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn create_tenant(&self, request: Request<CreateTenantRequest>) -> Result<Response<Tenant>, Status> {
        let req = request.into_inner();
        let now = self.clock.now_ms();
        let t = in_txn(&self.db, async |txn| {
            admin::create_tenant(txn, &req.name, self.pipeline.ids(), now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(tenant_to_proto(t)))
    }

    async fn get_tenant(&self, request: Request<GetTenantRequest>) -> Result<Response<Tenant>, Status> {
        let id = tenant(&request.into_inner().id)?;
        Ok(Response::new(tenant_to_proto(
            admin::get_tenant(&self.db, id).await.map_err(CoreError::from)?,
        )))
    }

    async fn list_tenants(
        &self,
        _request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        let tenants = admin::list_tenants(&self.db).await.map_err(CoreError::from)?;
        Ok(Response::new(ListTenantsResponse {
            tenants: tenants.into_iter().map(tenant_to_proto).collect(),
        }))
    }

    async fn create_connection(
        &self,
        request: Request<CreateConnectionRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let now = self.clock.now_ms();
        let (conn, token, secret) = in_txn(&self.db, async |txn| {
            let mut conn =
                admin::create_connection(txn, tenant_id, &req.name, &req.idp_profile, self.pipeline.ids(), now).await?;
            if let Some(allow) = req.allow_adoption {
                conn = adoption::set_allow_adoption(txn, tenant_id, conn.id, allow).await?;
            }
            let (token, secret) = admin::issue_token(txn, &conn, &self.sealing, self.pipeline.ids(), now).await?;
            Ok((conn, token, secret))
        })
        .await?;
        Ok(Response::new(ConnectionCredentials {
            connection: Some(self.connection(conn)),
            token: secret,
            token_id: token.id.to_string(),
        }))
    }

    async fn list_connections(
        &self,
        request: Request<ListConnectionsRequest>,
    ) -> Result<Response<ListConnectionsResponse>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        let rows = admin::list_connections(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(ListConnectionsResponse {
            connections: rows.into_iter().map(|c| self.connection(c)).collect(),
        }))
    }

    async fn rotate_token(
        &self,
        request: Request<RotateTokenRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = parse_id("connection", &req.connection_id)?;
        let now = self.clock.now_ms();
        let grace_ms = i64::try_from(req.grace_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let (conn, token, secret) = in_txn(&self.db, async |txn| {
            let conn = admin::get_connection(txn, tenant_id, connection_id).await?;
            if conn.ended_at.is_some() {
                return Err(CoreError::invalid_value(format!(
                    "connection {connection_id} has ended"
                )));
            }
            let (token, secret) = admin::issue_token(txn, &conn, &self.sealing, self.pipeline.ids(), now).await?;
            admin::expire_tokens(txn, conn.id, Some(token.id), now.saturating_add(grace_ms)).await?;
            Ok((conn, token, secret))
        })
        .await?;
        Ok(Response::new(ConnectionCredentials {
            connection: Some(self.connection(conn)),
            token: secret,
            token_id: token.id.to_string(),
        }))
    }

    async fn revoke_tokens(
        &self,
        request: Request<RevokeTokensRequest>,
    ) -> Result<Response<RevokeTokensResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = parse_id("connection", &req.connection_id)?;
        let now = self.clock.now_ms();
        let revoked = in_txn(&self.db, async |txn| {
            let conn = admin::get_connection(txn, tenant_id, connection_id).await?;
            admin::revoke_tokens(txn, conn.id, now).await.map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(RevokeTokensResponse { revoked }))
    }

    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let req = request.into_inner();
        // A malformed tenant id in Basic credentials is a failed login, not a 404.
        let tenant_id = optional_id("tenant", req.tenant_id.as_deref())
            .map_err(|_| CoreError::unauthenticated("invalid, expired or revoked token".into()))?;
        let conn = admin::authenticate(&self.db, &req.token, tenant_id, self.clock.now_ms())
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(AuthenticateResponse {
            tenant_id: conn.tenant_id.to_string(),
            connection_id: conn.id.to_string(),
            idp_profile: conn.idp_profile,
            capture_bodies: conn.capture_bodies,
        }))
    }

    async fn record_request(
        &self,
        request: Request<RecordRequestRequest>,
    ) -> Result<Response<RecordRequestResponse>, Status> {
        log::record(&self.db, outcome(request.into_inner())?, self.pipeline.ids())
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(RecordRequestResponse {}))
    }

    async fn record_requests(
        &self,
        request: Request<RecordRequestsRequest>,
    ) -> Result<Response<RecordRequestResponse>, Status> {
        let records = request.into_inner().records;
        if records.len() > dirsync_domain::text::LOG_BATCH {
            return Err(CoreError::invalid_value(format!(
                "{} records in one call, more than the limit of {}; send them in several calls",
                records.len(),
                dirsync_domain::text::LOG_BATCH
            ))
            .into());
        }
        let outcomes = records.into_iter().map(outcome).collect::<Result<Vec<_>, _>>()?;
        // One transaction, one commit: the cost of logging is paid once per batch.
        in_txn(&self.db, async |txn| {
            for o in outcomes {
                log::record(txn, o, self.pipeline.ids()).await?;
            }
            Ok(())
        })
        .await?;
        Ok(Response::new(RecordRequestResponse {}))
    }

    async fn list_sync_log(
        &self,
        request: Request<ListSyncLogRequest>,
    ) -> Result<Response<ListSyncLogResponse>, Status> {
        let r = request.into_inner();
        let q = log::Query {
            tenant_id: tenant(&r.tenant_id)?,
            connection_id: optional_id("connection", r.connection_id.as_deref())?,
            failed_only: r.failed_only,
            limit: match r.limit {
                0 => 50,
                n => u64::from(n.min(1000)),
            },
            after_id: optional_id("sync log entry", r.after_id.as_deref())?,
            search: None,
        };
        let entries = log::list(&self.db, q).await.map_err(CoreError::from)?;
        Ok(Response::new(ListSyncLogResponse {
            entries: entries.into_iter().map(entry_to_proto).collect(),
        }))
    }

    async fn connection_status(
        &self,
        request: Request<ConnectionStatusRequest>,
    ) -> Result<Response<ConnectionStatusResponse>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        let connections = self.connection_stats(tenant_id).await?;
        Ok(Response::new(ConnectionStatusResponse { connections }))
    }

    async fn get_connection_config(
        &self,
        request: Request<GetConnectionConfigRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = parse_id("connection", &req.connection_id)?;
        let conn = admin::get_connection(&self.db, tenant_id, connection_id)
            .await
            .map_err(CoreError::from)?;
        if conn.ended_at.is_some() {
            return Err(CoreError::invalid_value(format!("connection {connection_id} has ended")).into());
        }
        let (token, secret) = admin::current_secret(&self.db, &conn, &self.sealing, self.clock.now_ms())
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(ConnectionCredentials {
            connection: Some(self.connection(conn)),
            token: secret,
            token_id: token.id.to_string(),
        }))
    }

    async fn end_connection(
        &self,
        request: Request<EndConnectionRequest>,
    ) -> Result<Response<EndConnectionResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = parse_id("connection", &req.connection_id)?;
        // It unlinks the connection's users and groups: a user and group write.
        let ended = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let conn = admin::get_connection(txn, tenant_id, connection_id).await?;
                Ok(Done::new(admin::end_connection(txn, &conn, now).await?))
            })
            .await?;
        Ok(Response::new(EndConnectionResponse {
            tokens_revoked: ended.tokens_revoked,
            users_unlinked: ended.users_unlinked,
            groups_unlinked: ended.groups_unlinked,
        }))
    }

    async fn create_role(&self, request: Request<CreateRoleRequest>) -> Result<Response<Role>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let spec = RoleSpec {
            name: req.name,
            rank: req.rank,
            is_admin: req.is_admin,
            is_guest: req.is_guest,
            is_default: req.is_default,
        };
        let role = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
                let role = roles::create(txn, tenant_id, &spec, self.pipeline.ids(), now).await?;
                settle(txn, tenant_id, Scope::Tenant, had_admins, now, role).await
            })
            .await?;
        Ok(Response::new(role_to_proto(role, 0)))
    }

    async fn update_role(&self, request: Request<UpdateRoleRequest>) -> Result<Response<Role>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("role", &req.id)?;
        let role = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
                let current = roles::get(txn, tenant_id, id).await?;
                let spec = RoleSpec {
                    name: req.name.clone().unwrap_or_else(|| current.name.clone()),
                    rank: req.rank.unwrap_or(current.rank),
                    is_admin: req.is_admin.unwrap_or(current.is_admin),
                    is_guest: req.is_guest.unwrap_or(current.is_guest),
                    is_default: req.is_default.unwrap_or(current.is_default),
                };
                let (before, after) = roles::update(txn, tenant_id, id, &spec).await?;
                // Assignments refer to ids: a rename alone moves nobody.
                let flags = |r: &RoleRecord| (r.rank, r.is_admin, r.is_guest, r.is_default);
                let done = if flags(&before) != flags(&after) {
                    settle(txn, tenant_id, Scope::Tenant, had_admins, now, ()).await?
                } else {
                    Done::new(())
                };
                let held = roles::holders(txn, tenant_id).await?;
                Ok(done.with((after, held)))
            })
            .await?;
        let (role, held) = role;
        let n = held.get(&role.id).copied().unwrap_or_default();
        Ok(Response::new(role_to_proto(role, n)))
    }

    async fn list_roles(&self, request: Request<ListRolesRequest>) -> Result<Response<ListRolesResponse>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        let resp = in_txn(&self.db, async |txn| {
            let source = roles::source(txn, tenant_id).await?;
            let list = roles::list(txn, tenant_id).await?;
            let held = roles::holders(txn, tenant_id).await?;
            let mappings = roles::mappings(txn, tenant_id).await?;
            Ok(ListRolesResponse {
                roles: list
                    .into_iter()
                    .map(|r| {
                        let n = held.get(&r.id).copied().unwrap_or_default();
                        role_to_proto(r, n)
                    })
                    .collect(),
                source: source_to_proto(source) as i32,
                mappings: mappings.into_iter().map(mapping_to_proto).collect(),
            })
        })
        .await?;
        Ok(Response::new(resp))
    }

    async fn delete_role(&self, request: Request<DeleteRoleRequest>) -> Result<Response<DeleteRoleResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("role", &req.id)?;
        // Nobody holds a deletable role, so no assignment moves.
        in_txn(&self.db, async |txn| {
            roles::delete(txn, tenant_id, id).await.map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(DeleteRoleResponse {}))
    }

    async fn map_group_to_role(
        &self,
        request: Request<MapGroupToRoleRequest>,
    ) -> Result<Response<RoleMapping>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        let role_id = parse_id("role", &req.role_id)?;
        let mapping = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
                let mapping = roles::map_group(txn, tenant_id, group_id, role_id).await?;
                settle(txn, tenant_id, Scope::Group(group_id), had_admins, now, mapping).await
            })
            .await?;
        Ok(Response::new(mapping_to_proto(mapping)))
    }

    async fn unmap_group(&self, request: Request<UnmapGroupRequest>) -> Result<Response<UnmapGroupResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        self.pipeline
            .run(tenant_id, async |txn, now| {
                let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
                if roles::unmap_group(txn, tenant_id, group_id).await? {
                    return settle(txn, tenant_id, Scope::Group(group_id), had_admins, now, ()).await;
                }
                Ok(Done::new(()))
            })
            .await?;
        Ok(Response::new(UnmapGroupResponse {}))
    }

    async fn set_role_source(
        &self,
        request: Request<SetRoleSourceRequest>,
    ) -> Result<Response<SetRoleSourceResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let source = match req.source() {
            PbRoleSource::Groups => RoleSource::Groups,
            PbRoleSource::Attribute => RoleSource::Attribute,
            PbRoleSource::Unspecified => {
                return Err(CoreError::invalid_value(
                    "source must be ROLE_SOURCE_GROUPS or ROLE_SOURCE_ATTRIBUTE".into(),
                )
                .into());
            }
        };
        self.pipeline
            .run(tenant_id, async |txn, now| {
                admin::get_tenant(txn, tenant_id).await?;
                let had_admins = roles::active_admins(txn, tenant_id).await? > 0;
                roles::set_source(txn, tenant_id, source).await?;
                settle(txn, tenant_id, Scope::Tenant, had_admins, now, ()).await
            })
            .await?;
        Ok(Response::new(SetRoleSourceResponse {
            source: source_to_proto(source) as i32,
        }))
    }

    async fn update_connection(
        &self,
        request: Request<UpdateConnectionRequest>,
    ) -> Result<Response<Connection>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("connection", &req.connection_id)?;
        let conn = in_txn(&self.db, async |txn| {
            admin::update_connection(
                txn,
                tenant_id,
                id,
                req.name.as_deref(),
                req.idp_profile.as_deref(),
                req.capture_bodies,
            )
            .await?;
            if let Some(seconds) = req.silence_after_seconds {
                silence::set_threshold(txn, tenant_id, id, seconds).await?;
            }
            let conn = match req.allow_adoption {
                Some(allow) => adoption::set_allow_adoption(txn, tenant_id, id, allow).await?,
                None => admin::get_connection(txn, tenant_id, id).await?,
            };
            if req.hold_max_users.is_none() && req.hold_max_percent.is_none() && req.hold_window_seconds.is_none() {
                return Ok(conn);
            }
            let policy = updated_policy(holds::policy(&conn), &req);
            Ok(holds::set_policy(txn, tenant_id, id, policy).await?)
        })
        .await?;
        Ok(Response::new(self.connection(conn)))
    }

    async fn get_connection_hold(
        &self,
        request: Request<ConnectionHoldRequest>,
    ) -> Result<Response<ConnectionHold>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("connection", &req.connection_id)?;
        Ok(Response::new(self.hold(tenant_id, id).await?))
    }

    async fn approve_connection_hold(
        &self,
        request: Request<ConnectionHoldRequest>,
    ) -> Result<Response<HoldDecision>, Status> {
        self.decide(request.into_inner(), true).await
    }

    async fn reject_connection_hold(
        &self,
        request: Request<ConnectionHoldRequest>,
    ) -> Result<Response<HoldDecision>, Status> {
        self.decide(request.into_inner(), false).await
    }

    async fn add_verified_domain(
        &self,
        request: Request<AddVerifiedDomainRequest>,
    ) -> Result<Response<VerifiedDomain>, Status> {
        let d = super::adoption::add_domain(&self.db, request.into_inner(), self.clock.now_ms()).await?;
        Ok(Response::new(d))
    }

    async fn list_verified_domains(
        &self,
        request: Request<ListVerifiedDomainsRequest>,
    ) -> Result<Response<ListVerifiedDomainsResponse>, Status> {
        Ok(Response::new(
            super::adoption::list_domains(&self.db, request.into_inner()).await?,
        ))
    }

    async fn remove_verified_domain(
        &self,
        request: Request<RemoveVerifiedDomainRequest>,
    ) -> Result<Response<RemoveVerifiedDomainResponse>, Status> {
        Ok(Response::new(
            super::adoption::remove_domain(&self.db, request.into_inner()).await?,
        ))
    }
}
