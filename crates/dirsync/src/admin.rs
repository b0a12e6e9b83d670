//! `dirsync admin`: the operator CLI over the core's Admin gRPC API. Every command prints
//! text for people or, with `--output json`, one JSON document for scripts.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use dirsync_proto::v1::admin_client::AdminClient;
use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::{
    Change, ConnectionCredentials, ConnectionStatusRequest, CreateConnectionRequest, CreateTenantRequest,
    EndConnectionRequest, GetConnectionConfigRequest, ListConnectionsRequest, ListSyncLogRequest, ListTenantsRequest,
    RevokeTokensRequest, RotateTokenRequest, SyncLogEntry, UpdateConnectionRequest, WatchRequest,
};
use dirsync_proto::v1::{
    CreateRoleRequest, DeleteRoleRequest, ListRolesRequest, MapGroupToRoleRequest, Role, RoleSource,
    SetRoleSourceRequest, UnmapGroupRequest, UpdateRoleRequest,
};
use serde_json::{Value, json};

mod domains;
mod groups;
mod hold;
mod licenses;
mod portal;
mod schemas;
mod settings;
mod users;

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
    /// Service key for the gRPC API (else the `admin` line of the key file).
    #[arg(long, env = "DIRSYNC_SERVICE_KEY", hide_env_values = true, global = true)]
    service_key: Option<String>,
    /// Key file to read the `admin` key from (default: <DIRSYNC_DATA_DIR or ./data>/service-keys).
    #[arg(long, env = "DIRSYNC_SERVICE_KEYS_FILE", global = true)]
    service_keys_file: Option<String>,
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
    /// Roles of a tenant, the groups mapped to them and where roles come from.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Groups of a tenant (ids, names, member counts), to map to roles and license tiers.
    #[command(subcommand)]
    Group(groups::GroupCommand),
    /// Users of a tenant, e.g. the unmanaged ones a new connection will take over.
    #[command(subcommand)]
    User(users::UserCommand),
    /// License tiers, their groups and seats, auto-purchase and billing.
    #[command(subcommand)]
    License(licenses::LicenseCommand),
    /// A tenant's own SCIM extension schemas (attributes, types, canonical values).
    #[command(subcommand)]
    Schema(schemas::SchemaCommand),
    /// Verified e-mail domains of a tenant (adoption of native accounts).
    #[command(subcommand)]
    Domain(domains::DomainCommand),
    /// A tenant's languages (normalising users' preferredLanguage/locale) and delayed invites.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// One-time links into the setup portal for a tenant's IT admin.
    #[command(subcommand)]
    Portal(portal::PortalCommand),
    /// Prints a tenant's change feed, then follows it (Ctrl-C to stop).
    Watch {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Start after this cursor (0: from the beginning).
        #[arg(long, default_value_t = 0)]
        after: u64,
    },
    /// Prints the requests a tenant's IdPs sent, newest first.
    SyncLog {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Option<String>,
        /// Only failed requests.
        #[arg(long)]
        failed: bool,
        /// At most this many entries (at most 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Keep printing new requests as they arrive.
        #[arg(long)]
        follow: bool,
    },
    /// What each connection of a tenant did lately: last request, last success, 24 h counts.
    Status {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
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
    /// Creates a SCIM connection and prints its Tenant URL and secret token (`connection show`
    /// prints them again).
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// A name for people, e.g. "Entra ID production".
        #[arg(long, default_value = "")]
        name: String,
        /// Which IdP is on the other end: entra, okta, onelogin, google, pingone, jumpcloud or
        /// generic. It picks the setup guide the portal shows and is shown in listings; it
        /// changes nothing in how dirsync answers (every leniency applies to every connection).
        #[arg(long, default_value = "generic")]
        idp: String,
        /// Take over native users of the tenant's verified domains (see `domain add`).
        #[arg(long)]
        allow_adoption: bool,
    },
    /// Lists a tenant's connections.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Shows a connection's configuration details again: Tenant URL and current secret token.
    Show {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
    /// Changes a connection: name, IdP profile, body capture in the sync log.
    Update {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// Which IdP is on the other end (entra, okta, onelogin, google, pingone, jumpcloud,
        /// generic): the portal's setup guide and listings; no protocol behaviour changes.
        #[arg(long)]
        idp: Option<String>,
        /// Keep request bodies (passwords and secrets redacted) in the sync log.
        #[arg(long)]
        capture_bodies: Option<bool>,
        /// Take over native users of the tenant's verified domains.
        #[arg(long)]
        allow_adoption: Option<bool>,
        /// Mass-deprovisioning hold: hold deactivations and deletions beyond this many users
        /// within the window until an admin decides (0: no count limit).
        #[arg(long)]
        hold_max_users: Option<u32>,
        /// The same, as a share (1-100 %) of the connection's active users (0: no share limit).
        #[arg(long)]
        hold_max_percent: Option<u32>,
        /// The hold's window in seconds (60 to 604800; 3600 unless set).
        #[arg(long)]
        hold_window_seconds: Option<u64>,
        /// Seconds without a request after which a connection that synced before counts as
        /// silent (a `connection.silent` change and a portal banner); 0 turns it off.
        #[arg(long, value_name = "SECONDS")]
        silence_after: Option<u64>,
    },
    /// The mass-deprovisioning hold: what waits, approve, reject.
    #[command(subcommand)]
    Hold(hold::HoldCommand),
    /// Ends a connection: its tokens stop working, its users and groups stay (unmanaged).
    End {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issues a new token; older ones stay valid for --grace-seconds (default 0: dead now).
    Rotate {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
        /// Seconds the older tokens stay valid (0: they stop working now).
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
    },
    /// Revokes every token of a connection at once.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: String,
    },
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// Creates a role; users are reassigned at once (e.g. the first role becomes everyone's).
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Case-sensitive, unique in the tenant.
        name: String,
        /// Privilege: higher is more privileged.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        rank: i32,
        /// Holders are admins (the last active admin is never removed).
        #[arg(long)]
        admin: bool,
        /// Never assigned through SCIM.
        #[arg(long)]
        guest: bool,
        /// Held by users without a mapping.
        #[arg(long)]
        default: bool,
    },
    /// Lists a tenant's roles (most privileged first), its role source and group mappings.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Renames a role or changes its rank or flags (a rename keeps assignments).
    Update {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Role id or exact role name.
        #[arg(long)]
        role: String,
        /// New name (assignments are kept).
        #[arg(long)]
        name: Option<String>,
        /// Privilege: higher is more privileged.
        #[arg(long, allow_negative_numbers = true)]
        rank: Option<i32>,
        /// Holders are admins (the last active admin is never removed).
        #[arg(long)]
        admin: Option<bool>,
        /// A guest role: never assigned through SCIM.
        #[arg(long)]
        guest: Option<bool>,
        /// Held by users without a mapping or userRole.
        #[arg(long)]
        default: Option<bool>,
    },
    /// Deletes a role nobody holds.
    Delete {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Role id or exact role name.
        #[arg(long)]
        role: String,
    },
    /// Maps an IdP group to a role (replacing the group's mapping).
    Map {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The group's id or its exact displayName (see `dirsync admin group list`).
        #[arg(long)]
        group: String,
        /// Role id or exact role name.
        #[arg(long)]
        role: String,
    },
    /// Removes a group's mapping.
    Unmap {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The group's id or its exact displayName (see `dirsync admin group list`).
        #[arg(long)]
        group: String,
    },
    /// Where roles come from: `groups` (group mappings) or `attribute` (the userRole attribute).
    Source {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// `groups`: the highest-ranked role among the user's mapped groups; `attribute`: the
        /// role named exactly by the user's `userRole` extension attribute.
        #[arg(value_enum)]
        source: SourceArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SourceArg {
    Groups,
    Attribute,
}

fn source_name(s: i32) -> &'static str {
    match RoleSource::try_from(s) {
        Ok(RoleSource::Attribute) => "attribute",
        _ => "groups",
    }
}

