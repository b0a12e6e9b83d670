//! The one error type of the directory and the one table that says what each kind of error
//! is on every wire: the `google.rpc.ErrorInfo` reason and gRPC code the core answers, and the
//! HTTP status and `scimType` the SCIM edge answers. The core maps this table to `tonic`, the
//! edge reads the reason back into an [`ErrorKind`]: no side matches strings of its own.

use dirsync_scim::ScimType;

/// Domain of the `google.rpc.ErrorInfo` attached to every error status.
pub const ERROR_DOMAIN: &str = "dirsync.v1";

/// What went wrong, as callers can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    /// A unique attribute (userName, a group's displayName) is taken.
    Uniqueness,
    /// `expected_version` is not the stored version.
    VersionMismatch,
    /// A value breaks a rule (unknown member, bad id, a value too long).
    InvalidValue,
    /// The filter cannot be evaluated.
    InvalidFilter,
    /// An immutable value would change.
    Mutability,
    Unauthenticated,
    /// The user exists but is deactivated (login resolution refuses it).
    UserInactive,
    /// A lookup key that should name one user names several.
    Ambiguous,
    /// A page token this query did not return (garbage, or from another query).
    InvalidPageToken,
    /// The change would leave a tenant that has an active admin without one.
    LastAdmin,
    /// A role that users still hold cannot be deleted.
    RoleInUse,
    /// A license tier's seats are held or awaited: it cannot shrink below them or be deleted.
    LicenseInUse,
}

/// A gRPC status code (the numbers of `google.rpc.Code`), without a transport dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum GrpcCode {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    FailedPrecondition = 9,
    Aborted = 10,
    Unauthenticated = 16,
}

/// One row of the table: an error kind on every wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The `ErrorInfo` reason: the name of the proto `ErrorReason` value.
    pub reason: &'static str,
    pub grpc: GrpcCode,
    /// The SCIM response status (RFC 7644 §3.12).
    pub http_status: u16,
    pub scim_type: Option<ScimType>,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::NotFound,
        ErrorKind::Uniqueness,
        ErrorKind::VersionMismatch,
        ErrorKind::InvalidValue,
        ErrorKind::InvalidFilter,
        ErrorKind::Mutability,
        ErrorKind::Unauthenticated,
        ErrorKind::UserInactive,
        ErrorKind::Ambiguous,
        ErrorKind::InvalidPageToken,
        ErrorKind::LastAdmin,
        ErrorKind::RoleInUse,
        ErrorKind::LicenseInUse,
    ];

    /// The table. A refused precondition is a conflict with the resource's state (409);
    /// a stale version is 412, which the edge answers to `If-Match` and otherwise retries.
    pub const fn code(self) -> ErrorCode {
        use ErrorKind as K;
        use GrpcCode as G;
        let (reason, grpc, http_status, scim_type) = match self {
            K::NotFound => ("NOT_FOUND", G::NotFound, 404, None),
            K::Uniqueness => ("UNIQUENESS", G::AlreadyExists, 409, Some(ScimType::Uniqueness)),
            K::VersionMismatch => ("VERSION_MISMATCH", G::Aborted, 412, None),
            K::InvalidValue => ("INVALID_VALUE", G::InvalidArgument, 400, Some(ScimType::InvalidValue)),
            K::InvalidFilter => ("INVALID_FILTER", G::InvalidArgument, 400, Some(ScimType::InvalidFilter)),
            K::Mutability => ("MUTABILITY", G::InvalidArgument, 400, Some(ScimType::Mutability)),
            K::Unauthenticated => ("UNAUTHENTICATED", G::Unauthenticated, 401, None),
            K::UserInactive => ("USER_INACTIVE", G::FailedPrecondition, 409, None),
            K::Ambiguous => ("AMBIGUOUS", G::FailedPrecondition, 409, None),
            K::InvalidPageToken => (
                "INVALID_PAGE_TOKEN",
                G::InvalidArgument,
                400,
                Some(ScimType::InvalidValue),
            ),
            K::LastAdmin => ("LAST_ADMIN", G::FailedPrecondition, 409, None),
            K::RoleInUse => ("ROLE_IN_USE", G::FailedPrecondition, 409, None),
            K::LicenseInUse => ("LICENSE_IN_USE", G::FailedPrecondition, 409, None),
        };
        ErrorCode {
            reason,
            grpc,
            http_status,
            scim_type,
        }
    }

    /// The kind an `ErrorInfo` reason names; `None` for a reason this build does not know.
    pub fn from_reason(reason: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code().reason == reason)
    }
}

/// A refusal by a rule of the directory, with a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Constructors by kind for an error type that wraps [`Error`] (the store's and the core's,
/// which add their failures), so call sites read as the refusal they make.
#[macro_export]
macro_rules! refusals {
    ($ty:ty) => {
        impl $ty {
            pub fn not_found(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::NotFound, message))
            }
            pub fn uniqueness(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::Uniqueness, message))
            }
            pub fn version_mismatch(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::VersionMismatch, message))
            }
            pub fn invalid_value(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::InvalidValue, message))
            }
            pub fn invalid_filter(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::InvalidFilter, message))
            }
            pub fn mutability(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::Mutability, message))
            }
            pub fn unauthenticated(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::Unauthenticated, message))
            }
            pub fn user_inactive(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::UserInactive, message))
            }
            pub fn ambiguous(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::Ambiguous, message))
            }
            pub fn invalid_page_token(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::InvalidPageToken, message))
            }
            pub fn last_admin(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::LastAdmin, message))
            }
            pub fn role_in_use(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::RoleInUse, message))
            }
            pub fn license_in_use(message: String) -> Self {
                Self::from($crate::Error::new($crate::ErrorKind::LicenseInUse, message))
            }
        }
    };
}

/// Parses an id sent by a caller; a malformed id names nothing, so it is "not found".
pub fn parse_id(kind: &str, id: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::new(ErrorKind::NotFound, format!("{kind} {id} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_and_read_back() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_reason(kind.code().reason), Some(kind), "{kind:?}");
        }
        assert_eq!(ErrorKind::from_reason("SOMETHING_NEW"), None);
        assert_eq!(ErrorKind::from_reason(""), None);
    }

    #[test]
    fn statuses_follow_the_grpc_code() {
        // The edge falls back by gRPC code for a reason it does not know; a known reason must
        // never answer differently from that fallback's class.
        for kind in ErrorKind::ALL {
            let code = kind.code();
            let class = match code.grpc {
                GrpcCode::InvalidArgument => 400,
                GrpcCode::NotFound => 404,
                GrpcCode::AlreadyExists | GrpcCode::FailedPrecondition => 409,
                GrpcCode::Aborted => 412,
                GrpcCode::Unauthenticated => 401,
            };
            assert_eq!(code.http_status, class, "{kind:?}");
        }
    }
}
