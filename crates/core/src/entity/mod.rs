//! SeaORM entities: one module a table.

pub mod connections;
pub mod group_members;
pub mod groups;
pub mod tenants;
pub mod tokens;
pub mod users;
