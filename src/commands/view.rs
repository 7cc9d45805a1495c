//! How issues and events look to people (tables, local times) and to
//! scripts (JSON, RFC 3339 UTC).

use chrono::Local;
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::engine::sla::{Clock, Clocks, State, Target};
use crate::engine::{self, human, Ts};
use crate::model::event::{DeliveryFailed, Details, Escalated};
use crate::model::time::rfc3339;
use crate::store::{Event, Issue};

#[derive(Debug, Serialize)]
pub struct IssueView {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub description: Option<String>,
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
    pub status: &'static str,
    pub level: u32,
    pub max_level: u32,
    pub owner: String,
    pub owner_kind: &'static str,
    pub created_at: String,
    pub acked_at: Option<String>,
    pub acked_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// When the next escalation step (or repeat, or ack expiry) is due.
    pub next_escalation_at: Option<String>,
    /// When `check` next needs to look at this issue (escalation or SLA).
    pub next_check_at: Option<String>,
    /// Worst SLA state: "ok", "at_risk", "breached", "met"; null without targets.
    pub sla_state: Option<&'static str>,
    pub sla: SlaView,
    /// The helpdesk ticket this issue mirrors (ingest), if any.
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub priority: Option<String>,
    pub tags: Vec<String>,
    /// Fields of the source escalate does not know, as they came.
    pub details: serde_json::Map<String, Value>,
    /// Times the same ticket was created again while open.
    pub dedup_count: u32,
    /// The `[[routes]]` entry that placed it.
    pub route: Option<String>,
    /// The engineering task created for it: {tracker, key, url}.
    pub task: Option<Value>,
    /// True when the issue's chain is missing from the config.
    pub orphaned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

#[derive(Debug, Serialize)]
pub struct SlaView {
    pub response: Option<ClockView>,
    pub resolution: Option<ClockView>,
}

#[derive(Debug, Serialize)]
pub struct ClockView {
    /// "ok" (running), "at_risk", "breached" or "met".
    pub state: &'static str,
    pub at_risk_at: String,
    pub due_at: String,
    pub settled_at: Option<String>,
    /// Seconds left until the deadline while it runs (negative: overdue).
    pub left_seconds: Option<i64>,
}

impl ClockView {
    fn new(c: &Clock, now: Ts) -> ClockView {
        ClockView {
            state: state_word(c.state),
            at_risk_at: rfc3339(c.risk_at),
            due_at: rfc3339(c.due_at),
            settled_at: c.settled_at.map(rfc3339),
            left_seconds: c.left(now).map(|d| d.num_seconds()),
        }
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Pending => "ok",
        State::AtRisk => "at_risk",
        State::Breached => "breached",
        State::Met => "met",
    }
}

/// The SLA column of `list`: the worst state, with time left while a clock
/// runs ("at risk, 12m left", "ok, 3h left", "breached", "met"; "-" without
/// targets).
pub fn sla_cell(clocks: &Clocks, now: Ts) -> String {
    let Some(worst) = clocks.summary() else {
        return "-".to_string();
    };
    let running = [clocks.response, clocks.resolution]
        .into_iter()
        .flatten()
        .filter(|c| !c.state.is_final())
        .min_by_key(|c| c.due_at);
    match (worst, running) {
        (State::Breached, _) => "breached".to_string(),
        (_, Some(c)) => {
            let word = if c.state == State::AtRisk {
                "at risk"
            } else {
                "ok"
            };
            let left = c.due_at - now;
            if left.num_seconds() >= 0 {
                format!("{word}, {} left", human(left))
            } else {
                format!("{word}, {} over", human(-left))
            }
        }
        _ => "met".to_string(),
    }
}

/// One line per SLA target for `show`.
pub fn sla_lines(clocks: &Clocks, now: Ts) -> Vec<String> {
    let mut out = Vec::new();
    for target in [Target::Response, Target::Resolution] {
        let Some(c) = clocks.get(target) else {
            continue;
        };
        let name = target.as_str();
        let line = match c.state {
            State::Pending | State::AtRisk => {
                let word = if c.state == State::AtRisk {
                    "AT RISK"
                } else {
                    "ok"
                };
                format!(
                    "{name:<10} {word}: due {} ({})",
                    local(c.due_at),
                    relative(c.due_at, now)
                )
            }
            State::Breached => format!("{name:<10} BREACHED at {}", local(c.due_at)),
            State::Met => format!(
                "{name:<10} met at {} ({} before the deadline)",
                c.settled_at.map(local).unwrap_or_default(),
                human(c.due_at - c.settled_at.unwrap_or(c.due_at))
            ),
        };
        out.push(line);
    }
    out
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: i64,
    pub kind: String,
    pub at: String,
    pub level: Option<u32>,
    pub actor: String,
    pub details: Value,
}

impl IssueView {
    pub fn new(issue: &Issue, config: Option<&Config>, now: Ts) -> IssueView {
        let chain = config.and_then(|c| c.chain(&issue.chain));
        IssueView {
            id: issue.id,
            chain: issue.chain.clone(),
            title: issue.title.clone(),
            description: issue.description.clone(),
            external_ref: issue.external_ref.clone(),
            status: issue.esc.status.as_str(),
            level: issue.esc.level,
            max_level: issue.max_level,
            owner: issue.owner.clone(),
            owner_kind: issue.owner_kind.as_str(),
            created_at: rfc3339(issue.created_at),
            acked_at: issue.esc.acked_at.map(rfc3339),
            acked_by: issue.acked_by.clone(),
            resolved_at: issue.resolved_at.map(rfc3339),
            resolved_by: issue.resolved_by.clone(),
            next_escalation_at: chain
                .and_then(|c| engine::next_due(&issue.esc, c))
                .map(rfc3339),
            next_check_at: issue.next_due_at.map(rfc3339),
            sla_state: issue.sla.summary().map(state_word),
            sla: SlaView {
                response: issue.sla.response.map(|c| ClockView::new(&c, now)),
                resolution: issue.sla.resolution.map(|c| ClockView::new(&c, now)),
            },
            source: issue.edge.source.clone(),
            external_id: issue.edge.external_id.clone(),
            priority: issue.edge.priority.clone(),
            tags: issue.edge.tags.clone(),
            details: issue.edge.details.clone(),
            dedup_count: issue.edge.dedup_count,
            route: issue.edge.route.clone(),
            task: issue
                .edge
                .task
                .as_ref()
                .map(|t| serde_json::json!({ "tracker": t.tracker, "key": t.key, "url": t.url })),
            orphaned: config.is_some_and(|c| c.chain(&issue.chain).is_none()),
            events: None,
        }
    }

