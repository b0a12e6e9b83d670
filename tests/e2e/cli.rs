//! The operator CLI as a newcomer meets it: groups listed with ids, names and member counts;
//! roles and tiers mapped by a group's display name; JSON errors with the gRPC `ErrorInfo`
//! reason and a non-zero exit; RFC 3339 times; unmanaged users listed; and a first
//! `dirsync serve` whose banner is not buried under migration logs.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{TestApp, patch};
use crate::on_both_stores;
use crate::users::user;

const BIN: &str = env!("CARGO_BIN_EXE_dirsync");

/// `dirsync admin --output json ARGS` against the app's core: (success, stdout JSON, stderr).
pub async fn admin(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let out = tokio::process::Command::new(BIN)
        .args([
            "admin",
            "--core-url",
            &app.grpc,
            "--service-key",
            &app.keys.test,
            "--output",
            "json",
        ])
        .args(args)
        .env_remove("DIRSYNC_SERVICE_KEY")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {stdout}"));
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub async fn ok(app: &TestApp, args: &[&str]) -> Value {
    let (success, out, err) = admin(app, args).await;
    assert!(success, "{args:?}: {err} {out}");
    out
}

/// An RFC 3339 UTC time as the CLI prints it.
#[track_caller]
fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string time: {v}"));
    assert!(
        s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z'),
        "not RFC 3339: {s}"
    );
}

async fn scim_id(app: &TestApp, path: &str, body: Value) -> String {
    let r = app.scim(Method::POST, path, Some(body)).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn operator_cli_by_names_with_json_errors(app: TestApp) {
    let t = app.tenant_id.as_str();
    // The IdP pushes two groups and two users.
    let eng = scim_id(&app, "/Groups", json!({"displayName": "Engineering"})).await;
    let sales = scim_id(&app, "/Groups", json!({"displayName": "Sales"})).await;
    let ann = scim_id(&app, "/Users", user("ann@example.com")).await;
    let bob = scim_id(&app, "/Users", user("bob@example.com")).await;
    for (g, members) in [(&eng, vec![&ann, &bob]), (&sales, vec![&bob])] {
        let value: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        app.scim(
            Method::PATCH,
            &format!("/Groups/{g}"),
            Some(patch(json!([{"op": "add", "path": "members", "value": value}]))),
        )
        .await
        .expect(204);
    }

    // `group list`: ids, names, member counts.
    let groups = ok(&app, &["group", "list", "--tenant", t]).await;
    let mut rows: Vec<(String, String, u64)> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_rfc3339(&g["created"]);
            (
                g["id"].as_str().unwrap().to_owned(),
                g["display_name"].as_str().unwrap().to_owned(),
                g["members"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        rows,
        [
            (eng.clone(), "Engineering".to_owned(), 2),
            (sales.clone(), "Sales".to_owned(), 1)
        ]
    );

    // Roles and tiers mapped by the group's display name (and the role's or tier's name).
    ok(
        &app,
        &["role", "create", "--tenant", t, "Admin", "--rank", "100", "--admin"],
    )
    .await;
    ok(&app, &["role", "create", "--tenant", t, "Member", "--rank", "10"]).await;
    let m = ok(
        &app,
        &[
            "role",
            "map",
            "--tenant",
            t,
            "--group",
            "Engineering",
            "--role",
            "Admin",
        ],
    )
    .await;
    assert_eq!(m["group_id"], eng.as_str());
    ok(
        &app,
        &[
            "license", "tier", "create", "--tenant", t, "Starter", "--rank", "10", "--seats", "5",
        ],
    )
    .await;
    let m = ok(
        &app,
        &["license", "map", "--tenant", t, "--group", "sales", "--tier", "Starter"],
    )
    .await;
    assert_eq!(m["group_id"], sales.as_str(), "case-insensitive when unambiguous");
    let (success, out, err) = admin(
        &app,
        &["role", "map", "--tenant", t, "--group", "Nobody", "--role", "Admin"],
    )
    .await;
    assert!(!success);
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no group named \"Nobody\""),
        "{out}"
    );
    assert!(err.contains("no group named"), "{err}");

    // Errors: JSON with the gRPC code and ErrorInfo reason, and a non-zero exit.
    let unmap = ["role", "unmap", "--tenant", t, "--group", "Engineering"];
    let (success, out, _) = admin(&app, &unmap).await;
    assert!(!success, "the tenant's admins hold Admin through Engineering only");
    assert_eq!(out["error"]["code"], "FAILED_PRECONDITION", "{out}");
    assert_eq!(out["error"]["reason"], "LAST_ADMIN", "{out}");
    let (success, out, _) = admin(&app, &["license", "tier", "delete", "--tenant", t, "--tier", "Starter"]).await;
    assert!(!success);
    assert_eq!(out["error"]["reason"], "LICENSE_IN_USE", "{out}");
    let (success, out, _) = admin(&app, &["role", "delete", "--tenant", t, "--role", "Admin"]).await;
    assert!(!success);
    assert_eq!(out["error"]["reason"], "ROLE_IN_USE", "{out}");

    // Times are RFC 3339 everywhere.
    let tenants = ok(&app, &["tenant", "list"]).await;
    for tenant in tenants["tenants"].as_array().unwrap() {
        assert_rfc3339(&tenant["created"]);
    }
    let log = ok(&app, &["sync-log", "--tenant", t, "--limit", "5"]).await;
    assert_rfc3339(&log["entries"][0]["time"]);
    let status = ok(&app, &["status", "--tenant", t]).await;
    assert_rfc3339(&status["connections"][0]["last_request"]);

    // Licenses for everyone, by the tier's name.
    let s = ok(
        &app,
        &[
            "license",
            "settings",
            "--tenant",
            t,
            "--source",
            "default",
            "--default-tier",
            "Starter",
        ],
    )
    .await;
    assert_eq!(s["source"], "default");
    let purchases = ok(&app, &["license", "purchases", "--tenant", t, "--filter", "cancelled"]).await;
    assert_eq!(purchases["purchases"], json!([]));

    // Unmanaged users after the connection ended.
    ok(
        &app,
        &["connection", "end", "--tenant", t, "--connection", &app.connection_id],
    )
    .await;
    let users = ok(&app, &["user", "list", "--tenant", t, "--unmanaged"]).await;
    assert_eq!(users["total"], 2);
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["connection_id"].is_null())
    );
}

