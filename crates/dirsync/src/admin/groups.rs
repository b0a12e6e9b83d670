//! `dirsync admin group list`: a tenant's groups with their ids and member counts, so an
//! operator can map them to roles and tiers; and the lookup of a group by display name that
//! `role map` and `license map` use.

use clap::Subcommand;
use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::{Group, ListGroupMembersRequest, ListGroupsRequest};
use serde_json::{Value, json};

use super::{Channel, Output, to_json};

/// Groups read per ListGroups page.
const PAGE: u64 = 1000;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Lists a tenant's groups: id, displayName, member count, managing connection.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
}

/// Every group of the tenant, page by page.
async fn all(client: &mut DirectoryClient<Channel>, tenant: &str) -> anyhow::Result<Vec<Group>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_groups(ListGroupsRequest {
                tenant_id: tenant.to_owned(),
                count: PAGE,
                page_token: token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        out.extend(page.groups);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = Some(page.next_page_token);
    }
}

/// A group's member count, read page by page (ListGroupMembers pages hold at most 1,000).
async fn member_count(client: &mut DirectoryClient<Channel>, tenant: &str, group: &str) -> anyhow::Result<u64> {
    let mut n = 0;
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_group_members(ListGroupMembersRequest {
                tenant_id: tenant.to_owned(),
                group_id: group.to_owned(),
                count: 1000,
                page_token: token.clone(),
            })
            .await?
            .into_inner();
        n += page.members.len() as u64;
        if page.next_page_token.is_empty() {
            return Ok(n);
        }
        token = Some(page.next_page_token);
    }
}

/// The id of the group `group` names: an id as given, else the group whose displayName is
/// exactly `group`, else the one whose displayName matches it case-insensitively. An unknown
/// or ambiguous name is an error that lists what to use instead.
pub async fn resolve(channel: Channel, tenant: &str, group: &str) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(group).is_ok() {
        return Ok(group.to_owned());
    }
    let groups = all(&mut DirectoryClient::new(channel), tenant).await?;
    let exact: Vec<&Group> = groups.iter().filter(|g| g.display_name == group).collect();
    let found = if exact.is_empty() {
        groups
            .iter()
            .filter(|g| g.display_name.to_lowercase() == group.to_lowercase())
            .collect()
    } else {
        exact
    };
    match found.as_slice() {
        [g] => Ok(g.id.clone()),
        [] => anyhow::bail!("no group named {group:?} in tenant {tenant} (see `dirsync admin group list`)"),
        several => anyhow::bail!(
            "several groups are named {group:?}; give one of their ids: {}",
            several.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub async fn run(channel: Channel, command: GroupCommand, output: Output) -> anyhow::Result<Value> {
    let mut client = DirectoryClient::new(channel);
    Ok(match command {
        GroupCommand::List { tenant } => {
            let groups = all(&mut client, &tenant).await?;
            let mut rows = Vec::with_capacity(groups.len());
            for g in &groups {
                let members = member_count(&mut client, &tenant, &g.id).await?;
                if output == Output::Text {
                    println!("{}  {:>6} member(s)  {}", g.id, members, g.display_name);
                }
                // A list carries no members; `members` is their count here (from its own call).
                let mut row = to_json(g)?;
                if let Value::Object(fields) = &mut row {
                    fields.insert("members".to_owned(), members.into());
                }
                rows.push(row);
            }
            json!({ "groups": rows })
        }
    })
}
