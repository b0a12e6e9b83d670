//! The real `dirsync` binary: `serve` on a fresh store, restart without losing a write, and
//! `core` + `edge` as two processes scripted with `dirsync admin --output json`.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::harness::{Backend, Store};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_dirsync");

pub(crate) struct Proc {
    pub(crate) child: Child,
    out: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Proc {
    pub(crate) fn spawn(args: &[&str], store: &Store, dir: &std::path::Path) -> Proc {
        Self::spawn_logging(args, store, dir, None)
    }

    /// Like `spawn`; with `log`, stderr goes to that file at debug level.
    pub(crate) fn spawn_logging(
        args: &[&str],
        store: &Store,
        dir: &std::path::Path,
        log: Option<&std::path::Path>,
    ) -> Proc {
        Self::spawn_with(args, store, dir, log, &[])
    }

    /// Like `spawn_logging`, with these environment variables set (telemetry tests).
    pub(crate) fn spawn_with(
        args: &[&str],
        store: &Store,
        dir: &std::path::Path,
        log: Option<&std::path::Path>,
        envs: &[(&str, &str)],
    ) -> Proc {
        let mut cmd = Command::new(BIN);
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::inherit(),
        };
        cmd.args(args)
            .env("RUST_LOG", if log.is_some() { "debug" } else { "warn" })
            .env("DIRSYNC_DATA_DIR", dir)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        cmd.envs(envs.iter().copied());
        if store.url.starts_with("postgres") {
            cmd.env("DATABASE_URL", &store.url);
        } else {
            cmd.env_remove("DATABASE_URL");
        }
        let mut child = cmd.spawn().expect("starting dirsync");
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        Proc {
            child,
            out,
            seen: Vec::new(),
        }
    }

    /// The rest of the first stdout line that contains `marker`.
    pub(crate) async fn value_after(&mut self, marker: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(marker)) {
            return line.split_once(marker).unwrap().1.trim().to_owned();
        }
        let read = async {
            while let Some(line) = self.out.next_line().await.unwrap() {
                self.seen.push(line.clone());
                if let Some((_, rest)) = line.split_once(marker) {
                    return rest.trim().to_owned();
                }
            }
            panic!("dirsync exited before printing {marker:?}; it printed {:?}", self.seen);
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("dirsync did not start in time")
    }

    /// Stops the process with SIGTERM and checks that it exits cleanly.
    pub(crate) async fn terminate(mut self) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("no exit after SIGTERM")
            .unwrap();
        assert!(exit.success(), "dirsync exited with {exit}");
    }
}

pub(crate) fn edge_root(line: &str) -> String {
    line.trim_end_matches("/scim/v2/<tenant id>").to_owned()
}

/// `dirsync admin`, with the key file of the data directory `dir`.
pub(crate) async fn admin(dir: &std::path::Path, grpc: &str, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .env("DIRSYNC_DATA_DIR", dir)
        .env_remove("DIRSYNC_SERVICE_KEY")
        .args(["admin", "--core-url", grpc, "--output", "json"])
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "dirsync admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("admin --output json prints JSON")
}