fn print_role(r: &Role) {
    let flags: Vec<&str> = [(r.is_admin, "admin"), (r.is_guest, "guest"), (r.is_default, "default")]
        .into_iter()
        .filter_map(|(on, f)| on.then_some(f))
        .collect();
    println!(
        "{}  rank {:>4}  {:>5} user(s)  {}{}",
        r.id,
        r.rank,
        r.assigned_users,
        r.name,
        if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        }
    );
}

/// A role given by id or exact name: its id.
async fn role_id(client: &mut AdminClient<Channel>, tenant: &str, role: &str) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(role).is_ok() {
        return Ok(role.to_owned());
    }
    let roles = client
        .list_roles(ListRolesRequest {
            tenant_id: tenant.to_owned(),
        })
        .await?
        .into_inner()
        .roles;
    roles
        .into_iter()
        .find(|r| r.name == role)
        .map(|r| r.id)
        .ok_or_else(|| anyhow::anyhow!("no role named {role:?} in tenant {tenant} (see `role list`)"))
}

/// `dirsync admin role ...`: one call each; returns the JSON document to print.
async fn run_role(channel: Channel, command: RoleCommand, output: Output) -> anyhow::Result<Value> {
    let client = &mut AdminClient::new(channel.clone());
    let text = output == Output::Text;
    Ok(match command {
        RoleCommand::Create {
            tenant,
            name,
            rank,
            admin,
            guest,
            default,
        } => {
            let r = client
                .create_role(CreateRoleRequest {
                    tenant_id: tenant,
                    name,
                    rank,
                    is_admin: admin,
                    is_guest: guest,
                    is_default: default,
                })
                .await?
                .into_inner();
            if text {
                print_role(&r);
            }
            to_json(&r)?
        }
        RoleCommand::List { tenant } => {
            let l = client
                .list_roles(ListRolesRequest { tenant_id: tenant })
                .await?
                .into_inner();
            if text {
                println!("Roles come from: {}", source_name(l.source));
                for r in &l.roles {
                    print_role(r);
                }
                for m in &l.mappings {
                    let role = l
                        .roles
                        .iter()
                        .find(|r| r.id == m.role_id)
                        .map_or("?", |r| r.name.as_str());
                    println!("group {} ({}) -> {role}", m.group_id, m.group_display_name);
                }
            }
            to_json(&l)?
        }
        RoleCommand::Update {
            tenant,
            role,
            name,
            rank,
            admin,
            guest,
            default,
        } => {
            let role = role_id(client, &tenant, &role).await?;
            let r = client
                .update_role(UpdateRoleRequest {
                    tenant_id: tenant,
                    id: role,
                    name,
                    rank,
                    is_admin: admin,
                    is_guest: guest,
                    is_default: default,
                })
                .await?
                .into_inner();
            if text {
                print_role(&r);
            }
            to_json(&r)?
        }
        RoleCommand::Delete { tenant, role } => {
            let role = role_id(client, &tenant, &role).await?;
            client
                .delete_role(DeleteRoleRequest {
                    tenant_id: tenant,
                    id: role.clone(),
                })
                .await?;
            if text {
                println!("Deleted role {role}.");
            }
            json!({ "deleted": role })
        }
        RoleCommand::Map { tenant, group, role } => {
            let group = groups::resolve(channel.clone(), &tenant, &group).await?;
            let role = role_id(client, &tenant, &role).await?;
            let m = client
                .map_group_to_role(MapGroupToRoleRequest {
                    tenant_id: tenant,
                    group_id: group,
                    role_id: role,
                })
                .await?
                .into_inner();
            if text {
                println!("group {} ({}) -> role {}", m.group_id, m.group_display_name, m.role_id);
            }
            to_json(&m)?
        }
        RoleCommand::Unmap { tenant, group } => {
            let group = groups::resolve(channel.clone(), &tenant, &group).await?;
            client
                .unmap_group(UnmapGroupRequest {
                    tenant_id: tenant,
                    group_id: group.clone(),
                })
                .await?;
            if text {
                println!("group {group} is no longer mapped to a role.");
            }
            json!({ "unmapped": group })
        }
        RoleCommand::Source { tenant, source } => {
            let source = match source {
                SourceArg::Groups => RoleSource::Groups,
                SourceArg::Attribute => RoleSource::Attribute,
            };
            let r = client
                .set_role_source(SetRoleSourceRequest {
                    tenant_id: tenant,
                    source: source as i32,
                })
                .await?
                .into_inner();
            if text {
                println!("Roles now come from: {}", source_name(r.source));
            }
            to_json(&r)?
        }
    })
}

