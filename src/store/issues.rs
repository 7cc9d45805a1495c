//! Issue rows: insert, fetch, save, the due-issue query `check` runs on, and
//! the chain bookkeeping behind live config changes and orphan detection.

use anyhow::Result;

use super::sql::{args, Arg, Row};
use super::{ms, open_counts, ts, ts_opt, Tx};
use crate::model::sla::{self, Clock, Clocks};
use crate::model::{Edge, Escalation, Issue, Listed, OwnerKind, Pause, Status, Task, Ts};

pub struct NewIssue<'a> {
    pub chain: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub external_ref: Option<&'a str>,
    pub esc: &'a Escalation,
    pub owner: &'a str,
    pub owner_kind: OwnerKind,
    pub created_at: Ts,
    pub next_due_at: Option<Ts>,
    pub sla: &'a Clocks,
    pub edge: &'a Edge,
}

/// Which issues `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueFilter {
    Unresolved,
    Status(Status),
    All,
}

const COLUMNS: &str = "id, chain, title, description, external_ref, status, level, max_level, \
    repeat, epoch, epoch_level, epoch_at, owner, owner_kind, created_at, acked_at, acked_by, \
    resolved_at, resolved_by, next_due_at, first_acked_at, response_risk_at, response_due_at, \
    response_state, response_settled_at, resolution_risk_at, resolution_due_at, resolution_state, \
    resolution_settled_at, source, external_id, priority, tags, details, dedup_count, route, \
    task_tracker, task_key, task_url, task_id, esc_hold_at, esc_held_ms, sla_held_ms, \
    response_hold_at, resolution_hold_at, paused_at, paused_until, pause_reason, paused_by";

/// An SLA clock from four columns starting at `at` (risk, due, state,
/// settled) and its hold at `hold`; no state means the chain set no such
/// target.
fn clock_from(r: &Row, at: usize, hold: usize) -> Result<Option<Clock>> {
    let state: Option<String> = r.get(at + 2)?;
    let Some(state) = state else { return Ok(None) };
    let state = sla::State::parse(&state)
        .ok_or_else(|| anyhow::anyhow!("column {}: unknown SLA state {state:?}", at + 2))?;
    let (risk, due): (Option<i64>, Option<i64>) = (r.get(at)?, r.get(at + 1)?);
    let (Some(risk), Some(due)) = (risk, due) else {
        return Ok(None);
    };
    Ok(Some(Clock {
        risk_at: ts(risk)?,
        due_at: ts(due)?,
        state,
        settled_at: ts_opt(r.get(at + 3)?)?,
        hold: ts_opt(r.get(hold)?)?,
    }))
}

