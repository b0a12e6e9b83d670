//! The core's one error type and its mapping to gRPC status codes.

use dirsync_proto::v1::ErrorReason;
use sea_orm::DbErr;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Domain of the `google.rpc.ErrorInfo` attached to every error status.
pub const ERROR_DOMAIN: &str = "dirsync.v1";

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    VersionMismatch(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The user exists but is deactivated (login resolution refuses it).
    #[error("{0}")]
    UserInactive(String),
    /// A lookup key that should name one user names several.
    #[error("{0}")]
    Ambiguous(String),
    /// A page token this query did not return (garbage, or from another query).
    #[error("{0}")]
    InvalidPageToken(String),
    /// The change would leave a tenant that has an active admin without one.
    #[error("{0}")]
    LastAdmin(String),
    /// A role that users still hold cannot be deleted.
    #[error("{0}")]
    RoleInUse(String),
    /// A license tier's seats are held or awaited: it cannot shrink below them or be deleted.
    #[error("{0}")]
    LicenseInUse(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    fn reason_and_code(&self) -> (ErrorReason, Code) {
        match self {
            CoreError::NotFound(_) => (ErrorReason::NotFound, Code::NotFound),
            CoreError::Uniqueness(_) => (ErrorReason::Uniqueness, Code::AlreadyExists),
            CoreError::VersionMismatch(_) => (ErrorReason::VersionMismatch, Code::Aborted),
            CoreError::InvalidValue(_) => (ErrorReason::InvalidValue, Code::InvalidArgument),
            CoreError::InvalidFilter(_) => (ErrorReason::InvalidFilter, Code::InvalidArgument),
            CoreError::Mutability(_) => (ErrorReason::Mutability, Code::InvalidArgument),
            CoreError::Unauthenticated(_) => (ErrorReason::Unauthenticated, Code::Unauthenticated),
            CoreError::UserInactive(_) => (ErrorReason::UserInactive, Code::FailedPrecondition),
            CoreError::Ambiguous(_) => (ErrorReason::Ambiguous, Code::FailedPrecondition),
            CoreError::InvalidPageToken(_) => (ErrorReason::InvalidPageToken, Code::InvalidArgument),
            CoreError::LastAdmin(_) => (ErrorReason::LastAdmin, Code::FailedPrecondition),
            CoreError::RoleInUse(_) => (ErrorReason::RoleInUse, Code::FailedPrecondition),
            CoreError::LicenseInUse(_) => (ErrorReason::LicenseInUse, Code::FailedPrecondition),
            CoreError::Db(_) => (ErrorReason::Unspecified, Code::Internal),
        }
    }
}

/// What a database error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The store cannot be reached or is restarting: retry later (`UNAVAILABLE`).
    Unavailable,
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

impl CoreError {
    /// A failure that is worth retrying the whole transaction for.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CoreError::Db(db) if DbFailure::of(db) == DbFailure::Conflict)
    }
}

impl From<CoreError> for Status {
    fn from(err: CoreError) -> Self {
        let (reason, code) = err.reason_and_code();
        if let CoreError::Db(db) = &err {
            // Internal details are logged, never sent to the caller.
            return match DbFailure::of(db) {
                DbFailure::Unavailable => {
                    tracing::warn!(error = %db, "store unavailable");
                    Status::unavailable("the store is temporarily unavailable; retry later")
                }
                DbFailure::Conflict => {
                    tracing::debug!(error = %db, "transaction lost to a concurrent one");
                    let mut status = Status::unavailable("the change conflicted with concurrent changes; retry");
                    // Run again by `service::conflicts` (the rolled-back call changed nothing).
                    status.metadata_mut().insert(
                        crate::service::conflicts::CONFLICT_METADATA,
                        tonic::metadata::MetadataValue::from_static("1"),
                    );
                    status
                }
                DbFailure::Other => {
                    tracing::error!(error = %db, "database error");
                    Status::internal("internal error")
                }
            };
        }
        let details =
            ErrorDetails::with_error_info(reason.as_str_name(), ERROR_DOMAIN, std::collections::HashMap::new());
        Status::with_error_details(code, err.to_string(), details)
    }
}

/// Parses an id sent by a caller; a malformed id names nothing, so it is "not found".
pub fn parse_id(kind: &str, id: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| CoreError::NotFound(format!("{kind} {id} not found")))
}
