//! A consumer of dirsync's change feed, as a product service would write one: it follows
//! `Changes/Watch` from the cursor it stored last time, asks for the entitlements of every
//! user a change touches, prints them, and stores the cursor after each change — so a restart
//! resumes exactly where it stopped.
//!
//! ```sh
//! DIRSYNC_SERVICE_KEY=$(sed -n 's/^admin=//p' data/service-keys) \
//!   cargo run --example feed_consumer -- --tenant <tenant id> --cursor-file ./feed.cursor
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{BatchGetEntitlementsRequest, Change, Entitlements, LicenseState, WatchRequest};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

#[derive(Debug, Parser)]
struct Args {
    /// gRPC URL of the dirsync core.
    #[arg(long, env = "DIRSYNC_CORE_URL", default_value = "http://127.0.0.1:50051")]
    core_url: String,
    /// This service's key for the gRPC API.
    #[arg(long, env = "DIRSYNC_SERVICE_KEY", hide_env_values = true)]
    service_key: String,
    #[arg(long)]
    tenant: String,
    /// Where the last processed cursor is kept between runs.
    #[arg(long, default_value = "feed.cursor")]
    cursor_file: PathBuf,
    /// Stop after this many changes (0: follow forever).
    #[arg(long, default_value_t = 0)]
    max_events: u64,
    /// Fail when no change arrives for this long (0: wait forever).
    #[arg(long, default_value_t = 0)]
    idle_timeout_secs: u64,
}

#[derive(Clone)]
struct Key(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Key {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Authed = InterceptedService<Channel, Key>;

fn read_cursor(path: &PathBuf) -> anyhow::Result<u64> {
    match std::fs::read_to_string(path) {
        Ok(s) => s
            .trim()
            .parse()
            .with_context(|| format!("{} holds no cursor", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Written to a temporary file and renamed, so a crash never leaves half a cursor.
fn store_cursor(path: &PathBuf, cursor: u64) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, cursor.to_string())?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn describe(e: &Entitlements) -> String {
    let role = e.role.as_ref().map_or("none".to_owned(), |r| {
        format!("{}{}", r.name, if r.is_admin { " (admin)" } else { "" })
    });
    let license = match e.license.as_ref().map(|l| l.state()) {
        Some(LicenseState::Assigned) => "assigned",
        Some(LicenseState::Pending) => "pending",
        _ => "none",
    };
    format!("active={} role={role} license={license}", e.active)
}

async fn on_change(dir: &mut DirectoryClient<Authed>, tenant: &str, change: &Change) -> anyhow::Result<()> {
    let head = format!("cursor={} change={}", change.cursor, change.r#type);
    if change.resource_type != "User" {
        return Ok(());
    }
    if change.r#type == "user.deleted" {
        println!("{head} user={} entitlements=none (deleted)", change.resource_id);
        return Ok(());
    }
    let resp = dir
        .batch_get_entitlements(BatchGetEntitlementsRequest {
            tenant_id: tenant.to_owned(),
            user_ids: vec![change.resource_id.clone()],
        })
        .await?
        .into_inner();
    match resp.entitlements.first() {
        Some(e) => println!("{head} user={} {}", e.user_id, describe(e)),
        // Deleted since: a later change in the feed says so.
        None => println!("{head} user={} entitlements=none (gone)", change.resource_id),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = Key(format!("Bearer {}", args.service_key)
        .parse()
        .context("the service key is not a valid header")?);
    let channel = Endpoint::from_shared(args.core_url.clone())?
        .connect()
        .await
        .context("connecting to the core")?;
    let channel = InterceptedService::new(channel, key);
    let mut dir = DirectoryClient::new(channel.clone());
    let mut cursor = read_cursor(&args.cursor_file)?;
    let mut stream = ChangesClient::new(channel)
        .watch(WatchRequest {
            tenant_id: args.tenant.clone(),
            after_cursor: cursor,
        })
        .await?
        .into_inner();
    let mut seen = 0;
    loop {
        let next = stream.message();
        let change = if args.idle_timeout_secs > 0 {
            tokio::time::timeout(Duration::from_secs(args.idle_timeout_secs), next)
                .await
                .context("no change arrived in time")??
        } else {
            next.await?
        };
        let Some(change) = change else { break };
        on_change(&mut dir, &args.tenant, &change).await?;
        cursor = change.cursor;
        store_cursor(&args.cursor_file, cursor)?;
        seen += 1;
        if args.max_events > 0 && seen >= args.max_events {
            break;
        }
    }
    Ok(())
}