/// The four column values of an optional clock.
type ClockColumns = (Option<i64>, Option<i64>, Option<&'static str>, Option<i64>);

fn clock_to(c: Option<&Clock>) -> ClockColumns {
    match c {
        Some(c) => (
            Some(ms(c.risk_at)),
            Some(ms(c.due_at)),
            Some(c.state.as_str()),
            c.settled_at.map(ms),
        ),
        None => (None, None, None, None),
    }
}

fn from_row(r: &Row) -> Result<Issue> {
    let status: String = r.get(5)?;
    let status = Status::parse(&status)
        .ok_or_else(|| anyhow::anyhow!("column 5: unknown status {status:?}"))?;
    let owner_kind: String = r.get(13)?;
    Ok(Issue {
        id: r.get(0)?,
        chain: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        external_ref: r.get(4)?,
        esc: Escalation {
            status,
            level: r.get(6)?,
            repeat: r.get(8)?,
            epoch: r.get(9)?,
            epoch_level: r.get(10)?,
            epoch_at: ts(r.get(11)?)?,
            acked_at: ts_opt(r.get(15)?)?,
            hold: ts_opt(r.get(40)?)?,
            held: chrono::TimeDelta::milliseconds(r.get(41)?),
        },
        max_level: r.get(7)?,
        owner: r.get(12)?,
        owner_kind: if owner_kind == "person" {
            OwnerKind::Person
        } else {
            OwnerKind::Role
        },
        created_at: ts(r.get(14)?)?,
        acked_by: r.get(16)?,
        resolved_at: ts_opt(r.get(17)?)?,
        resolved_by: r.get(18)?,
        next_due_at: ts_opt(r.get(19)?)?,
        first_acked_at: ts_opt(r.get(20)?)?,
        sla: Clocks {
            response: clock_from(r, 21, 43)?,
            resolution: clock_from(r, 25, 44)?,
            held: chrono::TimeDelta::milliseconds(r.get(42)?),
        },
        edge: Edge {
            source: r.get(29)?,
            external_id: r.get(30)?,
            priority: r.get(31)?,
            tags: serde_json::from_str(&r.get::<String>(32)?).unwrap_or_default(),
            details: serde_json::from_str(&r.get::<String>(33)?).unwrap_or_default(),
            dedup_count: r.get(34)?,
            route: r.get(35)?,
            task: match (r.get::<Option<String>>(36)?, r.get::<Option<String>>(37)?) {
                (Some(tracker), Some(key)) => Some(Task {
                    tracker,
                    key,
                    url: r.get::<Option<String>>(38)?.unwrap_or_default(),
                    id: r.get::<Option<String>>(39)?.unwrap_or_default(),
                }),
                _ => None,
            },
        },
        pause: match ts_opt(r.get(45)?)? {
            Some(since) => Some(Pause {
                since,
                until: ts_opt(r.get(46)?)?,
                reason: r.get(47)?,
                by: r.get::<Option<String>>(48)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

pub fn insert(tx: &Tx, new: &NewIssue) -> Result<i64> {
    let (r1, r2, r3, _) = clock_to(new.sla.response.as_ref());
    let (s1, s2, s3, _) = clock_to(new.sla.resolution.as_ref());
    let tags = serde_json::to_string(&new.edge.tags).unwrap_or_else(|_| "[]".into());
    let details = serde_json::Value::Object(new.edge.details.clone()).to_string();
    let id = tx.one(
        "INSERT INTO issues (chain, title, description, external_ref, status, level, max_level, \
         repeat, epoch, epoch_level, epoch_at, owner, owner_kind, created_at, next_due_at, \
         response_risk_at, response_due_at, response_state, resolution_risk_at, \
         resolution_due_at, resolution_state, source, external_id, priority, tags, details, \
         route) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?26, ?12, ?13, \
         ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25) RETURNING id",
        args![
            new.chain,
            new.title,
            new.description,
            new.external_ref,
            new.esc.status.as_str(),
            new.esc.level,
            new.esc.repeat,
            new.esc.epoch,
            new.esc.epoch_level,
            ms(new.esc.epoch_at),
            new.owner,
            ms(new.created_at),
            new.next_due_at.map(ms),
            r1,
            r2,
            r3,
            s1,
            s2,
            s3,
            new.edge.source.as_deref(),
            new.edge.external_id.as_deref(),
            new.edge.priority.as_deref(),
            tags.as_str(),
            details.as_str(),
            new.edge.route.as_deref(),
            new.owner_kind.as_str(),
        ],
        "inserting issue",
        |r| r.get(0),
    )?;
    let counted = (new.esc.status != Status::Resolved).then(|| open_counts::Place {
        chain: new.chain,
        status: new.esc.status.as_str(),
        owner_kind: new.owner_kind.as_str(),
        owner: new.owner,
        level: new.esc.level,
        repeat: new.esc.repeat,
        hour: ms(new.created_at) / super::HOUR_MS,
    });
    open_counts::moved(None, counted);
    Ok(id)
}

pub fn get(tx: &Tx, id: i64) -> Result<Option<Issue>> {
    tx.opt(
        &format!("SELECT {COLUMNS} FROM issues WHERE id = ?1"),
        args![id],
        "reading issue",
        from_row,
    )
}

/// Write back every mutable column of an issue.
pub fn save(tx: &Tx, issue: &Issue) -> Result<()> {
    // The row it replaces, for the open-issue counts (one read of the
    // page the update writes anyway).
    let stored = open_counts::stored(tx, issue.id)?;
    open_counts::moved(
        stored.as_ref().and_then(open_counts::Stored::place),
        open_counts::Place::of(issue),
    );
    let tags = serde_json::to_string(&issue.edge.tags).unwrap_or_else(|_| "[]".into());
    let details = serde_json::Value::Object(issue.edge.details.clone()).to_string();
    let mut set = String::new();
    let mut values = vec![Arg::Int(issue.id)];
    for (column, value) in mutable_columns(issue) {
        push_column(&mut set, &mut values, column, value);
    }
    push_column(&mut set, &mut values, "tags", Arg::Text(&tags));
    push_column(&mut set, &mut values, "details", Arg::Text(&details));
    // The same text every time, so the statement cache keeps it prepared.
    let sql = format!("UPDATE issues SET {set} WHERE id = ?1");
    tx.exec(&sql, &values, "saving issue")?;
    Ok(())
}

/// Write back the columns of `after` that differ from `before` (the same
/// issue as it was read). An UPDATE costs index upkeep and CHECKs for every
/// column it names, changed or not: an escalation that moves the level,
/// owner and due time leaves the status, SLA and source indexes alone.
pub fn save_changes(tx: &Tx, before: &Issue, after: &Issue) -> Result<()> {
    open_counts::moved(
        open_counts::Place::of(before),
        open_counts::Place::of(after),
    );
    // Serialized only when they changed (the text must outlive `values`).
    let tags = (before.edge.tags != after.edge.tags)
        .then(|| serde_json::to_string(&after.edge.tags).unwrap_or_else(|_| "[]".into()));
    let details = (before.edge.details != after.edge.details)
        .then(|| serde_json::Value::Object(after.edge.details.clone()).to_string());
    let mut set = String::new();
    let mut values = vec![Arg::Int(after.id)];
    let old = mutable_columns(before);
    for ((column, new), (_, old)) in mutable_columns(after).into_iter().zip(old) {
        if new != old {
            push_column(&mut set, &mut values, column, new);
        }
    }
    if let Some(tags) = &tags {
        push_column(&mut set, &mut values, "tags", Arg::Text(tags));
    }
    if let Some(details) = &details {
        push_column(&mut set, &mut values, "details", Arg::Text(details));
    }
    if set.is_empty() {
        return Ok(());
    }
    // Few distinct column sets occur, so the cache keeps each one prepared.
    let sql = format!("UPDATE issues SET {set} WHERE id = ?1");
    tx.exec(&sql, &values, "saving issue")?;
    Ok(())
}

fn push_column<'a>(set: &mut String, values: &mut Vec<Arg<'a>>, column: &str, value: Arg<'a>) {
    let sep = if set.is_empty() { "" } else { ", " };
    set.push_str(&format!("{sep}{column} = ?{}", values.len() + 1));
    values.push(value);
}

/// The columns [`save`] writes (tags and details aside), as stored.
fn mutable_columns(i: &Issue) -> [(&'static str, Arg<'_>); 40] {
    let int = Arg::Int;
    let time = |t: Option<Ts>| t.map_or(Arg::Null, |t| Arg::Int(ms(t)));
    fn text(t: Option<&str>) -> Arg<'_> {
        t.map_or(Arg::Null, Arg::Text)
    }
    let (r1, r2, r3, r4) = clock_to(i.sla.response.as_ref());
    let (s1, s2, s3, s4) = clock_to(i.sla.resolution.as_ref());
    let task = i.edge.task.as_ref();
    let pause = i.pause.as_ref();
    let hold = |c: Option<&Clock>| time(c.and_then(|c| c.hold));
    [
        ("status", text(Some(i.esc.status.as_str()))),
        ("level", int(i64::from(i.esc.level))),
        ("max_level", int(i64::from(i.max_level))),
        ("repeat", int(i64::from(i.esc.repeat))),
        ("epoch", int(i64::from(i.esc.epoch))),
        ("epoch_level", int(i64::from(i.esc.epoch_level))),
        ("epoch_at", int(ms(i.esc.epoch_at))),
        ("owner", text(Some(&i.owner))),
        ("owner_kind", text(Some(i.owner_kind.as_str()))),
        ("acked_at", time(i.esc.acked_at)),
        ("acked_by", text(i.acked_by.as_deref())),
        ("resolved_at", time(i.resolved_at)),
        ("resolved_by", text(i.resolved_by.as_deref())),
        ("next_due_at", time(i.next_due_at)),
        ("first_acked_at", time(i.first_acked_at)),
        ("response_risk_at", r1.map_or(Arg::Null, int)),
        ("response_due_at", r2.map_or(Arg::Null, int)),
        ("response_state", text(r3)),
        ("response_settled_at", r4.map_or(Arg::Null, int)),
        ("resolution_risk_at", s1.map_or(Arg::Null, int)),
        ("resolution_due_at", s2.map_or(Arg::Null, int)),
        ("resolution_state", text(s3)),
        ("resolution_settled_at", s4.map_or(Arg::Null, int)),
        ("priority", text(i.edge.priority.as_deref())),
        ("dedup_count", int(i64::from(i.edge.dedup_count))),
        ("task_tracker", text(task.map(|t| t.tracker.as_str()))),
        ("task_key", text(task.map(|t| t.key.as_str()))),
        ("task_url", text(task.map(|t| t.url.as_str()))),
        ("task_id", text(task.map(|t| t.id.as_str()))),
        ("title", text(Some(&i.title))),
        ("description", text(i.description.as_deref())),
        ("esc_hold_at", time(i.esc.hold)),
        ("esc_held_ms", int(i.esc.held.num_milliseconds())),
        ("sla_held_ms", int(i.sla.held.num_milliseconds())),
        ("response_hold_at", hold(i.sla.response.as_ref())),
        ("resolution_hold_at", hold(i.sla.resolution.as_ref())),
        ("paused_at", time(pause.map(|p| p.since))),
        ("paused_until", time(pause.and_then(|p| p.until))),
        (
            "pause_reason",
            text(pause.and_then(|p| p.reason.as_deref())),
        ),
        ("paused_by", text(pause.map(|p| p.by.as_str()))),
    ]
}

/// Issues whose next escalation step is due at or before `now`: an index
/// range scan, so the cost follows the due issues, not the open ones.
pub fn due(tx: &Tx, now: Ts) -> Result<Vec<Issue>> {
    due_upto(tx, now, usize::MAX)
}

/// The first `limit` of [`due`] (most overdue first): one batch of a check.
pub fn due_upto(tx: &Tx, now: Ts, limit: usize) -> Result<Vec<Issue>> {
    // PostgreSQL sends every row a query selects before the next statement
    // can run: a batch says LIMIT there (the batch size is one constant,
    // so one statement text). SQLite steps only the rows read.
    let limit_sql = match limit {
        n if tx.is_pg() && n != usize::MAX => format!(" LIMIT {n}"),
        _ => String::new(),
    };
    tx.rows_upto(
        &format!(
            "SELECT {COLUMNS} FROM issues WHERE next_due_at IS NOT NULL AND next_due_at <= ?1 \
             ORDER BY next_due_at, id{limit_sql}"
        ),
        args![ms(now)],
        limit,
        "reading due issues",
        from_row,
    )
}

/// Unresolved issues of one chain (to recompute due times after a config
/// change).
pub fn unresolved_in_chain(tx: &Tx, chain: &str) -> Result<Vec<Issue>> {
    tx.rows(
        &format!(
            "SELECT {COLUMNS} FROM issues WHERE chain = ?1 AND status <> 'resolved' ORDER BY id"
        ),
        args![chain],
        "reading chain issues",
        from_row,
    )
}

pub fn set_next_due(tx: &Tx, id: i64, next_due: Option<Ts>) -> Result<()> {
    tx.exec(
        "UPDATE issues SET next_due_at = ?2 WHERE id = ?1",
        args![id, next_due.map(ms)],
        "updating due time",
    )?;
    Ok(())
}

/// Put an issue on another chain (`move`). Not among the columns [`save`]
/// writes: only a move changes it, and the caller saves the rest.
pub fn set_chain(tx: &Tx, id: i64, chain: &str) -> Result<()> {
    if let Some(stored) = open_counts::stored(tx, id)? {
        let after = stored.place().map(|p| open_counts::Place { chain, ..p });
        open_counts::moved(stored.place(), after);
    }
    tx.exec(
        "UPDATE issues SET chain = ?2 WHERE id = ?1",
        args![id, chain],
        "moving issue to another chain",
    )?;
    Ok(())
}

/// A chain some issue has used, with the schedule fingerprint its issues
/// were last computed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRecord {
    pub name: String,
    pub fingerprint: Option<String>,
}

/// Every chain name any issue has used.
pub fn chain_fingerprints(tx: &Tx) -> Result<Vec<ChainRecord>> {
    tx.rows(
        "SELECT name, fingerprint FROM chains ORDER BY name",
        args![],
        "reading chains",
        |r| {
            Ok(ChainRecord {
                name: r.get(0)?,
                fingerprint: r.get(1)?,
            })
        },
    )
}

/// Remember a chain the first time an issue uses it, with the fingerprint
/// of the config its first issue was scheduled with.
pub fn ensure_chain(tx: &Tx, chain: &str, fingerprint: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO chains (name, fingerprint) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        args![chain, fingerprint],
        "recording chain",
    )?;
    Ok(())
}

pub fn set_fingerprint(tx: &Tx, chain: &str, fingerprint: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO chains (name, fingerprint) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
        args![chain, fingerprint],
        "recording chain fingerprint",
    )?;
    Ok(())
}

/// Ids of unresolved issues on a chain (for orphan reports), at most `limit`,
/// and their total count.
pub fn unresolved_ids(tx: &Tx, chain: &str, limit: usize) -> Result<Listed<i64>> {
    let total = tx.one(
        "SELECT count(*) FROM issues WHERE chain = ?1 AND status <> 'resolved'",
        args![chain],
        "counting chain issues",
        |r| r.get::<i64>(0).map(count),
    )?;
    let ids = tx.rows(
        "SELECT id FROM issues WHERE chain = ?1 AND status <> 'resolved' ORDER BY id LIMIT ?2",
        args![chain, i64::try_from(limit).unwrap_or(i64::MAX)],
        "reading chain issues",
        |r| r.get(0),
    )?;
    Ok(Listed { rows: ids, total })
}

/// Issues for `list`, newest last, at most `limit` (0: all), and the total
/// number matching.
pub fn list(
    tx: &Tx,
    filter: IssueFilter,
    chain: Option<&str>,
    sla_state: Option<sla::State>,
    limit: u64,
    now: Ts,
) -> Result<(Vec<Issue>, u64)> {
    let (status_sql, status_arg) = match filter {
        IssueFilter::Unresolved => ("status <> 'resolved'", None),
        IssueFilter::Status(s) => ("status = ?1", Some(s.as_str())),
        IssueFilter::All => ("TRUE", None),
    };
    let chain_sql = if chain.is_some() {
        "chain = ?2"
    } else {
        "TRUE"
    };
    let where_sql = format!(
        "WHERE {status_sql} AND {chain_sql} AND {}",
        sla_sql(sla_state)
    );
    let sla_arg = sla_state.map(sla::State::as_str);
    let values = args![status_arg, chain, sla_arg, ms(now)];
    // Every parameter named whatever the filter, so one argument list fits.
    let unused = "AND (?1 IS NULL OR TRUE) AND (?2 IS NULL OR TRUE) \
                  AND (?3 IS NULL OR TRUE) AND ?4 = ?4";
    let total = tx.one(
        &format!("SELECT count(*) FROM issues {where_sql} {unused}"),
        values,
        "counting issues",
        |r| r.get::<i64>(0).map(count),
    )?;
    let limit_sql = if limit == 0 {
        String::new()
    } else {
        format!(" LIMIT {limit}")
    };
    let rows = tx.rows(
        &format!("SELECT {COLUMNS} FROM issues {where_sql} {unused} ORDER BY id{limit_sql}"),
        values,
        "reading issues",
        from_row,
    )?;
    Ok((rows, total))
}

/// `list`'s SLA filter, judged at `now` (?4), not only as the last check
/// recorded it: a running clock past its deadline is breached, one past
/// its at-risk instant (and before its deadline) is at risk; a stopped
/// clock (the issue is paused) is judged at its stop. "At or before the
/// earlier of now and the stop" is spelled as two comparisons: SQLite's
/// two-argument `min` is PostgreSQL's `LEAST`.
fn sla_sql(state: Option<sla::State>) -> &'static str {
    match state {
        Some(sla::State::Breached) => {
            "(response_state = 'breached' OR resolution_state = 'breached' \
              OR (response_state IN ('pending', 'at_risk') AND response_due_at <= ?4 \
                AND (response_hold_at IS NULL OR response_due_at <= response_hold_at)) \
              OR (resolution_state IN ('pending', 'at_risk') AND resolution_due_at <= ?4 \
                AND (resolution_hold_at IS NULL OR resolution_due_at <= resolution_hold_at)))"
        }
        Some(sla::State::AtRisk) => {
            "((response_state IN ('pending', 'at_risk') \
                AND response_risk_at <= ?4 \
                AND (response_hold_at IS NULL OR response_risk_at <= response_hold_at) \
                AND (response_due_at > ?4 OR response_due_at > response_hold_at)) \
              OR (resolution_state IN ('pending', 'at_risk') \
                AND resolution_risk_at <= ?4 \
                AND (resolution_hold_at IS NULL OR resolution_risk_at <= resolution_hold_at) \
                AND (resolution_due_at > ?4 OR resolution_due_at > resolution_hold_at)))"
        }
        Some(_) => "(response_state = ?3 OR resolution_state = ?3)",
        None => "TRUE",
    }
}

/// A SQL count as a u64 (a count is never negative).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The newest issue mirroring a source's ticket, if any.
pub fn by_source(tx: &Tx, source: &str, external_id: &str) -> Result<Option<Issue>> {
    tx.opt(
        &format!(
            "SELECT {COLUMNS} FROM issues WHERE source = ?1 AND external_id = ?2 \
             ORDER BY id DESC LIMIT 1"
        ),
        args![source, external_id],
        "reading issue by source",
        from_row,
    )
}

/// The newest unresolved issue filed with this source and reference: the
/// idempotency key of `create --source S --ref R` (`source` as `create`
/// stores it, NULL for a plain CLI filing). Only open issues are scanned
/// (the `issues_open_chain` partial index covers them). `IS NOT DISTINCT
/// FROM` (SQLite's `IS`, in the standard's words): NULL matches NULL.
pub fn open_by_ref(tx: &Tx, source: Option<&str>, external_ref: &str) -> Result<Option<Issue>> {
    tx.opt(
        &format!(
            "SELECT {COLUMNS} FROM issues \
             WHERE status <> 'resolved' AND source IS NOT DISTINCT FROM ?1 \
             AND external_ref = ?2 ORDER BY id DESC LIMIT 1"
        ),
        args![source, external_ref],
        "reading issue by reference",
        from_row,
    )
}

/// Record the engineering task created for an issue.
pub fn set_task(tx: &Tx, id: i64, task: &Task) -> Result<()> {
    tx.exec(
        "UPDATE issues SET task_tracker = ?2, task_key = ?3, task_url = ?4, task_id = ?5 \
         WHERE id = ?1",
        args![id, &task.tracker, &task.key, &task.url, &task.id],
        "recording the task",
    )?;
    Ok(())
}

/// This database's random instance id (see migration 03), for task markers.
pub fn instance(tx: &Tx) -> Result<String> {
    tx.one(
        "SELECT value FROM meta WHERE key = 'instance'",
        args![],
        "reading the database instance id",
        |r| r.get(0),
    )
}
