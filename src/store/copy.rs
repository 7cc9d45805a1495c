//! `escalate migrate --to postgres://…`: a SQLite database's whole
//! history copied into an empty PostgreSQL database, in one PostgreSQL
//! transaction. The schema is created in that same transaction, so a copy
//! that fails or is killed halfway leaves the target as it was: empty.
//!
//! Every table is copied as it is (ids included: events, outbox rows and
//! links keep pointing at the same issues, and the engineering-task
//! markers keep the database's `instance`), with `COPY … FROM STDIN`.
//! Before committing, each table's row count and a set of totals (issues
//! by status, events by kind, outbox rows by status, and the report's
//! per-chain figures over the whole history) are read back from both
//! sides and compared; any difference rolls the copy back.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::types::ValueRef;

use super::pg::{install_schema, lost, schema_state, WRITE_LOCK};
use super::pg_target::Target;
use super::pg_watch::Watch;
use super::report::{self, ReportRow, Scope};
use super::sql::args;
use super::sql_pg::{Cache, PgTx};
use super::{Store, Tx};
use crate::error::{database, usage};

/// What was copied and checked.
#[derive(Debug, Default)]
pub struct Copied {
    /// (table, rows), in copy order.
    pub tables: Vec<(String, u64)>,
    /// (what, in SQLite, in PostgreSQL), all equal when the copy commits.
    pub totals: Vec<(String, i64, i64)>,
    /// The target as shown (no password).
    pub target: String,
    /// Things to tell (the target URL's settings; a step after the
    /// commit that failed).
    pub warnings: Vec<String>,
}

/// Tables copied first, in this order (the others reference them).
const FIRST: &[&str] = &["issues"];

/// The totals both sides must agree on: a label and the query (the same
/// SQL on SQLite and PostgreSQL), each returning (key, count) rows.
const TOTALS: &[(&str, &str)] = &[
    (
        "issues",
        "SELECT status, count(*) FROM issues GROUP BY status ORDER BY status",
    ),
    (
        "events",
        "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind",
    ),
    (
        "outbox",
        "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status",
    ),
    // events.level may be NULL: the NULLS clause keeps SQLite's order on
    // PostgreSQL (ARCHITECTURE.md, "Two stores").
    (
        "escalations",
        "SELECT 'level ' || level, count(*) FROM events WHERE kind = 'escalated' \
         GROUP BY level ORDER BY level NULLS FIRST",
    ),
];

/// Copy `source` (a SQLite store) into the empty PostgreSQL database at
/// `url`. See the module docs.
pub fn to_postgres(source: &mut Store, url: &str, busy_timeout: Duration) -> Result<Copied> {
    if source.is_postgres() {
        return Err(usage(
            "migrate copies a SQLite database (--db FILE) into PostgreSQL; --db is already \
             PostgreSQL",
        ));
    }
    let target = Target::parse(url)?;
    let shown = target.shown().to_string();
    // Unwatched (`pg_watch`): one statement streams the whole history, and
    // a person runs this, not cron.
    let mut client = target.connect(&Watch::default())?;
    // The copy's transaction waits on the SQLite side between its
    // statements (reading a table, computing the source's totals): no
    // idle limit for this one session.
    client
        .batch_execute("SET idle_in_transaction_session_timeout = 0")
        .map_err(|e| lost(&shown, e))?;
    let lock_ms = u64::try_from(busy_timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    source.read(|tx| {
        let lite = tx.db();
        let mut pg = client.transaction().map_err(|e| lost(&shown, e))?;
        pg.batch_execute(&format!("SET LOCAL lock_timeout = {lock_ms}"))
            .and_then(|()| pg.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]))
            .map_err(|e| lost(&shown, e))?;
        ensure_empty(&mut pg, &shown)?;
        let mut copied = Copied {
            target: shown.clone(),
            warnings: target.warnings().to_vec(),
            ..Copied::default()
        };
        // Rows the schema seeds (the instance id, the fold's cursor) are
        // replaced by the source's.
        pg.batch_execute("DELETE FROM meta; DELETE FROM rollup_cursor;")
            .map_err(|e| lost(&shown, e))?;
        for table in tables(lite)? {
            let n = copy_table(lite, &mut pg, &table, &shown)?;
            copied.tables.push((table, n));
        }
        move_sequences(&mut pg, &shown)?;
        for (table, n) in &copied.tables {
            let there: i64 = pg
                .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
                .map_err(|e| lost(&shown, e))?
                .get(0);
            if u64::try_from(there).ok() != Some(*n) {
                return Err(database(format!(
                    "{shown}: table {table} has {there} rows after the copy, not {n}; nothing \
                     was kept"
                )));
            }
        }
        copied.totals = totals(lite, &mut pg, &shown)?;
        // The report's own totals over the whole history, each side read
        // by the report's queries.
        let cache = RefCell::new(Cache::new());
        let on_pg = Tx::pg(PgTx::new(pg, &cache, Watch::default()));
        copied.totals.extend(report_totals(tx, &on_pg)?);
        if let Some((what, a, b)) = copied.totals.iter().find(|(_, a, b)| a != b) {
            return Err(database(format!(
                "{shown}: {what} is {b} after the copy, {a} in the source; nothing was kept"
            )));
        }
        on_pg
            .into_pg()
            .into_inner()
            .commit()
            .map_err(|e| lost(&shown, e))?;
        // Statistics for the planner now, not when autovacuum gets to it:
        // without them a million-issue table is planned as if empty. The
        // copy is committed by now: a failure here is only a warning.
        if let Err(e) = client.batch_execute("ANALYZE") {
            copied.warnings.push(format!(
                "the copy is complete, but ANALYZE failed ({}); run it on the database",
                super::pg_target::one_line(&e)
            ));
        }
        Ok(copied)
    })
}

