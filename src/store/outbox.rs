//! The outbox: one row per (issue, epoch, level, repeat, channel, target),
//! unique, written in the same transaction as the decision that calls for
//! it; claimed with a lease by the process that delivers it.

use anyhow::Result;

use super::sql::{args, Row};
use super::{ms, ts, Tx};
use crate::model::sla::Target;
use crate::model::{Delivery, Notice, OutboxStatus, Task, Ts};

pub struct NewDelivery<'a> {
    pub issue_id: i64,
    pub notice: Notice,
    /// Content carried by the row itself (events, tasks); None for pages.
    pub payload: Option<&'a str>,
    pub epoch: u32,
    pub level: u32,
    pub repeat: u32,
    pub role: &'a str,
    pub channel: &'a str,
    pub target: &'a str,
    pub due_at: Ts,
    /// The on-call person this row pages or names (None: the role's own).
    pub person: Option<&'a str>,
}

/// Columns selected for a [`Delivery`], joined with its issue.
const DELIVERY_COLUMNS: &str = "o.id, o.issue_id, o.epoch, o.level, o.repeat, o.role, o.channel, \
    o.target, o.due_at, o.attempts, i.title, i.chain, i.created_at, o.notice, o.payload, \
    i.task_tracker, i.task_key, i.task_url, i.task_id, o.person, i.epoch, i.source, i.external_id";

fn delivery_from_row(r: &Row) -> Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        notice: {
            let notice: String = r.get(13)?;
            Notice::parse(&notice)
                .ok_or_else(|| anyhow::anyhow!("column 13: unknown notice {notice:?}"))?
        },
        epoch: r.get(2)?,
        level: r.get(3)?,
        repeat: r.get(4)?,
        role: r.get(5)?,
        channel: r.get(6)?,
        target: r.get(7)?,
        due_at: ts(r.get(8)?)?,
        attempts: r.get(9)?,
        title: r.get(10)?,
        chain: r.get(11)?,
        created_at: ts(r.get(12)?)?,
        payload: r.get(14)?,
        person: r.get(19)?,
        issue_epoch: r.get(20)?,
        source: r.get(21)?,
        external_id: r.get(22)?,
        ticket_url: None,
        runbook: None,
        rendered: None,
        mention: None,
        links: None,
        task: match (r.get::<Option<String>>(15)?, r.get::<Option<String>>(16)?) {
            (Some(tracker), Some(key)) => Some(Task {
                tracker,
                key,
                url: r.get::<Option<String>>(17)?.unwrap_or_default(),
                id: r.get::<Option<String>>(18)?.unwrap_or_default(),
            }),
            _ => None,
        },
    })
}

/// Enqueue a notification; false when the same one was already decided (the
/// unique key makes a second enqueue impossible).
pub fn enqueue(tx: &Tx, d: &NewDelivery, now: Ts) -> Result<bool> {
    // ON CONFLICT DO NOTHING, the standard's spelling of INSERT OR
    // IGNORE: the unique key turns a second enqueue into nothing (B9).
    let n = tx.exec(
        "INSERT INTO outbox (issue_id, epoch, level, repeat, role, channel, target, \
         due_at, created_at, next_attempt_at, notice, payload, person) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12) \
         ON CONFLICT DO NOTHING",
        args![
            d.issue_id,
            d.epoch,
            d.level,
            d.repeat,
            d.role,
            d.channel,
            d.target,
            ms(d.due_at),
            ms(now),
            d.notice.as_str(),
            d.payload,
            d.person,
        ],
        "enqueueing notification",
    )?;
    Ok(n == 1)
}

/// What [`claim`] takes.
pub struct Claim<'a> {
    pub now: Ts,
    pub lease_until: Ts,
    /// The lease owner name of the claiming pass.
    pub owner: &'a str,
    pub limit: usize,
    /// Only this issue's rows.
    pub only: Option<i64>,
    /// Only console rows (which cannot be slow to send).
    pub console_only: bool,
}

