//! The mass-deprovisioning hold of a connection: the banner every page shows while one is
//! pending, and the hold view (what waits, approve, reject, the hold's settings).

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{ConnectionActionRequest, HoldPolicyRequest, PortalSession};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, PageError, Section, when};
use crate::PortalState;
use crate::i18n::fill;
use crate::session::Session;

/// The banner of a tenant with held deprovisioning: how many users wait, and where to decide.
pub fn banner(ctx: &Ctx<'_>, session: &PortalSession) -> Markup {
    let h = ctx.lang.hold();
    html! {
        @for p in &session.holds {
            div class="notice error hold" role="alert" {
                p {
                    (fill(h.banner, &[("n", &p.held_users.to_string()), ("product", ctx.product())]))
                    " "
                    a href={ "/portal/connection/" (p.connection_id) "/hold" } { (h.banner_link) }
                }
            }
        }
    }
}

/// The hold's line on the Connection page's card.
pub fn status(ctx: &Ctx<'_>, c: &dirsync_proto::v1::Connection) -> Markup {
    let h = ctx.lang.hold();
    let on = c.hold_max_users > 0 || c.hold_max_percent > 0;
    let text = if on {
        fill(
            h.status_on,
            &[
                ("users", &c.hold_max_users.to_string()),
                ("percent", &c.hold_max_percent.to_string()),
                ("minutes", &(c.hold_window_seconds / 60).to_string()),
            ],
        )
    } else {
        h.status_off.to_owned()
    };
    html! {
        h3 { (h.settings_title) }
        p { (text) " " a href={ "/portal/connection/" (c.id) "/hold" } { (h.title) " / " (h.settings_title) } }
    }
}

async fn render(
    state: &PortalState,
    session: &Session,
    id: &str,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let hold = state
        .core
        .clone()
        .hold(ConnectionActionRequest {
            session: session.secret.clone(),
            connection_id: id.to_owned(),
        })
        .await
        .map_err(PageError::new(state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(state, session, Section::Connection);
    let h = ctx.lang.hold();
    let t = ctx.t;
    let listed = hold.changes.len() as u64;
    let body = html! {
        @if let Some(n) = &notice {
            div class="notice ok" role="status" { p { (n) } }
        }
        @if hold.pending {
            p { (ctx.with_product(h.intro)) }
            table {
                thead { tr { th scope="col" { (h.user) } th scope="col" { (h.effect) } th scope="col" { (h.since) } } }
                tbody {
                    @for c in &hold.changes {
                        tr {
                            td { (c.user_name) }
                            td { @if c.effect == "delete" { (h.delete) } @else { (h.deactivate) } }
                            td { (when(c.time.as_ref())) }
                        }
                    }
                }
            }
            @if hold.held_users > listed {
                p class="muted" { (fill(h.more, &[("n", &(hold.held_users - listed).to_string())])) }
            }
            form method="post" action={ "/portal/connection/" (hold.connection_id) "/hold/approve" } {
                p { (ctx.with_product(h.approve_help)) }
                button type="submit" class="danger" { (h.approve) }
            }
            form method="post" action={ "/portal/connection/" (hold.connection_id) "/hold/reject" } {
                p { (h.reject_help) }
                button type="submit" { (h.reject) }
            }
        } @else {
            p { (h.none) }
        }
        section class="card" aria-labelledby="hold-settings" {
            h2 id="hold-settings" { (h.settings_title) }
            p { (h.settings_help) }
            form method="post" action={ "/portal/connection/" (hold.connection_id) "/hold/settings" } {
                div class="field" {
                    label for="hold-users" { (h.max_users) }
                    input type="number" id="hold-users" name="max_users" min="0" max="1000000" value=(hold.hold_max_users);
                }
                div class="field" {
                    label for="hold-percent" { (h.max_percent) }
                    input type="number" id="hold-percent" name="max_percent" min="0" max="100" value=(hold.hold_max_percent);
                }
                div class="field" {
                    label for="hold-window" { (h.window) }
                    input type="number" id="hold-window" name="window_minutes" min="1" max="10080" value=(hold.hold_window_seconds / 60);
                }
                p class="muted" { (h.off_hint) }
                button type="submit" { (h.save) }
            }
        }
        p { a href="/portal/connection" { (t.nav_connection) } }
    };
    Ok(ctx.page(h.title, body).into_response())
}

pub async fn show(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    render(&state, &session, &id, None).await
}

async fn decide(state: &PortalState, session: &Session, id: String, approve: bool) -> Result<Response, PageError> {
    let request = ConnectionActionRequest {
        session: session.secret.clone(),
        connection_id: id.clone(),
    };
    let mut core = state.core.clone();
    let done = if approve {
        core.approve_hold(request).await
    } else {
        core.reject_hold(request).await
    }
    .map_err(PageError::new(state, session.lang))?
    .into_inner();
    let h = session.lang.hold();
    let notice = fill(
        if approve { h.approved } else { h.rejected },
        &[("n", &done.users.to_string())],
    );
    // The session was read before the decision: its banner for this connection is gone now.
    let mut info = session.info.clone();
    info.holds.retain(|p| p.connection_id != id);
    let session = Session {
        secret: session.secret.clone(),
        info,
        lang: session.lang,
    };
    render(state, &session, &id, Some(notice)).await
}

pub async fn approve(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    decide(&state, &session, id, true).await
}

pub async fn reject(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    decide(&state, &session, id, false).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    max_users: u32,
    max_percent: u32,
    window_minutes: u64,
}

pub async fn settings(
    State(state): State<PortalState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let c = state
        .core
        .clone()
        .set_hold_policy(HoldPolicyRequest {
            session: session.secret.clone(),
            connection_id: id.clone(),
            max_users: form.max_users,
            max_percent: form.max_percent,
            window_seconds: form.window_minutes.saturating_mul(60),
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let h = session.lang.hold();
    let on = c.hold_max_users > 0 || c.hold_max_percent > 0;
    let notice = if on { h.saved_on } else { h.saved_off }.to_owned();
    render(&state, &session, &id, Some(notice)).await
}
