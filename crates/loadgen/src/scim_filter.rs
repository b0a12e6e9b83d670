//! `scim-filter`: `GET /Users?filter=userName eq "<random seeded user>"`, the IdPs' lookup.

use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::ScimArgs;
use crate::output::{Report, Table, ms, rate};
use crate::stats::{Rng, Summary};
use crate::target::{Scim, user_name};

/// At most this many requests per run.
const MAX_REQUESTS: usize = 10_000_000;

#[derive(Debug, Args)]
pub struct FilterArgs {
    #[command(flatten)]
    pub scim: ScimArgs,
    /// How many users were seeded (names are picked in 0..N).
    #[arg(long)]
    pub users: u64,
    /// Measured requests.
    #[arg(long, default_value_t = 5000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Requests sent first and left out of the figures (connections, caches).
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    #[arg(long, default_value = "user")]
    pub prefix: String,
    /// Seed of the user picks (same seed, same sequence).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop starting requests after this many seconds (the run then fails).
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
    /// Timeout of one request, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_seconds: u64,
}

enum Outcome {
    Ok(Duration),
    Wrong(String),
    Failed(String),
    Skipped,
}

/// Checks a ListResponse: exactly the one user asked for.
fn check(status: reqwest::StatusCode, body: &[u8], wanted: &str) -> Result<(), String> {
    if status != reqwest::StatusCode::OK {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(format!("HTTP {status}: {text}"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let total = v.get("totalResults").and_then(Value::as_u64);
    if total != Some(1) {
        return Err(format!("totalResults {total:?} for {wanted}, expected 1"));
    }
    let got = v
        .pointer("/Resources/0/userName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !got.eq_ignore_ascii_case(wanted) {
        return Err(format!("Resources[0].userName {got:?}, expected {wanted:?}"));
    }
    Ok(())
}

async fn one(scim: &Scim, name: String, deadline: Instant) -> Outcome {
    if Instant::now() >= deadline {
        return Outcome::Skipped;
    }
    let filter = format!("userName eq \"{name}\"");
    let t = Instant::now();
    let sent = scim.get("/Users").query(&[("filter", filter.as_str())]).send().await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("request failed: {e}")),
    };
    let status = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("reading the body: {e}")),
    };
    let took = t.elapsed();
    match check(status, &body, &name) {
        Ok(()) => Outcome::Ok(took),
        Err(e) => Outcome::Wrong(e),
    }
}

pub async fn run(args: FilterArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.users > 0, "--users must be at least 1");
    anyhow::ensure!(
        args.requests + args.warmup <= MAX_REQUESTS,
        "--requests + --warmup is at most {MAX_REQUESTS}"
    );
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    let scim = Scim::new(&args.scim, args.concurrency, Duration::from_secs(args.timeout_seconds))?;
    let mut rng = Rng::new(args.seed);
    let started_all = Instant::now();
    let deadline = started_all + Duration::from_secs(args.max_seconds);
    let mut pick =
        |n: usize| -> Vec<String> { (0..n).map(|_| user_name(&args.prefix, rng.below(args.users))).collect() };
    let warm_names = pick(args.warmup);
    let names = pick(args.requests);

    let warm: Vec<Outcome> = futures::stream::iter(warm_names)
        .map(|n| one(&scim, n, deadline))
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let warm_bad = warm.iter().filter(|o| !matches!(o, Outcome::Ok(_))).count();

    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures::stream::iter(names)
        .map(|n| one(&scim, n, deadline))
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut ok = Vec::with_capacity(outcomes.len());
    let (mut wrong, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let mut first_error: Option<String> = None;
    for o in outcomes {
        match o {
            Outcome::Ok(d) => ok.push(d),
            Outcome::Wrong(e) => {
                wrong += 1;
                first_error.get_or_insert(e);
            }
            Outcome::Failed(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
            Outcome::Skipped => skipped += 1,
        }
    }
    let s = Summary::of(&ok);
    let rps = rate(ok.len() + wrong, elapsed);

    let mut t = Table::new(
        "scim-filter (GET /Users?filter=userName eq \"…\")",
        &[
            "requests",
            "ok",
            "wrong",
            "failed",
            "skipped",
            "conc",
            "elapsed s",
            "req/s",
        ],
    );
    t.row(vec![
        args.requests.to_string(),
        ok.len().to_string(),
        wrong.to_string(),
        failed.to_string(),
        skipped.to_string(),
        args.concurrency.to_string(),
        format!("{:.2}", elapsed.as_secs_f64()),
        format!("{rps:.0}"),
    ]);
    let mut l = Table::new("latency (ms)", &["min", "p50", "p90", "p99", "max", "mean"]);
    l.row(vec![ms(s.min), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.mean)]);
    let mut notes = Vec::new();
    if let Some(e) = &first_error {
        notes.push(format!("first error: {e}"));
    }
    if warm_bad > 0 {
        notes.push(format!("{warm_bad} of {} warm-up requests failed", args.warmup));
    }
    if skipped > 0 {
        notes.push(format!(
            "--max-seconds {} reached; {skipped} requests not sent",
            args.max_seconds
        ));
    }
    Ok(Report {
        tables: vec![t, l],
        notes,
        json: json!({
            "command": "scim-filter",
            "users": args.users,
            "requests": args.requests,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "ok": ok.len(),
            "wrong": wrong,
            "failed": failed,
            "skipped": skipped,
            "first_error": first_error,
            "elapsed_s": elapsed.as_secs_f64(),
            "requests_per_s": rps,
            "latency": s.to_json(),
        }),
        failed: wrong + failed + skipped + warm_bad > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_wants_exactly_the_user() {
        let ok = br#"{"totalResults":1,"Resources":[{"userName":"User1@example.com"}]}"#;
        assert!(check(reqwest::StatusCode::OK, ok, "user1@example.com").is_ok());
        let none = br#"{"totalResults":0,"Resources":[]}"#;
        assert!(check(reqwest::StatusCode::OK, none, "user1@example.com").is_err());
        let other = br#"{"totalResults":1,"Resources":[{"userName":"user2@example.com"}]}"#;
        assert!(check(reqwest::StatusCode::OK, other, "user1@example.com").is_err());
        assert!(check(reqwest::StatusCode::UNAUTHORIZED, b"{}", "user1@example.com").is_err());
    }
}
