//! Queries behind `digest`: each an index range or one aggregate pass, so a
//! digest over a million issues stays cheap and never loads them all.

use anyhow::{Context, Result};

use super::health::LastDigest;
use super::sql::args;
use super::{ms, ts, Tx, HOUR_MS};
use crate::model::{Listed, Ts};

/// A running SLA clock past its at-risk instant, before its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskRow {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub owner: String,
    pub target: String,
    pub due_at: Ts,
}

/// Unresolved issues with a running clock between its at-risk instant and
/// its deadline, soonest deadline first, at most `limit`; and how many there are.
///
/// One row per (issue, target); judged from the instants at `now`, so it is
/// right even when the checker lags (a deadline that passed unrecorded is
/// the checker's problem, which the digest reports separately). A clock a
/// pause stopped is judged at its stop. Like [`sla_counts`], it reads only
/// the issues that can be at risk: those recorded at risk (index
/// `issues_open_at_risk`) and those due for a check (`issues_due`), where
/// every clock that passed its at-risk instant unrecorded is (a running
/// clock's next instant is part of the issue's next due time).
pub fn at_risk(tx: &Tx, now: Ts, limit: usize) -> Result<Listed<RiskRow>> {
    let candidates = tx.rows(
        AT_RISK_CANDIDATES,
        args![ms(now)],
        "reading issues at risk",
        |r| {
            let issue = RiskRow {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
                owner: r.get(3)?,
                target: String::new(),
                due_at: Ts::default(),
            };
            let response: Option<i64> = r.get(4)?;
            let resolution: Option<i64> = r.get(5)?;
            Ok((issue, [("response", response), ("resolution", resolution)]))
        },
    )?;
    let mut rows = Vec::new();
    for (issue, clocks) in candidates {
        for (target, due) in clocks {
            if let Some(due) = due {
                rows.push(RiskRow {
                    target: target.to_string(),
                    due_at: ts(due).context("reading issues at risk")?,
                    ..issue.clone()
                });
            }
        }
    }
    let total = rows.len() as u64;
    // Stable: an issue's two clocks due at the same instant keep
    // response before resolution.
    rows.sort_by_key(|r| (r.due_at, r.id));
    rows.truncate(limit);
    Ok(Listed { rows, total })
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreachRow {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub target: String,
    pub at: Ts,
    pub resolved: bool,
}

/// Breaches recorded after event `after_id` (up to `upto_id`), newest
/// first, at most `limit`; and how many there are. By event id rather than
/// by time: a breach is stamped with its deadline, which may precede the
/// check (and so the last digest) that recorded it. With no digest yet,
/// `first_since` bounds the first one by time.
pub fn breaches(
    tx: &Tx,
    after_id: i64,
    upto_id: i64,
    first_since: Option<Ts>,
    limit: usize,
) -> Result<Listed<BreachRow>> {
    let since = first_since.map(ms);
    let total: i64 = tx.one(
        "SELECT count(*) FROM events WHERE kind = 'breached' AND id > ?1 AND id <= ?2 \
         AND (?3 IS NULL OR at > ?3)",
        args![after_id, upto_id, since],
        "counting breaches",
        |r| r.get(0),
    )?;
    let rows = tx.rows(
        "SELECT i.id, i.chain, i.title, json_extract(e.details, '$.target'), e.at, \
           i.status = 'resolved' \
         FROM events e JOIN issues i ON i.id = e.issue_id \
         WHERE e.kind = 'breached' AND e.id > ?1 AND e.id <= ?2 \
           AND (?3 IS NULL OR e.at > ?3) \
         ORDER BY e.at DESC, e.id DESC LIMIT ?4",
        args![after_id, upto_id, since, sql_limit(limit)],
        "reading breaches",
        |r| {
            Ok(BreachRow {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
                target: r.get::<Option<String>>(3)?.unwrap_or_default(),
                at: ts(r.get(4)?)?,
                resolved: r.get(5)?,
            })
        },
    )?;
    Ok(Listed {
        rows,
        total: count(total),
    })
}

/// A page that found nobody on call for its role (a rotation gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapRow {
    pub issue_id: i64,
    pub title: String,
    pub role: String,
    pub at: Ts,
}

