//! The change feed (a transactional outbox) and the sync log.
//!
//! `tenants.change_seq` numbers each tenant's changes without gaps: every mutation bumps it in
//! its own transaction, which locks the tenant row, so a tenant's changes commit in sequence
//! order on every replica and a reader that resumes after cursor N never skips one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    ChangeSeq,
}

#[derive(DeriveIden, Clone, Copy)]
enum Changes {
    Table,
    TenantId,
    Seq,
    Kind,
    EventUri,
    ResourceType,
    ResourceId,
    ConnectionId,
    Data,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SyncLog {
    Table,
    Id,
    TenantId,
    ConnectionId,
    RequestId,
    At,
    Method,
    Path,
    Status,
    DurationMs,
    Summary,
    Error,
    IdpRequestId,
    TraceId,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(big_integer(Tenants::ChangeSeq).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Changes::Table)
                    .if_not_exists()
                    .col(uuid(Changes::TenantId))
                    .col(big_integer(Changes::Seq))
                    .col(string(Changes::Kind))
                    .col(string(Changes::EventUri))
                    .col(string(Changes::ResourceType))
                    .col(uuid(Changes::ResourceId))
                    .col(uuid_null(Changes::ConnectionId))
                    .col(json_binary(Changes::Data))
                    .col(big_integer(Changes::CreatedAt))
                    .primary_key(Index::create().col(Changes::TenantId).col(Changes::Seq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncLog::Table)
                    .if_not_exists()
                    .col(pk_uuid(SyncLog::Id))
                    .col(uuid(SyncLog::TenantId))
                    .col(uuid(SyncLog::ConnectionId))
                    .col(string(SyncLog::RequestId))
                    .col(big_integer(SyncLog::At))
                    .col(string(SyncLog::Method))
                    .col(text(SyncLog::Path))
                    // 0 until the edge reports the HTTP status of a logged mutation.
                    .col(integer(SyncLog::Status))
                    .col(big_integer(SyncLog::DurationMs))
                    .col(text(SyncLog::Summary))
                    .col(text_null(SyncLog::Error))
                    .col(text_null(SyncLog::IdpRequestId))
                    .col(string_null(SyncLog::TraceId))
                    .col(text_null(SyncLog::Body))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "uq_sync_log_request",
                vec![SyncLog::ConnectionId, SyncLog::RequestId],
                true,
            ),
            ("idx_sync_log_tenant_at", vec![SyncLog::TenantId, SyncLog::At], false),
            (
                "idx_sync_log_connection_at",
                vec![SyncLog::ConnectionId, SyncLog::At],
                false,
            ),
        ] {
            let mut stmt = Index::create();
            stmt.name(name).table(SyncLog::Table).if_not_exists();
            for c in cols {
                stmt.col(c);
            }
            if unique {
                stmt.unique();
            }
            manager.create_index(stmt.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Changes::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::ChangeSeq)
                    .to_owned(),
            )
            .await
    }
}
