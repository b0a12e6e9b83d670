//! The session cookie: HttpOnly, SameSite=Strict, and behind HTTPS `Secure` with the
//! `__Host-` prefix (no Domain, Path=/). It holds the session secret; the core keeps only its
//! hash and decides whether it is still live (idle and absolute expiry).

use axum::extract::FromRequestParts;
use cookie::{Cookie, SameSite};
use dirsync_proto::v1::{PortalSession, SessionRequest};
use http::header::COOKIE;
use http::request::Parts;

use crate::i18n::Lang;
use crate::{PortalConfig, PortalState};

const PLAIN_NAME: &str = "dirsync_portal";
const HOST_NAME: &str = "__Host-dirsync_portal";

pub fn cookie_name(config: &PortalConfig) -> &'static str {
    if config.https() { HOST_NAME } else { PLAIN_NAME }
}

/// The `Set-Cookie` value that stores a session secret.
pub fn set_cookie(config: &PortalConfig, secret: &str) -> String {
    Cookie::build((cookie_name(config), secret.to_owned()))
        .path("/")
        .http_only(true)
        .secure(config.https())
        .same_site(SameSite::Strict)
        .build()
        .to_string()
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(config: &PortalConfig) -> String {
    let mut c = Cookie::build((cookie_name(config), ""))
        .path("/")
        .http_only(true)
        .secure(config.https())
        .same_site(SameSite::Strict)
        .build();
    c.make_removal();
    c.to_string()
}

/// The session secret a request carries, if any.
pub fn secret(config: &PortalConfig, headers: &http::HeaderMap) -> Option<String> {
    let name = cookie_name(config);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A live portal session and the request's language: the extractor of every session page.
pub struct Session {
    pub secret: String,
    pub info: PortalSession,
    pub lang: Lang,
}

/// No live session: the page says so (401, `pages::session_ended`).
pub struct NoSession(pub(crate) Lang, pub(crate) PortalState);

impl FromRequestParts<PortalState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &PortalState) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(parts.uri.query(), &parts.headers);
        let denied = || NoSession(lang, state.clone());
        let secret = secret(&state.config, &parts.headers).ok_or_else(denied)?;
        let info = state
            .core
            .clone()
            .get_session(SessionRequest {
                session: secret.clone(),
            })
            .await
            .map_err(|e| {
                if e.code() != tonic::Code::Unauthenticated {
                    tracing::warn!(error = %e, "portal: resolving a session failed");
                }
                denied()
            })?
            .into_inner();
        Ok(Session { secret, info, lang })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_strict_and_host_prefixed_behind_https() {
        let plain = PortalConfig::default();
        let c = set_cookie(&plain, "dsp_x");
        assert!(c.starts_with("dirsync_portal=dsp_x;"), "{c}");
        for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Secure"), "{c}");
        let https = PortalConfig {
            public_url: Some("https://scim.example.com".into()),
            ..Default::default()
        };
        let c = set_cookie(&https, "dsp_x");
        assert!(c.starts_with("__Host-dirsync_portal=dsp_x;"), "{c}");
        assert!(c.contains("Secure") && !c.contains("Domain"), "{c}");
        let mut h = http::HeaderMap::new();
        h.insert(COOKIE, "a=b; __Host-dirsync_portal=dsp_y".parse().unwrap());
        assert_eq!(secret(&https, &h).as_deref(), Some("dsp_y"));
        assert_eq!(secret(&plain, &h), None);
        assert!(clear_cookie(&https).contains("Max-Age=0"), "{}", clear_cookie(&https));
    }
}
