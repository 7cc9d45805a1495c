//! Per-level stays, kept on the event log as level events are appended
//! (see `migrations/07-aggregates`): the report reads the stays that ended
//! in its window from the events that ended them, instead of replaying
//! every event of every issue open in the window.
//!
//! A level event (`created`, `escalated`, `resolved`, `reopened`, `capped`,
//! `moved`) that is not a repeat page is a *mark*: it ends the issue's
//! ongoing stay, if any, and (unless it resolves the issue) begins the
//! next. When it is appended, the issue's previous mark is read (the tail
//! of its `events_issue` range) and the new row records the stay it ends.
//! Nothing else is written: no table, no index, no issue row. Events are
//! folded in the order they are appended; the report's former query
//! ordered them by time, which is the same order unless an event is
//! written with a time before the issue's previous level event. escalate
//! never does: its own commands record `now`, and `ingest` records a
//! helpdesk's late change no earlier than the issue's last level event
//! (`last_level_event_at`).

use anyhow::{Context, Result};

use super::sql::args;
use super::{SqlContext, Tx};

/// The event kinds that begin or end a stay.
pub const KINDS: [&str; 6] = [
    "created",
    "escalated",
    "resolved",
    "reopened",
    "capped",
    "moved",
];

/// What an event records about stays: the columns `mark`, `stay_at` and
/// `stay_level` of its row (all None for an event that is not a mark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    /// What [`pack`] packs of the mark itself.
    pub mark: Option<i64>,
    /// When the stay this mark ends began.
    pub stay_at: Option<i64>,
    /// That stay's level.
    pub stay_level: Option<i64>,
}

/// A level event as [`fold`] and the previous-mark look-up see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LevelEvent {
    at: i64,
    kind: String,
    level: Option<i64>,
}

impl LevelEvent {
    /// Whether this event begins a stay (it ends one whenever it is a mark).
    fn begins_stay(&self) -> bool {
        self.kind != "resolved" && self.level.is_some()
    }
}

/// How a stay at `from` ended, by an event of `kind` to `level`: 1 by an
/// escalation higher, 2 by resolution, 0 otherwise (a move, a cap, a page
/// to a lower level).
pub fn ended(kind: &str, level: Option<i64>, from: i64) -> i64 {
    match kind {
        "resolved" => 2,
        "escalated" if level.is_some_and(|l| l > from) => 1,
        _ => 0,
    }
}

/// The columns an event of `kind` at `level`, at `at`, gets from the
/// issue's previous mark; called before the event is appended.
pub(super) fn mark_of(
    tx: &Tx,
    issue_id: i64,
    at: i64,
    kind: &str,
    level: Option<u32>,
) -> Result<Mark> {
    if !KINDS.contains(&kind) {
        return Ok(Mark::default());
    }
    let level = level.map(i64::from);
    let last = last_mark(tx, issue_id)?;
    // A page at the level of the previous level event is a repeat (a
    // repeat has its mark's level, so the mark's level is that event's).
    if kind == "escalated" && level == last.as_ref().and_then(|l| l.level) {
        return Ok(Mark::default());
    }
    let this = LevelEvent {
        at,
        kind: kind.to_string(),
        level,
    };
    let ongoing = last.filter(|l| l.begins);
    Ok(Mark {
        mark: Some(pack(&this)?),
        stay_at: ongoing.as_ref().map(|l| l.at),
        stay_level: ongoing.and_then(|l| l.level),
    })
}

/// A mark's `mark` column: at * 65536 + level * 2 + begins (level 0:
/// none). Times up to the year 4400 and levels up to 32767 fit (a config
/// allows 100 levels); a level beyond that would read back as none, so it
/// is refused rather than packed wrong.
fn pack(e: &LevelEvent) -> Result<i64> {
    let level = match e.level {
        None => 0,
        Some(l) if (1..32_768).contains(&l) => l,
        Some(l) => anyhow::bail!("level {l} is out of range for the report's stays"),
    };
    Ok(e.at.saturating_mul(65_536) + level * 2 + i64::from(e.begins_stay()))
}

/// What [`pack`] packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    at: i64,
    level: Option<i64>,
    begins: bool,
}

fn unpack(mark: i64) -> Packed {
    let low = mark.rem_euclid(65_536);
    Packed {
        at: mark.div_euclid(65_536),
        level: Some(low / 2).filter(|l| *l > 0),
        begins: low % 2 == 1,
    }
}

/// When the issue's last level event happened (None: it has none), for
/// writers of outside times that must not go back before it.
pub fn last_level_event_at(tx: &Tx, issue_id: i64) -> Result<Option<crate::model::Ts>> {
    let at = last_mark(tx, issue_id)?.map(|m| m.at);
    at.map(super::ts)
        .transpose()
        .context("reading the issue's last level event")
}

/// The issue's last mark, read off `events_issue` alone (walking back over
/// its pages and SLA events since).
fn last_mark(tx: &Tx, issue_id: i64) -> Result<Option<Packed>> {
    tx.opt(
        "SELECT mark FROM events WHERE issue_id = ?1 AND mark IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
        args![issue_id],
        "reading the issue's last level event",
        |r| r.get(0).map(unpack),
    )
}