/// Pages in (after_id, upto_id] (or, for a first digest, after
/// `first_since`) that fell in a rotation gap, newest first, at most
/// `limit`; and how many there are.
pub fn gap_pages(
    tx: &Tx,
    after_id: i64,
    upto_id: i64,
    first_since: Option<Ts>,
    limit: usize,
) -> Result<Listed<GapRow>> {
    let since = first_since.map(ms);
    let filter = GAP_FILTER;
    let total: i64 = tx.one(
        &format!("SELECT count(*) {filter}"),
        args![after_id, upto_id, since],
        "counting on-call gaps",
        |r| r.get(0),
    )?;
    let rows = tx.rows(
        &format!(
            "SELECT i.id, i.title, json_extract(e.details, '$.role'), e.at {filter} \
             ORDER BY e.at DESC, e.id DESC LIMIT ?4"
        ),
        args![after_id, upto_id, since, sql_limit(limit)],
        "reading on-call gaps",
        |r| {
            Ok(GapRow {
                issue_id: r.get(0)?,
                title: r.get(1)?,
                role: r.get::<Option<String>>(2)?.unwrap_or_default(),
                at: ts(r.get(3)?)?,
            })
        },
    )?;
    Ok(Listed {
        rows,
        total: count(total),
    })
}

/// The pages of [`gap_pages`]: `gap_pages` lists only the pages that were
/// gaps (migration 09); the details decide, as before, among those few.
/// CROSS JOIN: the list drives. The details' `gap` is compared as text:
/// SQLite's json_extract gives 1 for true, PostgreSQL's (the schema's)
/// `true`.
pub const GAP_FILTER: &str = "FROM gap_pages g CROSS JOIN events e ON e.id = g.event_id \
     JOIN issues i ON i.id = e.issue_id \
     WHERE g.event_id > ?1 AND g.event_id <= ?2 AND e.kind = 'escalated' \
       AND (?3 IS NULL OR e.at > ?3) \
       AND CAST(json_extract(e.details, '$.gap') AS TEXT) IN ('1', 'true')";

/// One chain's unresolved issues by age, from [`aging`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aging {
    pub chain: String,
    pub under_4h: u64,
    pub from_4h_to_24h: u64,
    pub from_1d_to_3d: u64,
    pub over_3d: u64,
}

/// Unresolved issues per chain by age at `now`: 0–4 h, 4–24 h, 1–3 d, > 3 d.
///
/// From the per-hour counts (`open_hours`, a few thousand rows at most);
/// the hour each age boundary falls in is split exactly by a short range
/// of `issues_open_chain` (chain, created_at).
pub fn aging(tx: &Tx, now: Ts) -> Result<Vec<Aging>> {
    let h = HOUR_MS;
    let now = ms(now);
    let mut out = Vec::new();
    for (chain, hours) in hours_by_chain(tx)? {
        let total: i64 = hours.iter().map(|&(_, n)| n).sum();
        // Created after each boundary: younger than 4 h, 24 h, 72 h.
        let mut after = [0i64; 3];
        for (a, age) in after.iter_mut().zip([4 * h, 24 * h, 72 * h]) {
            *a = created_after(tx, &chain, &hours, now - age)?;
        }
        let n = count;
        out.push(Aging {
            chain,
            under_4h: n(after[0]),
            from_4h_to_24h: n(after[1] - after[0]),
            from_1d_to_3d: n(after[2] - after[1]),
            over_3d: n(total - after[2]),
        });
    }
    Ok(out)
}

/// A chain's (hour, unresolved issues created in it) counts, in hour order.
type Hours = Vec<(i64, i64)>;

