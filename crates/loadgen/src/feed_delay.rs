//! `feed-delay`: how long after a SCIM write is acknowledged its change reaches a `Watch`
//! stream (the product's view of "live").

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Args;
use dirsync_proto::v1::changes_client::ChangesClient;
use dirsync_proto::v1::{ListChangesRequest, WatchRequest};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::output::{Report, Table, ms};
use crate::stats::Summary;
use crate::target::{Scim, channel};
use crate::{GrpcArgs, ScimArgs};

#[derive(Debug, Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub scim: ScimArgs,
    #[command(flatten)]
    pub grpc: GrpcArgs,
    /// SCIM creates to time, one after the other.
    #[arg(long, default_value_t = 200)]
    pub events: usize,
    /// Give up on one change after this many seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout_seconds: u64,
}

pub async fn run(args: FeedArgs) -> anyhow::Result<Report> {
    anyhow::ensure!((1..=100_000).contains(&args.events), "--events is 1..=100000");
    let mut changes = ChangesClient::new(channel(&args.grpc, None).await?);
    // The current end of the feed, so that only new changes are timed.
    let mut head = 0;
    loop {
        let page = changes
            .list_changes(ListChangesRequest {
                tenant_id: args.grpc.tenant.clone(),
                after_cursor: head,
                limit: 1000,
            })
            .await?
            .into_inner();
        if page.changes.is_empty() {
            break;
        }
        head = page.next_cursor;
    }
    let mut stream = changes
        .watch(WatchRequest {
            tenant_id: args.grpc.tenant.clone(),
            after_cursor: head,
        })
        .await?
        .into_inner();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    tokio::spawn(async move {
        while let Ok(Some(change)) = stream.message().await {
            if tx.send((change.resource_id, Instant::now())).is_err() {
                return;
            }
        }
    });

    let scim = Scim::new(&args.scim, 1, Duration::from_secs(30))?;
    let wait = Duration::from_secs(args.timeout_seconds);
    let mut early: HashMap<String, Instant> = HashMap::new();
    let (mut after_ack, mut after_send) = (Vec::new(), Vec::new());
    let mut failures = 0usize;
    let run_id = format!(
        "{:x}",
        Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id())
    );
    for i in 0..args.events {
        let body = json!({"userName": format!("feed-{run_id}-{i}@example.com")})
            .to_string()
            .into_bytes();
        let sent = Instant::now();
        let resp = scim.send_json(reqwest::Method::POST, "/Users", body).send().await?;
        let acked = Instant::now();
        if resp.status() != reqwest::StatusCode::CREATED {
            failures += 1;
            continue;
        }
        let v: Value = resp.json().await?;
        let id = v.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let arrived = match early.remove(&id) {
            Some(t) => Some(t),
            None => loop {
                match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(Some((rid, t))) if rid == id => break Some(t),
                    Ok(Some((rid, t))) => {
                        early.insert(rid, t);
                    }
                    _ => break None,
                }
            },
        };
        match arrived {
            Some(t) => {
                after_ack.push(t.saturating_duration_since(acked));
                after_send.push(t.saturating_duration_since(sent));
            }
            None => failures += 1,
        }
    }
    let (a, s) = (Summary::of(&after_ack), Summary::of(&after_send));
    let mut t = Table::new(
        "feed-delay (SCIM POST /Users -> Changes/Watch)",
        &["from", "n", "p50", "p90", "p99", "max"],
    );
    for (name, x) in [("write acknowledged", a), ("request sent", s)] {
        t.row(vec![
            name.into(),
            x.count.to_string(),
            ms(x.p50),
            ms(x.p90),
            ms(x.p99),
            ms(x.max),
        ]);
    }
    Ok(Report {
        tables: vec![t],
        notes: if failures > 0 {
            vec![format!(
                "{failures} change(s) not seen within {} s",
                args.timeout_seconds
            )]
        } else {
            vec![]
        },
        json: json!({"bench": "feed-delay", "events": args.events, "missed": failures, "after_ack_ms": a.to_json(), "after_send_ms": s.to_json()}),
        failed: failures > 0,
    })
}
