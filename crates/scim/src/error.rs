//! SCIM error responses (RFC 7644 §3.12): status, `scimType` and detail, rendered as the
//! `urn:ietf:params:scim:api:messages:2.0:Error` message.

use serde_json::{Value, json};

/// Schema URN of the SCIM error message (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM protocol error: everything the edge needs to answer the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 §3.12 `scimType`; only defined for 400 (and 409 `uniqueness`).
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation; IdPs show it in their provisioning logs.
    pub detail: String,
}

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    TooLarge,
}

impl ScimType {
    const ALL: [ScimType; 11] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
        ScimType::TooLarge,
    ];

    /// The keyword as it appears on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::TooLarge => "tooLarge",
        }
    }

    /// Reads a wire keyword back (exact match: the keywords are case-sensitive tokens).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`: the shape of almost every client error in RFC 7644.
    pub fn bad_request(t: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(t), detail)
    }

    /// 404 (RFC 7644 §3.12: resource does not exist); no `scimType` is defined for it.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 409 `uniqueness` (RFC 7644 §3.3): Okta's duplicate-create test expects the scimType.
    pub fn conflict_uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// The RFC 7644 §3.12 error body. `status` is a string there, unlike in ListResponse.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_type_round_trips() {
        let cases = [
            (ScimType::InvalidFilter, "invalidFilter"),
            (ScimType::TooMany, "tooMany"),
            (ScimType::Uniqueness, "uniqueness"),
            (ScimType::Mutability, "mutability"),
            (ScimType::InvalidSyntax, "invalidSyntax"),
            (ScimType::InvalidPath, "invalidPath"),
            (ScimType::NoTarget, "noTarget"),
            (ScimType::InvalidValue, "invalidValue"),
            (ScimType::InvalidVers, "invalidVers"),
            (ScimType::Sensitive, "sensitive"),
            (ScimType::TooLarge, "tooLarge"),
        ];
        for (t, s) in cases {
            assert_eq!(t.as_str(), s);
            assert_eq!(ScimType::parse(s), Some(t));
        }
        assert_eq!(ScimType::parse("nope"), None);
    }

    #[test]
    fn constructors_and_json() {
        let cases = [
            (
                ScimError::bad_request(ScimType::InvalidFilter, "bad"),
                json!({"schemas":[ERROR_SCHEMA],"status":"400","scimType":"invalidFilter","detail":"bad"}),
            ),
            (
                ScimError::not_found("User 1 not found"),
                json!({"schemas":[ERROR_SCHEMA],"status":"404","detail":"User 1 not found"}),
            ),
            (
                ScimError::conflict_uniqueness("dup"),
                json!({"schemas":[ERROR_SCHEMA],"status":"409","scimType":"uniqueness","detail":"dup"}),
            ),
            (
                ScimError::new(500, None, "x"),
                json!({"schemas":[ERROR_SCHEMA],"status":"500","detail":"x"}),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_json(), want);
        }
        assert_eq!(ScimError::not_found("gone").to_string(), "404 gone");
    }
}
