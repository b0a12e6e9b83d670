//! `dirsync-loadgen`: seeds a dirsync tenant over gRPC and measures the SCIM edge.
//!
//! Every subcommand prints a compact table, and with `--json` one JSON line as well. Every
//! request loop is bounded in count (`--requests`, `--users`, `--rounds`) and in time
//! (`--max-seconds`), and talks only to the loopback URLs it is given.

mod entitlements;
mod feed_delay;
mod group_patch;
mod output;
mod scim_filter;
mod seed;
mod stats;
mod target;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dirsync-loadgen",
    version,
    about = "Load generator for dirsync (loopback targets only)"
)]
struct Cli {
    /// Also print the result as one JSON line (after the table).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create N users through gRPC `Directory/CreateUser` (ALREADY_EXISTS counts as done).
    Seed(seed::SeedArgs),
    /// Time `GET /Users?filter=userName eq "<random seeded user>"` over SCIM.
    ScimFilter(scim_filter::FilterArgs),
    /// Time one SCIM PATCH adding N members to a fresh group, for R rounds.
    GroupPatch(group_patch::GroupPatchArgs),
    /// Time from an acknowledged SCIM write to its change on a Watch stream.
    FeedDelay(feed_delay::FeedArgs),
    /// Time `Directory/GetEntitlements` (or the batch form) while SCIM writers PATCH users.
    Entitlements(entitlements::EntitlementArgs),
}

/// How to reach the core over gRPC.
#[derive(Debug, Clone, Args)]
pub struct GrpcArgs {
    /// gRPC URL of the core (the `gRPC core:` line of `dirsync serve`); loopback only.
    #[arg(long)]
    pub core_url: String,
    /// Tenant id (the last segment of the Tenant URL).
    #[arg(long)]
    pub tenant: String,
    /// Service credential sent as gRPC metadata `authorization: Bearer <key>`.
    #[arg(long, env = "DIRSYNC_SERVICE_KEY", hide_env_values = true)]
    pub service_key: Option<String>,
}

/// How to reach the SCIM edge.
#[derive(Debug, Clone, Args)]
pub struct ScimArgs {
    /// SCIM base URL of the tenant (the `Tenant URL:` line); loopback only.
    #[arg(long)]
    pub base: String,
    /// SCIM bearer token (the `Secret token:` line).
    #[arg(long, env = "DIRSYNC_SCIM_TOKEN", hide_env_values = true)]
    pub token: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(async move {
        match cli.command {
            Command::Seed(args) => seed::run(args).await,
            Command::ScimFilter(args) => scim_filter::run(args).await,
            Command::GroupPatch(args) => group_patch::run(args).await,
            Command::FeedDelay(args) => feed_delay::run(args).await,
            Command::Entitlements(args) => entitlements::run(args).await,
        }
    })?;
    report.print(cli.json);
    if report.failed {
        std::process::exit(1);
    }
    Ok(())
}
