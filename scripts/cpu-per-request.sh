#!/usr/bin/env bash
# CPU cost per request of `dirsync serve` on its defaults (docs/benchmarks.md, "Session 5"):
# the server's user+system CPU time (from /proc) over a wrk run of the shared bench's
# scenarios, divided by the requests answered 2xx. Less sensitive to other load on the
# machine than req/s.
#
#   scripts/cpu-per-request.sh BINARY pg|sqlite
#
# Env: BENCH (the shared bench folder), USERS (2000), DURATION (10: seconds), CONNECTIONS (4),
#      SCENARIOS ("get_user filter_username patch_user create_users list_users"),
#      PG (postgres://postgres@127.0.0.1:5432), PERF_DIR (when set, `perf record` samples each
#      measured run with DWARF call graphs into PERF_DIR/SCENARIO-BACKEND.data; its own
#      overhead then inflates the CPU figures, so measure and profile in separate runs),
#      CALLGRIND=1 (run the server under valgrind's callgrind and report instructions per
#      request, counted only during each measured run: steadier than CPU time on a shared
#      machine; about 50x slower, so use few USERS and CONNECTIONS=2)
set -euo pipefail
bin="$(realpath "${1:?binary}")"; backend="${2:?pg or sqlite}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bench="${BENCH:-$here/../shared/bench}"
users="${USERS:-2000}"; secs="${DURATION:-10}"; conns="${CONNECTIONS:-4}"
scenarios="${SCENARIOS:-get_user filter_username patch_user create_users list_users}"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
work="$(mktemp -d)"; db=""; pid=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$db" ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
envs=(DIRSYNC_UNUSED=1)
if [ "$backend" = pg ]; then
  db="dirsync_cpu_$$_$RANDOM"; psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
  envs=(DATABASE_URL="$pg/$db")
fi
run=("$bin")
if [ -n "${CALLGRIND:-}" ]; then
  run=(valgrind -q --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" "$bin")
fi
env "${envs[@]}" "${run[@]}" serve --data-dir "$work/data" --scim-addr "127.0.0.1:$(free_port)" \
  --grpc-addr "127.0.0.1:$(free_port)" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1500); do grep -q "Secret token" "$work/serve.log" && break; sleep 0.2; done
url=$(grep -oE "http://[^ ]*/scim/v2/[A-Za-z0-9-]+" "$work/serve.log" | head -1)
token=$(grep -oE "dsy_[A-Za-z0-9_-]+" "$work/serve.log" | head -1)
[ -n "$token" ] || { cat "$work/serve.log" >&2; exit 1; }
python3 "$bench/scenarios/seed.py" --base-url "$url" --token "$token" --ids-dir "$work/ids" \
  --users "$users" --groups 0 >/dev/null
export IDS_DIR="$work/ids" TOKEN="$token"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for scenario in $scenarios; do
  CONNECTIONS=1 DURATION=2s "$bench/scenarios/run.sh" "$scenario" "$url" >/dev/null
  load=$(cut -d' ' -f1 /proc/loadavg)
  before=$(ticks)
  if [ -n "${CALLGRIND:-}" ]; then callgrind_control -z "$pid" >/dev/null 2>&1; callgrind_control -i on "$pid" >/dev/null 2>&1; fi
  if [ -n "${PERF_DIR:-}" ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -F 299 -e cpu-clock --call-graph dwarf,32768 -p "$pid" \
      -o "$PERF_DIR/$scenario-$backend.data" -- sleep "$secs" 2>/dev/null &
    prof=$!
  fi
  line=$(CONNECTIONS="$conns" DURATION="${secs}s" "$bench/scenarios/run.sh" "$scenario" "$url" | sed -n 's/^RESULT //p')
  after=$(ticks)
  ir=0
  if [ -n "${CALLGRIND:-}" ]; then
    callgrind_control -i off "$pid" >/dev/null 2>&1; rm -f "$work"/cg.out.*; callgrind_control -d "$pid" >/dev/null 2>&1
    ir=$(cat "$work"/cg.out.* 2>/dev/null | sed -n 's/^totals: *//p' | awk '{s += $1} END {print s + 0}')
  fi
  [ -n "${prof:-}" ] && { wait "$prof" || true; prof=""; }
  python3 - "$scenario" "$backend" "$before" "$after" "$hz" "$load" "$line" "$ir" <<'PY'
import json, sys
scenario, backend, before, after, hz, load, line, ir = sys.argv[1:]
r = json.loads(line)
ok = r["requests"] - r["non2xx"]
cpu_us = (int(after) - int(before)) / int(hz) * 1e6
cost = f"{cpu_us / max(ok, 1):8.0f} us/request" if ir == "0" else f"{int(ir) / max(ok, 1) / 1e6:8.2f} M instructions/request"
print(f"CPU {backend:6} {scenario:16} {cost}  "
      f"({ok} ok, {r['non2xx']} non-2xx, {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, load {load})")
PY
done
