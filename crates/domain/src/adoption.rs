//! Adoption of native accounts by SCIM: which native users (created over gRPC without a
//! connection) a SCIM connection may see and take over. Pure rules; storage is in
//! `store::adoption`.
//!
//! A native user is adoptable by a connection when the connection allows adoption and the
//! user's userName or primary e-mail, lowercased, ends with "@<a verified domain of the
//! tenant>". Adoptable users are visible to the connection (its IdP finds them with its
//! filter); the connection's first write (PUT, PATCH, or a POST that collides with them) makes
//! them its SCIM users. Other native users are invisible to SCIM.

use serde_json::json;
use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::user::User;

/// Change-feed URI of an adoption.
pub const ADOPTED_URI: &str = "urn:dirsync:event:user:adopted";
/// Change-feed URI of the takeover of an unmanaged user (its connection ended).
pub const LINKED_URI: &str = "urn:dirsync:event:user:linked";

/// How a connection's first write took a user over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover {
    /// A native user of a verified domain, adopted.
    Adopted(Match),
    /// A SCIM user whose connection ended (unmanaged), linked to the writing connection.
    Linked,
}

/// Whether a user is unmanaged: provisioned over SCIM by a connection that has since ended.
pub fn is_unmanaged(user: &User) -> bool {
    user.source != "native" && user.connection_id.is_none()
}

/// The longest DNS name (RFC 1035 §2.3.4).
const MAX_DOMAIN: usize = 253;

/// A domain as an operator may verify it: a DNS name of at least two labels, lowercased,
/// without wildcard, trailing dot, or '@'.
pub fn validate_domain(input: &str) -> Result<String> {
    let d = input.trim().to_ascii_lowercase();
    let bad = |why: &str| Error::new(ErrorKind::InvalidValue, format!("domain {input:?} is not valid: {why}"));
    if d.is_empty() {
        return Err(bad("it is empty"));
    }
    if d.contains('*') {
        return Err(bad("wildcards are not allowed; verify each domain"));
    }
    if d.contains('@') {
        return Err(bad("give the domain only (acme.com), not an address"));
    }
    if d.len() > MAX_DOMAIN {
        return Err(bad("longer than 253 characters"));
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("expected a DNS name such as acme.com"));
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err(bad("each label between dots has 1 to 63 characters"));
        }
        if !l
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(
                "only letters, digits and hyphens between dots (IDNs in their xn-- form)",
            ));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(bad("a label may not start or end with a hyphen"));
        }
    }
    Ok(d)
}

/// The domain of an address-like value ("ann@Acme.com" -> "acme.com"), if it has one.
pub fn domain_of(value: &str) -> Option<String> {
    value
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase())
        .filter(|d| !d.is_empty())
}

/// Which value of a native user matched a verified domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// "userName" or "email".
    pub on: &'static str,
    pub domain: String,
}

/// How `user` matches the verified `domains` (userName first, then the primary e-mail).
pub fn matching(user: &User, domains: &[String]) -> Option<Match> {
    let candidates = [
        ("userName", Some(user.user_name.as_str())),
        ("email", user.email.as_deref()),
    ];
    candidates.into_iter().find_map(|(on, v)| {
        let d = domain_of(v?)?;
        domains.contains(&d).then_some(Match { on, domain: d })
    })
}

