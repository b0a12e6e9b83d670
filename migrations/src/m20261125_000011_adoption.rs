//! Adoption of native accounts by SCIM: a tenant's verified e-mail domains, and a
//! per-connection switch (off by default) that lets a connection take over the native users
//! of those domains.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Connections {
    Table,
    AllowAdoption,
}

#[derive(DeriveIden, Clone, Copy)]
enum TenantDomains {
    Table,
    TenantId,
    Domain,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .add_column(boolean(Connections::AllowAdoption).default(false))
                    .to_owned(),
            )
            .await?;
        // The primary key is the "unique per tenant" rule and the index the visibility
        // condition's EXISTS probes by tenant.
        manager
            .create_table(
                Table::create()
                    .table(TenantDomains::Table)
                    .if_not_exists()
                    .col(uuid(TenantDomains::TenantId))
                    .col(text(TenantDomains::Domain))
                    .col(big_integer(TenantDomains::CreatedAt))
                    .primary_key(Index::create().col(TenantDomains::TenantId).col(TenantDomains::Domain))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TenantDomains::Table, TenantDomains::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantDomains::Table).if_exists().to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .drop_column(Connections::AllowAdoption)
                    .to_owned(),
            )
            .await
    }
}
