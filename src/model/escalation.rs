//! An issue's place in its escalation: its status, level, repeat and the
//! epoch its schedule is anchored to. The engine reasons about these; the
//! store keeps them.

use chrono::TimeDelta;

use super::Ts;

/// Lifecycle of an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "open" => Some(Status::Open),
            "acknowledged" => Some(Status::Acknowledged),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }
}

/// The part of an issue the engine reasons about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub status: Status,
    /// Current level, 1-based.
    pub level: u32,
    /// Repeats of the last level already notified in this epoch.
    pub repeat: u32,
    pub epoch: u32,
    /// Level the current epoch started at.
    pub epoch_level: u32,
    /// When the current epoch started (its first step's due time).
    pub epoch_at: Ts,
    pub acked_at: Option<Ts>,
    /// Paused since (escalation stops; steps that came due before it still
    /// fire). Moved to the acknowledgement instant when an ack arrives
    /// while paused, because an ack restarts what `held` counts from.
    pub hold: Option<Ts>,
    /// Open calendar time paused in this epoch (since the acknowledgement,
    /// while acknowledged): every later step, and the ack's expiry, is due
    /// that much open time later.
    pub held: TimeDelta,
}
