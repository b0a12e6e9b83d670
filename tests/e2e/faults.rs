//! The real binary under faults: SIGTERM with a Watch stream open, `kill -9` under a
//! concurrent SCIM write load, the store going away under load and coming back.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::{ListChangesRequest, WatchRequest};
use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;
use tonic::transport::Channel;

use crate::binary::{Proc, edge_root, request};
use crate::harness::{Backend, BearerKey, Grpc, Store};

const SERVE: [&str; 5] = ["serve", "--scim-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"];

/// A `serve` process on `store` with its data in `dir`, and what it printed.
struct Served {
    proc: Proc,
    root: String,
    grpc: String,
}

impl Served {
    async fn start(store: &Store, dir: &std::path::Path) -> Served {
        let mut proc = Proc::spawn(&SERVE, store, dir);
        let root = edge_root(&proc.value_after("SCIM edge:").await);
        let grpc = proc.value_after("gRPC core:").await;
        Served { proc, root, grpc }
    }

    /// The change feed, as the admin key of the data directory.
    async fn changes(&self, dir: &std::path::Path) -> ChangesClient<Grpc> {
        let keys = std::fs::read_to_string(dir.join("service-keys")).unwrap();
        let key = keys.lines().find_map(|l| l.strip_prefix("admin=")).unwrap();
        let channel = Channel::from_shared(self.grpc.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        ChangesClient::with_interceptor(channel, BearerKey::new(key))
    }
}

fn data_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dirsync-fault-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first tenant's id and SCIM token from a first start's output.
async fn first_tenant(p: &mut Proc) -> (String, String) {
    let url = p.value_after("Tenant URL:").await;
    let token = p.value_after("Secret token:").await;
    (url.rsplit('/').next().unwrap().to_owned(), token)
}

/// SIGTERM with a Watch stream open: the stream ends with UNAVAILABLE (clients reconnect on
/// it) and the process exits cleanly within 10 s.
async fn sigterm_ends_watch_streams_and_exits(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let dir = data_dir();
    let mut s = Served::start(&store, &dir).await;
    let (tenant, _) = first_tenant(&mut s.proc).await;
    let mut watch = s
        .changes(&dir)
        .await
        .watch(WatchRequest {
            tenant_id: tenant,
            after_cursor: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let pid = s.proc.child.id().unwrap().to_string();
    let started = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status.code()),
            }
        }
    })
    .await
    .expect("the Watch stream did not end after SIGTERM");
    assert_eq!(ended, Some(tonic::Code::Unavailable));
    let exit = tokio::time::timeout(
        Duration::from_secs(10).saturating_sub(started.elapsed()),
        s.proc.child.wait(),
    )
    .await
    .expect("no exit within 10 s of SIGTERM")
    .unwrap();
    assert!(exit.success(), "{exit}");
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

