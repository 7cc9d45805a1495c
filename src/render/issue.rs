//! Issues and events as scripts see them (`show --json`, `list --json`,
//! `create --json`): stable field names, RFC 3339 UTC times, SLA states as
//! words.

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::engine;
use crate::model::sla::{Clock, Clocks, State};
use crate::model::time::rfc3339;
use crate::model::{Event, Issue, Ts};

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
    /// The running pause, null when not paused.
    pub pause: Option<PauseView>,
    /// The ticket at its source (`[sources.NAME] ticket_url`), or null.
    pub ticket_url: Option<String>,
    /// The chain's runbook, or null.
    pub runbook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

#[derive(Debug, Serialize)]
pub struct PauseView {
    pub since: String,
    /// When it ends on its own (null: until someone resumes it).
    pub until: Option<String>,
    pub reason: Option<String>,
    pub by: String,
    /// Wall-clock seconds paused so far (to its end, once that passed).
    pub paused_seconds: i64,
    /// Which SLA clocks it stopped.
    pub stopped: Vec<&'static str>,
}

impl PauseView {
    fn new(issue: &Issue, now: Ts) -> Option<PauseView> {
        let p = issue.pause.as_ref()?;
        let end = p.until.map_or(now, |u| u.min(now));
        let stopped = [
            ("response", issue.sla.response),
            ("resolution", issue.sla.resolution),
        ]
        .into_iter()
        .filter(|(_, c)| c.is_some_and(|c| c.hold.is_some()))
        .map(|(name, _)| name)
        .collect();
        Some(PauseView {
            since: rfc3339(p.since),
            until: p.until.map(rfc3339),
            reason: p.reason.clone(),
            by: p.by.clone(),
            paused_seconds: (end - p.since).num_seconds().max(0),
            stopped,
        })
    }
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
    /// Seconds left until the deadline while it runs (negative: overdue;
    /// frozen while stopped).
    pub left_seconds: Option<i64>,
    /// True while a pause stops this clock (its due time moves on resume).
    pub stopped: bool,
    /// False when `state` is what the clock reached by now but no `check`
    /// has recorded yet (its event and notification are still to come).
    pub recorded: bool,
}

impl ClockView {
    /// `c` as stored; the view shows where it stands at `now`.
    fn new(stored: &Clock, now: Ts) -> ClockView {
        let c = live_clock(stored, now);
        ClockView {
            recorded: c.state == stored.state,
            state: state_word(c.state),
            at_risk_at: rfc3339(c.risk_at),
            due_at: rfc3339(c.due_at),
            settled_at: c.settled_at.map(rfc3339),
            left_seconds: c.left(now).map(|d| d.num_seconds()),
            stopped: c.hold.is_some(),
        }
    }
}

/// The clocks as they stand at `now`, whatever the last `check` recorded:
/// a view judged at the moment it runs never shows a passed deadline as
/// running.
pub fn live(clocks: &Clocks, now: Ts) -> Clocks {
    engine::sla::tick(clocks, now).clocks
}

fn live_clock(c: &Clock, now: Ts) -> Clock {
    let one = Clocks {
        response: Some(*c),
        resolution: None,
        held: chrono::TimeDelta::zero(),
    };
    live(&one, now).response.unwrap_or(*c)
}

/// The JSON word for a clock state: "ok" rather than "pending", because a
/// running clock within its target is what a script checks for.
fn state_word(s: State) -> &'static str {
    match s {
        State::Pending => "ok",
        State::AtRisk => "at_risk",
        State::Breached => "breached",
        State::Met => "met",
    }
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

impl EventView {
    pub fn new(e: &Event) -> EventView {
        EventView {
            id: e.id,
            kind: e.kind().as_str().to_string(),
            at: rfc3339(e.at),
            level: e.level,
            actor: e.actor.clone(),
            details: e.details.to_json(),
        }
    }
}

impl IssueView {
    /// The view at `now`; `config` (when it loads) adds the next escalation
    /// and the orphaned mark.
    pub fn new(issue: &Issue, config: Option<&Config>, now: Ts) -> IssueView {
        let chain = config.and_then(|c| c.chain_for(issue));
        let edge = &issue.edge;
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
            sla_state: live(&issue.sla, now).summary().map(state_word),
            sla: SlaView {
                response: issue.sla.response.map(|c| ClockView::new(&c, now)),
                resolution: issue.sla.resolution.map(|c| ClockView::new(&c, now)),
            },
            source: edge.source.clone(),
            external_id: edge.external_id.clone(),
            priority: edge.priority.clone(),
            tags: edge.tags.clone(),
            details: edge.details.clone(),
            dedup_count: edge.dedup_count,
            route: edge.route.clone(),
            task: edge
                .task
                .as_ref()
                .map(|t| serde_json::json!({ "tracker": t.tracker, "key": t.key, "url": t.url })),
            orphaned: config.is_some_and(|c| c.chain(&issue.chain).is_none()),
            pause: PauseView::new(issue, now),
            ticket_url: match (config, &edge.source, &edge.external_id) {
                (Some(c), Some(s), Some(id)) => c.ticket_url(s, id),
                _ => None,
            },
            runbook: config
                .and_then(|c| c.runbook(&issue.chain))
                .map(str::to_string),
            events: None,
        }
    }

    /// The view with its timeline (`show --json`).
    pub fn with_events(mut self, events: &[Event]) -> IssueView {
        self.events = Some(events.iter().map(EventView::new).collect());
        self
    }
}
