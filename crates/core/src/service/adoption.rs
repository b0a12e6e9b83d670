//! Adoption in the services: the verified-domain RPCs of `Admin`. The takeover of a native
//! user by a SCIM write is a step of the mutation pipeline (`service::mutation`).

use dirsync_proto::v1::{
    AddVerifiedDomainRequest, ListVerifiedDomainsRequest, ListVerifiedDomainsResponse, RemoveVerifiedDomainRequest,
    RemoveVerifiedDomainResponse, VerifiedDomain,
};
use sea_orm::DatabaseConnection;
use tonic::Status;

use super::{in_txn, tenant, timestamp};
use crate::error::{CoreError, Result};
use dirsync_store::adoption as store;
use dirsync_store::entity::tenant_domains;

fn domain_to_proto(d: tenant_domains::Model) -> VerifiedDomain {
    VerifiedDomain {
        tenant_id: d.tenant_id.to_string(),
        domain: d.domain,
        created: Some(timestamp(d.created_at)),
    }
}

pub(crate) async fn add_domain(
    db: &DatabaseConnection,
    req: AddVerifiedDomainRequest,
    now: i64,
) -> Result<VerifiedDomain, Status> {
    let tenant_id = tenant(&req.tenant_id)?;
    let d = in_txn(db, async |txn| {
        store::add_domain(txn, tenant_id, &req.domain, now)
            .await
            .map_err(CoreError::from)
    })
    .await?;
    Ok(domain_to_proto(d))
}

pub(crate) async fn list_domains(
    db: &DatabaseConnection,
    req: ListVerifiedDomainsRequest,
) -> Result<ListVerifiedDomainsResponse, Status> {
    let tenant_id = tenant(&req.tenant_id)?;
    dirsync_store::admin::get_tenant(db, tenant_id)
        .await
        .map_err(CoreError::from)?;
    let domains = store::domains(db, tenant_id).await.map_err(CoreError::from)?;
    Ok(ListVerifiedDomainsResponse {
        domains: domains.into_iter().map(domain_to_proto).collect(),
    })
}

pub(crate) async fn remove_domain(
    db: &DatabaseConnection,
    req: RemoveVerifiedDomainRequest,
) -> Result<RemoveVerifiedDomainResponse, Status> {
    let tenant_id = tenant(&req.tenant_id)?;
    in_txn(db, async |txn| {
        store::remove_domain(txn, tenant_id, &req.domain)
            .await
            .map_err(CoreError::from)
    })
    .await?;
    Ok(RemoveVerifiedDomainResponse {})
}
