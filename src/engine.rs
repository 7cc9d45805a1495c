//! Pure escalation decisions: (issue state, chain, now) → actions and the next
//! due time. No clock, no I/O; everything is table-tested with `now` as a
//! parameter.
//!
//! The schedule model. An issue's escalation runs in *epochs*. An epoch starts
//! at a level `s` at an anchor time `a` (creation: level 1 at `created_at`;
//! reopen: level 1 at the reopen time; a lapsed acknowledgement: the current
//! level at the moment it lapsed). Within an epoch the steps are
//! (s, 0), (s+1, 0), …, (n, 0), then (n, 1) … (n, repeat): the last level is
//! re-notified `repeat` times, one last-level wait apart. Step (L, r) is due at
//! `a + wait(s) + … + wait(L-1) + r·wait(n)`: measured from the schedule, never
//! from when a check happened to run, so no drift (seed bug B2) and a late
//! check walks through every step that came due (B3), each once.
//!
//! Waits are open time of the chain's calendar (`engine::calendar`): step
//! (L, r) is due when that much open time has passed since `a`. Because
//! adding open time in steps equals adding it at once, this keeps every
//! property above; with the built-in `always` calendar it is plain addition.
//!
//! Pauses. A paused issue (`hold`) takes no step due after the instant it
//! was paused; steps that came due before it are still owed and taken (by
//! a check during the pause, or at the resume). On resume, the open time
//! the pause lasted is added to `held`, and every later step of the epoch
//! (and an acknowledgement's expiry) is due that much open time later: the
//! schedule stays anchored, only shifted by the time nobody could act. A
//! pause resumed at once adds nothing.

use chrono::TimeDelta;

pub mod calendar;
pub mod manual;
pub mod oncall;
pub mod simulate;
pub mod sla;

use crate::config::Chain;
use crate::model::{Escalation, Status, Ts};

/// One notification the schedule calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub epoch: u32,
    pub level: u32,
    pub repeat: u32,
    pub due_at: Ts,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The acknowledgement lapsed at `at`; the issue is open again.
    AckExpired { at: Ts },
    /// The chain was shortened below the level.
    Capped { from: u32, to: u32 },
    /// Move to (or re-notify) a level.
    Page(Page),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub actions: Vec<Action>,
    pub state: Escalation,
    /// When this issue next needs a check's attention (None: never, until a
    /// human acts).
    pub next_due: Option<Ts>,
}

/// A fresh escalation and the page that opens it.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub state: Escalation,
    pub page: Page,
}

/// The first epoch of a new issue (or a reopened one, with `epoch` the next
/// epoch number): level 1, anchored at `at`, notified at once.
pub fn start(chain: &Chain, at: Ts, epoch: u32) -> Started {
    let state = Escalation {
        status: Status::Open,
        level: 1,
        repeat: 0,
        epoch,
        epoch_level: 1,
        epoch_at: at,
        acked_at: None,
        hold: None,
        held: TimeDelta::zero(),
    };
    let page = Page {
        epoch,
        level: 1,
        repeat: 0,
        due_at: at,
        role: role_of(chain, 1),
    };
    Started { state, page }
}

/// Bring an issue to where its schedule says it should be at `now`.
pub fn advance(state: &Escalation, chain: &Chain, now: Ts) -> Decision {
    let mut s = state.clone();
    // Nothing after the pause began is due while it lasts.
    let now = s.hold.map_or(now, |h| h.min(now));
    let mut actions = Vec::new();
    if s.status == Status::Resolved {
        return Decision {
            actions,
            state: s,
            next_due: None,
        };
    }
    let n = last_level(chain);
    if s.level > n {
        actions.push(Action::Capped {
            from: s.level,
            to: n,
        });
        s.level = n;
    }
    s.epoch_level = s.epoch_level.clamp(1, s.level);

    if s.status == Status::Acknowledged {
        match ack_expiry(&s, chain) {
            Some(at) if at <= now => {
                actions.push(Action::AckExpired { at });
                s.status = Status::Open;
                s.acked_at = None;
                s.epoch += 1;
                s.epoch_level = s.level;
                s.epoch_at = at;
                s.repeat = 0;
                s.held = TimeDelta::zero();
                actions.push(Action::Page(Page {
                    epoch: s.epoch,
                    level: s.level,
                    repeat: 0,
                    due_at: at,
                    role: role_of(chain, s.level),
                }));
            }
            _ => {
                let next_due = ack_expiry(&s, chain);
                return Decision {
                    actions,
                    state: s,
                    next_due,
                };
            }
        }
    }

    // Bounded by levels + repeats: each iteration moves one step forward.
    while let Some((level, repeat, due_at)) = next_step(&s, chain) {
        if due_at > now {
            break;
        }
        s.level = level;
        s.repeat = repeat;
        let page = Page {
            epoch: s.epoch,
            level,
            repeat,
            due_at,
            role: role_of(chain, level),
        };
        // Repeats of one level that all came due while nobody checked are one
        // page, not a burst of identical ones to the same people.
        if let Some(Action::Page(prev)) = actions.last_mut() {
            if repeat > 0 && prev.level == level && prev.epoch == page.epoch {
                *prev = page;
                continue;
            }
        }
        actions.push(Action::Page(page));
    }
    let next_due = next_due(&s, chain);
    Decision {
        actions,
        state: s,
        next_due,
    }
}

