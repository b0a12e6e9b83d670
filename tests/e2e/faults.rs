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
    fn start(base: &str, token: &str, writers: usize) -> Load {
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
                        let status = resp.status().as_u16();
                        statuses.lock().await.push(status);
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
    let load = Load::start(&base, &token, 8);
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
        let (status, _) = request(Method::GET, &format!("{base}/Users/{id}"), &token, None).await;
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
