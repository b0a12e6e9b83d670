//! The pages: one module per page, one layout for all.

pub mod assets;
pub mod connection;
pub mod hold;
pub mod link;
pub mod log;
pub mod log_facts;
pub mod mappings;
pub mod people;
pub mod setup;
pub mod silence;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dirsync_proto::Timestamp;
use dirsync_proto::v1::{PortalIntent, PortalSession, SessionRequest};
use http::header::SET_COOKIE;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::PortalState;
use crate::i18n::{Lang, Texts, fill, reason, refusal};
use crate::session::{self, Session};

/// The sections a session can open, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Setup,
    Connection,
    Log,
    Mappings,
    People,
    None,
}

/// What the layout needs to know about the request.
pub struct Ctx<'a> {
    pub state: &'a PortalState,
    pub lang: Lang,
    pub t: &'static Texts,
    pub session: Option<&'a PortalSession>,
    pub section: Section,
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a PortalState, lang: Lang, session: Option<&'a PortalSession>, section: Section) -> Self {
        Ctx {
            state,
            lang,
            t: lang.texts(),
            session,
            section,
        }
    }

    pub fn of(state: &'a PortalState, s: &'a Session, section: Section) -> Self {
        Ctx::new(state, s.lang, Some(&s.info), section)
    }

    pub fn product(&self) -> &str {
        &self.state.config.product_name
    }

    /// A text with `{product}` filled in.
    pub fn with_product(&self, text: &str) -> String {
        fill(text, &[("product", self.product())])
    }

    /// The whole page around `body`.
    pub fn page(&self, title: &str, body: Markup) -> Markup {
        let t = self.t;
        let config = &self.state.config;
        let nav = [
            (Section::Setup, "/portal/setup", t.nav_setup),
            (Section::Connection, "/portal/connection", t.nav_connection),
            (Section::Log, "/portal/log", t.nav_log),
            (Section::Mappings, "/portal/mappings", t.nav_mappings),
            (Section::People, "/portal/people", t.nav_people),
        ];
        let other = self.lang.other();
        // The switch reloads the section's page (the current URL may be a form's POST target).
        let here = match self.section {
            Section::Setup => "/portal/setup",
            Section::Connection => "/portal/connection",
            Section::Log => "/portal/log",
            Section::Mappings => "/portal/mappings",
            Section::People => "/portal/people",
            Section::None => "",
        };
        html! {
            (DOCTYPE)
            html lang=(self.lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " · " (config.product_name) }
                    link rel="stylesheet" href="/portal/assets/portal.css";
                    link rel="stylesheet" href="/portal/assets/theme.css";
                    script src="/portal/assets/portal.js" defer {}
                }
                body data-copied=(t.copied) {
                    a class="skip" href="#main" { (t.skip_link) }
                    header class="top" {
                        div class="brand" {
                            @if let Some(logo) = &config.logo_url {
                                img src=(logo) alt="" height="32";
                            }
                            span class="product" { (config.product_name) }
                            span class="portal" { (t.portal) }
                        }
                        div class="tools" {
                            @if let Some(s) = self.session {
                                span class="tenant" { (t.organisation) ": " strong { (s.tenant_name) } }
                            }
                            a href={ (here) "?lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) {
                                (other.texts().language_name)
                            }
                            @if self.session.is_some() {
                                form method="post" action="/portal/logout" class="inline" {
                                    button type="submit" class="link" { (t.sign_out) }
                                }
                            }
                        }
                    }
                    @if self.session.is_some() {
                        nav aria-label=(t.nav_label) {
                            ul {
                                @for (section, href, label) in nav {
                                    li {
                                        @if section == self.section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main id="main" tabindex="-1" {
                        @if let Some(s) = self.session {
                            (hold::banner(self, s))
                        }
                        h1 { (title) }
                        (silence::banner(self))
                        (body)
                    }
                    @if let Some(url) = self.session.and_then(|s| s.return_url.as_deref()) {
                        footer {
                            a href=(url) { (self.with_product(t.back_to)) }
                        }
                    }
                }
            }
        }
    }

    /// A page with one message and a status.
    pub fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        let body = html! { p { (text) } };
        (status, self.page(title, body)).into_response()
    }
}

/// `2026-12-01 14:03:05` (UTC).
pub fn when(ts: Option<&Timestamp>) -> String {
    ts.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Raw HTML we produced ourselves (the IdP guides rendered from our own docs).
pub fn trusted(html: String) -> PreEscaped<String> {
    PreEscaped(html)
}

/// An error from the core, as a page.
pub struct PageError {
    pub status: tonic::Status,
    pub lang: Lang,
    pub state: PortalState,
}

impl PageError {
    pub fn new(state: &PortalState, lang: Lang) -> impl FnOnce(tonic::Status) -> PageError + '_ {
        move |status| PageError {
            status,
            lang,
            state: state.clone(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let ctx = Ctx::new(&self.state, self.lang, None, Section::None);
        let t = ctx.t;
        let status = match self.status.code() {
            tonic::Code::Unauthenticated => return session_ended(&self.state, self.lang),
            tonic::Code::NotFound => StatusCode::NOT_FOUND,
            tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
            tonic::Code::FailedPrecondition | tonic::Code::AlreadyExists | tonic::Code::Aborted => StatusCode::CONFLICT,
            _ => {
                tracing::error!(error = %self.status, "portal: core call failed");
                return ctx.message(StatusCode::BAD_GATEWAY, t.error_title, &ctx.with_product(t.hint_other));
            }
        };
        let refusal = refusal(t, reason(&self.status));
        let detail = refusal.detail.then(|| self.status.message());
        let body = html! {
            div class="notice error" role="alert" {
                p { (ctx.with_product(refusal.text)) }
                (secondary(&ctx, detail))
            }
        };
        (status, ctx.page(refusal.title, body)).into_response()
    }
}

/// The core's detail of a refusal, under the portal's own text: marked as English, since the
/// core speaks only that.
pub fn secondary(ctx: &Ctx<'_>, detail: Option<&str>) -> Markup {
    html! {
        @if let Some(d) = detail.filter(|d| !d.is_empty()) {
            p class="muted" { (ctx.t.refused_detail) ": " span lang="en" { (d) } }
        }
    }
}

/// Tenant URL and secret token with copy buttons; the token only when `token` is given,
/// else a button that asks for it (`back`: the page to come back to).
pub fn credentials(ctx: &Ctx<'_>, c: &dirsync_proto::v1::Connection, token: Option<&str>, back: &str) -> Markup {
    let t = ctx.t;
    let url_id = format!("url-{}", c.id);
    let token_id = format!("token-{}", c.id);
    html! {
        div class="field" {
            label for=(url_id) { (t.tenant_url) }
            div class="copyable" {
                input type="text" id=(url_id) value=(c.scim_base_url) readonly;
                button type="button" class="copy" data-copy=(url_id) hidden { (t.copy) }
            }
        }
        div class="field" {
            @match token {
                Some(secret) => {
                    label for=(token_id) { (t.secret_token) }
                    div class="copyable" {
                        input type="text" id=(token_id) value=(secret) readonly autocomplete="off" spellcheck="false";
                        button type="button" class="copy" data-copy=(token_id) hidden { (t.copy) }
                    }
                    p class="muted" { (t.token_shown) }
                }
                None => {
                    span class="label" id=(token_id) { (t.secret_token) }
                    form method="post" action={ "/portal/connection/" (c.id) "/reveal" } class="inline" {
                        input type="hidden" name="back" value=(back);
                        span class="masked" aria-hidden="true" { "••••••••••••••••" }
                        button type="submit" aria-describedby=(token_id) { (t.show_token) }
                    }
                    p class="muted" { (t.token_hidden) }
                }
            }
        }
    }
}

/// The Connection page; `token` for the connection whose secret was asked for or issued.
/// 401: no live session.
pub fn session_ended(state: &PortalState, lang: Lang) -> Response {
    let ctx = Ctx::new(state, lang, None, Section::None);
    let mut resp = ctx.message(
        StatusCode::UNAUTHORIZED,
        ctx.t.session_ended_title,
        &ctx.with_product(ctx.t.session_ended),
    );
    if let Ok(v) = session::clear_cookie(&state.config).parse() {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

impl IntoResponse for session::NoSession {
    fn into_response(self) -> Response {
        session_ended(&self.1, self.0)
    }
}

/// 403: a cross-site request.
pub fn refused(state: &PortalState, lang: Lang) -> Response {
    let ctx = Ctx::new(state, lang, None, Section::None);
    ctx.message(StatusCode::FORBIDDEN, ctx.t.cross_site_title, ctx.t.cross_site)
}

pub async fn not_found(State(state): State<PortalState>, headers: http::HeaderMap, uri: http::Uri) -> Response {
    let lang = Lang::of_request(uri.query(), &headers);
    let ctx = Ctx::new(&state, lang, None, Section::None);
    ctx.message(StatusCode::NOT_FOUND, ctx.t.not_found_title, ctx.t.not_found)
}

/// `/portal/`: where the session's intent leads.
pub async fn home(session: Session) -> Redirect {
    if session.info.intent == PortalIntent::Setup as i32 {
        Redirect::to("/portal/setup")
    } else {
        Redirect::to("/portal/connection")
    }
}

pub async fn logout(State(state): State<PortalState>, session: Session) -> Response {
    // An already-ended session still gets its cookie removed.
    let _ = state
        .core
        .clone()
        .end_session(SessionRequest {
            session: session.secret.clone(),
        })
        .await;
    let ctx = Ctx::new(&state, session.lang, None, Section::None);
    let mut resp = ctx.message(StatusCode::OK, ctx.t.sign_out, &ctx.with_product(ctx.t.signed_out));
    if let Ok(v) = session::clear_cookie(&state.config).parse() {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}
