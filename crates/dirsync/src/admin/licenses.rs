//! `dirsync admin license ...`: license tiers, their group mappings, auto-purchase and billing
//! settings, and the seats bought, over the core's Licenses gRPC API.

use clap::{Subcommand, ValueEnum};
use dirsync_proto::v1::licenses_client::LicensesClient;
use dirsync_proto::v1::{
    CreateTierRequest, DeleteTierRequest, GetLicenseSettingsRequest, LicenseSettings, ListPurchasesRequest,
    ListTiersRequest, MapGroupToTierRequest, Purchase, PurchaseFilter, SetLicenseSettingsRequest, Tier,
    UnmapGroupFromTierRequest, UpdateTierRequest,
};
use serde_json::{Value, json};

use super::{Channel, time};

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// License tiers: a rank (lower is cheaper) and a seat count each.
    #[command(subcommand)]
    Tier(TierCommand),
    /// Maps an IdP group to a tier (replacing the group's mapping); its members are recomputed.
    Map {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        tier: String,
    },
    /// Removes a group's tier mapping; its members are recomputed.
    Unmap {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        group: String,
    },
    /// Shows the license settings, or changes those given.
    Settings {
        #[arg(long)]
        tenant: String,
        /// Buy a seat when a tier is full (turning it on buys seats for everyone waiting).
        #[arg(long)]
        auto_purchase: Option<bool>,
        /// Bill purchases this long after the first unbilled one (default 1800).
        #[arg(long)]
        billing_window_seconds: Option<i64>,
    },
    /// Lists the seats bought by auto-purchase, newest first.
    Purchases {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value_t = FilterArg::All)]
        filter: FilterArg,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum TierCommand {
    /// Creates a tier.
    Create {
        #[arg(long)]
        tenant: String,
        /// Case-sensitive, unique in the tenant.
        name: String,
        /// Lower is cheaper: a user in several license groups gets the lowest.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        rank: i32,
        #[arg(long, default_value_t = 0)]
        seats: i64,
    },
    /// Renames a tier or changes its rank or seats (never below the seats held).
    Update {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        tier: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        rank: Option<i32>,
        #[arg(long)]
        seats: Option<i64>,
    },
    /// Deletes a tier nobody holds or waits for.
    Delete {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        tier: String,
    },
    /// Lists a tenant's tiers (lowest rank first) with seat counts, and the group mappings.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    All,
    Unbilled,
    Billed,
}

fn tier_json(t: &Tier) -> Value {
    json!({
        "id": t.id,
        "tenant_id": t.tenant_id,
        "name": t.name,
        "rank": t.rank,
        "seats": t.seats,
        "assigned": t.assigned,
        "pending": t.pending,
        "created": time(t.created.as_ref()),
    })
}

fn print_tier(t: &Tier) {
    println!(
        "{}  rank {:>4}  {:>5} seat(s), {} held, {} pending  {}",
        t.id, t.rank, t.seats, t.assigned, t.pending, t.name
    );
}

fn settings_json(s: &LicenseSettings) -> Value {
    json!({
        "tenant_id": s.tenant_id,
        "auto_purchase": s.auto_purchase,
        "billing_window_seconds": s.billing_window_seconds,
    })
}

fn purchase_json(p: &Purchase) -> Value {
    json!({
        "id": p.id,
        "tier_id": p.tier_id,
        "tier_name": p.tier_name,
        "user_id": p.user_id,
        "user_name": p.user_name,
        "purchased": time(p.purchased.as_ref()),
        "cancelled": time(p.cancelled.as_ref()),
        "billed": time(p.billed.as_ref()),
        "billing_id": p.billing_id,
    })
}

/// One call each; prints text when `text`, returns the JSON document to print otherwise.
pub async fn run(channel: Channel, command: LicenseCommand, text: bool) -> anyhow::Result<Value> {
    let mut client = LicensesClient::new(channel);
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
            tier_json(&t)
        }
        LicenseCommand::Tier(TierCommand::Update {
            tenant,
            tier,
            name,
            rank,
            seats,
        }) => {
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
            tier_json(&t)
        }
        LicenseCommand::Tier(TierCommand::Delete { tenant, tier }) => {
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
            json!({
                "tiers": l.tiers.iter().map(tier_json).collect::<Vec<_>>(),
                "mappings": l.mappings.iter().map(|m| json!({
                    "group_id": m.group_id,
                    "group_display_name": m.group_display_name,
                    "tier_id": m.tier_id,
                })).collect::<Vec<_>>(),
            })
        }
        LicenseCommand::Map { tenant, group, tier } => {
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
            json!({ "group_id": m.group_id, "group_display_name": m.group_display_name, "tier_id": m.tier_id })
        }
        LicenseCommand::Unmap { tenant, group } => {
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
        } => {
            let s = if auto_purchase.is_none() && billing_window_seconds.is_none() {
                client
                    .get_license_settings(GetLicenseSettingsRequest { tenant_id: tenant })
                    .await?
                    .into_inner()
            } else {
                client
                    .set_license_settings(SetLicenseSettingsRequest {
                        tenant_id: tenant,
                        auto_purchase,
                        billing_window_seconds,
                    })
                    .await?
                    .into_inner()
            };
            if text {
                println!(
                    "Auto-purchase: {}; purchases are billed {} s after the first unbilled one.",
                    if s.auto_purchase { "on" } else { "off" },
                    s.billing_window_seconds
                );
            }
            settings_json(&s)
        }
        LicenseCommand::Purchases { tenant, filter, limit } => {
            let filter = match filter {
                FilterArg::All => PurchaseFilter::All,
                FilterArg::Unbilled => PurchaseFilter::Unbilled,
                FilterArg::Billed => PurchaseFilter::Billed,
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
                    let state = if p.cancelled.is_some() {
                        "cancelled"
                    } else if p.billed.is_some() {
                        "billed"
                    } else {
                        "unbilled"
                    };
                    println!(
                        "{}  {}  {}  {}  {state}",
                        p.id,
                        time(p.purchased.as_ref()),
                        p.tier_name,
                        p.user_name
                    );
                }
            }
            json!({ "purchases": ps.iter().map(purchase_json).collect::<Vec<_>>() })
        }
    })
}
