//! The one script and the style sheets, compiled into the binary (no CDN, no build step).

use axum::extract::State;
use axum::response::IntoResponse;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

use crate::PortalState;

const SCRIPT: &str = include_str!("../../assets/portal.js");
const STYLE: &str = include_str!("../../assets/portal.css");

pub async fn script() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
}

pub async fn style() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLE,
    )
}

/// The deployment's accent colour (checked as `#rrggbb` at start-up); a style sheet, because
/// the policy allows no inline style.
pub async fn theme(State(state): State<PortalState>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        format!(":root {{ --accent: {}; }}\n", state.config.accent_colour),
    )
}
