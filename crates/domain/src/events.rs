//! Change events: what a mutation did, as the change feed carries it (RFC 9967 URIs for
//! provisioning, `urn:dirsync:event:` for dirsync's own) and as its sync-log line says it.
//! Made from domain values; the store writes them in the mutation's transaction.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::group::Group;
use crate::roles::Role;
use crate::user::User;

/// RFC 9967 provisioning event URIs; dirsync's own events use `urn:dirsync:event:`.
pub mod uri {
    pub const CREATE: &str = "urn:ietf:params:SCIM:event:prov:create:full";
    pub const PUT: &str = "urn:ietf:params:SCIM:event:prov:put:full";
    pub const DELETE: &str = "urn:ietf:params:SCIM:event:prov:delete";
    pub const ACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:activate";
    pub const DEACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:deactivate";
    pub const MEMBERS_ADDED: &str = "urn:dirsync:event:group:members:added";
    pub const MEMBERS_REMOVED: &str = "urn:dirsync:event:group:members:removed";
    pub const ROLE_ASSIGNED: &str = "urn:dirsync:event:role:assigned";
    /// An invite fell due (RFC 9967 style, dirsync's namespace).
    pub const INVITE_DUE: &str = "urn:dirsync:event:invite:due";
    /// A connection that synced before has sent nothing for its silence threshold.
    pub const CONNECTION_SILENT: &str = "urn:dirsync:event:connection:silent";
    /// A silent connection sent a request again.
    pub const CONNECTION_RESUMED: &str = "urn:dirsync:event:connection:resumed";
}

/// One change, as the feed carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub uri: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Uuid,
    pub data: Value,
    /// What the sync log says about it.
    pub summary: String,
}

/// Most member ids one event carries; larger changes become several events.
const MEMBERS_PER_EVENT: usize = 1000;

fn user_view(u: &User) -> Value {
    json!({
        "id": u.id,
        "userName": u.user_name,
        "externalId": u.external_id,
        "active": u.active,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "familyName": u.family_name,
        "email": u.email,
        "version": u.version,
    })
}

fn group_view(g: &Group) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "externalId": g.external_id, "version": g.version})
}

