//! English and German texts. One struct per language, so a text missing in one language is a
//! compile error. The language comes from `?lang=`, then the language cookie, then
//! `Accept-Language`, then English.

use dirsync_proto::v1::ErrorReason;
use http::HeaderMap;
use http::header::{ACCEPT_LANGUAGE, COOKIE};
use tonic_types::StatusExt;

/// The domain of the core's `google.rpc.ErrorInfo` (`dirsync_core::error::ERROR_DOMAIN`).
const ERROR_DOMAIN: &str = "dirsync.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

/// The cookie that keeps a chosen language.
pub const LANG_COOKIE: &str = "dirsync_portal_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::De,
            Lang::De => Lang::En,
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(value: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',').take(20) {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("");
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The language of a request: query, cookie, Accept-Language, English.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> Lang {
        let from_query = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Lang::parse(&v))
        });
        let from_cookie = || {
            headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(cookie::Cookie::split_parse)
                .filter_map(Result::ok)
                .find(|c| c.name() == LANG_COOKIE)
                .and_then(|c| Lang::parse(c.value()))
        };
        let from_header = || {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        };
        from_query.or_else(from_cookie).or_else(from_header).unwrap_or(Lang::En)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}

/// Replaces `{name}` placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// The mass-deprovisioning hold's texts (the banner, the hold view, its settings).
pub struct HoldTexts {
    pub banner: &'static str,
    pub banner_link: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub none: &'static str,
    pub user: &'static str,
    pub effect: &'static str,
    pub since: &'static str,
    pub deactivate: &'static str,
    pub delete: &'static str,
    pub more: &'static str,
    pub approve: &'static str,
    pub approve_help: &'static str,
    pub reject: &'static str,
    pub reject_help: &'static str,
    pub approved: &'static str,
    pub rejected: &'static str,
    pub settings_title: &'static str,
    pub settings_help: &'static str,
    pub max_users: &'static str,
    pub max_percent: &'static str,
    pub window: &'static str,
    pub off_hint: &'static str,
    pub save: &'static str,
    pub saved_on: &'static str,
    pub saved_off: &'static str,
    pub status_off: &'static str,
    pub status_on: &'static str,
    pub open: &'static str,
}

impl Lang {
    pub fn hold(self) -> &'static HoldTexts {
        match self {
            Lang::En => &HOLD_EN,
            Lang::De => &HOLD_DE,
        }
    }
}

static HOLD_EN: HoldTexts = HoldTexts {
    banner: "{n} users are waiting to be deactivated or deleted: the identity provider deprovisioned more users than the connection allows at once. They keep their access to {product} until you decide.",
    banner_link: "Review and decide",
    title: "Held deprovisioning",
    intro: "The identity provider deactivated or deleted more users than this connection allows within its window. Its requests were accepted, but these users keep their access to {product} until you approve or reject. Further deactivations and deletions from this connection wait too.",
    none: "Nothing is waiting.",
    user: "User",
    effect: "Change",
    since: "Sent",
    deactivate: "Deactivate",
    delete: "Delete",
    more: "{n} more are not listed.",
    approve: "Approve: remove their access",
    approve_help: "Applies every held change now: the users are deactivated or deleted in {product}.",
    reject: "Reject: keep their access",
    reject_help: "Discards the held changes: the users stay as they are. The identity provider is not told and believes its changes took effect; fix the cause there (for example a wrong scoping group), otherwise its next full sync sends them again.",
    approved: "Approved: {n} held changes were applied.",
    rejected: "Rejected: {n} held changes were discarded; the users keep their access.",
    settings_title: "Mass-deprovisioning hold",
    settings_help: "When the identity provider deactivates or deletes more users than this within the window, the changes wait for your approval instead of removing access.",
    max_users: "More than this many users",
    max_percent: "Or more than this share of active users (%)",
    window: "Within (minutes)",
    off_hint: "0 turns a limit off; both 0 turns the hold off.",
    save: "Save the hold",
    saved_on: "The hold is on.",
    saved_off: "The hold is off.",
    status_off: "Off",
    status_on: "On: more than {users} users or {percent} % within {minutes} minutes wait for approval (0: no limit).",
    open: "Held deprovisioning: {n} users wait",
};

