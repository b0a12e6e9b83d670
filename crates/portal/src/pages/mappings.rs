//! Mappings: the IdP's groups mapped to a role and a license tier. A change is previewed first
//! (the core applies it and rolls back: "3 users become Admin; 12 move from Team to Starter;
//! 4 more seats will be bought"), then saved; the rules are explained where they bite.

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{InvitationsRequest, MappingChange, MappingEffect, Move, RoleSource, SessionRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, PageError, Section, secondary};
use crate::PortalState;
use crate::i18n::{Texts, fill};
use crate::session::Session;

#[derive(Debug, Deserialize)]
pub struct Change {
    group: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    tier: String,
}

impl Change {
    fn request(&self, session: &Session) -> MappingChange {
        MappingChange {
            session: session.secret.clone(),
            group_id: self.group.clone(),
            role_id: self.role.clone(),
            tier_id: self.tier.clone(),
        }
    }
}

fn lines(t: &Texts, m: &[Move], role: bool) -> Vec<String> {
    m.iter()
        .map(|mv| {
            let n = mv.users.to_string();
            let template = match (mv.from.is_empty(), mv.to.is_empty(), role) {
                (true, _, true) => t.get_role,
                (_, true, true) => t.lose_role,
                (_, _, true) => t.move_role,
                (true, _, false) => t.get_tier,
                (_, true, false) => t.lose_tier,
                _ => t.move_tier,
            };
            fill(template, &[("n", &n), ("from", &mv.from), ("to", &mv.to)])
        })
        .collect()
}

/// What a change does, as sentences.
fn effect_list(t: &Texts, e: &MappingEffect, done: bool) -> Markup {
    let mut items = lines(t, &e.role_moves, true);
    items.extend(lines(t, &e.tier_moves, false));
    if e.seats_bought > 0 {
        let template = if done { t.seats_bought_done } else { t.seats_bought };
        items.push(fill(template, &[("n", &e.seats_bought.to_string())]));
    }
    html! {
        @if items.is_empty() {
            p class="effect" { (t.nothing_moves) }
        } @else {
            ul class="effect" { @for i in &items { li { (i) } } }
        }
    }
}

