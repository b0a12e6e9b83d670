//! SeaORM entities: one module a table.

pub mod changes;
pub mod connections;
pub mod group_members;
pub mod groups;
pub mod leases;
pub mod pending_invites;
pub mod role_mappings;
pub mod roles;
pub mod sync_log;
pub mod tenant_settings;
pub mod tenants;
pub mod tokens;
pub mod user_roles;
pub mod users;
