//! SeaORM entities: one module a table.

pub mod changes;
pub mod connections;
pub mod deprovisions;
pub mod group_members;
pub mod groups;
pub mod leases;
pub mod license_mappings;
pub mod license_purchases;
pub mod license_settings;
pub mod license_tiers;
pub mod pending_invites;
pub mod portal_links;
pub mod portal_sessions;
pub mod role_mappings;
pub mod roles;
pub mod sync_log;
pub mod tenant_domains;
pub mod tenant_schemas;
pub mod tenant_settings;
pub mod tenants;
pub mod tokens;
pub mod user_licenses;
pub mod user_roles;
pub mod users;
