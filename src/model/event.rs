//! The audit trail's vocabulary: every kind of event, with typed details
//! per kind. Events are written and read through [`Details`]; the JSON
//! stored in `events.details` is its serde form, so the report's SQL
//! (`json_extract(details, '$.target')`, `'$.channel'`) and `show` read the
//! same field names (a test in this module pins the ones SQL reads).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::time::rfc3339_serde;
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
    /// The priority changed; SLA targets re-evaluated from creation.
    PriorityChanged,
    /// Paused: escalation and the policy's SLA clocks stop.
    Paused,
    /// The pause ended; later due times moved by its open time.
    Resumed,
    /// A work note in the timeline (`escalate note`).
    Noted,
    /// An acknowledgement withdrawn (`escalate unack`): escalation resumes
    /// as if it had never been acked.
    Unacknowledged,
    /// Re-routed to another chain (`escalate move`); its level 1 is paged.
    Moved,
}

impl EventKind {
    /// Every kind, for validating filters.
    pub const ALL: [EventKind; 23] = [
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
        EventKind::PriorityChanged,
        EventKind::Paused,
        EventKind::Resumed,
        EventKind::Noted,
        EventKind::Unacknowledged,
        EventKind::Moved,
    ];

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

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
            EventKind::PriorityChanged => "priority_changed",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::Noted => "noted",
            EventKind::Unacknowledged => "unacknowledged",
            EventKind::Moved => "moved",
        }
    }
}

/// Why and how an owner changed hands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Handover {
    pub owner_from: String,
    pub owner_to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Created {
    pub chain: String,
    pub title: String,
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
    /// The role that owns it first (level 1).
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The person on call level 1's page went to (roles with rotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalated {
    pub role: String,
    pub repeat: u32,
    pub epoch: u32,
    #[serde(with = "rfc3339_serde")]
    pub due_at: Ts,
    pub late_seconds: i64,
    pub owner_from: String,
    pub owner_to: String,
    /// A person paged this level with `escalate escalate` (the event's actor)
    /// instead of the schedule; absent for scheduled pages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// Why, when a person escalated and said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The person on call the page went to (roles with rotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call: Option<String>,
    /// The role has rotations and nobody was on call: the page went to
    /// the role's own channels only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gap: bool,
}

