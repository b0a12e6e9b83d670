//! Authentication of the IdP: `Authorization: Bearer <secret>` or Basic `<tenant id>:<secret>`,
//! resolved by the core. The tenant in the URL must be the credential's tenant.
//!
//! Successful lookups are cached for `EdgeConfig::auth_cache_ttl` ([`DEFAULT_CACHE_TTL`]), so a
//! revoked secret stops working on every edge replica within that time. Failed lookups are not
//! cached here; they are limited per source address (see [`crate::auth_failures`]). Secrets are
//! never logged; the cache is keyed by their hash.
//!
//! This module knows nothing of the edge's state: the caller passes the cache, the failure
//! record and the call to the core.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use dirsync_proto::v1::{AuthenticateRequest, AuthenticateResponse};
use sha2::{Digest, Sha256};

use crate::auth_failures::{AuthFailures, FAILURE_BURST, FAILURES_PER_MINUTE, Verdict};
use crate::cache::TtlCache;
use crate::error::{ApiError, set_retry_after};

/// How long a successful lookup is reused unless configured otherwise.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most cached lookups (one per distinct credential).
pub const CACHE_MAX: u64 = 10_000;

/// Credentials (by hash) -> the caller the core resolved them to.
pub type AuthCache = TtlCache<[u8; 32], Caller>;

/// The authenticated IdP connection a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub connection_id: String,
    /// The connection keeps (redacted) request bodies in the sync log.
    pub capture_bodies: bool,
}

/// The secret and, for Basic, the tenant it claims.
#[derive(Debug, PartialEq, Eq)]
struct Credentials {
    secret: String,
    tenant: Option<String>,
}

fn parse_credentials(value: &str) -> Option<Credentials> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or(("", value));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| Credentials {
            secret: rest.to_owned(),
            tenant: None,
        });
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (tenant, secret) = decoded.split_once(':')?;
        return (!secret.is_empty()).then(|| Credentials {
            secret: secret.to_owned(),
            tenant: Some(tenant.to_owned()),
        });
    }
    // IdPs with a "custom header" option are often configured with the bare token.
    if scheme.is_empty() && rest.starts_with("dsy_") {
        return Some(Credentials {
            secret: rest.to_owned(),
            tenant: None,
        });
    }
    None
}

fn cache_key(c: &Credentials) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(c.tenant.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(c.secret.as_bytes());
    h.finalize().into()
}

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum Refusal {
    /// Bad or missing credentials (401), or the core's error.
    Error(ApiError),
    /// The source failed to authenticate too often: 429 with `Retry-After`.
    Limited(Duration),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Error(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Error(e) => e.into_response(),
            Refusal::Limited(wait) => {
                let mut resp = ApiError::new(
                    429,
                    None,
                    format!(
                        "too many failed authentications from this address ({FAILURE_BURST} at once, then \
                         {FAILURES_PER_MINUTE} a minute); check the token and retry after {} s",
                        wait.as_secs_f64().ceil().max(1.0)
                    ),
                )
                .into_response();
                set_retry_after(&mut resp, wait);
                resp
            }
        }
    }
}

/// The address a request came from, when the server recorded it: the peer's, or, when the
/// peer is a trusted proxy, the right-most `X-Forwarded-For` entry that is not one (entries
/// left of it are the client's to write, so they are never believed).
pub fn source(extensions: &Extensions, headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip().to_canonical();
    Some(trusted.client(peer, headers))
}

/// Proxies whose `X-Forwarded-For` is believed (`DIRSYNC_TRUSTED_PROXIES`): addresses or CIDR
/// blocks, comma-separated. None by default: the peer address is the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("{p:?} is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address behind `peer` (see [`source`]). An entry that is no address
    /// stops the walk: the last trusted hop is then the source.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = forwarded_ip(entry.trim()) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry's address: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// Authenticates a request's credentials for the tenant in its path: from `cache`, else by