/// The target must hold nothing: no tables at all (the schema is created
/// here), or an escalate schema without any issue (`init` was run on it).
fn ensure_empty(pg: &mut postgres::Transaction<'_>, shown: &str) -> Result<()> {
    let version = schema_state(pg, shown)?;
    install_schema(pg, shown, version)?;
    let issues: i64 = pg
        .query_one("SELECT count(*) FROM issues", &[])
        .map_err(|e| lost(shown, e))?
        .get(0);
    if issues > 0 {
        return Err(database(format!(
            "{shown} already holds {issues} issues; migrate only copies into an empty database \
             (nothing was changed)"
        )));
    }
    Ok(())
}

/// The source's tables, parents first.
fn tables(lite: &rusqlite::Transaction<'_>) -> Result<Vec<String>> {
    let mut stmt = lite
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .context("listing tables")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
        .context("listing tables")?;
    let mut ordered: Vec<String> = FIRST.iter().map(|s| (*s).to_string()).collect();
    ordered.extend(names.into_iter().filter(|n| !FIRST.contains(&n.as_str())));
    Ok(ordered)
}

/// One table through `COPY … FROM STDIN` (text format); the rows sent.
fn copy_table(
    lite: &rusqlite::Transaction<'_>,
    pg: &mut postgres::Transaction<'_>,
    table: &str,
    shown: &str,
) -> Result<u64> {
    let mut stmt = lite
        .prepare(&format!("SELECT * FROM \"{table}\""))
        .with_context(|| format!("reading {table}"))?;
    let columns: Vec<String> = stmt
        .column_names()
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    let sql = format!("COPY \"{table}\" ({}) FROM STDIN", columns.join(", "));
    let mut writer = pg.copy_in(&sql).map_err(|e| lost(shown, e))?;
    let mut rows = stmt.query([]).with_context(|| format!("reading {table}"))?;
    let mut line = Vec::with_capacity(256);
    let mut sent = 0u64;
    while let Some(row) = rows.next().with_context(|| format!("reading {table}"))? {
        line.clear();
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                line.push(b'\t');
            }
            let value = row.get_ref(i).with_context(|| format!("reading {table}"))?;
            field(&mut line, value).with_context(|| format!("{table}, column {column}"))?;
        }
        line.push(b'\n');
        writer
            .write_all(&line)
            .map_err(|e| database(format!("{shown}: copying {table}: {e}")))?;
        sent += 1;
    }
    writer.finish().map_err(|e| lost(shown, e))?;
    Ok(sent)
}

/// One value in COPY's text format.
fn field(out: &mut Vec<u8>, value: ValueRef<'_>) -> Result<()> {
    match value {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        ValueRef::Real(x) => out.extend_from_slice(x.to_string().as_bytes()),
        ValueRef::Text(t) => {
            for &b in t {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b => out.push(b),
                }
            }
        }
        ValueRef::Blob(_) => anyhow::bail!("a binary value, which escalate never writes"),
    }
    Ok(())
}

/// Each identity past the largest id copied, so new rows do not collide.
fn move_sequences(pg: &mut postgres::Transaction<'_>, shown: &str) -> Result<()> {
    let identities = pg
        .query(
            "SELECT table_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'id' \
               AND is_identity = 'YES'",
            &[],
        )
        .map_err(|e| lost(shown, e))?;
    for row in identities {
        let table: String = row.get(0);
        pg.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), \
                 coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"
            ),
            &[],
        )
        .map_err(|e| lost(shown, e))?;
    }
    Ok(())
}

/// One of a report row's counts.
type Figure = fn(&ReportRow) -> u64;

