//! The store's error: a refusal by a domain rule, or a failure of the database, which
//! [`DbFailure`] classifies by the driver's error (never by its message).

pub use dirsync_domain::{Error, ErrorKind};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

dirsync_domain::refusals!(StoreError);

impl StoreError {
    /// The kind of a domain refusal; `None` for a database failure.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            StoreError::Domain(e) => Some(e.kind()),
            StoreError::Db(_) => None,
        }
    }
}

/// What a database error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The store cannot be reached or is restarting: retry later (`UNAVAILABLE`).
    Unavailable,
    /// A statement ran longer than the store's statement timeout and was cancelled
    /// (`UNAVAILABLE`: a moment of load may pass; a query that is slow by itself stays slow).
    TimedOut,
    /// A concurrent transaction won (serialization failure, deadlock, a busy SQLite file):
    /// the transaction changed nothing and may be retried as it is.
    Conflict,
    /// Anything else: a bug or a broken invariant (`INTERNAL`).
    Other,
}

impl DbFailure {
    /// Classifies `err` by the driver's error, never by its message.
    pub fn of(err: &DbErr) -> DbFailure {
        use sea_orm::RuntimeErr;
        let sqlx = match err {
            DbErr::ConnectionAcquire(_) => return DbFailure::Unavailable,
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
            DbErr::Conn(_) => return DbFailure::Unavailable,
            _ => return DbFailure::Other,
        };
        use sea_orm::sqlx::Error as E;
        match &**sqlx {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Protocol(_) => {
                DbFailure::Unavailable
            }
            E::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match code.as_str() {
                    // PostgreSQL: serialization_failure, deadlock_detected.
                    "40001" | "40P01" => DbFailure::Conflict,
                    // PostgreSQL: query_canceled (statement_timeout).
                    "57014" => DbFailure::TimedOut,
                    // PostgreSQL: connection exceptions (08…), shutting down or starting
                    // (57P01-57P03), too many connections, out of disk or memory (53…).
                    c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => DbFailure::Unavailable,
                    // SQLite result codes (the primary code is the low byte of the extended).
                    c => match c.parse::<u32>().map(|n| n & 0xff) {
                        // BUSY, LOCKED: another connection holds the write lock.
                        Ok(5 | 6) => DbFailure::Conflict,
                        // IOERR, CANTOPEN, FULL, READONLY (the file or its disk went away).
                        Ok(8 | 10 | 13 | 14) => DbFailure::Unavailable,
                        _ => DbFailure::Other,
                    },
                }
            }
            _ => DbFailure::Other,
        }
    }
}

impl StoreError {
    /// A failure that is worth retrying the whole transaction for.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Db(db) if DbFailure::of(db) == DbFailure::Conflict)
    }
}
