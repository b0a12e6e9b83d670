//! The portal's sync log says what each request did in the session's language, from the
//! facts the core records (change kinds and names), not by translating its English summary.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::TestApp;
use crate::on_both_stores;
use crate::portal::{send, session};

async fn sync_log_entries_are_in_the_portals_language(app: TestApp) {
    let user = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    let ann = app
        .scim(Method::POST, "/Users", Some(user("ann@example.com")))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.scim(
        Method::POST,
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales",
            "members": [{"value": ann}],
        })),
    )
    .await
    .expect(201);
    app.scim(Method::POST, "/Users", Some(user("ann@example.com")))
        .await
        .expect(409);
    app.scim(
        Method::GET,
        "/Users?filter=userName%20eq%20%22ann%40example.com%22",
        None,
    )
    .await
    .expect(200);

    // The edge records each request's outcome after answering it: wait for all four.
    let mut log = app.sync_log().await;
    for _ in 0..100 {
        if log.iter().filter(|e| e.status != 0).count() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        log = app.sync_log().await;
    }
    // The facts over gRPC, for clients of their own.
    let created = log
        .iter()
        .find(|e| e.method == "POST" && e.status == 201 && e.path.ends_with("/Users"))
        .unwrap();
    assert_eq!(created.facts.len(), 1, "{created:?}");
    assert_eq!(created.facts[0].kind, "user.created");
    assert_eq!(created.facts[0].name.as_deref(), Some("ann@example.com"));

    let cookie = session(&app, &app.tenant_id, Some(&app.connection_id)).await;
    let page = |lang: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            // The rows arrive with the page, and the live updates render them alike.
            let p = send(
                app,
                Method::GET,
                &format!("/portal/log?lang={lang}"),
                Some(&cookie),
                &[],
                &[],
            )
            .await;
            assert_eq!(p.status, StatusCode::OK);
            let rows = send(
                app,
                Method::GET,
                &format!("/portal/log/entries?lang={lang}"),
                Some(&cookie),
                &[],
                &[],
            )
            .await;
            assert_eq!(rows.status, StatusCode::OK);
            (p.text, rows.text)
        }
    };
    let (de, de_rows) = page("de").await;
    let (en, en_rows) = page("en").await;
    for (text, present, absent) in [
        (
            &de,
            &[
                "Benutzer ann@example.com angelegt",
                "Gruppe Sales angelegt",
                "1 Mitglied zu Sales hinzugefügt",
                "POST /Users abgelehnt: <span lang=\"en\">",
                "/Users durchsucht",
            ][..],
            &["created user", "searched /Users", "rejected POST"][..],
        ),
        (
            &de_rows,
            &["Benutzer ann@example.com angelegt", "/Users durchsucht"][..],
            &["created user"][..],
        ),
        (
            &en,
            &[
                "created user ann@example.com",
                "created group Sales",
                "added 1 member to Sales",
                "rejected POST /Users: <span>",
                "searched /Users",
            ][..],
            &["angelegt", "durchsucht"][..],
        ),
        (&en_rows, &["created user ann@example.com"][..], &["angelegt"][..]),
    ] {
        for p in present {
            assert!(text.contains(p), "{p:?} missing: {text}");
        }
        for a in absent {
            assert!(!text.contains(a), "{a:?} present: {text}");
        }
    }
}

on_both_stores!(sync_log_entries_are_in_the_portals_language);
