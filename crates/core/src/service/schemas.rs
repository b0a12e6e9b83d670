//! `dirsync.v1.Schemas`: a tenant's extension schemas.

use dirsync_proto::v1::schemas_server::Schemas;
use dirsync_proto::v1::{
    DeleteSchemaRequest, DeleteSchemaResponse, ExtensionSchema, GetSchemaRequest, ListSchemasRequest,
    ListSchemasResponse, RegisterSchemaRequest,
};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use super::{in_txn, tenant, timestamp};
use crate::error::CoreError;
use dirsync_domain::clock::SharedClock;
use dirsync_domain::ids::SharedIds;
use dirsync_domain::schemas::{Definition, attributes_from_json};
use dirsync_store::entity::tenant_schemas;
use dirsync_store::schemas as store;

#[derive(Debug, Clone)]
pub struct SchemasService {
    db: DatabaseConnection,
    clock: SharedClock,
    ids: SharedIds,
}

impl SchemasService {
    pub fn new(db: DatabaseConnection, clock: SharedClock, ids: SharedIds) -> Self {
        Self { db, clock, ids }
    }
}

fn to_proto(m: tenant_schemas::Model) -> ExtensionSchema {
    ExtensionSchema {
        attributes: attributes_from_json(&m.attributes)
            .into_iter()
            .map(Into::into)
            .collect(),
        urn: m.urn,
        name: m.name,
        description: m.description,
        resource_type: m.resource_type,
        tenant_id: m.tenant_id.to_string(),
        created: Some(timestamp(m.created_at)),
        updated: Some(timestamp(m.updated_at)),
    }
}

#[tonic::async_trait]
impl Schemas for SchemasService {
    async fn register_schema(
        &self,
        request: Request<RegisterSchemaRequest>,
    ) -> Result<Response<ExtensionSchema>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let def: Definition = req
            .schema
            .ok_or_else(|| CoreError::invalid_value("RegisterSchema needs a schema".into()))?
            .into();
        let now = self.clock.now_ms();
        let row = in_txn(&self.db, async |txn| {
            store::register(txn, tenant_id, def, &self.ids, now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(to_proto(row)))
    }

    async fn list_schemas(
        &self,
        request: Request<ListSchemasRequest>,
    ) -> Result<Response<ListSchemasResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let rows = store::list(&self.db, tenant_id, req.resource_type.as_deref())
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(ListSchemasResponse {
            schemas: rows.into_iter().map(to_proto).collect(),
        }))
    }

    async fn get_schema(&self, request: Request<GetSchemaRequest>) -> Result<Response<ExtensionSchema>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        Ok(Response::new(to_proto(
            store::get(&self.db, tenant_id, &req.urn)
                .await
                .map_err(CoreError::from)?,
        )))
    }

    async fn delete_schema(
        &self,
        request: Request<DeleteSchemaRequest>,
    ) -> Result<Response<DeleteSchemaResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        in_txn(&self.db, async |txn| {
            store::delete(txn, tenant_id, &req.urn).await.map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(DeleteSchemaResponse {}))
    }
}