/// Writers that create users until told to stop, keeping the ids the edge acknowledged.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `writers` loops, each pausing `pace` after every answer (to stay under the edge's
    /// per-connection rate limit, whose 429s are not what these tests are about).
    fn start(base: &str, token: &str, writers: usize, pace: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let tasks = (0..writers)
            .map(|w| {
                let (stop, acked, statuses, client) = (stop.clone(), acked.clone(), statuses.clone(), client.clone());
                let (url, token) = (format!("{base}/Users"), token.to_owned());
                tokio::spawn(async move {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let body =
                            json!({"userName": format!("w{w}-{i}-{}@example.com", uuid::Uuid::new_v4().simple())});
                        let sent = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/scim+json")
                            .body(body.to_string())
                            .send()
                            .await;
                        let Ok(resp) = sent else {
                            // The process is gone (kill -9): not acknowledged.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        };
                        tokio::time::sleep(pace).await;
                        let status = resp.status().as_u16();
                        // A 503 without Retry-After counts as a wrong answer.
                        let retry = resp.headers().contains_key("retry-after");
                        statuses
                            .lock()
                            .await
                            .push(if status == 503 && !retry { 599 } else { status });
                        if status == 201
                            && let Ok(v) = resp.json::<serde_json::Value>().await
                        {
                            acked.lock().await.push(v["id"].as_str().unwrap().to_owned());
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            statuses,
            tasks,
        }
    }

    async fn finish(self) -> (Vec<String>, Vec<u16>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let acked = self.acked.lock().await.clone();
        let statuses = self.statuses.lock().await.clone();
        (acked, statuses)
    }
}

/// The status of GET `url`, waiting out the edge's per-connection rate limit (429), which
/// reading back hundreds of users at once runs into.
async fn get_status(url: &str, token: &str) -> u16 {
    loop {
        let (status, _) = request(Method::GET, url, token, None).await;
        if status != 429 {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every change of `tenant` from the start; asserts the cursors are 1, 2, 3, … with no gap.
async fn feed(changes: &mut ChangesClient<Grpc>, tenant: &str) -> Vec<dirsync_proto::v1::Change> {
    let mut all = Vec::new();
    loop {
        let page = changes
            .list_changes(ListChangesRequest {
                tenant_id: tenant.to_owned(),
                after_cursor: all.last().map_or(0, |c: &dirsync_proto::v1::Change| c.cursor),
                limit: 1000,
            })
            .await
            .unwrap()
            .into_inner();
        if page.changes.is_empty() {
            break;
        }
        all.extend(page.changes);
    }
    for (i, c) in all.iter().enumerate() {
        assert_eq!(c.cursor, i as u64 + 1, "the feed has a gap before {}", c.cursor);
    }
    all
}

/// `kill -9` of the real binary under concurrent SCIM writes: after a restart every write
/// the edge acknowledged is there, with its change-feed event, and the cursors are gapless.
async fn kill_9_loses_no_acknowledged_write(backend: Backend) {
    let Some(store) = Store::new(backend).await else { return };
    let dir = data_dir();
    let mut s = Served::start(&store, &dir).await;
    let (tenant, token) = first_tenant(&mut s.proc).await;
    let base = format!("{}/scim/v2/{tenant}", s.root);
    let load = Load::start(&base, &token, 8, Duration::ZERO);
    // Let the load run, then kill while requests are in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.proc.child.start_kill().unwrap();
    s.proc.child.wait().await.unwrap();
    let (acked, _) = load.finish().await;
    assert!(acked.len() > 20, "too few writes to prove anything: {}", acked.len());

    let s = Served::start(&store, &dir).await;
    let base = format!("{}/scim/v2/{tenant}", s.root);
    let mut found = 0;
    for id in &acked {
        let status = get_status(&format!("{base}/Users/{id}"), &token).await;
        assert_eq!(status, 200, "acknowledged user {id} lost");
        found += 1;
    }
    let mut changes = s.changes(&dir).await;
    let created: BTreeSet<String> = feed(&mut changes, &tenant)
        .await
        .into_iter()
        .filter(|c| c.r#type == "user.created")
        .map(|c| c.resource_id)
        .collect();
    for id in &acked {
        assert!(created.contains(id), "no user.created event for acknowledged user {id}");
    }
    eprintln!(
        "kill -9 ({backend:?}): {} writes acknowledged, {found} found after restart, {} user.created events",
        acked.len(),
        created.len()
    );
    s.proc.terminate().await;
    let _ = std::fs::remove_dir_all(&dir);
    store.cleanup().await;
}

/// A PostgreSQL cluster of the test's own on an ephemeral loopback port, so stopping it
/// disturbs nobody else's tests.
struct Cluster {
    dir: std::path::PathBuf,
    port: u16,
}

impl Cluster {
    fn bin(name: &str) -> std::path::PathBuf {
        let base = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .max()
            .unwrap();
        base.join("bin").join(name)
    }

    /// Runs a PostgreSQL tool as the postgres user (initdb refuses root).
    fn run(args: &[&str]) {
        let as_root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let mut cmd = if as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            std::process::Command::new(Self::bin(args[0]))
        };
        if as_root {
            cmd.arg(Self::bin(args[0]));
        }
        let out = cmd.args(&args[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn init() -> Cluster {
        let dir = std::env::temp_dir().join(format!("dirsync-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::process::Command::new("chown")
            .args(["postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.join("data");
        Self::run(&[
            "initdb",
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        Cluster { dir, port }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        Self::run(&[
            "pg_ctl",
            "-D",
            self.dir.join("data").to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
    }

    fn stop(&self) {
        Self::run(&[
            "pg_ctl",
            "-D",
            self.dir.join("data").to_str().unwrap(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Self::bin("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the store goes away and comes back.
enum Outage {
    /// Our own PostgreSQL cluster, stopped and started.
    Postgres(Cluster),
    /// A SQLite file whose write lock another process holds (a backup tool, a second writer).
    Sqlite(sea_orm::DatabaseTransaction),
}

/// The store goes away under a SCIM write load and comes back: meanwhile every answer is 201
/// or 503 with Retry-After (no 500, no hang), dirsync recovers alone, and no acknowledged
/// write is lost. On PostgreSQL, `serve` is first started while the store is still down and
/// waits for it.
async fn store_outage_answers_503_and_recovers(backend: Backend) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let dir = data_dir();
    let (store, cluster) = match backend {
        Backend::Postgres => {
            if std::env::var("TEST_DATABASE_URL").is_err() {
                eprintln!("skipped: PostgreSQL tests need TEST_DATABASE_URL");
                return;
            }
            let cluster = Cluster::init();
            (Store::at(&cluster.url()), Some(cluster))
        }
        Backend::Sqlite => (Store::new(backend).await.unwrap(), None),
    };
    let mut p = Proc::spawn(&SERVE, &store, &dir);
    if let Some(c) = &cluster {
        // Started while the store is down: it waits, then starts when the store is there.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "serve exited while the store was down"
        );
        c.start();
    }
    let root = edge_root(&p.value_after("SCIM edge:").await);
    let grpc = p.value_after("gRPC core:").await;
    let mut s = Served { proc: p, root, grpc };
    let (tenant, token) = first_tenant(&mut s.proc).await;
    let base = format!("{}/scim/v2/{tenant}", s.root);
    let load = Load::start(&base, &token, 4, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outage = match cluster {
        Some(c) => {
            c.stop();
            Outage::Postgres(c)
        }
        None => {
            // `serve` keeps its SQLite file in its data directory.
            let url = format!("sqlite://{}/dirsync.db", dir.display());
            let db = sea_orm::Database::connect(&url).await.unwrap();
            let txn = db
                .begin_with_options(sea_orm::TransactionOptions {
                    sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await
                .unwrap();
            txn.execute_unprepared("SELECT 1").await.unwrap();
            Outage::Sqlite(txn)
        }
    };
    // Longer than any wait inside dirsync (pool acquire, SQLite busy timeout).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = load.statuses.lock().await.len();
    let back = Instant::now();
    let cluster = match outage {
        Outage::Postgres(c) => {
            c.start();
            Some(c)
        }
        Outage::Sqlite(txn) => {
            txn.rollback().await.unwrap();
            None
        }
    };
    let returned = back.elapsed();
    // Recovery: the first write acknowledged after the store is back.
    let recovered = loop {
        let (status, _) = request(
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(json!({"userName": format!("probe-{}@example.com", uuid::Uuid::new_v4().simple())})),
        )
        .await;
        if status == 201 {
            break back.elapsed();
        }
        assert!(back.elapsed() < Duration::from_secs(30), "no recovery within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (acked, statuses) = load.finish().await;
    let unavailable = statuses.iter().filter(|s| **s == 503).count();
    let wrong: Vec<&u16> = statuses.iter().filter(|s| !matches!(s, 201 | 503)).collect();
    assert!(
        wrong.is_empty(),
        "answers other than 201 and 503 with Retry-After: {wrong:?}"
    );
    assert!(unavailable > 0, "the outage was never seen: {statuses:?}");
    assert_eq!(statuses.last(), Some(&201), "not recovered at the end");
    for id in &acked {
        let status = get_status(&format!("{base}/Users/{id}"), &token).await;
        assert_eq!(status, 200, "acknowledged user {id} lost");
    }
    eprintln!(
        "outage ({backend:?}): {} answers ({during} by the end of the outage), {unavailable} were 503, {} writes acknowledged and found; store back in {} ms, first write acknowledged {} ms after the store was back",
        statuses.len(),
        acked.len(),
        returned.as_millis(),
        recovered.saturating_sub(returned).as_millis()
    );
    s.proc.terminate().await;
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    if backend == Backend::Sqlite {
        store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_sqlite() {
    store_outage_answers_503_and_recovers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_postgres() {
    store_outage_answers_503_and_recovers(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_watch_sqlite() {
    sigterm_ends_watch_streams_and_exits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_watch_postgres() {
    sigterm_ends_watch_streams_and_exits(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_sqlite() {
    kill_9_loses_no_acknowledged_write(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_postgres() {
    kill_9_loses_no_acknowledged_write(Backend::Postgres).await;
}
