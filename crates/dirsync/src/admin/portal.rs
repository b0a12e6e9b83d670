//! `dirsync admin portal link|revoke`: one-time links into the setup portal for a tenant's
//! IT admin, as a product asks for them over gRPC.

use clap::{Subcommand, ValueEnum};
use dirsync_proto::v1::portal_client::PortalClient;
use dirsync_proto::v1::{CreateLinkRequest, PortalIntent, RevokeLinkRequest};
use serde_json::{Value, json};

use super::{Channel, Output, to_json};

#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Creates a one-time portal link and prints it (shown once).
    Link {
        /// The tenant whose admin the link is for.
        #[arg(long)]
        tenant: String,
        /// The connection the admin manages (default: the tenant's, or a new one from setup).
        #[arg(long)]
        connection: Option<String>,
        /// What the link opens: the Setup page or the Connection page.
        #[arg(long, value_enum, default_value_t = Intent::Setup)]
        intent: Intent,
        /// How long the link may be opened: seconds or with a unit (`15m`, `2h`, `3d`);
        /// 1 minute to 7 days. Links sent by mail may live days; redirects minutes.
        #[arg(long, default_value = "15m", value_parser = super::settings::parse_delay)]
        lifetime: u64,
        /// Where "Back to <product>" leads in the portal.
        #[arg(long)]
        return_url: Option<String>,
    },
    /// Revokes a link that has not been used yet.
    Revoke {
        /// The tenant the link was made for.
        #[arg(long)]
        tenant: String,
        /// The link's id, as `portal link` printed it.
        #[arg(long)]
        link: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Intent {
    Setup,
    Manage,
}

pub async fn run(channel: Channel, command: PortalCommand, output: Output) -> anyhow::Result<Value> {
    let mut client = PortalClient::new(channel);
    match command {
        PortalCommand::Link {
            tenant,
            connection,
            intent,
            lifetime,
            return_url,
        } => {
            let link = client
                .create_link(CreateLinkRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                    intent: match intent {
                        Intent::Setup => PortalIntent::Setup,
                        Intent::Manage => PortalIntent::Manage,
                    } as i32,
                    lifetime_seconds: lifetime,
                    return_url,
                })
                .await?
                .into_inner();
            if output == Output::Text {
                println!("Portal link {} for tenant {}", link.id, link.tenant_id);
                println!("  {}", link.url);
                println!(
                    "  expires {} (UTC); it works once.",
                    link.expires.as_ref().map(ToString::to_string).unwrap_or_default()
                );
            }
            to_json(&link)
        }
        PortalCommand::Revoke { tenant, link } => {
            client
                .revoke_link(RevokeLinkRequest {
                    tenant_id: tenant,
                    link_id: link.clone(),
                })
                .await?;
            if output == Output::Text {
                println!("Portal link {link} revoked.");
            }
            Ok(json!({ "id": link, "revoked": true }))
        }
    }
}
