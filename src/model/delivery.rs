//! Outbox rows as the program handles them: what a row tells its contact
//! (its notice), its status, and a claimed row ready to deliver.

use super::issue::Task;
use super::sla::{State as SlaState, Target};
use super::Ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Sent,
    Dead,
    Cancelled,
}

/// What an outbox row tells its contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// An escalation step (or repeat) reached this contact's role.
    Page,
    /// An acknowledgement lapsed: the current level's role is paged again.
    AckLapsed,
    /// The chain was shortened below the issue's level: the new top level's
    /// role is told it now owns the issue.
    ChainShortened,
    /// An SLA clock turned at risk or was breached.
    Sla(Target, SlaState),
    /// An event for a `[[subscriptions]]` URL (the payload is the event).
    Event,
    /// Create the issue's engineering task (the payload is the task).
    TaskCreate,
    /// Comment on and close the issue's task (the payload is the comment).
    TaskClose,
    /// The issue was assigned to this row's person.
    Assigned,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Page => "page",
            Notice::AckLapsed => "ack_lapsed",
            Notice::ChainShortened => "chain_shortened",
            Notice::Sla(Target::Response, SlaState::Breached) => "response_breached",
            Notice::Sla(Target::Response, _) => "response_at_risk",
            Notice::Sla(Target::Resolution, SlaState::Breached) => "resolution_breached",
            Notice::Sla(Target::Resolution, _) => "resolution_at_risk",
            Notice::Event => "event",
            Notice::TaskCreate => "task_create",
            Notice::TaskClose => "task_close",
            Notice::Assigned => "assigned",
        }
    }

    pub fn parse(s: &str) -> Option<Notice> {
        Some(match s {
            "page" => Notice::Page,
            "ack_lapsed" => Notice::AckLapsed,
            "chain_shortened" => Notice::ChainShortened,
            "response_at_risk" => Notice::Sla(Target::Response, SlaState::AtRisk),
            "response_breached" => Notice::Sla(Target::Response, SlaState::Breached),
            "resolution_at_risk" => Notice::Sla(Target::Resolution, SlaState::AtRisk),
            "resolution_breached" => Notice::Sla(Target::Resolution, SlaState::Breached),
            "event" => Notice::Event,
            "task_create" => Notice::TaskCreate,
            "task_close" => Notice::TaskClose,
            "assigned" => Notice::Assigned,
            _ => return None,
        })
    }
}

/// A claimed outbox row, with what is needed to render its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub issue_id: i64,
    pub notice: Notice,
    pub epoch: u32,
    pub level: u32,
    pub repeat: u32,
    pub role: String,
    pub channel: String,
    pub target: String,
    pub due_at: Ts,
    pub attempts: u32,
    pub title: String,
    pub chain: String,
    pub created_at: Ts,
    pub payload: Option<String>,
    /// The issue's engineering task, when one was created.
    pub task: Option<Task>,
    /// The on-call person the page went to (None: the role's own contacts).
    pub person: Option<String>,
    /// That person's Slack member id, filled in by delivery from the config
    /// for messages to the role's Slack channel (`<@U…>`).
    pub mention: Option<String>,
    /// The issue's escalation epoch now (signed into action links, so a
    /// link from before a reopen is refused).
    pub issue_epoch: u32,
    /// Action links, filled in by delivery when `serve` has a public URL.
    pub links: Option<Links>,
    /// The helpdesk ticket the issue mirrors, if any.
    pub source: Option<String>,
    pub external_id: Option<String>,
    /// Deep links filled in by delivery from the config: the ticket at its
    /// source (`[sources.NAME] ticket_url`) and the chain's runbook.
    pub ticket_url: Option<String>,
    pub runbook: Option<String>,
    /// The line a `[templates]` entry made for this row's channel (its
    /// variables already escaped for it), in place of the built-in one.
    pub rendered: Option<String>,
}

/// Signed action links for one notification (`escalate serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub ack: String,
    pub resolve: String,
    pub snooze: String,
    /// The bare tokens, for Slack buttons that act in place.
    pub tokens: [String; 3],
}

/// What an outbox row for task work carries (its `payload`): the task to
/// create, or the comment to close it with. Stored as JSON; fields that do
/// not apply are empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TaskWork {
    /// Found in an existing task's body: makes creation idempotent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub marker: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// What the outbox row of a page someone raised by hand (`escalate
/// escalate ID`) carries: who raised it and why, for the message, so the
/// person pulled in knows who to ask.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RaisedBy {
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RaisedBy {
    pub fn to_payload(&self) -> String {
        // A struct of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Delivery {
    /// Who raised this page by hand, and why (None: the schedule did).
    pub fn raised_by(&self) -> Option<RaisedBy> {
        if self.notice != Notice::Page {
            return None;
        }
        let raised: RaisedBy = serde_json::from_str(self.payload.as_deref()?).ok()?;
        Some(raised).filter(|r| !r.by.is_empty())
    }
}

impl TaskWork {
    pub fn to_payload(&self) -> String {
        // A struct of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read a stored payload; one that does not parse reads as empty (the
    /// tracker then refuses it and the row fails with its reason).
    pub fn from_payload(payload: Option<&str>) -> TaskWork {
        payload
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod task_work_tests {
    use super::TaskWork;

    #[test]
    fn payload_keeps_the_stored_field_names() {
        let w = TaskWork {
            comment: "done".into(),
            ..TaskWork::default()
        };
        assert_eq!(w.to_payload(), r#"{"comment":"done"}"#);
        let old = r#"{"marker":"m","title":"t","body":"b"}"#;
        let read = TaskWork::from_payload(Some(old));
        assert_eq!((read.marker.as_str(), read.body.as_str()), ("m", "b"));
        assert_eq!(
            TaskWork::from_payload(Some("not json")),
            TaskWork::default()
        );
    }
}
