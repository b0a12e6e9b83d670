//! What a sync-log entry did, in the session's language: rendered from the entry's facts
//! (the change kinds and names the core records) or, for a request that changed nothing, from
//! its method, path and status. An entry with a kind this portal does not know keeps the
//! core's English summary, marked as English.

use dirsync_proto::v1::{LogFact, SyncLogEntry};
use maud::{Markup, html};

use crate::i18n::{Lang, fill};

struct FactTexts {
    user_created: &'static str,
    user_updated: &'static str,
    user_deactivated: &'static str,
    user_reactivated: &'static str,
    user_deleted: &'static str,
    group_created: &'static str,
    group_updated: &'static str,
    group_renamed: &'static str,
    group_deleted: &'static str,
    member_added: &'static str,
    members_added: &'static str,
    member_removed: &'static str,
    members_removed: &'static str,
    /// `{name}` got `{to}`, had `{from}`.
    role_assigned: &'static str,
    role: &'static str,
    no_role: &'static str,
    invite_due: &'static str,
    connection_silent: &'static str,
    connection_resumed: &'static str,
    kept_on_removal: &'static str,
    searched: &'static str,
    read: &'static str,
    no_change: &'static str,
    rejected: &'static str,
}

static EN: FactTexts = FactTexts {
    user_created: "created user {name}",
    user_updated: "updated user {name} ({attributes})",
    user_deactivated: "deactivated user {name}",
    user_reactivated: "reactivated user {name}",
    user_deleted: "deleted user {name}",
    group_created: "created group {name}",
    group_updated: "updated group {name} ({attributes})",
    group_renamed: "renamed group {from} to {to}",
    group_deleted: "deleted group {name}",
    member_added: "added 1 member to {name}",
    members_added: "added {count} members to {name}",
    member_removed: "removed 1 member from {name}",
    members_removed: "removed {count} members from {name}",
    role_assigned: "assigned {to} to {name} (was {from})",
    role: "role {role}",
    no_role: "no role",
    invite_due: "invite due for user {name}",
    connection_silent: "connection {name} went silent",
    connection_resumed: "connection {name} sends requests again",
    kept_on_removal: "kept on removal: {attributes} (the IdP cleared it; the tenant's schema keeps it)",
    searched: "searched {resource}",
    read: "read {resource}",
    no_change: "{method} {resource}: no change",
    rejected: "rejected {method} {resource}",
};

static DE: FactTexts = FactTexts {
    user_created: "Benutzer {name} angelegt",
    user_updated: "Benutzer {name} geändert ({attributes})",
    user_deactivated: "Benutzer {name} deaktiviert",
    user_reactivated: "Benutzer {name} wieder aktiviert",
    user_deleted: "Benutzer {name} gelöscht",
    group_created: "Gruppe {name} angelegt",
    group_updated: "Gruppe {name} geändert ({attributes})",
    group_renamed: "Gruppe {from} in {to} umbenannt",
    group_deleted: "Gruppe {name} gelöscht",
    member_added: "1 Mitglied zu {name} hinzugefügt",
    members_added: "{count} Mitglieder zu {name} hinzugefügt",
    member_removed: "1 Mitglied aus {name} entfernt",
    members_removed: "{count} Mitglieder aus {name} entfernt",
    role_assigned: "{name} erhält {to} (vorher {from})",
    role: "die Rolle {role}",
    no_role: "keine Rolle",
    invite_due: "Einladung für Benutzer {name} fällig",
    connection_silent: "Verbindung {name} ist verstummt",
    connection_resumed: "Verbindung {name} sendet wieder Anfragen",
    kept_on_removal: "Beim Entfernen behalten: {attributes} (der Identitätsanbieter hat es geleert; das Schema der Organisation behält es)",
    searched: "{resource} durchsucht",
    read: "{resource} gelesen",
    no_change: "{method} {resource}: keine Änderung",
    rejected: "{method} {resource} abgelehnt",
};

fn texts(lang: Lang) -> &'static FactTexts {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}

/// One fact as a sentence; `None` for a kind this portal has no text for.
fn fact(t: &FactTexts, f: &LogFact) -> Option<String> {
    let name = f.name.as_deref().unwrap_or_default();
    let attributes = f.attributes.join(", ");
    let role = |r: Option<&str>| r.map_or(t.no_role.to_owned(), |r| fill(t.role, &[("role", r)]));
    let template = match f.kind.as_str() {
        "user.created" => t.user_created,
        "user.updated" => t.user_updated,
        "user.deactivated" => t.user_deactivated,
        "user.reactivated" => t.user_reactivated,
        "user.deleted" => t.user_deleted,
        "group.created" => t.group_created,
        "group.updated" => t.group_updated,
        "group.renamed" => t.group_renamed,
        "group.deleted" => t.group_deleted,
        "group.members_added" if f.count == 1 => t.member_added,
        "group.members_added" => t.members_added,
        "group.members_removed" if f.count == 1 => t.member_removed,
        "group.members_removed" => t.members_removed,
        "role.assigned" => {
            let (from, to) = (role(f.from.as_deref()), role(f.to.as_deref()));
            return Some(fill(t.role_assigned, &[("name", name), ("from", &from), ("to", &to)]));
        }
        "invite.due" => t.invite_due,
        "connection.silent" => t.connection_silent,
        "connection.resumed" => t.connection_resumed,
        "kept_on_removal" => t.kept_on_removal,
        _ => return None,
    };
    Some(fill(
        template,
        &[
            ("name", name),
            ("from", f.from.as_deref().unwrap_or_default()),
            ("to", f.to.as_deref().unwrap_or_default()),
            ("count", &f.count.to_string()),
            ("attributes", &attributes),
        ],
    ))
}

