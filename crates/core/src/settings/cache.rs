//! The tenants' languages for reads, reused for up to [`TTL`].
//!
//! Every read of a user answered with its language, so a `GET /Users/{id}` read the tenant's
//! settings row besides the user: one query of two. Reads now reuse what was read within
//! [`TTL`]. A settings write in this process forgets its tenant once committed; one made
//! through another replica is seen here within [`TTL`] (settings changes are not in the change
//! feed). Writes never use this: they read the settings in their own transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use dirsync_domain::settings::language::Languages;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::Result;

/// How long a tenant's languages read by one replica may lag a write made through another.
pub const TTL: Duration = Duration::from_secs(1);
/// Most tenants kept; expired entries are dropped first, then all when still full.
const MAX_TENANTS: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct LanguageCache {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Uuid, (Instant, Arc<Languages>)>,
    /// Bumped by every [`LanguageCache::forget`]: a read that started before a write may not
    /// store what it read after the write forgot the tenant.
    generation: u64,
}

impl LanguageCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant's languages, from the cache when read within [`TTL`], else from `db`.
    pub async fn get<C: ConnectionTrait>(&self, db: &C, tenant_id: Uuid) -> Result<Arc<Languages>> {
        let now = Instant::now();
        let generation = {
            let inner = self.lock();
            if let Some((at, langs)) = inner.entries.get(&tenant_id)
                && now.duration_since(*at) < TTL
            {
                return Ok(langs.clone());
            }
            inner.generation
        };
        let langs = Arc::new(super::languages(db, tenant_id).await?);
        let mut inner = self.lock();
        if inner.generation == generation {
            if inner.entries.len() >= MAX_TENANTS {
                inner.entries.retain(|_, (at, _)| now.duration_since(*at) < TTL);
                if inner.entries.len() >= MAX_TENANTS {
                    inner.entries.clear();
                }
            }
            // Aged from before the read, so an entry never outlives TTL after its read began.
            inner.entries.insert(tenant_id, (now, langs.clone()));
        }
        Ok(langs)
    }

    /// Drops the tenant's entry: call after a settings write committed.
    pub fn forget(&self, tenant_id: Uuid) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.remove(&tenant_id);
    }
}
