//! dirsync's schema, as an ordered list of migrations. Applied at start by the core.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_init;
mod m20261125_000002_journal;
mod m20261125_000003_connection_secrets;
mod m20261125_000005_roles;
mod m20261125_000006_leases;
mod m20261125_000007_connection_settings;
mod m20261125_000008_licenses;
mod m20261125_000009_schemas;
mod m20261125_000010_tenant_settings;
mod m20261125_000011_adoption;
mod m20261201_000012_group_names;
mod m20261201_000013_license_source;
mod m20261201_000014_portal;
mod m20261201_000015_user_name_keys;
mod m20261201_000016_primary_emails;
mod m20261201_000017_deprovision_hold;
mod m20261201_000018_silence;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_init::Migration),
            Box::new(m20261125_000002_journal::Migration),
            Box::new(m20261125_000003_connection_secrets::Migration),
            Box::new(m20261125_000005_roles::Migration),
            Box::new(m20261125_000006_leases::Migration),
            Box::new(m20261125_000007_connection_settings::Migration),
            Box::new(m20261125_000008_licenses::Migration),
            Box::new(m20261125_000009_schemas::Migration),
            Box::new(m20261125_000010_tenant_settings::Migration),
            Box::new(m20261125_000011_adoption::Migration),
            Box::new(m20261201_000012_group_names::Migration),
            Box::new(m20261201_000013_license_source::Migration),
            Box::new(m20261201_000014_portal::Migration),
            Box::new(m20261201_000015_user_name_keys::Migration),
            Box::new(m20261201_000016_primary_emails::Migration),
            Box::new(m20261201_000017_deprovision_hold::Migration),
            Box::new(m20261201_000018_silence::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migrations run in the order of their numbers (the six digits after the date).
    #[test]
    fn migrations_are_registered_in_numbered_order() {
        let numbers: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().split('_').nth(1).unwrap_or_default().to_owned())
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(numbers, sorted);
    }
}
