//! Unicode case-insensitive matching: the same answers on SQLite and PostgreSQL, in several
//! scripts, through the folded key columns (`store::ci_key`, Rust's `str::to_lowercase`).

use std::collections::BTreeSet;

use dirsync_proto::v1::{self as pb, ListUsersRequest};
use reqwest::Method;
use serde_json::json;

use crate::harness::{Backend, Store, TestApp, urlencode};
use crate::on_both_stores;

/// userName, displayName, name.familyName, the primary e-mail.
const PEOPLE: [(&str, &str, &str, &str); 5] = [
    ("Straße", "Jürgen Straße", "STRAẞE", "Jürgen.Straße@example.com"),
    ("Öztürk", "Ayşe Öztürk", "Öztürk", "AYŞE.ÖZTÜRK@example.com"),
    ("İstanbul", "İLKER IŞIK", "Işık", "ILKER@example.com"),
    ("ΟΔΥΣΣΕΥΣ", "Οδυσσεύς", "ΟΔΥΣΣΕΥΣ", "ΟΔΥΣΣΕΥΣ@example.com"),
    ("Жуков", "Георгий ЖУКОВ", "Жуков", "ЖУКОВ@example.com"),
];

/// Each filter with the userNames it finds. What the fold gives, as documented on `ci_key`:
/// ẞ → ß but "SS" never matches ß; İ → "i̇" (i + U+0307) so "istanbul" does not match
/// "İstanbul"; ı stays ı; Σ → ς at the end of a word, σ elsewhere.
const CASES: &[(&str, &[&str])] = &[
    // German
    ("userName eq \"STRASSE\"", &[]),
    ("userName eq \"STRAßE\"", &["Straße"]),
    ("name.familyName eq \"straße\"", &["Straße"]),
    ("name.familyName co \"SSE\"", &[]),
    ("displayName co \"JÜRGEN\"", &["Straße"]),
    ("emails co \"jürgen.strasse\"", &[]),
    ("emails sw \"JÜRGEN.STRAẞE\"", &["Straße"]),
    ("displayName co \"ö\"", &["Öztürk"]),
    ("displayName eq \"ayşe öztürk\"", &["Öztürk"]),
    ("name.familyName sw \"ÖZ\"", &["Öztürk"]),
    ("userName ew \"TÜRK\"", &["Öztürk"]),
    ("emails.value co \"öztürk\"", &["Öztürk"]),
    // Turkish dotted and dotless i
    ("userName eq \"istanbul\"", &[]),
    ("userName eq \"İSTANBUL\"", &["İstanbul"]),
    ("userName sw \"i\u{307}st\"", &["İstanbul"]),
    ("name.familyName eq \"IŞIK\"", &[]),
    ("name.familyName eq \"işık\"", &["İstanbul"]),
    ("name.familyName co \"ı\"", &["İstanbul"]),
    ("displayName co \"IŞI\"", &["İstanbul"]),
    ("emails eq \"ilker@EXAMPLE.com\"", &["İstanbul"]),
    // Greek, final sigma
    ("userName eq \"οδυσσευς\"", &["ΟΔΥΣΣΕΥΣ"]),
    ("userName eq \"ΟΔΥΣΣΕΥΣ\"", &["ΟΔΥΣΣΕΥΣ"]),
    ("userName eq \"οδυσσευσ\"", &[]),
    ("userName ew \"ς\"", &["ΟΔΥΣΣΕΥΣ"]),
    ("name.familyName co \"σσ\"", &["ΟΔΥΣΣΕΥΣ"]),
    // The value folds on its own: a trailing Σ is final there ("ΣΣ" → "σς").
    ("name.familyName co \"ΣΣ\"", &[]),
    ("name.familyName co \"ΣΣΕ\"", &["ΟΔΥΣΣΕΥΣ"]),
    ("displayName ew \"ΕΎΣ\"", &["ΟΔΥΣΣΕΥΣ"]),
    ("emails sw \"οδυσσευς@\"", &["ΟΔΥΣΣΕΥΣ"]),
    // Cyrillic
    ("displayName co \"жуков\"", &["Жуков"]),
    ("name.familyName eq \"ЖУКОВ\"", &["Жуков"]),
    ("emails sw \"жук\"", &["Жуков"]),
    ("userName ew \"КОВ\"", &["Жуков"]),
    // Wildcards in the value are literal.
    ("displayName co \"%\"", &[]),
];