/// One stay of an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    pub level: i64,
    pub start_at: i64,
    /// None: still going on.
    pub end_at: Option<i64>,
    /// As [`ended`] says (0 while going on).
    pub ended: i64,
}

/// Every stay of an issue, replayed from its level events in the order
/// they were appended: the reference the kept marks must agree with.
pub fn replay(tx: &Tx, issue_id: i64) -> Result<Vec<Stay>> {
    let events = level_events(
        tx,
        issue_id,
        "SELECT at, kind, level FROM events WHERE issue_id = ?1 \
         AND kind IN ('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved') \
         ORDER BY id",
    )?;
    Ok(fold(&events))
}

fn level_events(tx: &Tx, issue_id: i64, sql: &str) -> Result<Vec<LevelEvent>> {
    tx.rows(sql, args![issue_id], "reading level events", |r| {
        Ok(LevelEvent {
            at: r.get(0)?,
            kind: r.get(1)?,
            level: r.get(2)?,
        })
    })
}

/// The stays of one issue's level events, in order.
fn fold(events: &[LevelEvent]) -> Vec<Stay> {
    let mut out: Vec<Stay> = Vec::new();
    let mut last_level: Option<i64> = None;
    let mut open: Option<usize> = None;
    for e in events {
        if e.kind == "escalated" && e.level == last_level {
            continue;
        }
        last_level = e.level;
        if let Some(s) = open.take().and_then(|i| out.get_mut(i)) {
            s.end_at = Some(e.at);
            s.ended = ended(&e.kind, e.level, s.level);
        }
        if let (Some(level), true) = (e.level, e.begins_stay()) {
            out.push(Stay {
                level,
                start_at: e.at,
                end_at: None,
                ended: 0,
            });
            open = Some(out.len() - 1);
        }
    }
    out
}

/// The stays an issue's marks record (each mark's ended stay, then the
/// one its last mark began, if going on), to compare with [`replay`].
pub fn kept(tx: &Tx, issue_id: i64) -> Result<Vec<Stay>> {
    let mut out = Vec::new();
    let mut last: Option<LevelEvent> = None;
    tx.each(
        "SELECT at, kind, level, stay_at, stay_level FROM events \
         WHERE issue_id = ?1 AND mark IS NOT NULL ORDER BY id",
        args![issue_id],
        "reading marks",
        |r| {
            let e = LevelEvent {
                at: r.get(0)?,
                kind: r.get(1)?,
                level: r.get(2)?,
            };
            let (start, from): (Option<i64>, Option<i64>) = (r.get(3)?, r.get(4)?);
            if let (Some(start_at), Some(level)) = (start, from) {
                out.push(Stay {
                    level,
                    start_at,
                    end_at: Some(e.at),
                    ended: ended(&e.kind, e.level, level),
                });
            }
            last = Some(e);
            Ok(())
        },
    )?;
    if let Some(e) = last.filter(LevelEvent::begins_stay) {
        if let Some(level) = e.level {
            out.push(Stay {
                level,
                start_at: e.at,
                end_at: None,
                ended: 0,
            });
        }
    }
    Ok(out)
}

/// Recompute every mark from the event log (what the migration did), for
/// a database whose rows were written without going through the store: a
/// bulk load, a test fixture.
pub fn rebuild(conn: &rusqlite::Connection) -> Result<()> {
    let script = include_str!("../../migrations/07-aggregates/up.sql");
    // What follows the marker's line is the backfill.
    let body = script
        .split_once("-- backfill")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, body)| body)
        .unwrap_or_default();
    conn.execute_batch(
        "UPDATE events SET mark = NULL, stay_at = NULL, stay_level = NULL \
         WHERE mark IS NOT NULL",
    )
    .sql("clearing marks")?;
    conn.execute_batch(body).sql("rebuilding marks")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at: i64, kind: &str, level: i64) -> LevelEvent {
        LevelEvent {
            at,
            kind: kind.to_string(),
            level: Some(level),
        }
    }

    #[test]
    fn a_mark_packs_its_time_level_and_whether_it_begins_a_stay() {
        for e in [
            ev(1_793_610_000_123, "escalated", 100),
            ev(32_503_680_000_000, "capped", 32_767),
            ev(0, "created", 1),
            ev(-5_000, "resolved", 3),
            LevelEvent {
                at: 42,
                kind: "moved".into(),
                level: None,
            },
        ] {
            let p = unpack(pack(&e).expect("packs"));
            assert_eq!((p.at, p.level, p.begins), (e.at, e.level, e.begins_stay()));
        }
    }

    #[test]
    fn a_level_that_does_not_fit_is_refused() {
        assert!(pack(&ev(0, "escalated", 32_768)).is_err());
    }

    #[test]
    fn repeats_do_not_split_a_stay_and_resolution_ends_it() {
        let stays = fold(&[
            ev(0, "created", 1),
            ev(10, "escalated", 2),
            ev(20, "escalated", 2),
            ev(30, "resolved", 2),
            ev(40, "reopened", 1),
        ]);
        let s = |level, start_at, end_at, ended| Stay {
            level,
            start_at,
            end_at,
            ended,
        };
        assert_eq!(
            stays,
            vec![
                s(1, 0, Some(10), 1),
                s(2, 10, Some(30), 2),
                s(1, 40, None, 0)
            ]
        );
    }
}
