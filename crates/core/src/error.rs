//! The core's error type and its mapping to gRPC statuses, from the domain's one error table.

pub use dirsync_domain::error::{ERROR_DOMAIN, Error, ErrorKind, GrpcCode};
pub use dirsync_store::error::{DbFailure, StoreError};
use sea_orm::DbErr;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A refusal by a domain rule, or a failure of the store: the store's error as the core's own
/// type, because only a type of this crate may convert into `tonic::Status` (for `?` in the
/// services).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

dirsync_domain::refusals!(CoreError);

/// The store's errors keep their meaning in the core.
impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Domain(e) => CoreError::Domain(e),
            StoreError::Db(e) => CoreError::Db(e),
        }
    }
}

impl CoreError {
    /// The kind of a domain refusal; `None` for a store failure.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            CoreError::Domain(e) => Some(e.kind()),
            CoreError::Db(_) => None,
        }
    }
}

/// The table's gRPC code as tonic's.
fn grpc_code(code: GrpcCode) -> Code {
    Code::from_i32(code as i32)
}

impl CoreError {
    /// A failure that is worth retrying the whole transaction for.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CoreError::Db(db) if DbFailure::of(db) == DbFailure::Conflict)
    }
}

impl From<CoreError> for Status {
    fn from(err: CoreError) -> Self {
        let refusal = match err {
            CoreError::Domain(refusal) => refusal,
            CoreError::Db(db) => {
                // Internal details are logged, never sent to the caller.
                return match DbFailure::of(&db) {
                    DbFailure::Unavailable => {
                        tracing::warn!(error = %db, "store unavailable");
                        Status::unavailable("the store is temporarily unavailable; retry later")
                    }
                    DbFailure::TimedOut => {
                        tracing::warn!(error = %db, "statement cancelled by the statement timeout");
                        Status::unavailable(
                            "the query ran longer than the store's statement timeout \
                             (DIRSYNC_STATEMENT_TIMEOUT_SECS) and was cancelled; narrow the filter or retry later",
                        )
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
        };
        let code = refusal.kind().code();
        let details = ErrorDetails::with_error_info(code.reason, ERROR_DOMAIN, std::collections::HashMap::new());
        Status::with_error_details(grpc_code(code.grpc), refusal.message(), details)
    }
}

/// Parses an id sent by a caller; a malformed id names nothing, so it is "not found".
pub fn parse_id(kind: &str, id: &str) -> Result<uuid::Uuid> {
    Ok(dirsync_domain::error::parse_id(kind, id)?)
}

#[cfg(test)]
mod tests {
    use dirsync_proto::v1::ErrorReason;

    use super::*;

    /// The table's reasons are exactly the proto's `ErrorReason` names (bar UNSPECIFIED).
    #[test]
    fn reasons_are_the_proto_names() {
        for kind in ErrorKind::ALL {
            assert!(ErrorReason::from_str_name(kind.code().reason).is_some(), "{kind:?}");
        }
        for n in 1..100 {
            if let Ok(reason) = ErrorReason::try_from(n) {
                assert!(ErrorKind::from_reason(reason.as_str_name()).is_some(), "{reason:?}");
            }
        }
    }

    #[test]
    fn a_refusal_carries_its_reason_and_code() {
        for kind in ErrorKind::ALL {
            let status = Status::from(CoreError::Domain(Error::new(kind, "why")));
            assert_eq!(status.code(), grpc_code(kind.code().grpc));
            assert_eq!(status.message(), "why");
            let info = status.get_error_details().error_info().cloned();
            assert_eq!(
                info.map(|i| (i.reason, i.domain)),
                Some((kind.code().reason.to_owned(), ERROR_DOMAIN.to_owned()))
            );
        }
    }
}
