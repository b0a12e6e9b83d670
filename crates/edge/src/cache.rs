//! The edge's one cache type, for answers of the core it may reuse for a while (a token's
//! caller, a tenant's schemas). An entry lives for the configured time to live, so a change in
//! the core reaches every edge replica within it. When full, moka evicts the entries least
//! likely to be used again instead of dropping all of them, so a flood of new keys does not
//! send every other client back to the core at once.

use std::hash::Hash;
use std::time::Duration;

/// moka refuses times to live above 1000 years; no setting needs more than this.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Clone)]
pub struct TtlCache<K, V> {
    /// `None` when the time to live is zero: nothing is kept, every lookup asks the core.
    entries: Option<moka::future::Cache<K, V>>,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `max_entries` entries, each kept for `ttl` after it was inserted.
    pub fn new(ttl: Duration, max_entries: u64) -> Self {
        let entries = (!ttl.is_zero() && max_entries > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl.min(MAX_TTL))
                .build()
        });
        Self { entries }
    }

    /// The live entry for `key`, if any.
    pub async fn get(&self, key: &K) -> Option<V> {
        self.entries.as_ref()?.get(key).await
    }

    pub async fn insert(&self, key: K, value: V) {
        if let Some(entries) = &self.entries {
            entries.insert(key, value).await;
        }
    }
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TtlCache");
        match &self.entries {
            Some(entries) => d
                .field("ttl", &entries.policy().time_to_live())
                .field("max_entries", &entries.policy().max_capacity()),
            None => d.field("ttl", &Duration::ZERO),
        }
        .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_entries_only_with_a_time_to_live() {
        for (ttl, max_entries, kept) in [
            (Duration::from_secs(60), 10, true),
            (Duration::ZERO, 10, false),
            (Duration::from_secs(60), 0, false),
            // Above moka's own limit: clamped instead of panicking at start-up.
            (Duration::from_secs(u64::MAX), 10, true),
        ] {
            let cache = TtlCache::new(ttl, max_entries);
            cache.insert("k", 1).await;
            assert_eq!(cache.get(&"k").await, kept.then_some(1), "{cache:?}");
            assert_eq!(cache.get(&"other").await, None);
        }
    }

    #[tokio::test]
    async fn stays_bounded_when_full() {
        let cache = TtlCache::new(Duration::from_secs(60), 100);
        for i in 0..1_000 {
            cache.insert(i, i).await;
        }
        let inner = cache
            .entries
            .clone()
            .expect("a cache with a time to live keeps entries");
        inner.run_pending_tasks().await;
        assert!(inner.entry_count() <= 100, "{} entries", inner.entry_count());
        // Evicting is per entry, not all at once: the cache still holds entries.
        assert!(inner.entry_count() > 0);
    }
}
