//! Groups as the directory holds them, apart from how they are stored or sent.

/// The writable state of a group (its members change through member changes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSpec {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM resource without id, meta and members.
    pub document: String,
}
