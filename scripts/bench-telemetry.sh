#!/usr/bin/env bash
# What telemetry costs: SCIM GET (filter lookup) and POST (create) throughput of a release
# `dirsync serve` on SQLite, measured with wrk, in three configurations, alternating, N rounds:
#   off      OTEL_TRACES_SAMPLER=always_off, no OTLP export, no --metrics-addr
#   default  no OTEL_* variables: spans are made (trace ids for the sync log) but not exported
#   on       traces and metrics exported over OTLP to examples/otlp_sink, --metrics-addr scraped every 5 s
#
#   scripts/bench-telemetry.sh [--rounds 3] [--duration 15] [--connections 8] [--no-build]
# Needs wrk (apt-get install wrk). Starts and stops (by PID) only its own processes; loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 duration=15 connections=8 build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --no-build) build=0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
target="${CARGO_TARGET_DIR:-target}"
if [ "$build" = 1 ]; then cargo build --release --workspace --examples; fi
bin="$target/release/dirsync" sink_bin="$target/release/examples/otlp_sink"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sink_addr="127.0.0.1:$(port)"
"$sink_bin" "$sink_addr" >"$work/sink.out" 2>&1 &
pids+=($!)

cat >"$work/post.lua" <<'LUA'
local counter = 0
function setup(thread)
  thread:set("tid", math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  return wrk.format("POST", nil, nil, string.format('{"userName":"b%d-%d@example.com"}', tid, counter))
end
LUA

# run CONFIG KIND: one wrk run against a fresh server; prints requests/s.
run() {
  local config=$1 kind=$2 dir="$work/$1-$2-$RANDOM"
  mkdir -p "$dir"
  local env=(env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_TRACES_SAMPLER RUST_LOG=warn) args=()
  case "$config" in
    off) env+=(OTEL_TRACES_SAMPLER=always_off) ;;
    on) env+=(OTEL_EXPORTER_OTLP_ENDPOINT="http://$sink_addr") args+=(--metrics-addr 127.0.0.1:0) ;;
  esac
  "${env[@]}" "$bin" serve --data-dir "$dir" --scim-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 \
    --rate-limit 0 "${args[@]}" >"$dir/out" 2>"$dir/err" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q 'Secret token:' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local url token metrics scraper=""
  url=$(sed -n 's/.*Tenant URL: *//p' "$dir/out")
  token=$(sed -n 's/.*Secret token: *//p' "$dir/out")
  metrics=$(sed -n 's/.*metrics: *//p' "$dir/out")
  if [ -n "$metrics" ]; then
    (while true; do curl -s -o /dev/null "$metrics"; sleep 5; done) &
    scraper=$!
  fi
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
    -d '{"userName":"seed@example.com"}' "$url/Users"
  local rps
  if [ "$kind" = get ]; then
    rps=$(wrk -t2 -c"$connections" -d"${duration}s" -H "Authorization: Bearer $token" \
      "$url/Users?filter=userName%20eq%20%22seed%40example.com%22" | sed -n 's/^Requests\/sec: *//p')
  else
    rps=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$work/post.lua" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/scim+json' "$url/Users" | sed -n 's/^Requests\/sec: *//p')
  fi
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$rps"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "== commit $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg), wrk -t2 -c$connections -d${duration}s, $rounds rounds"
declare -A results
for r in $(seq 1 "$rounds"); do
  for kind in get post; do
    for config in off default on; do
      v=$(run "$config" "$kind")
      results[$config-$kind]+="$v "
      echo "round $r $kind $config: $v req/s"
    done
  done
done
sleep 11
echo "== the OTLP sink received (the 'on' runs): $(tail -n 1 "$work/sink.out")"
echo "== medians (req/s) and ratio to off; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in get post; do
  off=$(echo "${results[off-$kind]}" | tr ' ' '\n' | grep . | median)
  for config in off default on; do
    m=$(echo "${results[$config-$kind]}" | tr ' ' '\n' | grep . | median)
    printf '%-4s %-8s %10s  %s\n' "$kind" "$config" "$m" "$(awk -v a="$m" -v b="$off" 'BEGIN {printf "%.3f", a/b}')"
  done
done
