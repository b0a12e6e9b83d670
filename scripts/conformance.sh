#!/usr/bin/env bash
# Boots `dirsync serve` exactly as the README starts it (no flag but where its store and
# ports are) and runs two independent SCIM suites against it: scim2-tester and scim-sanity.
#   scripts/conformance.sh sqlite     a fresh SQLite store (the default store)
#   scripts/conformance.sh postgres   a fresh PostgreSQL database on TEST_DATABASE_URL's server
# Needs target/debug/dirsync (cargo build --workspace); installs the suites in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
store="${1:-sqlite}"
venv=.venv
if ! "$venv/bin/python" -c 'import scim2_tester, scim_sanity' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'scim2-tester[httpx2]==0.5.2' 'scim-sanity==0.7.4'
fi
data=$(mktemp -d)
out="$data/serve.log"
db_args=()
pg_admin=""
pg_db=""
case "$store" in
  sqlite) ;;
  postgres)
    pg_admin="${TEST_DATABASE_URL:?TEST_DATABASE_URL names the PostgreSQL server}"
    pg_db="dirsync_conformance_$(date +%s)_$$"
    psql "$pg_admin" -qc "create database $pg_db" >/dev/null
    db_args=(--database-url "${pg_admin%/*}/$pg_db")
    ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
./target/debug/dirsync serve --data-dir "$data" "${db_args[@]}" --scim-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 \
  >"$out" 2>"$data/stderr.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -n "$pg_db" ]; then psql "$pg_admin" -qc "drop database if exists $pg_db with (force)" >/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 150); do grep -q 'Secret token:' "$out" && break; sleep 0.2; done
url=$(sed -n 's/.*Tenant URL: *//p' "$out")
token=$(sed -n 's/.*Secret token: *//p' "$out")
[ -n "$url" ] && [ -n "$token" ] || { echo "dirsync did not start:"; cat "$out" "$data/stderr.log"; exit 1; }
"$venv/bin/python" scripts/conformance.py "$url" "$token" "$store"
