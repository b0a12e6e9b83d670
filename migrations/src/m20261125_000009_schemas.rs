//! Tenant-defined SCIM extension schemas: one row per schema, its attributes as JSON text
//! (read and written whole, never queried into). `urn_key` is the lower-cased URN, so a URN
//! is unique per tenant case-insensitively (RFC 7643 §2.1) on both backends.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum TenantSchemas {
    Table,
    Id,
    TenantId,
    Urn,
    UrnKey,
    Name,
    Description,
    ResourceType,
    Attributes,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantSchemas::Table)
                    .if_not_exists()
                    .col(pk_uuid(TenantSchemas::Id))
                    .col(uuid(TenantSchemas::TenantId))
                    .col(text(TenantSchemas::Urn))
                    .col(text(TenantSchemas::UrnKey))
                    .col(text(TenantSchemas::Name))
                    .col(text(TenantSchemas::Description))
                    .col(string(TenantSchemas::ResourceType))
                    .col(text(TenantSchemas::Attributes))
                    .col(big_integer(TenantSchemas::CreatedAt))
                    .col(big_integer(TenantSchemas::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TenantSchemas::Table, TenantSchemas::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tenant_schemas_tenant_urn")
                    .table(TenantSchemas::Table)
                    .col(TenantSchemas::TenantId)
                    .col(TenantSchemas::UrnKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantSchemas::Table).to_owned())
            .await
    }
}