on_both_stores!(operator_cli_by_names_with_json_errors);

/// Every option and argument of every `dirsync admin` command says what it is in `--help`.
#[test]
fn every_admin_option_is_documented() {
    fn leaves(path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let help = std::process::Command::new(BIN)
            .args(&path)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout).into_owned();
        let mut in_commands = false;
        let mut subs = Vec::new();
        for line in text.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
                continue;
            }
            if in_commands {
                match line.split_whitespace().next() {
                    Some(name) if line.starts_with("  ") && name != "help" => subs.push(name.to_owned()),
                    _ if line.trim().is_empty() => in_commands = false,
                    _ => {}
                }
            }
        }
        if subs.is_empty() {
            out.push(path.clone());
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s);
            leaves(p, out);
        }
    }
    let mut all = Vec::new();
    leaves(vec!["admin".to_owned()], &mut all);
    assert!(all.len() > 30, "{all:?}");
    let mut undocumented = Vec::new();
    for path in &all {
        let help = std::process::Command::new(BIN)
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let mut section = "";
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                section = line;
                continue;
            }
            if !(section == "Options:" || section == "Arguments:") {
                continue;
            }
            // "  --name <V>  description", or "  --name <V>" with the description on the next,
            // deeper-indented line (clap's layout for long help).
            let t = line.trim_start();
            if !(t.starts_with('-') || t.starts_with('<') || t.starts_with('[')) {
                continue;
            }
            let indent = line.len() - t.len();
            let same_line = t.trim_end().contains("  ");
            let next_line = lines.get(i + 1).is_some_and(|n| {
                let nt = n.trim_start();
                n.len() - nt.len() > indent && !nt.is_empty() && !nt.starts_with('-') && !nt.starts_with('<')
            });
            if !same_line && !next_line {
                undocumented.push(format!("{}: {t}", path.join(" ")));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "undocumented options:\n{}",
        undocumented.join("\n")
    );
}

