//! The escalation report: what happened in a window [since, until) — every
//! issue open at any moment of it (not only those created in it, seed bug
//! B6), how far each chain escalated and how long each level held an issue
//! (B7), response and resolution times, SLA outcomes, the oldest open
//! issues, the worst breaches and delivery trouble.
//!
//! Built like the digest: the figures come from SQL aggregates
//! ([`crate::store::report::collect`]); [`build`] shapes them into a
//! [`Report`] (pure: no clock, no database), and one module per form renders
//! it: [`markdown`] (plain enough to read when piped to `mail`), [`csv`] (one
//! row per chain) and JSON ([`crate::render::json`], durations in seconds).
//!
//! Durations are counted on the clock of each issue's calendar
//! ([`clocks`]): business hours where a calendar governs the issue, wall
//! time on `always`. Each figure carries its basis; figures of different
//! clocks are shown side by side, never pooled.

mod build;
mod clocks;
mod csv;
mod markdown;

pub use build::{build, chain_roles, subject};
pub use clocks::{Basis, ReportClocks};
pub use csv::csv;
pub use markdown::markdown;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::report::SlaCount;
use build::round;

/// How many entries the "longest open" and "worst breaches" lists show.
pub const TOP: u32 = 10;

#[derive(Debug, Serialize)]
pub struct Report {
    pub window: Window,
    pub totals: Totals,
    /// Every chain in the config (or of the `--chain` filter) and every
    /// chain with activity in the window, by name.
    pub chains: Vec<ChainReport>,
    /// Chains with issues in the window, highest escalation rate first.
    pub escalating_most: Vec<Ranked>,
    /// With `report --by` (other than chain): the same ranking by that key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalating_by: Option<Grouped>,
    /// SLA met per priority (empty when no issue has one).
    pub sla_by_priority: Vec<PrioritySlaLine>,
    /// Issues still open at the end of the window, oldest first.
    pub longest_open: Vec<OpenLine>,
    /// SLA targets breached in the window, largest overshoot first.
    pub worst_breaches: Vec<BreachLine>,
    pub delivery: Delivery,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub since: String,
    pub until: String,
    pub seconds: i64,
    /// The `--chain` filter, if any.
    pub chain: Option<String>,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Open at any moment of the window.
    pub involved: u64,
    /// Created in the window.
    pub opened: u64,
    /// Resolved in the window.
    pub resolved: u64,
    /// Open at any moment of the window and not resolved by its end.
    pub still_open: u64,
    /// Paged at level 2 or higher in the window.
    pub escalated: u64,
    /// With an SLA breach in the window.
    pub breached: u64,
}

#[derive(Debug, Serialize)]
pub struct ChainReport {
    pub chain: String,
    /// False for a chain no longer in the config (its issues are orphaned).
    pub configured: bool,
    pub involved: u64,
    pub opened: u64,
    pub resolved: u64,
    pub still_open: u64,
    pub escalated: u64,
    /// escalated / involved (None without involved issues).
    pub escalation_rate: Option<f64>,
    pub breached: u64,
    /// Highest level reached by the involved issues: every level of the
    /// chain (zeros included) and any level only the history knows.
    pub highest_level: Vec<LevelCount>,
    /// Created → first acknowledgement, issues first acknowledged in the
    /// window: the figures of the chain's one clock, or `basis: "mixed"`
    /// without figures when its issues are on several (see `by_calendar`).
    pub time_to_ack: SpreadView,
    /// Created → resolved, issues resolved in the window (as `time_to_ack`).
    pub time_to_resolve: SpreadView,
    /// Both, per clock that governs issues of the chain in the window (at
    /// least one entry: the chain's own calendar when nothing happened).
    pub by_calendar: Vec<ClockDurations>,
    pub sla: SlaView,
    pub levels: Vec<LevelLine>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LevelCount {
    pub level: u32,
    pub issues: u64,
}

/// A sample's size, median and p90, and what they count: seconds of open
/// time of `calendar` (`basis: "business"`), elapsed seconds (`"wall"`), or
/// no figures because the sample spans several clocks (`"mixed"`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SpreadView {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub basis: &'static str,
    pub calendar: Option<String>,
}

