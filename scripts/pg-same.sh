#!/usr/bin/env bash
# Same product on both stores: copy a SQLite database into a fresh
# PostgreSQL database (`escalate migrate --to`), run a list of commands
# against each with the same --now, and diff what they print.
#
#   scripts/pg-same.sh SQLITE_DB [ADMIN_URL]
#
# ADMIN_URL (default: $ESCALATE_TEST_PG, else the local server) must be
# allowed to create databases; the script makes and drops `escalate_same`.
# Exits 1 when any command's output differs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1
admin=${2:-${ESCALATE_TEST_PG:-postgres://postgres@127.0.0.1/postgres?sslmode=disable}}
bin=${BIN:-target/release/escalate}
cfg=${CONFIG:-chains.toml}
now=${NOW:-2026-11-02T12:00:00Z}
target=$(printf '%s' "$admin" | sed -E 's#^(postgres(ql)?://[^/]*)/[^?]*#\1/escalate_same#')
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$admin" -qc "DROP DATABASE IF EXISTS escalate_same" >/dev/null 2>&1 || true' EXIT
cp "$src" "$work/a.db"
[ -f "$src-wal" ] && cp "$src-wal" "$work/a.db-wal"
psql "$admin" -qc "DROP DATABASE IF EXISTS escalate_same" -c "CREATE DATABASE escalate_same" >/dev/null 2>&1
"$bin" --config "$cfg" --db "$work/a.db" migrate --to "$target" > "$work/migrate.txt"
status=0
while IFS= read -r cmd; do
    [ -z "$cmd" ] && continue
    # shellcheck disable=SC2086
    a=$("$bin" --config "$cfg" --db "$work/a.db" --now "$now" $cmd 2>&1; echo "exit $?")
    # shellcheck disable=SC2086
    b=$("$bin" --config "$cfg" --db "$target" --now "$now" $cmd 2>&1; echo "exit $?")
    if [ "$a" == "$b" ]; then
        echo "same: $cmd"
    else
        echo "DIFFERENT: $cmd"
        diff <(echo "$a") <(echo "$b") | head -20 || true
        status=1
    fi
done <<'COMMANDS'
list --status all --limit 0 --json
list --breached
list --at-risk
show 1 --json
status --json
outbox --status all --limit 0 --json
report --days 7
report --days 7 --format json
report --days 30 --by priority --format json
report --days 30 --by tag --format json
report --days 30 --by source
report --days 7 --format csv
digest --no-record --format json
events --since 0
oncall
check
list --status all --limit 0 --json
report --days 7 --format json
digest --no-record --format json
COMMANDS
exit $status