/// One outbox row as the delivery events name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Sent {
    pub notice: String,
    pub channel: String,
    pub target: String,
    pub role: String,
    pub epoch: u32,
    pub repeat: u32,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    #[serde(flatten)]
    pub sent: Sent,
    pub late_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFailed {
    #[serde(flatten)]
    pub sent: Sent,
    pub error: String,
    #[serde(with = "rfc3339_serde::option")]
    pub retry_at: Option<Ts>,
    /// No more attempts: a human has to look.
    pub dead: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub owner_from: String,
    pub owner_to: String,
    /// When escalation resumes unless resolved (the chain's ack timeout).
    #[serde(with = "rfc3339_serde::option")]
    pub ack_expires_at: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckExpired {
    pub acked_by: Option<String>,
    pub owner_from: String,
    pub owner_to: String,
    #[serde(with = "rfc3339_serde")]
    pub recorded_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Capped {
    pub from_level: u32,
    pub to_level: u32,
    pub reason: String,
    pub owner_from: String,
    pub owner_to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resolved {
    pub note: Option<String>,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reopened {
    pub epoch: u32,
    pub owner: String,
}

/// An SLA clock's change (at risk, breached, met).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaChanged {
    /// `response` or `resolution`.
    pub target: String,
    #[serde(with = "rfc3339_serde")]
    pub due_at: Ts,
    /// Time left at the change (negative: past the deadline).
    pub left_seconds: i64,
    pub owner: String,
    #[serde(with = "rfc3339_serde")]
    pub recorded_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Updated {
    /// Names of the fields that changed.
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Deduplicated {
    /// Times the ticket was created again while open.
    pub count: u32,
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskCreated {
    pub tracker: String,
    pub key: String,
    pub url: String,
}

/// A new priority, and the SLA policy it picked (None: the chain's own
/// targets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PriorityChanged {
    pub from: Option<String>,
    pub to: Option<String>,
    pub policy: Option<u32>,
}

/// A pause began (or a running one got a new end or reason: `since` is
/// then the original start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paused {
    #[serde(with = "rfc3339_serde")]
    pub since: Ts,
    #[serde(default, with = "rfc3339_serde::option")]
    pub until: Option<Ts>,
    pub reason: Option<String>,
    /// The SLA targets whose clocks stopped (the policy's `pause`).
    pub stopped: Vec<String>,
}

/// A pause ended, by a person, the helpdesk, or its `--until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    #[serde(with = "rfc3339_serde")]
    pub paused_at: Ts,
    /// Wall-clock length of the pause.
    pub paused_seconds: i64,
    /// Open time of the issue's calendar it lasted: what later due times
    /// moved by.
    pub open_seconds: i64,
    pub reason: Option<String>,
    #[serde(with = "rfc3339_serde")]
    pub recorded_at: Ts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskClosed {
    pub tracker: String,
    pub key: Option<String>,
}

/// A work note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Noted {
    pub text: String,
}

/// An acknowledgement withdrawn: the issue is open again at its level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unacknowledged {
    /// Who had acknowledged it.
    pub acked_by: Option<String>,
    pub owner_from: String,
    pub owner_to: String,
    /// When the schedule next pages (now or earlier: steps that came due
    /// while it was acked are owed and the next check takes them).
    #[serde(with = "rfc3339_serde::option")]
    pub next_due_at: Option<Ts>,
}

/// Re-routed from one chain to another; escalation restarts at the new
/// chain's level 1 in a new epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Moved {
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
    pub epoch: u32,
    pub owner_from: String,
    pub owner_to: String,
    /// The SLA policy of the new chain the priority picked (None: the
    /// chain's own targets).
    pub policy: Option<u32>,
    /// The person on call for the new level 1 (roles with rotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call: Option<String>,
}

/// An event's typed details: one variant per [`EventKind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Details {
    Created(Created),
    Escalated(Escalated),
    Notified(Notified),
    DeliveryFailed(DeliveryFailed),
    Acknowledged(Acknowledged),
    AckExpired(AckExpired),
    Assigned(Handover),
    Capped(Capped),
    Resolved(Resolved),
    Reopened(Reopened),
    AtRisk(SlaChanged),
    Breached(SlaChanged),
    SlaMet(SlaChanged),
    Updated(Updated),
    Deduplicated(Deduplicated),
    TaskCreated(TaskCreated),
    TaskClosed(TaskClosed),
    PriorityChanged(PriorityChanged),
    Paused(Paused),
    Resumed(Resumed),
    Noted(Noted),
    Unacknowledged(Unacknowledged),
    Moved(Moved),
    /// Details that do not fit their kind's shape (written by hand, or by a
    /// version of escalate with other fields): kept as they are, never an
    /// error, so a timeline always prints.
    Other(EventKind, Value),
}

