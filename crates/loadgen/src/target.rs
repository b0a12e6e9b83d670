//! The targets: loopback-only URLs, the SCIM HTTP client and the gRPC client.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use dirsync_proto::v1::directory_client::DirectoryClient;
use reqwest::Url;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{GrpcArgs, ScimArgs};

/// Parses `url` and refuses anything but plain HTTP to a loopback IP literal
/// (127.0.0.0/8 or ::1): this tool never sends load anywhere else.
pub fn loopback_url(url: &str, what: &str) -> anyhow::Result<Url> {
    let parsed = Url::parse(url).with_context(|| format!("{what}: {url:?} is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("{what}: only plain http:// URLs are supported, not {url:?}");
    }
    let host = parsed.host_str().unwrap_or_default();
    let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
    match ip {
        Some(ip) if ip.is_loopback() => Ok(parsed),
        _ => bail!("{what}: {url:?} is not a loopback address (use 127.0.0.1 or [::1])"),
    }
}

/// The SCIM side: a client, the tenant's base URL (no trailing slash) and the token.
#[derive(Clone)]
pub struct Scim {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: String,
}

impl Scim {
    pub fn new(args: &ScimArgs, pool: usize, timeout: Duration) -> anyhow::Result<Self> {
        let base = loopback_url(&args.base, "--base")?;
        let http = reqwest::Client::builder()
            // Never follow a redirect to another address, never go through a proxy.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(pool.max(1))
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_owned(),
            auth: format!("Bearer {}", args.token),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .header("authorization", &self.auth)
            .header("accept", "application/scim+json")
    }

    pub fn send_json(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("authorization", &self.auth)
            .header("accept", "application/scim+json")
            .header("content-type", "application/scim+json")
            .body(body)
    }
}

/// Adds `authorization: Bearer <service key>` to every gRPC call when a key is given.
#[derive(Clone)]
pub struct ServiceKey(Option<MetadataValue<Ascii>>);

impl Interceptor for ServiceKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub type Directory = DirectoryClient<InterceptedService<Channel, ServiceKey>>;

/// An authenticated channel to the core (loopback only).
pub async fn channel(
    args: &GrpcArgs,
    timeout: Option<Duration>,
) -> anyhow::Result<InterceptedService<Channel, ServiceKey>> {
    let url = loopback_url(&args.core_url, "--core-url")?;
    let key = match &args.service_key {
        Some(k) if !k.is_empty() => Some(
            format!("Bearer {k}")
                .parse::<MetadataValue<Ascii>>()
                .context("--service-key is not a valid header value")?,
        ),
        _ => None,
    };
    let mut endpoint = Endpoint::from_shared(url.as_str().trim_end_matches('/').to_owned())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some(t) = timeout {
        endpoint = endpoint.timeout(t);
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to the core at {url}"))?;
    Ok(InterceptedService::new(channel, ServiceKey(key)))
}

pub async fn directory(args: &GrpcArgs, timeout: Duration) -> anyhow::Result<Directory> {
    Ok(DirectoryClient::new(channel(args, Some(timeout)).await?)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

/// The seeded user name of index `i`.
pub fn user_name(prefix: &str, i: u64) -> String {
    format!("{prefix}{i}@example.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_loopback_http() {
        assert!(loopback_url("http://127.0.0.1:8080/scim/v2/x", "t").is_ok());
        assert!(loopback_url("http://127.1.2.3:1", "t").is_ok());
        assert!(loopback_url("http://[::1]:50051", "t").is_ok());
        assert!(loopback_url("http://10.0.0.1:8080", "t").is_err());
        assert!(loopback_url("http://example.com", "t").is_err());
        assert!(loopback_url("http://localhost.example.com", "t").is_err());
        assert!(loopback_url("https://127.0.0.1", "t").is_err());
        assert!(loopback_url("not a url", "t").is_err());
    }
}
