//! What operators see of the core besides its RPC spans (those are `dirsync_telemetry::grpc`):
//! a CLIENT span per database statement, the `db.client.*` metrics of the semantic
//! conventions, the store probe behind `grpc.health.v1`, change-feed lag, job runs, seats per
//! license tier and how long each connection has been silent.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use migration::{Migrator, MigratorTrait};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, ObservableGauge};
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use sea_orm::{DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use dirsync_store::entity::{changes, connections, license_tiers, sync_log, user_licenses};

fn system_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgresql",
        DbBackend::Sqlite => "sqlite",
        DbBackend::MySql => "mysql",
        _ => "other_sql",
    }
}

/// `("SELECT", Some("users"))` from the statement SeaORM built. Statements carry their
/// values as bind parameters, but only the operation and the table leave this function.
fn operation(sql: &str) -> (String, Option<String>) {
    let mut words = sql.split_whitespace();
    let op = words.next().unwrap_or("").to_ascii_uppercase();
    let after = match op.as_str() {
        "SELECT" | "DELETE" => "FROM",
        "INSERT" => "INTO",
        "UPDATE" => "UPDATE",
        _ => return (op, None),
    };
    let table = if after == "UPDATE" {
        words.next()
    } else {
        words.skip_while(|w| !w.eq_ignore_ascii_case(after)).nth(1)
    };
    let table = table
        .filter(|t| !t.starts_with('('))
        .map(|t| t.trim_matches(|c| c == '"' || c == '`' || c == '(' || c == ')'))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_owned);
    (op, table)
}

struct DbInstruments {
    duration: Histogram<f64>,
}

static DB: LazyLock<DbInstruments> = LazyLock::new(|| DbInstruments {
    duration: dirsync_telemetry::metrics::meter()
        .f64_histogram("db.client.operation.duration")
        .with_unit("s")
        .with_description("Duration of database statements")
        .with_boundaries(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0])
        .build(),
});

/// The tracer of the global provider, looked up once (the first statement runs after
/// `dirsync_telemetry::init_with` installed the provider).
static TRACER: LazyLock<opentelemetry::global::BoxedTracer> =
    LazyLock::new(|| opentelemetry::global::tracer("dirsync"));

/// Gives every statement on `db` a CLIENT span (child of the span that ran it; none outside
/// a trace) and a `db.client.operation.duration` point. SeaORM reports a statement after it
/// ran, so the span is written with its measured start and end.
pub fn instrument_db(db: &mut DatabaseConnection) {
    db.set_metric_callback(|info| {
        let end = SystemTime::now();
        let system = system_name(info.statement.db_backend);
        let (op, table) = operation(&info.statement.sql);
        let mut attrs = vec![
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", op.clone()),
        ];
        if let Some(t) = &table {
            attrs.push(KeyValue::new("db.collection.name", t.clone()));
        }
        if info.failed {
            attrs.push(KeyValue::new("error.type", "db_error"));
        }
        DB.duration.record(info.elapsed.as_secs_f64(), &attrs);

        // Statement spans exist only to be exported: without an exporter, none is built.
        if !dirsync_telemetry::exporting_traces() {
            return;
        }
        let parent = tracing::Span::current().context();
        if !parent.span().span_context().is_sampled() {
            return;
        }
        let name = match &table {
            Some(t) => format!("{op} {t}"),
            None => op,
        };
        let tracer = &*TRACER;
        let mut span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(info.elapsed).unwrap_or(end))
            .with_attributes(attrs)
            .start_with_context(tracer, &parent);
        if info.failed {
            span.set_status(Status::error("statement failed"));
        }
        span.end_with_timestamp(end);
    });
}

/// `db.client.connection.count` (by state) and `db.client.connection.max` of the pool.
fn pool_gauges(db: &DatabaseConnection) -> Vec<ObservableGauge<i64>> {
    let meter = dirsync_telemetry::metrics::meter();
    let pool_name = KeyValue::new("db.client.connection.pool.name", system_name(db.get_database_backend()));
    let sizes = {
        let db = db.clone();
        move || -> (i64, i64, i64) {
            match db.get_database_backend() {
                DbBackend::Sqlite => {
                    let p = db.get_sqlite_connection_pool();
                    (
                        p.size().into(),
                        p.num_idle() as i64,
                        p.options().get_max_connections().into(),
                    )
                }
                DbBackend::Postgres => {
                    let p = db.get_postgres_connection_pool();
                    (
                        p.size().into(),
                        p.num_idle() as i64,
                        p.options().get_max_connections().into(),
                    )
                }
                _ => (0, 0, 0),
            }
        }
    };
    let counts = {
        let sizes = sizes.clone();
        let name = pool_name.clone();
        meter
            .i64_observable_gauge("db.client.connection.count")
            .with_unit("{connection}")
            .with_description("Connections of the store's pool, by state")
            .with_callback(move |o| {
                let (size, idle, _) = sizes();
                o.observe(
                    idle,
                    &[name.clone(), KeyValue::new("db.client.connection.state", "idle")],
                );
                o.observe(
                    size - idle,
                    &[name.clone(), KeyValue::new("db.client.connection.state", "used")],
                );
            })
            .build()
    };
    let max = meter
        .i64_observable_gauge("db.client.connection.max")
        .with_unit("{connection}")
        .with_description("The most connections the store's pool opens")
        .with_callback(move |o| o.observe(sizes().2, std::slice::from_ref(&pool_name)))
        .build();
    vec![counts, max]
}

