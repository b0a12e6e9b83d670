//! Ids as an injected dependency, like the clock: production makes UUIDv7 (they sort by
//! creation time, which keyset paging and the feed rely on); tests may make predictable ones.

use std::sync::Arc;

use uuid::Uuid;

pub trait IdSource: Send + Sync + std::fmt::Debug {
    /// A new id, never returned before.
    fn new_id(&self) -> Uuid;
}

/// UUIDv7 from the system clock and randomness.
#[derive(Debug, Default)]
pub struct UuidV7;

impl IdSource for UuidV7 {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

pub type SharedIds = Arc<dyn IdSource>;

/// A shared source is a source: `&SharedIds` passes where a `&dyn IdSource` is asked for.
impl<T: IdSource + ?Sized> IdSource for Arc<T> {
    fn new_id(&self) -> Uuid {
        (**self).new_id()
    }
}

pub fn v7() -> SharedIds {
    Arc::new(UuidV7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_ids_are_new_and_ordered() {
        let ids = v7();
        let a = ids.new_id();
        let b = ids.new_id();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b, "v7 ids sort by creation");
    }
}
