//! The tonic services: convert, call one store function in one transaction (a write: one
//! call of the mutation pipeline, `mutation`), convert back.

pub mod admin;
pub(crate) mod adoption;
pub mod changes;
pub mod conflicts;
pub mod directory;
pub mod licenses;
pub mod mutation;
pub mod portal;
pub mod schemas;
pub mod settings;

use dirsync_proto::Timestamp;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tonic::Status;
use uuid::Uuid;

use crate::error::{CoreError, Result, parse_id};

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub(crate) fn tenant(id: &str) -> Result<Uuid> {
    parse_id("tenant", id)
}

pub(crate) fn optional_id(kind: &str, id: Option<&str>) -> Result<Option<Uuid>> {
    id.filter(|s| !s.is_empty()).map(|s| parse_id(kind, s)).transpose()
}

/// Runs `f` in one transaction: committed when it succeeds, rolled back otherwise.
pub(crate) async fn in_txn<T, F>(db: &DatabaseConnection, f: F) -> Result<T, Status>
where
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
{
    let txn = dirsync_store::begin(db).await.map_err(CoreError::from)?;
    match f(&txn).await {
        Ok(v) => {
            txn.commit().await.map_err(CoreError::from)?;
            Ok(v)
        }
        Err(e) => {
            // Dropping the transaction rolls back; say so explicitly for clarity.
            txn.rollback().await.map_err(CoreError::from)?;
            Err(e.into())
        }
    }
}
