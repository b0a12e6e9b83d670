//! People: the users and groups the IdP provisioned, searchable, each user with role,
//! license and status.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::PeopleRequest;
use maud::html;
use serde::Deserialize;

use super::{Ctx, PageError, Section};
use crate::PortalState;
use crate::session::Session;

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: Option<String>,
}

pub async fn show(
    State(state): State<PortalState>,
    session: Session,
    Query(query): Query<PeopleQuery>,
) -> Result<Response, PageError> {
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    let people = state
        .core
        .clone()
        .people(PeopleRequest {
            session: session.secret.clone(),
            search: search.clone(),
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let ctx = Ctx::of(&state, &session, Section::People);
    let t = ctx.t;
    let dash = "–";
    let body = html! {
        p { (t.people_intro) }
        form method="get" action="/portal/people" class="row filters" role="search" {
            label for="q" { (t.people_search) }
            input type="search" id="q" name="q" value=[search.as_deref()] maxlength="200";
            button type="submit" { (t.search) }
        }
        @if people.people.is_empty() {
            p { (t.people_empty) }
        } @else {
            table class="log people" {
                caption class="visually-hidden" { (t.people_title) }
                thead { tr {
                    th scope="col" { (t.col_user) }
                    th scope="col" { (t.col_email) }
                    th scope="col" { (t.map_role) }
                    th scope="col" { (t.col_license) }
                    th scope="col" { (t.col_state) }
                } }
                tbody {
                    @for p in &people.people {
                        tr class=[(!p.active).then_some("inactive")] {
                            td {
                                strong { (p.user_name) }
                                @if !p.display_name.is_empty() { br; span class="muted" { (p.display_name) } }
                            }
                            td { @if p.email.is_empty() { (dash) } @else { (p.email) } }
                            td { (p.role.as_deref().unwrap_or(dash)) }
                            td {
                                (p.license.as_deref().unwrap_or(dash))
                                @if p.license_pending { " (" (t.pending_seat) ")" }
                            }
                            td { @if p.active { (t.active) } @else { (t.inactive) } }
                        }
                    }
                }
            }
            @if people.truncated { p class="muted" { (t.people_truncated) } }
        }
        h2 { (t.groups_title) }
        @if people.groups.is_empty() {
            p { (t.map_no_groups) }
        } @else {
            table class="log" {
                caption class="visually-hidden" { (t.groups_title) }
                thead { tr { th scope="col" { (t.col_group) } th scope="col" { (t.col_members) } } }
                tbody {
                    @for g in &people.groups {
                        tr { td { (g.display_name) } td { (g.members) } }
                    }
                }
            }
        }
    };
    Ok(ctx.page(t.people_title, body).into_response())
}
