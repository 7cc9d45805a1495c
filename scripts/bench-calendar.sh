#!/usr/bin/env bash
# Issue 11: `check` on a business-hours calendar against the same run on
# `always`. Two databases from examples/workload.rs with the same seed and
# shape (100,000 open issues, 1 % due at --now), one on
# scripts/bench-always.toml, one on scripts/bench-business.toml (the same
# chains on mon-fri 09:00-17:00 America/New_York with holidays: the workload
# draws in that calendar's open time, so the due issues are due by the
# engine's own arithmetic). Each run gets a fresh copy of its database.
#
#   scripts/bench-calendar.sh            # hyperfine, then callgrind if installed
#
# Environment:
#   BENCH_DIR   work dir (default /tmp/escalate-bench-calendar)
#   BENCH_OPEN  open issues (default 100000)
#   BENCH_DUE   fraction due (default 0.01)
#   BENCH_NOW   the instant of the check; must be in office hours for the
#               due issues to be due since the previous check (default
#               2026-11-02T15:00:00Z, Monday 10:00 in New York)
#   BENCH_RUNS  hyperfine runs per command (default 30)
#
# Results: $BENCH_DIR/results/calendar.md (hyperfine) and, with valgrind,
# $BENCH_DIR/results/callgrind.txt (instructions of one check each; these
# are deterministic, so they hold on a noisy machine where times do not).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-/tmp/escalate-bench-calendar}
OPEN=${BENCH_OPEN:-100000}
DUE=${BENCH_DUE:-0.01}
NOW=${BENCH_NOW:-2026-11-02T15:00:00Z}
RUNS=${BENCH_RUNS:-30}
RES=$BENCH_DIR/results

# hyperfine's --prepare: `bench-calendar.sh --fresh NAME` copies a database.
if [ "${1:-}" = "--fresh" ]; then
    cp "$BENCH_DIR/$2.db" "$BENCH_DIR/run-$2.db"
    rm -f "$BENCH_DIR/run-$2.db-wal" "$BENCH_DIR/run-$2.db-shm"
    exit 0
fi
mkdir -p "$RES" "$BENCH_DIR/bin"

say() { printf '\n== %s\n' "$*" >&2; }

command -v hyperfine >/dev/null 2>&1 || cargo install --locked hyperfine

say "building (release)"
cargo build --release --locked --examples --bins
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cp "$TARGET/release/escalate" "$TARGET/release/examples/workload" "$BENCH_DIR/bin/"
BIN=$BENCH_DIR/bin/escalate
GEN=$BENCH_DIR/bin/workload

say "generating databases"
for cal in always business; do
    cp "$ROOT/scripts/bench-$cal.toml" "$BENCH_DIR/$cal.toml"
    "$GEN" --db "$BENCH_DIR/$cal.db" --open "$OPEN" --due-fraction "$DUE" --now "$NOW" \
        --config "$BENCH_DIR/$cal.toml" --force
done

# A fresh copy of a database (the check writes).
fresh() { cp "$BENCH_DIR/$1.db" "$BENCH_DIR/run-$1.db"; rm -f "$BENCH_DIR/run-$1.db-wal" "$BENCH_DIR/run-$1.db-shm"; }
check() { echo "$BIN --config $BENCH_DIR/$1.toml --db $BENCH_DIR/run-$1.db --now $NOW check"; }

say "sanity: each check escalates every due issue"
for cal in always business; do
    fresh "$cal"
    n=$($(check "$cal") | grep -c '^\[ESCALATION' || true)
    echo "$cal: $n escalations" >&2
done

say "hyperfine: check, $OPEN open, $DUE due"
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$RES/calendar.md" \
    --prepare "$ROOT/scripts/bench-calendar.sh --fresh always" -n always "$(check always)" \
    --prepare "$ROOT/scripts/bench-calendar.sh --fresh business" -n business "$(check business)"

if command -v valgrind >/dev/null 2>&1; then
    say "callgrind: instructions of one check"
    : >"$RES/callgrind.txt"
    for cal in always business; do
        fresh "$cal"
        valgrind --tool=callgrind --callgrind-out-file="$RES/callgrind-$cal.out" \
            $(check "$cal") >/dev/null 2>"$RES/valgrind-$cal.txt"
        echo "$cal $(grep -o 'Collected : [0-9]*' "$RES/valgrind-$cal.txt")" | tee -a "$RES/callgrind.txt"
    done
fi
