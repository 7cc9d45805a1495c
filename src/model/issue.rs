//! An issue as the rest of the program sees it: its escalation, owner, SLA
//! clocks and where it came from.

use super::sla::Clocks;
use super::{Escalation, Ts};

/// Longest accepted title (create and ingest): the detail belongs in the
/// description.
pub const MAX_TITLE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// The role of the issue's current level owns it.
    Role,
    /// A person took it (ack) or was given it (assign).
    Person,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Role => "role",
            OwnerKind::Person => "person",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub description: Option<String>,
    pub external_ref: Option<String>,
    pub esc: Escalation,
    pub max_level: u32,
    pub owner: String,
    pub owner_kind: OwnerKind,
    pub created_at: Ts,
    pub acked_by: Option<String>,
    pub resolved_at: Option<Ts>,
    pub resolved_by: Option<String>,
    pub next_due_at: Option<Ts>,
    /// The first acknowledgement ever (kept when an ack lapses).
    pub first_acked_at: Option<Ts>,
    pub sla: Clocks,
    pub edge: Edge,
}

/// Where an issue came from and what was made for it outside: the
/// helpdesk ticket it mirrors and the engineering task created for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Edge {
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub priority: Option<String>,
    pub tags: Vec<String>,
    /// Fields of the source escalate does not know, kept as they came.
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Times the same ticket was "created" again while open.
    pub dedup_count: u32,
    /// The route that placed it.
    pub route: Option<String>,
    pub task: Option<Task>,
}

/// An engineering task created in a tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub id: String,
}