static JOB_RUNS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    dirsync_telemetry::metrics::meter()
        .u64_counter("dirsync.job.runs")
        .with_unit("{run}")
        .with_description("Runs of the periodic jobs, by job and outcome")
        .build()
});

/// Counts one run of `job`: `success`, `skipped` (another replica holds the lease) or
/// `failure`.
pub fn job_run<T, E>(job: &'static str, result: &Result<Option<T>, E>) {
    let outcome = match result {
        Ok(Some(_)) => "success",
        Ok(None) => "skipped",
        Err(_) => "failure",
    };
    JOB_RUNS.add(
        1,
        &[
            KeyValue::new("dirsync.job", job),
            KeyValue::new("dirsync.job.outcome", outcome),
        ],
    );
}

/// The change-feed streams of this core and the newest cursor each has sent, for the lag.
#[derive(Debug, Default)]
pub struct Watchers {
    next: AtomicU64,
    streams: Mutex<HashMap<u64, (Uuid, i64)>>,
}

impl Watchers {
    /// Registers a stream of `tenant_id` that starts after cursor `after`; it leaves the
    /// registry when the returned guard is dropped.
    pub fn watch(self: &Arc<Self>, tenant_id: Uuid, after: i64) -> Watching {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.streams.lock() {
            s.insert(id, (tenant_id, after));
        }
        Watching {
            id,
            watchers: self.clone(),
        }
    }

    fn snapshot(&self) -> Vec<(Uuid, i64)> {
        self.streams
            .lock()
            .map(|s| s.values().copied().collect())
            .unwrap_or_default()
    }
}

/// One stream in [`Watchers`].
#[derive(Debug)]
pub struct Watching {
    id: u64,
    watchers: Arc<Watchers>,
}

impl Watching {
    /// The stream handed the change with `cursor` to its client.
    pub fn sent(&self, cursor: i64) {
        if let Ok(mut s) = self.watchers.streams.lock()
            && let Some(entry) = s.get_mut(&self.id)
        {
            entry.1 = cursor;
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Ok(mut s) = self.watchers.streams.lock() {
            s.remove(&self.id);
        }
    }
}

/// What the periodic queries found, read by the gauges' callbacks.
#[derive(Debug, Default)]
struct Snapshot {
    /// Newest committed cursor per tenant that has a stream.
    newest: HashMap<Uuid, i64>,
    /// (tier name, state) -> seats; state is `used`, `pending` or `limit`.
    seats: BTreeMap<(String, &'static str), i64>,
    /// Seconds since the last request of each active connection that has synced before.
    idle: Vec<(Uuid, Uuid, f64)>,
}

/// Tier names become attribute values; past this many, the rest add up under `_other`.
const MAX_TIER_NAMES: usize = 100;
/// How often the store is probed for health.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long a probe may take before the store counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the gauges read from the store are refreshed.
const REFRESH_EVERY: Duration = Duration::from_secs(15);

async fn refresh(db: &DatabaseConnection, watchers: &Watchers, snap: &Mutex<Snapshot>) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ColumnTrait;
    let mut newest = HashMap::new();
    let mut tenants: Vec<Uuid> = watchers.snapshot().into_iter().map(|(t, _)| t).collect();
    tenants.sort();
    tenants.dedup();
    if !tenants.is_empty() {
        let rows: Vec<(Uuid, Option<i64>)> = changes::Entity::find()
            .select_only()
            .column(changes::Column::TenantId)
            .column_as(changes::Column::Seq.max(), "m")
            .filter(changes::Column::TenantId.is_in(tenants))
            .group_by(changes::Column::TenantId)
            .into_tuple()
            .all(db)
            .await?;
        newest.extend(rows.into_iter().filter_map(|(t, m)| Some((t, m?))));
    }