/// `ask_core` unless `failures` refuses the source first.
pub async fn authenticate(
    cache: &AuthCache,
    failures: &AuthFailures,
    headers: &HeaderMap,
    source: Option<IpAddr>,
    path_tenant: &str,
    ask_core: impl AsyncFnOnce(AuthenticateRequest) -> Result<AuthenticateResponse, tonic::Status>,
) -> Result<Caller, Refusal> {
    let header = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("missing Authorization header; send Bearer <token> or Basic credentials")
    })?;
    let creds = header.to_str().ok().and_then(parse_credentials).ok_or_else(|| {
        ApiError::unauthorized("malformed Authorization header; send Bearer <token> or Basic <tenant id>:<token>")
    })?;
    if creds.tenant.as_deref().is_some_and(|t| t != path_tenant) {
        return Err(ApiError::unauthorized("the credentials are not valid for this tenant").into());
    }
    let key = cache_key(&creds);
    let caller = match cache.get(&key).await {
        Some(c) => c,
        None => {
            let invalid = || ApiError::unauthorized("invalid, expired or revoked token");
            match failures.check(source, &key) {
                Verdict::Ask => {}
                Verdict::Refused => {
                    failures.failed(source, key);
                    return Err(invalid().into());
                }
                Verdict::Limited(wait) => return Err(Refusal::Limited(wait)),
            }
            let resp = match ask_core(AuthenticateRequest {
                token: creds.secret.clone(),
                tenant_id: creds.tenant.clone(),
            })
            .await
            {
                Ok(r) => r,
                Err(s) if s.code() == tonic::Code::Unauthenticated => {
                    failures.failed(source, key);
                    return Err(invalid().into());
                }
                Err(s) => return Err(ApiError::from(s).into()),
            };
            failures.succeeded(key);
            let caller = Caller {
                tenant_id: resp.tenant_id,
                connection_id: resp.connection_id,
                capture_bodies: resp.capture_bodies,
            };
            cache.insert(key, caller.clone()).await;
            caller
        }
    };
    if caller.tenant_id != path_tenant {
        return Err(ApiError::unauthorized("the credentials are not valid for this tenant").into());
    }
    tracing::Span::current().record("tenant", caller.tenant_id.as_str());
    Ok(caller)
}

/// The tenant id in a `/scim/v2/{tenant}/…` path.
pub fn path_tenant(path: &str) -> &str {
    path.strip_prefix("/scim/v2/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.0.2.7, 2001:db8::/32".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: [(&str, &[&str], &str); 10] = [
            // An untrusted peer: its header is ignored.
            ("198.51.100.1", &["203.0.113.9"], "198.51.100.1"),
            // A trusted peer: the right-most untrusted entry.
            ("10.1.2.3", &["203.0.113.9"], "203.0.113.9"),
            ("10.1.2.3", &["1.1.1.1, 203.0.113.9, 10.9.9.9"], "203.0.113.9"),
            ("192.0.2.7", &["1.1.1.1", "203.0.113.9:4711"], "203.0.113.9"),
            ("::ffff:10.1.2.3", &["[2001:db9::1]:443"], "2001:db9::1"),
            // Every entry trusted: the left-most.
            ("10.1.2.3", &["10.0.0.5, 10.0.0.6"], "10.0.0.5"),
            // No header, or garbage: the last trusted hop.
            ("10.1.2.3", &[], "10.1.2.3"),
            ("10.1.2.3", &["1.1.1.1, unknown"], "10.1.2.3"),
            ("10.1.2.3", &["unknown, 10.0.0.6"], "10.0.0.6"),
            ("2001:db8::5", &["203.0.113.9"], "203.0.113.9"),
        ];
        for (peer, headers, want) in cases {
            let mut h = HeaderMap::new();
            for v in headers {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            let mut ext = Extensions::new();
            ext.insert(ConnectInfo(SocketAddr::new(ip(peer), 1)));
            assert_eq!(source(&ext, &h, &trusted), Some(ip(want)), "{peer} {headers:?}");
            // Without trusted proxies the peer is the source.
            assert_eq!(
                source(&ext, &h, &TrustedProxies::default()),
                Some(ip(peer).to_canonical()),
                "{peer}"
            );
        }
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.1/8/1"] {
            assert!(bad.parse::<TrustedProxies>().is_err(), "{bad}");
        }
        assert_eq!("".parse::<TrustedProxies>().unwrap(), TrustedProxies::default());
    }

    #[test]
    fn credentials() {
        let basic = base64::engine::general_purpose::STANDARD.encode("t1:dsy_abc");
        let cases = [
            ("Bearer dsy_abc", Some(("dsy_abc", None))),
            ("bearer   dsy_abc ", Some(("dsy_abc", None))),
            (&*format!("Basic {basic}"), Some(("dsy_abc", Some("t1")))),
            ("dsy_abc", Some(("dsy_abc", None))),
            ("Bearer", None),
            ("Basic !!!", None),
            ("Digest x", None),
            ("sometoken", None),
        ];
        for (header, want) in cases {
            let got = parse_credentials(header);
            let want = want.map(|(s, t)| Credentials {
                secret: s.to_owned(),
                tenant: t.map(str::to_owned),
            });
            assert_eq!(got, want, "{header}");
        }
    }
}
