#!/usr/bin/env bash
# Boots `dirsync serve` on a fresh SQLite store (or DATABASE_URL) and runs scim2-tester
# against it. Needs target/debug/dirsync (cargo build --workspace) and a venv in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import scim2_tester' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'scim2-tester[httpx2]==0.5.2'
fi
data=$(mktemp -d)
out="$data/serve.log"
# The checker sends requests as fast as it can and does not retry on 429: the per-connection
# rate limit (tested on its own in tests/e2e/synclog.rs) is off for this run.
./target/debug/dirsync serve --data-dir "$data" --scim-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 --rate-limit 0 \
  >"$out" 2>"$data/stderr.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q 'Secret token:' "$out" && break; sleep 0.2; done
url=$(sed -n 's/.*Tenant URL: *//p' "$out")
token=$(sed -n 's/.*Secret token: *//p' "$out")
[ -n "$url" ] && [ -n "$token" ] || { echo "dirsync did not start:"; cat "$out" "$data/stderr.log"; exit 1; }
"$venv/bin/python" scripts/conformance.py "$url" "$token"
