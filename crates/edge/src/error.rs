//! Every failure the edge answers, as a SCIM error (RFC 7644 §3.12) in `application/scim+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dirsync_domain::error::{ERROR_DOMAIN, ErrorKind};
use dirsync_scim::{ScimError, ScimType};
use tonic::Code;
use tonic_types::StatusExt;

/// A SCIM error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub ScimError);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self(ScimError::new(status, scim_type, detail))
    }

    pub fn bad_request(t: ScimType, detail: impl Into<String>) -> Self {
        Self(ScimError::bad_request(t, detail))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    pub fn internal() -> Self {
        Self::new(500, None, "internal error; the request was not applied")
    }

    pub fn status(&self) -> u16 {
        self.0.status
    }
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        Self(e)
    }
}

impl From<dirsync_scim::filter::FilterError> for ApiError {
    fn from(e: dirsync_scim::filter::FilterError) -> Self {
        Self(e.into())
    }
}

/// The reason the core put in `google.rpc.ErrorInfo`, if any.
pub fn reason(status: &tonic::Status) -> Option<String> {
    status.get_error_details().error_info().map(|i| i.reason.clone())
}

/// The kind of a core refusal, read from its `ErrorInfo` reason; `None` when the status has
/// none, comes from another domain, or names a reason this build does not know.
pub fn kind(status: &tonic::Status) -> Option<ErrorKind> {
    let details = status.get_error_details();
    let info = details.error_info()?;
    (info.domain == ERROR_DOMAIN)
        .then(|| ErrorKind::from_reason(&info.reason))
        .flatten()
}

/// Core outcomes as SCIM statuses and `scimType`s: a known reason by the domain's one error
/// table, anything else by its gRPC code.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let detail = status.message().to_owned();
        if let Some(kind) = kind(&status) {
            let code = kind.code();
            return Self::new(code.http_status, code.scim_type, detail);
        }
        match status.code() {
            Code::NotFound => Self::not_found(detail),
            Code::AlreadyExists => Self::new(409, Some(ScimType::Uniqueness), detail),
            Code::Aborted => Self::precondition_failed(detail),
            Code::InvalidArgument => Self::bad_request(ScimType::InvalidValue, detail),
            // A rule refused the change in the resource's current state; nothing changed.
            Code::FailedPrecondition => Self::new(409, None, detail),
            Code::Unauthenticated => Self::unauthorized(detail),
            Code::PermissionDenied => Self::new(403, None, detail),
            Code::ResourceExhausted => Self::new(429, None, detail),
            Code::Unavailable | Code::DeadlineExceeded => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "core unavailable");
                Self::new(503, None, "the directory is temporarily unavailable; retry later")
            }
            _ => {
                tracing::error!(code = ?status.code(), message = %status.message(), "core error");
                Self::internal()
            }
        }
    }
}

/// How long a client is told to wait when the directory is unavailable (a store outage or a
/// core that is restarting): long enough not to hammer a recovering store, short enough that
/// an IdP's retry lands soon after it is back.
pub const UNAVAILABLE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// Sets `Retry-After` (whole seconds, at least 1).
pub fn set_retry_after(resp: &mut Response, wait: std::time::Duration) {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// The `detail` of an error response, kept on the response for the sync log.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, self.0.to_json().to_string()).into_response();
        resp.extensions_mut().insert(ErrorDetail(self.0.detail.clone()));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(dirsync_scim::MEDIA_TYPE));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            set_retry_after(&mut resp, UNAVAILABLE_RETRY_AFTER);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dirsync\", Basic realm=\"dirsync\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::ErrorDetails;

    use super::*;

    fn refused(code: Code, reason: &str, domain: &str) -> tonic::Status {
        let details = ErrorDetails::with_error_info(reason, domain, HashMap::new());
        tonic::Status::with_error_details(code, "the core's detail", details)
    }

    /// Known reasons answer by the table, whatever the code; unknown or foreign ones by code,
    /// keeping the core's detail; only codes that say "broken" become 500.
    #[test]
    fn statuses_map_by_reason_then_code() {
        let cases: &[(Code, &str, &str, u16, Option<ScimType>)] = &[
            (
                Code::InvalidArgument,
                "INVALID_FILTER",
                ERROR_DOMAIN,
                400,
                Some(ScimType::InvalidFilter),
            ),
            (
                Code::InvalidArgument,
                "MUTABILITY",
                ERROR_DOMAIN,
                400,
                Some(ScimType::Mutability),
            ),
            (
                Code::InvalidArgument,
                "INVALID_VALUE",
                ERROR_DOMAIN,
                400,
                Some(ScimType::InvalidValue),
            ),
            (Code::FailedPrecondition, "LAST_ADMIN", ERROR_DOMAIN, 409, None),
            (Code::FailedPrecondition, "LICENSE_IN_USE", ERROR_DOMAIN, 409, None),
            (
                Code::AlreadyExists,
                "UNIQUENESS",
                ERROR_DOMAIN,
                409,
                Some(ScimType::Uniqueness),
            ),
            (Code::Aborted, "VERSION_MISMATCH", ERROR_DOMAIN, 412, None),
            (Code::NotFound, "NOT_FOUND", ERROR_DOMAIN, 404, None),
            // A reason added to the core after this edge was built.
            (Code::FailedPrecondition, "SOMETHING_NEW", ERROR_DOMAIN, 409, None),
            (
                Code::InvalidArgument,
                "SOMETHING_NEW",
                ERROR_DOMAIN,
                400,
                Some(ScimType::InvalidValue),
            ),
            // Another domain's reason is not ours to read.
            (
                Code::InvalidArgument,
                "INVALID_FILTER",
                "other.v1",
                400,
                Some(ScimType::InvalidValue),
            ),
        ];
        for (code, reason, domain, status, scim_type) in cases {
            let e = ApiError::from(refused(*code, reason, domain));
            assert_eq!(
                (e.0.status, e.0.scim_type),
                (*status, *scim_type),
                "{code:?} {reason} {domain}"
            );
            assert_eq!(e.0.detail, "the core's detail");
        }
    }

    #[test]
    fn statuses_without_a_reason_map_by_code() {
        let cases = [
            (Code::FailedPrecondition, 409),
            (Code::InvalidArgument, 400),
            (Code::NotFound, 404),
            (Code::Unavailable, 503),
            (Code::PermissionDenied, 403),
            (Code::Internal, 500),
            (Code::Unknown, 500),
        ];
        for (code, status) in cases {
            assert_eq!(
                ApiError::from(tonic::Status::new(code, "x")).0.status,
                status,
                "{code:?}"
            );
        }
    }
}
