//! SeaORM entities: one module a table.

pub mod changes;
pub mod connections;
pub mod group_members;
pub mod groups;
pub mod leases;
pub mod role_mappings;
pub mod roles;
pub mod sync_log;
pub mod tenant_domains;
pub mod tenants;
pub mod tokens;
pub mod user_roles;
pub mod users;
