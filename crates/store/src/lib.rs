//! dirsync's storage: SeaORM entities and queries, one module per aggregate, the neutral
//! filter translated to SQL, keyset paging, the outbox (change rows and sync-log lines written
//! in the mutation's transaction), job leases, and the lock order. Every query is scoped by
//! tenant. It applies the domain's rules (`dirsync_domain`) to what it reads; it knows no gRPC
//! and no SCIM JSON.

pub mod admin;
pub mod adoption;
pub mod changes;
pub mod entity;
pub mod error;
pub mod filter;
pub mod group_mappings;
pub mod groups;
pub mod holds;
pub mod journal;
pub mod keyset;
pub mod leases;
pub mod licenses;
pub mod portal;
pub mod roles;
pub mod schemas;
pub mod sealing;
pub mod settings;
pub mod silence;
pub mod sync_log;
pub mod tokens;

#[cfg(test)]
mod tests;
pub mod users;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Starts a transaction that may write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`): a deferred transaction that read first and then writes fails at once with
/// SQLITE_BUSY when another connection (a second core on the same file) wrote meanwhile,
/// whereas `BEGIN IMMEDIATE` waits for the lock within the busy timeout.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

// Lock order. Every mutation takes its row locks in this order, so that two transactions
// never wait for each other in a cycle (a deadlock, which PostgreSQL breaks by failing one):
//
//   1. the user or group the request names (`users::lock`, `groups::lock`: FOR UPDATE),
//      before anything else of the transaction;
//   2. the users and groups it adds as members (`FOR SHARE`, in `groups::member_types`), so
//      a concurrent delete of one of them waits for the membership to commit and then deletes
//      it too, or deletes first and the member is refused as unknown: memberships never
//      outlive their user or group;
//   3. membership rows;
//   4. the tenant row (`lock_tenant`, and `journal::write` at the end of every mutation);
//   5. rows the tenant lock guards (role assignments, seats, the journal).
//
// SQLite takes its one database write lock at BEGIN (`begin`), so there the order is moot.

/// Takes the tenant row's lock, held to commit (`journal::write` takes it too, at the end):
/// a rule that counts before it writes (the last admin, a tier's free seats) runs after it,
/// so a concurrent change of the same tenant on another replica waits, then counts what this
/// one committed.
pub async fn lock_tenant(txn: &DatabaseTransaction, tenant_id: uuid::Uuid) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, Query};
    use sea_orm::{ColumnTrait, ConnectionTrait};

    use crate::entity::tenants;
    let q = Query::update()
        .table(tenants::Entity)
        .value(tenants::Column::ChangeSeq, Expr::col(tenants::Column::ChangeSeq))
        .and_where(tenants::Column::Id.eq(tenant_id))
        .to_owned();
    txn.execute(&q).await?;
    Ok(())
}

pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Rows where any of `columns`, lowercased, contains `text` (a LIKE whose wildcards in `text`
/// are escaped), for search boxes.
pub(crate) fn contains_ci<C>(columns: &[C], text: &str) -> sea_orm::Condition
where
    C: sea_orm::sea_query::IntoColumnRef + Copy,
{
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    columns.iter().fold(sea_orm::Condition::any(), |cond, col| {
        cond.add(Expr::expr(Func::lower(Expr::col(*col))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
    })
}

/// THE fold of dirsync for case-insensitive values (see its definition).
pub use dirsync_scim::resource::ci_key;

pub use dirsync_domain::Page;