async fn filters_fold_case_alike_in_every_script(app: TestApp) {
    for (user_name, display, family, email) in PEOPLE {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "displayName": display,
            "name": {"familyName": family},
            "emails": [{"value": email, "type": "work", "primary": true}],
            "active": true
        });
        app.scim(Method::POST, "/Users", Some(body)).await.expect(201);
    }
    for (filter, want) in CASES {
        let r = app
            .scim(
                Method::GET,
                &format!("/Users?count=100&filter={}", urlencode(filter)),
                None,
            )
            .await;
        r.expect(200);
        let got: BTreeSet<&str> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = want.iter().copied().collect();
        assert_eq!(got, want, "{filter}");
    }
}

on_both_stores!(filters_fold_case_alike_in_every_script);

fn compare(name: &str, sub: &str, op: pb::CompareOp, value: &str) -> pb::Filter {
    pb::Filter {
        kind: Some(pb::filter::Kind::Compare(pb::Comparison {
            path: Some(pb::AttributePath {
                name: name.into(),
                sub_attribute: sub.into(),
                ..Default::default()
            }),
            op: op as i32,
            value: Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::String(value.into())),
            }),
            case_exact: false,
        })),
    }
}

/// Users written before migration 000015 get their folded keys from it.
async fn users_written_before_the_keys_get_them(backend: Backend) {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    let Some((store, db, tenant)) = Store::before_migration(backend, "m20261201_000015_user_name_keys").await else {
        return;
    };
    for (i, (user_name, display, family, email)) in PEOPLE.iter().enumerate() {
        let doc = json!({"userName": user_name, "displayName": display, "name": {"familyName": family}});
        db.execute(
            &Query::insert()
                .into_table(Alias::new("users"))
                .columns(
                    [
                        "id",
                        "tenant_id",
                        "source",
                        "user_name",
                        "user_name_key",
                        "active",
                        "display_name",
                        "family_name",
                        "email",
                        "email_key",
                        "document",
                        "version",
                        "created_at",
                        "updated_at",
                    ]
                    .map(Alias::new),
                )
                .values_panic([
                    uuid::Uuid::now_v7().into(),
                    tenant.into(),
                    "native".into(),
                    (*user_name).into(),
                    user_name.to_lowercase().into(),
                    true.into(),
                    (*display).into(),
                    (*family).into(),
                    (*email).into(),
                    email.to_lowercase().into(),
                    doc.into(),
                    1i64.into(),
                    (i as i64 + 1).into(),
                    (i as i64 + 1).into(),
                ])
                .to_owned(),
        )
        .await
        .unwrap();
    }
    db.close().await.unwrap();

    let app = TestApp::start(&store).await;
    let mut dir = app.directory().await;
    use pb::CompareOp::{Co, Eq, Sw};
    let cases = [
        (compare("displayName", "", Co, "ö"), vec!["Öztürk"]),
        (compare("displayName", "", Eq, "георгий жуков"), vec!["Жуков"]),
        (compare("name", "familyName", Eq, "straße"), vec!["Straße"]),
        (compare("name", "familyName", Sw, "ΟΔΥ"), vec!["ΟΔΥΣΣΕΥΣ"]),
        (compare("name", "familyName", Co, "ı"), vec!["İstanbul"]),
    ];
    for (filter, want) in cases {
        let listed = dir
            .list_users(ListUsersRequest {
                tenant_id: tenant.to_string(),
                filter: Some(filter.clone()),
                count: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let got: Vec<String> = listed.users.iter().map(|u| u.user_name.clone()).collect();
        assert_eq!(got, want, "{filter:?}");
    }
    drop(app);
    store.cleanup().await;
}

mod users_written_before_the_keys_get_them {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::users_written_before_the_keys_get_them(crate::harness::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::users_written_before_the_keys_get_them(crate::harness::Backend::Postgres).await;
    }
}