/// Each chain with unresolved issues (by name, as `ORDER BY chain`
/// sorts) and its [`Hours`].
fn hours_by_chain(tx: &Tx) -> Result<Vec<(String, Hours)>> {
    let rows = tx.rows(
        "SELECT chain, hour, n FROM open_hours ORDER BY chain, hour",
        args![],
        "reading backlog",
        |r| Ok((r.get::<String>(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut chains: Vec<(String, Hours)> = Vec::new();
    for (chain, hour, n) in rows {
        match chains.last_mut() {
            Some((c, hours)) if *c == chain => hours.push((hour, n)),
            _ => chains.push((chain, vec![(hour, n)])),
        }
    }
    Ok(chains)
}

/// Unresolved issues of `chain` created after `t`: the later hours'
/// counts, plus those of `t`'s own hour after `t`, counted from whichever
/// end of that hour is nearer.
fn created_after(tx: &Tx, chain: &str, hours: &[(i64, i64)], t: i64) -> Result<i64> {
    let bucket = t / HOUR_MS;
    let later: i64 = hours
        .iter()
        .filter(|&&(b, _)| b > bucket)
        .map(|&(_, n)| n)
        .sum();
    let own = hours
        .iter()
        .find(|&&(b, _)| b == bucket)
        .map_or(0, |&(_, n)| n);
    if own == 0 {
        return Ok(later);
    }
    let (first, last) = bucket_span(bucket);
    let count = |from: i64, to: i64| -> Result<i64> {
        tx.one(
            "SELECT count(*) FROM issues WHERE chain = ?1 AND created_at >= ?2 \
             AND created_at <= ?3 AND status <> 'resolved'",
            args![chain, from, to],
            "counting backlog",
            |r| r.get(0),
        )
    };
    if t - first <= last - t {
        Ok(later + own - count(first, t)?)
    } else {
        Ok(later + count(t + 1, last)?)
    }
}

/// The first and last millisecond whose `created_at / HOUR_MS` (SQLite's
/// and Rust's division, which truncate toward zero) is `bucket`.
fn bucket_span(bucket: i64) -> (i64, i64) {
    let h = HOUR_MS;
    match bucket {
        0 => (1 - h, h - 1),
        b if b > 0 => (b * h, b * h + h - 1),
        b => (b * h - h + 1, b * h),
    }
}

/// How many unresolved issues one (chain, owner kind, owner) has, from
/// [`owners`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerCount {
    pub chain: String,
    /// As stored: `role` or `person`.
    pub owner_kind: String,
    /// Empty when nobody owns the issues.
    pub owner: String,
    /// Unresolved issues.
    pub open: u64,
}

/// Unresolved issues per (chain, owner kind, owner) — few distinct rows —
/// so the caller can check owners and chains against the config. From the
/// kept counts (`open_issues`).
pub fn owners(tx: &Tx) -> Result<Vec<OwnerCount>> {
    tx.rows(
        "SELECT chain, owner_kind, owner, sum(n) FROM open_issues \
         GROUP BY chain, owner_kind, owner HAVING sum(n) > 0",
        args![],
        "reading owners",
        |r| {
            Ok(OwnerCount {
                chain: r.get(0)?,
                owner_kind: r.get(1)?,
                owner: r.get(2)?,
                open: count(r.get(3)?),
            })
        },
    )
}

/// Unresolved issues, from the kept counts (`open_issues`).
pub fn open(tx: &Tx) -> Result<u64> {
    tx.one(
        "SELECT coalesce(sum(n), 0) FROM open_issues",
        args![],
        "counting open issues",
        |r| r.get(0).map(count),
    )
}

/// An issue with nothing left to escalate to, from [`exhausted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub id: i64,
    pub chain: String,
    pub title: String,
}

/// A dead delivery, from [`dead`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dead {
    pub issue_id: i64,
    pub channel: String,
    pub target: String,
    /// Its last error; empty when none was recorded.
    pub error: String,
}

/// Open, unacknowledged issues of `chain` with nothing left to escalate
/// to: at its last level (`levels`) with every repeat (`repeat`) done and
/// nobody on them. At most `limit`, and how many there are.
pub fn exhausted(
    tx: &Tx,
    chain: &str,
    levels: u32,
    repeat: u32,
    limit: usize,
) -> Result<Listed<Exhausted>> {
    // Counted from `open_issues`; listed (in id order, through
    // `issues_status`) only when there are some to list.
    let total: i64 = tx.one(
        "SELECT coalesce(sum(n), 0) FROM open_issues WHERE chain = ?1 AND status = 'open' \
         AND level >= ?2 AND repeat >= ?3",
        args![chain, levels, repeat],
        "counting exhausted issues",
        |r| r.get(0),
    )?;
    if total <= 0 || limit == 0 {
        return Ok(Listed {
            rows: Vec::new(),
            total: count(total),
        });
    }
    let rows = tx.rows(
        "SELECT id, chain, title FROM issues WHERE chain = ?1 AND status = 'open' \
         AND level >= ?2 AND repeat >= ?3 ORDER BY id LIMIT ?4",
        args![chain, levels, repeat, sql_limit(limit)],
        "reading exhausted issues",
        |r| {
            Ok(Exhausted {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
            })
        },
    )?;
    Ok(Listed {
        rows,
        total: count(total),
    })
}

/// Dead deliveries, newest first: up to `limit`, and the total.
pub fn dead(tx: &Tx, limit: usize) -> Result<Listed<Dead>> {
    let total: i64 = tx.one(
        "SELECT count(*) FROM outbox WHERE status = 'dead'",
        args![],
        "counting dead deliveries",
        |r| r.get(0),
    )?;
    let rows = tx.rows(
        "SELECT issue_id, channel, target, coalesce(last_error, '') FROM outbox \
         WHERE status = 'dead' ORDER BY id DESC LIMIT ?1",
        args![sql_limit(limit)],
        "reading dead deliveries",
        |r| {
            Ok(Dead {
                issue_id: r.get(0)?,
                channel: r.get(1)?,
                target: r.get(2)?,
                error: r.get(3)?,
            })
        },
    )?;
    Ok(Listed {
        rows,
        total: count(total),
    })
}

/// Unresolved issues by SLA state, from [`sla_counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaCounts {
    /// Unresolved issues.
    pub open: u64,
    /// Of those, issues with a clock at risk.
    pub at_risk: u64,
    /// Of those, issues with a clock breached.
    pub breached: u64,
}