static HOLD_DE: HoldTexts = HoldTexts {
    banner: "{n} Benutzer warten auf Deaktivierung oder Löschung: Der Identitätsanbieter hat mehr Benutzer auf einmal entfernt, als die Verbindung erlaubt. Sie behalten ihren Zugang zu {product}, bis Sie entscheiden.",
    banner_link: "Prüfen und entscheiden",
    title: "Zurückgehaltene Deprovisionierung",
    intro: "Der Identitätsanbieter hat innerhalb des Zeitfensters mehr Benutzer deaktiviert oder gelöscht, als diese Verbindung erlaubt. Seine Anfragen wurden angenommen, aber diese Benutzer behalten ihren Zugang zu {product}, bis Sie zustimmen oder ablehnen. Weitere Deaktivierungen und Löschungen dieser Verbindung warten ebenfalls.",
    none: "Es wartet nichts.",
    user: "Benutzer",
    effect: "Änderung",
    since: "Gesendet",
    deactivate: "Deaktivieren",
    delete: "Löschen",
    more: "{n} weitere sind nicht aufgeführt.",
    approve: "Zustimmen: Zugang entziehen",
    approve_help: "Wendet alle zurückgehaltenen Änderungen jetzt an: Die Benutzer werden in {product} deaktiviert oder gelöscht.",
    reject: "Ablehnen: Zugang behalten",
    reject_help: "Verwirft die zurückgehaltenen Änderungen: Die Benutzer bleiben, wie sie sind. Der Identitätsanbieter erfährt davon nichts und hält seine Änderungen für ausgeführt; beheben Sie die Ursache dort (zum Beispiel eine falsche Zuweisungsgruppe), sonst sendet er sie bei der nächsten vollständigen Synchronisierung erneut.",
    approved: "Zugestimmt: {n} zurückgehaltene Änderungen wurden angewendet.",
    rejected: "Abgelehnt: {n} zurückgehaltene Änderungen wurden verworfen; die Benutzer behalten ihren Zugang.",
    settings_title: "Schutz vor Massen-Deprovisionierung",
    settings_help: "Deaktiviert oder löscht der Identitätsanbieter innerhalb des Zeitfensters mehr Benutzer als hier erlaubt, warten die Änderungen auf Ihre Zustimmung, statt den Zugang zu entziehen.",
    max_users: "Mehr als so viele Benutzer",
    max_percent: "Oder mehr als dieser Anteil der aktiven Benutzer (%)",
    window: "Innerhalb von (Minuten)",
    off_hint: "0 schaltet eine Grenze ab; beide 0 schalten den Schutz ab.",
    save: "Schutz speichern",
    saved_on: "Der Schutz ist eingeschaltet.",
    saved_off: "Der Schutz ist ausgeschaltet.",
    status_off: "Aus",
    status_on: "Ein: Mehr als {users} Benutzer oder {percent} % innerhalb von {minutes} Minuten warten auf Zustimmung (0: keine Grenze).",
    open: "Zurückgehaltene Deprovisionierung: {n} Benutzer warten",
};

pub struct Texts {
    pub language_name: &'static str,
    pub switch_language: &'static str,
    pub skip_link: &'static str,
    pub portal: &'static str,
    pub nav_label: &'static str,
    pub nav_setup: &'static str,
    pub nav_connection: &'static str,
    pub nav_log: &'static str,
    pub sign_out: &'static str,
    pub back_to: &'static str,
    pub organisation: &'static str,

    pub link_title: &'static str,
    pub link_intro: &'static str,
    pub link_once: &'static str,
    pub link_continue: &'static str,
    pub link_expires: &'static str,
    pub link_invalid_title: &'static str,
    pub link_invalid: &'static str,
    pub session_ended_title: &'static str,
    pub session_ended: &'static str,
    pub signed_out: &'static str,
    pub cross_site_title: &'static str,
    pub cross_site: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    pub error_title: &'static str,

    pub setup_title: &'static str,
    pub setup_choose: &'static str,
    pub setup_choose_help: &'static str,
    pub setup_selected: &'static str,
    pub setup_steps: &'static str,
    pub setup_credentials: &'static str,
    pub setup_verify: &'static str,
    pub tenant_url: &'static str,
    pub secret_token: &'static str,
    pub show_token: &'static str,
    pub token_hidden: &'static str,
    pub token_shown: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub verify_waiting: &'static str,
    pub verify_check: &'static str,
    pub verify_received: &'static str,
    pub verify_failed: &'static str,

    pub conn_title: &'static str,
    pub conn_none: &'static str,
    pub conn_ended_list: &'static str,
    pub idp: &'static str,
    pub created: &'static str,
    pub last_request: &'static str,
    pub last_success: &'static str,
    pub never: &'static str,
    pub requests_24h: &'static str,
    pub ok_failed: &'static str,
    pub last_error: &'static str,
    pub rotate_title: &'static str,
    pub rotate_help: &'static str,
    pub grace: &'static str,
    pub grace_none: &'static str,
    pub grace_hour: &'static str,
    pub grace_day: &'static str,
    pub grace_week: &'static str,
    pub rotate: &'static str,
    pub rotated: &'static str,
    pub revoke_title: &'static str,
    pub revoke_help: &'static str,
    pub revoke: &'static str,
    pub revoked: &'static str,
    pub end_title: &'static str,
    pub end_help: &'static str,
    pub end: &'static str,
    pub end_confirm_title: &'static str,
    pub end_confirm: &'static str,
    pub cancel: &'static str,
    pub ended_done: &'static str,

    pub log_title: &'static str,
    pub log_failed_only: &'static str,
    pub log_search: &'static str,
    pub log_apply: &'static str,
    pub log_empty: &'static str,
    pub log_live: &'static str,
    pub col_time: &'static str,
    pub col_request: &'static str,
    pub col_status: &'static str,
    pub col_result: &'static str,
    pub details: &'static str,
    pub error: &'static str,
    pub hint: &'static str,
    pub trace: &'static str,
    pub body: &'static str,
    pub in_progress: &'static str,

