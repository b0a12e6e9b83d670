//! Storage: SeaORM queries, one module per aggregate. Every query is scoped by tenant.

pub mod admin;
pub mod changes;
pub mod filter;
pub mod groups;
pub mod keyset;
pub mod leases;
pub mod roles;
pub mod settings;
pub mod sync_log;
pub mod users;

use sea_orm::{DbErr, SqlErr};

pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Normalised key of a case-insensitive value (RFC 7643 §2.4 caseExact=false).
pub fn ci_key(s: &str) -> String {
    s.to_lowercase()
}

/// Paging as the store takes it: 1-based start, page size (0 = count only).
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