    pub fn with_events(mut self, events: &[Event]) -> IssueView {
        self.events = Some(
            events
                .iter()
                .map(|e| EventView {
                    id: e.id,
                    kind: e.kind().as_str().to_string(),
                    at: rfc3339(e.at),
                    level: e.level,
                    actor: e.actor.clone(),
                    details: e.details.to_json(),
                })
                .collect(),
        );
        self
    }
}

/// A table for people: boxed on a terminal, bare aligned columns in a pipe
/// (so `awk` and `grep` work on it).
pub fn table(header: Vec<&str>) -> comfy_table::Table {
    use comfy_table::{presets, ContentArrangement, Table};
    use std::io::IsTerminal;
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.load_preset(presets::NOTHING);
    }
    table.set_header(header);
    table
}

/// A time for people: local wall clock with its offset.
pub fn local(t: Ts) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// "in 3h 5m" / "4m ago" relative to now.
pub fn relative(t: Ts, now: Ts) -> String {
    let d = t - now;
    if d.num_seconds() >= 0 {
        format!("in {}", human(d))
    } else {
        format!("{} ago", human(-d))
    }
}

/// One line describing an event, for `show`.
pub fn describe(e: &Event) -> String {
    match &e.details {
        Details::Created(d) => format!("filed on {}, owner {}", d.chain, d.owner),
        Details::Escalated(d) => escalated(d),
        Details::Notified(d) => format!("notified {} via {}", d.sent.role, d.sent.channel),
        Details::DeliveryFailed(d) => delivery_failed(d),
        Details::Acknowledged(_) => format!("acknowledged by {}", e.actor),
        Details::AckExpired(d) => format!(
            "acknowledgement by {} lapsed; owner back to {}",
            d.acked_by.as_deref().unwrap_or(""),
            d.owner_to
        ),
        Details::Assigned(d) => format!("assigned to {} (was {})", d.owner_to, d.owner_from),
        Details::Capped(d) => format!("chain shortened: level {} → {}", d.from_level, d.to_level),
        Details::Resolved(d) => match &d.note {
            Some(note) => format!("resolved by {}: {note}", e.actor),
            None => format!("resolved by {}", e.actor),
        },
        Details::Reopened(_) => format!("reopened by {}; escalation restarts at level 1", e.actor),
        Details::AtRisk(d) => format!("{} SLA at risk: due {}", d.target, rfc3339(d.due_at)),
        Details::Breached(d) => format!("{} SLA BREACHED (due {})", d.target, rfc3339(d.due_at)),
        Details::SlaMet(d) => format!(
            "{} SLA met, {} before the deadline",
            d.target,
            human(chrono::TimeDelta::seconds(d.left_seconds))
        ),
        Details::Updated(d) => format!("updated from the source: {}", list(&d.changed)),
        Details::Deduplicated(d) => format!(
            "created again at the source (count {}); changed: {}",
            d.count,
            list(&d.changed)
        ),
        Details::TaskCreated(d) => format!("task {} created in {}: {}", d.key, d.tracker, d.url),
        Details::TaskClosed(d) => format!(
            "task {} in {} commented on and closed",
            d.key.as_deref().unwrap_or(""),
            d.tracker
        ),
        Details::Other(kind, _) => kind.as_str().to_string(),
    }
}

fn escalated(d: &Escalated) -> String {
    let what = if d.repeat > 0 {
        format!("re-notified {} (repeat {})", d.role, d.repeat)
    } else {
        format!("escalated to {}", d.role)
    };
    if d.late_seconds >= 60 {
        let late = human(chrono::TimeDelta::seconds(d.late_seconds));
        format!("{what}, {late} after it was due")
    } else {
        what
    }
}

fn delivery_failed(d: &DeliveryFailed) -> String {
    let tail = match d.retry_at {
        Some(at) if !d.dead => format!("retry at {}", rfc3339(at)),
        _ => "gave up".to_string(),
    };
    let to = if d.sent.channel == "tracker" {
        format!("task work in tracker {}", d.sent.target)
    } else {
        format!("delivery to {} via {}", d.sent.role, d.sent.channel)
    };
    format!("{to} failed: {} ({tail})", d.error)
}

/// Names comma-joined ("nothing" when empty).
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}
