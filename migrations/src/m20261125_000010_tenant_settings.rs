//! Tenant settings: the languages a tenant's product speaks (which normalise each user's
//! preferredLanguage/locale), and delayed invites, with the invites still waiting.
//!
//! Settings live in a table of their own rather than in `tenants`, so a tenant without a row
//! simply has the defaults (no languages, invites off) and other features' tenant columns do
//! not move. A pending invite references its user with ON DELETE CASCADE: a user deleted
//! before the invite is due takes the invite with it, so nobody is invited for a test account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum TenantSettings {
    Table,
    TenantId,
    SupportedLanguages,
    DefaultLanguage,
    InvitesEnabled,
    InviteDelaySeconds,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PendingInvites {
    Table,
    UserId,
    TenantId,
    ConnectionId,
    DueAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantSettings::Table)
                    .if_not_exists()
                    .col(pk_uuid(TenantSettings::TenantId))
                    // Canonical BCP 47 tags, comma-separated, in the tenant's order.
                    .col(text(TenantSettings::SupportedLanguages).default(""))
                    .col(text(TenantSettings::DefaultLanguage).default(""))
                    .col(boolean(TenantSettings::InvitesEnabled).default(false))
                    .col(big_integer(TenantSettings::InviteDelaySeconds).default(600))
                    .col(big_integer(TenantSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TenantSettings::Table, TenantSettings::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PendingInvites::Table)
                    .if_not_exists()
                    .col(pk_uuid(PendingInvites::UserId))
                    .col(uuid(PendingInvites::TenantId))
                    .col(uuid(PendingInvites::ConnectionId))
                    .col(big_integer(PendingInvites::DueAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PendingInvites::Table, PendingInvites::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The job asks "what is due now?" across tenants every second.
        manager
            .create_index(
                Index::create()
                    .name("idx_pending_invites_due_at")
                    .table(PendingInvites::Table)
                    .col(PendingInvites::DueAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingInvites::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TenantSettings::Table).to_owned())
            .await
    }
}
