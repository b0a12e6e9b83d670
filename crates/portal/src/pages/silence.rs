//! The "connection silent" signal in the portal: a banner on every page of the tenant while a
//! connection that synced before sends nothing, and the Connection page's setting of how long
//! that may last. Its texts live here, one struct per language like `crate::i18n`.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use dirsync_proto::v1::{Connection, SessionRequest, SilenceThresholdRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Ctx, PageError, when};
use crate::PortalState;
use crate::i18n::{Lang, fill};
use crate::session::Session;

pub struct SilenceTexts {
    /// `{name}`, `{since}`, `{product}`.
    pub banner: &'static str,
    pub title: &'static str,
    /// `{product}`.
    pub help: &'static str,
    pub label: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub silent_since: &'static str,
    /// `(seconds, text)`, shortest first; 0 is off.
    pub choices: [(u64, &'static str); 6],
    /// A threshold set outside the portal (CLI, gRPC) that is none of the choices; `{n}`.
    pub hours: &'static str,
}

const HOUR: u64 = 3600;

static EN: SilenceTexts = SilenceTexts {
    banner: "The connection {name} has sent nothing since {since} (UTC). Check in your identity provider that provisioning is still running and uses the current secret token; until it sends again, changes there do not reach {product}.",
    title: "Warning when the identity provider goes silent",
    help: "If this connection, after it has synced, sends nothing for this long, {product} is told and this portal shows a warning.",
    label: "Warn after",
    save: "Save warning",
    saved: "Saved.",
    silent_since: "Silent since",
    choices: [
        (0, "Never"),
        (HOUR, "1 hour"),
        (6 * HOUR, "6 hours"),
        (24 * HOUR, "1 day"),
        (72 * HOUR, "3 days"),
        (168 * HOUR, "7 days"),
    ],
    hours: "{n} hours",
};

static DE: SilenceTexts = SilenceTexts {
    banner: "Die Verbindung {name} hat seit {since} (UTC) nichts mehr gesendet. Prüfen Sie im Identitätsanbieter, ob die Provisionierung noch läuft und das aktuelle geheime Token verwendet; bis wieder etwas ankommt, erreichen Änderungen dort {product} nicht.",
    title: "Warnung, wenn der Identitätsanbieter verstummt",
    help: "Sendet diese Verbindung, nachdem sie synchronisiert hat, so lange nichts, erfährt {product} davon und dieses Portal zeigt eine Warnung.",
    label: "Warnen nach",
    save: "Warnung speichern",
    saved: "Gespeichert.",
    silent_since: "Still seit",
    choices: [
        (0, "Nie"),
        (HOUR, "1 Stunde"),
        (6 * HOUR, "6 Stunden"),
        (24 * HOUR, "1 Tag"),
        (72 * HOUR, "3 Tagen"),
        (168 * HOUR, "7 Tagen"),
    ],
    hours: "{n} Stunden",
};

pub fn texts(lang: Lang) -> &'static SilenceTexts {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}

/// One warning per silent connection of the session's tenant; nothing when none is.
pub fn banner(ctx: &Ctx<'_>) -> Markup {
    let st = texts(ctx.lang);
    let silent = ctx.session.map_or(&[][..], |s| s.silent_connections.as_slice());
    html! {
        @for c in silent {
            div class="notice warn" role="status" data-silent=(c.id) {
                p { (fill(st.banner, &[
                    ("name", &c.name),
                    ("since", &when(c.silent_since.as_ref())),
                    ("product", ctx.product()),
                ])) }
            }
        }
    }
}

/// The Connection page's part: since when it is silent, and the threshold form.
pub fn settings(ctx: &Ctx<'_>, c: &Connection) -> Markup {
    let st = texts(ctx.lang);
    let id = format!("silence-{}", c.id);
    let current = c.silence_after_seconds;
    let listed = st.choices.iter().any(|(s, _)| *s == current);
    html! {
        h3 { (st.title) }
        p { (ctx.with_product(st.help)) }
        @if c.silent_since.is_some() {
            p { strong { (st.silent_since) ": " } (when(c.silent_since.as_ref())) " (UTC)" }
        }
        form method="post" action={ "/portal/connection/" (c.id) "/silence" } class="row" {
            label for=(id) { (st.label) }
            select id=(id) name="seconds" {
                @if !listed {
                    option value=(current) selected { (fill(st.hours, &[("n", &format!("{:.1}", current as f64 / HOUR as f64))])) }
                }
                @for (seconds, text) in st.choices {
                    option value=(seconds) selected[seconds == current] { (text) }
                }
            }
            button type="submit" { (st.save) }
        }
    }
}

#[derive(Deserialize)]
pub struct SilenceForm {
    seconds: u64,
}

/// Sets the threshold, then shows the Connection page with the session read again (turning
/// the signal off ends a silence, and its banner).
pub async fn save(
    State(state): State<PortalState>,
    mut session: Session,
    Path(id): Path<String>,
    Form(form): Form<SilenceForm>,
) -> Result<Response, PageError> {
    let mut core = state.core.clone();
    core.set_silence_threshold(SilenceThresholdRequest {
        session: session.secret.clone(),
        connection_id: id,
        seconds: form.seconds,
    })
    .await
    .map_err(PageError::new(&state, session.lang))?;
    session.info = core
        .get_session(SessionRequest {
            session: session.secret.clone(),
        })
        .await
        .map_err(PageError::new(&state, session.lang))?
        .into_inner();
    let notice = texts(session.lang).saved.to_owned();
    super::connection::render(&state, &session, None, Some(notice)).await
}
