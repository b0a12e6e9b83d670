//! Roles: which one role each user holds, and the rules every change keeps. The decisions
//! are made here, on facts the store reads (`store::roles`), so they can be tested without a
//! database.
//!
//! - A user holds exactly one role, from the tenant's source: the most privileged role among
//!   the mapped groups the user is a direct member of (`groups`), or the role named exactly by
//!   the `userRole` attribute of a schema extension (`attribute`); without one, the default
//!   role (the one flagged default, else the least privileged role that is neither guest nor
//!   admin: an implicit default never grants admin rights, so a tenant whose first role is
//!   Admin does not make everyone an admin while it is being configured).
//! - Guest roles are never assigned through SCIM.
//! - No change may leave a tenant that has an active admin without one.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};

/// A role of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Case-sensitive, unique per tenant.
    pub name: String,
    /// Privilege: higher is more privileged.
    pub rank: i32,
    pub is_admin: bool,
    pub is_guest: bool,
    pub is_default: bool,
    pub created_at: i64,
}

/// The extension attribute that names a user's role (source `attribute`).
pub const USER_ROLE_ATTRIBUTE: &str = "userRole";

/// Where a tenant takes its users' roles from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoleSource {
    #[default]
    Groups,
    Attribute,
}

impl RoleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleSource::Groups => "groups",
            RoleSource::Attribute => "attribute",
        }
    }

    /// The stored value; anything unknown reads as the default, `groups`.
    pub fn parse(s: &str) -> RoleSource {
        match s {
            "attribute" => RoleSource::Attribute,
            _ => RoleSource::Groups,
        }
    }
}

/// Who is changing the facts a role derives from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An IdP through SCIM: may not make anyone a guest, may not name unknown roles.
    Scim,
    /// The product's own gRPC writes: may name a guest role.
    Native,
    /// An operator's role configuration change: IdP data it cannot fix (a `userRole` naming no
    /// role) keeps the user's current role instead of failing the operator's call.
    Admin,
}

/// Most privileged first: higher rank, then admin over non-admin, then the older role.
fn by_privilege(a: &Role, b: &Role) -> Ordering {
    b.rank
        .cmp(&a.rank)
        .then(b.is_admin.cmp(&a.is_admin))
        .then(a.id.cmp(&b.id))
}

/// A tenant's role configuration, read once per transaction.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub source: RoleSource,
    /// Most privileged first.
    roles: Vec<Role>,
    /// Group id -> role id.
    mappings: HashMap<Uuid, Uuid>,
}

impl Catalog {
    pub fn new(source: RoleSource, mut roles: Vec<Role>, mappings: HashMap<Uuid, Uuid>) -> Self {
        roles.sort_by(by_privilege);
        Catalog {
            source,
            roles,
            mappings,
        }
    }

    /// A tenant without roles assigns none: every rule here is then a no-op.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    pub fn get(&self, id: Uuid) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// Exact, case-sensitive.
    pub fn by_name(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    pub fn is_mapped(&self, group_id: Uuid) -> bool {
        self.mappings.contains_key(&group_id)
    }

    pub fn mapped_role(&self, group_id: Uuid) -> Option<Uuid> {
        self.mappings.get(&group_id).copied()
    }

    /// The role flagged default, else the least privileged role that is neither guest nor
    /// admin.
    pub fn default_role(&self) -> Option<&Role> {
        self.roles
            .iter()
            .find(|r| r.is_default && !r.is_guest)
            .or_else(|| self.roles.iter().rev().find(|r| !r.is_guest && !r.is_admin))
    }

    /// The most privileged of the given roles.
    pub fn highest(&self, ids: &[Uuid]) -> Option<&Role> {
        self.roles.iter().find(|r| ids.contains(&r.id))
    }

    pub fn is_admin(&self, role: Option<Uuid>) -> bool {
        role.and_then(|id| self.get(id)).is_some_and(|r| r.is_admin)
    }

    fn names(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What decides one user's role.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// The role the user holds now.
    pub current: Option<Uuid>,
    /// Roles of the mapped groups the user is a direct member of (source `groups`).
    pub mapped: &'a [Uuid],
    /// The `userRole` value (source `attribute`).
    pub attribute: Option<&'a str>,
    /// False when a write left `userRole` as it was: the user keeps the role it holds, so a
    /// renamed role never makes the IdP's unrelated writes fail.
    pub attribute_changed: bool,
}

/// The role a user should hold, or why the change that asks for it is refused.
pub fn decide<'a>(catalog: &'a Catalog, facts: &Facts<'_>, trigger: Trigger) -> Result<Option<&'a Role>> {
    let current = facts.current.and_then(|id| catalog.get(id));
    let wanted = match catalog.source {
        RoleSource::Groups => catalog.highest(facts.mapped).or_else(|| catalog.default_role()),
        RoleSource::Attribute => match (facts.attribute_changed, current) {
            (false, Some(held)) => Some(held),
            _ => match facts.attribute.filter(|v| !v.is_empty()) {
                // Kept on removal: an IdP that removes or empties userRole keeps the user's
                // role; only a new role name moves it (a new user starts with the default).
                None if trigger == Trigger::Scim => current.or_else(|| catalog.default_role()),
                None => catalog.default_role(),
                Some(name) => match (catalog.by_name(name), trigger) {
                    (Some(role), _) => Some(role),
                    (None, Trigger::Admin) => current.or_else(|| catalog.default_role()),
                    (None, _) => {
                        return Err(Error::new(
                            ErrorKind::InvalidValue,
                            format!(
                                "{USER_ROLE_ATTRIBUTE} {name:?} names no role of this tenant (role names are \
                             case-sensitive: {})",
                                catalog.names()
                            ),
                        ));
                    }
                },
            },
        },
    };
    if let Some(role) = wanted
        && role.is_guest
        && trigger == Trigger::Scim
        && facts.current != Some(role.id)
    {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!(
                "role {:?} is a guest role; guest roles are never assigned through SCIM",
                role.name
            ),
        ));
    }
    Ok(wanted)
}

