//! Connection: details and health, the token shown again only on a deliberate click, rotate
//! with a grace period, revoke, and ending the connection (users stay).

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{ConnectionActionRequest, PortalRotateTokenRequest, SessionRequest};
use maud::html;
use serde::Deserialize;

use super::{Ctx, PageError, Section, credentials, when};
use crate::PortalState;
use crate::i18n::{fill, hint};
use crate::idp;
use crate::session::Session;

pub(crate) async fn render(
    state: &PortalState,
    session: &Session,
    token: Option<(&str, &str)>,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let overview = state
        .core
        .clone()
        .overview(SessionRequest {
            session: session.secret.clone(),
        })
        .await
        .map_err(PageError::new(state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(state, session, Section::Connection);
    let t = ctx.t;
    let (live, ended): (Vec<_>, Vec<_>) = overview
        .connections
        .into_iter()
        .filter(|s| s.connection.is_some())
        .partition(|s| s.connection.as_ref().is_some_and(|c| c.ended.is_none()));
    // The session's own connection first.
    let mine = session.info.connection_id.as_deref();
    let mut live = live;
    live.sort_by_key(|s| s.connection.as_ref().map(|c| c.id.as_str()) != mine);
    let body = html! {
        @if let Some(n) = &notice {
            div class="notice ok" role="status" { p { (n) } }
        }
        @if live.is_empty() {
            p { (t.conn_none) " " a href="/portal/setup" { (t.nav_setup) } }
        }
        @for s in &live {
            @if let Some(c) = &s.connection {
                @let name = idp::find(&c.idp_profile).map_or(c.idp_profile.as_str(), |i| i.name);
                section class="card" aria-labelledby={ "c-" (c.id) } {
                    h2 id={ "c-" (c.id) } { (c.name) }
                    dl class="facts" {
                        dt { (t.idp) } dd { (name) }
                        dt { (t.created) } dd { (when(c.created.as_ref())) }
                        dt { (t.last_request) } dd { @if s.last_request.is_some() { (when(s.last_request.as_ref())) } @else { (t.never) } }
                        dt { (t.last_success) } dd { @if s.last_success.is_some() { (when(s.last_success.as_ref())) } @else { (t.never) } }
                        dt { (t.requests_24h) } dd { (fill(t.ok_failed, &[("ok", &s.successes_24h.to_string()), ("failed", &s.failures_24h.to_string())])) }
                        @if let Some(e) = &s.last_error {
                            dt { (t.last_error) }
                            dd {
                                (when(e.time.as_ref())) " · " (e.method) " " (e.path) " · " (e.status)
                                @if let Some(msg) = &e.error { br; code { (msg) } }
                                @if let Some(h) = hint(t, e.status) { br; (ctx.with_product(h)) }
                            }
                        }
                    }
                    (credentials(&ctx, c, token.filter(|(id, _)| *id == c.id).map(|(_, s)| s), "connection"))
                    (super::silence::settings(&ctx, c))
                    h3 { (t.rotate_title) }
                    p { (t.rotate_help) }
                    form method="post" action={ "/portal/connection/" (c.id) "/rotate" } class="row" {
                        label for={ "grace-" (c.id) } { (t.grace) }
                        select id={ "grace-" (c.id) } name="grace" {
                            option value="0" { (t.grace_none) }
                            option value="3600" selected { (t.grace_hour) }
                            option value="86400" { (t.grace_day) }
                            option value="604800" { (t.grace_week) }
                        }
                        button type="submit" { (t.rotate) }
                    }
                    (super::hold::status(&ctx, c))
                    h3 { (t.revoke_title) }
                    p { (t.revoke_help) }
                    form method="post" action={ "/portal/connection/" (c.id) "/revoke" } {
                        button type="submit" class="danger" { (t.revoke) }
                    }
                    h3 { (t.end_title) }
                    p { (ctx.with_product(t.end_help)) }
                    p { a class="button danger" href={ "/portal/connection/" (c.id) "/end" } { (t.end) } }
                }
            }
        }
        @if !ended.is_empty() {
            h2 { (t.conn_ended_list) }
            ul {
                @for s in &ended {
                    @if let Some(c) = &s.connection {
                        li { (c.name) " · " (when(c.ended.as_ref())) }
                    }
                }
            }
        }
    };
    Ok(ctx.page(t.conn_title, body).into_response())
}

pub async fn show(State(state): State<PortalState>, session: Session) -> Result<Response, PageError> {
    render(&state, &session, None, None).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    back: String,
}

pub async fn reveal(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<RevealForm>,
) -> Result<Response, PageError> {
    let creds = state
        .core
        .clone()
        .reveal_token(ConnectionActionRequest {
            session: session.secret.clone(),
            connection_id: id.clone(),
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    if form.back == "setup" {
        super::setup::render(&state, &session, Some(&creds.token)).await
    } else {
        render(&state, &session, Some((&id, &creds.token)), None).await
    }
}

#[derive(Deserialize)]
pub struct RotateForm {
    grace: u64,
}

pub async fn rotate(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, PageError> {
    let creds = state
        .core
        .clone()
        .rotate_token(PortalRotateTokenRequest {
            session: session.secret.clone(),
            connection_id: id.clone(),
            grace_seconds: form.grace,
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let notice = session.lang.texts().rotated.to_owned();
    render(&state, &session, Some((&id, &creds.token)), Some(notice)).await
}

pub async fn revoke(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let done = state
        .core
        .clone()
        .revoke_tokens(ConnectionActionRequest {
            session: session.secret.clone(),
            connection_id: id,
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let notice = fill(session.lang.texts().revoked, &[("n", &done.revoked.to_string())]);
    render(&state, &session, None, Some(notice)).await
}

/// The deliberate step before ending: what ending does, and a button that does it.
pub async fn confirm_end(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let overview = state
        .core
        .clone()
        .overview(SessionRequest {
            session: session.secret.clone(),
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(&state, &session, Section::Connection);
    let t = ctx.t;
    let Some(conn) = overview
        .connections
        .into_iter()
        .filter_map(|s| s.connection)
        .find(|c| c.id == id && c.ended.is_none())
    else {
        return Ok(ctx.message(StatusCode::NOT_FOUND, t.not_found_title, t.not_found));
    };
    let body = html! {
        p { strong { (conn.name) } }
        p { (ctx.with_product(t.end_help)) }
        form method="post" action={ "/portal/connection/" (conn.id) "/end" } class="row" {
            button type="submit" class="danger" { (t.end_confirm) }
            a class="button" href="/portal/connection" { (t.cancel) }
        }
    };
    Ok(ctx.page(t.end_confirm_title, body).into_response())
}

pub async fn end(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let done = state
        .core
        .clone()
        .end_connection(ConnectionActionRequest {
            session: session.secret.clone(),
            connection_id: id,
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let t = session.lang.texts();
    let notice = fill(
        t.ended_done,
        &[
            ("users", &done.users_unlinked.to_string()),
            ("groups", &done.groups_unlinked.to_string()),
            ("product", &state.config.product_name),
        ],
    );
    render(&state, &session, None, Some(notice)).await
}
