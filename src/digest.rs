//! The daily digest: what needs a human today. SLA clocks at risk now (with
//! time left), breaches since the last digest, backlog aging per chain,
//! exceptions (dead deliveries, orphaned issues, issues nobody reachable
//! owns, chains exhausted with nobody on the issue) and checker health.
//! Built from small queries (src/store/digest.rs); rendered as markdown
//! that reads well in a mail client, or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::human;
use crate::text::one_line;

/// Rows listed per section before "and N more".
pub const SHOWN: usize = 20;

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
    }
}

fn more(out: &mut String, total: u64, shown: usize) {
    if total > shown as u64 {
        let _ = writeln!(out, "- … and {} more", total - shown as u64);
    }
}

/// Markdown for people.
pub fn markdown(d: &Digest) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# escalate daily digest — {}", d.generated_at);
    let _ = writeln!(o);
    let period = if d.first {
        "in the last 24 hours (first digest)".to_string()
    } else {
        format!("since the last digest ({})", d.since)
    };
    let _ = writeln!(
        o,
        "{} open issue(s); {} SLA clock(s) at risk now; {} breach(es) {period}.",
        d.open_issues, d.at_risk.total, d.breaches.total
    );
    let _ = writeln!(o);

    let _ = writeln!(o, "## At risk now");
    let _ = writeln!(o);
    if d.at_risk.items.is_empty() {
        let _ = writeln!(o, "Nothing is at risk.");
    }
    for r in &d.at_risk.items {
        let left = chrono::TimeDelta::seconds(r.left_seconds);
        let when = if r.left_seconds >= 0 {
            format!("{} left", human(left))
        } else {
            format!("deadline passed {} ago", human(-left))
        };
        let _ = writeln!(
            o,
            "- #{} {} — {} {} SLA, {when} (due {}), owner {}",
            r.id,
            one_line(&r.title),
            r.chain,
            r.target,
            r.due_at,
            r.owner
        );
    }
    more(&mut o, d.at_risk.total, d.at_risk.items.len());
    let _ = writeln!(o);

    let _ = writeln!(o, "## Breaches {period}");
    let _ = writeln!(o);
    if d.breaches.items.is_empty() {
        let _ = writeln!(o, "No breaches.");
    }
    for b in &d.breaches.items {
        let state = if b.resolved {
            "resolved since"
        } else {
            "still open"
        };
        let _ = writeln!(
            o,
            "- #{} {} — {} {} SLA breached at {} ({state})",
            b.id,
            one_line(&b.title),
            b.chain,
            b.target,
            b.at
        );
    }
    more(&mut o, d.breaches.total, d.breaches.items.len());
    let _ = writeln!(o);

    let _ = writeln!(o, "## Backlog aging (open issues by age)");
    let _ = writeln!(o);
    if d.aging.is_empty() {
        let _ = writeln!(o, "No open issues.");
    } else {
        let _ = writeln!(o, "| chain | 0–4 h | 4–24 h | 1–3 d | > 3 d |");
        let _ = writeln!(o, "|---|---:|---:|---:|---:|");
        for a in &d.aging {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                a.chain, a.under_4h, a.from_4h_to_24h, a.from_1d_to_3d, a.over_3d
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Exceptions");
    let _ = writeln!(o);
    let x = &d.exceptions;
    if x.is_empty() {
        let _ = writeln!(o, "None.");
    }
    if x.dead_deliveries.total > 0 {
        let _ = writeln!(
            o,
            "- {} dead deliveries (`escalate outbox --status dead`; `escalate outbox retry --all-dead`):",
            x.dead_deliveries.total
        );
        for dl in &x.dead_deliveries.items {
            let _ = writeln!(
                o,
                "  - issue #{} via {} to {}: {}",
                dl.issue_id,
                dl.channel,
                dl.target,
                one_line(&dl.error)
            );
        }
    }
    for (chain, n) in &x.orphaned {
        let _ = writeln!(
            o,
            "- {n} open issue(s) on chain `{chain}`, which is not in the config (orphaned)"
        );
    }
    for (owner, n) in &x.unreachable_owners {
        let who = if owner.is_empty() {
            "nobody".to_string()
        } else {
            format!("role `{owner}`, which is not in the config")
        };
        let _ = writeln!(o, "- {n} open issue(s) owned by {who}");
    }
    if x.exhausted.total > 0 {
        let _ = writeln!(
            o,
            "- {} open issue(s) at the top of their chain with nobody on them:",
            x.exhausted.total
        );
        for e in &x.exhausted.items {
            let _ = writeln!(o, "  - #{} {} ({})", e.id, one_line(&e.title), e.chain);
        }
        more(&mut o, x.exhausted.total, x.exhausted.items.len());
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Checker health");
    let _ = writeln!(o);
    let c = &d.checker;
    match (&c.last_run_at, c.last_run_age_seconds) {
        (Some(at), Some(age)) => {
            let _ = writeln!(
                o,
                "Last check {at} ({} ago){}.",
                human(chrono::TimeDelta::seconds(age.max(0))),
                if c.stale {
                    format!(
                        " — STALE: expected every {}; is the cron job running?",
                        human(chrono::TimeDelta::seconds(c.expected_interval_seconds))
                    )
                } else {
                    String::new()
                }
            );
        }
        _ => {
            let _ = writeln!(o, "No check has ever run — is the cron job installed?");
        }
    }
    let _ = writeln!(
        o,
        "{} check run(s) {period}, {} with delivery failures.",
        c.runs_since, c.runs_with_failures_since
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "-- ");
    let _ = writeln!(
        o,
        "escalate digest; `escalate list --at-risk` for the live view"
    );
    o
}
