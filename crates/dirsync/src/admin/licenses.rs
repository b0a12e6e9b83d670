//! `dirsync admin license ...`: license tiers, their group mappings, auto-purchase and billing
//! settings, and the seats bought, over the core's Licenses gRPC API.

use clap::{Subcommand, ValueEnum};
use dirsync_proto::v1::licenses_client::LicensesClient;
use dirsync_proto::v1::{
    CreateTierRequest, DeleteTierRequest, GetLicenseSettingsRequest, LicenseSource, ListPurchasesRequest,
    ListTiersRequest, MapGroupToTierRequest, PurchaseFilter, PurchaseState, SetLicenseSettingsRequest, Tier,
    UnmapGroupFromTierRequest, UpdateTierRequest,
};
use serde_json::{Value, json};

use super::{Channel, groups, to_json};

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// License tiers: a rank (lower is cheaper) and a seat count each.
    #[command(subcommand)]
    Tier(TierCommand),
    /// Maps an IdP group to a tier (replacing the group's mapping); its members are recomputed.
    /// Used with license source `groups` (the default).
    Map {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The group's id or its exact displayName (see `dirsync admin group list`).
        #[arg(long)]
        group: String,
        /// Tier id or exact tier name (see `license tier list`).
        #[arg(long)]
        tier: String,
    },
    /// Removes a group's tier mapping; its members are recomputed.
    Unmap {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// The group's id or its exact displayName.
        #[arg(long)]
        group: String,
    },
    /// Shows the license settings, or changes those given.
    Settings {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Buy a seat when a tier is full (turning it on buys seats for everyone waiting).
        #[arg(long)]
        auto_purchase: Option<bool>,
        /// Bill purchases this long after the first unbilled one (default 1800).
        #[arg(long)]
        billing_window_seconds: Option<i64>,
        /// Where users' tiers come from: `groups` (group mappings, the default), `attribute`
        /// (the tier named by a `licenseTier` extension attribute) or `default` (--default-tier
        /// for every active user). Changing it recomputes every user's license.
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        /// The tier of every active user with source `default` (tier id or exact name; "" to clear).
        #[arg(long)]
        default_tier: Option<String>,
    },
    /// Lists the seats bought by auto-purchase, newest first, each open, cancelled or billed.
    Purchases {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Which purchases: all, unbilled (open: on the next bill), billed, or cancelled
        /// (netted out, never billed).
        #[arg(long, value_enum, default_value_t = FilterArg::All)]
        filter: FilterArg,
        /// At most this many (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    Groups,
    Attribute,
    Default,
}

fn source_name(s: i32) -> &'static str {
    match LicenseSource::try_from(s) {
        Ok(LicenseSource::Attribute) => "attribute",
        Ok(LicenseSource::Default) => "default",
        _ => "groups",
    }
}

fn state_name(s: i32) -> &'static str {
    match PurchaseState::try_from(s) {
        Ok(PurchaseState::Billed) => "billed",
        Ok(PurchaseState::Cancelled) => "cancelled",
        _ => "open",
    }
}

/// A tier given by id or exact name: its id.
async fn tier_id(client: &mut LicensesClient<Channel>, tenant: &str, tier: &str) -> anyhow::Result<String> {
    if tier.is_empty() || uuid::Uuid::parse_str(tier).is_ok() {
        return Ok(tier.to_owned());
    }
    let tiers = client
        .list_tiers(ListTiersRequest {
            tenant_id: tenant.to_owned(),
        })
        .await?
        .into_inner()
        .tiers;
    tiers
        .into_iter()
        .find(|t| t.name == tier)
        .map(|t| t.id)
        .ok_or_else(|| anyhow::anyhow!("no license tier named {tier:?} in tenant {tenant} (see `license tier list`)"))
}

#[derive(Debug, Subcommand)]
pub enum TierCommand {
    /// Creates a tier.
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Case-sensitive, unique in the tenant.
        name: String,
        /// Lower is cheaper: a user in several license groups gets the lowest.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        rank: i32,
        /// Seat capacity (auto-purchase adds to it).
        #[arg(long, default_value_t = 0)]
        seats: i64,
    },
    /// Renames a tier or changes its rank or seats (never below the seats held).
    Update {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Tier id or exact tier name.
        #[arg(long)]
        tier: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New rank (lower is cheaper).
        #[arg(long, allow_negative_numbers = true)]
        rank: Option<i32>,
        /// New seat capacity (raising it serves pending users at once).
        #[arg(long)]
        seats: Option<i64>,
    },
    /// Deletes a tier nobody holds or waits for.
    Delete {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Tier id or exact tier name.
        #[arg(long)]
        tier: String,
    },
    /// Lists a tenant's tiers (lowest rank first) with seat counts, and the group mappings.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    All,
    Unbilled,
    Billed,
    Cancelled,
}

fn print_tier(t: &Tier) {
    println!(
        "{}  rank {:>4}  {:>5} seat(s), {} held, {} pending  {}",
        t.id, t.rank, t.seats, t.assigned, t.pending, t.name
    );
}

