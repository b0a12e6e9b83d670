//! Setup: choose the IdP, follow its guide, paste the Tenant URL and token, and watch the
//! IdP's first requests arrive (live verification).

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{ChooseIdpRequest, ConnectionStats, PortalSyncLogRequest, SessionRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::log::entry_rows;
use super::{Ctx, PageError, Section, credentials, trusted};
use crate::PortalState;
use crate::i18n::{fill, hint};
use crate::idp::{self, IDPS};
use crate::session::Session;

/// The session's connection, if it is live.
pub fn current(session: &Session, conns: &[ConnectionStats]) -> Option<ConnectionStats> {
    let id = session.info.connection_id.as_deref()?;
    conns
        .iter()
        .find(|c| c.connection.as_ref().is_some_and(|c| c.id == id && c.ended.is_none()))
        .cloned()
}

/// The Setup page, with the token when the admin asked to see it.
pub async fn render(state: &PortalState, session: &Session, token: Option<&str>) -> Result<Response, PageError> {
    let err = PageError::new(state, session.lang);
    let overview = state
        .core
        .clone()
        .overview(SessionRequest {
            session: session.secret.clone(),
        })
        .await
        .map_err(err)?
        .into_inner();
    let ctx = Ctx::of(state, session, Section::Setup);
    let t = ctx.t;
    let stats = current(session, &overview.connections);
    let conn = stats.as_ref().and_then(|s| s.connection.clone());
    let chosen = conn.as_ref().and_then(|c| idp::find(&c.idp_profile));
    let verify = match &conn {
        Some(c) => Some(verify_panel(state, session, &c.id).await?),
        None => None,
    };
    let body = html! {
        section aria-labelledby="choose" {
            h2 id="choose" { (t.setup_choose) }
            p { (t.setup_choose_help) }
            form method="post" action="/portal/setup/idp" class="idps" {
                @for i in IDPS {
                    @if chosen.is_some_and(|c| c.profile == i.profile) {
                        button type="submit" name="idp" value=(i.profile) class="idp selected" aria-pressed="true" { (i.name) }
                    } @else {
                        button type="submit" name="idp" value=(i.profile) class="idp" aria-pressed="false" { (i.name) }
                    }
                }
            }
        }
        @if let (Some(c), Some(i)) = (&conn, chosen) {
            section aria-labelledby="steps" {
                h2 id="steps" { (fill(t.setup_steps, &[("idp", i.name)])) }
                @if let Some(note) = t.guide_note { p class="muted" { (note) } }
                div class="guide" { (trusted(i.steps_html(ctx.lang))) }
            }
            section aria-labelledby="credentials" {
                h2 id="credentials" { (fill(t.setup_credentials, &[("idp", i.name)])) }
                (credentials(&ctx, c, token, "setup"))
            }
            section aria-labelledby="verify-title" {
                h2 id="verify-title" { (t.setup_verify) }
                @if let Some(v) = verify {
                    div id="verify" class="verify" tabindex="-1" aria-live="polite" data-poll={ "/portal/setup/verify?connection=" (c.id) } {
                        (v)
                    }
                }
                p { a href="/portal/setup#verify-title" { (t.verify_check) } }
            }
        }
    };
    Ok(ctx.page(t.setup_title, body).into_response())
}

/// What the IdP sent so far, newest first, and how to fix the newest failure.
async fn verify_panel(state: &PortalState, session: &Session, connection_id: &str) -> Result<Markup, PageError> {
    let entries = state
        .core
        .clone()
        .sync_log(PortalSyncLogRequest {
            session: session.secret.clone(),
            connection_id: Some(connection_id.to_owned()),
            failed_only: false,
            search: None,
            limit: 10,
            after_id: None,
        })
        .await
        .map_err(PageError::new(state, session.lang))?
        .into_inner()
        .entries;
    let ctx = Ctx::of(state, session, Section::Setup);
    let t = ctx.t;
    // The portal's own actions are not the IdP's requests.
    let from_idp: Vec<_> = entries.into_iter().filter(|e| e.method != "PORTAL").collect();
    Ok(html! {
        @if from_idp.is_empty() {
            p class="waiting" { span class="spinner" aria-hidden="true" {} (t.verify_waiting) }
        } @else {
            @let newest = &from_idp[0];
            @if newest.status >= 400 {
                div class="notice error" role="alert" {
                    p { strong { (t.verify_failed) } }
                    @if let Some(e) = &newest.error { p { code { (e) } } }
                    @if let Some(h) = hint(t, newest.status) { p { (ctx.with_product(h)) } }
                }
            } @else {
                p class="notice ok" { (t.verify_received) }
            }
            table class="log" {
                caption class="visually-hidden" { (t.verify_received) }
                (super::log::head(t))
                tbody { (entry_rows(&ctx, &from_idp)) }
            }
        }
    })
}

pub async fn show(State(state): State<PortalState>, session: Session) -> Result<Response, PageError> {
    render(&state, &session, None).await
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    connection: String,
}

/// The verification panel alone, for the page's script to refresh.
pub async fn verify(
    State(state): State<PortalState>,
    session: Session,
    Query(q): Query<VerifyQuery>,
) -> Result<Markup, PageError> {
    verify_panel(&state, &session, &q.connection).await
}

#[derive(Deserialize)]
pub struct IdpForm {
    idp: String,
}

pub async fn choose_idp(
    State(state): State<PortalState>,
    mut session: Session,
    Form(form): Form<IdpForm>,
) -> Result<Response, PageError> {
    let info = state
        .core
        .clone()
        .choose_idp(ChooseIdpRequest {
            session: session.secret.clone(),
            idp_profile: form.idp,
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    session.info = info;
    render(&state, &session, None).await
}
