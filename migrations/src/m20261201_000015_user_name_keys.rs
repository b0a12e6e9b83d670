//! Folded keys beside the user columns that SCIM filters compare case-insensitively
//! (`displayName`, `name.givenName`, `name.familyName`), so a filter matches the same rows on
//! SQLite and PostgreSQL: SQLite's `lower()` folds ASCII only, and PostgreSQL's differs from
//! Rust's for final sigma and dotted İ. The key is the core's `store::ci_key` (Rust's
//! `str::to_lowercase`), computed here for the rows there are, in batches by id.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::sea_orm::prelude::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    TenantId,
    DisplayName,
    GivenName,
    FamilyName,
    DisplayNameKey,
    GivenNameKey,
    FamilyNameKey,
}

const DISPLAY_INDEX: &str = "idx_users_tenant_display_name_key";
const FAMILY_INDEX: &str = "idx_users_tenant_family_name_key";

/// Rows read and written per backfill batch.
const BATCH: u64 = 500;

/// The key every write path stores (`dirsync_scim::resource::ci_key`).
use dirsync_scim::resource::ci_key as key;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::DisplayNameKey, Users::GivenNameKey, Users::FamilyNameKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }

        let db = manager.get_connection();
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = Query::select()
                .columns([Users::Id, Users::DisplayName, Users::GivenName, Users::FamilyName])
                .from(Users::Table)
                .order_by(Users::Id, Order::Asc)
                .limit(BATCH)
                .to_owned();
            if let Some(last) = after {
                select.and_where(Expr::col(Users::Id).gt(last));
            }
            let rows = db.query_all(&select).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get("", "id")?);
            for row in &rows {
                let id: Uuid = row.try_get("", "id")?;
                let folded = |name: &str| -> Result<Option<String>, DbErr> {
                    Ok(row.try_get::<Option<String>>("", name)?.as_deref().map(key))
                };
                db.execute(
                    &Query::update()
                        .table(Users::Table)
                        .value(Users::DisplayNameKey, folded("display_name")?)
                        .value(Users::GivenNameKey, folded("given_name")?)
                        .value(Users::FamilyNameKey, folded("family_name")?)
                        .and_where(Expr::col(Users::Id).eq(id))
                        .to_owned(),
                )
                .await?;
            }
        }

        // Equality lookups by display and family name (`displayName eq`, IdP matching rules).
        for (name, column) in [
            (DISPLAY_INDEX, Users::DisplayNameKey),
            (FAMILY_INDEX, Users::FamilyNameKey),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Users::Table)
                        .col(Users::TenantId)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [DISPLAY_INDEX, FAMILY_INDEX] {
            manager
                .drop_index(Index::drop().name(index).table(Users::Table).to_owned())
                .await?;
        }
        for column in [Users::DisplayNameKey, Users::GivenNameKey, Users::FamilyNameKey] {
            manager
                .alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