/// When the issue next needs attention from `check` (while paused: only a
/// step that came due before the pause).
pub fn next_due(state: &Escalation, chain: &Chain) -> Option<Ts> {
    let due = next_due_unpaused(state, chain);
    match state.hold {
        Some(h) => due.filter(|d| *d <= h),
        None => due,
    }
}

fn next_due_unpaused(state: &Escalation, chain: &Chain) -> Option<Ts> {
    match state.status {
        Status::Resolved => None,
        Status::Acknowledged => ack_expiry(state, chain),
        Status::Open => {
            let mut s = state.clone();
            let n = last_level(chain);
            if s.level > n {
                // A capped issue needs a check now to record the cap.
                return Some(s.epoch_at);
            }
            s.epoch_level = s.epoch_level.clamp(1, s.level);
            next_step(&s, chain).map(|(_, _, due)| due)
        }
    }
}

/// When an acknowledgement lapses under the chain's current config.
pub fn ack_expiry(state: &Escalation, chain: &Chain) -> Option<Ts> {
    let acked = state.acked_at?;
    let wait = chain.ack_timeout?.checked_add(&state.held)?;
    calendar::add(&chain.calendar, acked, wait)
}

/// The issue is paused at `at` (a pause already running keeps its start).
pub fn pause(state: &Escalation, at: Ts) -> Escalation {
    Escalation {
        hold: Some(state.hold.unwrap_or(at)),
        ..state.clone()
    }
}

/// The pause ends at `at`. First the steps that came due before it began
/// and that no check took are taken, at their own instants (they were owed
/// before anyone paused); then the open time the pause lasted (in the
/// chain's calendar) is added to `held`, which moves every later step.
pub fn resume(state: &Escalation, chain: &Chain, at: Ts) -> Decision {
    let mut d = advance(state, chain, at);
    if let Some(h) = d.state.hold.take() {
        let paused = calendar::open_between(&chain.calendar, h, at);
        d.state.held = d.state.held.checked_add(&paused).unwrap_or(d.state.held);
    }
    d.next_due = next_due(&d.state, chain);
    d
}

/// An acknowledgement at `at` restarts what `held` counts (its expiry is
/// measured from the ack): a pause running across it counts from `at`.
pub fn acknowledged(state: &Escalation, at: Ts) -> Escalation {
    Escalation {
        status: Status::Acknowledged,
        acked_at: Some(at),
        hold: state.hold.map(|h| h.max(at)),
        held: TimeDelta::zero(),
        ..state.clone()
    }
}

/// The step after the current one in this epoch, with its due time.
fn next_step(s: &Escalation, chain: &Chain) -> Option<(u32, u32, Ts)> {
    let n = last_level(chain);
    let (level, repeat) = if s.level < n {
        (s.level + 1, 0)
    } else if s.repeat < chain.repeat {
        (n, s.repeat + 1)
    } else {
        return None;
    };
    let due = due_of(s, chain, level, repeat)?;
    Some((level, repeat, due))
}

/// Due time of step (level, repeat) in the state's epoch; None on overflow
/// (a due time past the year 262143 is "never").
fn due_of(s: &Escalation, chain: &Chain, level: u32, repeat: u32) -> Option<Ts> {
    let mut offset = s.held;
    for l in s.epoch_level..level {
        offset = offset.checked_add(&chain.level(l)?.wait)?;
    }
    if repeat > 0 {
        let interval = chain.level(level)?.wait;
        offset = offset.checked_add(&interval.checked_mul(i32::try_from(repeat).ok()?)?)?;
    }
    calendar::add(&chain.calendar, s.epoch_at, offset)
}

fn last_level(chain: &Chain) -> u32 {
    u32::try_from(chain.levels.len()).unwrap_or(u32::MAX).max(1)
}

fn role_of(chain: &Chain, level: u32) -> String {
    chain
        .level(level)
        .map(|l| l.role.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
