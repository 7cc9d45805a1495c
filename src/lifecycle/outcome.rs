//! Delivery outcomes: what sending one outbox row did to the issue. A sent
//! row becomes `notified` (or the task it made, or the task it closed); a
//! failed one is retried with exponential backoff or declared dead, and
//! `delivery_failed` says why. Recorded only while the pass holds the
//! row's lease, so two deliverers never both record a row. A row cancelled
//! while its send was in flight (the issue resolved mid-send) is still
//! recorded as sent with its `notified` event: the log says what was sent.
//! The delivery worker records each send as soon as it ends, one short
//! transaction per send.

use crate::store::Tx;
use anyhow::Result;
use chrono::TimeDelta;

use super::{record as record_event, SYSTEM};
use crate::model::event::{DeliveryFailed, Details, Notified, Sent, TaskClosed, TaskCreated};
use crate::model::{Delivery, Notice, Task, Ts};
use crate::notify::SendError;
use crate::store::{issues, outbox};

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
    tx: &Tx,
    d: &Delivery,
    result: &Result<(), SendError>,
    task: Option<&Task>,
    pass: &Pass,
) -> Result<Recorded> {
    match result {
        Ok(()) => record_sent(tx, d, task, pass),
        Err(e) => record_failed(tx, d, e, pass),
    }
}

/// Deliveries to subscribers are not issue history (and logging them would
/// feed a subscription to `notified` with its own deliveries).
fn logged(d: &Delivery) -> bool {
    d.notice != Notice::Event
}

/// The row as its delivery events name it.
fn sent_of(d: &Delivery) -> Sent {
    Sent {
        notice: d.notice.as_str().to_string(),
        channel: d.channel.clone(),
        target: d.target.clone(),
        role: d.role.clone(),
        epoch: d.epoch,
        repeat: d.repeat,
        attempt: d.attempts + 1,
    }
}

/// Level 0 marks rows that belong to no level (tasks, events).
fn level_of(d: &Delivery) -> Option<u32> {
    (d.level > 0).then_some(d.level)
}

fn record_sent(tx: &Tx, d: &Delivery, task: Option<&Task>, pass: &Pass) -> Result<Recorded> {
    let now = pass.now;
    if !outbox::mark_sent(tx, d.id, pass.owner, now)? {
        // Another deliverer took the row over when our lease ran out; it
        // records the row, not us.
        return Ok(Recorded::NotOurs);
    }
    if !logged(d) {
        return Ok(Recorded::Sent);
    }
    let details = match (d.notice, task) {
        (Notice::TaskCreate, Some(t)) => {
            issues::set_task(tx, d.issue_id, t)?;
            Details::TaskCreated(TaskCreated {
                tracker: d.target.clone(),
                key: t.key.clone(),
                url: t.url.clone(),
            })
        }
        (Notice::TaskClose, _) => {
            let key = d.task.as_ref().map(|t| t.key.clone());
            let closed = TaskClosed {
                tracker: d.target.clone(),
                key,
            };
            record_event(
                tx,
                d.issue_id,
                now,
                None,
                SYSTEM,
                Details::TaskClosed(closed),
            )?;
            return Ok(Recorded::Sent);
        }
        _ => Details::Notified(Notified {
            sent: sent_of(d),
            late_seconds: (now - d.due_at).num_seconds(),
        }),
    };
    record_event(tx, d.issue_id, now, level_of(d), SYSTEM, details)?;
    Ok(Recorded::Sent)
}

fn record_failed(tx: &Tx, d: &Delivery, e: &SendError, pass: &Pass) -> Result<Recorded> {
    let now = pass.now;
    let attempts = d.attempts + 1;
    let (reason, retry_at) = match e {
        SendError::Temporary(m, after) if attempts < pass.max_attempts => {
            let mut wait = backoff(attempts);
            if let Some(after) = after.and_then(|a| TimeDelta::from_std(a).ok()) {
                wait = wait.max(after.min(TimeDelta::hours(6)));
            }
            (m.clone(), Some(now + wait))
        }
        SendError::Temporary(m, _) => (format!("{m} (gave up after {attempts} attempts)"), None),
        SendError::Permanent(m) => (m.clone(), None),
    };
    if !outbox::mark_failed(tx, d.id, pass.owner, &reason, retry_at)? {
        return Ok(Recorded::NotOurs);
    }
    if logged(d) {
        let details = Details::DeliveryFailed(DeliveryFailed {
            sent: sent_of(d),
            error: reason.clone(),
            retry_at,
            dead: retry_at.is_none(),
        });
        record_event(tx, d.issue_id, now, level_of(d), SYSTEM, details)?;
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
