//! Discovery documents (RFC 7644 §4; RFC 7643 §5, §6): ServiceProviderConfig, ResourceType
//! and the `/Schemas` listing.

use serde_json::{Map, Value, json};

use crate::schema::ResourceSchema;

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// What the service provider supports (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderConfig {
    pub documentation_uri: Option<String>,
    pub patch: bool,
    /// `(maxOperations, maxPayloadSize)` when bulk is supported.
    pub bulk: Option<(u64, u64)>,
    pub filter_max_results: u64,
    pub change_password: bool,
    pub sort: bool,
    pub etag: bool,
    pub auth_schemes: Vec<AuthScheme>,
}

/// One `authenticationSchemes` entry (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthScheme {
    /// "oauthbearertoken", "httpbasic", "oauth", "oauth2", "httpdigest".
    pub kind: String,
    pub name: String,
    pub description: String,
    pub primary: bool,
}

impl AuthScheme {
    /// Bearer tokens (RFC 6750): what Entra, Okta and most IdPs use.
    pub fn oauth_bearer_token(primary: bool) -> Self {
        Self {
            kind: "oauthbearertoken".into(),
            name: "OAuth Bearer Token".into(),
            description: "Authentication scheme using the OAuth Bearer Token Standard".into(),
            primary,
        }
    }

    /// HTTP Basic (RFC 7617): Okta and PingFederate can use it (B2.13).
    pub fn http_basic(primary: bool) -> Self {
        Self {
            kind: "httpbasic".into(),
            name: "HTTP Basic".into(),
            description: "Authentication scheme using the HTTP Basic Standard".into(),
            primary,
        }
    }

    /// The standard the scheme refers to, for the optional `specUri`.
    fn spec_uri(&self) -> Option<&'static str> {
        match self.kind.as_str() {
            "oauthbearertoken" => Some("https://www.rfc-editor.org/info/rfc6750"),
            "httpbasic" => Some("https://www.rfc-editor.org/info/rfc7617"),
            "oauth2" => Some("https://www.rfc-editor.org/info/rfc6749"),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        m.insert("name".into(), json!(self.name));
        m.insert("description".into(), json!(self.description));
        if let Some(uri) = self.spec_uri() {
            m.insert("specUri".into(), json!(uri));
        }
        m.insert("primary".into(), json!(self.primary));
        Value::Object(m)
    }
}

impl ServiceProviderConfig {
    /// RFC 7643 §5 representation, served by `GET /ServiceProviderConfig`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let (bulk_supported, max_ops, max_payload) = match self.bulk {
            Some((ops, payload)) => (true, ops, payload),
            None => (false, 0, 0),
        };
        let mut doc = json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": self.patch},
            "bulk": {"supported": bulk_supported, "maxOperations": max_ops, "maxPayloadSize": max_payload},
            "filter": {"supported": true, "maxResults": self.filter_max_results},
            "changePassword": {"supported": self.change_password},
            "sort": {"supported": self.sort},
            "etag": {"supported": self.etag},
            "authenticationSchemes": self.auth_schemes.iter().map(AuthScheme::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", base_url.trim_end_matches('/')),
            }
        });
        if let (Some(uri), Some(obj)) = (&self.documentation_uri, doc.as_object_mut()) {
            obj.insert("documentationUri".into(), json!(uri));
        }
        doc
    }
}

/// RFC 7643 §6 representation of a resource type, served by `GET /ResourceTypes/<name>`.
pub fn resource_type_json(rs: &ResourceSchema, base_url: &str) -> Value {
    let extensions: Vec<Value> = rs
        .extensions
        .iter()
        .map(|(s, required)| json!({"schema": s.id, "required": required}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rs.name,
        "name": rs.name,
        "endpoint": rs.endpoint,
        "description": rs.core.description,
        "schema": rs.core.id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base_url.trim_end_matches('/'), rs.name),
        }
    })
}

/// Every schema of the given resource types once, in order, for `GET /Schemas` (RFC 7644 §4).
pub fn schemas_json(resource_types: &[&ResourceSchema], base_url: &str) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for rs in resource_types {
        for s in rs.schemas() {
            if !seen.contains(&s.id.as_str()) {
                seen.push(&s.id);
                out.push(s.to_json(base_url));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    fn config() -> ServiceProviderConfig {
        ServiceProviderConfig {
            documentation_uri: Some("https://docs.example.com/scim".into()),
            patch: true,
            bulk: None,
            filter_max_results: 200,
            change_password: false,
            sort: true,
            etag: false,
            auth_schemes: vec![AuthScheme::oauth_bearer_token(true), AuthScheme::http_basic(false)],
        }
    }

    #[test]
    fn renders_service_provider_config() {
        let want = json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "documentationUri": "https://docs.example.com/scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": false},
            "authenticationSchemes": [
                {"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "Authentication scheme using the OAuth Bearer Token Standard", "specUri": "https://www.rfc-editor.org/info/rfc6750", "primary": true},
                {"type": "httpbasic", "name": "HTTP Basic", "description": "Authentication scheme using the HTTP Basic Standard", "specUri": "https://www.rfc-editor.org/info/rfc7617", "primary": false}
            ],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "https://x.test/scim/v2/ServiceProviderConfig"}
        });
        assert_eq!(config().to_json("https://x.test/scim/v2/"), want);
        let mut bulk = config();
        bulk.bulk = Some((1000, 1_048_576));
        bulk.documentation_uri = None;
        bulk.auth_schemes = vec![AuthScheme {
            kind: "custom".into(),
            name: "n".into(),
            description: "d".into(),
            primary: true,
        }];
        let j = bulk.to_json("https://x.test");
        assert_eq!(
            j["bulk"],
            json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
        );
        assert!(j.get("documentationUri").is_none());
        assert_eq!(
            j["authenticationSchemes"],
            json!([{"type": "custom", "name": "n", "description": "d", "primary": true}])
        );
    }

    #[test]
    fn renders_resource_types() {
        let cases = [
            (
                ResourceSchema::user(),
                json!({
                    "schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
                    "description": "User Account", "schema": USER_SCHEMA,
                    "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
                    "meta": {"resourceType": "ResourceType", "location": "https://x.test/ResourceTypes/User"}
                }),
            ),
            (
                ResourceSchema::group(),
                json!({
                    "schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
                    "description": "Group", "schema": GROUP_SCHEMA, "schemaExtensions": [],
                    "meta": {"resourceType": "ResourceType", "location": "https://x.test/ResourceTypes/Group"}
                }),
            ),
        ];
        for (rs, want) in cases {
            assert_eq!(resource_type_json(&rs, "https://x.test"), want);
        }
    }

    #[test]
    fn lists_schemas_once() {
        let (u, g) = (ResourceSchema::user(), ResourceSchema::group());
        let ids: Vec<Value> = schemas_json(&[&u, &g, &u], "https://x.test")
            .into_iter()
            .map(|s| s["id"].clone())
            .collect();
        assert_eq!(
            ids,
            vec![json!(USER_SCHEMA), json!(ENTERPRISE_USER_SCHEMA), json!(GROUP_SCHEMA)]
        );
    }
}