    pub nav_mappings: &'static str,
    pub map_title: &'static str,
    pub map_intro: &'static str,
    pub map_rule_role: &'static str,
    pub map_rule_admin: &'static str,
    pub map_rule_guest: &'static str,
    pub map_rule_license: &'static str,
    pub map_attribute_source: &'static str,
    pub map_no_groups: &'static str,
    pub map_members: &'static str,
    pub map_role: &'static str,
    pub map_tier: &'static str,
    pub map_none: &'static str,
    pub map_preview: &'static str,
    pub preview_title: &'static str,
    pub preview_intro: &'static str,
    pub move_role: &'static str,
    pub get_role: &'static str,
    pub lose_role: &'static str,
    pub move_tier: &'static str,
    pub get_tier: &'static str,
    pub lose_tier: &'static str,
    pub seats_bought: &'static str,
    pub seats_bought_done: &'static str,
    pub nothing_moves: &'static str,
    pub refused_title: &'static str,
    pub save: &'static str,
    pub saved: &'static str,

    pub nav_people: &'static str,
    pub people_title: &'static str,
    pub people_intro: &'static str,
    pub people_search: &'static str,
    pub search: &'static str,
    pub col_user: &'static str,
    pub col_email: &'static str,
    pub col_license: &'static str,
    pub col_state: &'static str,
    pub active: &'static str,
    pub inactive: &'static str,
    pub pending_seat: &'static str,
    pub people_empty: &'static str,
    pub people_truncated: &'static str,
    pub groups_title: &'static str,
    pub col_group: &'static str,
    pub col_members: &'static str,

    pub inv_title: &'static str,
    pub inv_help: &'static str,
    pub inv_enabled: &'static str,
    pub inv_delay: &'static str,
    pub inv_save: &'static str,
    pub inv_on: &'static str,
    pub inv_off: &'static str,
    pub delay_now: &'static str,
    pub delay_10m: &'static str,
    pub delay_1h: &'static str,
    pub delay_1d: &'static str,

    pub hint_auth: &'static str,
    pub hint_not_found: &'static str,
    pub hint_conflict: &'static str,
    pub hint_invalid: &'static str,
    pub hint_too_large: &'static str,
    pub hint_rate: &'static str,
    pub hint_other: &'static str,

    pub guide_note: Option<&'static str>,

    pub refused_not_found_title: &'static str,
    pub refused_not_found: &'static str,
    pub refused_uniqueness: &'static str,
    pub refused_stale: &'static str,
    pub refused_invalid: &'static str,
    pub refused_last_admin: &'static str,
    pub refused_in_use: &'static str,
    pub refused_inactive: &'static str,
    pub refused_ambiguous: &'static str,
    pub refused_other: &'static str,
    pub refused_detail: &'static str,
}

