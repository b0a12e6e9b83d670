//! `dirsync.v1.Portal`: one-time links into the setup portal, the sessions they open, and what
//! a session may do. A session call names only the session secret: the tenant comes from the
//! session row, never from the caller, so no portal request can reach another tenant.
//! Every action a session takes is journaled: a change-feed event and a sync-log line that
//! name the session (and the link it came from) as who did it.

use dirsync_proto::v1::portal_server::Portal;
use dirsync_proto::v1::{
    ChooseIdpRequest, ConnectionActionRequest, ConnectionCredentials, CreateLinkRequest, EndConnectionResponse,
    EndSessionResponse, InspectLinkRequest, LinkInfo, ListSyncLogResponse, PortalIntent, PortalLink, PortalOverview,
    PortalRotateTokenRequest, PortalSession, PortalSessionGrant, PortalSyncLogRequest, RedeemLinkRequest,
    RevokeLinkRequest, RevokeLinkResponse, RevokeTokensResponse, SessionRequest,
};
use dirsync_proto::v1::{Connection, Invitations, InvitationsRequest, SilenceThresholdRequest};
use dirsync_proto::v1::{
    MappedGroup, MappingChange, MappingEffect, Move, PeopleRequest, Person, PortalMappings, PortalPeople,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde_json::json;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::admin::{entry_to_proto, role_to_proto, source_to_proto};
use super::licenses::tier_to_proto;
use super::mutation::{Author, Decider, Done, Pipeline};
use super::{in_txn, optional_id, tenant, timestamp};
use crate::AdminService;
use crate::error::{CoreError, ErrorKind, Result, StoreError, parse_id};
use crate::journal::{Event, RequestContext};
use crate::service_auth::CallingService;
use dirsync_domain::clock::SharedClock;
use dirsync_domain::hold::HoldPolicy;
use dirsync_domain::ids::IdSource;
use dirsync_proto::v1::{ConnectionHold, HoldDecision, HoldPolicyRequest, PendingHold};
use dirsync_store::entity::{connections, portal_sessions};
use dirsync_store::portal::{self as store, NewLink};
use dirsync_store::sealing::SecretBox;
use dirsync_store::sync_log as log;
use dirsync_store::{admin, holds, licenses, roles};

/// The longest grace period a rotation may give the old secret.
const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;
/// Most sync-log entries one portal page reads.
const MAX_LOG_PAGE: u32 = 200;
const MAX_SEARCH: usize = 200;

#[derive(Debug, Clone)]
pub struct PortalService {
    db: DatabaseConnection,
    clock: SharedClock,
    public_url: String,
    sealing: SecretBox,
    /// For the connection and sync-log views the Admin API renders too.
    admin: AdminService,
    /// Every action a session takes is journaled: it runs through the pipeline.
    pipeline: Pipeline,
}

impl PortalService {
    pub fn new(pipeline: Pipeline, public_url: String, sealing: SecretBox) -> Self {
        let admin = AdminService::new(pipeline.clone(), public_url.clone(), sealing.clone());
        Self {
            db: pipeline.db().clone(),
            clock: pipeline.clock().clone(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            sealing,
            admin,
            pipeline,
        }
    }

    async fn session(&self, secret: &str) -> Result<portal_sessions::Model> {
        store::session(&self.db, secret, self.clock.now_ms())
            .await
            .map_err(CoreError::from)
    }

    async fn session_view(&self, s: &portal_sessions::Model) -> Result<PortalSession> {
        let tenant = admin::get_tenant(&self.db, s.tenant_id).await?;
        let silent = dirsync_store::silence::silent(&self.db, s.tenant_id).await?;
        Ok(PortalSession {
            silent_connections: silent.into_iter().map(|c| self.admin.connection(c)).collect(),
            id: s.id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            tenant_name: tenant.name,
            connection_id: s.connection_id.map(|c| c.to_string()),
            intent: intent_from_str(&s.intent) as i32,
            return_url: s.return_url.clone(),
            idle_expires: Some(timestamp(
                s.last_seen_at.saturating_add(store::IDLE_MS).min(s.expires_at),
            )),
            expires: Some(timestamp(s.expires_at)),
            holds: holds::pending_by_connection(&self.db, s.tenant_id)
                .await?
                .into_iter()
                .map(|(c, n)| PendingHold {
                    connection_id: c.to_string(),
                    held_users: n,
                })
                .collect(),
        })
    }

    /// A decision of session `s` on a hold of one of its tenant's connections.
    async fn decide(&self, req: ConnectionActionRequest, approve: bool) -> Result<Response<HoldDecision>, Status> {
        let s = self.session(&req.session).await?;
        let id = parse_id("connection", &req.connection_id)?;
        let action = if approve { "hold_approved" } else { "hold_rejected" };
        let decider = Decider {
            actor: json!({"type": "portal_session", "sessionId": s.id, "linkId": s.link_id}),
            by: format!("portal session {}", s.id),
            ctx: RequestContext {
                request_id: Some(format!("portal:{}", Uuid::now_v7())),
                method: "PORTAL".into(),
                path: format!("/portal/{action}"),
                ..Default::default()
            },
        };
        let users = self.pipeline.decide_hold(s.tenant_id, id, approve, decider).await?;
        Ok(Response::new(HoldDecision {
            connection_id: id.to_string(),
            approved: approve,
            users,
        }))
    }

    /// The session's connection named by `id`, live; NOT_FOUND for other tenants' ids.
    async fn live_connection(
        &self,
        txn: &DatabaseTransaction,
        s: &portal_sessions::Model,
        id: &str,
    ) -> Result<connections::Model> {
        let id = parse_id("connection", id)?;
        let conn = admin::get_connection(txn, s.tenant_id, id).await?;
        if conn.ended_at.is_some() {
            return Err(CoreError::invalid_value(format!("connection {id} has ended")));
        }
        Ok(conn)
    }
}

fn intent_from_str(s: &str) -> PortalIntent {
    match s {
        "setup" => PortalIntent::Setup,
        _ => PortalIntent::Manage,
    }
}

/// What a portal action acted on.
#[derive(Debug, Clone, Copy)]
enum Target {
    Connection(Uuid),
    Group(Uuid),
    Tenant,
}

/// Records what a portal session did: a completed sync-log line, and a change event
/// (`urn:dirsync:event:portal:<action>`) added to `done` for the pipeline to journal, both
/// naming the session. The line goes to the connection acted on, or for a tenant-wide action
/// to the session's connection (else the newest live one).
#[allow(clippy::too_many_arguments)]
async fn journal_action<T>(
    txn: &DatabaseTransaction,
    s: &portal_sessions::Model,
    target: Target,
    action: &'static str,
    summary: String,
    id_source: &dyn IdSource,
    now: i64,
    done: Done<T>,
) -> Result<Done<T>> {
    let (kind, uri) = match action {
        "idp_chosen" => ("portal.idp_chosen", "urn:dirsync:event:portal:idp_chosen"),
        "token_revealed" => ("portal.token_revealed", "urn:dirsync:event:portal:token_revealed"),
        "token_rotated" => ("portal.token_rotated", "urn:dirsync:event:portal:token_rotated"),
        "tokens_revoked" => ("portal.tokens_revoked", "urn:dirsync:event:portal:tokens_revoked"),
        "mapping_saved" => ("portal.mapping_saved", "urn:dirsync:event:portal:mapping_saved"),
        "invitations_set" => ("portal.invitations_set", "urn:dirsync:event:portal:invitations_set"),
        "hold_policy_set" => ("portal.hold_policy_set", "urn:dirsync:event:portal:hold_policy_set"),
        "silence_threshold_set" => (
            "portal.silence_threshold_set",
            "urn:dirsync:event:portal:silence_threshold_set",
        ),
        _ => ("portal.connection_ended", "urn:dirsync:event:portal:connection_ended"),
    };
    let (resource_type, resource_id, connection_id) = match target {
        Target::Connection(c) => ("Connection", c, Some(c)),
        Target::Group(_) | Target::Tenant => {
            let conn = match s.connection_id {
                Some(c) => Some(c),
                None => admin::list_connections(txn, s.tenant_id)
                    .await?
                    .into_iter()
                    .filter(|c| c.ended_at.is_none())
                    .map(|c| c.id)
                    .next_back(),
            };
            match target {
                Target::Group(g) => ("Group", g, conn),
                _ => ("Tenant", s.tenant_id, conn),
            }
        }
    };
    let actor = format!("portal session {}", s.id);
    let summary = format!("{summary} (by {actor})");
    let ctx = RequestContext {
        request_id: Some(format!("portal:{}", id_source.new_id())),
        method: "PORTAL".into(),
        path: format!("/portal/{action}"),
        ..Default::default()
    };
    let event = Event {
        kind,
        uri,
        resource_type,
        resource_id,
        data: json!({
            "resourceId": resource_id,
            "actor": {"type": "portal_session", "sessionId": s.id, "linkId": s.link_id},
        }),
        summary: summary.clone(),
    };
    if let Some(connection_id) = connection_id {
        // The journal's line for the event (written after this) keeps the status: it updates
        // only the summary of an existing line.
        log::record(
            txn,
            log::Outcome {
                tenant_id: s.tenant_id,
                connection_id,
                request_id: ctx.request_id.clone().unwrap_or_default(),
                method: ctx.method.clone(),
                path: ctx.path.clone(),
                status: 200,
                duration_ms: 0,
                started_at: now,
                ..Default::default()
            },
            id_source,
        )
        .await?;
    }
    Ok(done.by(Author { connection_id, ctx }, vec![event]))
}

fn effect_to_proto(e: store::MappingEffect) -> MappingEffect {
    let moves = |v: Vec<(String, String, u64)>| -> Vec<Move> {
        v.into_iter()
            .map(|(from, to, users)| Move { from, to, users })
            .collect()
    };
    MappingEffect {
        group_name: e.group_name,
        members: e.members,
        role_moves: moves(e.role_moves),
        tier_moves: moves(e.tier_moves),
        seats_bought: e.seats_bought,
        refused: None,
    }
}

/// The ids a mapping change names (empty: no mapping).
fn mapping_ids(req: &MappingChange) -> Result<(Uuid, Option<Uuid>, Option<Uuid>)> {
    Ok((
        parse_id("group", &req.group_id)?,
        optional_id("role", Some(&req.role_id))?,
        optional_id("license tier", Some(&req.tier_id))?,
    ))
}

#[tonic::async_trait]
impl Portal for PortalService {
    async fn create_link(&self, request: Request<CreateLinkRequest>) -> Result<Response<PortalLink>, Status> {
        let caller = request
            .extensions()
            .get::<CallingService>()
            .map_or_else(|| "unknown".to_owned(), |c| c.name.clone());
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let connection_id = optional_id("connection", req.connection_id.as_deref())?;
        let intent = match PortalIntent::try_from(req.intent).unwrap_or(PortalIntent::Unspecified) {
            PortalIntent::Setup => "setup",
            PortalIntent::Manage => "manage",
            PortalIntent::Unspecified => {
                return Err(CoreError::invalid_value("intent must be SETUP or MANAGE".into()).into());
            }
        };
        let lifetime_ms = store::link_lifetime_ms(req.lifetime_seconds).map_err(CoreError::from)?;
        if let Some(url) = req.return_url.as_deref() {
            store::check_return_url(url).map_err(CoreError::from)?;
        }
        let now = self.clock.now_ms();
        let (link, token) = in_txn(&self.db, async |txn| {
            admin::get_tenant(txn, tenant_id).await?;
            if let Some(c) = connection_id {
                let conn = admin::get_connection(txn, tenant_id, c).await?;
                if conn.ended_at.is_some() {
                    return Err(CoreError::invalid_value(format!("connection {c} has ended")));
                }
            }
            let new = NewLink {
                tenant_id,
                connection_id,
                intent,
                lifetime_ms,
                return_url: req.return_url.as_deref(),
                created_by: &caller,
            };
            store::create_link(txn, new, self.pipeline.ids(), now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(PortalLink {
            id: link.id.to_string(),
            tenant_id: link.tenant_id.to_string(),
            url: format!("{}/portal/link/{token}", self.public_url),
            expires: Some(timestamp(link.expires_at)),
        }))
    }

    async fn revoke_link(&self, request: Request<RevokeLinkRequest>) -> Result<Response<RevokeLinkResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let link_id = parse_id("portal link", &req.link_id)?;
        let now = self.clock.now_ms();
        in_txn(&self.db, async |txn| {
            store::revoke_link(txn, tenant_id, link_id, now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(RevokeLinkResponse {}))
    }

    async fn inspect_link(&self, request: Request<InspectLinkRequest>) -> Result<Response<LinkInfo>, Status> {
        let token = request.into_inner().token;
        let link = store::live_link(&self.db, &token, self.clock.now_ms())
            .await
            .map_err(CoreError::from)?;
        let tenant = admin::get_tenant(&self.db, link.tenant_id)
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(LinkInfo {
            tenant_name: tenant.name,
            intent: intent_from_str(&link.intent) as i32,
            expires: Some(timestamp(link.expires_at)),
        }))
    }

    async fn redeem_link(&self, request: Request<RedeemLinkRequest>) -> Result<Response<PortalSessionGrant>, Status> {
        let token = request.into_inner().token;
        let now = self.clock.now_ms();
        let (session, secret) = in_txn(&self.db, async |txn| {
            store::redeem_link(txn, &token, self.pipeline.ids(), now)
                .await
                .map_err(CoreError::from)
        })
        .await?;
        Ok(Response::new(PortalSessionGrant {
            session: Some(self.session_view(&session).await?),
            secret,
        }))
    }

    async fn get_session(&self, request: Request<SessionRequest>) -> Result<Response<PortalSession>, Status> {
        let s = self.session(&request.into_inner().session).await?;
        Ok(Response::new(self.session_view(&s).await?))
    }

    async fn end_session(&self, request: Request<SessionRequest>) -> Result<Response<EndSessionResponse>, Status> {
        let s = self.session(&request.into_inner().session).await?;
        store::end_session(&self.db, s.id, self.clock.now_ms())
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(EndSessionResponse {}))
    }

    async fn overview(&self, request: Request<SessionRequest>) -> Result<Response<PortalOverview>, Status> {
        let s = self.session(&request.into_inner().session).await?;
        let connections = self.admin.connection_stats(s.tenant_id).await?;
        Ok(Response::new(PortalOverview {
            session: Some(self.session_view(&s).await?),
            connections,
        }))
    }

    async fn choose_idp(&self, request: Request<ChooseIdpRequest>) -> Result<Response<PortalSession>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let profile = req.idp_profile.to_ascii_lowercase();
        if !admin::IDP_PROFILES.contains(&profile.as_str()) {
            return Err(CoreError::invalid_value(format!(
                "unknown IdP {:?}; expected one of {}",
                req.idp_profile.chars().take(40).collect::<String>(),
                admin::IDP_PROFILES.join(", ")
            ))
            .into());
        }
        self.pipeline
            .run(s.tenant_id, async |txn, now| {
                let current = match s.connection_id {
                    Some(id) => {
                        Some(admin::get_connection(txn, s.tenant_id, id).await?).filter(|c| c.ended_at.is_none())
                    }
                    None => None,
                };
                let conn = match current {
                    Some(c) => admin::update_connection(txn, s.tenant_id, c.id, None, Some(&profile), None).await?,
                    None => {
                        let c =
                            admin::create_connection(txn, s.tenant_id, &profile, &profile, self.pipeline.ids(), now)
                                .await?;
                        admin::issue_token(txn, &c, &self.sealing, self.pipeline.ids(), now).await?;
                        store::set_connection(txn, s.id, c.id).await?;
                        c
                    }
                };
                let summary = format!("set up connection {} for {profile}", conn.name);
                let done = Done::new(());
                journal_action(
                    txn,
                    &s,
                    Target::Connection(conn.id),
                    "idp_chosen",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        let s = self.session(&req.session).await?;
        Ok(Response::new(self.session_view(&s).await?))
    }

    async fn reveal_token(
        &self,
        request: Request<ConnectionActionRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let (conn, token, secret) = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let (token, secret) = admin::current_secret(txn, &conn, &self.sealing, now).await?;
                let (target, summary) = (Target::Connection(conn.id), "showed the secret token".into());
                let done = Done::new((conn, token, secret));
                journal_action(
                    txn,
                    &s,
                    target,
                    "token_revealed",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        Ok(Response::new(ConnectionCredentials {
            connection: Some(self.admin.connection(conn)),
            token: secret,
            token_id: token.id.to_string(),
        }))
    }

    async fn rotate_token(
        &self,
        request: Request<PortalRotateTokenRequest>,
    ) -> Result<Response<ConnectionCredentials>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        if req.grace_seconds > MAX_GRACE_SECONDS {
            return Err(CoreError::invalid_value(format!(
                "grace_seconds is at most {MAX_GRACE_SECONDS} (30 days); got {}",
                req.grace_seconds
            ))
            .into());
        }
        let grace_ms = i64::try_from(req.grace_seconds * 1000).unwrap_or(i64::MAX);
        let (conn, token, secret) = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let (token, secret) = admin::issue_token(txn, &conn, &self.sealing, self.pipeline.ids(), now).await?;
                admin::expire_tokens(txn, conn.id, Some(token.id), now.saturating_add(grace_ms)).await?;
                let summary = match req.grace_seconds {
                    0 => "rotated the secret token; the old one stopped working at once".to_owned(),
                    g => format!("rotated the secret token; the old one works for {g} more seconds"),
                };
                let target = Target::Connection(conn.id);
                let done = Done::new((conn, token, secret));
                journal_action(
                    txn,
                    &s,
                    target,
                    "token_rotated",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        Ok(Response::new(ConnectionCredentials {
            connection: Some(self.admin.connection(conn)),
            token: secret,
            token_id: token.id.to_string(),
        }))
    }

    async fn revoke_tokens(
        &self,
        request: Request<ConnectionActionRequest>,
    ) -> Result<Response<RevokeTokensResponse>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let revoked = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let n = admin::revoke_tokens(txn, conn.id, now).await?;
                let summary = format!("revoked {n} secret token{}", if n == 1 { "" } else { "s" });
                let target = Target::Connection(conn.id);
                let done = Done::new(n);
                journal_action(
                    txn,
                    &s,
                    target,
                    "tokens_revoked",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        Ok(Response::new(RevokeTokensResponse { revoked }))
    }

    async fn end_connection(
        &self,
        request: Request<ConnectionActionRequest>,
    ) -> Result<Response<EndConnectionResponse>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let ended = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let ended = admin::end_connection(txn, &conn, now).await?;
                let summary = format!(
                    "ended the connection; {} users and {} groups stay in the tenant",
                    ended.users_unlinked, ended.groups_unlinked
                );
                let target = Target::Connection(conn.id);
                let done = Done::new(ended);
                journal_action(
                    txn,
                    &s,
                    target,
                    "connection_ended",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        Ok(Response::new(EndConnectionResponse {
            tokens_revoked: ended.tokens_revoked,
            users_unlinked: ended.users_unlinked,
            groups_unlinked: ended.groups_unlinked,
        }))
    }

    async fn sync_log(&self, request: Request<PortalSyncLogRequest>) -> Result<Response<ListSyncLogResponse>, Status> {
        let r = request.into_inner();
        let s = self.session(&r.session).await?;
        if r.search.as_deref().is_some_and(|t| t.chars().count() > MAX_SEARCH) {
            return Err(CoreError::invalid_value(format!("search is at most {MAX_SEARCH} characters")).into());
        }
        let connection_id = optional_id("connection", r.connection_id.as_deref())?;
        if let Some(c) = connection_id {
            // Another tenant's connection id is NOT_FOUND, not an empty list.
            admin::get_connection(&self.db, s.tenant_id, c)
                .await
                .map_err(CoreError::from)?;
        }
        let q = log::Query {
            tenant_id: s.tenant_id,
            connection_id,
            failed_only: r.failed_only,
            limit: u64::from(match r.limit {
                0 => 50,
                n => n.min(MAX_LOG_PAGE),
            }),
            after_id: optional_id("sync log entry", r.after_id.as_deref())?,
            search: r.search.map(|t| t.trim().to_owned()),
        };
        let entries = log::list(&self.db, q).await.map_err(CoreError::from)?;
        Ok(Response::new(ListSyncLogResponse {
            entries: entries.into_iter().map(entry_to_proto).collect(),
        }))
    }
    async fn mappings(&self, request: Request<SessionRequest>) -> Result<Response<PortalMappings>, Status> {
        let s = self.session(&request.into_inner().session).await?;
        let t = s.tenant_id;
        let roles = roles::list(&self.db, t).await.map_err(CoreError::from)?;
        let held = roles::holders(&self.db, t).await.map_err(CoreError::from)?;
        let source = roles::source(&self.db, t).await.map_err(CoreError::from)?;
        let seats = licenses::seats(&self.db, t).await.map_err(CoreError::from)?;
        let tiers = licenses::list(&self.db, t).await.map_err(CoreError::from)?;
        let groups = store::mapped_groups(&self.db, t).await.map_err(CoreError::from)?;
        let settings = dirsync_store::settings::get(&self.db, t)
            .await
            .map_err(CoreError::from)?;
        Ok(Response::new(PortalMappings {
            invitations: Some(Invitations {
                enabled: settings.invites_enabled,
                delay_seconds: u64::try_from(settings.invite_delay_seconds).unwrap_or_default(),
            }),
            roles: roles
                .into_iter()
                .map(|r| {
                    let n = held.get(&r.id).copied().unwrap_or_default();
                    role_to_proto(r, n)
                })
                .collect(),
            tiers: tiers
                .into_iter()
                .map(|tier| {
                    let n = seats.get(&tier.id).copied().unwrap_or_default();
                    tier_to_proto(tier, n)
                })
                .collect(),
            groups: groups
                .into_iter()
                .map(|g| MappedGroup {
                    id: g.id.to_string(),
                    display_name: g.display_name,
                    members: g.members,
                    role_id: g.role_id.map(|r| r.to_string()),
                    tier_id: g.tier_id.map(|t| t.to_string()),
                })
                .collect(),
            role_source: source_to_proto(source) as i32,
        }))
    }

    async fn preview_mapping(&self, request: Request<MappingChange>) -> Result<Response<MappingEffect>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let (group, role, tier) = mapping_ids(&req)?;
        let now = self.clock.now_ms();
        // Applied for real, then rolled back: the preview runs the very rules a save runs.
        let txn = dirsync_store::begin(&self.db).await.map_err(CoreError::from)?;
        let result = store::apply_mapping(&txn, s.tenant_id, group, role, tier, self.pipeline.ids(), now).await;
        txn.rollback().await.map_err(CoreError::from)?;
        match result {
            Ok((effect, _)) => Ok(Response::new(effect_to_proto(effect))),
            Err(StoreError::Domain(why)) if why.kind() == ErrorKind::LastAdmin => {
                let name = dirsync_store::groups::get(&self.db, s.tenant_id, group)
                    .await
                    .map_err(CoreError::from)?
                    .display_name;
                Ok(Response::new(MappingEffect {
                    group_name: name,
                    refused: Some(why.message().to_owned()),
                    ..Default::default()
                }))
            }
            Err(e) => Err(CoreError::from(e).into()),
        }
    }

    async fn save_mapping(&self, request: Request<MappingChange>) -> Result<Response<MappingEffect>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let (group, role, tier) = mapping_ids(&req)?;
        let effect = self.pipeline.run(s.tenant_id, async |txn, now| {
            let (effect, events) = store::apply_mapping(txn, s.tenant_id, group, role, tier, self.pipeline.ids(), now).await?;
            let role_name = match role {
                Some(r) => roles::get(txn, s.tenant_id, r).await?.name,
                None => "no role".into(),
            };
            let tier_name = match tier {
                Some(t) => licenses::get(txn, s.tenant_id, t).await?.name,
                None => "no license tier".into(),
            };
            let summary = format!(
                "mapped group {} to {role_name} and {tier_name}; {} users changed role, {} changed license, {} seats bought",
                effect.group_name,
                effect.role_moves.iter().map(|m| m.2).sum::<u64>(),
                effect.tier_moves.iter().map(|m| m.2).sum::<u64>(),
                effect.seats_bought
            );
            // The mapping's moves first, then the session's action.
            let done = Done::new(effect).by(Author::system(), events);
            journal_action(txn, &s, Target::Group(group), "mapping_saved", summary, self.pipeline.ids(), now, done).await
        })
        .await?;
        Ok(Response::new(effect_to_proto(effect)))
    }
    async fn people(&self, request: Request<PeopleRequest>) -> Result<Response<PortalPeople>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let search = req.search.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if search.is_some_and(|t| t.chars().count() > MAX_SEARCH) {
            return Err(CoreError::invalid_value(format!("search is at most {MAX_SEARCH} characters")).into());
        }
        let people = store::people(&self.db, s.tenant_id, search)
            .await
            .map_err(CoreError::from)?;
        let truncated = people.len() as u64 >= store::MAX_PEOPLE;
        let needle = search.map(str::to_lowercase);
        let groups = store::mapped_groups(&self.db, s.tenant_id)
            .await
            .map_err(CoreError::from)?
            .into_iter()
            .filter(|g| {
                needle
                    .as_deref()
                    .is_none_or(|n| g.display_name.to_lowercase().contains(n))
            })
            .map(|g| MappedGroup {
                id: g.id.to_string(),
                display_name: g.display_name,
                members: g.members,
                role_id: g.role_id.map(|r| r.to_string()),
                tier_id: g.tier_id.map(|t| t.to_string()),
            })
            .collect();
        Ok(Response::new(PortalPeople {
            people: people
                .into_iter()
                .map(|p| Person {
                    id: p.user.id.to_string(),
                    user_name: p.user.user_name,
                    display_name: p.user.display_name.unwrap_or_default(),
                    email: p.user.email.unwrap_or_default(),
                    active: p.user.active,
                    license_pending: p
                        .license
                        .as_ref()
                        .is_some_and(|h| h.state == dirsync_domain::licenses::State::Pending),
                    license: p.license.map(|h| h.tier),
                    role: p.role,
                })
                .collect(),
            groups,
            truncated,
        }))
    }
    async fn set_invitations(&self, request: Request<InvitationsRequest>) -> Result<Response<Invitations>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let update = crate::settings::Update {
            invites_enabled: Some(req.enabled),
            invite_delay_seconds: Some(req.delay_seconds),
            ..Default::default()
        };
        let next = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let current = dirsync_store::settings::get(txn, s.tenant_id).await?;
                let next = crate::settings::apply(&current, &update)?;
                let next = dirsync_store::settings::put(txn, s.tenant_id, &next, now).await?;
                let summary = if next.invites_enabled {
                    format!(
                        "turned invitations on, {} seconds after a user is created",
                        next.invite_delay_seconds
                    )
                } else {
                    "turned invitations off".to_owned()
                };
                let done = Done::new(next);
                journal_action(
                    txn,
                    &s,
                    Target::Tenant,
                    "invitations_set",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        self.pipeline.languages().forget(s.tenant_id);
        Ok(Response::new(Invitations {
            enabled: next.invites_enabled,
            delay_seconds: u64::try_from(next.invite_delay_seconds).unwrap_or_default(),
        }))
    }

    async fn hold(&self, request: Request<ConnectionActionRequest>) -> Result<Response<ConnectionHold>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let id = parse_id("connection", &req.connection_id)?;
        Ok(Response::new(self.admin.hold(s.tenant_id, id).await?))
    }

    async fn approve_hold(&self, request: Request<ConnectionActionRequest>) -> Result<Response<HoldDecision>, Status> {
        self.decide(request.into_inner(), true).await
    }

    async fn reject_hold(&self, request: Request<ConnectionActionRequest>) -> Result<Response<HoldDecision>, Status> {
        self.decide(request.into_inner(), false).await
    }

    async fn set_hold_policy(&self, request: Request<HoldPolicyRequest>) -> Result<Response<Connection>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let policy = HoldPolicy {
            max_users: req.max_users,
            max_percent: req.max_percent,
            window_seconds: req.window_seconds,
        };
        let conn = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let conn = holds::set_policy(txn, s.tenant_id, conn.id, policy).await?;
                let summary = if policy.enabled() {
                    format!(
                        "set the mass-deprovisioning hold: more than {} users or {} % within {} s wait for approval (0: no limit)",
                        policy.max_users, policy.max_percent, policy.window_seconds
                    )
                } else {
                    "turned the mass-deprovisioning hold off".to_owned()
                };
                let target = Target::Connection(conn.id);
                journal_action(txn, &s, target, "hold_policy_set", summary, self.pipeline.ids(), now, Done::new(conn)).await
            })
            .await?;
        Ok(Response::new(self.admin.connection(conn)))
    }

    async fn set_silence_threshold(
        &self,
        request: Request<SilenceThresholdRequest>,
    ) -> Result<Response<Connection>, Status> {
        let req = request.into_inner();
        let s = self.session(&req.session).await?;
        let conn = self
            .pipeline
            .run(s.tenant_id, async |txn, now| {
                let conn = self.live_connection(txn, &s, &req.connection_id).await?;
                let conn = dirsync_store::silence::set_threshold(txn, s.tenant_id, conn.id, req.seconds).await?;
                let summary = match req.seconds {
                    0 => "turned the silence signal off".to_owned(),
                    n => format!("set the silence signal to {n} seconds without a request"),
                };
                let target = Target::Connection(conn.id);
                let done = Done::new(conn);
                journal_action(
                    txn,
                    &s,
                    target,
                    "silence_threshold_set",
                    summary,
                    self.pipeline.ids(),
                    now,
                    done,
                )
                .await
            })
            .await?;
        Ok(Response::new(self.admin.connection(conn)))
    }
}
