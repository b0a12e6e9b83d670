//! `dirsync.v1.Admin`: tenants, connections and tokens.

use dirsync_proto::v1::admin_server::Admin;
use dirsync_proto::v1::{
    AuthenticateRequest, AuthenticateResponse, Connection, ConnectionCredentials, ConnectionStats,
    ConnectionStatusRequest, ConnectionStatusResponse, CreateConnectionRequest, CreateTenantRequest,
    EndConnectionRequest, EndConnectionResponse, GetConnectionConfigRequest, GetTenantRequest, ListConnectionsRequest,
    ListConnectionsResponse, ListSyncLogRequest, ListSyncLogResponse, ListTenantsRequest, ListTenantsResponse,
    RecordRequestRequest, RecordRequestResponse, RevokeTokensRequest, RevokeTokensResponse, RotateTokenRequest,
    SyncLogEntry, Tenant,
};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use super::{in_txn, optional_id, tenant, timestamp};
use crate::clock::SharedClock;
use crate::entity::{connections, sync_log, tenants};
use crate::error::{CoreError, parse_id};
use crate::sealing::SecretBox;
use crate::store::admin;
use crate::store::sync_log as log;

#[derive(Debug, Clone)]
pub struct AdminService {
    db: DatabaseConnection,
    clock: SharedClock,
    /// Where IdPs reach the SCIM edge, e.g. `https://scim.example.com`.
    public_url: String,
    sealing: SecretBox,
}

impl AdminService {
    pub fn new(db: DatabaseConnection, clock: SharedClock, public_url: String, sealing: SecretBox) -> Self {
        Self {
            db,
            clock,
            public_url: public_url.trim_end_matches('/').to_owned(),
            sealing,
        }
    }

    fn connection(&self, c: connections::Model) -> Connection {
        Connection {
            scim_base_url: scim_base_url(&self.public_url, &c.tenant_id.to_string()),
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name,
            idp_profile: c.idp_profile,
            created: Some(timestamp(c.created_at)),
            ended: c.ended_at.map(timestamp),
        }
    }
}

/// The SCIM base URL of a tenant ("Tenant URL" in the IdP).
pub fn scim_base_url(public_url: &str, tenant_id: &str) -> String {
    format!("{}/scim/v2/{tenant_id}", public_url.trim_end_matches('/'))
}

fn entry_to_proto(e: sync_log::Model) -> SyncLogEntry {
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
    }
}

fn tenant_to_proto(t: tenants::Model) -> Tenant {
    Tenant {
        id: t.id.to_string(),
        name: t.name,
        created: Some(timestamp(t.created_at)),
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn create_tenant(&self, request: Request<CreateTenantRequest>) -> Result<Response<Tenant>, Status> {
        let req = request.into_inner();
        let now = self.clock.now_ms();
        let t = in_txn(&self.db, async |txn| admin::create_tenant(txn, &req.name, now).await).await?;
        Ok(Response::new(tenant_to_proto(t)))
    }

    async fn get_tenant(&self, request: Request<GetTenantRequest>) -> Result<Response<Tenant>, Status> {
        let id = tenant(&request.into_inner().id)?;
        Ok(Response::new(tenant_to_proto(admin::get_tenant(&self.db, id).await?)))
    }

    async fn list_tenants(
        &self,
        _request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        let tenants = admin::list_tenants(&self.db).await?;
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
            let conn = admin::create_connection(txn, tenant_id, &req.name, &req.idp_profile, now).await?;
            let (token, secret) = admin::issue_token(txn, &conn, &self.sealing, now).await?;
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
        let rows = admin::list_connections(&self.db, tenant_id).await?;
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
                return Err(CoreError::InvalidValue(format!("connection {connection_id} has ended")));
            }
            let (token, secret) = admin::issue_token(txn, &conn, &self.sealing, now).await?;
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
            admin::revoke_tokens(txn, conn.id, now).await
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
            .map_err(|_| CoreError::Unauthenticated("invalid, expired or revoked token".into()))?;
        let conn = admin::authenticate(&self.db, &req.token, tenant_id, self.clock.now_ms()).await?;
        Ok(Response::new(AuthenticateResponse {
            tenant_id: conn.tenant_id.to_string(),
            connection_id: conn.id.to_string(),
            idp_profile: conn.idp_profile,
        }))
    }

    async fn record_request(
        &self,
        request: Request<RecordRequestRequest>,
    ) -> Result<Response<RecordRequestResponse>, Status> {
        let r = request.into_inner();
        let outcome = log::Outcome {
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
        };
        log::record(&self.db, outcome).await?;
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
        };
        let entries = log::list(&self.db, q).await?;
        Ok(Response::new(ListSyncLogResponse {
            entries: entries.into_iter().map(entry_to_proto).collect(),
        }))
    }

    async fn connection_status(
        &self,
        request: Request<ConnectionStatusRequest>,
    ) -> Result<Response<ConnectionStatusResponse>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        let conns = admin::list_connections(&self.db, tenant_id).await?;
        let ids: Vec<uuid::Uuid> = conns.iter().map(|c| c.id).collect();
        let mut stats = log::stats(&self.db, &ids, self.clock.now_ms()).await?;
        let connections = conns
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
                }
            })
            .collect();
        Ok(Response::new(ConnectionStatusResponse { connections }))
    }

    async fn get_connection_config(
        &self,
        request: Request<GetConnectionConfigRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = parse_id("connection", &req.connection_id)?;
        let conn = admin::get_connection(&self.db, tenant_id, connection_id).await?;
        if conn.ended_at.is_some() {
            return Err(CoreError::InvalidValue(format!("connection {connection_id} has ended")).into());
        }
        let (token, secret) = admin::current_secret(&self.db, &conn, &self.sealing, self.clock.now_ms()).await?;
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
        let now = self.clock.now_ms();
        let ended = in_txn(&self.db, async |txn| {
            let conn = admin::get_connection(txn, tenant_id, connection_id).await?;
            admin::end_connection(txn, &conn, now).await
        })
        .await?;
        Ok(Response::new(EndConnectionResponse {
            tokens_revoked: ended.tokens_revoked,
            users_unlinked: ended.users_unlinked,
            groups_unlinked: ended.groups_unlinked,
        }))
    }
}