/// Unresolved issues: total, with a clock at risk, with a clock breached.
/// The last two read the small partial indexes of issues in trouble; their
/// WHERE clauses must match those indexes' exactly.
///
/// Judged at `now`, not only from what the last `check` recorded: a clock
/// whose deadline passed since then counts as breached, one past its
/// at-risk instant as at risk. The recorded states come from their partial
/// indexes; the unrecorded ones can only be among issues whose next check
/// is due (`next_due_at <= now`: a running clock's next instant is part of
/// it), so the cost stays with the issues in trouble and the overdue ones.
pub fn sla_counts(tx: &Tx, now: Ts) -> Result<SlaCounts> {
    let tally = |sql: &str| -> Result<u64> {
        tx.one(sql, args![ms(now)], "counting open issues", |r| {
            r.get(0).map(count)
        })
    };
    Ok(SlaCounts {
        // From the kept counts: a scan of every open issue's index entry
        // cost `status` 48 ms with a million open.
        open: open(tx)?,
        at_risk: tally(AT_RISK_LIVE)? + tally(AT_RISK_UNRECORDED)?,
        breached: tally(BREACHED_COUNT_NOW)? + tally(BREACHED_UNRECORDED)?,
    })
}

/// A running clock of `c` (response or resolution) past its deadline at ?1
/// (a stopped clock: at its stop). "At or before the earlier of ?1 and the
/// stop" is two comparisons: SQLite's two-argument `min` is PostgreSQL's
/// `LEAST`.
macro_rules! live_breached {
    ($c:literal) => {
        concat!(
            "(",
            $c,
            "_state IN ('pending', 'at_risk') AND ",
            $c,
            "_due_at <= ?1 AND (",
            $c,
            "_hold_at IS NULL OR ",
            $c,
            "_due_at <= ",
            $c,
            "_hold_at))"
        )
    };
}

/// A running clock of `c` past its at-risk instant, before its deadline
/// (after the earlier of ?1 and the stop: after either).
macro_rules! live_at_risk {
    ($c:literal) => {
        concat!(
            "(",
            $c,
            "_state IN ('pending', 'at_risk') AND ",
            $c,
            "_risk_at <= ?1 AND (",
            $c,
            "_hold_at IS NULL OR ",
            $c,
            "_risk_at <= ",
            $c,
            "_hold_at) AND (",
            $c,
            "_due_at > ?1 OR ",
            $c,
            "_due_at > ",
            $c,
            "_hold_at))"
        )
    };
}

