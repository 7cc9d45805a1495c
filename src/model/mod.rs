//! Domain types every layer shares: issues, their escalation state and SLA
//! clocks, outbox deliveries, events, and the time helpers. No I/O, no
//! config: the bottom layer.

pub mod delivery;
pub mod escalation;
pub mod event;
pub mod issue;
pub mod sla;
pub mod ticket;
pub mod time;

pub use delivery::{Delivery, Notice, OutboxStatus};
pub use escalation::{Escalation, Status};
pub use event::{Details, Event, EventKind, NewEvent};
pub use issue::{Edge, Issue, OwnerKind, Task};

/// An instant. Always UTC inside; local time is for display and calendars.
pub type Ts = chrono::DateTime<chrono::Utc>;

/// The first few of a longer list, and how many there are in all ("#1, #2
/// and 40 more").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Excerpt<T> {
    pub items: Vec<T>,
    pub total: u64,
}