/// Claim up to `limit` pending rows that are ready at `now` and not leased by
/// a live deliverer. Notifications that no longer matter are cancelled
/// instead: any of a resolved issue, and pages and response warnings of an
/// issue someone acknowledged since (the resolution clock still runs, so its
/// warnings still go out). Events for subscribers and task work are never
/// cancelled: they are records, not pages.
pub fn claim(tx: &Tx, c: &Claim) -> Result<Vec<Delivery>> {
    // Only the rows about to be claimed are examined (a sweep of every
    // pending row per batch made a large backlog quadratic): the index
    // yields them in order, and reading stops after `limit`. Not a `LIMIT
    // ?`: SQLite plans a bound LIMIT by its value, so every new binding
    // re-prepared the statement (~0.3 M instructions, twice per `create`).
    let mut select = claim_sql();
    if let (true, Ok(n)) = (tx.is_pg(), i64::try_from(c.limit)) {
        // PostgreSQL sends every selected row before the next statement
        // (an unbounded claim, usize::MAX, says no LIMIT).
        select.push_str(&format!(" LIMIT {n}"));
    }
    let mut cancel = tx.prepare(
        "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until = NULL \
         WHERE id = ?1",
        "cancelling a notification",
    )?;
    let mut lease = tx.prepare(
        "UPDATE outbox SET lease_until = ?2, lease_owner = ?3 WHERE id = ?1",
        "leasing outbox row",
    )?;
    let mut claimed = Vec::new();
    loop {
        let rows = tx.rows_upto(
            &select,
            args![ms(c.now), c.only, c.console_only],
            c.limit,
            "reading outbox",
            |r| Ok((delivery_from_row(r)?, r.get::<String>(23)?)),
        )?;
        let seen = rows.len();
        for (d, issue_status) in rows {
            if stale(d.notice, &issue_status) {
                cancel.exec(args![d.id])?;
            } else {
                lease.exec(args![d.id, ms(c.lease_until), c.owner])?;
                claimed.push(d);
            }
        }
        // A batch that was all cancelled says nothing about what follows.
        if !claimed.is_empty() || seen < c.limit {
            return Ok(claimed);
        }
    }
}

/// The rows [`claim`] reads, oldest due first: ?1 now, ?2 one issue or
/// NULL, ?3 console rows only (1) or all (0).
pub(super) fn claim_sql() -> String {
    format!(
        "SELECT {DELIVERY_COLUMNS}, i.status \
         FROM outbox o JOIN issues i ON i.id = o.issue_id \
         WHERE o.status = 'pending' AND o.next_attempt_at <= ?1 \
           AND (o.lease_until IS NULL OR o.lease_until <= ?1) \
           AND (?2 IS NULL OR o.issue_id = ?2) \
           AND (?3 = 0 OR o.channel = 'console') \
         ORDER BY o.next_attempt_at, o.id"
    )
}

/// Whether a notification no longer matters given its issue's status.
fn stale(notice: Notice, issue_status: &str) -> bool {
    match notice {
        Notice::Event | Notice::TaskCreate | Notice::TaskClose => false,
        Notice::Page
        | Notice::AckLapsed
        | Notice::ChainShortened
        | Notice::Sla(Target::Response, _) => issue_status != "open",
        Notice::Sla(Target::Resolution, _) | Notice::Assigned => issue_status == "resolved",
    }
}

/// Pending rows (for dry runs): what the next delivery would send.
pub fn pending(tx: &Tx, now: Ts) -> Result<Vec<Delivery>> {
    // The same rows, and the same judgement, as `claim` would make.
    let rows = tx.rows(
        &format!(
            "SELECT {DELIVERY_COLUMNS}, i.status \
             FROM outbox o JOIN issues i ON i.id = o.issue_id \
             WHERE o.status = 'pending' AND o.next_attempt_at <= ?1 \
               AND (o.lease_until IS NULL OR o.lease_until <= ?1) \
             ORDER BY o.next_attempt_at, o.id"
        ),
        args![ms(now)],
        "reading outbox",
        |r| Ok((delivery_from_row(r)?, r.get::<String>(23)?)),
    )?;
    Ok(rows
        .into_iter()
        .filter(|(d, status)| !stale(d.notice, status))
        .map(|(d, _)| d)
        .collect())
}