pub static EN: Texts = Texts {
    language_name: "English",
    switch_language: "Deutsch",
    skip_link: "Skip to content",
    portal: "SCIM provisioning",
    nav_label: "Portal sections",
    nav_setup: "Setup",
    nav_connection: "Connection",
    nav_log: "Sync log",
    sign_out: "Sign out",
    back_to: "Back to {product}",
    organisation: "Organisation",

    link_title: "Connect your identity provider",
    link_intro: "{product} invites you to set up automatic user provisioning (SCIM) for {tenant}.",
    link_once: "Select Continue to open the setup portal. The link works once; after that, your browser keeps a session for up to 8 hours.",
    link_continue: "Continue",
    link_expires: "This link expires on {time} (UTC).",
    link_invalid_title: "This link cannot be used",
    link_invalid: "The link is invalid, was already used, was revoked or has expired. Ask {product} for a new link.",
    session_ended_title: "Your session has ended",
    session_ended: "Portal sessions end after 30 minutes without activity and after 8 hours at most. Open a new link from {product}.",
    signed_out: "You are signed out. Open a new link from {product} to come back.",
    cross_site_title: "Request refused",
    cross_site: "This request came from another site and was refused. Open the portal directly and try again.",
    not_found_title: "Page not found",
    not_found: "This page does not exist.",
    error_title: "Something went wrong",

    setup_title: "Set up provisioning",
    setup_choose: "1. Choose your identity provider",
    setup_choose_help: "Pick the identity provider that manages your people. You can change it later.",
    setup_selected: "Selected: {idp}",
    setup_steps: "2. Configure {idp}",
    setup_credentials: "3. Paste these values into {idp}",
    setup_verify: "4. Test the connection",
    tenant_url: "Tenant URL",
    secret_token: "Secret token",
    show_token: "Show token",
    token_hidden: "Hidden. Show it when you are ready to paste it; it is a password.",
    token_shown: "Treat this token like a password. It was shown because you asked for it, and this was recorded.",
    copy: "Copy",
    copied: "Copied",
    verify_waiting: "Waiting for the first request from your identity provider. Start provisioning or select \"Test connection\" there; this page updates by itself.",
    verify_check: "Check again",
    verify_received: "Your identity provider reached dirsync. Its requests:",
    verify_failed: "The newest request failed. How to fix it:",

    conn_title: "Connection",
    conn_none: "There is no connection yet.",
    conn_ended_list: "Ended connections",
    idp: "Identity provider",
    created: "Created",
    last_request: "Last request",
    last_success: "Last successful sync",
    never: "never",
    requests_24h: "Requests in the last 24 hours",
    ok_failed: "{ok} succeeded, {failed} failed",
    last_error: "Last error",
    rotate_title: "Rotate the secret token",
    rotate_help: "A new token is issued. The old one keeps working for the grace period, so you can update your identity provider without a gap.",
    grace: "Grace period for the old token",
    grace_none: "None: it stops working now",
    grace_hour: "1 hour",
    grace_day: "1 day",
    grace_week: "7 days",
    rotate: "Rotate token",
    rotated: "A new token was issued. Paste it into your identity provider now.",
    revoke_title: "Revoke all tokens",
    revoke_help: "Every token of this connection stops working at once; your identity provider cannot sync until you rotate.",
    revoke: "Revoke tokens",
    revoked: "{n} token(s) revoked.",
    end_title: "End the connection",
    end_help: "Ending stops provisioning from this identity provider. Users and groups stay in {product}, unchanged; they are simply no longer managed by the identity provider. This cannot be undone.",
    end: "End connection…",
    end_confirm_title: "End this connection?",
    end_confirm: "Yes, end the connection",
    cancel: "Cancel",
    ended_done: "The connection has ended. {users} users and {groups} groups stay in {product}.",

    log_title: "Sync log",
    log_failed_only: "Only failed requests",
    log_search: "User or text",
    log_apply: "Filter",
    log_empty: "No requests match.",
    log_live: "New requests appear here while this page is open.",
    col_time: "Time (UTC)",
    col_request: "Request",
    col_status: "Status",
    col_result: "What happened",
    details: "Details",
    error: "Error",
    hint: "How to fix it",
    trace: "Trace id",
    body: "Request body (secrets removed)",
    in_progress: "in progress",

    nav_mappings: "Mappings",
    map_title: "Groups, roles and licenses",
    map_intro: "Map the groups your identity provider sends to a role and a license tier. Nothing changes until you have seen a preview and saved it.",
    map_rule_role: "Each user gets one role: the highest-ranked role among the mapped groups they are a direct member of; without one, the default role.",
    map_rule_admin: "The last admin is never removed: a change that would leave your organisation without an active admin is refused.",
    map_rule_guest: "Guest roles are never assigned from the identity provider, so they cannot be mapped.",
    map_rule_license: "A user in several license groups gets the lowest tier. When a tier has no free seat, seats are bought automatically if your plan allows it, and billed together.",
    map_attribute_source: "Roles come from a user attribute, not from groups: role mappings take effect only when that changes.",
    map_no_groups: "Your identity provider has not sent any groups yet.",
    map_members: "{n} members",
    map_role: "Role",
    map_tier: "License tier",
    map_none: "None",
    map_preview: "Preview",
    preview_title: "Preview: {group}",
    preview_intro: "If you save this, for the {n} members of {group}:",
    move_role: "{n} user(s) move from {from} to {to}",
    get_role: "{n} user(s) become {to}",
    lose_role: "{n} user(s) lose the role {from}",
    move_tier: "{n} user(s) move from {from} to {to}",
    get_tier: "{n} user(s) get the license {to}",
    lose_tier: "{n} user(s) lose the license {from}",
    seats_bought: "{n} more seat(s) will be bought",
    seats_bought_done: "{n} more seat(s) were bought",
    nothing_moves: "Nobody's role or license changes.",
    refused_title: "This change is refused",
    save: "Save",
    saved: "Saved. For the members of {group}:",

    nav_people: "People",
    people_title: "People and groups",
    people_intro: "Everyone your identity provider provisioned, with the role and license they hold here.",
    people_search: "Name, userName or e-mail",
    search: "Search",
    col_user: "User",
    col_email: "E-mail",
    col_license: "License",
    col_state: "Status",
    active: "Active",
    inactive: "Deactivated (cannot sign in, data kept)",
    pending_seat: "waiting for a seat",
    people_empty: "No users match.",
    people_truncated: "Only the first 200 matches are shown; narrow the search.",
    groups_title: "Groups",
    col_group: "Group",
    col_members: "Members",

    inv_title: "Invitations",
    inv_help: "When on, {product} invites each user the identity provider creates once the delay has passed; a user created and removed within the delay is never invited.",
    inv_enabled: "Invite new users",
    inv_delay: "Delay",
    inv_save: "Save invitations",
    inv_on: "Invitations are on.",
    inv_off: "Invitations are off.",
    delay_now: "at once",
    delay_10m: "10 minutes",
    delay_1h: "1 hour",
    delay_1d: "1 day",

    hint_auth: "The identity provider sent a wrong, rotated or revoked token. Paste the current secret token (Connection page, Show token) into the identity provider's SCIM settings.",
    hint_not_found: "The identity provider refers to a user or group dirsync does not have (deleted here, or created by another connection). Restart provisioning for that user or group in the identity provider.",
    hint_conflict: "A user or group with this name already exists. Check that the identity provider maps userName to a unique value (usually the e-mail address), or remove the duplicate assignment.",
    hint_invalid: "The request carried a value dirsync does not accept. Compare the identity provider's attribute mappings with the guide on the Setup page; the error says which attribute.",
    hint_too_large: "The request was too large. Push large groups in smaller batches, or ask your provider to raise the limit.",
    hint_rate: "The identity provider sent too many requests at once; it retries by itself. Nothing to do unless this persists.",
    hint_other: "dirsync could not complete the request. If it persists, give the trace id to {product}'s support.",

    guide_note: None,

    refused_not_found_title: "Not found",
    refused_not_found: "What you acted on does not exist (any more): it was removed or ended in the meantime, or it belongs to another organisation. Reload the page and try again.",
    refused_uniqueness: "Something with this name already exists. Choose another name, or use the existing one.",
    refused_stale: "Someone changed this at the same time, or the page is out of date. Reload the page and try again.",
    refused_invalid: "A value of this action is not accepted. Nothing was changed.",
    refused_last_admin: "This would leave your organisation without an active admin, so nothing was changed. Make another user an admin first.",
    refused_in_use: "This is still in use (users hold the role or the license's seats), so nothing was changed.",
    refused_inactive: "The user is deactivated, so nothing was changed.",
    refused_ambiguous: "The value matches more than one user, so nothing was changed.",
    refused_other: "{product} refused this action; nothing was changed.",
    refused_detail: "Details",
};

