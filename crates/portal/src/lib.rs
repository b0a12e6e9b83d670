//! The setup portal: the pages a customer's IT admin sees to connect an IdP to a product,
//! served under `/portal` by the edge process. Sessions come from one-time links the product
//! asks for (`dirsync.v1.Portal/CreateLink`); every page and action goes to the core's Portal
//! service with the session secret only, so the core, not this crate, decides the tenant.
//!
//! Pages are rendered on the server (maud); one small script (`assets/portal.js`, compiled in)
//! adds copy buttons and live updates, and every page works without it.

pub mod client;
pub mod guard;
pub mod i18n;
pub mod idp;
pub mod pages;
pub mod session;

use axum::Router;
use axum::routing::{get, post};

pub use client::{PortalClient, core_client};

/// Branding and embedding settings of a deployment.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The edge's public URL (`https://…` turns on `__Host-` cookies and `Secure`); when
    /// unset, the request's `Host` decides the origin and cookies are plain.
    pub public_url: Option<String>,
    /// The product's name, shown in the header ("Acme SCIM setup").
    pub product_name: String,
    /// An absolute https URL of the product's logo.
    pub logo_url: Option<String>,
    /// Accent colour, `#rrggbb`.
    pub accent_colour: String,
    /// Origins allowed to show the portal in a frame (`frame-ancestors`); empty: none.
    pub frame_origins: Vec<String>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            public_url: None,
            product_name: "dirsync".into(),
            logo_url: None,
            accent_colour: "#1f5fbf".into(),
            frame_origins: Vec::new(),
        }
    }
}

/// Why a portal setting is refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("portal accent colour must be #rrggbb, got {0:?}")]
    Accent(String),
    #[error("portal logo URL must be an absolute https URL without quotes or spaces, got {0:?}")]
    Logo(String),
    #[error("portal frame origin must be an origin like https://app.example.com (no path), got {0:?}")]
    FrameOrigin(String),
    #[error("portal product name must be 1 to 60 characters")]
    ProductName,
}

fn is_origin(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    })
}

impl PortalConfig {
    /// Checks the settings an operator gave; they end up in headers and CSS.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let hex = self.accent_colour.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ConfigError::Accent(self.accent_colour.clone()));
        }
        if let Some(logo) = &self.logo_url {
            let ok = logo.starts_with("https://")
                && logo.len() <= 2000
                && !logo
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | ';' | ','));
            if !ok {
                return Err(ConfigError::Logo(logo.clone()));
            }
        }
        if let Some(bad) = self.frame_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::FrameOrigin(bad.clone()));
        }
        let n = self.product_name.trim().chars().count();
        if n == 0 || n > 60 {
            return Err(ConfigError::ProductName);
        }
        Ok(())
    }

    /// Whether cookies must be `Secure` with the `__Host-` prefix.
    pub fn https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct PortalState {
    pub core: PortalClient,
    pub config: std::sync::Arc<PortalConfig>,
}

impl PortalState {
    pub fn new(core: PortalClient, config: PortalConfig) -> Self {
        PortalState {
            core,
            config: std::sync::Arc::new(config),
        }
    }
}

/// The portal's routes, all under `/portal`, for merging into the edge's router.
pub fn router(state: PortalState) -> Router {
    let routes = Router::new()
        .route("/", get(pages::home))
        .route("/link/{token}", get(pages::link::show).post(pages::link::redeem))
        .route("/setup", get(pages::setup::show))
        .route("/setup/idp", post(pages::setup::choose_idp))
        .route("/setup/verify", get(pages::setup::verify))
        .route("/connection", get(pages::connection::show))
        .route("/connection/{id}/reveal", post(pages::connection::reveal))
        .route("/connection/{id}/rotate", post(pages::connection::rotate))
        .route("/connection/{id}/revoke", post(pages::connection::revoke))
        .route("/connection/{id}/silence", post(pages::silence::save))
        .route(
            "/connection/{id}/end",
            get(pages::connection::confirm_end).post(pages::connection::end),
        )
        .route("/connection/{id}/hold", get(pages::hold::show))
        .route("/connection/{id}/hold/approve", post(pages::hold::approve))
        .route("/connection/{id}/hold/reject", post(pages::hold::reject))
        .route("/connection/{id}/hold/settings", post(pages::hold::settings))
        .route("/log", get(pages::log::show))
        .route("/log/entries", get(pages::log::entries))
        .route("/mappings", get(pages::mappings::show))
        .route("/mappings/preview", get(pages::mappings::preview))
        .route("/mappings/save", post(pages::mappings::save))
        .route("/mappings/invitations", post(pages::mappings::invitations))
        .route("/people", get(pages::people::show))
        .route("/logout", post(pages::logout))
        .route("/assets/portal.js", get(pages::assets::script))
        .route("/assets/portal.css", get(pages::assets::style))
        .route("/assets/theme.css", get(pages::assets::theme))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::protect))
        .with_state(state);
    Router::new().nest("/portal", routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let ok = PortalConfig {
            logo_url: Some("https://cdn.example.com/logo.svg".into()),
            frame_origins: vec!["https://app.example.com".into(), "http://127.0.0.1:3000".into()],
            ..Default::default()
        };
        ok.validate().unwrap();
        let cases: Vec<PortalConfig> = vec![
            PortalConfig {
                accent_colour: "red".into(),
                ..Default::default()
            },
            PortalConfig {
                accent_colour: "#12345g".into(),
                ..Default::default()
            },
            PortalConfig {
                logo_url: Some("http://insecure.example/logo.png".into()),
                ..Default::default()
            },
            PortalConfig {
                logo_url: Some("https://x.example/a.png; script-src *".into()),
                ..Default::default()
            },
            PortalConfig {
                frame_origins: vec!["https://app.example.com/path".into()],
                ..Default::default()
            },
            PortalConfig {
                frame_origins: vec!["*".into()],
                ..Default::default()
            },
            PortalConfig {
                product_name: " ".into(),
                ..Default::default()
            },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
