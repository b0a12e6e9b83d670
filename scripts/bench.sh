#!/usr/bin/env bash
# Reproducible benchmark of a fresh `dirsync serve` (release build) with dirsync-loadgen:
#   1. seed N users over gRPC (Directory/CreateUser),
#   2. GET /Users?filter=userName eq "<random user>" (throughput, p50/p90/p99/max),
#   3. one SCIM PATCH adding M members to a fresh group, R rounds, verified by GET,
#   4. Directory/GetEntitlements for random users while W SCIM writers PATCH users,
#   5. the change feed's delay after an acknowledged SCIM write.
#
#   scripts/bench.sh                 # PostgreSQL: a fresh database on $BENCH_PG_URL, dropped at the end
#   scripts/bench.sh --sqlite        # SQLite file in a temporary directory
#   scripts/bench.sh --users 10000 --requests 1000 --no-build
#
# Options: --postgres | --sqlite, --users N (100000), --seed-concurrency C (16),
#   --requests R (5000), --concurrency C (8), --members M (10000), --rounds R (3),
#   --no-build (use the binaries already built), --out FILE (also write the JSON lines there),
#   --entitlements N (5000; 0 skips), --writers W (2; SCIM writers during the entitlement reads),
#   --feed-events N (200; 0 skips the change-feed delay), --members 0 (skips the group PATCH),
#   --server-arg ARG (repeatable; e.g. --server-arg --sync-log=false to measure without the sync log).
# Environment: CARGO_TARGET_DIR (where the binaries are; default ./target),
#   BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432, trust auth, may CREATE DATABASE).
#   DIRSYNC_SERVICE_KEY (sent to the core as gRPC `authorization: Bearer …`; default: the
#   `admin` line of the service-keys file the server writes into its temporary data directory).
# Only the server this script starts is stopped (by its PID); everything talks to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

store=postgres
users=100000
seed_concurrency=16
feed_events=200
entitlement_requests=5000
writers=2
server_args=()
requests=5000
concurrency=8
members=10000
rounds=3
build=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) store=postgres ;;
    --sqlite) store=sqlite ;;
    --users) users=$2; shift ;;
    --seed-concurrency) seed_concurrency=$2; shift ;;
    --requests) requests=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --members) members=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --no-build) build=0 ;;
    --feed-events) feed_events=$2; shift ;;
    --entitlements) entitlement_requests=$2; shift ;;
    --writers) writers=$2; shift ;;
    --server-arg) server_args+=("$2"); shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

target=${CARGO_TARGET_DIR:-target}
if [ "$build" = 1 ]; then
  cargo build --release --workspace
fi
bin="$target/release/dirsync"
loadgen="$target/release/dirsync-loadgen"
for b in "$bin" "$loadgen"; do
  [ -x "$b" ] || { echo "missing $b: build with cargo build --release --workspace" >&2; exit 1; }
done

work=$(mktemp -d)
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
pg_url=${pg_url%/}
db=""
pid=""
cleanup() {
  status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$db" ]; then
    psql -q "$pg_url/postgres" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$work/serve.err" ]; then
    echo "--- server stderr (last lines) ---" >&2
    tail -n 20 "$work/serve.err" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$store" in
  postgres)
    db="dirsync_bench_$(date +%s)_$$"
    psql -q "$pg_url/postgres" -c "CREATE DATABASE \"$db\"" >/dev/null
    database_url="$pg_url/$db"
    ;;
  sqlite)
    database_url="sqlite://$work/dirsync.db?mode=rwc"
    ;;
esac

# The per-connection rate limit (where the binary has one) is off: we measure the service.
extra=()
if "$bin" serve --help 2>/dev/null | grep -q -- '--rate-limit '; then extra+=(--rate-limit 0); fi
"$bin" serve --data-dir "$work" --database-url "$database_url" --scim-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 \
  --max-body-bytes 8388608 "${extra[@]}" "${server_args[@]}" >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 1 300); do
  grep -q 'Secret token:' "$work/serve.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "dirsync serve exited" >&2; exit 1; }
  sleep 0.2
done
url=$(sed -n 's/.*Tenant URL: *//p' "$work/serve.out")
token=$(sed -n 's/.*Secret token: *//p' "$work/serve.out")
core=$(sed -n 's/.*gRPC core: *//p' "$work/serve.out")
[ -n "$url" ] && [ -n "$token" ] && [ -n "$core" ] || { echo "could not read the server's URLs:" >&2; cat "$work/serve.out" >&2; exit 1; }
tenant=${url##*/}
# Where the core wants service keys, `serve` writes them to <data-dir>/service-keys: use `admin`'s.
if [ -z "${DIRSYNC_SERVICE_KEY:-}" ] && [ -f "$work/service-keys" ]; then
  DIRSYNC_SERVICE_KEY=$(sed -n 's/^admin=//p' "$work/service-keys")
  export DIRSYNC_SERVICE_KEY
fi

echo "== dirsync bench: store $store, $users users, $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), server PID $pid, SCIM $url, gRPC $core"
echo "== server flags: ${server_args[*]:-(defaults)}"
echo

results="$work/results.jsonl"
status=0
run() {
  # Prints the table, keeps the JSON line (the last line) for the summary.
  local log="$work/step.log"
  "$loadgen" --json "$@" >"$log" || status=1
  sed '$d' "$log"
  tail -n 1 "$log" >>"$results"
}

export DIRSYNC_SCIM_TOKEN="$token"
run seed --core-url "$core" --tenant "$tenant" --users "$users" --concurrency "$seed_concurrency"
run scim-filter --base "$url" --users "$users" --requests "$requests" --concurrency "$concurrency"
if [ "$members" -gt 0 ]; then
  run group-patch --base "$url" --core-url "$core" --tenant "$tenant" --members "$members" --rounds "$rounds"
fi
if [ "$entitlement_requests" -gt 0 ]; then
  run entitlements --base "$url" --core-url "$core" --tenant "$tenant" --users "$users" \
    --requests "$entitlement_requests" --concurrency "$concurrency" --writers "$writers"
fi
if [ "$feed_events" -gt 0 ]; then
  run feed-delay --base "$url" --core-url "$core" --tenant "$tenant" --events "$feed_events"
fi

echo "== server: peak RSS $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || echo '?')"
echo "== JSON results"
cat "$results"
if [ -n "$out" ]; then cp "$results" "$out"; fi
exit "$status"
