//! Code generated from `proto/dirsync/v1`; nothing hand-written but re-exports.

pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
    tonic::include_proto!("dirsync.v1");
}

/// Encoded descriptors of every dirsync service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("dirsync_descriptor");

pub use prost_types::Timestamp;
