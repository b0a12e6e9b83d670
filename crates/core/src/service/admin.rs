//! `dirsync.v1.Admin`: tenants, connections and tokens.

use dirsync_proto::v1::admin_server::Admin;
use dirsync_proto::v1::{
    AuthenticateRequest, AuthenticateResponse, Connection, ConnectionCredentials, CreateConnectionRequest,
    CreateTenantRequest, GetTenantRequest, ListConnectionsRequest, ListConnectionsResponse, ListTenantsRequest,
    ListTenantsResponse, RevokeTokensRequest, RevokeTokensResponse, RotateTokenRequest, Tenant,
};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use super::{in_txn, optional_id, tenant, timestamp};
use crate::clock::SharedClock;
use crate::entity::{connections, tenants};
use crate::error::{CoreError, parse_id};
use crate::store::admin;

#[derive(Debug, Clone)]
pub struct AdminService {
    db: DatabaseConnection,
    clock: SharedClock,
    /// Where IdPs reach the SCIM edge, e.g. `https://scim.example.com`.
    public_url: String,
}

impl AdminService {
    pub fn new(db: DatabaseConnection, clock: SharedClock, public_url: String) -> Self {
        Self {
            db,
            clock,
            public_url: public_url.trim_end_matches('/').to_owned(),
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
        }
    }
}

/// The SCIM base URL of a tenant ("Tenant URL" in the IdP).
pub fn scim_base_url(public_url: &str, tenant_id: &str) -> String {
    format!("{}/scim/v2/{tenant_id}", public_url.trim_end_matches('/'))
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
            let (token, secret) = admin::issue_token(txn, &conn, now).await?;
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
            let (token, secret) = admin::issue_token(txn, &conn, now).await?;
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
}
