#!/bin/sh
# Two escalate binaries, the same reports on fresh copies of the same
# databases: every form (markdown, JSON, CSV) over several windows (whole
# and partial hours, one chain, grouped), byte for byte, exit codes
# included. Each binary gets its own copy, so the first report of each
# also runs what a first report does there (a migration, a rollup fold).
#   scripts/report-same.sh OLD/escalate NEW/escalate DB...
# Env: CONFIG (default: the repository's chains.toml), NOW (default
# 2026-11-02T09:00:00Z), TMPDIR (where the copies go).
# Exits 1 when any output differs. Never touches the databases given.
set -eu
old=$1 new=$2
shift 2
config=${CONFIG:-$(dirname "$0")/../chains.toml}
now=${NOW:-2026-11-02T09:00:00Z}
work=$(mktemp -d "${TMPDIR:-/tmp}/report-same.XXXXXX")
trap 'rm -rf "$work"' EXIT
# One report per line: its arguments.
cat >"$work/cases" <<'CASES'
--days 7
--days 7 --format json
--days 7 --format csv
--days 1
--days 30 --format json
--days 7 --chain customer_issue --format json
--days 7 --chain system_outage
--days 7 --by priority --format json
--days 7 --by tag
--since 2026-10-20T07:30:00Z --until 2026-11-01T13:15:00Z --format json
--since 2026-11-01 --until 2026-11-02T08:59:59.500Z --format csv
--days 365 --format json
CASES
status=0
for db in "$@"; do
    name=$(basename "$db" .db)
    for which in old new; do
        eval bin=\$$which
        rm -f "$work/copy.db" "$work/copy.db-wal" "$work/copy.db-shm"
        cp "$db" "$work/copy.db"
        if [ -f "$db-wal" ]; then cp "$db-wal" "$work/copy.db-wal"; fi
        n=0
        while read -r args; do
            n=$((n + 1))
            # shellcheck disable=SC2086 # one case's arguments, split on purpose
            "$bin" --config "$config" --now "$now" --db "$work/copy.db" report $args \
                >"$work/$which.$n" 2>&1 || echo "exit $?" >>"$work/$which.$n"
        done <"$work/cases"
    done
    n=0
    while read -r args; do
        n=$((n + 1))
        if cmp -s "$work/old.$n" "$work/new.$n"; then
            echo "same: $name report $args ($(wc -c <"$work/new.$n") bytes)"
        else
            echo "DIFFERENT: $name report $args"
            diff "$work/old.$n" "$work/new.$n" | head -10
            status=1
        fi
    done <"$work/cases"
done
rm -f "$work/copy.db" "$work/copy.db-wal" "$work/copy.db-shm"
exit $status
