//! `dirsync admin`: the operator CLI over the core's Admin gRPC API. Every command prints
//! text for people or, with `--output json`, one JSON document for scripts.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::{
    Connection, ConnectionCredentials, CreateConnectionRequest, CreateTenantRequest, ListConnectionsRequest,
    ListTenantsRequest, RevokeTokensRequest, RotateTokenRequest, Tenant,
};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// gRPC URL of the core.
    #[arg(
        long,
        env = "DIRSYNC_CORE_URL",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    core_url: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text, global = true)]
    output: Output,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Tenants: the customer organisations.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// SCIM connections of a tenant (one per IdP).
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Secret tokens of a connection.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Creates a tenant.
    Create {
        /// Display name of the tenant.
        name: String,
    },
    /// Lists tenants.
    List,
}

#[derive(Debug, Subcommand)]
enum ConnectionCommand {
    /// Creates a SCIM connection and prints its Tenant URL and secret token (shown once).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "")]
        name: String,
        /// IdP profile: generic, entra, okta, onelogin, google, pingone, jumpcloud.
        #[arg(long, default_value = "generic")]
        idp: String,
    },
    /// Lists a tenant's connections.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issues a new token; older ones stay valid for --grace-seconds (default 0: dead now).
    Rotate {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        connection: String,
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
    },
    /// Revokes every token of a connection at once.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        connection: String,
    },
}

fn time(ts: Option<&prost_types::Timestamp>) -> Value {
    ts.map_or(Value::Null, |t| json!(t.seconds))
}

fn tenant_json(t: &Tenant) -> Value {
    json!({ "id": t.id, "name": t.name, "created": time(t.created.as_ref()) })
}

fn connection_json(c: &Connection) -> Value {
    json!({
        "id": c.id,
        "tenant_id": c.tenant_id,
        "name": c.name,
        "idp_profile": c.idp_profile,
        "scim_base_url": c.scim_base_url,
        "created": time(c.created.as_ref()),
    })
}

fn credentials_json(c: &ConnectionCredentials) -> Value {
    json!({
        "connection": c.connection.as_ref().map(connection_json),
        "scim_base_url": c.connection.as_ref().map(|c| c.scim_base_url.clone()),
        "token": c.token,
        "token_id": c.token_id,
    })
}

fn print_credentials(c: &ConnectionCredentials) {
    if let Some(conn) = &c.connection {
        println!("Connection {} ({}, profile {})", conn.id, conn.name, conn.idp_profile);
        println!("  Tenant URL:   {}", conn.scim_base_url);
    }
    println!("  Secret token: {}", c.token);
    println!("The token is shown only now; store it in your IdP.");
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let channel = tonic::transport::Endpoint::from_shared(args.core_url.clone())
        .context("core URL")?
        .connect()
        .await
        .with_context(|| format!("connecting to the core at {}", args.core_url))?;
    let mut client = AdminClient::new(channel);
    let out: Value = match args.command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let t = client.create_tenant(CreateTenantRequest { name }).await?.into_inner();
            if args.output == Output::Text {
                println!("Tenant {} ({})", t.id, t.name);
            }
            tenant_json(&t)
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            let ts = client.list_tenants(ListTenantsRequest {}).await?.into_inner().tenants;
            if args.output == Output::Text {
                for t in &ts {
                    println!("{}  {}", t.id, t.name);
                }
            }
            json!({ "tenants": ts.iter().map(tenant_json).collect::<Vec<_>>() })
        }
        AdminCommand::Connection(ConnectionCommand::Create { tenant, name, idp }) => {
            let c = client
                .create_connection(CreateConnectionRequest {
                    tenant_id: tenant,
                    name,
                    idp_profile: idp,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                print_credentials(&c);
            }
            credentials_json(&c)
        }
        AdminCommand::Connection(ConnectionCommand::List { tenant }) => {
            let cs = client
                .list_connections(ListConnectionsRequest { tenant_id: tenant })
                .await?
                .into_inner()
                .connections;
            if args.output == Output::Text {
                for c in &cs {
                    println!("{}  {}  {}  {}", c.id, c.idp_profile, c.name, c.scim_base_url);
                }
            }
            json!({ "connections": cs.iter().map(connection_json).collect::<Vec<_>>() })
        }
        AdminCommand::Token(TokenCommand::Rotate {
            tenant,
            connection,
            grace_seconds,
        }) => {
            let c = client
                .rotate_token(RotateTokenRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                    grace_seconds,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                print_credentials(&c);
                if grace_seconds > 0 {
                    println!("Older tokens stay valid for {grace_seconds} s.");
                } else {
                    println!("Older tokens no longer work.");
                }
            }
            credentials_json(&c)
        }
        AdminCommand::Token(TokenCommand::Revoke { tenant, connection }) => {
            let r = client
                .revoke_tokens(RevokeTokensRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                println!("Revoked {} token(s).", r.revoked);
            }
            json!({ "revoked": r.revoked })
        }
    };
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
