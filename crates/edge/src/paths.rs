//! Resource paths as IdPs and test collections write them. Microsoft's SCIM reference Postman
//! collection asks for `/users`, `/Users/?filter=...` and the pre-RFC discovery path
//! `/serviceConfiguration`; RFC 7644 names the endpoints but no client is refused for their
//! case or a trailing slash. Applied before routing, so that every route sees one spelling.

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

/// The endpoints under a tenant's base URL, by lower-case spelling (aliases included).
const ENDPOINTS: &[(&str, &str)] = &[
    ("users", "Users"),
    ("groups", "Groups"),
    ("serviceproviderconfig", "ServiceProviderConfig"),
    // The discovery path of SCIM drafts, still asked for by Microsoft's reference collection.
    ("serviceconfiguration", "ServiceProviderConfig"),
    ("resourcetypes", "ResourceTypes"),
    ("schemas", "Schemas"),
    ("bulk", "Bulk"),
    ("me", "Me"),
    (".search", ".search"),
];

/// `path` with its endpoint segment (the one after `/scim/v2/<tenant>/`, and `.search` after
/// it) in canonical spelling and trailing slashes removed; `None` when it is canonical already.
pub fn canonical(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/scim/v2/")?;
    let mut segments: Vec<&str> = rest.split('/').collect();
    // Trailing slashes, but never the tenant itself.
    while segments.len() > 2 && segments.last() == Some(&"") {
        segments.pop();
    }
    let mut out: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
    if let Some(endpoint) = out.get_mut(1)
        && let Some((_, canonical)) = ENDPOINTS.iter().find(|(k, _)| endpoint.eq_ignore_ascii_case(k))
    {
        *endpoint = (*canonical).to_owned();
    }
    if let Some(search) = out.get_mut(2)
        && search.eq_ignore_ascii_case(".search")
    {
        *search = ".search".to_owned();
    }
    let joined = format!("/scim/v2/{}", out.join("/"));
    (joined != path).then_some(joined)
}

/// Middleware: rewrites the request's path to its canonical spelling (query kept).
pub async fn normalize(mut req: Request, next: Next) -> Response {
    if let Some(path) = canonical(req.uri().path()) {
        let rewritten = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = rewritten.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn canonical_paths() {
        for (path, want) in [
            ("/scim/v2/t/Users", None),
            ("/scim/v2/t/users", Some("/scim/v2/t/Users")),
            ("/scim/v2/t/Users/", Some("/scim/v2/t/Users")),
            ("/scim/v2/t/USERS/abc/", Some("/scim/v2/t/Users/abc")),
            ("/scim/v2/t/groups/.SEARCH", Some("/scim/v2/t/Groups/.search")),
            (
                "/scim/v2/t/serviceConfiguration",
                Some("/scim/v2/t/ServiceProviderConfig"),
            ),
            (
                "/scim/v2/t/serviceproviderconfig/",
                Some("/scim/v2/t/ServiceProviderConfig"),
            ),
            (
                "/scim/v2/t/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                Some("/scim/v2/t/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            ),
            // Ids keep their case; the tenant is never touched.
            ("/scim/v2/T/Users/AbC", None),
            ("/scim/v2/t/", None),
            ("/scim/v2/t/Unknown/", Some("/scim/v2/t/Unknown")),
            ("/healthz", None),
        ] {
            assert_eq!(canonical(path).as_deref(), want, "{path}");
        }
    }
}
