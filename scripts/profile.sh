#!/usr/bin/env bash
# CPU profile of `dirsync serve` under the shared bench's wrk scenarios, as flame graphs
# (docs/benchmarks.md, "Profile"). Run it as root or with perf_event_paranoid <= 1.
#
#   scripts/profile.sh BINARY pg|sqlite LABEL
#
# Writes OUT/flame-LABEL-BACKEND-SCENARIO.svg, and prints per scenario the wrk
# RESULT line, the load average before the run and the top frames by self time and the share
# of samples per area (a sample counts for an area when any frame of its stack matches).
# Build BINARY with frame pointers and line tables, in its own target dir:
#   CARGO_PROFILE_RELEASE_DEBUG=line-tables-only RUSTFLAGS="-C force-frame-pointers=yes" \
#     cargo build --release -p dirsync --target-dir target-prof
# Env: BENCH (the shared bench folder: scenarios/run.sh, scenarios/seed.py), OUT
#      (docs/benchmarks), USERS (2000), DURATION (15: seconds), CONNECTIONS (16),
#      SCENARIOS ("get_user create_users"), FREQ (499 Hz), PG (postgres://postgres@127.0.0.1:5432),
#      PG_QUERY (appended to the database URL, e.g. "?sslmode=prefer")
# Needs perf, wrk, python3, inferno-collapse-perf and inferno-flamegraph (cargo install inferno).
set -euo pipefail
bin="$(realpath "${1:?binary}")"; backend="${2:?pg or sqlite}"; label="${3:?label}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bench="${BENCH:-$here/../shared/bench}"; out="${OUT:-$here/docs/benchmarks}"
users="${USERS:-2000}"; secs="${DURATION:-15}"; conns="${CONNECTIONS:-16}"
scenarios="${SCENARIOS:-get_user create_users}"; freq="${FREQ:-499}"; pg="${PG:-postgres://postgres@127.0.0.1:5432}"
mkdir -p "$out"
work="$(mktemp -d)"; db=""; pid=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$db" ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
envs=()
if [ "$backend" = pg ]; then
  db="dirsync_prof_$$_$RANDOM"; psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
  envs=(DATABASE_URL="$pg/$db${PG_QUERY:-}")
fi
env "${envs[@]}" "$bin" serve --data-dir "$work/data" --scim-addr "127.0.0.1:$(free_port)" \
  --grpc-addr "127.0.0.1:$(free_port)" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 150); do grep -q "Secret token" "$work/serve.log" && break; sleep 0.2; done
url=$(grep -oE "http://[^ ]*/scim/v2/[A-Za-z0-9-]+" "$work/serve.log" | head -1)
token=$(grep -oE "dsy_[A-Za-z0-9_-]+" "$work/serve.log" | head -1)
[ -n "$token" ] || { cat "$work/serve.log" >&2; exit 1; }
python3 "$bench/scenarios/seed.py" --base-url "$url" --token "$token" --ids-dir "$work/ids" \
  --users "$users" --groups 0 >/dev/null
export IDS_DIR="$work/ids" TOKEN="$token"
for scenario in $scenarios; do
  CONNECTIONS=1 DURATION=3s "$bench/scenarios/run.sh" "$scenario" "$url" >/dev/null
  echo "== $label $backend $scenario: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  perf record -q -F "$freq" -e cpu-clock -g -p "$pid" -o "$work/perf.data" -- sleep "$secs" 2>/dev/null &
  prof=$!
  CONNECTIONS="$conns" DURATION="${secs}s" "$bench/scenarios/run.sh" "$scenario" "$url" | grep '^RESULT'
  wait "$prof" || true
  name="flame-$label-$backend-$scenario"
  perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf > "$work/$name.folded"
  inferno-flamegraph --title "dirsync serve ($label), $backend, $scenario, $conns connections" \
    < "$work/$name.folded" > "$out/$name.svg"
  python3 - "$work/$name.folded" <<'PY'
import collections, sys
self_, total = collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = stack.split(";")
    self_[frames[-1]] += n
AREAS = {
    "HTTP/2 (h2)": ["h2::"],
    "SCIM edge (dirsync_edge)": ["dirsync_edge::"],
    "core services (dirsync_core::service)": ["dirsync_core::service"],
    "tonic transport (Channel, server)": ["tonic::transport"],
    "TLS (rustls)": ["rustls"],
    "tracing + OpenTelemetry": ["tracing_subscriber", "tracing_opentelemetry", "opentelemetry_sdk", "tracing_core"],
    "allocator (glibc malloc/free)": ["malloc", "_int_free", "cfree", "realloc", "unlink_chunk"],
    "sqlx PostgreSQL": ["sqlx_postgres"],
    "sqlx SQLite": ["sqlx_sqlite", "sqlite3"],
    "sea-orm": ["sea_orm::", "sea_query"],
    "JSON (serde_json)": ["serde_json"],
    "protobuf (prost)": ["prost::"],
    "kernel/syscalls": ["entry_SYSCALL", "syscall"],
}
area = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    for name, keys in AREAS.items():
        if any(k in stack for k in keys):
            area[name] += int(n)
print(f"CPU time sampled: {total / 1e9:.1f} s")
print("by area (inclusive):")
for name, n in area.most_common():
    print(f"  {100 * n / total:5.1f}%  {name}")
print("top self:")
for f, n in self_.most_common(15):
    print(f"  {100 * n / total:5.1f}%  {f[:150]}")
PY
done
