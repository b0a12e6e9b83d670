//! Media types (RFC 7644 §3.1, §8.1): accept `application/scim+json` and `application/json`
//! with any parameters; always answer `application/scim+json`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dirsync_scim::ScimType;
use serde_json::Value;

use crate::error::ApiError;

fn is_json_type(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(essence.as_str(), "application/scim+json" | "application/json")
}

/// Rejects an `Accept` header that admits no JSON (406); a missing one or `*/*` is fine.
pub fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if accept.trim().is_empty() {
        return Ok(());
    }
    let ok = accept.split(',').any(|part| {
        let essence = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        is_json_type(&essence) || essence == "*/*" || essence == "application/*"
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            406,
            None,
            format!("cannot answer with {accept}; this service answers application/scim+json"),
        ))
    }
}

/// A JSON request body of a SCIM request, read under the configured size limit.
pub struct ScimJson(pub Value);

/// The largest request body accepted, set by the router as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // A missing Content-Type is read as JSON: some IdP consoles send none.
        if !content_type.is_empty() && !is_json_type(&content_type) {
            return Err(ApiError::new(
                415,
                None,
                format!("unsupported Content-Type {content_type:?}; send application/scim+json or application/json"),
            ));
        }
        let limit = req.extensions().get::<BodyLimit>().map_or(1 << 20, |l| l.0);
        let body = req.into_body();
        let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
            Ok(b) => b,
            Err(e) => return Err(crate::bounds::body_read_error(&e, limit)),
        };
        let _ = state;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(ScimType::InvalidSyntax, format!("request body is not valid JSON: {e}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                ScimType::InvalidSyntax,
                "request body must be a JSON object",
            ));
        }
        crate::bounds::check_text(&value)?;
        Ok(ScimJson(value))
    }
}

/// A SCIM response: status, JSON body and the headers SCIM asks for.
pub struct Scim {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl Scim {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: None,
            location: None,
        }
    }
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let resp = match &self.body {
            Some(body) => (self.status, body.to_string()).into_response(),
            None => self.status.into_response(),
        };
        self.headers(resp)
    }
}

impl Scim {
    /// This response's status and headers with `body`, a JSON document written in pieces as
    /// they come (`self.body` is not sent).
    pub fn streamed(self, body: axum::body::Body) -> Response {
        let resp = (self.status, body).into_response();
        self.headers(resp)
    }

    fn headers(self, mut resp: Response) -> Response {
        let headers = resp.headers_mut();
        if self.status != StatusCode::NO_CONTENT && self.status != StatusCode::NOT_MODIFIED {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(dirsync_scim::MEDIA_TYPE));
        }
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(loc) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, loc);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        for (accept, ok) in [
            ("application/scim+json", true),
            ("application/scim+json; charset=utf-8", true),
            ("application/json", true),
            ("*/*", true),
            ("text/html, */*;q=0.8", true),
            ("text/html", false),
            ("", true),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            assert_eq!(check_accept(&h).is_ok(), ok, "{accept}");
        }
        let _ = StatusCode::OK;
    }
}