pub static DE: Texts = Texts {
    language_name: "Deutsch",
    switch_language: "English",
    skip_link: "Zum Inhalt springen",
    portal: "SCIM-Provisionierung",
    nav_label: "Bereiche des Portals",
    nav_setup: "Einrichtung",
    nav_connection: "Verbindung",
    nav_log: "Synchronisationsprotokoll",
    sign_out: "Abmelden",
    back_to: "Zurück zu {product}",
    organisation: "Organisation",

    link_title: "Identitätsanbieter verbinden",
    link_intro: "{product} lädt Sie ein, die automatische Benutzerbereitstellung (SCIM) für {tenant} einzurichten.",
    link_once: "Wählen Sie „Weiter“, um das Einrichtungsportal zu öffnen. Der Link funktioniert einmal; danach behält Ihr Browser eine Sitzung für bis zu 8 Stunden.",
    link_continue: "Weiter",
    link_expires: "Dieser Link läuft am {time} (UTC) ab.",
    link_invalid_title: "Dieser Link kann nicht verwendet werden",
    link_invalid: "Der Link ist ungültig, wurde bereits verwendet, widerrufen oder ist abgelaufen. Fordern Sie bei {product} einen neuen Link an.",
    session_ended_title: "Ihre Sitzung ist beendet",
    session_ended: "Portalsitzungen enden nach 30 Minuten ohne Aktivität und spätestens nach 8 Stunden. Öffnen Sie einen neuen Link aus {product}.",
    signed_out: "Sie sind abgemeldet. Öffnen Sie einen neuen Link aus {product}, um zurückzukehren.",
    cross_site_title: "Anfrage abgelehnt",
    cross_site: "Diese Anfrage kam von einer anderen Website und wurde abgelehnt. Öffnen Sie das Portal direkt und versuchen Sie es erneut.",
    not_found_title: "Seite nicht gefunden",
    not_found: "Diese Seite gibt es nicht.",
    error_title: "Etwas ist schiefgegangen",

    setup_title: "Provisionierung einrichten",
    setup_choose: "1. Identitätsanbieter wählen",
    setup_choose_help: "Wählen Sie den Identitätsanbieter, der Ihre Mitarbeitenden verwaltet. Sie können ihn später ändern.",
    setup_selected: "Gewählt: {idp}",
    setup_steps: "2. {idp} konfigurieren",
    setup_credentials: "3. Diese Werte in {idp} einfügen",
    setup_verify: "4. Verbindung testen",
    tenant_url: "Mandanten-URL (Tenant URL)",
    secret_token: "Geheimes Token",
    show_token: "Token anzeigen",
    token_hidden: "Verborgen. Zeigen Sie es erst an, wenn Sie es einfügen; es ist ein Passwort.",
    token_shown: "Behandeln Sie dieses Token wie ein Passwort. Es wird angezeigt, weil Sie es angefordert haben; das wurde protokolliert.",
    copy: "Kopieren",
    copied: "Kopiert",
    verify_waiting: "Warte auf die erste Anfrage Ihres Identitätsanbieters. Starten Sie dort die Provisionierung oder wählen Sie „Verbindung testen“; diese Seite aktualisiert sich selbst.",
    verify_check: "Erneut prüfen",
    verify_received: "Ihr Identitätsanbieter hat dirsync erreicht. Seine Anfragen:",
    verify_failed: "Die neueste Anfrage ist fehlgeschlagen. So beheben Sie es:",

    conn_title: "Verbindung",
    conn_none: "Es gibt noch keine Verbindung.",
    conn_ended_list: "Beendete Verbindungen",
    idp: "Identitätsanbieter",
    created: "Erstellt",
    last_request: "Letzte Anfrage",
    last_success: "Letzte erfolgreiche Synchronisation",
    never: "nie",
    requests_24h: "Anfragen der letzten 24 Stunden",
    ok_failed: "{ok} erfolgreich, {failed} fehlgeschlagen",
    last_error: "Letzter Fehler",
    rotate_title: "Geheimes Token erneuern",
    rotate_help: "Ein neues Token wird ausgestellt. Das alte funktioniert noch während der Übergangszeit, damit Sie den Identitätsanbieter ohne Unterbrechung umstellen können.",
    grace: "Übergangszeit für das alte Token",
    grace_none: "Keine: es funktioniert ab sofort nicht mehr",
    grace_hour: "1 Stunde",
    grace_day: "1 Tag",
    grace_week: "7 Tage",
    rotate: "Token erneuern",
    rotated: "Ein neues Token wurde ausgestellt. Fügen Sie es jetzt in Ihren Identitätsanbieter ein.",
    revoke_title: "Alle Token widerrufen",
    revoke_help: "Alle Token dieser Verbindung funktionieren sofort nicht mehr; Ihr Identitätsanbieter kann erst nach einer Erneuerung wieder synchronisieren.",
    revoke: "Token widerrufen",
    revoked: "{n} Token widerrufen.",
    end_title: "Verbindung beenden",
    end_help: "Das Beenden stoppt die Provisionierung aus diesem Identitätsanbieter. Benutzer und Gruppen bleiben unverändert in {product}; sie werden nur nicht mehr vom Identitätsanbieter verwaltet. Das kann nicht rückgängig gemacht werden.",
    end: "Verbindung beenden…",
    end_confirm_title: "Diese Verbindung beenden?",
    end_confirm: "Ja, Verbindung beenden",
    cancel: "Abbrechen",
    ended_done: "Die Verbindung ist beendet. {users} Benutzer und {groups} Gruppen bleiben in {product}.",

    log_title: "Synchronisationsprotokoll",
    log_failed_only: "Nur fehlgeschlagene Anfragen",
    log_search: "Benutzer oder Text",
    log_apply: "Filtern",
    log_empty: "Keine passenden Anfragen.",
    log_live: "Neue Anfragen erscheinen hier, solange die Seite geöffnet ist.",
    col_time: "Zeit (UTC)",
    col_request: "Anfrage",
    col_status: "Status",
    col_result: "Ergebnis",
    details: "Details",
    error: "Fehler",
    hint: "So beheben Sie es",
    trace: "Trace-ID",
    body: "Anfrageinhalt (ohne Geheimnisse)",
    in_progress: "läuft",

    nav_mappings: "Zuordnungen",
    map_title: "Gruppen, Rollen und Lizenzen",
    map_intro: "Ordnen Sie die Gruppen aus Ihrem Identitätsanbieter einer Rolle und einer Lizenzstufe zu. Nichts ändert sich, bevor Sie eine Vorschau gesehen und gespeichert haben.",
    map_rule_role: "Jeder Benutzer erhält genau eine Rolle: die höchste Rolle unter den zugeordneten Gruppen, in denen er direkt Mitglied ist; ohne Zuordnung die Standardrolle.",
    map_rule_admin: "Der letzte Administrator wird nie entfernt: Eine Änderung, die Ihre Organisation ohne aktiven Administrator ließe, wird abgelehnt.",
    map_rule_guest: "Gastrollen werden nie aus dem Identitätsanbieter vergeben und können daher nicht zugeordnet werden.",
    map_rule_license: "Ein Benutzer in mehreren Lizenzgruppen erhält die niedrigste Stufe. Hat eine Stufe keinen freien Platz, werden Plätze automatisch gekauft, sofern Ihr Tarif das erlaubt, und gemeinsam abgerechnet.",
    map_attribute_source: "Rollen kommen aus einem Benutzerattribut, nicht aus Gruppen: Rollenzuordnungen wirken erst, wenn sich das ändert.",
    map_no_groups: "Ihr Identitätsanbieter hat noch keine Gruppen gesendet.",
    map_members: "{n} Mitglieder",
    map_role: "Rolle",
    map_tier: "Lizenzstufe",
    map_none: "Keine",
    map_preview: "Vorschau",
    preview_title: "Vorschau: {group}",
    preview_intro: "Wenn Sie speichern, gilt für die {n} Mitglieder von {group}:",
    move_role: "{n} Benutzer wechseln von {from} zu {to}",
    get_role: "{n} Benutzer werden {to}",
    lose_role: "{n} Benutzer verlieren die Rolle {from}",
    move_tier: "{n} Benutzer wechseln von {from} zu {to}",
    get_tier: "{n} Benutzer erhalten die Lizenz {to}",
    lose_tier: "{n} Benutzer verlieren die Lizenz {from}",
    seats_bought: "{n} weitere Plätze werden gekauft",
    seats_bought_done: "{n} weitere Plätze wurden gekauft",
    nothing_moves: "Rolle und Lizenz ändern sich für niemanden.",
    refused_title: "Diese Änderung wird abgelehnt",
    save: "Speichern",
    saved: "Gespeichert. Für die Mitglieder von {group}:",

    nav_people: "Personen",
    people_title: "Personen und Gruppen",
    people_intro: "Alle, die Ihr Identitätsanbieter bereitgestellt hat, mit ihrer Rolle und Lizenz.",
    people_search: "Name, userName oder E-Mail",
    search: "Suchen",
    col_user: "Benutzer",
    col_email: "E-Mail",
    col_license: "Lizenz",
    col_state: "Status",
    active: "Aktiv",
    inactive: "Deaktiviert (keine Anmeldung, Daten bleiben)",
    pending_seat: "wartet auf einen Platz",
    people_empty: "Keine passenden Benutzer.",
    people_truncated: "Nur die ersten 200 Treffer werden angezeigt; grenzen Sie die Suche ein.",
    groups_title: "Gruppen",
    col_group: "Gruppe",
    col_members: "Mitglieder",

    inv_title: "Einladungen",
    inv_help: "Wenn aktiv, lädt {product} jeden vom Identitätsanbieter angelegten Benutzer nach Ablauf der Wartezeit ein; wer innerhalb der Wartezeit angelegt und wieder entfernt wird, erhält keine Einladung.",
    inv_enabled: "Neue Benutzer einladen",
    inv_delay: "Wartezeit",
    inv_save: "Einladungen speichern",
    inv_on: "Einladungen sind aktiv.",
    inv_off: "Einladungen sind aus.",
    delay_now: "sofort",
    delay_10m: "10 Minuten",
    delay_1h: "1 Stunde",
    delay_1d: "1 Tag",

    hint_auth: "Der Identitätsanbieter hat ein falsches, erneuertes oder widerrufenes Token gesendet. Fügen Sie das aktuelle geheime Token (Seite „Verbindung“, „Token anzeigen“) in die SCIM-Einstellungen des Identitätsanbieters ein.",
    hint_not_found: "Der Identitätsanbieter verweist auf einen Benutzer oder eine Gruppe, die dirsync nicht kennt (hier gelöscht oder von einer anderen Verbindung angelegt). Starten Sie die Provisionierung für diesen Benutzer oder diese Gruppe im Identitätsanbieter neu.",
    hint_conflict: "Ein Benutzer oder eine Gruppe mit diesem Namen existiert bereits. Prüfen Sie, ob der Identitätsanbieter userName auf einen eindeutigen Wert abbildet (meist die E-Mail-Adresse), oder entfernen Sie die doppelte Zuweisung.",
    hint_invalid: "Die Anfrage enthielt einen Wert, den dirsync nicht annimmt. Vergleichen Sie die Attributzuordnungen des Identitätsanbieters mit der Anleitung auf der Seite „Einrichtung“; der Fehler nennt das Attribut.",
    hint_too_large: "Die Anfrage war zu groß. Übertragen Sie große Gruppen in kleineren Schritten oder bitten Sie Ihren Anbieter, die Grenze anzuheben.",
    hint_rate: "Der Identitätsanbieter hat zu viele Anfragen auf einmal gesendet; er wiederholt sie selbst. Nur wenn das anhält, ist etwas zu tun.",
    hint_other: "dirsync konnte die Anfrage nicht abschließen. Wenn das anhält, geben Sie die Trace-ID an den Support von {product} weiter.",

    guide_note: Some(
        "Die fett gesetzten Bezeichnungen sind die der englischen Oberfläche des Identitätsanbieters. Ist sie auf Deutsch eingestellt, können sie dort übersetzt erscheinen.",
    ),

    refused_not_found_title: "Nicht gefunden",
    refused_not_found: "Das, worauf sich die Aktion bezieht, gibt es nicht (mehr): Es wurde inzwischen entfernt oder beendet, oder es gehört zu einer anderen Organisation. Laden Sie die Seite neu und versuchen Sie es erneut.",
    refused_uniqueness: "Es gibt bereits etwas mit diesem Namen. Wählen Sie einen anderen Namen oder verwenden Sie das Vorhandene.",
    refused_stale: "Jemand hat das gleichzeitig geändert, oder die Seite ist veraltet. Laden Sie die Seite neu und versuchen Sie es erneut.",
    refused_invalid: "Ein Wert dieser Aktion wird nicht angenommen. Es wurde nichts geändert.",
    refused_last_admin: "Ihre Organisation hätte danach keinen aktiven Administrator mehr, daher wurde nichts geändert. Machen Sie zuerst einen anderen Benutzer zum Administrator.",
    refused_in_use: "Das wird noch verwendet (Benutzer haben die Rolle oder Plätze der Lizenz), daher wurde nichts geändert.",
    refused_inactive: "Der Benutzer ist deaktiviert, daher wurde nichts geändert.",
    refused_ambiguous: "Der Wert passt auf mehr als einen Benutzer, daher wurde nichts geändert.",
    refused_other: "{product} hat diese Aktion abgelehnt; es wurde nichts geändert.",
    refused_detail: "Details (vom Server, auf Englisch)",
};