pub(crate) async fn request(method: Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn serve_bootstraps_and_survives_restart(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let dir = std::env::temp_dir().join(format!("dirsync-bin-{}", uuid::Uuid::new_v4().simple()));
    let args = ["serve", "--scim-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"];
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr.log");
    let mut p = Proc::spawn_logging(&args, &store, &dir, Some(&log));
    let tenant_url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    assert!(token.starts_with("dsy_") && token.len() >= 40, "{token}");
    let (status, user) = request(
        Method::POST,
        &format!("{tenant_url}/Users"),
        &token,
        Some(json!({"userName": "ivan@example.com"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    p.terminate().await;
    // A clean stop leaves the SQLite file complete: the write-ahead log is checkpointed.
    if backend == Backend::Sqlite {
        let wal = std::fs::metadata(dir.join("dirsync.db-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0, "the WAL was not checkpointed at shutdown");
    }

    // Restart on the same store: the acknowledged write is there, no second bootstrap.
    let mut p = Proc::spawn(&args, &store, &dir);
    let edge = edge_root(&p.value_after("SCIM edge:").await);
    assert!(!p.seen.iter().any(|l| l.contains("Secret token")), "{:?}", p.seen);
    let tenant = tenant_url.rsplit('/').next().unwrap();
    let (status, again) = request(
        Method::GET,
        &format!("{edge}/scim/v2/{tenant}/Users/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["userName"], "ivan@example.com");
    p.terminate().await;

    // Debug logs of a whole run hold no secret: not the SCIM token, not the service keys.
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.lines().count() > 10, "the run logged at debug level");
    let keys = std::fs::read_to_string(dir.join("service-keys")).unwrap();
    let mut secrets = vec![token.clone()];
    secrets.extend(
        keys.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(_, k)| k.to_owned()),
    );
    secrets.push(
        std::fs::read_to_string(dir.join("secret.key"))
            .unwrap()
            .trim()
            .to_owned(),
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret is in the logs");
    }
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

async fn core_and_edge_as_two_processes(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let dir = std::env::temp_dir().join(format!("dirsync-bin-{}", uuid::Uuid::new_v4().simple()));
    let mut core = Proc::spawn(&["core", "--grpc-addr", "127.0.0.1:0"], &store, &dir);
    let grpc = core.value_after("gRPC core:").await;
    let mut edge = Proc::spawn(
        &["edge", "--core-url", &grpc, "--scim-addr", "127.0.0.1:0"],
        &store,
        &dir,
    );
    let root = edge_root(&edge.value_after("SCIM edge:").await);

    let tenant = admin(&dir, &grpc, &["tenant", "create", "Acme"]).await;
    let tenant_id = tenant["id"].as_str().unwrap();
    let conn = admin(
        &dir,
        &grpc,
        &["connection", "create", "--tenant", tenant_id, "--idp", "okta"],
    )
    .await;
    assert_eq!(conn["connection"]["idp_profile"], "okta");
    assert!(
        conn["scim_base_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/{tenant_id}"))
    );
    let token = conn["token"].as_str().unwrap().to_owned();
    let base = format!("{root}/scim/v2/{tenant_id}");
    let (status, user) = request(
        Method::POST,
        &format!("{base}/Users"),
        &token,
        Some(json!({"userName": "judy@example.com"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let (status, list) = request(
        Method::GET,
        &format!("{base}/Users?filter=userName%20eq%20%22JUDY@example.com%22"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 1);

    let rotated = admin(
        &dir,
        &grpc,
        &[
            "token",
            "rotate",
            "--tenant",
            tenant_id,
            "--connection",
            conn["connection"]["id"].as_str().unwrap(),
        ],
    )
    .await;
    let new_token = rotated["token"].as_str().unwrap();
    assert_eq!(
        request(Method::GET, &format!("{base}/Users"), new_token, None).await.0,
        200
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while request(Method::GET, &format!("{base}/Users"), &token, None).await.0 != 401 {
        assert!(std::time::Instant::now() < deadline, "the old token still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = admin(&dir, &grpc, &["connection", "list", "--tenant", tenant_id]).await;
    assert_eq!(listed["connections"].as_array().unwrap().len(), 1);

    // License tiers from the CLI: a tier, a license group, the settings.
    let tier = admin(
        &dir,
        &grpc,
        &[
            "license", "tier", "create", "--tenant", tenant_id, "Team", "--rank", "20", "--seats", "1",
        ],
    )
    .await;
    let (status, group) = request(
        Method::POST,
        &format!("{base}/Groups"),
        new_token,
        Some(json!({"displayName": "Team", "members": [{"value": user["id"]}]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap();
    let tier_id = tier["id"].as_str().unwrap();
    admin(
        &dir,
        &grpc,
        &[
            "license", "map", "--tenant", tenant_id, "--group", group_id, "--tier", tier_id,
        ],
    )
    .await;
    let tiers = admin(&dir, &grpc, &["license", "tier", "list", "--tenant", tenant_id]).await;
    assert_eq!(tiers["tiers"][0]["assigned"], 1, "{tiers}");
    assert_eq!(tiers["mappings"][0]["group_id"], group_id);
    let settings = admin(
        &dir,
        &grpc,
        &["license", "settings", "--tenant", tenant_id, "--auto-purchase", "true"],
    )
    .await;
    assert_eq!(settings["auto_purchase"], true);
    assert_eq!(settings["billing_window_seconds"], 1800);
    // Adoption of existing accounts: verified domains and the connection switch.
    let conn_id = conn["connection"]["id"].as_str().unwrap();
    assert_eq!(conn["connection"]["allow_adoption"], false);
    let added = admin(&dir, &grpc, &["domain", "add", "--tenant", tenant_id, "Acme.COM"]).await;
    assert_eq!(added["domain"], "acme.com");
    let domains = admin(&dir, &grpc, &["domain", "list", "--tenant", tenant_id]).await;
    assert_eq!(domains["domains"][0]["domain"], "acme.com");
    let updated = admin(
        &dir,
        &grpc,
        &[
            "connection",
            "update",
            "--tenant",
            tenant_id,
            "--connection",
            conn_id,
            "--allow-adoption",
            "true",
        ],
    )
    .await;
    assert_eq!(updated["allow_adoption"], true);
    admin(&dir, &grpc, &["domain", "remove", "--tenant", tenant_id, "acme.com"]).await;
    let domains = admin(&dir, &grpc, &["domain", "list", "--tenant", tenant_id]).await;
    assert_eq!(domains["domains"], json!([]));

    edge.terminate().await;
    core.terminate().await;
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sqlite() {
    serve_bootstraps_and_survives_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_postgres() {
    serve_bootstraps_and_survives_restart(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_and_edge_sqlite() {
    core_and_edge_as_two_processes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_and_edge_postgres() {
    core_and_edge_as_two_processes(Backend::Postgres).await;
}
