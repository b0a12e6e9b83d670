//! `dirsync.v1.TenantSettings`: a tenant's languages and invite settings.

use crate::settings::cache::LanguageCache;
use dirsync_proto::v1::tenant_settings_server::TenantSettings;
use dirsync_proto::v1::{GetTenantSettingsRequest, Settings, UpdateTenantSettingsRequest};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{in_txn, tenant, timestamp};
use crate::error::CoreError;
use crate::settings::{self, Update};
use dirsync_domain::clock::SharedClock;
use dirsync_store as store;
use dirsync_store::settings::TenantSettings as Stored;

#[derive(Debug, Clone)]
pub struct TenantSettingsService {
    db: DatabaseConnection,
    clock: SharedClock,
    /// The directory's reads of languages (`Pipeline::languages`), forgotten on every write.
    languages: LanguageCache,
}

impl TenantSettingsService {
    pub fn new(db: DatabaseConnection, clock: SharedClock, languages: LanguageCache) -> Self {
        Self { db, clock, languages }
    }
}

fn to_proto(tenant_id: Uuid, s: Stored) -> Settings {
    Settings {
        tenant_id: tenant_id.to_string(),
        effective_default_language: s.languages.effective_default().to_owned(),
        supported_languages: s.languages.supported,
        default_language: s.languages.default,
        invites_enabled: s.invites_enabled,
        invite_delay_seconds: u64::try_from(s.invite_delay_seconds).unwrap_or_default(),
        updated: s.updated_at.map(timestamp),
    }
}

#[tonic::async_trait]
impl TenantSettings for TenantSettingsService {
    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn get_tenant_settings(
        &self,
        request: Request<GetTenantSettingsRequest>,
    ) -> Result<Response<Settings>, Status> {
        let tenant_id = tenant(&request.get_ref().tenant_id)?;
        let s = in_txn(&self.db, async |txn| {
            store::admin::get_tenant(txn, tenant_id).await?;
            store::settings::get(txn, tenant_id).await.map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(to_proto(tenant_id, s)))
    }

    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant_id))]
    async fn update_tenant_settings(
        &self,
        request: Request<UpdateTenantSettingsRequest>,
    ) -> Result<Response<Settings>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let update = Update {
            supported_languages: req.supported_languages.map(|l| l.tags),
            default_language: req.default_language,
            invites_enabled: req.invites_enabled,
            invite_delay_seconds: req.invite_delay_seconds,
        };
        let now = self.clock.now_ms();
        let s = in_txn(&self.db, async |txn| {
            store::admin::get_tenant(txn, tenant_id).await?;
            let current = store::settings::get(txn, tenant_id).await?;
            let next = settings::apply(&current, &update)?;
            store::settings::put(txn, tenant_id, &next, now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        self.languages.forget(tenant_id);
        Ok(Response::new(to_proto(tenant_id, s)))
    }
}
