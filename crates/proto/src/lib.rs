//! Code generated from `proto/dirsync/v1`; hand-written only: re-exports, how the derived
//! JSON writes times and enums (`json`), and the one conversion between the extension schema
//! messages and the SCIM library's definition (`extension`).

pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
    tonic::include_proto!("dirsync.v1");
}

pub mod extension;
pub mod json;

/// Encoded descriptors of every dirsync service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("dirsync_descriptor");

pub use prost_types::Timestamp;

/// The largest gRPC message either side sends or accepts, set explicitly on the core's
/// servers and the edge's clients (tonic's default is 4 MiB to decode and no limit to
/// encode). Lists are paged and group members streamed in batches well under it, so only a
/// single request of this size (a PATCH of ~250,000 member ids) meets it.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
