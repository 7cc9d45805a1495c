//! Per-hour rollups of the report's SLA outcomes and paged issues (see
//! `migrations/10-rollups`): folded from the event log in one batch by
//! [`catch_up`], which the report runs before it reads, never by the
//! writers (`check` pays nothing for them). The report uses them only when
//! they are current ([`current`]: every event folded), for the whole hours
//! of its window; the partial hours at its edges, and any window read
//! without a current fold, come from the event log as before.

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;
use rusqlite::Connection;

use super::sql::{args, Row};
use super::{SqlContext, Tx, HOUR_MS};

/// The migration's fold: what follows its `-- fold` line. Its absence is
/// a broken build (the file is embedded), reported rather than folding
/// nothing and never becoming current.
fn fold_script() -> Result<&'static str> {
    let script = include_str!("../../migrations/10-rollups/up.sql");
    script
        .split_once("\n-- fold: ")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, body)| body)
        .filter(|body| !body.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("migrations/10-rollups has no `-- fold:` section"))
}

/// Whether every event is folded in.
pub fn current(tx: &Tx) -> Result<bool> {
    tx.one(
        "SELECT folded = (SELECT coalesce(max(id), 0) FROM events) FROM rollup_cursor",
        args![],
        "reading the rollup cursor",
        |r| r.get(0),
    )
}

/// Fold the events appended since the last fold (nothing when current).
pub fn catch_up(tx: &Tx) -> Result<()> {
    if current(tx)? {
        return Ok(());
    }
    tx.script(fold_script()?, "folding rollups")
}

/// Forget the rollups and fold the whole log again (what the migration
/// does): the reference the kept rollups are tested against.
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM rollup_sla; DELETE FROM rollup_paged; DELETE FROM rollup_stays; \
         DELETE FROM rollup_open; DELETE FROM rollup_open_counts; \
         UPDATE rollup_cursor SET folded = 0;",
    )
    .sql("clearing rollups")?;
    conn.execute_batch(fold_script()?).sql("folding rollups")
}

/// Every rollup row, the id lists as sorted sets, for comparing two
/// folds of the same log.
pub type Snapshot = (
    Vec<(i64, String, String, String, i64, i64)>,
    Vec<(i64, String, i64, Vec<i64>)>,
    Vec<StaySnapshot>,
    OpenSnapshot,
);

/// The open issues' rollups: (hour, chain, max_level, level, n) and the
/// rows (issue, chain, max_level, level, created_at).
pub type OpenSnapshot = (
    Vec<(i64, String, i64, i64, i64)>,
    Vec<(i64, String, i64, i64, i64)>,
);

/// A stay rollup row with its hour, its lists sorted (and cleared from the
/// row: their order depends on how the folds fell).
pub type StaySnapshot = (i64, StayRow, Vec<(i64, i64)>, Vec<i64>);

