//! `dirsync admin domain ...`: a tenant's verified e-mail domains, which let connections with
//! `--allow-adoption` take over the native accounts of those domains.

use clap::Subcommand;
use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::{AddVerifiedDomainRequest, ListVerifiedDomainsRequest, RemoveVerifiedDomainRequest};
use serde_json::{Value, json};

use super::{Channel, Output, to_json};

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Verifies a domain for the tenant (e.g. acme.com; no wildcard): native users whose
    /// userName or e-mail is in it can be adopted by connections that allow adoption.
    Add {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The domain, e.g. acme.com (a DNS name; subdomains are verified one by one).
        domain: String,
    },
    /// Lists the tenant's verified domains.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Removes a verified domain (users already adopted stay SCIM users).
    Remove {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The verified domain to remove.
        domain: String,
    },
}

/// One call per command; returns the JSON document to print.
pub async fn run(client: &mut AdminClient<Channel>, command: DomainCommand, output: Output) -> anyhow::Result<Value> {
    let text = output == Output::Text;
    Ok(match command {
        DomainCommand::Add { tenant, domain } => {
            let d = client
                .add_verified_domain(AddVerifiedDomainRequest {
                    tenant_id: tenant,
                    domain,
                })
                .await?
                .into_inner();
            if text {
                println!("Verified domain {}", d.domain);
            }
            to_json(&d)?
        }
        DomainCommand::List { tenant } => {
            let ds = client
                .list_verified_domains(ListVerifiedDomainsRequest { tenant_id: tenant })
                .await?
                .into_inner()
                .domains;
            if text {
                for d in &ds {
                    println!("{}", d.domain);
                }
            }
            json!({ "domains": to_json(&ds)? })
        }
        DomainCommand::Remove { tenant, domain } => {
            client
                .remove_verified_domain(RemoveVerifiedDomainRequest {
                    tenant_id: tenant,
                    domain: domain.clone(),
                })
                .await?;
            if text {
                println!("Removed domain {domain}");
            }
            json!({ "removed": domain })
        }
    })
}