/// Top-level attributes whose values differ between two documents.
fn changed_attributes(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl Event {
    pub fn user_created(u: &User) -> Event {
        Event {
            kind: "user.created",
            uri: uri::CREATE,
            resource_type: "User",
            resource_id: u.id,
            data: json!({ "after": user_view(u) }),
            summary: format!("created user {}", u.user_name),
        }
    }

    /// The events of a user replacement: deactivation and reactivation are events of their
    /// own, any other change is `user.updated` with the changed attributes.
    pub fn user_changed(before: &User, after: &User) -> Vec<Event> {
        let mut out = Vec::new();
        let data = json!({
            "before": user_view(before),
            "after": user_view(after),
            "changedAttributes": changed_attributes(&before.document, &after.document),
        });
        if before.active != after.active {
            let (kind, uri, verb) = if after.active {
                ("user.reactivated", uri::ACTIVATE, "reactivated")
            } else {
                ("user.deactivated", uri::DEACTIVATE, "deactivated")
            };
            out.push(Event {
                kind,
                uri,
                resource_type: "User",
                resource_id: after.id,
                data: data.clone(),
                summary: format!("{verb} user {}", after.user_name),
            });
        }
        let mut attrs = changed_attributes(&before.document, &after.document);
        attrs.retain(|a| a != "active");
        if !attrs.is_empty() || before.user_name != after.user_name {
            out.push(Event {
                kind: "user.updated",
                uri: uri::PUT,
                resource_type: "User",
                resource_id: after.id,
                data,
                summary: format!("updated user {} ({})", after.user_name, attrs.join(", ")),
            });
        }
        out
    }

    pub fn user_deleted(u: &User, groups: &[Uuid]) -> Event {
        Event {
            kind: "user.deleted",
            uri: uri::DELETE,
            resource_type: "User",
            resource_id: u.id,
            data: json!({ "before": user_view(u), "groups": groups }),
            summary: format!("deleted user {}", u.user_name),
        }
    }

    pub fn group_created(g: &Group) -> Event {
        Event {
            kind: "group.created",
            uri: uri::CREATE,
            resource_type: "Group",
            resource_id: g.id,
            data: json!({ "after": group_view(g) }),
            summary: format!("created group {}", g.display_name),
        }
    }

    pub fn group_changed(before: &Group, after: &Group) -> Option<Event> {
        let attrs = changed_attributes(&before.document, &after.document);
        if before.display_name == after.display_name && attrs.is_empty() {
            return None;
        }
        let renamed = before.display_name != after.display_name;
        Some(Event {
            kind: if renamed { "group.renamed" } else { "group.updated" },
            uri: uri::PUT,
            resource_type: "Group",
            resource_id: after.id,
            data: json!({ "before": group_view(before), "after": group_view(after), "changedAttributes": attrs }),
            summary: if renamed {
                format!("renamed group {} to {}", before.display_name, after.display_name)
            } else {
                format!("updated group {} ({})", after.display_name, attrs.join(", "))
            },
        })
    }

    pub fn group_deleted(g: &Group) -> Event {
        Event {
            kind: "group.deleted",
            uri: uri::DELETE,
            resource_type: "Group",
            resource_id: g.id,
            data: json!({ "before": group_view(g) }),
            summary: format!("deleted group {}", g.display_name),
        }
    }

    /// A user's role changed (`before` is unset for a first assignment, `after` when the
    /// tenant has no role left to give).
    pub fn role_assigned(user_id: Uuid, user_name: &str, before: Option<&Role>, after: Option<&Role>) -> Event {
        let view = |r: Option<&Role>| {
            r.map_or(
                Value::Null,
                |r| json!({"id": r.id, "name": r.name, "isAdmin": r.is_admin, "isGuest": r.is_guest}),
            )
        };
        let name = |r: Option<&Role>| r.map_or("no role".to_owned(), |r| format!("role {}", r.name));
        Event {
            kind: "role.assigned",
            uri: uri::ROLE_ASSIGNED,
            resource_type: "User",
            resource_id: user_id,
            data: json!({
                "userId": user_id,
                "userName": user_name,
                "before": view(before),
                "after": view(after),
            }),
            summary: format!("assigned {} to {user_name} (was {})", name(after), name(before)),
        }
    }

    /// Membership changes, split into events of at most [`MEMBERS_PER_EVENT`] ids.
    pub fn members(g: &Group, added: &[Uuid], removed: &[Uuid]) -> Vec<Event> {
        let mut out = Vec::new();
        for (ids, kind, uri, verb, prep) in [
            (added, "group.members_added", uri::MEMBERS_ADDED, "added", "to"),
            (
                removed,
                "group.members_removed",
                uri::MEMBERS_REMOVED,
                "removed",
                "from",
            ),
        ] {
            for chunk in ids.chunks(MEMBERS_PER_EVENT) {
                out.push(Event {
                    kind,
                    uri,
                    resource_type: "Group",
                    resource_id: g.id,
                    data: json!({ "group": group_view(g), "members": chunk }),
                    summary: format!(
                        "{verb} {} member{} {prep} {}",
                        chunk.len(),
                        if chunk.len() == 1 { "" } else { "s" },
                        g.display_name
                    ),
                });
            }
        }
        out
    }
}

impl Event {
    /// What the event did as a fact for the sync log: its kind and the names and numbers its
    /// summary says in English (`name`, `from`, `to`, `count`, `attributes`), so that the
    /// portal can say it in the admin's language. Kinds without names carry only the kind.
    pub fn fact(&self) -> Value {
        let d = &self.data;
        let text = |pointer: &str| d.pointer(pointer).and_then(Value::as_str);
        let attributes = || {
            d.get("changedAttributes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|a| *a != "active")
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let mut fact = json!({ "kind": self.kind });
        let mut set = |key: &str, value: Value| {
            if !value.is_null() {
                fact[key] = value;
            }
        };
        match self.kind {
            "user.created" | "user.updated" | "user.deactivated" | "user.reactivated" => {
                set("name", json!(text("/after/userName")));
            }
            "user.deleted" => set("name", json!(text("/before/userName"))),
            "group.created" | "group.updated" => set("name", json!(text("/after/displayName"))),
            "group.deleted" => set("name", json!(text("/before/displayName"))),
            "group.renamed" => {
                set("from", json!(text("/before/displayName")));
                set("to", json!(text("/after/displayName")));
            }
            "group.members_added" | "group.members_removed" => {
                set("name", json!(text("/group/displayName")));
                set(
                    "count",
                    json!(d.get("members").and_then(Value::as_array).map_or(0, Vec::len)),
                );
            }
            "role.assigned" => {
                set("name", json!(text("/userName")));
                set("from", json!(text("/before/name")));
                set("to", json!(text("/after/name")));
            }
            "invite.due" => set("name", json!(text("/userName"))),
            "connection.silent" | "connection.resumed" => set("name", json!(text("/connectionName"))),
            _ => {}
        }
        if matches!(self.kind, "user.updated" | "group.updated") {
            set("attributes", json!(attributes()));
        }
        fact
    }
}

impl Event {
    /// An invite fell due for a user who is present and active.
    pub fn invite_due(u: &User, language: &str) -> Event {
        Event {
            kind: "invite.due",
            uri: uri::INVITE_DUE,
            resource_type: "User",
            resource_id: u.id,
            data: json!({
                "userId": u.id,
                "userName": u.user_name,
                "email": u.email,
                "language": language,
            }),
            summary: format!("invite due for user {}", u.user_name),
        }
    }
}

impl Event {
    /// A connection that synced before has sent nothing since `last_request` for longer than
    /// its threshold; one per silence. Times are epoch milliseconds, as the feed's `created`.
    pub fn connection_silent(connection_id: Uuid, name: &str, last_request: i64, threshold_seconds: i64) -> Event {
        Event {
            kind: "connection.silent",
            uri: uri::CONNECTION_SILENT,
            resource_type: "Connection",
            resource_id: connection_id,
            data: json!({
                "connectionId": connection_id,
                "connectionName": name,
                "lastRequestMs": last_request,
                "thresholdSeconds": threshold_seconds,
            }),
            summary: format!("connection {name} went silent: no request for {threshold_seconds} seconds"),
        }
    }

    /// A silent connection sent a request again (at `resumed_at`, epoch ms).
    pub fn connection_resumed(connection_id: Uuid, name: &str, silent_since: i64, resumed_at: i64) -> Event {
        Event {
            kind: "connection.resumed",
            uri: uri::CONNECTION_RESUMED,
            resource_type: "Connection",
            resource_id: connection_id,
            data: json!({
                "connectionId": connection_id,
                "connectionName": name,
                "silentSinceMs": silent_since,
                "resumedAtMs": resumed_at,
            }),
            summary: format!("connection {name} sends requests again"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_attributes_compare_top_level_values() {
        let before = json!({"a": 1, "b": {"x": 1}, "c": 3});
        let after = json!({"a": 1, "b": {"x": 2}, "d": 4});
        assert_eq!(changed_attributes(&before, &after), vec!["b", "c", "d"]);
    }

    #[test]
    fn facts_carry_the_names_the_summary_says() {
        let g = |name: &str| Group {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            connection_id: None,
            display_name: name.into(),
            external_id: None,
            document: json!({}),
            version: 1,
            created_at: 0,
            updated_at: 0,
        };
        let id = Uuid::nil();
        for (event, want) in [
            (
                Event::group_changed(&g("Sales"), &g("Sales EU")).expect("renamed"),
                json!({"kind": "group.renamed", "from": "Sales", "to": "Sales EU"}),
            ),
            (
                Event::members(&g("Sales"), &[id, id], &[]).remove(0),
                json!({"kind": "group.members_added", "name": "Sales", "count": 2}),
            ),
            (
                Event::role_assigned(id, "ann", None, None),
                json!({"kind": "role.assigned", "name": "ann"}),
            ),
        ] {
            assert_eq!(event.fact(), want, "{}", event.summary);
        }
    }
}
