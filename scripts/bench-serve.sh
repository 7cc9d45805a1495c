#!/usr/bin/env bash
# `escalate serve` under load, on loopback: POST /ingest (one new ticket
# per request, each with its own event id, so every request creates an
# issue and pages level 1) and GET / (the board). Needs wrk (apt install
# wrk). Prints wrk's summary with latency percentiles.
#
#   scripts/bench-serve.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-8}
cargo build --release --locked --quiet
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
bin=$target/release/escalate
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
cat > chains.toml <<'TOML'
[server]
ingest_token = "bench-token"

[chains.support]
response_hours = 8
levels = [ { role = "agent", wait_hours = 4 }, { role = "lead", wait_hours = 8 } ]

[roles.agent]
[roles.lead]

[[routes]]
name = "all"
chain = "support"
TOML
"$bin" init >/dev/null 2>&1
"$bin" serve --listen 127.0.0.1:18099 >/dev/null 2>&1 &
pid=$!
sleep 1
cat > ingest.lua <<'LUA'
-- Each thread gets its own number (setup runs in the main state), so
-- the two threads never send the same ticket.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench-token"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local id = tostring(tid) .. "-" .. n
  local body = string.format(
    '{"type":"ticket.created","source":"bench","external_id":"%s","title":"Load test %s","id":"e-%s"}',
    id, id, id)
  return wrk.format(nil, "/ingest", nil, body)
end
LUA
echo "== POST /ingest, one new ticket per request, ${conns} connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s ingest.lua http://127.0.0.1:18099/
echo "issues created: $("$bin" list --status all --limit 0 --json | grep -c '"id"' || true)"
echo "== GET / (the board, $(( $("$bin" list --limit 0 --json | grep -c '"id"' || true) )) open issues), ${conns} connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency http://127.0.0.1:18099/
