//! `dirsync.v1.Licenses`: a tenant's license tiers, their group mappings, auto-purchase and
//! billing settings, and the seats bought.

use dirsync_proto::v1::licenses_server::Licenses;
use dirsync_proto::v1::{
    CreateTierRequest, DeleteTierRequest, DeleteTierResponse, GetLicenseSettingsRequest, LicenseSettings,
    LicenseSource as PbSource, ListPurchasesRequest, ListPurchasesResponse, ListTiersRequest, ListTiersResponse,
    MapGroupToTierRequest, Purchase, PurchaseFilter as PbFilter, PurchaseState as PbState, SetLicenseSettingsRequest,
    Tier, TierMapping, UnmapGroupFromTierRequest, UnmapGroupFromTierResponse, UpdateTierRequest,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::mutation::{Author, Done, Pipeline};
use super::{in_txn, tenant, timestamp};
use crate::error::{CoreError, Result, parse_id};
use dirsync_domain::clock::SharedClock;
use dirsync_domain::ids::SharedIds;
use dirsync_domain::licenses::Tier as TierRecord;
use dirsync_domain::licenses::{PurchaseState, Seats, Source as LicenseSource};
use dirsync_store::entity::license_purchases;
use dirsync_store::licenses::{self, PurchaseFilter, Scope, TierSpec};

#[derive(Debug, Clone)]
pub struct LicensesService {
    db: DatabaseConnection,
    clock: SharedClock,
    /// Changes that move licenses run through it.
    pipeline: Pipeline,
}

impl LicensesService {
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            db: pipeline.db().clone(),
            clock: pipeline.clock().clone(),
            pipeline,
        }
    }
}

pub(crate) fn tier_to_proto(t: TierRecord, seats: Seats) -> Tier {
    Tier {
        id: t.id.to_string(),
        tenant_id: t.tenant_id.to_string(),
        name: t.name,
        rank: t.rank,
        seats: t.seats,
        assigned: seats.assigned,
        pending: seats.pending,
        created: Some(timestamp(t.created_at)),
    }
}

fn mapping_to_proto(m: licenses::Mapping) -> TierMapping {
    TierMapping {
        group_id: m.group_id.to_string(),
        tier_id: m.target_id.to_string(),
        group_display_name: m.group_display_name,
    }
}

fn settings_to_proto(tenant_id: Uuid, s: dirsync_domain::licenses::Settings) -> LicenseSettings {
    LicenseSettings {
        tenant_id: tenant_id.to_string(),
        auto_purchase: s.auto_purchase,
        billing_window_seconds: s.billing_window_seconds,
        source: match s.source {
            LicenseSource::Groups => PbSource::Groups,
            LicenseSource::Attribute => PbSource::Attribute,
            LicenseSource::Default => PbSource::Default,
        } as i32,
        default_tier_id: s.default_tier.map(|t| t.to_string()),
    }
}

fn purchase_to_proto(p: license_purchases::Model) -> Purchase {
    Purchase {
        id: p.id.to_string(),
        tier_id: p.tier_id.to_string(),
        tier_name: p.tier_name,
        user_id: p.user_id.map(|u| u.to_string()),
        user_name: p.user_name,
        purchased: Some(timestamp(p.purchased_at)),
        cancelled: p.cancelled_at.map(timestamp),
        // `billed_at` also settles cancelled purchases; only a bill makes one billed.
        billed: p.billing_id.and(p.billed_at).map(timestamp),
        billing_id: p.billing_id.map(|b| b.to_string()),
        state: match PurchaseState::of(p.cancelled_at, p.billing_id) {
            PurchaseState::Open => PbState::Open,
            PurchaseState::Cancelled => PbState::Cancelled,
            PurchaseState::Billed => PbState::Billed,
        } as i32,
    }
}

/// After a configuration change: recomputes the licenses in `scope`, in the change's
/// transaction; returns their events for the journal.
async fn settle(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    scope: Scope,
    id_source: &SharedIds,
    now: i64,
) -> Result<Done<()>> {
    let events = licenses::reassign_after_config(txn, tenant_id, scope, id_source, now).await?;
    Ok(Done::new(()).by(Author::system(), events))
}

