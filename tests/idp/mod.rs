//! Replays of each IdP's documented request sequence against the running service: headers,
//! casing and bodies exactly as the IdP sends them, asserting what that IdP checks.
//!
//! Each replay authenticates through its own connection, created with that IdP's profile
//! (`dirsync admin connection create --idp <profile>`), and sends its requests through an
//! [`IdpClient`] that sets every header itself: the harness's `send` adds
//! `Content-Type: application/scim+json` to bodies, which is not what Okta or PingFederate send.
//! Sources in step comments (`[MS-tut]`, `B1.5`, …) resolve in `docs/idp/notes.md`.

mod entra;
mod google;
mod jumpcloud;
mod okta;
mod onelogin;
mod pingone;

use base64::Engine;
use dirsync_proto::v1::CreateConnectionRequest;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Response, TestApp};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// How an IdP presents its credentials.
pub enum Auth {
    Bearer,
    /// Basic `<tenant id>:<token>` (Okta, PingFederate).
    Basic,
}

/// An IdP as seen by the service: its own connection and token, and the exact headers it
/// sends with every request.
pub struct IdpClient<'a> {
    pub app: &'a TestApp,
    authorization: String,
    headers: Vec<(&'static str, &'static str)>,
    /// The Content-Type of request bodies, exactly as this IdP sends it.
    content_type: &'static str,
}

impl<'a> IdpClient<'a> {
    /// Creates a connection with `profile` on the app's tenant, as an admin would
    /// (`dirsync admin connection create --tenant T --idp <profile>`).
    pub async fn connect(
        app: &'a TestApp,
        profile: &str,
        auth: Auth,
        content_type: &'static str,
        headers: &[(&'static str, &'static str)],
    ) -> IdpClient<'a> {
        let created = app
            .admin()
            .await
            .create_connection(CreateConnectionRequest {
                tenant_id: app.tenant_id.clone(),
                name: profile.into(),
                idp_profile: profile.into(),
                allow_adoption: None,
            })
            .await
            .unwrap()
            .into_inner();
        let conn = created.connection.unwrap();
        assert_eq!(conn.idp_profile, profile);
        assert_eq!(conn.scim_base_url, app.scim, "the Tenant URL the admin pastes");
        let token = created.token;
        assert!(token.starts_with("dsy_"), "the Secret Token the admin pastes");
        let authorization = match auth {
            Auth::Bearer => format!("Bearer {token}"),
            Auth::Basic => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{token}", app.tenant_id))
            ),
        };
        IdpClient {
            app,
            authorization,
            headers: headers.to_vec(),
            content_type,
        }
    }

    /// The Tenant URL followed by `path` (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.scim)
    }

    /// `path` with `filter` URL-encoded and any further raw query text appended.
    pub fn filtered(&self, path: &str, filter: &str, more: &str) -> String {
        format!("{path}?filter={}{more}", encode(filter))
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send_raw(method, &self.url(path), body.map(|b| b.to_string()))
            .await
    }

    /// Sends `body` verbatim to an absolute `url` with exactly this IdP's headers.
    pub async fn send_raw(&self, method: Method, url: &str, body: Option<String>) -> Response {
        let mut req = self
            .app
            .http
            .request(method, url)
            .header("authorization", &self.authorization);
        for (k, v) in &self.headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", self.content_type).body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    /// GET of a list, asserting a well-formed ListResponse (integers, `Resources` present,
    /// `id` in every resource), returning its resources.
    pub async fn list(&self, path: &str) -> (u64, Vec<Value>) {
        let r = self.get(path).await;
        expect_scim(&r, 200);
        list_of(&r)
    }
}

/// Asserts the status and, unless 204, the `application/scim+json` media type [MS-tut] B1.26.
#[track_caller]
pub fn expect_scim(r: &Response, status: u16) {
    r.expect(status);
    if status != 204 {
        assert_eq!(
            r.header("content-type"),
            Some("application/scim+json"),
            "{:?}",
            r.headers
        );
    }
}

/// Asserts a resource as IdPs read it: `id`, `schemas` and `meta` present [MS-tut] B1.26.
#[track_caller]
pub fn expect_resource(r: &Response, status: u16, resource_type: &str) -> String {
    expect_scim(r, status);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "no id: {}", r.body);
    assert!(r.body["schemas"].is_array(), "{}", r.body);
    assert_eq!(r.body["meta"]["resourceType"], resource_type, "{}", r.body);
    id
}

/// A ListResponse's total and resources; counters must be JSON integers (Okta B2.7).
#[track_caller]
pub fn list_of(r: &Response) -> (u64, Vec<Value>) {
    let b = &r.body;
    assert_eq!(b["schemas"], json!([LIST]), "{b}");
    for k in ["totalResults", "itemsPerPage", "startIndex"] {
        assert!(b[k].is_u64(), "{k} must be an integer: {b}");
    }
    let items = b["Resources"].as_array().expect("Resources is always present").clone();
    assert_eq!(b["itemsPerPage"].as_u64(), Some(items.len() as u64), "{b}");
    for item in &items {
        assert!(item["id"].as_str().is_some_and(|s| !s.is_empty()), "{item}");
    }
    (b["totalResults"].as_u64().unwrap(), items)
}

/// A SCIM error (RFC 7644 §3.12) with `detail` and `status` (Okta B2.11 parses them).
#[track_caller]
pub fn expect_error(r: &Response, status: u16, scim_type: Option<&str>) {
    r.expect_error(status, scim_type);
}

/// Percent-encodes a query value as IdPs do (space as `%20`, RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Ids of a group's members, sorted, read with `GET /Groups/{id}`.
pub async fn member_ids(c: &IdpClient<'_>, group_id: &str) -> Vec<String> {
    let r = c.get(&format!("/Groups/{group_id}")).await;
    expect_scim(&r, 200);
    let mut ids: Vec<String> = r.body["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
