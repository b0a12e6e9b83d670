//! What protects every portal response: cross-site requests refused (Fetch Metadata, with an
//! `Origin` fallback for browsers that send none), a strict Content-Security-Policy without
//! inline script, frames only for configured origins, no caching, no referrer (a link's
//! token must never leave in a `Referer`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, Method};

use crate::{PortalConfig, PortalState};

/// The origin this portal is served from: the public URL's, else `http://<Host>`.
pub fn own_origin(config: &PortalConfig, headers: &HeaderMap) -> Option<String> {
    match &config.public_url {
        Some(url) => {
            let (scheme, rest) = url.split_once("://")?;
            let host = rest.split('/').next()?;
            Some(format!("{scheme}://{host}"))
        }
        None => headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}")),
    }
}

/// Whether a state-changing request comes from the portal's own pages.
pub fn same_origin_request(config: &PortalConfig, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": the user typed or bookmarked it; never a cross-site form.
        return site == "same-origin" || site == "none";
    }
    // Browsers without Fetch Metadata still send Origin on POST; requests with neither are
    // refused (nothing but a browser form has reason to POST here).
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    matches!((origin, own_origin(config, headers)), (Some(o), Some(own)) if o == own)
}

/// The Content-Security-Policy of every portal response.
pub fn content_security_policy(config: &PortalConfig) -> String {
    let img = match config.logo_url.as_deref().and_then(|u| {
        let rest = u.strip_prefix("https://")?;
        Some(format!("https://{}", rest.split('/').next()?))
    }) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let frames = if config.frame_origins.is_empty() {
        "'none'".to_owned()
    } else {
        config.frame_origins.join(" ")
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; connect-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors {frames}"
    )
}

/// Refuses cross-site state changes and adds the security headers.
pub async fn protect(State(state): State<PortalState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let chosen_lang = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| crate::i18n::Lang::parse(&v))
    });
    let mut resp = if !safe && !same_origin_request(&state.config, req.headers()) {
        let lang = crate::i18n::Lang::of_request(req.uri().query(), req.headers());
        tracing::info!(method = %req.method(), path = %req.uri().path(), "portal: cross-site request refused");
        crate::pages::refused(&state, lang).into_response()
    } else {
        next.run(req).await
    };
    let headers = resp.headers_mut();
    // The language switch is a link with ?lang=; the choice sticks for the next pages.
    if let Some(lang) = chosen_lang {
        let c = cookie::Cookie::build((crate::i18n::LANG_COOKIE, lang.code()))
            .path("/portal")
            .same_site(cookie::SameSite::Strict)
            .secure(state.config.https())
            .max_age(cookie::time::Duration::days(365))
            .build();
        if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
            headers.append(http::header::SET_COOKIE, v);
        }
    }
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&state.config)) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    if state.config.frame_origins.is_empty() {
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let config = PortalConfig {
            public_url: Some("https://scim.example.com".into()),
            ..Default::default()
        };
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "none")], true),
            (&[("sec-fetch-site", "same-site")], false),
            (
                &[("sec-fetch-site", "cross-site"), ("origin", "https://scim.example.com")],
                false,
            ),
            (&[("origin", "https://scim.example.com")], true),
            (&[("origin", "https://evil.example")], false),
            (&[("origin", "null")], false),
            (&[], false),
        ];
        for (pairs, want) in cases {
            let mut h = HeaderMap::new();
            for (k, v) in *pairs {
                h.insert(*k, v.parse().unwrap());
            }
            assert_eq!(same_origin_request(&config, &h), *want, "{pairs:?}");
        }
    }

    #[test]
    fn policy_is_strict_and_frames_only_configured_origins() {
        let mut config = PortalConfig::default();
        let csp = content_security_policy(&config);
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        config.frame_origins = vec!["https://app.example.com".into()];
        config.logo_url = Some("https://cdn.example.com/logo.svg".into());
        let csp = content_security_policy(&config);
        assert!(csp.ends_with("frame-ancestors https://app.example.com"), "{csp}");
        assert!(csp.contains("img-src 'self' https://cdn.example.com;"), "{csp}");
    }
}
