//! An issue as the rest of the program sees it: its escalation, owner, SLA
//! clocks and where it came from.

use super::sla::Clocks;
use super::{Escalation, Ts};

/// Longest accepted title (create and ingest): the detail belongs in the
/// description.
pub const MAX_TITLE: usize = 1000;

/// Why `text` may not be stored as an issue's `field` (`title`,
/// `description`), if it may not: a bidi override or isolate (U+202A–202E,
/// U+2066–2069) makes a terminal or a browser show the text in an order
/// other than the one stored (a title that reads one way and greps
/// another), and a title of only invisible characters cannot be told apart
/// from no title. Create and ingest share this check through
/// `lifecycle::create`; the messages name the field.
pub fn text_problem(field: &str, text: &str, is_title: bool) -> Option<String> {
    if let Some(c) = text.chars().find(|c| is_bidi_control(*c)) {
        return Some(format!(
            "{field} contains the bidirectional control U+{:04X}, which would show \
             the text in another order than it is stored",
            u32::from(c)
        ));
    }
    if is_title && !text.is_empty() && text.chars().all(is_invisible) {
        return Some(format!(
            "{field} has no visible characters (only spaces, controls or zero-width characters)"
        ));
    }
    None
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whitespace, controls, and the characters that render as nothing
/// (zero-width spaces and joiners, marks, the soft hyphen, fillers).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206a}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
        )
}

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
    /// Set while the issue is paused (waiting on the customer, snoozed).
    pub pause: Option<Pause>,
}

/// A running pause: escalation stops, and so do the SLA clocks the policy's
/// `pause` names (`Clock::hold`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub since: Ts,
    /// Resumes on its own then (`pause --until`).
    pub until: Option<Ts>,
    pub reason: Option<String>,
    pub by: String,
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