/// Record a successful send. False when `owner` no longer holds the row's
/// lease (another deliverer took it over): then nothing is changed, so a
/// row is never recorded twice nor flipped back. A row cancelled while its
/// send was in flight (a resolve mid-send) still holds our lease and
/// becomes sent: the log records what was actually sent.
pub fn mark_sent(tx: &Tx, id: i64, owner: &str, now: Ts) -> Result<bool> {
    let n = tx.exec(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, \
         lease_until = NULL, lease_owner = NULL, last_error = NULL \
         WHERE id = ?1 AND status IN ('pending', 'cancelled') AND lease_owner = ?3",
        args![id, ms(now), owner],
        "marking notification sent",
    )?;
    Ok(n == 1)
}

/// Keep the lease of claimed rows until `until` (a batch that will take
/// longer than the default lease).
pub fn extend_lease(tx: &Tx, ids: &[i64], owner: &str, until: Ts) -> Result<()> {
    let mut stmt = tx.prepare(
        "UPDATE outbox SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 \
         AND status = 'pending'",
        "extending a lease",
    )?;
    for &id in ids {
        stmt.exec(args![id, owner, ms(until)])?;
    }
    Ok(())
}

/// Record a failed attempt: retry at `retry_at`, or dead when None. False
/// (and nothing changed) when `owner` no longer holds the lease.
pub fn mark_failed(
    tx: &Tx,
    id: i64,
    owner: &str,
    error: &str,
    retry_at: Option<Ts>,
) -> Result<bool> {
    let (status, next) = match retry_at {
        Some(t) => ("pending", Some(ms(t))),
        None => ("dead", None),
    };
    let n = tx.exec(
        "UPDATE outbox SET status = ?2, attempts = attempts + 1, \
         next_attempt_at = coalesce(?3, next_attempt_at), last_error = ?4, \
         lease_until = NULL, lease_owner = NULL \
         WHERE id = ?1 AND status = 'pending' AND lease_owner = ?5",
        args![id, status, next, error, owner],
        "recording failed delivery",
    )?;
    Ok(n == 1)
}

/// Count of rows per status, for summaries.
pub fn count(tx: &Tx, status: OutboxStatus) -> Result<u64> {
    let s = match status {
        OutboxStatus::Pending => "pending",
        OutboxStatus::Sent => "sent",
        OutboxStatus::Dead => "dead",
        OutboxStatus::Cancelled => "cancelled",
    };
    tx.one(
        "SELECT count(*) FROM outbox WHERE status = ?1",
        args![s],
        "counting outbox",
        |r| r.get::<i64>(0).map(|n| u64::try_from(n).unwrap_or(0)),
    )
}

/// A row as `outbox` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub issue_id: i64,
    pub level: u32,
    pub repeat: u32,
    pub role: String,
    pub channel: String,
    pub target: String,
    pub status: String,
    pub attempts: u32,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Rows with the given status (None: all), newest first.
pub fn list(tx: &Tx, status: Option<&str>, limit: u64) -> Result<Vec<OutboxRow>> {
    let limit = match limit {
        0 => i64::MAX,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    tx.rows(
        "SELECT id, issue_id, level, repeat, role, channel, target, status, attempts, \
         created_at, next_attempt_at, sent_at, last_error FROM outbox \
         WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2",
        args![status, limit],
        "reading outbox",
        |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                issue_id: r.get(1)?,
                level: r.get(2)?,
                repeat: r.get(3)?,
                role: r.get(4)?,
                channel: r.get(5)?,
                target: r.get(6)?,
                status: r.get(7)?,
                attempts: r.get(8)?,
                created_at: r.get(9)?,
                next_attempt_at: r.get(10)?,
                sent_at: r.get(11)?,
                last_error: r.get(12)?,
            })
        },
    )
}

/// Requeue one row (dead or pending) for delivery at `now`; false when no
/// such row, or it was already sent or cancelled.
pub fn requeue(tx: &Tx, id: i64, now: Ts) -> Result<bool> {
    let n = tx.exec(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, \
         lease_until = NULL, lease_owner = NULL \
         WHERE id = ?1 AND status IN ('dead', 'pending')",
        args![id, ms(now)],
        "requeueing delivery",
    )?;
    Ok(n == 1)
}

pub fn exists(tx: &Tx, id: i64) -> Result<bool> {
    tx.opt(
        "SELECT 1 FROM outbox WHERE id = ?1",
        args![id],
        "reading outbox",
        |_| Ok(()),
    )
    .map(|found| found.is_some())
}

