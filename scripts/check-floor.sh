#!/usr/bin/env bash
# Issue 15: how close `check` is to what SQLite itself needs for the same
# writes. Builds a database with examples/workload.rs (100,000 open, 1 %
# due, or BENCH_OPEN / BENCH_DUE), then times with hyperfine, each run on a
# fresh copy: `escalate check`; scripts/check-floor.sql in the sqlite3
# shell (set-based SQL, synchronous = FULL); the same with synchronous =
# OFF (CPU and page writes only, no fsync).
#
#   scripts/check-floor.sh     # needs hyperfine and sqlite3; ~2 min
#
# Environment: BENCH_DIR (default /tmp/escalate-floor), BENCH_OPEN
# (100000), BENCH_DUE (0.01), BENCH_RUNS (15), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${BENCH_DIR:-/tmp/escalate-floor}
OPEN=${BENCH_OPEN:-100000}
DUE=${BENCH_DUE:-0.01}
RUNS=${BENCH_RUNS:-15}
NOW=2026-11-02T09:00:00Z
NOW_MS=1793610000000
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ "${1:-}" = "--fresh" ]; then
    rm -f "$DIR/run.db" "$DIR/run.db-wal" "$DIR/run.db-shm"
    cp "$DIR/base.db" "$DIR/run.db"
    sync
    exit 0
fi

mkdir -p "$DIR"
cargo build --release --quiet --bin escalate --example workload
"$TARGET/release/examples/workload" --db "$DIR/base.db" --open "$OPEN" --due-fraction "$DUE" \
    --now "$NOW" --config "$ROOT/chains.toml" --force
sed "s/NOW_MS/$NOW_MS/g" scripts/check-floor.sql > "$DIR/floor-full.sql"
sed 's/synchronous = FULL/synchronous = OFF/' "$DIR/floor-full.sql" > "$DIR/floor-off.sql"

hyperfine -N --runs "$RUNS" --prepare "$0 --fresh" \
    -n "escalate check" \
    "$TARGET/release/escalate --config $ROOT/chains.toml --now $NOW --db $DIR/run.db check" \
    -n "sqlite3, set-based, synchronous = FULL" "sqlite3 $DIR/run.db -init $DIR/floor-full.sql .quit" \
    -n "sqlite3, set-based, synchronous = OFF" "sqlite3 $DIR/run.db -init $DIR/floor-off.sql .quit"
