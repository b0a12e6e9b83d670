//! The journal of a mutation, as the core sees it: the request context read from the gRPC
//! metadata the edge sends; the events and the outbox writing are in `dirsync_store::journal`.

use tonic::metadata::MetadataMap;

pub use dirsync_store::journal::*;

/// gRPC metadata the edge sends with each call it makes for a SCIM request.
pub mod metadata {
    pub const REQUEST_ID: &str = "x-dirsync-request-id";
    pub const METHOD: &str = "x-dirsync-method";
    pub const PATH: &str = "x-dirsync-path";
    pub const IDP_REQUEST_ID: &str = "x-dirsync-idp-request-id";
    /// A user write's `<urn>:<attribute>` values the tenant's schema kept on removal.
    pub const KEPT_ON_REMOVAL: &str = "x-dirsync-kept-on-removal";
}

/// The SCIM request a call answers, from the metadata the edge sent with it.
pub fn from_metadata(md: &MetadataMap) -> RequestContext {
    let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    RequestContext {
        request_id: get(metadata::REQUEST_ID),
        method: get(metadata::METHOD).unwrap_or_default(),
        path: get(metadata::PATH).unwrap_or_default(),
        idp_request_id: get(metadata::IDP_REQUEST_ID),
        trace_id: dirsync_telemetry::trace_id(&tracing::Span::current()),
        kept_on_removal: get(metadata::KEPT_ON_REMOVAL)
            .map(|v| v.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}