/// `/Users/42` of `/scim/v2/<tenant>/Users/42?…`.
fn resource(path: &str) -> String {
    let rest = path
        .split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .skip_while(|s| *s != "v2")
        .skip(2)
        .collect::<Vec<_>>()
        .join("/");
    format!("/{rest}")
}

/// A request that changed nothing, as the core's `sync_log::describe` says it in English;
/// `None` for lines that are no SCIM request (jobs, portal actions).
fn request(t: &FactTexts, e: &SyncLogEntry) -> Option<String> {
    if !e.path.contains("/v2/") {
        return None;
    }
    let resource = resource(&e.path);
    let values = [("method", e.method.as_str()), ("resource", resource.as_str())];
    let template = if e.status >= 400 {
        t.rejected
    } else {
        match (e.method.as_str(), e.path.contains("filter=")) {
            ("GET", true) => t.searched,
            ("GET", false) => t.read,
            ("POST", _) if resource.ends_with(".search") => t.searched,
            _ => t.no_change,
        }
    };
    Some(fill(template, &values))
}

/// What the entry did, in `lang`.
pub fn what(lang: Lang, e: &SyncLogEntry) -> Markup {
    let t = texts(lang);
    let said: Option<String> = if e.facts.is_empty() {
        request(t, e)
    } else {
        e.facts
            .iter()
            .map(|f| fact(t, f))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join("; "))
    };
    match said {
        Some(text) => html! {
            (text)
            // A refusal's detail comes from the core, in English.
            @if let (true, Some(err)) = (e.status >= 400 && e.facts.is_empty(), &e.error) {
                ": " span lang=[(lang != Lang::En).then_some("en")] { (err) }
            }
        },
        None => html! { span lang=[(lang != Lang::En).then_some("en")] { (e.summary) } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u32, facts: Vec<LogFact>) -> SyncLogEntry {
        SyncLogEntry {
            method: method.into(),
            path: path.into(),
            status,
            facts,
            summary: "the core's English".into(),
            error: (status >= 400).then(|| "userName taken".into()),
            ..Default::default()
        }
    }

    fn f(kind: &str, name: &str, count: u64) -> LogFact {
        LogFact {
            kind: kind.into(),
            name: Some(name.into()),
            count,
            ..Default::default()
        }
    }

    #[test]
    fn entries_are_said_in_each_language() {
        let t = "/scim/v2/0193";
        let role = LogFact {
            kind: "role.assigned".into(),
            name: Some("ann".into()),
            to: Some("Admin".into()),
            ..Default::default()
        };
        for (e, en, de) in [
            (
                entry("POST", &format!("{t}/Users"), 201, vec![f("user.created", "ann", 0)]),
                "created user ann",
                "Benutzer ann angelegt",
            ),
            (
                entry(
                    "PATCH",
                    &format!("{t}/Groups/7"),
                    200,
                    vec![
                        f("group.members_added", "Sales", 3),
                        f("group.members_removed", "Sales", 1),
                    ],
                ),
                "added 3 members to Sales; removed 1 member from Sales",
                "3 Mitglieder zu Sales hinzugefügt; 1 Mitglied aus Sales entfernt",
            ),
            (
                entry("PATCH", &format!("{t}/Users/1"), 200, vec![role]),
                "assigned role Admin to ann (was no role)",
                "ann erhält die Rolle Admin (vorher keine Rolle)",
            ),
            (
                entry("GET", &format!("{t}/Users?filter=userName%20eq%20%22a%22"), 200, vec![]),
                "searched /Users",
                "/Users durchsucht",
            ),
            (
                entry("POST", &format!("{t}/Users"), 409, vec![]),
                "rejected POST /Users: <span>userName taken</span>",
                "POST /Users abgelehnt: <span lang=\"en\">userName taken</span>",
            ),
            // A kind without a text keeps the core's English.
            (
                entry(
                    "PORTAL",
                    "/portal/token_rotated",
                    200,
                    vec![f("portal.token_rotated", "", 0)],
                ),
                "<span>the core's English</span>",
                "<span lang=\"en\">the core's English</span>",
            ),
            (
                entry("JOB", "/Users/1", 0, vec![]),
                "<span>the core's English</span>",
                "<span lang=\"en\">the core's English</span>",
            ),
        ] {
            assert_eq!(what(Lang::En, &e).into_string(), en, "{e:?}");
            assert_eq!(what(Lang::De, &e).into_string(), de, "{e:?}");
        }
    }
}