/// Whether a user with this role and state counts as an active admin.
pub fn is_active_admin(catalog: &Catalog, role: Option<Uuid>, active: bool) -> bool {
    active && catalog.is_admin(role)
}

/// The refusal of a change that would remove the tenant's last active admin.
pub fn last_admin(who: Option<&str>) -> Error {
    Error::new(
        ErrorKind::LastAdmin,
        match who {
            Some(user) => format!(
                "{user} is the last active admin of this tenant; make another user an admin first \
             (nothing was changed)"
            ),
            None => "this change would leave the tenant without an active admin; make another user an \
                 admin first (nothing was changed)"
                .into(),
        },
    )
}

/// The `userRole` value of a user document: under any extension URN key (e.g.
/// `urn:ietf:params:scim:schemas:extension:<vendor>:2.0:User`) whose object has it. Attribute
/// names are case-insensitive (RFC 7643 §2.1); the value is taken exactly.
pub fn user_role_attribute(document: &Value) -> Option<&str> {
    crate::schemas::extension_value(document, USER_ROLE_ATTRIBUTE)
}

/// The flags and name of a role as a caller asks for them.
pub fn validate(name: &str, is_admin: bool, is_guest: bool, is_default: bool) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::new(ErrorKind::InvalidValue, "a role name must not be empty"));
    }
    if is_guest && is_default {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("role {name:?} cannot be both the guest role and the default role"),
        ));
    }
    if is_guest && is_admin {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("role {name:?} cannot be both a guest role and an admin role"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(n: u128, name: &str, rank: i32, flags: &str) -> Role {
        Role {
            id: Uuid::from_u128(n),
            tenant_id: Uuid::nil(),
            name: name.into(),
            rank,
            is_admin: flags.contains('a'),
            is_guest: flags.contains('g'),
            is_default: flags.contains('d'),
            created_at: 0,
        }
    }

    const ADMIN: u128 = 1;
    const MEMBER: u128 = 2;
    const VIEWER: u128 = 3;
    const GUEST: u128 = 4;

    fn catalog(source: RoleSource, default_member: bool) -> Catalog {
        Catalog::new(
            source,
            vec![
                role(GUEST, "Guest", 0, "g"),
                role(MEMBER, "Member", 10, if default_member { "d" } else { "" }),
                role(ADMIN, "Admin", 100, "a"),
                role(VIEWER, "Viewer", 5, ""),
            ],
            HashMap::new(),
        )
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn group_source_takes_the_highest_mapped_role_else_the_default() {
        let flagged = catalog(RoleSource::Groups, true);
        let unflagged = catalog(RoleSource::Groups, false);
        let cases: [(&Catalog, &[Uuid], Trigger, Option<u128>); 7] = [
            (&flagged, &[id(MEMBER), id(ADMIN)], Trigger::Scim, Some(ADMIN)),
            (&flagged, &[id(VIEWER)], Trigger::Scim, Some(VIEWER)),
            (&flagged, &[], Trigger::Scim, Some(MEMBER)),
            // The least privileged non-guest role when none is flagged.
            (&unflagged, &[], Trigger::Scim, Some(VIEWER)),
            // A guest mapping loses to any other mapped role...
            (&flagged, &[id(GUEST), id(VIEWER)], Trigger::Scim, Some(VIEWER)),
            // ...and wins only outside SCIM.
            (&flagged, &[id(GUEST)], Trigger::Admin, Some(GUEST)),
            (&flagged, &[id(GUEST)], Trigger::Native, Some(GUEST)),
        ];
        for (cat, mapped, trigger, want) in cases {
            let facts = Facts {
                mapped,
                ..Default::default()
            };
            let got = decide(cat, &facts, trigger).unwrap().map(|r| r.id);
            assert_eq!(got, want.map(id), "{mapped:?} {trigger:?}");
        }
    }

    #[test]
    fn attribute_source_takes_the_exact_name() {
        let cat = catalog(RoleSource::Attribute, true);
        // (userRole, changed, current role, trigger, wanted role or a part of the error)
        type Case<'a> = (
            Option<&'a str>,
            bool,
            Option<u128>,
            Trigger,
            Result<Option<u128>, &'a str>,
        );
        let cases: [Case; 9] = [
            (Some("Admin"), true, None, Trigger::Scim, Ok(Some(ADMIN))),
            (None, true, None, Trigger::Scim, Ok(Some(MEMBER))),
            (Some(""), true, None, Trigger::Scim, Ok(Some(MEMBER))),
            (Some("admin"), true, None, Trigger::Scim, Err("\"admin\" names no role")),
            // Unknown names keep the current role when an operator changes the configuration.
            (Some("admin"), true, Some(VIEWER), Trigger::Admin, Ok(Some(VIEWER))),
            // An unchanged attribute keeps the role held (a renamed role stays assigned).
            (Some("Old name"), false, Some(ADMIN), Trigger::Scim, Ok(Some(ADMIN))),
            (
                Some("Guest"),
                true,
                None,
                Trigger::Scim,
                Err("\"Guest\" is a guest role"),
            ),
            (Some("Guest"), true, Some(GUEST), Trigger::Scim, Ok(Some(GUEST))),
            (Some("Guest"), true, None, Trigger::Native, Ok(Some(GUEST))),
        ];
        for (attribute, attribute_changed, current, trigger, want) in cases {
            let facts = Facts {
                current: current.map(id),
                attribute,
                attribute_changed,
                ..Default::default()
            };
            match (decide(&cat, &facts, trigger), want) {
                (Ok(got), Ok(want)) => assert_eq!(got.map(|r| r.id), want.map(id), "{attribute:?}"),
                (Err(e), Err(part)) if e.kind() == ErrorKind::InvalidValue => {
                    assert!(e.to_string().contains(part), "{e}")
                }
                (got, want) => panic!("{attribute:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn user_role_is_found_under_any_extension() {
        let cases = [
            (
                json!({"urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"userRole": "Admin"}}),
                Some("Admin"),
            ),
            (json!({"URN:x:User": {"USERROLE": "Member"}}), Some("Member")),
            (json!({"userRole": "Admin"}), None),
            (json!({"urn:x:User": {"teams": "a,b"}}), None),
            (json!({"urn:x:User": {"userRole": 3}}), None),
            (json!([]), None),
        ];
        for (doc, want) in cases {
            assert_eq!(user_role_attribute(&doc), want, "{doc}");
        }
    }

    #[test]
    fn flags_that_contradict_each_other_are_refused() {
        let cases = [
            ("Member", false, false, true, true),
            ("", false, false, false, false),
            ("Guest", false, true, true, false),
            ("Guest", true, true, false, false),
            ("Guest", false, true, false, true),
        ];
        for (name, admin, guest, default, ok) in cases {
            assert_eq!(
                validate(name, admin, guest, default).is_ok(),
                ok,
                "{name} {admin} {guest} {default}"
            );
        }
    }

    #[test]
    fn ties_in_rank_go_to_the_admin_then_the_older_role() {
        let cat = Catalog::new(
            RoleSource::Groups,
            vec![role(9, "B", 5, ""), role(8, "A", 5, "a"), role(7, "C", 5, "")],
            HashMap::new(),
        );
        let names: Vec<&str> = cat.roles().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["A", "C", "B"]);
        assert_eq!(cat.default_role().map(|r| r.name.as_str()), Some("B"));
    }

    #[test]
    fn an_implicit_default_is_never_an_admin_role() {
        let cases = [
            (vec![role(1, "Admin", 100, "a")], None),
            (vec![role(1, "Admin", 100, "a"), role(2, "Guest", 0, "g")], None),
            (
                vec![role(1, "Admin", 1, "a"), role(2, "Member", 10, "")],
                Some("Member"),
            ),
            (
                vec![role(1, "Admin", 100, "ad"), role(2, "Member", 10, "")],
                Some("Admin"),
            ),
        ];
        for (roles, want) in cases {
            let cat = Catalog::new(RoleSource::Groups, roles, HashMap::new());
            assert_eq!(cat.default_role().map(|r| r.name.as_str()), want);
        }
    }
}
