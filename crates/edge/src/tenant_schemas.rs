//! Each tenant's resource schemas: the built-in User (+ Enterprise User) and Group schemas
//! plus the extension schemas the tenant registered in the core (`dirsync.v1.Schemas`).
//!
//! Fetched once per tenant and cached for `EdgeConfig::schema_cache_ttl`
//! ([`DEFAULT_CACHE_TTL`]), so a schema registered or deleted takes effect on every edge
//! replica within that time, at the cost of one `ListSchemas` call per tenant and TTL of traffic.
//! This module knows nothing of the edge's state: the caller passes the cache and the call.

use std::sync::Arc;
use std::time::Duration;

use dirsync_proto::v1 as pb;
use dirsync_scim::extension::ExtensionDefinition;
use dirsync_scim::schema::{ResourceSchema, Schema};

use crate::cache::TtlCache;
use crate::error::ApiResult;

/// How long a tenant's schemas are reused unless configured otherwise.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most tenants whose schemas are cached.
pub const CACHE_MAX: u64 = 10_000;

/// Tenant id -> its schemas.
pub type SchemaCache = TtlCache<String, Arc<TenantSchemas>>;

/// A tenant's User and Group resource schemas.
#[derive(Debug, Clone)]
pub struct TenantSchemas {
    pub user: ResourceSchema,
    pub group: ResourceSchema,
}

impl TenantSchemas {
    /// The built-in schemas with the tenant's registered extensions added.
    pub fn from_registered(list: Vec<pb::ExtensionSchema>) -> Self {
        let (mut users, mut groups): (Vec<Schema>, Vec<Schema>) = (Vec::new(), Vec::new());
        for s in list {
            let def = ExtensionDefinition::from(s);
            if def.resource_type.eq_ignore_ascii_case("Group") {
                groups.push(def.to_schema());
            } else {
                users.push(def.to_schema());
            }
        }
        Self {
            user: ResourceSchema::user().with_extensions(users),
            group: ResourceSchema::group().with_extensions(groups),
        }
    }

    /// Both resource types, User first (discovery order).
    pub fn all(&self) -> [&ResourceSchema; 2] {
        [&self.user, &self.group]
    }
}

/// Which resource type a [`SchemaRef`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

/// One resource type's schema of a tenant, shared with the cache: a request borrows it
/// instead of copying the whole attribute tree (the copy and its drop were 5 % of a GET).
#[derive(Debug, Clone)]
pub struct SchemaRef {
    all: Arc<TenantSchemas>,
    kind: Kind,
}

impl SchemaRef {
    pub fn new(all: Arc<TenantSchemas>, kind: Kind) -> Self {
        Self { all, kind }
    }
}

impl std::ops::Deref for SchemaRef {
    type Target = ResourceSchema;

    fn deref(&self) -> &ResourceSchema {
        match self.kind {
            Kind::User => &self.all.user,
            Kind::Group => &self.all.group,
        }
    }
}

/// A tenant's schemas, from `cache` or else from the core by `list` (which gets the tenant
/// id).
pub async fn for_tenant(
    cache: &SchemaCache,
    tenant_id: &str,
    list: impl AsyncFnOnce(pb::ListSchemasRequest) -> Result<pb::ListSchemasResponse, tonic::Status>,
) -> ApiResult<Arc<TenantSchemas>> {
    let key = tenant_id.to_owned();
    if let Some(s) = cache.get(&key).await {
        return Ok(s);
    }
    let registered = list(pb::ListSchemasRequest {
        tenant_id: key.clone(),
        resource_type: None,
    })
    .await?
    .schemas;
    let schemas = Arc::new(TenantSchemas::from_registered(registered));
    cache.insert(key, schemas.clone()).await;
    Ok(schemas)
}