/// A chain's times to ack and to resolve on one clock.
#[derive(Debug, Serialize)]
pub struct ClockDurations {
    pub basis: &'static str,
    pub calendar: Option<String>,
    /// The calendar's zone (business hours only).
    pub timezone: Option<String>,
    pub time_to_ack: SpreadView,
    pub time_to_resolve: SpreadView,
}

/// One level's completed stays on one clock.
#[derive(Debug, Serialize)]
pub struct ClockStay {
    pub basis: &'static str,
    pub calendar: Option<String>,
    pub timezone: Option<String>,
    pub stay: SpreadView,
}

#[derive(Debug, Serialize)]
pub struct SlaView {
    pub response: SlaLine,
    pub resolution: SlaLine,
}

#[derive(Debug, Serialize)]
pub struct SlaLine {
    pub met: u64,
    pub breached: u64,
    /// met / (met + breached) in percent, one decimal (None: no outcome).
    pub met_percent: Option<f64>,
}

impl From<SlaCount> for SlaLine {
    fn from(c: SlaCount) -> Self {
        let all = c.met + c.breached;
        SlaLine {
            met: c.met,
            breached: c.breached,
            met_percent: (all > 0).then(|| round(c.met as f64 * 100.0 / all as f64, 1)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LevelLine {
    pub level: u32,
    /// The level's role in the current config.
    pub role: Option<String>,
    /// Issues that reached the level in the window.
    pub reached: u64,
    /// Completed stays (left by escalation or resolution in the window), as
    /// `time_to_ack`: one clock's figures or `mixed`.
    pub stay: SpreadView,
    /// The same per clock (empty without completed stays).
    pub stay_by_calendar: Vec<ClockStay>,
    /// Stays that ended in the window by escalation to a higher level.
    pub escalated: u64,
    /// Stays that ended in the window by resolution.
    pub resolved: u64,
    /// Issues still at the level when the window ended.
    pub still_there: u64,
}

#[derive(Debug, Serialize)]
pub struct Ranked {
    pub chain: String,
    pub escalation_rate: f64,
    pub escalated: u64,
    pub involved: u64,
}

/// The "escalate most" ranking by another key than chain.
#[derive(Debug, Serialize)]
pub struct Grouped {
    /// priority, source, tag or route.
    pub by: &'static str,
    pub rows: Vec<GroupLine>,
}

#[derive(Debug, Serialize)]
pub struct GroupLine {
    pub group: String,
    pub escalation_rate: f64,
    pub escalated: u64,
    pub involved: u64,
}

#[derive(Debug, Serialize)]
pub struct PrioritySlaLine {
    pub priority: String,
    pub response: SlaLine,
    pub resolution: SlaLine,
}

#[derive(Debug, Serialize)]
pub struct OpenLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    /// The level at the end of the window.
    pub level: u32,
    /// The current owner.
    pub owner: String,
    pub acknowledged: bool,
    pub created_at: String,
    /// Open for this long at the end of the window (wall-clock time: an
    /// age, not a target that a calendar counts).
    pub age_seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct BreachLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub target: String,
    pub due_at: String,
    /// The late acknowledgement or resolution, if it came by the end.
    pub settled_at: Option<String>,
    /// Deadline → settlement (or the window's end), on the issue's clock.
    pub overshoot_seconds: i64,
    pub basis: &'static str,
    pub calendar: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Delivery {
    pub failed_attempts: u64,
    pub dead: u64,
    pub by_channel: Vec<ChannelLine>,
}

#[derive(Debug, Serialize)]
pub struct ChannelLine {
    pub channel: String,
    /// Failed attempts in the window.
    pub failed_attempts: u64,
    /// Notifications dead now (never delivered; `escalate outbox retry`).
    pub dead: u64,
}

/// The configured chains: name → the role of each level, in order.
pub type ChainRoles = BTreeMap<String, Vec<String>>;