/// The JSON form of a response: the `Serialize` derived on the generated types, with the proto
/// field names, times as RFC 3339 and enums by name (`dirsync_proto::json`).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(value)?)
}

/// A time for text output: RFC 3339, or `never`.
fn time_text(ts: Option<&prost_types::Timestamp>) -> String {
    ts.map_or_else(|| "never".to_owned(), ToString::to_string)
}

/// The credentials with the Tenant URL also at the top, beside the token, so that a script
/// reads both alike (`jq -r '.scim_base_url, .token'`).
fn credentials_json(c: &ConnectionCredentials) -> anyhow::Result<Value> {
    let mut out = to_json(c)?;
    if let Value::Object(fields) = &mut out {
        let url = c.connection.as_ref().map(|c| c.scim_base_url.clone());
        fields.insert("scim_base_url".to_owned(), url.into());
    }
    Ok(out)
}

fn print_credentials(c: &ConnectionCredentials) {
    if let Some(conn) = &c.connection {
        println!("Connection {} ({}, profile {})", conn.id, conn.name, conn.idp_profile);
        println!("  Tenant URL:   {}", conn.scim_base_url);
    }
    println!("  Secret token: {}", c.token);
    println!("Paste both into the IdP. An operator can show them again with `dirsync admin connection show`.");
}

