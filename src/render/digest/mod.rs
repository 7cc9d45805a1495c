//! The daily digest: what needs a human today. SLA clocks at risk now (with
//! time left), breaches since the last digest, backlog aging per chain,
//! exceptions (dead deliveries, orphaned issues, issues nobody reachable
//! owns, chains exhausted with nobody on the issue) and checker health.
//!
//! Built like the report: small queries ([`crate::store::digest::collect`])
//! give the figures, [`build`] shapes them into a [`Digest`] (pure: `now`
//! and the config come in as parameters), and one function per form
//! renders it: [`markdown`] (reads well in a mail client), [`slack`] (that
//! text in a code block) and JSON ([`crate::render::json`]).

mod build;
mod markdown;
mod slack;

pub use build::{build, chain_ends, subject};
pub use markdown::{code_block_text, markdown};
pub use slack::slack;

use serde::Serialize;

use crate::store::digest::Limits;

/// Rows listed per section before "and N more".
pub const SHOWN: usize = 20;

/// What [`crate::store::digest::collect`] fetches for a digest: [`SHOWN`]
/// rows per list, and the five newest dead deliveries (each with its error,
/// so fewer).
/// How many rows each list holds; pauses longer than `long_pause` (from
/// `[digest] long_pause_hours`) are listed.
pub fn limits(long_pause: chrono::TimeDelta) -> Limits {
    Limits {
        listed: SHOWN,
        dead: 5,
        long_pause,
    }
}

#[derive(Debug, Serialize)]
pub struct Digest {
    pub generated_at: String,
    /// Start of the period: the last digest, or 24 h ago for the first.
    pub since: String,
    pub first: bool,
    /// The last event this digest covers; the next starts after it.
    pub last_event_id: i64,
    pub open_issues: u64,
    pub at_risk: Listing<RiskLine>,
    pub breaches: Listing<BreachLine>,
    pub aging: Vec<AgingLine>,
    pub exceptions: Exceptions,
    pub checker: Checker,
}

#[derive(Debug, Serialize)]
pub struct Listing<T> {
    pub total: u64,
    pub items: Vec<T>,
}

#[derive(Debug, Serialize)]
pub struct RiskLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub owner: String,
    pub target: String,
    pub due_at: String,
    pub left_seconds: i64,
    /// The line `[templates.digest_line] markdown` made (escaped already).
    #[serde(skip)]
    pub rendered: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BreachLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub target: String,
    pub at: String,
    pub resolved: bool,
}

#[derive(Debug, Serialize)]
pub struct AgingLine {
    pub chain: String,
    pub under_4h: u64,
    pub from_4h_to_24h: u64,
    pub from_1d_to_3d: u64,
    pub over_3d: u64,
}

#[derive(Debug, Serialize, Default)]
pub struct Exceptions {
    pub dead_deliveries: Listing<DeadLine>,
    /// (chain, count) of unresolved issues on chains missing from the config.
    pub orphaned: Vec<(String, u64)>,
    /// (owner, count) of issues owned by a role the config does not know, or
    /// by nobody.
    pub unreachable_owners: Vec<(String, u64)>,
    /// Open issues nobody acknowledged with the chain exhausted.
    pub exhausted: Listing<ExhaustedLine>,
    /// Issues paused longer than `long_pause_seconds`: a forgotten pause is
    /// an issue nobody works on.
    pub long_pauses: Listing<PauseLine>,
    pub long_pause_seconds: i64,
    /// Pages that found nobody on call for their role (they went to the
    /// role's own channels).
    pub oncall_gaps: Listing<GapLine>,
}

#[derive(Debug, Serialize)]
pub struct GapLine {
    pub issue_id: i64,
    pub title: String,
    pub role: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct PauseLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub since: String,
    pub paused_seconds: i64,
    pub until: Option<String>,
    pub reason: Option<String>,
    pub by: String,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Listing {
            total: 0,
            items: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeadLine {
    pub issue_id: i64,
    pub channel: String,
    pub target: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct ExhaustedLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct Checker {
    pub last_run_at: Option<String>,
    pub last_run_age_seconds: Option<i64>,
    pub expected_interval_seconds: i64,
    pub stale: bool,
    pub runs_since: u64,
    pub runs_with_failures_since: u64,
}

impl Exceptions {
    pub fn is_empty(&self) -> bool {
        self.dead_deliveries.total == 0
            && self.orphaned.is_empty()
            && self.unreachable_owners.is_empty()
            && self.exhausted.total == 0
            && self.long_pauses.total == 0
            && self.oncall_gaps.total == 0
    }
}
