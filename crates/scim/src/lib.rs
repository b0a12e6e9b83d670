//! SCIM 2.0 protocol library (RFC 7643 / RFC 7644): schemas, filters, attribute paths,
//! PATCH, resource normalisation, projection, list responses and discovery documents.
//! Pure functions over `serde_json::Value`; no I/O, so the SCIM edge owns transport.

mod coerce;
pub mod compat;
mod datetime;
pub mod discovery;
pub mod error;
pub mod extension;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};

/// The SCIM media type (RFC 7644 §8.1): what every SCIM body, error or not, is sent as.
pub const MEDIA_TYPE: &str = "application/scim+json";

#[cfg(test)]
mod proptests;
