//! The checker's run log and the digest log: what `status` (the dead-man
//! switch for the cron job) and `digest` ("since the last digest") read.

use anyhow::{Context, Result};

use super::sql::args;
use super::{ms, ts, Tx};
use crate::model::Ts;

/// One `escalate check`, as recorded at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    pub started_at: Option<Ts>,
    pub duration_ms: i64,
    pub examined: u64,
    pub escalations: u64,
    pub sla_events: u64,
    pub delivered: u64,
    pub failed: u64,
    pub dead: u64,
    pub orphans: u64,
    /// The host that ran it (None: recorded before schema 13).
    pub host: Option<String>,
}

pub fn record_run(tx: &Tx, started_at: Ts, r: &RunRecord) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.exec(
        "INSERT INTO runs (started_at, duration_ms, examined, escalations, sla_events, \
         delivered, failed, dead, orphans, host) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        args![
            ms(started_at),
            r.duration_ms,
            n(r.examined),
            n(r.escalations),
            n(r.sla_events),
            n(r.delivered),
            n(r.failed),
            n(r.dead),
            n(r.orphans),
            r.host.as_deref(),
        ],
        "recording the check run",
    )?;
    Ok(())
}

/// The most recent run (by its start time), if any.
/// The latest run started at or before `until`: runs stamped later (a host
/// clock that jumped ahead, a what-if `--now` run against this database)
/// must not make a stalled checker look alive until that date.
pub fn last_run(tx: &Tx, until: Ts) -> Result<Option<RunRecord>> {
    tx.opt(
        "SELECT started_at, duration_ms, examined, escalations, sla_events, delivered, failed, \
         dead, orphans, host FROM runs WHERE started_at <= ?1 \
         ORDER BY started_at DESC, id DESC LIMIT 1",
        args![ms(until)],
        "reading the last check run",
        |r| {
            let n = |i: usize| r.get::<i64>(i).map(count);
            Ok(RunRecord {
                started_at: Some(ts(r.get(0)?)?),
                duration_ms: r.get(1)?,
                examined: n(2)?,
                escalations: n(3)?,
                sla_events: n(4)?,
                delivered: n(5)?,
                failed: n(6)?,
                dead: n(7)?,
                orphans: n(8)?,
                host: r.get(9)?,
            })
        },
    )
}

/// Check runs in a period, from [`runs_between`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Runs started in the period.
    pub runs: u64,
    /// Of those, runs with failed or dead deliveries.
    pub failing: u64,
}

/// One host's checks, from [`hosts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRun {
    pub host: String,
    /// Its last run.
    pub last: Ts,
    /// Its runs in the period.
    pub runs: u64,
}

/// Every named host that ran a check in (since, until], with its last run
/// and how many, by name: `status` names a host that stopped while others
/// carry on. Runs from before hosts were recorded (schema 13) have none
/// and are left out.
pub fn hosts(tx: &Tx, since: Ts, until: Ts) -> Result<Vec<HostRun>> {
    tx.rows(
        "SELECT host, max(started_at), count(*) FROM runs \
         WHERE host IS NOT NULL AND started_at > ?1 AND started_at <= ?2 \
         GROUP BY host ORDER BY host",
        args![ms(since), ms(until)],
        "reading each host's last check",
        |r| {
            Ok(HostRun {
                host: r.get(0)?,
                last: ts(r.get(1)?)?,
                runs: count(r.get(2)?),
            })
        },
    )
}

/// How far ahead of `now` a run may be stamped and still count as having
/// happened: clocks of two processes on one host, or of hosts sharing a
/// database, differ by a little.
pub const SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Runs stamped after `after`, and the latest of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FutureRuns {
    pub count: u64,
    pub latest: Option<Ts>,
}

/// Runs dated after `after`: reported by `status`, never counted as alive.
pub fn runs_after(tx: &Tx, after: Ts) -> Result<FutureRuns> {
    let (n, latest): (i64, Option<i64>) = tx.one(
        "SELECT count(*), max(started_at) FROM runs WHERE started_at > ?1",
        args![ms(after)],
        "reading runs dated in the future",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let latest = latest
        .map(ts)
        .transpose()
        .context("reading runs dated in the future")?;
    Ok(FutureRuns {
        count: count(n),
        latest,
    })
}

/// Runs started in [since, until) and how many of them had failures.
pub fn runs_between(tx: &Tx, since: Ts, until: Ts) -> Result<RunCounts> {
    // A CASE, not a sum of a comparison: PostgreSQL does not add booleans.
    tx.one(
        "SELECT count(*), coalesce(sum(CASE WHEN failed + dead > 0 THEN 1 ELSE 0 END), 0) \
         FROM runs WHERE started_at >= ?1 AND started_at < ?2",
        args![ms(since), ms(until)],
        "counting check runs",
        |r| {
            Ok(RunCounts {
                runs: count(r.get(0)?),
                failing: count(r.get(1)?),
            })
        },
    )
}

/// The last digest that went out, from [`last_digest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastDigest {
    /// When it went out.
    pub at: Ts,
    /// The last event it covered; the next digest starts after it.
    pub last_event_id: i64,
}

/// The last digest that went out, if any.
pub fn last_digest(tx: &Tx) -> Result<Option<LastDigest>> {
    tx.opt(
        "SELECT at, last_event_id FROM digests ORDER BY id DESC LIMIT 1",
        args![],
        "reading the last digest",
        |r| {
            Ok(LastDigest {
                at: ts(r.get(0)?)?,
                last_event_id: r.get(1)?,
            })
        },
    )
}

pub fn record_digest(tx: &Tx, at: Ts, since: Ts, sent_to: &str, last_event_id: i64) -> Result<()> {
    tx.exec(
        "INSERT INTO digests (at, since, sent_to, last_event_id) VALUES (?1, ?2, ?3, ?4)",
        args![ms(at), ms(since), sent_to, last_event_id],
        "recording the digest",
    )?;
    Ok(())
}

/// A SQL count as a u64 (a count is never negative).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
