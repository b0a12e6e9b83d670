//! Adoption in the services: the verified-domain RPCs of `Admin`, and the takeover of a
//! native user by a SCIM create, which runs the hooks of a replace.

use dirsync_domain::{self as domain, UserSpec};
use dirsync_proto::v1::{
    AddVerifiedDomainRequest, ListVerifiedDomainsRequest, ListVerifiedDomainsResponse, RemoveVerifiedDomainRequest,
    RemoveVerifiedDomainResponse, VerifiedDomain,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tonic::Status;
use uuid::Uuid;

use super::{in_txn, tenant, timestamp};
use crate::adoption::{self, Takeover};
use crate::entity::tenant_domains;
use crate::error::{CoreError, Result};
use crate::journal::Event;
use crate::roles::Trigger;
use crate::store::adoption as store;
use crate::store::{roles, users as user_store};

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
    crate::store::admin::get_tenant(db, tenant_id)
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

/// The takeover event of a write that took over `after` (first in its change list).
pub(crate) fn adopted(
    found: Option<&(domain::User, Takeover)>,
    after: &domain::User,
    connection_id: Uuid,
) -> Option<Event> {
    found.map(|(_, how)| adoption::takeover_event(after, connection_id, how))
}

/// A SCIM create that collided with a native user the connection may adopt or with an
/// unmanaged user (already taken over by `store::adoption::before_create`): the user keeps its id and takes the POSTed
/// state, through the same hooks as a replace. Returns the user and the events to journal.
pub(crate) async fn create_over(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Uuid,
    found: (domain::User, Takeover),
    spec: &UserSpec,
    now: i64,
) -> Result<(domain::User, Vec<Event>)> {
    let (before, after) = user_store::replace(txn, tenant_id, found.0.id, spec, None, now).await?;
    let mut events: Vec<Event> = adopted(Some(&found), &after, connection_id).into_iter().collect();
    events.extend(Event::user_changed(&before, &after));
    events.extend(roles::after_user_write(txn, tenant_id, Some(&before), &after, Trigger::Scim, now).await?);
    events.extend(crate::store::licenses::after_user_write(txn, tenant_id, Some(&before), &after, now).await?);
    Ok((after, events))
}
