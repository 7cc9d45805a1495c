//! What-if timelines (`escalate simulate`): every page, at-risk and breach
//! an issue filed at a given instant would meet on a chain, with optional
//! acknowledgement and resolution instants. Pure: it replays the same
//! decisions `check`, `ack` and `resolve` make (`engine::advance`,
//! `sla::tick`, `sla::settle`), with checks assumed on time, so what it
//! shows is what the product will do.

use crate::config::Chain;
use crate::engine::{self, sla, Action};
use crate::model::sla::{Change, Target};
use crate::model::{Escalation, Status, Ts};

/// A timeline is cut after this many entries (a chain repeats at most
/// `MAX_REPEAT` times per level, so real timelines are far shorter).
pub const MAX_ENTRIES: usize = 2000;

/// What happens at an instant of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Level 1 told at filing.
    Notified,
    /// A page at a higher level, a repeat of the last level, or the page
    /// that follows a lapsed acknowledgement.
    Escalated,
    AtRisk,
    Breached,
    /// An SLA target met by the acknowledgement or resolution.
    Met,
    Acknowledged,
    AckExpired,
    Resolved,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Notified => "notified",
            Kind::Escalated => "escalated",
            Kind::AtRisk => "at_risk",
            Kind::Breached => "breached",
            Kind::Met => "sla_met",
            Kind::Acknowledged => "acknowledged",
            Kind::AckExpired => "ack_expired",
            Kind::Resolved => "resolved",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub at: Ts,
    /// The level at that instant (the paged level for a page).
    pub level: u32,
    /// For pages: the repeat of the level (0: first page at it).
    pub repeat: u32,
    /// For pages: the role paged.
    pub role: Option<String>,
    /// For SLA entries: which target.
    pub target: Option<Target>,
}

/// The what-if: filed at `from`, acknowledged and resolved when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub from: Ts,
    pub ack_at: Option<Ts>,
    pub resolve_at: Option<Ts>,
}

/// The timeline, in time order; `cut` when it was longer than
/// [`MAX_ENTRIES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub entries: Vec<Entry>,
    pub cut: bool,
}

/// Replay the scenario on `chain`.
pub fn run(chain: &Chain, s: &Scenario) -> Timeline {
    let started = engine::start(chain, s.from, 0);
    let mut sim = Sim {
        chain,
        state: started.state,
        clocks: sla::start(&chain.sla, s.from),
        out: Vec::new(),
    };
    sim.page(Kind::Notified, &started.page);
    let mut ack_at = s.ack_at.filter(|t| *t >= s.from);
    let resolve_at = s.resolve_at.filter(|t| *t >= s.from);
    while sim.out.len() < MAX_ENTRIES {
        let next = [
            engine::next_due(&sim.state, chain),
            sla::next_due(&sim.clocks),
        ]
        .into_iter()
        .flatten()
        .min();
        // A person's action at the same instant as a due step comes after
        // it, as `ack`/`resolve` first bring the issue up to date.
        match (next, ack_at, resolve_at) {
            (n, _, Some(r)) if n.is_none_or(|n| r < n) && ack_at.is_none_or(|a| r < a) => {
                sim.resolve(r);
                break;
            }
            (n, Some(a), _) if n.is_none_or(|n| a < n) => {
                sim.ack(a);
                ack_at = None;
            }
            (Some(n), _, _) => sim.check(n),
            (None, _, _) => break,
        }
    }
    let cut = sim.out.len() >= MAX_ENTRIES;
    sim.out.truncate(MAX_ENTRIES);
    Timeline {
        entries: sim.out,
        cut,
    }
}

struct Sim<'a> {
    chain: &'a Chain,
    state: Escalation,
    clocks: crate::model::sla::Clocks,
    out: Vec<Entry>,
}

impl Sim<'_> {
    /// A check on time at `now`: SLA changes, then pages.
    fn check(&mut self, now: Ts) {
        let walked = sla::tick(&self.clocks, now);
        self.clocks = walked.clocks;
        self.changes(&walked.changes);
        self.advance_to(now);
    }

    fn ack(&mut self, at: Ts) {
        self.advance_to(at);
        let walked = sla::settle(&self.clocks, &[Target::Response], at);
        self.clocks = walked.clocks;
        self.changes(&walked.changes);
        self.state.status = Status::Acknowledged;
        self.state.acked_at = Some(at);
        self.push(Kind::Acknowledged, at, None);
    }

    fn resolve(&mut self, at: Ts) {
        self.advance_to(at);
        let walked = sla::settle(&self.clocks, &[Target::Response, Target::Resolution], at);
        self.clocks = walked.clocks;
        self.changes(&walked.changes);
        self.state.status = Status::Resolved;
        self.push(Kind::Resolved, at, None);
    }

    /// Bring the escalation up to `at`: every page due by then.
    fn advance_to(&mut self, at: Ts) {
        let decision = engine::advance(&self.state, self.chain, at);
        for action in &decision.actions {
            match action {
                Action::Page(p) => self.page(Kind::Escalated, p),
                Action::AckExpired { at } => self.push(Kind::AckExpired, *at, None),
                Action::Capped { .. } => {}
            }
        }
        self.state = decision.state;
    }

    fn changes(&mut self, changes: &[Change]) {
        for c in changes {
            let kind = match c {
                Change::AtRisk { .. } => Kind::AtRisk,
                Change::Breached { .. } => Kind::Breached,
                Change::Met { .. } => Kind::Met,
            };
            self.push(kind, c.at(), Some(c.target()));
        }
    }

    fn page(&mut self, kind: Kind, p: &engine::Page) {
        self.out.push(Entry {
            kind,
            at: p.due_at,
            level: p.level,
            repeat: p.repeat,
            role: Some(p.role.clone()),
            target: None,
        });
    }

    fn push(&mut self, kind: Kind, at: Ts, target: Option<Target>) {
        self.out.push(Entry {
            kind,
            at,
            level: self.state.level,
            repeat: 0,
            role: None,
            target,
        });
    }
}

#[cfg(test)]
mod tests;