impl Details {
    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            Details::Created(_) => K::Created,
            Details::Escalated(_) => K::Escalated,
            Details::Notified(_) => K::Notified,
            Details::DeliveryFailed(_) => K::DeliveryFailed,
            Details::Acknowledged(_) => K::Acknowledged,
            Details::AckExpired(_) => K::AckExpired,
            Details::Assigned(_) => K::Assigned,
            Details::Capped(_) => K::Capped,
            Details::Resolved(_) => K::Resolved,
            Details::Reopened(_) => K::Reopened,
            Details::AtRisk(_) => K::AtRisk,
            Details::Breached(_) => K::Breached,
            Details::SlaMet(_) => K::SlaMet,
            Details::Updated(_) => K::Updated,
            Details::Deduplicated(_) => K::Deduplicated,
            Details::TaskCreated(_) => K::TaskCreated,
            Details::TaskClosed(_) => K::TaskClosed,
            Details::PriorityChanged(_) => K::PriorityChanged,
            Details::Paused(_) => K::Paused,
            Details::Resumed(_) => K::Resumed,
            Details::Noted(_) => K::Noted,
            Details::Unacknowledged(_) => K::Unacknowledged,
            Details::Moved(_) => K::Moved,
            Details::Other(kind, _) => *kind,
        }
    }

    /// The stored (and streamed) JSON form.
    pub fn to_json(&self) -> Value {
        let v = match self {
            Details::Created(d) => serde_json::to_value(d),
            Details::Escalated(d) => serde_json::to_value(d),
            Details::Notified(d) => serde_json::to_value(d),
            Details::DeliveryFailed(d) => serde_json::to_value(d),
            Details::Acknowledged(d) => serde_json::to_value(d),
            Details::AckExpired(d) => serde_json::to_value(d),
            Details::Assigned(d) => serde_json::to_value(d),
            Details::Capped(d) => serde_json::to_value(d),
            Details::Resolved(d) => serde_json::to_value(d),
            Details::Reopened(d) => serde_json::to_value(d),
            Details::AtRisk(d) | Details::Breached(d) | Details::SlaMet(d) => {
                serde_json::to_value(d)
            }
            Details::Updated(d) => serde_json::to_value(d),
            Details::Deduplicated(d) => serde_json::to_value(d),
            Details::TaskCreated(d) => serde_json::to_value(d),
            Details::TaskClosed(d) => serde_json::to_value(d),
            Details::PriorityChanged(d) => serde_json::to_value(d),
            Details::Paused(d) => serde_json::to_value(d),
            Details::Resumed(d) => serde_json::to_value(d),
            Details::Noted(d) => serde_json::to_value(d),
            Details::Unacknowledged(d) => serde_json::to_value(d),
            Details::Moved(d) => serde_json::to_value(d),
            Details::Other(_, v) => Ok(v.clone()),
        };
        // Plain structs of strings and numbers always serialize.
        v.unwrap_or(Value::Null)
    }

    /// The stored text of [`Details::to_json`] (compact, keys sorted),
    /// written directly for the two kinds a check writes per escalation
    /// (`escalated`, `notified`) and for `created` (one per ingested
    /// ticket): building a `Value` map first was a tenth of a large check.
    /// Every other kind goes through the `Value`.
    pub fn to_json_string(&self) -> String {
        match self {
            Details::Created(d) => {
                let mut o = SortedObject::default();
                o.field("chain", &d.chain);
                o.field("title", &d.title);
                o.field("ref", &d.external_ref);
                o.field("owner", &d.owner);
                for (key, value) in [
                    ("source", &d.source),
                    ("external_id", &d.external_id),
                    ("route", &d.route),
                    ("on_call", &d.on_call),
                ] {
                    if let Some(v) = value {
                        o.field(key, v);
                    }
                }
                o.finish()
            }
            Details::Escalated(d) => {
                let mut o = SortedObject::default();
                o.field("role", &d.role);
                o.field("repeat", &d.repeat);
                o.field("epoch", &d.epoch);
                o.field("due_at", &super::time::rfc3339(d.due_at));
                o.field("late_seconds", &d.late_seconds);
                o.field("owner_from", &d.owner_from);
                o.field("owner_to", &d.owner_to);
                if d.manual {
                    o.field("manual", &d.manual);
                }
                if let Some(reason) = &d.reason {
                    o.field("reason", reason);
                }
                if let Some(on_call) = &d.on_call {
                    o.field("on_call", on_call);
                }
                if d.gap {
                    o.field("gap", &d.gap);
                }
                o.finish()
            }
            Details::Notified(d) => {
                let mut o = SortedObject::default();
                o.field("notice", &d.sent.notice);
                o.field("channel", &d.sent.channel);
                o.field("target", &d.sent.target);
                o.field("role", &d.sent.role);
                o.field("epoch", &d.sent.epoch);
                o.field("repeat", &d.sent.repeat);
                o.field("attempt", &d.sent.attempt);
                o.field("late_seconds", &d.late_seconds);
                o.finish()
            }
            _ => self.to_json().to_string(),
        }
    }

    /// Read stored details back as their kind's shape ([`Details::Other`]
    /// when they do not fit).
    pub fn from_json(kind: EventKind, v: Value) -> Details {
        fn typed<T: serde::de::DeserializeOwned>(
            v: &Value,
            wrap: impl FnOnce(T) -> Details,
        ) -> Option<Details> {
            T::deserialize(v).ok().map(wrap)
        }
        use EventKind as K;
        let parsed = match kind {
            K::Created => typed(&v, Details::Created),
            K::Escalated => typed(&v, Details::Escalated),
            K::Notified => typed(&v, Details::Notified),
            K::DeliveryFailed => typed(&v, Details::DeliveryFailed),
            K::Acknowledged => typed(&v, Details::Acknowledged),
            K::AckExpired => typed(&v, Details::AckExpired),
            K::Assigned => typed(&v, Details::Assigned),
            K::Capped => typed(&v, Details::Capped),
            K::Resolved => typed(&v, Details::Resolved),
            K::Reopened => typed(&v, Details::Reopened),
            K::AtRisk => typed(&v, Details::AtRisk),
            K::Breached => typed(&v, Details::Breached),
            K::SlaMet => typed(&v, Details::SlaMet),
            K::Updated => typed(&v, Details::Updated),
            K::Deduplicated => typed(&v, Details::Deduplicated),
            K::TaskCreated => typed(&v, Details::TaskCreated),
            K::TaskClosed => typed(&v, Details::TaskClosed),
            K::PriorityChanged => typed(&v, Details::PriorityChanged),
            K::Paused => typed(&v, Details::Paused),
            K::Resumed => typed(&v, Details::Resumed),
            K::Noted => typed(&v, Details::Noted),
            K::Unacknowledged => typed(&v, Details::Unacknowledged),
            K::Moved => typed(&v, Details::Moved),
        };
        parsed.unwrap_or(Details::Other(kind, v))
    }
}

