//! Every failure the edge answers, as a SCIM error (RFC 7644 §3.12) in `application/scim+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dirsync_scim::{ScimError, ScimType};
use tonic::Code;
use tonic_types::StatusExt;

use crate::media::SCIM_JSON;

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

/// One mapping from core outcomes to SCIM statuses and `scimType`s.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let detail = status.message().to_owned();
        match status.code() {
            Code::NotFound => Self::not_found(detail),
            Code::AlreadyExists => Self::new(409, Some(ScimType::Uniqueness), detail),
            Code::Aborted => Self::precondition_failed(detail),
            Code::InvalidArgument => {
                let t = match reason(&status).as_deref() {
                    Some("INVALID_FILTER") => ScimType::InvalidFilter,
                    Some("MUTABILITY") => ScimType::Mutability,
                    _ => ScimType::InvalidValue,
                };
                Self::bad_request(t, detail)
            }
            // The core refused to remove a tenant's last active admin; nothing changed.
            Code::FailedPrecondition if reason(&status).as_deref() == Some("LAST_ADMIN") => {
                Self::new(409, None, detail)
            }
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
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
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
