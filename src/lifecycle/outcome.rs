//! Delivery outcomes: what sending one outbox row did to the issue. A sent
//! row becomes `notified` (or the task it made, or the task it closed); a
//! failed one is retried with exponential backoff or declared dead, and
//! `delivery_failed` says why. Recorded only while the pass holds the
//! row's lease, so two deliverers never both record a row.

use anyhow::Result;
use chrono::TimeDelta;
use rusqlite::Transaction;
use serde_json::json;

use super::SYSTEM;
use crate::model::time::rfc3339;
use crate::model::{Delivery, EventKind, Notice, Task, Ts};
use crate::notify::SendError;
use crate::store::{events, issues, outbox};

/// Backoff before attempt `attempts + 1`: 30 s, 1 min, 2 min … capped at 1 h.
pub fn backoff(attempts: u32) -> TimeDelta {
    let exp = attempts.saturating_sub(1).min(7);
    TimeDelta::seconds((30_i64 << exp).min(3600))
}

/// What every row of one delivery pass is recorded with.
pub struct Pass<'a> {
    /// The lease owner name of this pass.
    pub owner: &'a str,
    pub now: Ts,
    pub max_attempts: u32,
}

/// A delivery that failed, for the run's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub issue_id: i64,
    /// "channel target".
    pub channel: String,
    pub error: String,
}

/// What recording one row did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Another deliverer holds the row now; it records it, not us.
    NotOurs,
    Sent,
    Retrying(Failed),
    Dead(Failed),
}

/// Record the outcome of sending one outbox row: the row's status, the
/// issue's task when one was made, and the `notified`/`delivery_failed`
/// event — only while this pass still holds the row's lease.
pub fn record(
    tx: &Transaction,
    d: &Delivery,
    result: &Result<(), SendError>,
    task: Option<&Task>,
    pass: &Pass,
) -> Result<Recorded> {
    let (owner, now, max_attempts) = (pass.owner, pass.now, pass.max_attempts);
    let base = json!({
        "notice": d.notice.as_str(),
        "channel": d.channel,
        "target": d.target,
        "role": d.role,
        "epoch": d.epoch,
        "repeat": d.repeat,
        "attempt": d.attempts + 1,
    });
    // Deliveries to subscribers are not issue history (and logging them
    // would feed a subscription to `notified` with its own deliveries).
    let log = d.notice != Notice::Event;
    match result {
        Ok(()) => {
            if !outbox::mark_sent(tx, d.id, owner, now)? {
                // Another deliverer took the row over when our lease ran
                // out; it records the row, not us.
                return Ok(Recorded::NotOurs);
            }
            if !log {
                return Ok(Recorded::Sent);
            }
            if let (Notice::TaskCreate, Some(t)) = (d.notice, task) {
                issues::set_task(tx, d.issue_id, t)?;
                let details = json!({ "tracker": d.target, "key": t.key, "url": t.url });
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::TaskCreated,
                    (d.level > 0).then_some(d.level),
                    SYSTEM,
                    &details,
                )?;
                return Ok(Recorded::Sent);
            }
            if d.notice == Notice::TaskClose {
                let key = d.task.as_ref().map(|t| t.key.clone());
                let details = json!({ "tracker": d.target, "key": key });
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::TaskClosed,
                    None,
                    SYSTEM,
                    &details,
                )?;
                return Ok(Recorded::Sent);
            }
            let mut details = base;
            details["late_seconds"] = json!((now - d.due_at).num_seconds());
            events::append(
                tx,
                d.issue_id,
                now,
                EventKind::Notified,
                (d.level > 0).then_some(d.level),
                SYSTEM,
                &details,
            )?;
            Ok(Recorded::Sent)
        }
        Err(e) => {
            let attempts = d.attempts + 1;
            let (reason, retry_at) = match e {
                SendError::Temporary(m, after) if attempts < max_attempts => {
                    let mut wait = backoff(attempts);
                    if let Some(after) = after.and_then(|a| TimeDelta::from_std(a).ok()) {
                        wait = wait.max(after.min(TimeDelta::hours(6)));
                    }
                    (m.clone(), Some(now + wait))
                }
                SendError::Temporary(m, _) => {
                    (format!("{m} (gave up after {attempts} attempts)"), None)
                }
                SendError::Permanent(m) => (m.clone(), None),
            };
            if !outbox::mark_failed(tx, d.id, owner, &reason, retry_at)? {
                return Ok(Recorded::NotOurs);
            }
            if log {
                let mut details = base;
                details["error"] = json!(reason);
                details["retry_at"] = json!(retry_at.map(rfc3339));
                details["dead"] = json!(retry_at.is_none());
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::DeliveryFailed,
                    (d.level > 0).then_some(d.level),
                    SYSTEM,
                    &details,
                )?;
            }
            let failed = Failed {
                issue_id: d.issue_id,
                channel: format!("{} {}", d.channel, d.target),
                error: reason,
            };
            Ok(if retry_at.is_some() {
                Recorded::Retrying(failed)
            } else {
                Recorded::Dead(failed)
            })
        }
    }
}
