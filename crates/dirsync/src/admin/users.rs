//! `dirsync admin user list`: a tenant's users, or only the unmanaged ones (provisioned by a
//! connection that has since ended; a later connection's first write takes each over).

use clap::Subcommand;
use dirsync_proto::v1::ListUsersRequest;
use dirsync_proto::v1::directory_client::DirectoryClient;
use serde_json::{Value, json};

use super::{Channel, Output, to_json};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Lists a tenant's users (id, userName, state, managing connection).
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Only unmanaged users: their connection ended (`connection end`); the next
        /// connection's first write to each (PATCH, PUT, or POST with its userName) takes it over.
        #[arg(long)]
        unmanaged: bool,
        /// At most this many (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
}

pub async fn run(channel: Channel, command: UserCommand, output: Output) -> anyhow::Result<Value> {
    let mut client = DirectoryClient::new(channel);
    Ok(match command {
        UserCommand::List {
            tenant,
            unmanaged,
            limit,
        } => {
            let page = client
                .list_users(ListUsersRequest {
                    tenant_id: tenant,
                    count: limit.clamp(1, 1000),
                    unmanaged,
                    ..Default::default()
                })
                .await?
                .into_inner();
            if output == Output::Text {
                for u in &page.users {
                    let managed = match (&u.connection_id, u.source.as_str()) {
                        (Some(c), _) => format!("connection {c}"),
                        (None, "native") => "native".to_owned(),
                        (None, _) => "unmanaged".to_owned(),
                    };
                    println!(
                        "{}  {:8}  {}  {}",
                        u.id,
                        if u.active { "active" } else { "inactive" },
                        managed,
                        u.user_name
                    );
                }
                println!("{} of {} user(s)", page.users.len(), page.total_results);
            }
            json!({
                "total": page.total_results,
                "users": to_json(&page.users)?,
            })
        }
    })
}
