//! `entitlements`: the product's hot read, `Directory/GetEntitlements` (or the batch form) for
//! random users, while SCIM writers PATCH users of the same tenant: latency under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use dirsync_proto::v1::{BatchGetEntitlementsRequest, GetEntitlementsRequest, ListUsersRequest};
use futures::StreamExt;
use serde_json::json;

use crate::output::{Report, Table, ms, rate};
use crate::stats::{Rng, Summary};
use crate::target::{Directory, Scim, directory};
use crate::{GrpcArgs, ScimArgs};

/// At most this many measured calls per run.
const MAX_REQUESTS: usize = 10_000_000;
/// At most this many users are read back (ids to ask about).
const MAX_USERS: u64 = 1_000_000;

#[derive(Debug, Args)]
pub struct EntitlementArgs {
    #[command(flatten)]
    pub grpc: GrpcArgs,
    #[command(flatten)]
    pub scim: ScimArgs,
    /// How many of the tenant's users to ask about (read back with ListUsers first).
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Measured calls.
    #[arg(long, default_value_t = 5000)]
    pub requests: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Users per call: 1 uses GetEntitlements, more uses BatchGetEntitlements (at most 1000).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// SCIM writers PATCHing random users (displayName) for as long as the reads run; 0: none.
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop starting calls after this many seconds (the run then fails).
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
    /// Timeout of one call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_seconds: u64,
}

/// The ids of up to `n` users of the tenant, by keyset pages.
async fn user_ids(client: &mut Directory, tenant: &str, n: u64) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    while (ids.len() as u64) < n {
        let page = client
            .list_users(ListUsersRequest {
                tenant_id: tenant.to_owned(),
                count: (n - ids.len() as u64).min(1000),
                page_token: token.take(),
                ..Default::default()
            })
            .await
            .context("ListUsers")?
            .into_inner();
        ids.extend(page.users.into_iter().map(|u| u.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = Some(page.next_page_token);
    }
    Ok(ids)
}

enum Outcome {
    Ok(Duration),
    Failed(String),
    Skipped,
}

async fn read(mut client: Directory, tenant: String, ids: Vec<String>, deadline: Instant) -> Outcome {
    if Instant::now() >= deadline {
        return Outcome::Skipped;
    }
    let want = ids.len();
    let t = Instant::now();
    let got = if want == 1 {
        client
            .get_entitlements(GetEntitlementsRequest {
                tenant_id: tenant,
                user_id: ids.into_iter().next().unwrap_or_default(),
            })
            .await
            .map(|r| usize::from(!r.into_inner().user_id.is_empty()))
    } else {
        client
            .batch_get_entitlements(BatchGetEntitlementsRequest {
                tenant_id: tenant,
                user_ids: ids,
            })
            .await
            .map(|r| r.into_inner().entitlements.len())
    };
    let took = t.elapsed();
    match got {
        Ok(n) if n == want => Outcome::Ok(took),
        Ok(n) => Outcome::Failed(format!("{n} entitlements for {want} users")),
        Err(s) => Outcome::Failed(format!("{:?}: {}", s.code(), s.message())),
    }
}

/// PATCHes random users until `stop`; returns the write latencies and the first error.
async fn write_loop(
    scim: Scim,
    ids: Arc<Vec<String>>,
    seed: u64,
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicUsize>,
) -> (Vec<Duration>, Option<String>) {
    let mut rng = Rng::new(seed);
    let mut took = Vec::new();
    let mut first_error = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        n += 1;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": format!("Load {seed}-{n}")}],
        });
        let t = Instant::now();
        let sent = scim
            .send_json(
                reqwest::Method::PATCH,
                &format!("/Users/{id}"),
                body.to_string().into_bytes(),
            )
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => took.push(t.elapsed()),
            Ok(r) => {
                errors.fetch_add(1, Ordering::Relaxed);
                first_error.get_or_insert_with(|| format!("PATCH: HTTP {}", r.status()));
            }
            Err(e) => {
                errors.fetch_add(1, Ordering::Relaxed);
                first_error.get_or_insert_with(|| format!("PATCH: {e}"));
            }
        }
    }
    (took, first_error)
}

