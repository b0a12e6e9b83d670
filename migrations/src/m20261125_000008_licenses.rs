//! Licenses: a tenant's license tiers (rank and seat capacity), the IdP groups mapped to them,
//! each user's one license (a held seat, or a place in the tier's queue), the seats bought by
//! auto-purchase, and the per-tenant license settings.
//!
//! Like `user_roles`, a user's license lives in a table of its own: it is derived by the core,
//! so changing it never bumps the user's version (the IdP's ETag).

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
enum Groups {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum LicenseTiers {
    Table,
    Id,
    TenantId,
    Name,
    Rank,
    Seats,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LicenseMappings {
    Table,
    TenantId,
    GroupId,
    TierId,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserLicenses {
    Table,
    TenantId,
    UserId,
    TierId,
    State,
    Since,
}

#[derive(DeriveIden, Clone, Copy)]
enum LicensePurchases {
    Table,
    Id,
    TenantId,
    TierId,
    TierName,
    UserId,
    UserName,
    PurchasedAt,
    CancelledAt,
    BilledAt,
    BillingId,
}

#[derive(DeriveIden, Clone, Copy)]
enum LicenseSettings {
    Table,
    TenantId,
    AutoPurchase,
    BillingWindowSeconds,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LicenseTiers::Table)
                    .if_not_exists()
                    .col(pk_uuid(LicenseTiers::Id))
                    .col(uuid(LicenseTiers::TenantId))
                    .col(text(LicenseTiers::Name))
                    .col(integer(LicenseTiers::Rank))
                    // Capacity: the operator's seat count plus the seats bought since.
                    .col(big_integer(LicenseTiers::Seats))
                    .col(big_integer(LicenseTiers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicenseTiers::Table, LicenseTiers::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_license_tiers_tenant_name")
                    .table(LicenseTiers::Table)
                    .col(LicenseTiers::TenantId)
                    .col(LicenseTiers::Name)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // One tier per group: a group deleted by the IdP takes its mapping with it.
        manager
            .create_table(
                Table::create()
                    .table(LicenseMappings::Table)
                    .if_not_exists()
                    .col(uuid(LicenseMappings::TenantId))
                    .col(uuid(LicenseMappings::GroupId))
                    .col(uuid(LicenseMappings::TierId))
                    .primary_key(
                        Index::create()
                            .col(LicenseMappings::TenantId)
                            .col(LicenseMappings::GroupId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicenseMappings::Table, LicenseMappings::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicenseMappings::Table, LicenseMappings::TierId)
                            .to(LicenseTiers::Table, LicenseTiers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserLicenses::Table)
                    .if_not_exists()
                    .col(uuid(UserLicenses::TenantId))
                    .col(pk_uuid(UserLicenses::UserId))
                    .col(uuid(UserLicenses::TierId))
                    // 'assigned' (holds a seat) or 'pending' (queued for one).
                    .col(string(UserLicenses::State))
                    // When the seat was taken or the wait began: the queue's order.
                    .col(big_integer(UserLicenses::Since))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserLicenses::Table, UserLicenses::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Restrict: a tier anyone holds or waits for cannot be deleted.
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserLicenses::Table, UserLicenses::TierId)
                            .to(LicenseTiers::Table, LicenseTiers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_licenses_queue")
                    .table(UserLicenses::Table)
                    .col(UserLicenses::TenantId)
                    .col(UserLicenses::TierId)
                    .col(UserLicenses::State)
                    .col(UserLicenses::Since)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Purchases keep the tier's and user's names: a bill outlives both.
        manager
            .create_table(
                Table::create()
                    .table(LicensePurchases::Table)
                    .if_not_exists()
                    .col(pk_uuid(LicensePurchases::Id))
                    .col(uuid(LicensePurchases::TenantId))
                    .col(uuid(LicensePurchases::TierId))
                    .col(text(LicensePurchases::TierName))
                    .col(uuid_null(LicensePurchases::UserId))
                    .col(text(LicensePurchases::UserName))
                    .col(big_integer(LicensePurchases::PurchasedAt))
                    .col(big_integer_null(LicensePurchases::CancelledAt))
                    .col(big_integer_null(LicensePurchases::BilledAt))
                    .col(uuid_null(LicensePurchases::BillingId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicensePurchases::Table, LicensePurchases::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_license_purchases_unbilled")
                    .table(LicensePurchases::Table)
                    .col(LicensePurchases::BilledAt)
                    .col(LicensePurchases::TenantId)
                    .col(LicensePurchases::PurchasedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LicenseSettings::Table)
                    .if_not_exists()
                    .col(pk_uuid(LicenseSettings::TenantId))
                    .col(boolean(LicenseSettings::AutoPurchase))
                    .col(big_integer(LicenseSettings::BillingWindowSeconds))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicenseSettings::Table, LicenseSettings::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LicenseSettings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LicensePurchases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(UserLicenses::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LicenseMappings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LicenseTiers::Table).to_owned())
            .await?;
        Ok(())
    }
}