async fn render(state: &PortalState, session: &Session, notice: Option<Markup>) -> Result<Response, PageError> {
    let m = state
        .core
        .clone()
        .mappings(SessionRequest {
            session: session.secret.clone(),
        })
        .await
        .map_err(PageError::new(state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(state, session, Section::Mappings);
    let t = ctx.t;
    let mappable: Vec<_> = m.roles.iter().filter(|r| !r.is_guest).collect();
    let body = html! {
        @if let Some(n) = notice { div class="notice ok" role="status" { (n) } }
        p { (t.map_intro) }
        ul class="rules" {
            li { (t.map_rule_role) }
            li { (t.map_rule_admin) }
            @if m.roles.iter().any(|r| r.is_guest) { li { (t.map_rule_guest) } }
            li { (t.map_rule_license) }
        }
        @if m.role_source == RoleSource::Attribute as i32 {
            p class="notice" { (t.map_attribute_source) }
        }
        @let inv = m.invitations.unwrap_or_default();
        section class="card" aria-labelledby="invitations" {
            h2 id="invitations" { (t.inv_title) }
            p { (ctx.with_product(t.inv_help)) }
            form method="post" action="/portal/mappings/invitations" class="row" {
                div class="check" {
                    input type="checkbox" id="invites" name="enabled" value="1" checked[inv.enabled];
                    label for="invites" { (t.inv_enabled) }
                }
                label for="delay" { (t.inv_delay) }
                select id="delay" name="delay" {
                    @for (secs, label) in [(0, t.delay_now), (600, t.delay_10m), (3600, t.delay_1h), (86_400, t.delay_1d)] {
                        option value=(secs) selected[inv.delay_seconds == secs] { (label) }
                    }
                    @if ![0, 600, 3600, 86_400].contains(&inv.delay_seconds) {
                        option value=(inv.delay_seconds) selected { (inv.delay_seconds) " s" }
                    }
                }
                button type="submit" { (t.inv_save) }
            }
        }
        @if m.groups.is_empty() { p { (t.map_no_groups) } }
        @for g in &m.groups {
            form method="get" action="/portal/mappings/preview" class="card mapping" {
                input type="hidden" name="group" value=(g.id);
                h2 { (g.display_name) }
                p class="muted" { (fill(t.map_members, &[("n", &g.members.to_string())])) }
                div class="row" {
                    label for={ "role-" (g.id) } { (t.map_role) }
                    select id={ "role-" (g.id) } name="role" {
                        option value="" selected[g.role_id.is_none()] { (t.map_none) }
                        @for r in &mappable {
                            option value=(r.id) selected[g.role_id.as_deref() == Some(r.id.as_str())] { (r.name) }
                        }
                    }
                    label for={ "tier-" (g.id) } { (t.map_tier) }
                    select id={ "tier-" (g.id) } name="tier" {
                        option value="" selected[g.tier_id.is_none()] { (t.map_none) }
                        @for tier in &m.tiers {
                            option value=(tier.id) selected[g.tier_id.as_deref() == Some(tier.id.as_str())] { (tier.name) }
                        }
                    }
                    button type="submit" { (t.map_preview) }
                }
            }
        }
    };
    Ok(ctx.page(t.map_title, body).into_response())
}

pub async fn show(State(state): State<PortalState>, session: Session) -> Result<Response, PageError> {
    render(&state, &session, None).await
}

pub async fn preview(
    State(state): State<PortalState>,
    session: Session,
    Query(change): Query<Change>,
) -> Result<Response, PageError> {
    let e = state
        .core
        .clone()
        .preview_mapping(change.request(&session))
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(&state, &session, Section::Mappings);
    let t = ctx.t;
    let body = html! {
        @match &e.refused {
            Some(why) => {
                div class="notice error" role="alert" {
                    p { strong { (t.refused_title) } }
                    p { (t.refused_last_admin) }
                    (secondary(&ctx, Some(why)))
                    p { (t.map_rule_admin) }
                }
                p { a class="button" href="/portal/mappings" { (t.cancel) } }
            }
            None => {
                p { (fill(t.preview_intro, &[("n", &e.members.to_string()), ("group", &e.group_name)])) }
                (effect_list(t, &e, false))
                form method="post" action="/portal/mappings/save" class="row" {
                    input type="hidden" name="group" value=(change.group);
                    input type="hidden" name="role" value=(change.role);
                    input type="hidden" name="tier" value=(change.tier);
                    button type="submit" class="primary" { (t.save) }
                    a class="button" href="/portal/mappings" { (t.cancel) }
                }
            }
        }
    };
    Ok(ctx
        .page(&fill(t.preview_title, &[("group", &e.group_name)]), body)
        .into_response())
}

pub async fn save(
    State(state): State<PortalState>,
    session: Session,
    Form(change): Form<Change>,
) -> Result<Response, PageError> {
    let e = state
        .core
        .clone()
        .save_mapping(change.request(&session))
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let t = session.lang.texts();
    let notice = html! {
        p { (fill(t.saved, &[("group", &e.group_name)])) }
        (effect_list(t, &e, true))
    };
    render(&state, &session, Some(notice)).await
}

#[derive(Debug, Deserialize)]
pub struct InvitationsForm {
    #[serde(default)]
    enabled: Option<String>,
    delay: u64,
}

pub async fn invitations(
    State(state): State<PortalState>,
    session: Session,
    Form(form): Form<InvitationsForm>,
) -> Result<Response, PageError> {
    let inv = state
        .core
        .clone()
        .set_invitations(InvitationsRequest {
            session: session.secret.clone(),
            enabled: form.enabled.is_some_and(|e| !e.is_empty()),
            delay_seconds: form.delay,
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let t = session.lang.texts();
    let notice = html! { p { (if inv.enabled { t.inv_on } else { t.inv_off }) } };
    render(&state, &session, Some(notice)).await
}
