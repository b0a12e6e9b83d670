//! Roles: a tenant's roles, the IdP groups mapped to them, each user's one assigned role, and
//! where a tenant takes roles from (`tenants.role_source`: 'groups' or 'attribute').
//!
//! A user's role lives in `user_roles`, not in a column of `users`: it is derived by the core,
//! not sent by the IdP, so reassigning it must not bump the user's version (the IdP's ETag) and
//! a tenant-wide recompute writes one narrow table; the foreign keys make a deleted user drop
//! its assignment and keep an assigned role from being deleted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    RoleSource,
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
enum Roles {
    Table,
    Id,
    TenantId,
    Name,
    Rank,
    IsAdmin,
    IsGuest,
    IsDefault,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoleMappings {
    Table,
    TenantId,
    GroupId,
    RoleId,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserRoles {
    Table,
    TenantId,
    UserId,
    RoleId,
    AssignedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(string(Tenants::RoleSource).default("groups"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .if_not_exists()
                    .col(pk_uuid(Roles::Id))
                    .col(uuid(Roles::TenantId))
                    // Case-sensitive on both backends (SQLite's BINARY collation, PostgreSQL text).
                    .col(text(Roles::Name))
                    .col(integer(Roles::Rank))
                    .col(boolean(Roles::IsAdmin))
                    .col(boolean(Roles::IsGuest))
                    .col(boolean(Roles::IsDefault))
                    .col(big_integer(Roles::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Roles::Table, Roles::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_roles_tenant_name")
                    .table(Roles::Table)
                    .col(Roles::TenantId)
                    .col(Roles::Name)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // One role per group: a group deleted by the IdP takes its mapping with it.
        manager
            .create_table(
                Table::create()
                    .table(RoleMappings::Table)
                    .if_not_exists()
                    .col(uuid(RoleMappings::TenantId))
                    .col(uuid(RoleMappings::GroupId))
                    .col(uuid(RoleMappings::RoleId))
                    .primary_key(Index::create().col(RoleMappings::TenantId).col(RoleMappings::GroupId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleMappings::Table, RoleMappings::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleMappings::Table, RoleMappings::RoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .if_not_exists()
                    .col(uuid(UserRoles::TenantId))
                    .col(pk_uuid(UserRoles::UserId))
                    .col(uuid(UserRoles::RoleId))
                    .col(big_integer(UserRoles::AssignedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Restrict: an assigned role cannot be deleted (DeleteRole checks first).
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::RoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_roles_tenant_role")
                    .table(UserRoles::Table)
                    .col(UserRoles::TenantId)
                    .col(UserRoles::RoleId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserRoles::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RoleMappings::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Roles::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::RoleSource)
                    .to_owned(),
            )
            .await
    }
}