/// A tier with its counts, read in the caller's transaction.
async fn with_counts(txn: &DatabaseTransaction, tier: TierRecord) -> Result<Tier> {
    let seats = licenses::seats(txn, tier.tenant_id)
        .await?
        .get(&tier.id)
        .copied()
        .unwrap_or_default();
    // Purchases and cancellations may have moved the capacity since `tier` was read.
    let current = licenses::get(txn, tier.tenant_id, tier.id).await?;
    Ok(tier_to_proto(current, seats))
}

#[tonic::async_trait]
impl Licenses for LicensesService {
    async fn create_tier(&self, request: Request<CreateTierRequest>) -> Result<Response<Tier>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let spec = TierSpec {
            name: req.name,
            rank: req.rank,
            seats: req.seats,
        };
        let now = self.clock.now_ms();
        // No group is mapped to a new tier yet: nobody moves.
        let tier = in_txn(&self.db, async |txn| {
            licenses::create(txn, tenant_id, &spec, self.pipeline.ids(), now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(tier_to_proto(tier, Seats::default())))
    }

    async fn update_tier(&self, request: Request<UpdateTierRequest>) -> Result<Response<Tier>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("license tier", &req.id)?;
        let tier = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let current = licenses::get(txn, tenant_id, id).await?;
                let spec = TierSpec {
                    name: req.name.clone().unwrap_or_else(|| current.name.clone()),
                    rank: req.rank.unwrap_or(current.rank),
                    seats: req.seats.unwrap_or(current.seats),
                };
                let (before, after) = licenses::update(txn, tenant_id, id, &spec).await?;
                // Licenses refer to ids: a rename alone moves nobody.
                let done = if (before.rank, before.seats) != (after.rank, after.seats) {
                    settle(txn, tenant_id, Scope::Tenant, self.pipeline.ids(), now).await?
                } else {
                    Done::new(())
                };
                Ok(done.with(with_counts(txn, after).await?))
            })
            .await?;
        Ok(Response::new(tier))
    }

    async fn delete_tier(&self, request: Request<DeleteTierRequest>) -> Result<Response<DeleteTierResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let id = parse_id("license tier", &req.id)?;
        // Nobody holds or awaits a deletable tier, so no license moves.
        in_txn(&self.db, async |txn| {
            licenses::delete(txn, tenant_id, id).await.map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(DeleteTierResponse {}))
    }

    async fn list_tiers(&self, request: Request<ListTiersRequest>) -> Result<Response<ListTiersResponse>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        let resp = in_txn(&self.db, async |txn| {
            dirsync_store::admin::get_tenant(txn, tenant_id).await?;
            let seats = licenses::seats(txn, tenant_id).await?;
            let tiers = licenses::list(txn, tenant_id).await?;
            let mappings = licenses::mappings(txn, tenant_id).await?;
            Ok(ListTiersResponse {
                tiers: tiers
                    .into_iter()
                    .map(|t| {
                        let s = seats.get(&t.id).copied().unwrap_or_default();
                        tier_to_proto(t, s)
                    })
                    .collect(),
                mappings: mappings.into_iter().map(mapping_to_proto).collect(),
            })
        })
        .await?;
        Ok(Response::new(resp))
    }

    async fn map_group_to_tier(
        &self,
        request: Request<MapGroupToTierRequest>,
    ) -> Result<Response<TierMapping>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        let tier_id = parse_id("license tier", &req.tier_id)?;
        let mapping = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                let mapping = licenses::map_group(txn, tenant_id, group_id, tier_id).await?;
                Ok(settle(txn, tenant_id, Scope::Group(group_id), self.pipeline.ids(), now)
                    .await?
                    .with(mapping))
            })
            .await?;
        Ok(Response::new(mapping_to_proto(mapping)))
    }

    async fn unmap_group_from_tier(
        &self,
        request: Request<UnmapGroupFromTierRequest>,
    ) -> Result<Response<UnmapGroupFromTierResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let group_id = parse_id("group", &req.group_id)?;
        self.pipeline
            .run(tenant_id, async |txn, now| {
                if licenses::unmap_group(txn, tenant_id, group_id).await? {
                    return settle(txn, tenant_id, Scope::Group(group_id), self.pipeline.ids(), now).await;
                }
                Ok(Done::new(()))
            })
            .await?;
        Ok(Response::new(UnmapGroupFromTierResponse {}))
    }

    async fn get_license_settings(
        &self,
        request: Request<GetLicenseSettingsRequest>,
    ) -> Result<Response<LicenseSettings>, Status> {
        let tenant_id = tenant(&request.into_inner().tenant_id)?;
        dirsync_store::admin::get_tenant(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        let s = licenses::settings(&self.db, tenant_id).await.map_err(CoreError::from)?;
        Ok(Response::new(settings_to_proto(tenant_id, s)))
    }

    async fn set_license_settings(
        &self,
        request: Request<SetLicenseSettingsRequest>,
    ) -> Result<Response<LicenseSettings>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let s = self
            .pipeline
            .run(tenant_id, async |txn, now| {
                dirsync_store::admin::get_tenant(txn, tenant_id).await?;
                dirsync_store::lock_tenant(txn, tenant_id).await?;
                let before = licenses::settings(txn, tenant_id).await?;
                let mut after = before;
                if let Some(on) = req.auto_purchase {
                    after.auto_purchase = on;
                }
                if let Some(w) = req.billing_window_seconds {
                    after.billing_window_seconds = w;
                }
                if let Some(source) = req.source {
                    after.source = match PbSource::try_from(source) {
                        Ok(PbSource::Unspecified) => before.source,
                        Ok(PbSource::Groups) => LicenseSource::Groups,
                        Ok(PbSource::Attribute) => LicenseSource::Attribute,
                        Ok(PbSource::Default) => LicenseSource::Default,
                        Err(_) => {
                            return Err(CoreError::invalid_value(format!(
                                "source {source} is not a LicenseSource (GROUPS, ATTRIBUTE or DEFAULT)"
                            )));
                        }
                    };
                }
                if let Some(tier) = req.default_tier_id.as_deref() {
                    after.default_tier = match tier.trim() {
                        "" => None,
                        id => Some(parse_id("default tier", id)?),
                    };
                }
                licenses::set_settings(txn, tenant_id, after).await?;
                // Turning auto-purchase on buys seats for everyone waiting; a new source or
                // default tier moves everyone it concerns.
                let moved = after.source != before.source
                    || (after.source == LicenseSource::Default && after.default_tier != before.default_tier);
                if (after.auto_purchase && !before.auto_purchase) || moved {
                    return Ok(settle(txn, tenant_id, Scope::Tenant, self.pipeline.ids(), now)
                        .await?
                        .with(after));
                }
                Ok(Done::new(after))
            })
            .await?;
        Ok(Response::new(settings_to_proto(tenant_id, s)))
    }

    async fn list_purchases(
        &self,
        request: Request<ListPurchasesRequest>,
    ) -> Result<Response<ListPurchasesResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let filter = match PbFilter::try_from(req.filter) {
            Ok(PbFilter::All) => PurchaseFilter::All,
            Ok(PbFilter::Unbilled) => PurchaseFilter::State(PurchaseState::Open),
            Ok(PbFilter::Billed) => PurchaseFilter::State(PurchaseState::Billed),
            Ok(PbFilter::Cancelled) => PurchaseFilter::State(PurchaseState::Cancelled),
            Err(_) => {
                return Err(CoreError::invalid_value(format!(
                    "filter {} is not a PurchaseFilter (ALL, UNBILLED, BILLED or CANCELLED)",
                    req.filter
                ))
                .into());
            }
        };
        let limit = match req.limit {
            0 => 100,
            n => u64::from(n.min(1000)),
        };
        dirsync_store::admin::get_tenant(&self.db, tenant_id)
            .await
            .map_err(CoreError::from)?;
        let rows = licenses::purchases(&self.db, tenant_id, filter, limit)
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(ListPurchasesResponse {
            purchases: rows.into_iter().map(purchase_to_proto).collect(),
        }))
    }
}
