//! The setup portal: one-time links a product hands to a customer's IT admin, and the sessions
//! they open. Both hold only the SHA-256 of their secret. Rows go with their tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum PortalLinks {
    Table,
    Id,
    TenantId,
    ConnectionId,
    Intent,
    TokenHash,
    ReturnUrl,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PortalSessions {
    Table,
    Id,
    TenantId,
    LinkId,
    ConnectionId,
    Intent,
    TokenHash,
    ReturnUrl,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PortalLinks::Table)
                    .if_not_exists()
                    .col(pk_uuid(PortalLinks::Id))
                    .col(uuid(PortalLinks::TenantId))
                    .col(uuid_null(PortalLinks::ConnectionId))
                    .col(string(PortalLinks::Intent))
                    .col(string(PortalLinks::TokenHash).unique_key())
                    .col(text_null(PortalLinks::ReturnUrl))
                    .col(string(PortalLinks::CreatedBy))
                    .col(big_integer(PortalLinks::CreatedAt))
                    .col(big_integer(PortalLinks::ExpiresAt))
                    .col(big_integer_null(PortalLinks::UsedAt))
                    .col(big_integer_null(PortalLinks::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PortalLinks::Table, PortalLinks::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalSessions::Table)
                    .if_not_exists()
                    .col(pk_uuid(PortalSessions::Id))
                    .col(uuid(PortalSessions::TenantId))
                    .col(uuid(PortalSessions::LinkId))
                    .col(uuid_null(PortalSessions::ConnectionId))
                    .col(string(PortalSessions::Intent))
                    .col(string(PortalSessions::TokenHash).unique_key())
                    .col(text_null(PortalSessions::ReturnUrl))
                    .col(big_integer(PortalSessions::CreatedAt))
                    .col(big_integer(PortalSessions::LastSeenAt))
                    .col(big_integer(PortalSessions::ExpiresAt))
                    .col(big_integer_null(PortalSessions::EndedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PortalSessions::Table, PortalSessions::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PortalSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PortalLinks::Table).to_owned())
            .await
    }
}