/// [`Snapshot`] of the rollups as they are.
pub fn snapshot(tx: &Tx) -> Result<Snapshot> {
    let sla = tx.rows(
        "SELECT hour, chain, priority, target, met, breached FROM rollup_sla \
         ORDER BY hour, chain, priority, target",
        args![],
        "reading rollups",
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    let rows: Vec<(i64, String, i64, String)> = tx.rows(
        "SELECT hour, chain, kind, ids FROM rollup_paged ORDER BY hour, chain, kind",
        args![],
        "reading rollups",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut paged = Vec::new();
    for (hour, chain, kind, ids) in rows {
        let mut set = std::collections::BTreeSet::new();
        for id in ids.split(',') {
            set.insert(parse_id(id)?);
        }
        paged.push((hour, chain, kind, set.into_iter().collect()));
    }
    let mut stays = Vec::new();
    stays_all(tx, |(hour, mut row)| {
        let mut spans = Vec::new();
        each_span(&std::mem::take(&mut row.spans), |a, b| spans.push((a, b)))?;
        spans.sort_unstable();
        let mut began = Vec::new();
        each_id(&std::mem::take(&mut row.began), |id| began.push(id))?;
        began.sort_unstable();
        stays.push((hour, row, spans, began));
        Ok(())
    })?;
    let five = |sql: &str| {
        tx.rows(sql, args![], "reading open rollups", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
    };
    let open = (
        five(
            "SELECT hour, chain, max_level, level, n FROM rollup_open_counts \
             ORDER BY hour, chain, max_level, level",
        )?,
        five(
            "SELECT issue_id, chain, max_level, level, created_at FROM rollup_open \
             ORDER BY issue_id",
        )?,
    );
    Ok((sla, paged, stays, open))
}

/// Every stay rollup row with its hour, in key order.
fn stays_all(tx: &Tx, mut each: impl FnMut((i64, StayRow)) -> Result<()>) -> Result<()> {
    let hours: Vec<i64> = tx.rows(
        "SELECT DISTINCT hour FROM rollup_stays ORDER BY hour",
        args![],
        "reading stay rollups",
        |r| r.get(0),
    )?;
    for hour in hours {
        let mut rows = Vec::new();
        stays(tx, (hour, hour + 1), None, |row| {
            rows.push(row);
            Ok(())
        })?;
        rows.sort_by(|a, b| {
            (&a.chain, &a.priority, a.level).cmp(&(&b.chain, &b.priority, b.level))
        });
        for row in rows {
            each((hour, row))?;
        }
    }
    Ok(())
}

fn parse_id(s: &str) -> Result<i64> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("rollup_paged holds a malformed issue id {s:?}"))
}

/// The whole hours of [since, until) (ms): hours `first..end`, or None
/// when no hour fits in it.
pub fn whole_hours(since: i64, until: i64) -> Option<(i64, i64)> {
    let first = since.div_euclid(HOUR_MS) + i64::from(since.rem_euclid(HOUR_MS) != 0);
    let end = until.div_euclid(HOUR_MS);
    (first < end).then_some((first, end))
}

/// SLA outcomes of one (chain, priority, target), `target` None for one
/// escalate does not know.
pub type SlaKey = (String, String, Option<String>);

/// Met and breached SLA outcomes per [`SlaKey`] in hours `first..end`, of
/// one chain or all, added into `into`.
pub fn sla(
    tx: &Tx,
    (first, end): (i64, i64),
    chain: Option<&str>,
    into: &mut BTreeMap<SlaKey, (u64, u64)>,
) -> Result<()> {
    tx.each(
        "SELECT chain, priority, target, sum(met), sum(breached) FROM rollup_sla \
         WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR chain = ?3) \
         GROUP BY chain, priority, target",
        args![first, end, chain],
        "reading SLA rollups",
        |r| {
            let target: String = r.get(2)?;
            let key = (r.get(0)?, r.get(1)?, Some(target).filter(|t| !t.is_empty()));
            let (met, breached): (i64, i64) = (r.get(3)?, r.get(4)?);
            let slot = into.entry(key).or_default();
            slot.0 += u64::try_from(met).unwrap_or(0);
            slot.1 += u64::try_from(breached).unwrap_or(0);
            Ok(())
        },
    )
}

/// Issues paged at level 2 or higher (`[0]`) and breached (`[1]`), by chain.
pub type Paged = BTreeMap<String, [IdSet; 2]>;

/// The paged and breached issues of hours `first..end`, of one chain or
/// all, added into `into`.
pub fn paged(
    tx: &Tx,
    (first, end): (i64, i64),
    chain: Option<&str>,
    into: &mut Paged,
) -> Result<()> {
    tx.each(
        "SELECT chain, kind, ids FROM rollup_paged \
         WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR chain = ?3)",
        args![first, end, chain],
        "reading paged rollups",
        |r| {
            let name: String = r.get(0)?;
            let kind: i64 = r.get(1)?;
            let sets = into.entry(name).or_default();
            let set = if kind == 0 {
                &mut sets[0]
            } else {
                &mut sets[1]
            };
            let ids: String = r.get(2)?;
            for id in ids.split(',') {
                set.insert(parse_id(id)?);
            }
            Ok(())
        },
    )
}

/// Open issues by (chain, max_level, level): how many, how many opened.
pub type OpenCounts = BTreeMap<(String, i64, i64), (u64, u64)>;

/// Unresolved issues created before `until` (ms) by (chain, max_level,
/// level): how many, and how many of them were created from `since` on;
/// one chain or all. Whole hours of creation from the counts, the partial
/// ones from the issues' rows.
pub fn open_counts(tx: &Tx, since: i64, until: i64, chain: Option<&str>) -> Result<OpenCounts> {
    let last = until.div_euclid(HOUR_MS);
    let first = since.div_euclid(HOUR_MS) + i64::from(since.rem_euclid(HOUR_MS) != 0);
    let mut out = OpenCounts::new();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    tx.each(
        "SELECT chain, max_level, level, sum(n), sum(CASE WHEN hour >= ?2 THEN n ELSE 0 END) \
         FROM rollup_open_counts WHERE hour < ?1 AND (?3 IS NULL OR chain = ?3) \
         GROUP BY chain, max_level, level",
        args![last, first, chain],
        "reading open rollups",
        |r| {
            let key = (r.get(0)?, r.get(1)?, r.get(2)?);
            let slot = out.entry(key).or_default();
            slot.0 += n(r.get(3)?);
            slot.1 += n(r.get(4)?);
            Ok(())
        },
    )?;
    // The partial hour before `until` counts in full; the one from `since`
    // (already counted in full) adds to the opened.
    let edge = last * HOUR_MS;
    let parts = [
        (edge, until, true),
        (since, first.min(last) * HOUR_MS, false),
    ];
    for (a, b, whole) in parts {
        open_rows(tx, (a, b), chain, |key, created| {
            let slot = out.entry(key).or_default();
            slot.0 += u64::from(whole);
            slot.1 += u64::from(created >= since);
        })?;
    }
    Ok(out)
}

/// Each unresolved issue (as of the fold) created in [a, b).
fn open_rows(
    tx: &Tx,
    (a, b): (i64, i64),
    chain: Option<&str>,
    mut each: impl FnMut((String, i64, i64), i64),
) -> Result<()> {
    if a >= b {
        return Ok(());
    }
    tx.each(
        "SELECT chain, max_level, level, created_at FROM rollup_open \
         WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR chain = ?3)",
        args![a, b, chain],
        "reading open rollups",
        |r: &Row| {
            each((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?);
            Ok(())
        },
    )
}

/// The ids (a JSON array) of the `limit` oldest issues open at `until`
/// (ms), of one chain or all, and maybe a few more: the oldest unresolved
/// ones (as of the fold, through `rollup_open`'s creation index) and the
/// oldest of those resolved at or after `until` (through resolved_at), so
/// the caller's own filter and order pick the same issues as over all.
pub fn oldest_open(tx: &Tx, until: i64, chain: Option<&str>, limit: u32) -> Result<String> {
    let mut found: Vec<(i64, i64)> = Vec::new();
    for sql in [
        "SELECT created_at, issue_id FROM rollup_open \
         WHERE created_at < ?1 AND (?2 IS NULL OR chain = ?2) \
         ORDER BY created_at, issue_id LIMIT ?3",
        "SELECT created_at, id FROM issues \
         WHERE resolved_at >= ?1 AND +created_at < ?1 AND (?2 IS NULL OR chain = ?2) \
         ORDER BY +created_at, id LIMIT ?3",
    ] {
        let rows = tx.rows(
            sql,
            args![until, chain, limit],
            "reading oldest open",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        found.extend(rows);
    }
    let ids: Vec<String> = found.iter().map(|(_, id)| id.to_string()).collect();
    Ok(format!("[{}]", ids.join(",")))
}

/// One row of the stay rollups: stays of one (chain, priority, level)
/// that ended or began in the hours read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayRow {
    pub chain: String,
    pub priority: Option<String>,
    pub level: i64,
    /// Ended by an escalation higher.
    pub escalated: u64,
    /// Ended by resolution.
    pub resolved: u64,
    /// Ended in any way.
    pub ended: u64,
    /// The completed stays' "start:end" (ms), comma-separated.
    pub spans: String,
    /// The issues whose stay began, comma-separated.
    pub began: String,
}

/// Each row of the stay rollups of hours `first..end`, of one chain or all.
pub fn stays(
    tx: &Tx,
    (first, end): (i64, i64),
    chain: Option<&str>,
    mut each: impl FnMut(StayRow) -> Result<()>,
) -> Result<()> {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    tx.each(
        "SELECT chain, priority, level, escalated, resolved, ended, spans, began \
         FROM rollup_stays WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR chain = ?3)",
        args![first, end, chain],
        "reading stay rollups",
        |r| {
            let priority: String = r.get(1)?;
            each(StayRow {
                chain: r.get(0)?,
                // '' for none, else '=' and the priority.
                priority: priority.strip_prefix('=').map(str::to_string),
                level: r.get(2)?,
                escalated: n(r.get(3)?),
                resolved: n(r.get(4)?),
                ended: n(r.get(5)?),
                spans: r.get(6)?,
                began: r.get(7)?,
            })
        },
    )
}

/// Each "start:end" of a comma-separated list of spans.
pub fn each_span(spans: &str, mut f: impl FnMut(i64, i64)) -> Result<()> {
    for span in spans.split(',').filter(|s| !s.is_empty()) {
        let (a, b) = span
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("rollup_stays holds a malformed span {span:?}"))?;
        f(parse_id(a)?, parse_id(b)?);
    }
    Ok(())
}

/// Each id of a comma-separated list.
pub fn each_id(ids: &str, mut f: impl FnMut(i64)) -> Result<()> {
    for id in ids.split(',').filter(|s| !s.is_empty()) {
        f(parse_id(id)?);
    }
    Ok(())
}

/// A set of issue ids: a bitmap for dense row ids (a million issues take
/// 122 KiB), a hash set for any id outside it.
#[derive(Debug, Default, Clone)]
pub struct IdSet {
    bits: Vec<u64>,
    other: HashSet<i64>,
}

impl IdSet {
    /// Ids below this go in the bitmap (32 MiB at most).
    const DENSE: i64 = 1 << 28;

    /// Add `id`.
    pub fn insert(&mut self, id: i64) {
        match usize::try_from(id).ok().filter(|_| id < Self::DENSE) {
            Some(i) => {
                if self.bits.len() <= i / 64 {
                    self.bits.resize(i / 64 + 1, 0);
                }
                if let Some(w) = self.bits.get_mut(i / 64) {
                    *w |= 1u64 << (i % 64);
                }
            }
            None => {
                self.other.insert(id);
            }
        }
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: i64) -> bool {
        match usize::try_from(id).ok().filter(|_| id < Self::DENSE) {
            Some(i) => self
                .bits
                .get(i / 64)
                .is_some_and(|w| w & (1u64 << (i % 64)) != 0),
            None => self.other.contains(&id),
        }
    }

    /// The ids, ascending within the bitmap, then the others.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let dense = self.bits.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |b| bits & (1u64 << b) != 0)
                .map(move |b| (w * 64 + b) as i64)
        });
        dense.chain(self.other.iter().copied())
    }

    /// How many ids are in the set and not in `without`.
    pub fn count_without(&self, without: &IdSet) -> u64 {
        self.iter().filter(|id| !without.contains(*id)).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_hours_leave_the_partial_edges_out() {
        let h = HOUR_MS;
        assert_eq!(whole_hours(0, 3 * h), Some((0, 3)));
        assert_eq!(whole_hours(1, 3 * h), Some((1, 3)));
        assert_eq!(whole_hours(1, 3 * h - 1), Some((1, 2)));
        assert_eq!(whole_hours(1, 2 * h - 1), None);
        assert_eq!(whole_hours(-h - 1, h), Some((-1, 1)));
    }

    #[test]
    fn id_sets_hold_dense_and_sparse_ids() {
        let mut s = IdSet::default();
        for id in [1, 64, 1, 1 << 40, -3] {
            s.insert(id);
        }
        let mut got: Vec<i64> = s.iter().collect();
        got.sort_unstable();
        assert_eq!(got, vec![-3, 1, 64, 1 << 40]);
        let mut without = IdSet::default();
        without.insert(64);
        without.insert(-3);
        assert_eq!(s.count_without(&without), 2);
        assert!(s.contains(1 << 40) && !s.contains(2));
    }

    /// The fold is the migration's own text after its marker.
    #[test]
    fn the_fold_is_the_migrations_tail() {
        let fold = fold_script().expect("the migration has a fold section");
        assert!(fold.contains("INSERT INTO rollup_sla"), "{fold}");
        assert!(!fold.contains("CREATE TABLE"), "{fold}");
    }
}