/// Recorded breaches (index `issues_open_breached`), with ?1 bound for
/// uniformity.
pub const BREACHED_COUNT_NOW: &str = "SELECT count(*) FROM issues WHERE status <> 'resolved' \
     AND (response_state = 'breached' OR resolution_state = 'breached') AND ?1 = ?1";
/// Breaches no check has recorded yet: among issues due for a check.
pub const BREACHED_UNRECORDED: &str = concat!(
    "SELECT count(*) FROM issues WHERE next_due_at <= ?1 AND status <> 'resolved' ",
    // IS NOT DISTINCT FROM, not =: a chain without one target has NULL there.
    "AND NOT (response_state IS NOT DISTINCT FROM 'breached' ",
    "OR resolution_state IS NOT DISTINCT FROM 'breached') AND (",
    live_breached!("response"),
    " OR ",
    live_breached!("resolution"),
    ")"
);
/// Issues recorded at risk (index `issues_open_at_risk`) still at risk now.
pub const AT_RISK_LIVE: &str = concat!(
    "SELECT count(*) FROM issues WHERE status <> 'resolved' ",
    "AND (response_state = 'at_risk' OR resolution_state = 'at_risk') AND (",
    live_at_risk!("response"),
    " OR ",
    live_at_risk!("resolution"),
    ")"
);
/// At risk now without a recorded at-risk clock: among issues due for a check.
pub const AT_RISK_UNRECORDED: &str = concat!(
    "SELECT count(*) FROM issues WHERE next_due_at <= ?1 AND status <> 'resolved' ",
    "AND NOT (response_state IS NOT DISTINCT FROM 'at_risk' ",
    "OR resolution_state IS NOT DISTINCT FROM 'at_risk') AND (",
    live_at_risk!("response"),
    " OR ",
    live_at_risk!("resolution"),
    ")"
);

/// The issues that can have a clock at risk at ?1 (see [`at_risk`]), with
/// each clock's deadline when it is at risk (NULL when not).
pub const AT_RISK_CANDIDATES: &str = concat!(
    "SELECT id, chain, title, owner, CASE WHEN ",
    live_at_risk!("response"),
    " THEN response_due_at END, CASE WHEN ",
    live_at_risk!("resolution"),
    " THEN resolution_due_at END FROM (",
    // The first WHERE is `issues_open_at_risk`'s, word for word. Both
    // indexes named: without statistics the planner may prefer a scan.
    "SELECT id AS cid FROM issues INDEXED BY issues_open_at_risk ",
    "WHERE status <> 'resolved' ",
    "AND (response_state = 'at_risk' OR resolution_state = 'at_risk') ",
    "UNION SELECT id FROM issues INDEXED BY issues_due ",
    "WHERE next_due_at <= ?1 AND status <> 'resolved') AS candidates ",
    // CROSS JOIN: the candidates drive, each read by rowid (left to
    // itself the planner may scan every issue and test the list).
    "CROSS JOIN issues ON issues.id = cid"
);

/// An issue paused for long.
#[derive(Debug, Clone, PartialEq)]
pub struct LongPause {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub since: Ts,
    pub until: Option<Ts>,
    pub reason: Option<String>,
    pub by: String,
}

/// Unresolved issues paused since `before` or earlier, oldest pause first,
/// at most `limit`; and how many there are (index `issues_paused`).
pub fn long_pauses(tx: &Tx, before: Ts, limit: usize) -> Result<Listed<LongPause>> {
    let filter = "FROM issues WHERE paused_at IS NOT NULL AND paused_at <= ?1 \
                  AND status <> 'resolved'";
    let total: i64 = tx.one(
        &format!("SELECT count(*) {filter}"),
        args![ms(before)],
        "counting long pauses",
        |r| r.get(0),
    )?;
    let rows = tx.rows(
        &format!(
            "SELECT id, chain, title, paused_at, paused_until, pause_reason, paused_by {filter} \
             ORDER BY paused_at, id LIMIT ?2"
        ),
        args![ms(before), sql_limit(limit)],
        "reading long pauses",
        |r| {
            Ok(LongPause {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
                since: ts(r.get(3)?)?,
                until: super::ts_opt(r.get(4)?)?,
                reason: r.get(5)?,
                by: r.get::<Option<String>>(6)?.unwrap_or_default(),
            })
        },
    )?;
    Ok(Listed {
        rows,
        total: count(total),
    })
}