/// An event to append: what happened, to which issue, when and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    pub issue_id: i64,
    pub at: Ts,
    pub level: Option<u32>,
    pub actor: &'a str,
    pub details: Details,
}

/// An event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub issue_id: i64,
    pub at: Ts,
    pub level: Option<u32>,
    pub actor: String,
    pub details: Details,
}

/// A JSON object written as `serde_json::Value` prints one: compact, keys
/// in byte order, values serialized by serde_json (the same escaping).
#[derive(Default)]
struct SortedObject(Vec<(&'static str, String)>);

impl SortedObject {
    fn field(&mut self, key: &'static str, value: &impl Serialize) {
        // Strings and numbers always serialize.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
        self.0.push((key, text));
    }

    fn finish(mut self) -> String {
        self.0.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = String::with_capacity(256);
        out.push('{');
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            out.push_str(value);
        }
        out.push('}');
        out
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.details.kind()
    }

    /// The stream form shared by `escalate events` and subscriptions:
    /// `{id, issue_id, at, kind, level, actor, details}`, times RFC 3339 UTC.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "issue_id": self.issue_id,
            "at": super::time::rfc3339(self.at),
            "kind": self.kind().as_str(),
            "level": self.level,
            "actor": self.actor,
            "details": self.details.to_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The direct text of the hot kinds is byte for byte what the `Value`
    /// form prints (stored event rows must not change), with every optional
    /// field and strings that need escaping.
    #[test]
    fn hot_kinds_store_the_same_text_as_their_value() {
        let tricky = "q\"b\\s\u{1}\n\t é ☃ \u{7f}</script>";
        let mut cases = Vec::new();
        for (manual, reason, on_call, gap) in [
            (false, None, None, false),
            (true, Some(tricky), Some("kim"), true),
            (false, Some(""), None, true),
        ] {
            cases.push(Details::Escalated(Escalated {
                role: tricky.to_string(),
                repeat: 3,
                epoch: u32::MAX,
                due_at: t(),
                late_seconds: -42,
                owner_from: "support_agent".to_string(),
                owner_to: tricky.to_string(),
                manual,
                reason: reason.map(str::to_string),
                on_call: on_call.map(str::to_string),
                gap,
            }));
        }
        cases.push(Details::Notified(Notified {
            sent: Sent {
                notice: "page".to_string(),
                channel: "console".to_string(),
                target: tricky.to_string(),
                role: "support_lead".to_string(),
                epoch: 0,
                repeat: 7,
                attempt: 1,
            },
            late_seconds: i64::MIN,
        }));
        let some = |s: &str| Some(s.to_string());
        cases.push(Details::Created(Created::default()));
        cases.push(Details::Created(Created {
            chain: "customer_issue".to_string(),
            title: tricky.to_string(),
            external_ref: some(tricky),
            owner: "support_agent".to_string(),
            source: some("zendesk"),
            external_id: some("4711"),
            route: some(tricky),
            on_call: some("kim"),
        }));
        cases.push(Details::Created(Created {
            title: "t".to_string(),
            external_id: some(""),
            on_call: some("kim"),
            ..Created::default()
        }));
        for d in cases {
            assert_eq!(d.to_json_string(), d.to_json().to_string(), "{d:?}");
        }
    }

    fn t() -> Ts {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("time")
    }

    /// The report's SQL reads `$.target` of SLA events and `$.channel` of
    /// delivery failures: renaming either field must fail here, not print
    /// an empty report.
    #[test]
    fn fields_the_report_sql_reads_are_written() {
        let sla = Details::Breached(SlaChanged {
            target: "response".into(),
            due_at: t(),
            left_seconds: 0,
            owner: "tier1".into(),
            recorded_at: t(),
        });
        assert_eq!(sla.to_json()["target"], "response");
        let failed = Details::DeliveryFailed(DeliveryFailed {
            sent: Sent {
                channel: "slack".into(),
                ..Sent::default()
            },
            error: "down".into(),
            retry_at: None,
            dead: true,
        });
        assert_eq!(failed.to_json()["channel"], "slack");
    }

    #[test]
    fn details_round_trip_and_keep_their_field_names() {
        let d = Details::Escalated(Escalated {
            role: "lead".into(),
            repeat: 0,
            epoch: 1,
            due_at: t(),
            late_seconds: 60,
            owner_from: "tier1".into(),
            owner_to: "lead".into(),
            manual: false,
            reason: None,
            on_call: None,
            gap: false,
        });
        let v = d.to_json();
        assert_eq!(
            v,
            serde_json::json!({"role": "lead", "repeat": 0, "epoch": 1,
                "due_at": "2026-11-02T09:00:00Z", "late_seconds": 60,
                "owner_from": "tier1", "owner_to": "lead"})
        );
        assert_eq!(Details::from_json(EventKind::Escalated, v), d);
        let created = Details::Created(Created {
            chain: "c".into(),
            title: "t".into(),
            owner: "o".into(),
            ..Created::default()
        });
        assert_eq!(
            created.to_json(),
            serde_json::json!({"chain": "c", "title": "t", "ref": null, "owner": "o"})
        );
    }

    /// A page a person caused says so; a scheduled one keeps its old shape
    /// (no `manual`, no `reason`), so older events read back unchanged.
    #[test]
    fn a_manual_escalation_carries_its_flag_and_reason() {
        let d = Details::Escalated(Escalated {
            role: "lead".into(),
            repeat: 0,
            epoch: 2,
            due_at: t(),
            late_seconds: 0,
            owner_from: "tier1".into(),
            owner_to: "lead".into(),
            manual: true,
            reason: Some("key account".into()),
            on_call: None,
            gap: false,
        });
        let v = d.to_json();
        assert_eq!(v["manual"], true);
        assert_eq!(v["reason"], "key account");
        assert_eq!(Details::from_json(EventKind::Escalated, v), d);
        let moved = Details::Moved(Moved {
            from: "a".into(),
            to: "b".into(),
            epoch: 1,
            ..Moved::default()
        });
        assert_eq!(Details::from_json(EventKind::Moved, moved.to_json()), moved);
        let noted = Details::Noted(Noted { text: "hi".into() });
        assert_eq!(noted.to_json(), serde_json::json!({"text": "hi"}));
    }

    #[test]
    fn details_of_another_shape_are_kept_not_lost() {
        let odd = serde_json::json!({"role": 5});
        let d = Details::from_json(EventKind::Escalated, odd.clone());
        assert_eq!(d, Details::Other(EventKind::Escalated, odd.clone()));
        assert_eq!(d.kind(), EventKind::Escalated);
        assert_eq!(d.to_json(), odd);
    }

    #[test]
    fn every_kind_parses_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }
}
