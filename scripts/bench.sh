#!/usr/bin/env bash
# Whole-process benchmarks: the release `escalate` binary, run as cron and
# operators run it, on databases built by `examples/workload.rs`, timed with
# hyperfine (warm page cache; a command that writes gets a fresh copy of its
# database before every run).
#
#   scripts/bench.sh                 # everything, ~10 minutes on 2 cores
#   BENCH_DIR=/big/disk scripts/bench.sh
#
# Environment:
#   BENCH_DIR            work dir: databases, copies, results (default /tmp/escalate-bench)
#   BENCH_BIG            open issues of the big database (default 1000000)
#   BENCH_BIG_RESOLVED   resolved issues beside them (default 200000)
#   BENCH_MID            open issues of the databases with due work (default 100000)
#   BENCH_NOW            the instant every command runs at (default 2026-11-02T09:00:00Z)
#   BENCH_REPORT_TIMEOUT seconds one `report` may take before it is reported as
#                        too slow instead of timed (default 120)
#
# Results: $BENCH_DIR/results/*.md and *.json (hyperfine exports) and
# $BENCH_DIR/results/summary.md (all tables, peak RSS of `report`).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-/tmp/escalate-bench}
BIG=${BENCH_BIG:-1000000}
BIG_RESOLVED=${BENCH_BIG_RESOLVED:-200000}
MID=${BENCH_MID:-100000}
NOW=${BENCH_NOW:-2026-11-02T09:00:00Z}
REPORT_TIMEOUT=${BENCH_REPORT_TIMEOUT:-120}
RES=$BENCH_DIR/results
WORK=$BENCH_DIR/work
mkdir -p "$RES" "$WORK"
rm -f "$RES"/*.md "$RES"/*.json "$RES"/*.txt

say() { printf '\n== %s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    $SUDO apt-get install -y "$@" >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y "$@" >/dev/null 2>&1; }
}
if ! command -v hyperfine >/dev/null 2>&1; then
    say "installing hyperfine"
    apt_install hyperfine || cargo install --locked hyperfine
fi
if [ ! -x /usr/bin/time ]; then
    say "installing time (for peak RSS)"
    apt_install time || echo "warning: /usr/bin/time unavailable: no peak RSS" >&2
fi

# --- build ---------------------------------------------------------------
say "building (release)"
cargo build --release --locked --examples --bins
# Private copies: a rebuild in the shared target dir mid-run cannot swap them.
mkdir -p "$BENCH_DIR/bin"
cp "$ROOT/target/release/escalate" "$ROOT/target/release/examples/workload" "$BENCH_DIR/bin/"
BIN=$BENCH_DIR/bin/escalate
GEN=$BENCH_DIR/bin/workload

# The starter chains: roles without contacts, so every notification goes to
# the console (stdout), which hyperfine sends to /dev/null.
CONFIG=$BENCH_DIR/chains.toml
cp "$ROOT/chains.toml" "$CONFIG"
if grep -Eq '^[[:space:]]*(email|slack|webhook)[[:space:]]*=' "$CONFIG"; then
    echo "error: $CONFIG has network contacts; the benchmarks need console-only roles" >&2
    exit 1
fi
E="$BIN --config $CONFIG --now $NOW"

# --- databases -----------------------------------------------------------
say "generating databases"
BIG_DB=$BENCH_DIR/big.db        # BIG open (none due) + BIG_RESOLVED resolved
DUE1_DB=$BENCH_DIR/mid-due1.db  # MID open, 1 % due
DUEALL_DB=$BENCH_DIR/mid-due100.db
"$GEN" --db "$BIG_DB" --open "$BIG" --resolved "$BIG_RESOLVED" --now "$NOW" --config "$CONFIG" --force
"$GEN" --db "$DUE1_DB" --open "$MID" --due-fraction 0.01 --now "$NOW" --config "$CONFIG" --force
"$GEN" --db "$DUEALL_DB" --open "$MID" --due-fraction 1 --now "$NOW" --config "$CONFIG" --force
ls -l "$BENCH_DIR"/*.db >&2

# A fresh copy of $1 at $2, without a stale WAL, flushed to disk: without the
# sync the kernel writes the copy back while the command runs, and its fsyncs
# wait behind that (check on the big database: 39 ± 17 ms instead of ~4 ms).
fresh() { echo "sh -c 'cp $1 $2 && rm -f $2-wal $2-shm && sync'"; }

# hf NAME [hyperfine options and commands]. No intermediate shell (-N): several
# commands take a few milliseconds, below what shell-startup correction resolves.
hf() {
    local name=$1
    shift
    say "$name"
    hyperfine -N --style basic --export-json "$RES/$name.json" --export-markdown "$RES/$name.md" "$@"
}

# --- check -----------------------------------------------------------------
W=$WORK/check.db
hf check-big-none-due --warmup 1 --runs 10 --prepare "$(fresh "$BIG_DB" "$W")" \
    -n "check, $BIG open, none due" "$E --db $W check"
hf check-mid-due1 --warmup 1 --runs 10 --prepare "$(fresh "$DUE1_DB" "$W")" \
    -n "check, $MID open, 1 % due" "$E --db $W check"
hf check-mid-due100 --runs 3 --prepare "$(fresh "$DUEALL_DB" "$W")" \
    -n "check, $MID open, 100 % due" "$E --db $W check"
# Each due issue escalated exactly once (a sanity check of the run above).
cp "$DUEALL_DB" "$W" && rm -f "$W-wal" "$W-shm"
$E --db "$W" check >"$WORK/check-due100.out"
echo "check of $MID due issues printed $(wc -l <"$WORK/check-due100.out") console lines" \
    | tee "$RES/check-due100-lines.txt" >&2

# --- create ----------------------------------------------------------------
# One copy for all runs: each run adds one issue to BIG + BIG_RESOLVED.
C=$WORK/create.db
hf create-big --warmup 3 --runs 30 --setup "$(fresh "$BIG_DB" "$C")" \
    -n "create on the big database" \
    "$E --db $C create --chain customer_issue --title 'Benchmark issue' --ref BENCH-1"

# --- read-only commands on the big database ---------------------------------
MID_ID=$(( (BIG + BIG_RESOLVED) / 2 ))
hf list-big --warmup 1 --runs 10 -n "list (default limit)" "$E --db $BIG_DB list"
hf show-big --warmup 3 --runs 30 -n "show $MID_ID" "$E --db $BIG_DB show $MID_ID"

for days in 7 30; do
    # One timed probe first: a report slower than REPORT_TIMEOUT is recorded
    # as such rather than run ten times.
    say "report --days $days (probe, peak RSS)"
    rc=0
    if [ -x /usr/bin/time ]; then
        timeout "$REPORT_TIMEOUT" /usr/bin/time -v $E --db "$BIG_DB" report --days "$days" \
            >/dev/null 2>"$RES/report-$days-time.txt" || rc=$?
        grep -E 'Maximum resident|Elapsed' "$RES/report-$days-time.txt" >&2 || true
    else
        timeout "$REPORT_TIMEOUT" $E --db "$BIG_DB" report --days "$days" >/dev/null || rc=$?
    fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "report --days $days: did not finish within ${REPORT_TIMEOUT}s (killed)" \
            | tee "$RES/report-$days-timeout.txt" >&2
        continue
    fi
    hf "report-big-$days" --warmup 1 --runs 5 -n "report --days $days" \
        "$E --db $BIG_DB report --days $days"
done

# --- digest and status (newer commands) ------------------------------------
if $BIN digest --help >/dev/null 2>&1; then
    if $BIN digest --help | grep -q -- '--no-record'; then
        hf digest-big --warmup 1 --runs 5 -i -n "digest --no-record" \
            "$E --db $BIG_DB digest --no-record"
    else
        D=$WORK/digest.db
        hf digest-big --warmup 1 --runs 5 -i --prepare "$(fresh "$BIG_DB" "$D")" \
            -n "digest" "$E --db $D digest"
    fi
fi
if $BIN status --help >/dev/null 2>&1; then
    hf status-big --warmup 1 --runs 10 -i -n "status" "$E --db $BIG_DB status"
fi

# --- summary -----------------------------------------------------------------
{
    echo "# escalate whole-process benchmarks"
    echo
    echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "- hyperfine: $(hyperfine --version), commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- databases: big = $BIG open (none due) + $BIG_RESOLVED resolved; mid = $MID open;" \
        "--now $NOW"
    echo
    for f in "$RES"/check-*.md "$RES"/create-*.md "$RES"/list-*.md "$RES"/show-*.md \
        "$RES"/report-*.md "$RES"/digest-*.md "$RES"/status-*.md; do
        [ -f "$f" ] || continue
        cat "$f"
        echo
    done
    for days in 7 30; do
        f=$RES/report-$days-time.txt
        [ -f "$f" ] && echo "- report --days $days peak RSS:" \
            "$(awk -F': ' '/Maximum resident/ {printf "%.0f MiB", $2/1024}' "$f")," \
            "wall $(awk -F': ' '/Elapsed/ {print $2}' "$f")"
        f=$RES/report-$days-timeout.txt
        [ -f "$f" ] && echo "- $(cat "$f")"
    done
    cat "$RES"/check-due100-lines.txt 2>/dev/null | sed 's/^/- /'
} >"$RES/summary.md"
say "summary ($RES/summary.md)"
cat "$RES/summary.md"
