//! What-if timelines (`escalate simulate`): every page, at-risk and breach
//! an issue filed at a given instant would meet on a chain, with optional
//! acknowledgement and resolution instants and pauses. Pure: it replays the
//! same decisions `check`, `ack`, `resolve`, `pause` and `resume` make
//! (`engine::advance`, `sla::tick`, `sla::settle`, `sla::shift`), with
//! checks assumed on time, so what it shows is what the product will do.

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
    Paused,
    Resumed,
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
            Kind::Paused => "paused",
            Kind::Resumed => "resumed",
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

/// The what-if: filed at `from`, acknowledged, resolved and paused when
/// given. Pauses are `(from, to)` pairs; the command refuses overlapping or
/// reversed ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    pub from: Ts,
    pub ack_at: Option<Ts>,
    pub resolve_at: Option<Ts>,
    pub pauses: Vec<(Ts, Ts)>,
}

/// Something a person (or the helpdesk) does in the scenario, after the
/// checks due at its instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Pause,
    Resume,
    Ack,
    Resolve,
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
        since: None,
        out: Vec::new(),
    };
    sim.page(Kind::Notified, &started.page);
    let acts = acts(s);
    let mut next_act = 0;
    while sim.out.len() < MAX_ENTRIES {
        let due = [
            engine::next_due(&sim.state, chain),
            sla::next_due(&sim.clocks),
        ]
        .into_iter()
        .flatten()
        .min();
        let act = acts.get(next_act).copied();
        match (due, act) {
            // A check due at the same instant as an act runs first, as the
            // commands bring the issue up to date before they act.
            (Some(n), a) if a.is_none_or(|(at, _)| n <= at) => sim.check(n),
            (_, Some((at, act))) => {
                next_act += 1;
                match act {
                    Act::Pause => sim.pause(at),
                    Act::Resume => sim.resume(at),
                    Act::Ack => sim.ack(at),
                    Act::Resolve => {
                        sim.resolve(at);
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    let cut = sim.out.len() >= MAX_ENTRIES;
    sim.out.truncate(MAX_ENTRIES);
    Timeline {
        entries: sim.out,
        cut,
    }
}

/// The scenario's acts in time order (those before filing dropped). At
/// one instant they keep this order: the pauses as given (a pause ending as
/// the next begins resumes first; one of no length pauses, then resumes),
/// then the ack, then the resolve.
fn acts(s: &Scenario) -> Vec<(Ts, Act)> {
    let mut acts: Vec<(Ts, Act)> = s
        .pauses
        .iter()
        .flat_map(|&(a, b)| [(a, Act::Pause), (b, Act::Resume)])
        .chain(s.ack_at.map(|a| (a, Act::Ack)))
        .chain(s.resolve_at.map(|r| (r, Act::Resolve)))
        .filter(|(at, _)| *at >= s.from)
        .collect();
    acts.sort_by_key(|(at, _)| *at);
    acts
}

struct Sim<'a> {
    chain: &'a Chain,
    state: Escalation,
    clocks: crate::model::sla::Clocks,
    /// Paused since (the pause, which the SLA clocks follow).
    since: Option<Ts>,
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
        self.state = engine::acknowledged(&self.state, at);
        self.push(Kind::Acknowledged, at, None);
    }

    fn pause(&mut self, at: Ts) {
        if self.since.is_none() && self.state.status != Status::Resolved {
            self.state = engine::pause(&self.state, at);
            self.clocks = sla::pause(&self.clocks, &self.chain.sla, at);
            self.since = Some(at);
            self.push(Kind::Paused, at, None);
        }
    }

    fn resume(&mut self, at: Ts) {
        if self.since.take().is_some() {
            let decision = engine::resume(&self.state, self.chain, at);
            self.take(&decision);
            self.clocks = sla::resume(&self.clocks, &self.chain.sla, at);
            self.push(Kind::Resumed, at, None);
        }
    }

    fn resolve(&mut self, at: Ts) {
        self.advance_to(at);
        let targets = [Target::Response, Target::Resolution];
        let walked = sla::settle(&self.clocks, &targets, at);
        self.clocks = walked.clocks;
        self.changes(&walked.changes);
        self.state.status = Status::Resolved;
        self.push(Kind::Resolved, at, None);
    }

    /// Bring the escalation up to `at`: every page due by then.
    fn advance_to(&mut self, at: Ts) {
        let decision = engine::advance(&self.state, self.chain, at);
        self.take(&decision);
    }

    /// The decision's pages and lapses, and its state.
    fn take(&mut self, decision: &engine::Decision) {
        for action in &decision.actions {
            match action {
                Action::Page(p) => self.page(Kind::Escalated, p),
                Action::AckExpired { at } => self.push(Kind::AckExpired, *at, None),
                Action::Capped { .. } => {}
            }
        }
        self.state = decision.state.clone();
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
