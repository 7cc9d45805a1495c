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
    /// An SLA clock turned at risk or was breached.
    Sla(Target, SlaState),
    /// An event for a `[[subscriptions]]` URL (the payload is the event).
    Event,
    /// Create the issue's engineering task (the payload is the task).
    TaskCreate,
    /// Comment on and close the issue's task (the payload is the comment).
    TaskClose,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Page => "page",
            Notice::Sla(Target::Response, SlaState::Breached) => "response_breached",
            Notice::Sla(Target::Response, _) => "response_at_risk",
            Notice::Sla(Target::Resolution, SlaState::Breached) => "resolution_breached",
            Notice::Sla(Target::Resolution, _) => "resolution_at_risk",
            Notice::Event => "event",
            Notice::TaskCreate => "task_create",
            Notice::TaskClose => "task_close",
        }
    }

    pub fn parse(s: &str) -> Option<Notice> {
        Some(match s {
            "page" => Notice::Page,
            "response_at_risk" => Notice::Sla(Target::Response, SlaState::AtRisk),
            "response_breached" => Notice::Sla(Target::Response, SlaState::Breached),
            "resolution_at_risk" => Notice::Sla(Target::Resolution, SlaState::AtRisk),
            "resolution_breached" => Notice::Sla(Target::Resolution, SlaState::Breached),
            "event" => Notice::Event,
            "task_create" => Notice::TaskCreate,
            "task_close" => Notice::TaskClose,
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
}
