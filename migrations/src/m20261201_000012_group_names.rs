//! A group's `displayName` is unique per tenant, case-insensitively (Entra's SCIM guidance;
//! role and license mappings by group name stay unambiguous), and sync-log lines carry
//! warnings for the IdP's admin.
//!
//! `groups.display_name_key` holds the lower-cased name (Unicode-aware, computed in Rust:
//! SQLite's `lower()` folds ASCII only), unique per tenant. A store that already holds groups
//! with the same name still migrates and starts: in each set of such groups the oldest keeps
//! the name, and the others are marked `name_shared`. They keep their names, ids and members
//! (nothing an IdP or a mapping refers to changes under it) and are left out of the unique
//! index; the store still refuses any new group or rename to a name one of them holds, and a
//! marked group loses the mark once renamed to a free name.

use std::collections::HashSet;

// The same key as the core's `store::ci_key`: the one function both use.
use dirsync_scim::resource::ci_key as key;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::prelude::Uuid;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
    TenantId,
    DisplayName,
    DisplayNameKey,
    NameShared,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SyncLog {
    Table,
    Warning,
}

const INDEX: &str = "idx_groups_tenant_display_name_key";
const LOOKUP: &str = "idx_groups_tenant_display_name_key_all";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            text(Groups::DisplayNameKey).default("").to_owned(),
            boolean(Groups::NameShared).default(false).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Groups::Table).add_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(SyncLog::Table)
                    .add_column(text_null(SyncLog::Warning))
                    .to_owned(),
            )
            .await?;

        // Keys for the groups there are; oldest first, so the oldest of a name keeps it.
        let db = manager.get_connection();
        let rows = db
            .query_all(
                &Query::select()
                    .columns([Groups::Id, Groups::TenantId, Groups::DisplayName])
                    .from(Groups::Table)
                    .order_by(Groups::TenantId, Order::Asc)
                    .order_by(Groups::CreatedAt, Order::Asc)
                    .order_by(Groups::Id, Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut taken: HashSet<(Uuid, String)> = HashSet::new();
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let tenant_id: Uuid = row.try_get("", "tenant_id")?;
            let name: String = row.try_get("", "display_name")?;
            let k = key(&name);
            let shared = !taken.insert((tenant_id, k.clone()));
            db.execute(
                &Query::update()
                    .table(Groups::Table)
                    .value(Groups::DisplayNameKey, k)
                    .value(Groups::NameShared, shared)
                    .and_where(Expr::col(Groups::Id).eq(id))
                    .to_owned(),
            )
            .await?;
        }

        // Lookups by name (uniqueness checks, `displayName` filters) see every group.
        manager
            .create_index(
                Index::create()
                    .name(LOOKUP)
                    .table(Groups::Table)
                    .col(Groups::TenantId)
                    .col(Groups::DisplayNameKey)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Partial unique index (SQLite and PostgreSQL both have them): the marked groups stay.
        let backend = db.get_database_backend();
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {INDEX} ON groups (tenant_id, display_name_key) WHERE NOT name_shared"
            ),
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [INDEX, LOOKUP] {
            manager
                .drop_index(Index::drop().name(index).table(Groups::Table).to_owned())
                .await?;
        }
        for column in [Groups::DisplayNameKey, Groups::NameShared] {
            manager
                .alter_table(Table::alter().table(Groups::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(SyncLog::Table)
                    .drop_column(SyncLog::Warning)
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn keys_fold_unicode_case() {
        for (a, b) in [("Sales", "SALES"), ("Ärzte", "ÄRZTE"), ("Straße", "STRAßE"), ("Δ", "δ")] {
            assert_eq!(key(a), key(b), "{a} {b}");
        }
        assert_ne!(key("Sales"), key("Sales "));
    }
}
