//! dirsync's domain: what the directory means, independent of how it is stored (the store
//! crate) or reached (gRPC in the core, SCIM in the edge). Plain types, the rules that decide,
//! the one error table, and the injected clock and id source.

pub mod adoption;
pub mod clock;
pub mod error;
pub mod events;
pub mod filter;
pub mod group;
pub mod hold;
pub mod ids;
pub mod licenses;
pub mod roles;
pub mod schemas;
pub mod settings;
pub mod text;
pub mod user;

pub use error::{Error, ErrorKind, Result};
pub use group::{Group, GroupSpec};
pub use user::{User, UserSpec};

/// Paging by offset: 1-based start, page size (0 = count only).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub start_index: u64,
    pub count: u64,
}

impl Page {
    pub fn offset(&self) -> u64 {
        self.start_index.max(1) - 1
    }
}