    let tiers: HashMap<Uuid, String> = license_tiers::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let capacity: Vec<(Uuid, i64)> = license_tiers::Entity::find()
        .select_only()
        .column(license_tiers::Column::Id)
        .column(license_tiers::Column::Seats)
        .into_tuple()
        .all(db)
        .await?;
    let held: Vec<(Uuid, String, i64)> = user_licenses::Entity::find()
        .select_only()
        .column(user_licenses::Column::TierId)
        .column(user_licenses::Column::State)
        .column_as(user_licenses::Column::UserId.count(), "n")
        .group_by(user_licenses::Column::TierId)
        .group_by(user_licenses::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let mut names: Vec<&String> = tiers.values().collect();
    names.sort();
    names.dedup();
    names.truncate(MAX_TIER_NAMES);
    let label = |tier: &Uuid| -> String {
        match tiers.get(tier) {
            Some(n) if names.contains(&n) => n.clone(),
            _ => "_other".to_owned(),
        }
    };
    let mut seats = BTreeMap::new();
    for (tier, n) in capacity {
        *seats.entry((label(&tier), "limit")).or_insert(0) += n;
    }
    for (tier, state, n) in held {
        let state = if state == "assigned" { "used" } else { "pending" };
        *seats.entry((label(&tier), state)).or_insert(0) += n;
    }

    let active: Vec<(Uuid, Uuid)> = connections::Entity::find()
        .select_only()
        .column(connections::Column::TenantId)
        .column(connections::Column::Id)
        .filter(connections::Column::EndedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let last: HashMap<Uuid, i64> = sync_log::Entity::find()
        .select_only()
        .column(sync_log::Column::ConnectionId)
        .column_as(sync_log::Column::At.max(), "m")
        .group_by(sync_log::Column::ConnectionId)
        .into_tuple::<(Uuid, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(c, m)| Some((c, m?)))
        .collect();
    let now = dirsync_telemetry::now_ms();
    let idle = active
        .into_iter()
        .filter_map(|(t, c)| last.get(&c).map(|at| (t, c, (now - at).max(0) as f64 / 1000.0)))
        .collect();

    if let Ok(mut s) = snap.lock() {
        *s = Snapshot { newest, seats, idle };
    }
    Ok(())
}

/// The largest gap between a tenant's newest committed cursor and what one of its streams has
/// sent (0 without streams; a stream ahead of a stale `newest` counts as 0).
fn largest_lag(newest: &HashMap<Uuid, i64>, streams: &[(Uuid, i64)]) -> i64 {
    streams
        .iter()
        .map(|(t, sent)| newest.get(t).map_or(0, |n| (n - sent).max(0)))
        .max()
        .unwrap_or(0)
}

fn snapshot_gauges(watchers: Arc<Watchers>, snap: Arc<Mutex<Snapshot>>) -> Vec<ObservableGauge<f64>> {
    let meter = dirsync_telemetry::metrics::meter();
    let lag = {
        let snap = snap.clone();
        let watchers = watchers.clone();
        meter
            .f64_observable_gauge("dirsync.changes.watch.lag")
            .with_unit("{change}")
            .with_description(
                "Largest gap between a tenant's newest committed change and what its Watch stream has sent",
            )
            .with_callback(move |o| {
                let Ok(s) = snap.lock() else { return };
                o.observe(largest_lag(&s.newest, &watchers.snapshot()) as f64, &[]);
            })
            .build()
    };
    let streams = meter
        .f64_observable_gauge("dirsync.changes.watch.streams")
        .with_unit("{stream}")
        .with_description("Open Watch streams of the change feed")
        .with_callback(move |o| o.observe(watchers.snapshot().len() as f64, &[]))
        .build();
    let seats = {
        let snap = snap.clone();
        meter
            .f64_observable_gauge("dirsync.license.seats")
            .with_unit("{seat}")
            .with_description("License seats per tier: used, pending (waiting for a seat) and limit (capacity)")
            .with_callback(move |o| {
                let Ok(s) = snap.lock() else { return };
                for ((tier, state), n) in &s.seats {
                    o.observe(
                        *n as f64,
                        &[
                            KeyValue::new("dirsync.license.tier", tier.clone()),
                            KeyValue::new("dirsync.license.seat.state", *state),
                        ],
                    );
                }
            })
            .build()
    };
    let idle = meter
        .f64_observable_gauge("dirsync.connection.idle.time")
        .with_unit("s")
        .with_description("Seconds since the last SCIM request of a connection that has synced before (the longest, unless connection attributes are on)")
        .with_callback(move |o| {
            let Ok(s) = snap.lock() else { return };
            let mut longest_unnamed: Option<f64> = None;
            for (t, c, secs) in &s.idle {
                let attrs = dirsync_telemetry::metrics::connection_attributes(&t.to_string(), &c.to_string());
                if attrs.is_empty() {
                    longest_unnamed = Some(longest_unnamed.map_or(*secs, |l| l.max(*secs)));
                } else {
                    o.observe(*secs, &attrs);
                }
            }
            if let Some(secs) = longest_unnamed {
                o.observe(secs, &[]);
            }
        })
        .build();
    vec![lag, streams, seats, idle]
}

/// Whether the store answers and every migration this build knows is applied.
async fn probe(db: &DatabaseConnection) -> (bool, bool) {
    let store = matches!(tokio::time::timeout(PROBE_TIMEOUT, db.ping()).await, Ok(Ok(())));
    let migrated = store
        && matches!(
            tokio::time::timeout(PROBE_TIMEOUT, Migrator::get_pending_migrations_read_only(db)).await,
            Ok(Ok(p)) if p.is_empty()
        );
    (store, migrated)
}

/// The health services besides the gRPC services: `dirsync.store` and `dirsync.migrations`.
pub const STORE_HEALTH: &str = "dirsync.store";
pub const MIGRATIONS_HEALTH: &str = "dirsync.migrations";

/// Probes the store every few seconds: while it is down (two failed probes in a row), `grpc.health.v1` reports every
/// service (and the server as a whole, `""`) NOT_SERVING, and SERVING again once it answers.
/// Also refreshes the gauges that are read from the store. Runs until the process stops.
pub fn spawn(db: DatabaseConnection, health: HealthReporter, services: Vec<&'static str>, watchers: Arc<Watchers>) {
    let snap = Arc::new(Mutex::new(Snapshot::default()));
    let store_up = dirsync_telemetry::metrics::meter()
        .u64_gauge("dirsync.store.up")
        .with_description("1 while the core's store answers its probe, else 0")
        .build();
    tokio::spawn(async move {
        let _gauges = (pool_gauges(&db), snapshot_gauges(watchers.clone(), snap.clone()));
        let mut tick = tokio::time::interval(PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut was: Option<bool> = None;
        let mut failures = 0u32;
        let mut refreshed: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            let (store, migrated) = probe(&db).await;
            store_up.record(u64::from(store), &[]);
            let up = store && migrated;
            failures = if up { 0 } else { failures + 1 };
            // One slow probe under load is not an outage: down takes two in a row.
            if was == Some(true) && failures == 1 {
                continue;
            }
            if was != Some(up) {
                let status = |ok: bool| {
                    if ok {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    }
                };
                for name in services.iter().copied().chain([""]) {
                    health.set_service_status(name, status(up)).await;
                }
                health.set_service_status(STORE_HEALTH, status(store)).await;
                health.set_service_status(MIGRATIONS_HEALTH, status(migrated)).await;
                match (was, up) {
                    (Some(_), false) => tracing::error!(
                        store,
                        migrated,
                        "store unreachable or not migrated: reporting NOT_SERVING"
                    ),
                    (Some(false), true) => tracing::info!("store reachable again: reporting SERVING"),
                    _ => {}
                }
                was = Some(up);
            }
            if store && refreshed.is_none_or(|at| at.elapsed() >= REFRESH_EVERY) {
                refreshed = Some(tokio::time::Instant::now());
                if let Err(e) = refresh(&db, &watchers, &snap).await {
                    tracing::warn!(error = %e, "reading metrics from the store failed");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use uuid::Uuid;

    use super::{Watchers, largest_lag, operation};

    #[test]
    fn lag_is_the_largest_gap_of_an_open_stream() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let newest = HashMap::from([(a, 120), (b, 40)]);
        let watchers = Arc::new(Watchers::default());
        assert_eq!(largest_lag(&newest, &watchers.snapshot()), 0, "no stream, no lag");
        let slow = watchers.watch(a, 0);
        let fast = watchers.watch(b, 0);
        slow.sent(100);
        fast.sent(40);
        assert_eq!(largest_lag(&newest, &watchers.snapshot()), 20);
        drop(slow);
        assert_eq!(largest_lag(&newest, &watchers.snapshot()), 0, "a closed stream leaves");
        fast.sent(45);
        assert_eq!(
            largest_lag(&newest, &watchers.snapshot()),
            0,
            "ahead of a stale newest: 0"
        );
    }

    #[test]
    fn statements_name_operation_and_table() {
        for (sql, op, table) in [
            (
                r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1"#,
                "SELECT",
                Some("users"),
            ),
            (r#"INSERT INTO "changes" ("id") VALUES (?)"#, "INSERT", Some("changes")),
            (r#"UPDATE "groups" SET "x" = $1"#, "UPDATE", Some("groups")),
            (r#"DELETE FROM "sync_log" WHERE 1"#, "DELETE", Some("sync_log")),
            ("SELECT 1", "SELECT", None),
            ("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA", None),
            ("select count(*) from (SELECT 1) AS t", "SELECT", None),
        ] {
            assert_eq!(operation(sql), (op.to_owned(), table.map(str::to_owned)), "{sql}");
        }
    }
}
