//! SLA clock state: the targets (response, resolution), a clock's state, both
//! clocks of an issue, and a change of one. The engine computes them; the
//! store keeps them; reports read them.

use chrono::TimeDelta;

use super::Ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Response,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Response, Target::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Response => "response",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "response" => Some(Target::Response),
            "resolution" => Some(Target::Resolution),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Pending,
    AtRisk,
    Breached,
    Met,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::AtRisk => "at_risk",
            State::Breached => "breached",
            State::Met => "met",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "pending" => Some(State::Pending),
            "at_risk" => Some(State::AtRisk),
            "breached" => Some(State::Breached),
            "met" => Some(State::Met),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, State::Breached | State::Met)
    }
}

/// One SLA target of one issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub risk_at: Ts,
    pub due_at: Ts,
    pub state: State,
    /// When it became final: the deadline (breached) or the ack/resolve (met).
    pub settled_at: Option<Ts>,
    /// Stopped since (the issue is paused and its policy's `pause` names
    /// this target): nothing after this instant happens to the clock until
    /// it resumes.
    pub hold: Option<Ts>,
}

impl Clock {
    /// Time left until the deadline (negative once past), for running clocks;
    /// a stopped clock's is frozen at its pause.
    pub fn left(&self, now: Ts) -> Option<TimeDelta> {
        (!self.state.is_final()).then(|| self.due_at - self.hold.map_or(now, |h| h.min(now)))
    }
}

/// Both clocks of an issue (None: the chain sets no such target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clocks {
    pub response: Option<Clock>,
    pub resolution: Option<Clock>,
    /// Open calendar time the clocks were stopped, over every pause that
    /// ended: a re-evaluation from creation (a priority or config change)
    /// adds it back.
    pub held: TimeDelta,
}

impl Clocks {
    pub fn get(&self, target: Target) -> Option<&Clock> {
        match target {
            Target::Response => self.response.as_ref(),
            Target::Resolution => self.resolution.as_ref(),
        }
    }

    pub fn get_mut(&mut self, target: Target) -> &mut Option<Clock> {
        match target {
            Target::Response => &mut self.response,
            Target::Resolution => &mut self.resolution,
        }
    }

    /// The worst state across targets, for one-word displays.
    pub fn summary(&self) -> Option<State> {
        let states = [self.response, self.resolution]
            .into_iter()
            .flatten()
            .map(|c| c.state);
        let mut worst = None;
        for s in states {
            let rank = |s: State| match s {
                State::Met => 0,
                State::Pending => 1,
                State::AtRisk => 2,
                State::Breached => 3,
            };
            if worst.is_none_or(|w| rank(s) > rank(w)) {
                worst = Some(s);
            }
        }
        worst
    }
}

/// A change of an SLA clock, at the instant it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    AtRisk { target: Target, at: Ts, due_at: Ts },
    Breached { target: Target, at: Ts },
    Met { target: Target, at: Ts, due_at: Ts },
}

impl Change {
    pub fn target(&self) -> Target {
        match self {
            Change::AtRisk { target, .. }
            | Change::Breached { target, .. }
            | Change::Met { target, .. } => *target,
        }
    }

    pub fn at(&self) -> Ts {
        match self {
            Change::AtRisk { at, .. } | Change::Breached { at, .. } | Change::Met { at, .. } => *at,
        }
    }
}
