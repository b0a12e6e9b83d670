//! Sync log: every request the IdP sent and every portal action, newest first, filtered by
//! failure or by user; each with what it did, the error and its fix, the trace id and the
//! captured body. While open, new entries arrive by themselves.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{PortalSyncLogRequest, SyncLogEntry};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, PageError, Section, when};
use crate::PortalState;
use crate::i18n::{Texts, hint};
use crate::session::Session;

#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    failed: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

impl LogQuery {
    fn failed_only(&self) -> bool {
        self.failed.as_deref().is_some_and(|f| !f.is_empty())
    }

    fn search(&self) -> Option<String> {
        self.q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned)
    }

    async fn fetch(&self, state: &PortalState, session: &Session, limit: u32) -> Result<Vec<SyncLogEntry>, PageError> {
        Ok(state
            .core
            .clone()
            .sync_log(PortalSyncLogRequest {
                session: session.secret.clone(),
                connection_id: None,
                failed_only: self.failed_only(),
                search: self.search(),
                limit,
                after_id: self.after.clone().filter(|a| !a.is_empty()),
            })
            .await
            .map_err(PageError::new(state, session.lang))?
            .into_inner()
            .entries)
    }
}

pub fn head(t: &Texts) -> Markup {
    html! {
        thead { tr {
            th scope="col" { (t.col_time) }
            th scope="col" { (t.col_request) }
            th scope="col" { (t.col_status) }
            th scope="col" { (t.col_result) }
        } }
    }
}

/// Table rows for `entries`, in the order given.
pub fn entry_rows(ctx: &Ctx<'_>, entries: &[SyncLogEntry]) -> Markup {
    let t = ctx.t;
    html! {
        @for e in entries {
            @let failed = e.status >= 400;
            tr data-id=(e.id) class=[failed.then_some("failed")] {
                td { time { (when(e.time.as_ref())) } }
                td { code { (e.method) " " (e.path) } }
                td {
                    @if e.status == 0 { (t.in_progress) }
                    @else if failed { span class="badge bad" { (e.status) } }
                    @else { span class="badge good" { (e.status) } }
                }
                td {
                    (super::log_facts::what(ctx.lang, e))
                    @if failed || e.trace_id.is_some() || e.body.is_some() {
                        details {
                            summary { (t.details) }
                            dl {
                                @if let Some(err) = &e.error { dt { (t.error) } dd { code { (err) } } }
                                @if let Some(h) = hint(t, e.status) { dt { (t.hint) } dd { (ctx.with_product(h)) } }
                                @if let Some(tr) = &e.trace_id { dt { (t.trace) } dd { code { (tr) } } }
                                @if let Some(b) = &e.body { dt { (t.body) } dd { pre { (b) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn show(
    State(state): State<PortalState>,
    session: Session,
    Query(q): Query<LogQuery>,
) -> Result<Response, PageError> {
    let entries = q.fetch(&state, &session, 100).await?;
    let ctx = Ctx::of(&state, &session, Section::Log);
    let t = ctx.t;
    let mut live = String::from("/portal/log/entries?");
    {
        let mut s = form_urlencoded::Serializer::new(&mut live);
        if q.failed_only() {
            s.append_pair("failed", "1");
        }
        if let Some(text) = q.search() {
            s.append_pair("q", &text);
        }
    }
    let body = html! {
        form method="get" action="/portal/log" class="row filters" {
            div class="check" {
                input type="checkbox" id="failed" name="failed" value="1" checked[q.failed_only()];
                label for="failed" { (t.log_failed_only) }
            }
            label for="q" { (t.log_search) }
            input type="search" id="q" name="q" value=[q.search()] maxlength="200";
            button type="submit" { (t.log_apply) }
        }
        p class="muted" { (t.log_live) }
        table class="log" {
            caption class="visually-hidden" { (t.log_title) }
            (head(t))
            tbody id="log-rows" data-live=(live) aria-live="polite" {
                (entry_rows(&ctx, &entries))
            }
        }
        @if entries.is_empty() { p id="log-empty" { (t.log_empty) } }
    };
    Ok(ctx.page(t.log_title, body).into_response())
}

/// Rows newer than `after`, newest first, for the page's script to put on top.
pub async fn entries(
    State(state): State<PortalState>,
    session: Session,
    Query(q): Query<LogQuery>,
) -> Result<Markup, PageError> {
    let mut entries = q.fetch(&state, &session, 200).await?;
    if q.after.as_deref().is_some_and(|a| !a.is_empty()) {
        // Following returns oldest first.
        entries.reverse();
    }
    let ctx = Ctx::of(&state, &session, Section::Log);
    Ok(entry_rows(&ctx, &entries))
}
