//! `dirsync admin connection hold ...`: a connection's mass-deprovisioning hold, the
//! deactivations and deletions that wait for a decision, and the decision.

use clap::Subcommand;
use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::{ConnectionHold, ConnectionHoldRequest, HoldDecision};
use serde_json::Value;

use super::{Channel, Output, to_json};

#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Shows what waits: the held deactivations and deletions, oldest first.
    Show {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
    /// Applies every held change: the users lose access now.
    Approve {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
    /// Discards every held change: the users keep access; the IdP is not told.
    Reject {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
}

fn print_hold(h: &ConnectionHold) {
    if !h.pending {
        println!("Nothing held for connection {}.", h.connection_id);
        return;
    }
    println!(
        "{} user(s) held for connection {} since {}:",
        h.held_users,
        h.connection_id,
        h.since.as_ref().map_or_else(String::new, ToString::to_string)
    );
    for c in &h.changes {
        let time = c.time.as_ref().map_or_else(String::new, ToString::to_string);
        println!("  {time}  {:<10}  {}  {}", c.effect, c.user_id, c.user_name);
    }
}

fn print_decision(d: &HoldDecision) {
    if d.approved {
        println!("Approved: {} held change(s) applied.", d.users);
    } else {
        println!(
            "Rejected: {} held change(s) discarded; the users keep their access.",
            d.users
        );
    }
}

/// One call per command; returns the JSON document to print.
pub async fn run(client: &mut AdminClient<Channel>, command: HoldCommand, output: Output) -> anyhow::Result<Value> {
    let text = output == Output::Text;
    let request = |tenant_id, connection_id| ConnectionHoldRequest {
        tenant_id,
        connection_id,
    };
    Ok(match command {
        HoldCommand::Show { tenant, connection } => {
            let h = client
                .get_connection_hold(request(tenant, connection))
                .await?
                .into_inner();
            if text {
                print_hold(&h);
            }
            to_json(&h)?
        }
        HoldCommand::Approve { tenant, connection } => {
            let d = client
                .approve_connection_hold(request(tenant, connection))
                .await?
                .into_inner();
            if text {
                print_decision(&d);
            }
            to_json(&d)?
        }
        HoldCommand::Reject { tenant, connection } => {
            let d = client
                .reject_connection_hold(request(tenant, connection))
                .await?
                .into_inner();
            if text {
                print_decision(&d);
            }
            to_json(&d)?
        }
    })
}
