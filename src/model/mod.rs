//! Domain types every layer shares: issues, their escalation state and SLA
//! clocks, outbox deliveries, events, and the time helpers; ticket events
//! as they come in (`ticket`, and `webhook` for helpdesks' own payloads).
//! No I/O, no config: the bottom layer.

pub mod delivery;
pub mod escalation;
pub mod event;
pub mod issue;
pub mod link;
pub mod sla;
pub mod ticket;
pub mod time;
pub mod webhook;

pub use delivery::{Delivery, Notice, OutboxStatus, RaisedBy};
pub use escalation::{Escalation, Status};
pub use event::{Details, Event, EventKind, NewEvent};
pub use issue::{Edge, Issue, OwnerKind, Pause, Task};

/// An instant. Always UTC inside; local time is for display and calendars.
pub type Ts = chrono::DateTime<chrono::Utc>;

/// The first few of a longer list (at most the limit asked for), and how
/// many there are in all ("#1, #2 and 40 more").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub total: u64,
}

/// Nothing listed (derived, it would ask for `T: Default`).
impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            rows: Vec::new(),
            total: 0,
        }
    }
}