/// One chain's top, for [`exhausted`]: how many levels the chain has and
/// how many repeats its last level makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainEnd<'a> {
    pub chain: &'a str,
    pub levels: u32,
    pub repeat: u32,
}

/// How many rows each list of a digest holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At-risk clocks, breaches and exhausted issues (the last across all chains).
    pub listed: usize,
    /// Dead deliveries (each carries an error line, so fewer).
    pub dead: usize,
    /// Pauses longer than this are listed.
    pub long_pause: chrono::TimeDelta,
}

/// Everything a digest shows, as queried by [`collect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// The last digest that went out.
    pub last: Option<LastDigest>,
    /// Start of the period: the last digest, or 24 h before `now` for the
    /// first (or when the clock was set back before the last).
    pub since: Ts,
    /// The newest event: this digest covers up to it.
    pub upto: i64,
    /// Unresolved issues.
    pub open: u64,
    pub at_risk: Listed<RiskRow>,
    pub breaches: Listed<BreachRow>,
    pub aging: Vec<Aging>,
    pub dead: Listed<Dead>,
    pub exhausted: Listed<Exhausted>,
    /// Issues paused longer than [`Limits::long_pause`].
    pub long_pauses: Listed<LongPause>,
    /// Pages in the period that found nobody on call.
    pub gaps: Listed<GapRow>,
    /// Unresolved issues per (chain, owner kind, owner): see [`owners`].
    pub owners: Vec<OwnerCount>,
    /// When the last check run started, if one ever did.
    pub last_run_at: Option<Ts>,
    /// Check runs started in the period.
    pub runs: u64,
    /// Of those, runs with failed or dead deliveries.
    pub runs_failing: u64,
}

/// Run every digest query at `now` in one transaction, so the figures agree
/// with each other; `chains` are the configured chains' tops (for
/// exhausted issues).
pub fn collect(tx: &Tx, now: Ts, chains: &[ChainEnd], limits: Limits) -> Result<Data> {
    let last = super::health::last_digest(tx)?;
    let since = last
        .map(|l| l.at)
        .filter(|t| *t <= now)
        .unwrap_or(now - chrono::TimeDelta::hours(24));
    let upto = super::events::max_id(tx)?;
    let open = open(tx)?;
    let breaches = match last {
        Some(l) => breaches(tx, l.last_event_id, upto, None, limits.listed)?,
        None => breaches(tx, 0, upto, Some(since), limits.listed)?,
    };
    let gaps = match last {
        Some(l) => gap_pages(tx, l.last_event_id, upto, None, limits.listed)?,
        None => gap_pages(tx, 0, upto, Some(since), limits.listed)?,
    };
    let mut all_exhausted = Listed::default();
    for c in chains {
        // One shared budget across chains: the list shows `listed` in all.
        let left = limits.listed.saturating_sub(all_exhausted.rows.len());
        let Listed { rows, total } = exhausted(tx, c.chain, c.levels, c.repeat, left)?;
        all_exhausted.rows.extend(rows);
        all_exhausted.total += total;
    }
    // A run stamped at `now` itself counts: [since, now].
    let runs = super::health::runs_between(tx, since, now + chrono::TimeDelta::milliseconds(1))?;
    Ok(Data {
        last,
        since,
        upto,
        open,
        at_risk: at_risk(tx, now, limits.listed)?,
        breaches,
        aging: aging(tx, now)?,
        dead: dead(tx, limits.dead)?,
        exhausted: all_exhausted,
        long_pauses: long_pauses(tx, now - limits.long_pause, limits.listed)?,
        gaps,
        owners: owners(tx)?,
        last_run_at: super::health::last_run(tx, now + super::health::SKEW)?
            .and_then(|r| r.started_at),
        runs: runs.runs,
        runs_failing: runs.failing,
    })
}

/// A SQL count as a u64 (a count is never negative).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A row budget as a bound `LIMIT` (no budget is that large).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