/// One call each; prints text when `text`, returns the JSON document to print otherwise.
pub async fn run(channel: Channel, command: LicenseCommand, text: bool) -> anyhow::Result<Value> {
    let mut client = LicensesClient::new(channel.clone());
    Ok(match command {
        LicenseCommand::Tier(TierCommand::Create {
            tenant,
            name,
            rank,
            seats,
        }) => {
            let t = client
                .create_tier(CreateTierRequest {
                    tenant_id: tenant,
                    name,
                    rank,
                    seats,
                })
                .await?
                .into_inner();
            if text {
                print_tier(&t);
            }
            to_json(&t)?
        }
        LicenseCommand::Tier(TierCommand::Update {
            tenant,
            tier,
            name,
            rank,
            seats,
        }) => {
            let tier = tier_id(&mut client, &tenant, &tier).await?;
            let t = client
                .update_tier(UpdateTierRequest {
                    tenant_id: tenant,
                    id: tier,
                    name,
                    rank,
                    seats,
                })
                .await?
                .into_inner();
            if text {
                print_tier(&t);
            }
            to_json(&t)?
        }
        LicenseCommand::Tier(TierCommand::Delete { tenant, tier }) => {
            let tier = tier_id(&mut client, &tenant, &tier).await?;
            client
                .delete_tier(DeleteTierRequest {
                    tenant_id: tenant,
                    id: tier.clone(),
                })
                .await?;
            if text {
                println!("Deleted license tier {tier}.");
            }
            json!({ "deleted": tier })
        }
        LicenseCommand::Tier(TierCommand::List { tenant }) => {
            let l = client
                .list_tiers(ListTiersRequest { tenant_id: tenant })
                .await?
                .into_inner();
            if text {
                for t in &l.tiers {
                    print_tier(t);
                }
                for m in &l.mappings {
                    let tier = l
                        .tiers
                        .iter()
                        .find(|t| t.id == m.tier_id)
                        .map_or(m.tier_id.as_str(), |t| t.name.as_str());
                    println!("group {} ({}) -> {tier}", m.group_id, m.group_display_name);
                }
            }
            to_json(&l)?
        }
        LicenseCommand::Map { tenant, group, tier } => {
            let group = groups::resolve(channel.clone(), &tenant, &group).await?;
            let tier = tier_id(&mut client, &tenant, &tier).await?;
            let m = client
                .map_group_to_tier(MapGroupToTierRequest {
                    tenant_id: tenant,
                    group_id: group,
                    tier_id: tier,
                })
                .await?
                .into_inner();
            if text {
                println!("group {} ({}) -> tier {}", m.group_id, m.group_display_name, m.tier_id);
            }
            to_json(&m)?
        }
        LicenseCommand::Unmap { tenant, group } => {
            let group = groups::resolve(channel.clone(), &tenant, &group).await?;
            client
                .unmap_group_from_tier(UnmapGroupFromTierRequest {
                    tenant_id: tenant,
                    group_id: group.clone(),
                })
                .await?;
            if text {
                println!("group {group} is no longer mapped to a license tier.");
            }
            json!({ "unmapped": group })
        }
        LicenseCommand::Settings {
            tenant,
            auto_purchase,
            billing_window_seconds,
            source,
            default_tier,
        } => {
            let s = if auto_purchase.is_none()
                && billing_window_seconds.is_none()
                && source.is_none()
                && default_tier.is_none()
            {
                client
                    .get_license_settings(GetLicenseSettingsRequest { tenant_id: tenant })
                    .await?
                    .into_inner()
            } else {
                let default_tier_id = match default_tier {
                    Some(t) => Some(tier_id(&mut client, &tenant, &t).await?),
                    None => None,
                };
                client
                    .set_license_settings(SetLicenseSettingsRequest {
                        tenant_id: tenant,
                        auto_purchase,
                        billing_window_seconds,
                        source: source.map(|s| {
                            (match s {
                                SourceArg::Groups => LicenseSource::Groups,
                                SourceArg::Attribute => LicenseSource::Attribute,
                                SourceArg::Default => LicenseSource::Default,
                            }) as i32
                        }),
                        default_tier_id,
                    })
                    .await?
                    .into_inner()
            };
            if text {
                println!(
                    "Licenses come from: {}{}; auto-purchase: {}; purchases are billed {} s after the first unbilled one.",
                    source_name(s.source),
                    s.default_tier_id
                        .as_deref()
                        .map_or(String::new(), |t| format!(" (default tier {t})")),
                    if s.auto_purchase { "on" } else { "off" },
                    s.billing_window_seconds
                );
            }
            to_json(&s)?
        }
        LicenseCommand::Purchases { tenant, filter, limit } => {
            let filter = match filter {
                FilterArg::All => PurchaseFilter::All,
                FilterArg::Unbilled => PurchaseFilter::Unbilled,
                FilterArg::Billed => PurchaseFilter::Billed,
                FilterArg::Cancelled => PurchaseFilter::Cancelled,
            };
            let ps = client
                .list_purchases(ListPurchasesRequest {
                    tenant_id: tenant,
                    filter: filter as i32,
                    limit,
                })
                .await?
                .into_inner()
                .purchases;
            if text {
                for p in &ps {
                    println!(
                        "{}  {}  {}  {}  {}",
                        p.id,
                        p.purchased.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string),
                        p.tier_name,
                        p.user_name,
                        state_name(p.state)
                    );
                }
            }
            json!({ "purchases": to_json(&ps)? })
        }
    })
}
