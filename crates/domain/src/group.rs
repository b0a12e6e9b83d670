//! Groups as the directory holds them, apart from how they are stored or sent.

use serde_json::Value;
use uuid::Uuid;

/// The writable state of a group (its members change through member changes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSpec {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM resource without id, meta and members.
    pub document: String,
}

/// A group as stored (without its members, which the store pages through).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub document: Value,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