pub async fn run(args: EntitlementArgs) -> anyhow::Result<Report> {
    anyhow::ensure!((1..=MAX_USERS).contains(&args.users), "--users is 1..={MAX_USERS}");
    anyhow::ensure!(args.requests <= MAX_REQUESTS, "--requests is at most {MAX_REQUESTS}");
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    anyhow::ensure!((1..=1000).contains(&args.batch), "--batch is 1..=1000");
    let timeout = Duration::from_secs(args.timeout_seconds);
    let mut client = directory(&args.grpc, timeout).await?;
    let ids = Arc::new(user_ids(&mut client, &args.grpc.tenant, args.users).await?);
    anyhow::ensure!(!ids.is_empty(), "the tenant has no users: seed some first");

    let stop = Arc::new(AtomicBool::new(false));
    let write_errors = Arc::new(AtomicUsize::new(0));
    let scim = Scim::new(&args.scim, args.writers.max(1), timeout)?;
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            tokio::spawn(write_loop(
                scim.clone(),
                ids.clone(),
                args.seed + 1 + w as u64,
                stop.clone(),
                write_errors.clone(),
            ))
        })
        .collect();

    let mut rng = Rng::new(args.seed);
    let asks: Vec<Vec<String>> = (0..args.requests)
        .map(|_| {
            (0..args.batch)
                .map(|_| ids[rng.below(ids.len() as u64) as usize].clone())
                .collect()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures::stream::iter(asks)
        .map(|ask| read(client.clone(), args.grpc.tenant.clone(), ask, deadline))
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut write_took = Vec::new();
    let mut first_write_error = None;
    for w in writers {
        let (took, err) = w.await.context("a writer task failed")?;
        write_took.extend(took);
        first_write_error = first_write_error.or(err);
    }

    let mut ok = Vec::with_capacity(outcomes.len());
    let (mut failed, mut skipped) = (0usize, 0usize);
    let mut first_error = None;
    for o in outcomes {
        match o {
            Outcome::Ok(d) => ok.push(d),
            Outcome::Failed(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
            Outcome::Skipped => skipped += 1,
        }
    }
    let reads = Summary::of(&ok);
    let writes = Summary::of(&write_took);
    let write_errors = write_errors.load(Ordering::Relaxed);
    let rps = rate(ok.len(), elapsed);
    let wps = rate(write_took.len(), elapsed);

    let rpc = if args.batch == 1 {
        "GetEntitlements".to_owned()
    } else {
        format!("BatchGetEntitlements x{}", args.batch)
    };
    let mut t = Table::new(
        &format!("entitlements ({rpc}) under {} SCIM writers", args.writers),
        &[
            "calls",
            "ok",
            "failed",
            "skipped",
            "conc",
            "users",
            "elapsed s",
            "calls/s",
            "writes/s",
        ],
    );
    t.row(vec![
        args.requests.to_string(),
        ok.len().to_string(),
        failed.to_string(),
        skipped.to_string(),
        args.concurrency.to_string(),
        ids.len().to_string(),
        format!("{:.2}", elapsed.as_secs_f64()),
        format!("{rps:.0}"),
        format!("{wps:.0}"),
    ]);
    let mut l = Table::new("latency (ms)", &["", "min", "p50", "p90", "p99", "max", "mean"]);
    for (what, s) in [("entitlements", reads), ("SCIM PATCH", writes)] {
        l.row(vec![
            what.to_owned(),
            ms(s.min),
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max),
            ms(s.mean),
        ]);
    }
    let mut notes = Vec::new();
    if let Some(e) = &first_error {
        notes.push(format!("first error: {e}"));
    }
    if let Some(e) = &first_write_error {
        notes.push(format!("{write_errors} writes failed; first: {e}"));
    }
    if skipped > 0 {
        notes.push(format!(
            "--max-seconds {} reached; {skipped} calls not sent",
            args.max_seconds
        ));
    }
    Ok(Report {
        tables: vec![t, l],
        notes,
        json: json!({
            "command": "entitlements",
            "rpc": rpc,
            "users": ids.len(),
            "requests": args.requests,
            "concurrency": args.concurrency,
            "batch": args.batch,
            "writers": args.writers,
            "ok": ok.len(),
            "failed": failed,
            "skipped": skipped,
            "first_error": first_error,
            "elapsed_s": elapsed.as_secs_f64(),
            "calls_per_s": rps,
            "latency": reads.to_json(),
            "writes": write_took.len(),
            "write_errors": write_errors,
            "writes_per_s": wps,
            "write_latency": writes.to_json(),
        }),
        failed: failed + skipped + write_errors > 0,
    })
}
