//! dirsync's end-to-end tests: one test binary (kanidm's rule: every file under tests/ would
//! otherwise be another binary to link). Each suite runs on SQLite and, when
//! `TEST_DATABASE_URL` is set, on PostgreSQL.

// Test code: a failed expectation is a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adoption;
mod auth;
mod binary;
mod bounds;
mod cli;
mod faults;
mod feed;
mod folding;
mod groups;
mod grpc;
mod grpc_auth;
mod harness;
mod health;
mod hold;
#[path = "../idp/mod.rs"]
mod idp;
mod licenses;
mod limits;
mod pages;
mod portal;
mod portal_browser;
mod portal_log;
mod primary_email;
mod protocol;
mod queries;
mod resilience;
mod roles;
mod schemas;
mod scopes;
mod settings;
mod silence;
mod synclog;
mod takeover;
mod telemetry;
mod users;