/// A change with its `data` (a JSON document in a string field) as JSON, not as a string.
fn change_json(c: &Change) -> anyhow::Result<Value> {
    let mut out = to_json(c)?;
    if let Value::Object(fields) = &mut out {
        let data = serde_json::from_str::<Value>(&c.data).unwrap_or(Value::Null);
        fields.insert("data".to_owned(), data);
    }
    Ok(out)
}

fn print_entry(e: &SyncLogEntry, output: Output) -> anyhow::Result<()> {
    match output {
        Output::Json => println!("{}", to_json(e)?),
        Output::Text => println!(
            "{}  {:>3}  {:>5} ms  {:6} {}  {}{}",
            time_text(e.time.as_ref()),
            e.status,
            e.duration_ms,
            e.method,
            e.path,
            e.summary,
            e.warning.as_ref().map_or(String::new(), |w| format!("  warning: {w}"))
        ),
    }
    Ok(())
}

/// Streams commands that print as they go (one JSON document per line with --output json).
async fn run_streaming(channel: Channel, command: &AdminCommand, output: Output) -> anyhow::Result<bool> {
    match command {
        AdminCommand::Watch { tenant, after } => {
            let mut client = ChangesClient::new(channel);
            let mut stream = client
                .watch(WatchRequest {
                    tenant_id: tenant.clone(),
                    after_cursor: *after,
                })
                .await?
                .into_inner();
            while let Some(change) = stream.message().await? {
                match output {
                    Output::Json => println!("{}", change_json(&change)?),
                    Output::Text => println!(
                        "{:>8}  {:22} {} {}  {}",
                        change.cursor, change.r#type, change.resource_type, change.resource_id, change.data
                    ),
                }
            }
            Ok(true)
        }
        AdminCommand::SyncLog {
            tenant,
            connection,
            failed,
            limit,
            follow: true,
        } => {
            let mut client = AdminClient::new(channel.clone());
            let mut after: Option<String> = None;
            loop {
                let req = ListSyncLogRequest {
                    tenant_id: tenant.clone(),
                    connection_id: connection.clone(),
                    failed_only: *failed,
                    limit: *limit,
                    after_id: after.clone(),
                };
                let mut entries = client.list_sync_log(req).await?.into_inner().entries;
                if after.is_none() {
                    entries.reverse();
                }
                for e in &entries {
                    print_entry(e, output)?;
                }
                if let Some(last) = entries.last() {
                    after = Some(last.id.clone());
                } else if after.is_none() {
                    after = Some(uuid::Uuid::nil().to_string());
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        _ => Ok(false),
    }
}

/// Presents the operator's service key on every call.
#[derive(Clone)]
struct Key(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Key {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Channel = tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Key>;

/// Runs one admin command. With `--output json` a failure is a JSON document on stdout too,
/// `{"error": {"code", "reason", "message"}}` with the gRPC code and `ErrorInfo` reason
/// (`LAST_ADMIN`, `LICENSE_IN_USE`, ...), so scripts need not parse text; the exit code is
/// non-zero either way.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let output = args.output;
    let result = run_command(args).await;
    if let (Output::Json, Err(e)) = (output, &result) {
        println!("{}", serde_json::to_string_pretty(&error_json(e))?);
    }
    result
}

/// The JSON form of a failed command.
fn error_json(e: &anyhow::Error) -> Value {
    match e.downcast_ref::<tonic::Status>() {
        Some(status) => json!({ "error": {
            "code": code_name(status.code()),
            "reason": dirsync_edge::error::reason(status),
            "message": status.message(),
        }}),
        None => json!({ "error": {
            "code": null,
            "reason": null,
            "message": format!("{e:#}"),
        }}),
    }
}

/// The gRPC code as its canonical name (FAILED_PRECONDITION, NOT_FOUND, ...).
fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

async fn run_command(args: AdminArgs) -> anyhow::Result<()> {
    let key = crate::keys::client_key(args.service_key.as_deref(), args.service_keys_file.as_deref(), "admin")?;
    let key = Key(format!("Bearer {key}")
        .parse()
        .context("the service key is not valid in a header")?);
    let channel = tonic::transport::Endpoint::from_shared(args.core_url.clone())
        .context("core URL")?
        .connect()
        .await
        .with_context(|| format!("connecting to the core at {}", args.core_url))?;
    let channel: Channel = tonic::service::interceptor::InterceptedService::new(channel, key);
    if run_streaming(channel.clone(), &args.command, args.output).await? {
        return Ok(());
    }
    let licenses_channel = channel.clone();
    let mut client = AdminClient::new(channel.clone());
    let out: Value = match args.command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let t = client.create_tenant(CreateTenantRequest { name }).await?.into_inner();
            if args.output == Output::Text {
                println!("Tenant {} ({})", t.id, t.name);
            }
            to_json(&t)?
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            let ts = client.list_tenants(ListTenantsRequest {}).await?.into_inner().tenants;
            if args.output == Output::Text {
                for t in &ts {
                    println!("{}  {}", t.id, t.name);
                }
            }
            json!({ "tenants": to_json(&ts)? })
        }
        AdminCommand::Connection(ConnectionCommand::Create {
            tenant,
            name,
            idp,
            allow_adoption,
        }) => {
            let c = client
                .create_connection(CreateConnectionRequest {
                    tenant_id: tenant,
                    name,
                    idp_profile: idp,
                    allow_adoption: Some(allow_adoption),
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                print_credentials(&c);
            }
            credentials_json(&c)?
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
            json!({ "connections": to_json(&cs)? })
        }
        AdminCommand::Connection(ConnectionCommand::Show { tenant, connection }) => {
            let c = client
                .get_connection_config(GetConnectionConfigRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                if let Some(conn) = &c.connection {
                    println!("Connection {} ({}, profile {})", conn.id, conn.name, conn.idp_profile);
                    println!("  Tenant URL:   {}", conn.scim_base_url);
                }
                println!("  Secret token: {}", c.token);
            }
            credentials_json(&c)?
        }
        AdminCommand::Connection(ConnectionCommand::Update {
            tenant,
            connection,
            name,
            idp,
            capture_bodies,
            allow_adoption,
            hold_max_users,
            hold_max_percent,
            hold_window_seconds,
            silence_after,
        }) => {
            let c = client
                .update_connection(UpdateConnectionRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                    name,
                    idp_profile: idp,
                    capture_bodies,
                    allow_adoption,
                    hold_max_users,
                    hold_max_percent,
                    hold_window_seconds,
                    silence_after_seconds: silence_after,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                println!(
                    "Connection {} ({}, profile {}, bodies {}, {}, {})",
                    c.id,
                    c.name,
                    c.idp_profile,
                    if c.capture_bodies { "captured" } else { "not captured" },
                    if c.allow_adoption {
                        "adopts native users of verified domains"
                    } else {
                        "does not adopt native users"
                    },
                    match c.silence_after_seconds {
                        0 => "no silence signal".to_owned(),
                        n => format!("silent after {n} s without a request"),
                    }
                );
            }
            to_json(&c)?
        }
        AdminCommand::Connection(ConnectionCommand::End { tenant, connection }) => {
            let e = client
                .end_connection(EndConnectionRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                })
                .await?
                .into_inner();
            if args.output == Output::Text {
                println!(
                    "Ended: {} token(s) revoked; {} user(s) and {} group(s) kept, now unmanaged.",
                    e.tokens_revoked, e.users_unlinked, e.groups_unlinked
                );
            }
            to_json(&e)?
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
            credentials_json(&c)?
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
            to_json(&r)?
        }
        AdminCommand::SyncLog {
            tenant,
            connection,
            failed,
            limit,
            ..
        } => {
            let entries = client
                .list_sync_log(ListSyncLogRequest {
                    tenant_id: tenant,
                    connection_id: connection,
                    failed_only: failed,
                    limit,
                    after_id: None,
                })
                .await?
                .into_inner()
                .entries;
            if args.output == Output::Text {
                for e in &entries {
                    print_entry(e, Output::Text)?;
                }
            }
            json!({ "entries": to_json(&entries)? })
        }
        AdminCommand::Status { tenant } => {
            let conns = client
                .connection_status(ConnectionStatusRequest { tenant_id: tenant })
                .await?
                .into_inner()
                .connections;
            if args.output == Output::Text {
                for s in &conns {
                    let c = s.connection.as_ref();
                    println!(
                        "{}  {}  last request {}  last success {}  24 h: {} ok, {} failed, {} throttled{}{}",
                        c.map_or("", |c| c.id.as_str()),
                        c.map_or("", |c| c.idp_profile.as_str()),
                        time_text(s.last_request.as_ref()),
                        time_text(s.last_success.as_ref()),
                        s.successes_24h,
                        s.failures_24h,
                        s.throttled_24h,
                        s.last_error
                            .as_ref()
                            .map_or(String::new(), |e| format!("; last error: {} {}", e.status, e.summary)),
                        s.last_warning
                            .as_ref()
                            .and_then(|e| e.warning.as_ref())
                            .map_or(String::new(), |w| format!("; last warning: {w}")),
                    );
                }
            }
            json!({ "connections": to_json(&conns)? })
        }
        AdminCommand::Role(command) => run_role(channel.clone(), command, args.output).await?,
        AdminCommand::Group(command) => groups::run(channel.clone(), command, args.output).await?,
        AdminCommand::User(command) => users::run(channel.clone(), command, args.output).await?,
        AdminCommand::License(command) => licenses::run(licenses_channel, command, args.output == Output::Text).await?,
        AdminCommand::Schema(command) => {
            let client = dirsync_proto::v1::schemas_client::SchemasClient::new(channel.clone());
            schemas::run(client, command, args.output == Output::Text).await?
        }
        AdminCommand::Domain(command) => domains::run(&mut client, command, args.output).await?,
        AdminCommand::Connection(ConnectionCommand::Hold(command)) => {
            hold::run(&mut client, command, args.output).await?
        }
        AdminCommand::Settings(command) => settings::run(channel, command, args.output).await?,
        AdminCommand::Portal(command) => portal::run(channel, command, args.output).await?,
        AdminCommand::Watch { .. } => Value::Null,
    };
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
