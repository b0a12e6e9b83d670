//! The opt-in mass-deprovisioning hold of a connection: its thresholds and window on the
//! connection, and `deprovisions`, the deactivations and deletions of its users within the
//! window: applied ones (`held` false, counted for the thresholds) and held ones (waiting for
//! an admin's decision, with the user's state the IdP asked for). Rows go with their tenant.

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
    HoldMaxUsers,
    HoldMaxPercent,
    HoldWindowSeconds,
}

#[derive(DeriveIden, Clone, Copy)]
enum Deprovisions {
    Table,
    Id,
    TenantId,
    ConnectionId,
    UserId,
    Effect,
    Held,
    Spec,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite adds one at a time.
        for col in [
            integer(Connections::HoldMaxUsers).default(0).to_owned(),
            integer(Connections::HoldMaxPercent).default(0).to_owned(),
            big_integer(Connections::HoldWindowSeconds).default(3600).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Connections::Table).add_column(col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Deprovisions::Table)
                    .if_not_exists()
                    .col(pk_uuid(Deprovisions::Id))
                    .col(uuid(Deprovisions::TenantId))
                    .col(uuid(Deprovisions::ConnectionId))
                    // No foreign key: an applied deletion outlives its user in the window.
                    .col(uuid(Deprovisions::UserId))
                    .col(string(Deprovisions::Effect))
                    .col(boolean(Deprovisions::Held))
                    .col(json_binary_null(Deprovisions::Spec))
                    .col(big_integer(Deprovisions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deprovisions::Table, Deprovisions::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deprovisions_connection")
                    .table(Deprovisions::Table)
                    .col(Deprovisions::TenantId)
                    .col(Deprovisions::ConnectionId)
                    .col(Deprovisions::Held)
                    .col(Deprovisions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deprovisions_user")
                    .table(Deprovisions::Table)
                    .col(Deprovisions::TenantId)
                    .col(Deprovisions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deprovisions::Table).to_owned())
            .await?;
        for col in [
            Connections::HoldMaxUsers,
            Connections::HoldMaxPercent,
            Connections::HoldWindowSeconds,
        ] {
            manager
                .alter_table(Table::alter().table(Connections::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
