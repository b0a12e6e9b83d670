//! The "connection silent" signal (issue 16): each connection's silence threshold (0: off) and,
//! while it is silent, the time of the last request it sent; and the sync log's structured
//! account of what a request did, so the portal can say it in the admin's language.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Connections {
    Table,
    SilenceAfterSeconds,
    SilentSince,
}

#[derive(DeriveIden, Clone, Copy)]
enum SyncLog {
    Table,
    Facts,
}

/// A day: an IdP syncs at least every 40 minutes (Entra) to a few hours.
const DEFAULT_SILENCE_SECONDS: i64 = 24 * 3600;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .add_column(big_integer(Connections::SilenceAfterSeconds).default(DEFAULT_SILENCE_SECONDS))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .add_column(big_integer_null(Connections::SilentSince))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SyncLog::Table)
                    .add_column(text_null(SyncLog::Facts))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncLog::Table)
                    .drop_column(SyncLog::Facts)
                    .to_owned(),
            )
            .await?;
        for column in [Connections::SilentSince, Connections::SilenceAfterSeconds] {
            manager
                .alter_table(Table::alter().table(Connections::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