/// A first `dirsync serve` at the default log level: the banner (Tenant URL, token, how to see
/// them again) with no migration log lines before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_serve_prints_the_banner_without_migration_logs() {
    let dir = std::env::temp_dir().join(format!("dirsync-banner-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--scim-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("DIRSYNC_DATA_DIR", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let read = async {
        while let Some(line) = out.next_line().await.unwrap() {
            let done = line.contains("token rotate");
            banner.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("no banner");
    let text = banner.join("\n");
    for want in ["Tenant URL:", "Secret token: dsy_", "connection show --tenant"] {
        assert!(text.contains(want), "{want:?} not in the banner:\n{text}");
    }
    assert!(!text.contains("shown only"), "{text}");
    // Stop it, then read what it logged at the default level.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(!logs.to_lowercase().contains("migration"), "{logs}");
    assert!(logs.lines().count() <= 3, "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the configuration file stands, through the real binary: a flag beats the
/// environment, which beats the file (`--config` anywhere on the line, or `DIRSYNC_CONFIG`),
/// which beats the default. The `--core-url` that won is named in the error of an admin command
/// that cannot reach a core (ports 1–4 on loopback refuse at once).
#[tokio::test]
async fn configuration_file_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dirsync.conf");
    std::fs::write(
        &file,
        "# the core of this deployment\nDIRSYNC_CORE_URL='http://127.0.0.1:3'\nDIRSYNC_SCIM_ADDR=\"0.0.0.0:8080\" # for serve\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (flag, env, file_url) = ("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3");
    // (flag, environment, how the file is given, the URL that wins)
    let rows: &[(Option<&str>, Option<&str>, &str, &str)] = &[
        (Some(flag), Some(env), "--config after", flag),
        (None, Some(env), "--config after", env),
        (None, None, "--config after", file_url),
        (None, None, "--config before", file_url),
        (None, None, "DIRSYNC_CONFIG", file_url),
        (Some(flag), None, "DIRSYNC_CONFIG", flag),
        (None, Some(env), "none", env),
        (Some("http://127.0.0.1:4"), None, "none", "http://127.0.0.1:4"),
    ];
    for (flag, env, given, expected) in rows {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.env_remove("DIRSYNC_CORE_URL")
            .env_remove("DIRSYNC_CONFIG")
            .env_remove("DIRSYNC_SERVICE_KEY");
        if *given == "--config before" {
            cmd.args(["--config", file]);
        }
        cmd.args(["admin", "--service-key", "dsk_x", "--output", "json", "tenant", "list"]);
        match *given {
            "--config after" => {
                cmd.args(["--config", file]);
            }
            "DIRSYNC_CONFIG" => {
                cmd.env("DIRSYNC_CONFIG", file);
            }
            _ => {}
        }
        if let Some(flag) = flag {
            cmd.args(["--core-url", flag]);
        }
        if let Some(env) = env {
            cmd.env("DIRSYNC_CORE_URL", env);
        }
        let out = cmd.output().await.unwrap();
        let row = format!("flag {flag:?}, env {env:?}, file {given}");
        assert!(!out.status.success(), "{row}");
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{row}: no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("connecting to the core at {expected}")),
            "{row}: {message}"
        );
    }

    // The default (no flag, environment or file), as `--help` shows it.
    let out = tokio::process::Command::new(BIN)
        .env_remove("DIRSYNC_CORE_URL")
        .env_remove("DIRSYNC_CONFIG")
        .args(["admin", "tenant", "list", "--help"])
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: http://127.0.0.1:50051]"), "{help}");
}

/// A configuration file that is wrong stops the binary before it does anything, naming the
/// file and the line or setting (and never echoing a line, which may hold a secret); without
/// a subcommand (`serve`) the file applies too.
#[tokio::test]
async fn configuration_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    // (file, arguments after `--config FILE`, part of stderr)
    let rows: &[(&str, &[&str], &str)] = &[
        (
            "DIRSYNC_NOPE=1\n",
            &["admin", "tenant", "list"],
            "unknown setting DIRSYNC_NOPE",
        ),
        (
            "# fine\nDIRSYNC_SECRET_KEY=not quoted secret\n",
            &["core"],
            "line 2: expected NAME=value",
        ),
        (
            "DIRSYNC_MAX_PAGE_SIZE=many\n",
            &[],
            "invalid value 'many' for '--max-page-size",
        ),
        (
            "DIRSYNC_MAX_PAGE_SIZE=many\n",
            &["serve"],
            "invalid value 'many' for '--max-page-size",
        ),
    ];
    for (i, (text, args, expected)) in rows.iter().enumerate() {
        let file = dir.path().join(format!("{i}.conf"));
        std::fs::write(&file, text).unwrap();
        let out = tokio::process::Command::new(BIN)
            .env_remove("DIRSYNC_CONFIG")
            .env_remove("DIRSYNC_MAX_PAGE_SIZE")
            .env("DIRSYNC_DATA_DIR", dir.path())
            .arg("--config")
            .arg(&file)
            .args(*args)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text:?} {args:?}: {stderr}");
        assert!(stderr.contains(expected), "{text:?} {args:?}: {stderr}");
        assert!(!stderr.contains("quoted secret"), "{stderr}");
    }
}
