//! Each tenant's resource schemas: the built-in User (+ Enterprise User) and Group schemas
//! plus the extension schemas the tenant registered in the core (`dirsync.v1.Schemas`).
//!
//! Fetched once per tenant and cached for [`CACHE_TTL`] (like authentication), so a schema
//! registered or deleted takes effect on every edge replica within that time, at the cost of
//! one `ListSchemas` call per tenant every 2 s of traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dirsync_proto::v1 as pb;
use dirsync_scim::extension::{ExtensionAttribute, ExtensionDefinition};
use dirsync_scim::schema::{ResourceSchema, Schema};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub const CACHE_TTL: Duration = Duration::from_secs(2);
const CACHE_MAX: usize = 10_000;

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
            let def = definition(s);
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

/// A registered schema as the SCIM library's definition.
pub fn definition(s: pb::ExtensionSchema) -> ExtensionDefinition {
    ExtensionDefinition {
        urn: s.urn,
        name: s.name,
        description: s.description,
        resource_type: s.resource_type,
        attributes: s
            .attributes
            .into_iter()
            .map(|a| ExtensionAttribute {
                name: a.name,
                attr_type: a.r#type,
                multi_valued: a.multi_valued,
                required: a.required,
                case_exact: a.case_exact,
                canonical_values: a.canonical_values,
                description: a.description,
                separator: a.separator,
                mutability: a.mutability,
                kept_on_removal: a.kept_on_removal,
            })
            .collect(),
    }
}

#[derive(Debug, Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<String, (Arc<TenantSchemas>, Instant)>>,
}

impl SchemaCache {
    fn get(&self, tenant: &str) -> Option<Arc<TenantSchemas>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(tenant)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(s, _)| s.clone())
    }

    fn put(&self, tenant: &str, schemas: Arc<TenantSchemas>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_MAX {
                entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
                if entries.len() >= CACHE_MAX {
                    entries.clear();
                }
            }
            entries.insert(tenant.to_owned(), (schemas, Instant::now()));
        }
    }
}

/// The caller's tenant's schemas, from the cache or the core.
pub async fn for_caller(state: &AppState, caller: &Caller) -> ApiResult<Arc<TenantSchemas>> {
    if let Some(s) = state.schema_cache.get(&caller.tenant_id) {
        return Ok(s);
    }
    let list = state
        .schemas()
        .list_schemas(pb::ListSchemasRequest {
            tenant_id: caller.tenant_id.clone(),
            resource_type: None,
        })
        .await?
        .into_inner()
        .schemas;
    let schemas = Arc::new(TenantSchemas::from_registered(list));
    state.schema_cache.put(&caller.tenant_id, schemas.clone());
    Ok(schemas)
}