/// The report's per-chain figures over every event ever recorded, on both
/// sides: issues involved, opened, resolved, still open, escalated and
/// breached, SLA outcomes.
fn report_totals(lite: &Tx, pg: &Tx) -> Result<Vec<(String, i64, i64)>> {
    let end = |tx: &Tx| {
        tx.one(
            "SELECT coalesce(max(at), 0) + 1 FROM events",
            args![],
            "the last event's time",
            |r| r.get::<i64>(0),
        )
    };
    let until = end(lite)?.max(end(pg)?);
    let scope = Scope {
        since: super::ts(0)?,
        until: super::ts(until)?,
        chain: None,
    };
    let a = report::window_counts_from_log(lite, &scope)?;
    let b = report::window_counts_from_log(pg, &scope)?;
    let chains: BTreeSet<&String> = a.involved.keys().chain(b.involved.keys()).collect();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for chain in chains {
        let (x, y) = (a.involved.get(chain), b.involved.get(chain));
        let fig = |r: Option<&ReportRow>, f: fn(&ReportRow) -> u64| n(r.map_or(0, f));
        let figures: [(&str, Figure); 4] = [
            ("involved", |r| r.involved),
            ("opened", |r| r.opened),
            ("resolved", |r| r.resolved),
            ("still open", |r| r.still_open),
        ];
        for (what, f) in figures {
            out.push((format!("report {chain}: {what}"), fig(x, f), fig(y, f)));
        }
        let paged = |c: &report::WindowCounts, i: usize| {
            n(c.paged
                .get(chain)
                .map_or(0, |p| if i == 0 { p.0 } else { p.1 }))
        };
        out.push((
            format!("report {chain}: escalated"),
            paged(&a, 0),
            paged(&b, 0),
        ));
        out.push((
            format!("report {chain}: breached"),
            paged(&a, 1),
            paged(&b, 1),
        ));
        let sla = |c: &report::WindowCounts, met: bool| {
            n(c.sla
                .iter()
                .filter(|((ch, _, _), _)| ch == chain)
                .map(|(_, (m, b))| if met { *m } else { *b })
                .sum())
        };
        out.push((
            format!("report {chain}: SLA met"),
            sla(&a, true),
            sla(&b, true),
        ));
        out.push((
            format!("report {chain}: SLA breached"),
            sla(&a, false),
            sla(&b, false),
        ));
    }
    Ok(out)
}

/// The totals on both sides, as (label, SQLite, PostgreSQL).
fn totals(
    lite: &rusqlite::Transaction<'_>,
    pg: &mut postgres::Transaction<'_>,
    shown: &str,
) -> Result<Vec<(String, i64, i64)>> {
    let mut out = Vec::new();
    for (label, sql) in TOTALS {
        let mut stmt = lite
            .prepare(sql)
            .with_context(|| format!("totals: {label}"))?;
        // A NULL key (an escalation without a level, in a hand-edited
        // database) is a group of its own, not a failure or a panic.
        let key = |k: Option<String>| k.unwrap_or_else(|| "(none)".to_string());
        let source: Vec<(String, i64)> = stmt
            .query_map([], |r| {
                Ok((key(r.get::<_, Option<String>>(0)?), r.get::<_, i64>(1)?))
            })
            .and_then(Iterator::collect)
            .with_context(|| format!("totals: {label}"))?;
        let target: Vec<(String, i64)> = pg
            .query(*sql, &[])
            .map_err(|e| lost(shown, e))?
            .iter()
            .map(|r| {
                let k = r.try_get::<_, Option<String>>(0);
                let n = r.try_get::<_, i64>(1);
                Ok((key(k?), n?))
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| lost(shown, e))?;
        let keys: std::collections::BTreeSet<&String> =
            source.iter().chain(&target).map(|(k, _)| k).collect();
        let find =
            |v: &[(String, i64)], k: &String| v.iter().find(|(x, _)| x == k).map_or(0, |(_, n)| *n);
        for k in keys {
            out.push((format!("{label} {k}"), find(&source, k), find(&target, k)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_would_split_a_row() {
        let mut out = Vec::new();
        field(&mut out, ValueRef::Text(b"a\tb\nc\\d\re")).expect("text");
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re");
        out.clear();
        field(&mut out, ValueRef::Null).expect("null");
        field(&mut out, ValueRef::Integer(-5)).expect("int");
        assert_eq!(out, b"\\N-5");
        assert!(field(&mut out, ValueRef::Blob(b"x")).is_err());
    }

    /// A NULLS clause that spells SQLite's default order does not change
    /// its plan: the order still comes from the grouping, no extra sort.
    #[test]
    fn totals_sort_only_to_group() {
        let store = Store::open_in_memory().expect("opens");
        for (label, sql) in TOTALS {
            let plan = store.explain(sql, []);
            assert!(!plan.contains("FOR ORDER BY"), "{label}: {plan}");
        }
    }
}
