//! `dirsync admin schema ...`: a tenant's extension schemas (`dirsync.v1.Schemas`).
//!
//! `register` reads the RFC 7643 §7 representation (what `GET /Schemas/{urn}` returns), with
//! its `mutability` (readWrite unless given), dirsync's optional `separator` and
//! `keptOnRemoval` per attribute and `resourceType` ("User" unless given);
//! `show` prints the same form, so its output can be edited and registered again.

use anyhow::Context;
use clap::Subcommand;
use dirsync_proto::v1::schemas_client::SchemasClient;
use dirsync_proto::v1::{DeleteSchemaRequest, GetSchemaRequest, ListSchemasRequest, RegisterSchemaRequest};
use dirsync_scim::extension::ExtensionDefinition;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Registers an extension schema from a JSON file, replacing the one with the same URN.
    Register {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// RFC 7643 §7 schema JSON (`-` for stdin).
        #[arg(long)]
        file: String,
    },
    /// Lists a tenant's extension schemas.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Only those extending User or Group.
        #[arg(long)]
        resource_type: Option<String>,
    },
    /// Prints one schema in the form `register` reads.
    Show {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The schema URN, e.g. urn:ietf:params:scim:schemas:extension:acme:2.0:User.
        #[arg(long)]
        urn: String,
    },
    /// Deletes a schema; stored values stay but are no longer validated or advertised.
    Delete {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The schema URN, e.g. urn:ietf:params:scim:schemas:extension:acme:2.0:User.
        #[arg(long)]
        urn: String,
    },
}

fn read_file(path: &str) -> anyhow::Result<String> {
    if path == "-" {
        return std::io::read_to_string(std::io::stdin()).context("reading the schema from stdin");
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

/// Runs one command; returns what `--output json` prints (text is printed here).
pub(super) async fn run(
    mut client: SchemasClient<super::Channel>,
    command: SchemaCommand,
    text: bool,
) -> anyhow::Result<Value> {
    match command {
        SchemaCommand::Register { tenant, file } => {
            let doc: Value = serde_json::from_str(&read_file(&file)?).with_context(|| format!("{file} is not JSON"))?;
            let def = ExtensionDefinition::from_json(&doc).map_err(|e| anyhow::anyhow!("{file}: {}", e.detail))?;
            let s = client
                .register_schema(RegisterSchemaRequest {
                    tenant_id: tenant,
                    schema: Some(def.into()),
                })
                .await?
                .into_inner();
            if text {
                println!(
                    "Registered {} ({}, {} attributes)",
                    s.urn,
                    s.resource_type,
                    s.attributes.len()
                );
            }
            Ok(ExtensionDefinition::from(s).to_json())
        }
        SchemaCommand::List { tenant, resource_type } => {
            let list = client
                .list_schemas(ListSchemasRequest {
                    tenant_id: tenant,
                    resource_type,
                })
                .await?
                .into_inner()
                .schemas;
            if text {
                if list.is_empty() {
                    println!("No extension schemas.");
                }
                for s in &list {
                    let names: Vec<&str> = s.attributes.iter().map(|a| a.name.as_str()).collect();
                    println!("{}  {}  {}", s.urn, s.resource_type, names.join(", "));
                }
            }
            Ok(
                json!({ "schemas": list.into_iter().map(|s| ExtensionDefinition::from(s).to_json()).collect::<Vec<_>>() }),
            )
        }
        SchemaCommand::Show { tenant, urn } => {
            let s = client
                .get_schema(GetSchemaRequest { tenant_id: tenant, urn })
                .await?
                .into_inner();
            let doc = ExtensionDefinition::from(s).to_json();
            if text {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            Ok(doc)
        }
        SchemaCommand::Delete { tenant, urn } => {
            client
                .delete_schema(DeleteSchemaRequest {
                    tenant_id: tenant,
                    urn: urn.clone(),
                })
                .await?;
            if text {
                println!("Deleted {urn}");
            }
            Ok(json!({ "deleted": urn }))
        }
    }
}
