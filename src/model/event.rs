//! The audit trail's vocabulary: every kind of event and an event as read
//! back from the log.

use serde_json::Value;

use super::Ts;

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
