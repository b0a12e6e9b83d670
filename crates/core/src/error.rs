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

impl From<CoreError> for Status {
    fn from(err: CoreError) -> Self {
        let (reason, code) = err.reason_and_code();
        if let CoreError::Db(db) = &err {
            // Internal details are logged, never sent to the caller.
            tracing::error!(error = %db, "database error");
            return Status::internal("internal error");
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
