//! Where a tenant's licenses come from, like its roles: group mappings (the default, as
//! before), an extension attribute naming the tier, or one default tier for every active user.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum LicenseSettings {
    Table,
    Source,
    DefaultTierId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(LicenseSettings::Table)
                    .add_column(text(LicenseSettings::Source).default("groups"))
                    .to_owned(),
            )
            .await?;
        // No foreign key: deleting a tier clears it in the same transaction (store::licenses).
        manager
            .alter_table(
                Table::alter()
                    .table(LicenseSettings::Table)
                    .add_column(uuid_null(LicenseSettings::DefaultTierId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [LicenseSettings::DefaultTierId, LicenseSettings::Source] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LicenseSettings::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