/// The tracker of an issue's task request that is pending or done, if any.
pub fn task_target(tx: &Tx, issue_id: i64) -> Result<Option<String>> {
    tx.opt(
        "SELECT target FROM outbox WHERE issue_id = ?1 AND notice = 'task_create' \
         AND status IN ('pending', 'sent') ORDER BY id LIMIT 1",
        args![issue_id],
        "reading task requests",
        |r| r.get(0),
    )
}

/// Cancel an issue's pending notifications (pages and SLA warnings) — on
/// resolve, so nothing decided before it goes out after a reopen. Records
/// (subscription events, task work) are kept. Returns how many. A row being
/// sent right now keeps its lease owner, so the deliverer can still record
/// the send it could not take back ([`mark_sent`]); no one claims a
/// cancelled row, so the stale owner blocks nothing.
pub fn cancel_notifications(tx: &Tx, issue_id: i64) -> Result<usize> {
    tx.exec(
        "UPDATE outbox SET status = 'cancelled' \
         WHERE issue_id = ?1 AND status = 'pending' \
           AND notice NOT IN ('event', 'task_create', 'task_close')",
        args![issue_id],
        "cancelling notifications",
    )
}

/// Cancel an issue's pending task creation (resolved before it was made).
pub fn cancel_task_request(tx: &Tx, issue_id: i64) -> Result<usize> {
    tx.exec(
        "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until = NULL \
         WHERE issue_id = ?1 AND status = 'pending' AND notice = 'task_create'",
        args![issue_id],
        "cancelling the task request",
    )
}

/// A row `outbox retry` may requeue, with what is needed to re-resolve its
/// contact and to keep the unique key.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryRow {
    pub id: i64,
    pub issue_id: i64,
    pub notice: String,
    pub epoch: u32,
    pub level: u32,
    pub repeat: u32,
    pub role: String,
    pub channel: String,
    pub target: String,
    pub status: String,
}

/// The rows a retry considers: the one with `id` (whatever its status), or
/// with None every dead row, oldest first.
pub fn retry_rows(tx: &Tx, id: Option<i64>) -> Result<Vec<RetryRow>> {
    tx.rows(
        "SELECT id, issue_id, notice, epoch, level, repeat, role, channel, target, status \
         FROM outbox WHERE (?1 IS NULL AND status = 'dead') OR id = ?1 ORDER BY id",
        args![id],
        "reading outbox",
        |r| {
            Ok(RetryRow {
                id: r.get(0)?,
                issue_id: r.get(1)?,
                notice: r.get(2)?,
                epoch: r.get(3)?,
                level: r.get(4)?,
                repeat: r.get(5)?,
                role: r.get(6)?,
                channel: r.get(7)?,
                target: r.get(8)?,
                status: r.get(9)?,
            })
        },
    )
}

/// Whether another row of the same notification (issue, notice, epoch,
/// level, repeat, role, channel) already goes to `target`: moving `row`
/// there would break the unique key and send twice.
pub fn target_taken(tx: &Tx, row: &RetryRow, target: &str) -> Result<bool> {
    tx.opt(
        "SELECT 1 FROM outbox WHERE issue_id = ?1 AND notice = ?2 AND epoch = ?3 \
         AND level = ?4 AND repeat = ?5 AND role = ?6 AND channel = ?7 AND target = ?8 \
         AND id <> ?9",
        args![
            row.issue_id,
            &row.notice,
            row.epoch,
            row.level,
            row.repeat,
            &row.role,
            &row.channel,
            target,
            row.id
        ],
        "reading outbox",
        |_| Ok(()),
    )
    .map(|found| found.is_some())
}

/// Point a dead or pending row at a new target (the secret-free label of
/// its role's current contact); false when no such row or it was already
/// sent or cancelled.
pub fn retarget(tx: &Tx, id: i64, target: &str) -> Result<bool> {
    let n = tx.exec(
        "UPDATE outbox SET target = ?2, last_error = NULL \
         WHERE id = ?1 AND status IN ('dead', 'pending')",
        args![id, target],
        "retargeting delivery",
    )?;
    Ok(n == 1)
}
