//! Tenants, SCIM connections, their tokens, users, groups and memberships.
//!
//! Timestamps are epoch milliseconds (BIGINT): they compare and sort the same way on SQLite
//! and PostgreSQL, which matters for `meta.lastModified` filters pushed down to SQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Connections {
    Table,
    Id,
    TenantId,
    Name,
    IdpProfile,
    CreatedAt,
    EndedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tokens {
    Table,
    Id,
    TenantId,
    ConnectionId,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    TenantId,
    ConnectionId,
    Source,
    UserName,
    UserNameKey,
    ExternalId,
    Active,
    DisplayName,
    GivenName,
    FamilyName,
    Email,
    EmailKey,
    Document,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
    TenantId,
    ConnectionId,
    DisplayName,
    ExternalId,
    Document,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupMembers {
    Table,
    TenantId,
    GroupId,
    MemberId,
    MemberType,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .if_not_exists()
                    .col(pk_uuid(Tenants::Id))
                    .col(string(Tenants::Name))
                    .col(big_integer(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Connections::Table)
                    .if_not_exists()
                    .col(pk_uuid(Connections::Id))
                    .col(uuid(Connections::TenantId))
                    .col(string(Connections::Name))
                    .col(string(Connections::IdpProfile))
                    .col(big_integer(Connections::CreatedAt))
                    .col(big_integer_null(Connections::EndedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Connections::Table, Connections::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_connections_tenant",
            Connections::Table,
            &[Connections::TenantId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .if_not_exists()
                    .col(pk_uuid(Tokens::Id))
                    .col(uuid(Tokens::TenantId))
                    .col(uuid(Tokens::ConnectionId))
                    // SHA-256 of the secret, hex: the secret itself is never stored.
                    .col(string_uniq(Tokens::SecretHash))
                    .col(big_integer(Tokens::CreatedAt))
                    .col(big_integer_null(Tokens::ExpiresAt))
                    .col(big_integer_null(Tokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tokens::Table, Tokens::ConnectionId)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_tokens_connection",
            Tokens::Table,
            &[Tokens::ConnectionId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(pk_uuid(Users::Id))
                    .col(uuid(Users::TenantId))
                    .col(uuid_null(Users::ConnectionId))
                    .col(string(Users::Source))
                    .col(text(Users::UserName))
                    // Lower-cased userName: SCIM userName is caseExact=false (RFC 7643 §4.1.1),
                    // so uniqueness and equality go through this column on both backends.
                    .col(text(Users::UserNameKey))
                    .col(text_null(Users::ExternalId))
                    .col(boolean(Users::Active))
                    .col(text_null(Users::DisplayName))
                    .col(text_null(Users::GivenName))
                    .col(text_null(Users::FamilyName))
                    .col(text_null(Users::Email))
                    .col(text_null(Users::EmailKey))
                    .col(json_binary(Users::Document))
                    .col(big_integer(Users::Version))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_users_tenant_user_name",
            Users::Table,
            &[Users::TenantId, Users::UserNameKey],
            true,
        )
        .await?;
        index(
            manager,
            "idx_users_tenant_external_id",
            Users::Table,
            &[Users::TenantId, Users::ExternalId],
            false,
        )
        .await?;
        index(
            manager,
            "idx_users_tenant_email",
            Users::Table,
            &[Users::TenantId, Users::EmailKey],
            false,
        )
        .await?;
        index(
            manager,
            "idx_users_tenant_created",
            Users::Table,
            &[Users::TenantId, Users::CreatedAt, Users::Id],
            false,
        )
        .await?;
        index(
            manager,
            "idx_users_tenant_updated",
            Users::Table,
            &[Users::TenantId, Users::UpdatedAt],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .if_not_exists()
                    .col(pk_uuid(Groups::Id))
                    .col(uuid(Groups::TenantId))
                    .col(uuid_null(Groups::ConnectionId))
                    .col(text(Groups::DisplayName))
                    .col(text_null(Groups::ExternalId))
                    .col(json_binary(Groups::Document))
                    .col(big_integer(Groups::Version))
                    .col(big_integer(Groups::CreatedAt))
                    .col(big_integer(Groups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Groups::Table, Groups::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_groups_tenant_display_name",
            Groups::Table,
            &[Groups::TenantId, Groups::DisplayName],
            false,
        )
        .await?;
        index(
            manager,
            "idx_groups_tenant_external_id",
            Groups::Table,
            &[Groups::TenantId, Groups::ExternalId],
            false,
        )
        .await?;

        // Membership is a table of its own so that adding 10,000 members is one set-based
        // statement, never a read-modify-write of a list.
        manager
            .create_table(
                Table::create()
                    .table(GroupMembers::Table)
                    .if_not_exists()
                    .col(uuid(GroupMembers::TenantId))
                    .col(uuid(GroupMembers::GroupId))
                    .col(uuid(GroupMembers::MemberId))
                    .col(string(GroupMembers::MemberType))
                    .primary_key(Index::create().col(GroupMembers::GroupId).col(GroupMembers::MemberId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_group_members_member",
            GroupMembers::Table,
            &[GroupMembers::MemberId],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GroupMembers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Groups::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        manager
            .drop_table(Table::drop().table(Tokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Connections::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await?;
        Ok(())
    }
}

async fn index<T, C>(manager: &SchemaManager<'_>, name: &str, table: T, cols: &[C], unique: bool) -> Result<(), DbErr>
where
    T: IntoIden + Copy + 'static,
    C: IntoIden + Copy + 'static,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table).if_not_exists();
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}