/// Why a native user cannot be adopted by a connection, for a 409 detail.
pub fn refusal(user: &User, allow_adoption: bool) -> String {
    let head = format!(
        "userName {:?} belongs to an account created outside SCIM",
        user.user_name
    );
    if !allow_adoption {
        return format!("{head}; this connection does not adopt existing accounts (enable allow_adoption)");
    }
    let mut own: Vec<String> = [Some(user.user_name.as_str()), user.email.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(domain_of)
        .collect();
    own.dedup();
    match own.as_slice() {
        [] => format!("{head}; it has no e-mail domain, so it cannot be adopted"),
        [d] => format!("{head}; its domain {d:?} is not a verified domain of this tenant"),
        ds => format!(
            "{head}; none of its domains ({}) is a verified domain of this tenant",
            ds.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The change-feed event (and sync-log line) of an adoption.
pub fn adopted_event(user: &User, connection_id: Uuid, m: &Match) -> Event {
    Event {
        kind: "user.adopted",
        uri: ADOPTED_URI,
        resource_type: "User",
        resource_id: user.id,
        data: json!({
            "userId": user.id,
            "userName": user.user_name,
            "matchedOn": m.on,
            "domain": m.domain,
            "connectionId": connection_id,
        }),
        summary: format!(
            "adopted user {} (created outside SCIM; {} in verified domain {})",
            user.user_name, m.on, m.domain
        ),
    }
}

/// The change-feed event (and sync-log line) of a takeover of `after` by `connection_id`.
pub fn takeover_event(after: &User, connection_id: Uuid, how: &Takeover) -> Event {
    match how {
        Takeover::Adopted(m) => adopted_event(after, connection_id, m),
        Takeover::Linked => Event {
            kind: "user.linked",
            uri: LINKED_URI,
            resource_type: "User",
            resource_id: after.id,
            data: json!({
                "userId": after.id,
                "userName": after.user_name,
                "connectionId": connection_id,
            }),
            summary: format!(
                "took over user {} (unmanaged since its connection ended)",
                after.user_name
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_dns_names() {
        let cases: [(&str, Result<&str, &str>); 11] = [
            ("acme.com", Ok("acme.com")),
            ("  Mail.ACME.co.uk ", Ok("mail.acme.co.uk")),
            ("xn--bcher-kva.example", Ok("xn--bcher-kva.example")),
            ("", Err("empty")),
            ("*.acme.com", Err("wildcard")),
            ("ann@acme.com", Err("not an address")),
            ("localhost", Err("DNS name")),
            ("acme..com", Err("1 to 63")),
            ("acme.com.", Err("1 to 63")),
            ("-acme.com", Err("hyphen")),
            ("ac me.com", Err("letters, digits")),
        ];
        for (input, want) in cases {
            match (validate_domain(input), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "{input:?}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn user(user_name: &str, email: Option<&str>) -> User {
        User {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            connection_id: None,
            source: "native".into(),
            user_name: user_name.into(),
            external_id: None,
            active: true,
            display_name: None,
            given_name: None,
            family_name: None,
            email: email.map(str::to_owned),
            document: json!({}),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn users_match_by_user_name_then_email() {
        let domains = vec!["acme.com".to_owned()];
        let cases = [
            (user("Ann@ACME.com", None), Some(("userName", "acme.com"))),
            (user("ann", Some("Ann@Acme.Com")), Some(("email", "acme.com"))),
            (user("ann@other.com", Some("ann@acme.com")), Some(("email", "acme.com"))),
            (user("ann@sub.acme.com", None), None),
            (user("ann@notacme.com", None), None),
            (user("acme.com", None), None),
            (user("ann", None), None),
        ];
        for (u, want) in cases {
            let got = matching(&u, &domains);
            assert_eq!(
                got,
                want.map(|(on, d)| Match { on, domain: d.into() }),
                "{}",
                u.user_name
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        let cases = [
            (user("ann@acme.com", None), false, "enable allow_adoption"),
            (
                user("ann@acme.com", None),
                true,
                "its domain \"acme.com\" is not a verified",
            ),
            (user("ann", None), true, "no e-mail domain"),
            (
                user("ann@a.com", Some("ann@b.com")),
                true,
                "none of its domains (\"a.com\", \"b.com\")",
            ),
        ];
        for (u, allow, want) in cases {
            let got = refusal(&u, allow);
            assert!(got.starts_with(&format!("userName {:?} belongs", u.user_name)), "{got}");
            assert!(got.contains(want), "{got}");
        }
    }
}
