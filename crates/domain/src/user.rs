//! Users as the directory holds them, apart from how they are stored or sent.

use serde_json::Value;
use uuid::Uuid;

/// The writable state of a user. The indexed fields are extracted from the document by the
/// writer (the SCIM edge, or a native client), so queries never parse JSON they can index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary e-mail: over SCIM, the `emails` value flagged primary, else the first of type
    /// "work", else the first.
    pub email: Option<String>,
    /// The whole SCIM resource as JSON, without id and meta, values exactly as sent. Empty:
    /// the store writes a minimal document from the fields above.
    pub document: String,
}

/// A user as stored: its writable state plus what the directory keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The SCIM connection that manages the user; unset for native users and unmanaged ones.
    pub connection_id: Option<Uuid>,
    /// "scim" or "native".
    pub source: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub document: Value,
    /// Incremented by every write; the SCIM ETag is `W/"<version>"`.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
