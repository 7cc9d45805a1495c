#!/usr/bin/env bash
# PostgreSQL beside SQLite (issue 16): the same commands on the same data,
# timed with hyperfine; the release binary, a local server.
#
#   scripts/bench-pg.sh [ADMIN_URL]
#
# ADMIN_URL (default $ESCALATE_TEST_PG, else the local server over TCP) must
# be allowed to create databases. Builds, in $BENCH_DIR (default
# /tmp/escalate-bench-pg):
#   big1.db   1,000,000 open issues, 1 % due    -> check, create, report
#   k10.db    10,000 open issues, 100 % due      -> four checkers at once
# BENCH_REUSE=1 keeps PostgreSQL copies made by an earlier run.
# copies each into PostgreSQL with `escalate migrate --to` (timed), keeps the
# copy as a template, and gives every run that writes a fresh database
# (`CREATE DATABASE … TEMPLATE …`, untimed; the SQLite side a fresh file).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ADMIN=${1:-${ESCALATE_TEST_PG:-postgres://postgres@127.0.0.1/postgres?sslmode=disable}}
DIR=${BENCH_DIR:-/tmp/escalate-bench-pg}
NOW=${BENCH_NOW:-2026-11-02T09:00:00Z}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/escalate
WL=$TARGET/release/examples/workload
CFG=$ROOT/chains.toml
mkdir -p "$DIR/results"
say() { printf '\n== %s\n' "$*" >&2; }
url() { printf '%s' "$ADMIN" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\\1/$1#"; }
sql() { psql "$ADMIN" -qAtc "$1"; }

command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --locked --bin escalate --example workload >&2

for spec in "big1 1000000 0.01" "k10 10000 1.0"; do
    set -- $spec
    if [ ! -f "$DIR/$1.db" ]; then
        say "generating $1"
        "$WL" --db "$DIR/$1.db" --open "$2" --due-fraction "$3" --now "$NOW" --config "$CFG" --force >&2
    fi
    if [ -n "${BENCH_REUSE:-}" ] && [ "$(sql "SELECT count(*) FROM pg_database WHERE datname = 'bench_$1'")" = 1 ]; then
        continue
    fi
    say "migrate $1 into PostgreSQL (bench_$1)"
    sql "DROP DATABASE IF EXISTS bench_$1" && sql "CREATE DATABASE bench_$1"
    cp "$DIR/$1.db" "$DIR/$1.src.db"
    /usr/bin/time -f "migrate $1: %e s, %M KB" "$BIN" --config "$CFG" --db "$DIR/$1.src.db" \
        migrate --to "$(url "bench_$1")" > "$DIR/results/migrate-$1.txt" 2> "$DIR/results/migrate-$1.time"
    cat "$DIR/results/migrate-$1.time" >&2
    rm -f "$DIR/$1.src.db"*
    # The template: no connections may be open on it while copied.
done

fresh_pg() { sql "DROP DATABASE IF EXISTS bench_run" && sql "CREATE DATABASE bench_run TEMPLATE bench_$1"; }
fresh_lite() { cp "$DIR/$1.db" "$DIR/run.db"; rm -f "$DIR/run.db-wal" "$DIR/run.db-shm"; sync; }
export -f fresh_pg fresh_lite sql
export ADMIN DIR
RUN_PG=$(url bench_run)

say "check, 1 M open, 1 % due"
hyperfine --shell=bash --runs 5 --export-markdown "$DIR/results/check-1m.md" \
    --prepare "fresh_lite big1" -n sqlite "$BIN --config $CFG --db $DIR/run.db --now $NOW check > /dev/null" \
    --prepare "fresh_pg big1" -n postgres "$BIN --config $CFG --db '$RUN_PG' --now $NOW check > /dev/null"

say "report --days 7 and create, 1 M open"
fresh_lite big1; fresh_pg big1
# The first report folds the rollups (both sides); time the ones after.
"$BIN" --config "$CFG" --db "$DIR/run.db" --now "$NOW" report --days 7 > /dev/null
"$BIN" --config "$CFG" --db "$RUN_PG" --now "$NOW" report --days 7 > /dev/null
hyperfine --shell=bash --warmup 1 --runs 5 --export-markdown "$DIR/results/report-1m.md" \
    -n sqlite "$BIN --config $CFG --db $DIR/run.db --now $NOW report --days 7" \
    -n postgres "$BIN --config $CFG --db '$RUN_PG' --now $NOW report --days 7"
hyperfine --shell=bash --warmup 3 --runs 30 --export-markdown "$DIR/results/create-1m.md" \
    -n sqlite "$BIN --config $CFG --db $DIR/run.db --now $NOW create --chain customer_issue --title bench" \
    -n postgres "$BIN --config $CFG --db '$RUN_PG' --now $NOW create --chain customer_issue --title bench"

say "four checkers at once, 10,000 due (PostgreSQL), against one"
four() {
    for h in a b c d; do
        ESCALATE_HOSTNAME=$h "$BIN" --config "$CFG" --db "$RUN_PG" --now "$NOW" check > /dev/null &
    done
    wait
}
export -f four
export BIN CFG RUN_PG NOW
hyperfine --shell=bash --runs 3 --export-markdown "$DIR/results/checkers-k10.md" \
    --prepare "fresh_pg k10" -n "1 checker" "$BIN --config $CFG --db '$RUN_PG' --now $NOW check > /dev/null" \
    --prepare "fresh_pg k10" -n "4 checkers" "bash -c four"
psql "$RUN_PG" -qAtc "SELECT host, count(*), sum(examined) FROM runs GROUP BY host ORDER BY host" \
    > "$DIR/results/checkers-k10-hosts.txt"
say "one checker against four, 2,000 due, webhooks to a receiver that takes 100 ms an answer"
python3 - 18555 0.1 <<'PY' &
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(float(sys.argv[2]))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
receiver=$!
sed 's#^\(\[roles\.[a-z_]*\]\)$#\1\nwebhook = "http://127.0.0.1:18555/hook"#' "$CFG" > "$DIR/hooks.toml"
[ -f "$DIR/k2.db" ] || "$WL" --db "$DIR/k2.db" --open 2000 --due-fraction 1.0 --now "$NOW" --config "$DIR/hooks.toml" --force >&2
sql "DROP DATABASE IF EXISTS bench_k2" && sql "CREATE DATABASE bench_k2"
cp "$DIR/k2.db" "$DIR/k2.src.db"
"$BIN" --config "$DIR/hooks.toml" --db "$DIR/k2.src.db" migrate --to "$(url bench_k2)" > /dev/null
rm -f "$DIR/k2.src.db"*
for n in 1 4 1 4 1 4; do
    fresh_pg k2
    start=$(date +%s.%N)
    for h in $(seq 1 "$n"); do
        ESCALATE_HOSTNAME=h$h "$BIN" --config "$DIR/hooks.toml" --db "$RUN_PG" --now "$NOW" check > /dev/null 2>&1 &
    done
    wait $(jobs -p | grep -v "^$receiver$")
    end=$(date +%s.%N)
    echo "$n checker(s): $(echo "$end - $start" | bc) s; examined per host: $(psql "$RUN_PG" -qAtc \
        "SELECT string_agg(host || ' ' || examined, ', ' ORDER BY host) FROM runs WHERE host IS NOT NULL")"
done | tee "$DIR/results/checkers-hooks.txt"
kill "$receiver"
sql "DROP DATABASE IF EXISTS bench_run"
cat "$DIR"/results/*.md "$DIR"/results/*.time "$DIR"/results/*.txt
