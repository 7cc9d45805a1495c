//! The append-only event log: every state change of an issue, with time,
//! actor and JSON details. `show` prints it; reports are computed from it.

use anyhow::Result;
use rusqlite::{params, Transaction};
use serde_json::Value;

use super::{ms, ts, SqlContext};
use crate::engine::Ts;

/// Kinds of events. Stored as their snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Escalated,
    Notified,
    DeliveryFailed,
    Acknowledged,
    AckExpired,
    Assigned,
    Capped,
    Resolved,
    Reopened,
    /// An SLA clock passed its at-risk instant (details.target).
    AtRisk,
    /// An SLA deadline passed unmet (details.target).
    Breached,
    /// An SLA target was met (details.target).
    SlaMet,
    /// Ingested fields changed (details.changed).
    Updated,
    /// The same ticket was created again while open (details.count).
    Deduplicated,
    /// An engineering task was created (details.tracker, key, url).
    TaskCreated,
    /// The engineering task was commented on and closed.
    TaskClosed,
}

impl EventKind {
    /// Every kind, for validating filters.
    pub const ALL: [EventKind; 17] = [
        EventKind::Created,
        EventKind::Escalated,
        EventKind::Notified,
        EventKind::DeliveryFailed,
        EventKind::Acknowledged,
        EventKind::AckExpired,
        EventKind::Assigned,
        EventKind::Capped,
        EventKind::Resolved,
        EventKind::Reopened,
        EventKind::AtRisk,
        EventKind::Breached,
        EventKind::SlaMet,
        EventKind::Updated,
        EventKind::Deduplicated,
        EventKind::TaskCreated,
        EventKind::TaskClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Escalated => "escalated",
            EventKind::Notified => "notified",
            EventKind::DeliveryFailed => "delivery_failed",
            EventKind::Acknowledged => "acknowledged",
            EventKind::AckExpired => "ack_expired",
            EventKind::Assigned => "assigned",
            EventKind::Capped => "capped",
            EventKind::Resolved => "resolved",
            EventKind::Reopened => "reopened",
            EventKind::AtRisk => "at_risk",
            EventKind::Breached => "breached",
            EventKind::SlaMet => "sla_met",
            EventKind::Updated => "updated",
            EventKind::Deduplicated => "deduplicated",
            EventKind::TaskCreated => "task_created",
            EventKind::TaskClosed => "task_closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub issue_id: i64,
    pub at: Ts,
    pub kind: String,
    pub level: Option<u32>,
    pub actor: String,
    pub details: Value,
}

pub fn append(
    tx: &Transaction,
    issue_id: i64,
    at: Ts,
    kind: EventKind,
    level: Option<u32>,
    actor: &str,
    details: &Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO events (issue_id, at, kind, level, actor, details) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            issue_id,
            ms(at),
            kind.as_str(),
            level,
            actor,
            details.to_string()
        ])
    })
    .sql("appending event")?;
    Ok(())
}

impl Event {
    /// The stream form shared by `escalate events` and subscriptions:
    /// `{id, issue_id, at, kind, level, actor, details}`, times RFC 3339 UTC.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "issue_id": self.issue_id,
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "kind": self.kind,
            "level": self.level,
            "actor": self.actor,
            "details": self.details,
        })
    }
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    let details: String = r.get(6)?;
    Ok(Event {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        at: ts(r.get(2)?)?,
        kind: r.get(3)?,
        level: r.get(4)?,
        actor: r.get(5)?,
        details: serde_json::from_str(&details).unwrap_or(Value::String(details)),
    })
}

pub fn for_issue(tx: &Transaction, issue_id: i64) -> Result<Vec<Event>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, issue_id, at, kind, level, actor, details FROM events \
             WHERE issue_id = ?1 ORDER BY id",
        )
        .sql("querying events")?;
    let rows = stmt
        .query_map([issue_id], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading events")?;
    Ok(rows)
}

/// Events with an id above `after`, oldest first, at most `limit`, only of
/// `kinds` when given. Ids are a safe cursor: writers are serialized, so an
/// event with a lower id never commits after one with a higher id.
pub fn after(
    tx: &Transaction,
    after: i64,
    kinds: &[EventKind],
    limit: usize,
) -> Result<Vec<Event>> {
    // The kinds are a closed set of static names: inline them rather than
    // binding a variable-length list.
    let filter = if kinds.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
        format!(" AND kind IN ({})", names.join(", "))
    };
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT id, issue_id, at, kind, level, actor, details FROM events \
             WHERE id > ?1{filter} ORDER BY id LIMIT ?2"
        ))
        .sql("querying events")?;
    let rows = stmt
        .query_map(params![after, limit as i64], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading events")?;
    Ok(rows)
}

/// The highest event id (0 for an empty log).
pub fn max_id(tx: &Transaction) -> Result<i64> {
    tx.prepare_cached("SELECT coalesce(max(id), 0) FROM events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .sql("reading the last event id")
}