/// What the portal says when the core refused an admin's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub title: &'static str,
    /// May hold `{product}`.
    pub text: &'static str,
    /// Whether the core's detail (always English) names something the text does not: the
    /// value refused, the user who is the last admin, the name taken. Otherwise it is left out.
    pub detail: bool,
}

/// The `ErrorInfo` reason of a core error (domain `dirsync.v1`), read as the edge reads it;
/// without one (a status the core did not build), the reason its code implies.
pub fn reason(status: &tonic::Status) -> ErrorReason {
    let info = status.get_error_details().error_info().cloned();
    info.filter(|i| i.domain == ERROR_DOMAIN)
        .and_then(|i| ErrorReason::from_str_name(&i.reason))
        .unwrap_or(match status.code() {
            tonic::Code::NotFound => ErrorReason::NotFound,
            tonic::Code::AlreadyExists => ErrorReason::Uniqueness,
            tonic::Code::Aborted => ErrorReason::VersionMismatch,
            tonic::Code::InvalidArgument => ErrorReason::InvalidValue,
            tonic::Code::Unauthenticated => ErrorReason::Unauthenticated,
            _ => ErrorReason::Unspecified,
        })
}

/// The text for a refusal, by its reason. Every reason is listed, so a reason added to the
/// proto must get its text here.
pub fn refusal(t: &'static Texts, reason: ErrorReason) -> Refusal {
    let (title, text, detail) = match reason {
        ErrorReason::NotFound => (t.refused_not_found_title, t.refused_not_found, false),
        ErrorReason::Unauthenticated => (t.session_ended_title, t.session_ended, false),
        ErrorReason::VersionMismatch | ErrorReason::InvalidPageToken => (t.refused_title, t.refused_stale, false),
        ErrorReason::Uniqueness => (t.refused_title, t.refused_uniqueness, true),
        ErrorReason::InvalidValue | ErrorReason::InvalidFilter | ErrorReason::Mutability => {
            (t.refused_title, t.refused_invalid, true)
        }
        ErrorReason::LastAdmin => (t.refused_title, t.refused_last_admin, true),
        ErrorReason::RoleInUse | ErrorReason::LicenseInUse => (t.refused_title, t.refused_in_use, true),
        ErrorReason::UserInactive => (t.refused_title, t.refused_inactive, true),
        ErrorReason::Ambiguous => (t.refused_title, t.refused_ambiguous, true),
        ErrorReason::Unspecified => (t.refused_title, t.refused_other, true),
    };
    Refusal { title, text, detail }
}

