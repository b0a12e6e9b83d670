//! Opening a link: GET shows a Continue button and never uses the link up (mail scanners and
//! link previews fetch it); POST exchanges it for a session cookie and redirects to a URL
//! without the token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dirsync_proto::v1::{InspectLinkRequest, PortalIntent, RedeemLinkRequest};
use http::header::{LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Uri};
use maud::html;

use super::{Ctx, Section, when};
use crate::PortalState;
use crate::i18n::{Lang, fill};
use crate::session;

fn invalid(ctx: &Ctx<'_>) -> Response {
    ctx.message(
        StatusCode::NOT_FOUND,
        ctx.t.link_invalid_title,
        &ctx.with_product(ctx.t.link_invalid),
    )
}

pub async fn show(
    State(state): State<PortalState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let lang = Lang::of_request(uri.query(), &headers);
    let ctx = Ctx::new(&state, lang, None, Section::None);
    let t = ctx.t;
    let info = match state
        .core
        .clone()
        .inspect_link(InspectLinkRequest { token: token.clone() })
        .await
    {
        Ok(i) => i.into_inner(),
        Err(e) if e.code() == tonic::Code::Unauthenticated => return invalid(&ctx),
        Err(e) => return super::PageError::new(&state, lang)(e).into_response(),
    };
    let intro = fill(
        t.link_intro,
        &[("product", ctx.product()), ("tenant", info.tenant_name.as_str())],
    );
    let body = html! {
        p { (intro) }
        p { (t.link_once) }
        form method="post" action={ "/portal/link/" (token) } {
            button type="submit" class="primary" { (t.link_continue) }
        }
        p class="muted" { (fill(t.link_expires, &[("time", &when(info.expires.as_ref()))])) }
    };
    ctx.page(t.link_title, body).into_response()
}

pub async fn redeem(
    State(state): State<PortalState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let lang = Lang::of_request(uri.query(), &headers);
    let ctx = Ctx::new(&state, lang, None, Section::None);
    let grant = match state.core.clone().redeem_link(RedeemLinkRequest { token }).await {
        Ok(g) => g.into_inner(),
        Err(e) if e.code() == tonic::Code::Unauthenticated => return invalid(&ctx),
        Err(e) => return super::PageError::new(&state, lang)(e).into_response(),
    };
    let to = match grant.session.map(|s| s.intent) {
        Some(i) if i == PortalIntent::Setup as i32 => "/portal/setup",
        _ => "/portal/connection",
    };
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(LOCATION, HeaderValue::from_static(to));
    match HeaderValue::from_str(&session::set_cookie(&state.config, &grant.secret)) {
        Ok(v) => {
            resp.headers_mut().insert(SET_COOKIE, v);
            resp
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
