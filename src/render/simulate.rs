//! `escalate simulate`: a what-if timeline as a table for people and JSON
//! for scripts, every instant in UTC and in the chain's calendar zone.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::Chain;
use crate::engine::simulate::{Entry, Timeline};
use crate::model::time::rfc3339;
use crate::model::Ts;

/// `simulate --json`.
#[derive(Debug, Serialize)]
pub struct View {
    pub chain: String,
    /// The SLA policy applied (1-based), if one matched.
    pub policy: Option<u32>,
    pub calendar: String,
    pub timezone: String,
    pub from: String,
    pub timeline: Vec<Line>,
    /// The timeline went on past what is shown.
    pub cut: bool,
}

/// One entry: `kind` is notified, escalated, at_risk, breached, sla_met,
/// acknowledged, ack_expired, paused, resumed or resolved.
#[derive(Debug, Serialize)]
pub struct Line {
    pub kind: &'static str,
    pub level: u32,
    pub repeat: u32,
    pub role: Option<String>,
    pub target: Option<&'static str>,
    pub at: String,
    pub local: String,
}

impl View {
    pub fn new(chain: &Chain, from: Ts, t: &Timeline) -> View {
        View {
            chain: chain.name.clone(),
            policy: chain.policy,
            calendar: chain.calendar.name.clone(),
            timezone: chain.calendar.tz.name().to_string(),
            from: rfc3339(from),
            timeline: t.entries.iter().map(|e| line(chain, e)).collect(),
            cut: t.cut,
        }
    }
}

fn line(chain: &Chain, e: &Entry) -> Line {
    Line {
        kind: e.kind.as_str(),
        level: e.level,
        repeat: e.repeat,
        role: e.role.clone(),
        target: e.target.map(|t| t.as_str()),
        at: rfc3339(e.at),
        local: local(chain, e.at),
    }
}

/// An instant in the chain's calendar zone: `Fri 2026-12-04 16:00 EST`.
fn local(chain: &Chain, t: Ts) -> String {
    t.with_timezone(&chain.calendar.tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The table: when, local time, what happens.
pub fn text(v: &View) -> String {
    let mut o = String::new();
    let policy = v
        .policy
        .map(|p| format!(", sla policy {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "chain {}{policy}, calendar {} ({}), filed {}",
        v.chain, v.calendar, v.timezone, v.from
    );
    for l in &v.timeline {
        let _ = writeln!(o, "  {}  {:<27} {}", l.at, l.local, what(l));
    }
    if v.cut {
        let _ = writeln!(o, "  … cut after {} entries", v.timeline.len());
    }
    o
}

fn what(l: &Line) -> String {
    let who = l.role.as_deref().unwrap_or("");
    let target = l.target.unwrap_or("");
    match l.kind {
        "notified" => format!("L{} {who} notified", l.level),
        "escalated" if l.repeat > 0 => {
            format!("L{} {who} paged again (repeat {})", l.level, l.repeat)
        }
        "escalated" => format!("L{} {who} paged", l.level),
        "at_risk" => format!("{target} SLA at risk"),
        "breached" => format!("{target} SLA breached"),
        "sla_met" => format!("{target} SLA met"),
        "acknowledged" => format!("acknowledged at L{}", l.level),
        "ack_expired" => "acknowledgement lapsed".to_string(),
        "paused" => format!("paused at L{}: escalation and SLA clocks stop", l.level),
        "resumed" => "resumed: later due times move by the paused open time".to_string(),
        "resolved" => format!("resolved at L{}", l.level),
        other => other.to_string(),
    }
}
