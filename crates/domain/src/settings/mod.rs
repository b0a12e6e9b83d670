//! Tenant settings rules: the languages a tenant's product speaks and users' time zones.

pub mod language;
pub mod timezone;