/// The fix for a failed request, by its status.
pub fn hint(t: &Texts, status: u32) -> Option<&'static str> {
    match status {
        0..=399 => None,
        401 | 403 => Some(t.hint_auth),
        404 => Some(t.hint_not_found),
        409 => Some(t.hint_conflict),
        400 => Some(t.hint_invalid),
        413 => Some(t.hint_too_large),
        429 => Some(t.hint_rate),
        _ => Some(t.hint_other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_negotiated() {
        for (header, want) in [
            ("de-DE,de;q=0.9,en;q=0.8", Some(Lang::De)),
            ("en-US,en;q=0.9", Some(Lang::En)),
            ("fr-FR, de;q=0.5, en;q=0.7", Some(Lang::En)),
            ("fr, de;q=0.1", Some(Lang::De)),
            ("fr", None),
            ("de;q=0", None),
            ("", None),
        ] {
            assert_eq!(Lang::from_accept_language(header), want, "{header}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_LANGUAGE, "de".parse().unwrap());
        assert_eq!(Lang::of_request(None, &headers), Lang::De);
        assert_eq!(Lang::of_request(Some("lang=en"), &headers), Lang::En);
        headers.insert(COOKIE, format!("x=1; {LANG_COOKIE}=en").parse().unwrap());
        assert_eq!(Lang::of_request(None, &headers), Lang::En);
        assert_eq!(fill("{a} and {b}", &[("a", "1"), ("b", "2")]), "1 and 2");
    }

    /// A status as the core builds it (`dirsync_core::error`): code, message, ErrorInfo.
    fn core_status(code: tonic::Code, reason: &str, domain: &str) -> tonic::Status {
        let details = tonic_types::ErrorDetails::with_error_info(reason, domain, std::collections::HashMap::new());
        tonic::Status::with_error_details(code, "detail", details)
    }

    #[test]
    fn refusals_are_read_from_the_error_info() {
        use tonic::Code;
        for (status, want) in [
            (
                core_status(Code::FailedPrecondition, "LAST_ADMIN", ERROR_DOMAIN),
                ErrorReason::LastAdmin,
            ),
            (
                core_status(Code::InvalidArgument, "MUTABILITY", ERROR_DOMAIN),
                ErrorReason::Mutability,
            ),
            (
                core_status(Code::FailedPrecondition, "ROLE_IN_USE", ERROR_DOMAIN),
                ErrorReason::RoleInUse,
            ),
            // Another domain's reason is not ours; the code decides.
            (
                core_status(Code::InvalidArgument, "LAST_ADMIN", "example.com"),
                ErrorReason::InvalidValue,
            ),
            (
                core_status(Code::FailedPrecondition, "NO_SUCH_REASON", ERROR_DOMAIN),
                ErrorReason::Unspecified,
            ),
            (tonic::Status::not_found("x"), ErrorReason::NotFound),
            (tonic::Status::already_exists("x"), ErrorReason::Uniqueness),
            (tonic::Status::aborted("x"), ErrorReason::VersionMismatch),
            (tonic::Status::internal("x"), ErrorReason::Unspecified),
        ] {
            assert_eq!(reason(&status), want, "{status:?}");
        }
    }

    #[test]
    fn every_refusal_has_a_text_in_each_language() {
        for reason in (0..=30).filter_map(|n| ErrorReason::try_from(n).ok()) {
            let (en, de) = (refusal(&EN, reason), refusal(&DE, reason));
            assert!(!en.text.is_empty() && !de.text.is_empty(), "{reason:?}");
            assert_ne!(en.text, de.text, "{reason:?} is not translated");
            assert_eq!(en.detail, de.detail, "{reason:?}");
        }
        assert!(
            refusal(&DE, ErrorReason::LastAdmin)
                .text
                .contains("keinen aktiven Administrator")
        );
    }
}
