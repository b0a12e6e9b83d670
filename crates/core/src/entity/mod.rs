//! SeaORM entities: one module a table.

pub mod changes;
pub mod connections;
pub mod group_members;
pub mod groups;
pub mod sync_log;
pub mod tenants;
pub mod tokens;
pub mod users;
