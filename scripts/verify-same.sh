#!/bin/sh
# Two escalate binaries, one check each on fresh copies of the same
# database: the same console output, and the same issues, outbox rows and
# events, byte for byte (sqlite3 dumps of the three tables, ordered by id).
#   scripts/verify-same.sh OLD/escalate NEW/escalate DB [CONFIG] [NOW]
set -eu
old=$1 new=$2 db=$3
config=${4:-$(dirname "$0")/../chains.toml}
now=${5:-2026-11-02T09:00:00Z}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for which in old new; do
    eval bin=\$$which
    cp "$db" "$work/$which.db"
    "$bin" --config "$config" --now "$now" --db "$work/$which.db" check >"$work/$which.out" 2>"$work/$which.err" || true
    for table in issues outbox events; do
        sqlite3 "$work/$which.db" "SELECT * FROM $table ORDER BY id" >"$work/$which.$table"
    done
done
status=0
for f in out err issues outbox events; do
    if cmp -s "$work/old.$f" "$work/new.$f"; then
        echo "same: $f ($(wc -l <"$work/new.$f") lines)"
    else
        echo "DIFFERENT: $f"; diff "$work/old.$f" "$work/new.$f" | head -5; status=1
    fi
done
exit $status
