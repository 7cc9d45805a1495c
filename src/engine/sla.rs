//! SLA clocks, pure like the rest of the engine. A chain may set a response
//! target (created → first acknowledgement) and a resolution target
//! (created → resolved). Each is a clock with two fixed instants, computed
//! once from the issue's creation: when it turns *at risk* and when it is
//! *due*. A clock moves pending → at risk → breached while nobody acts, or
//! to met when the issue is acknowledged (response) or resolved (both) in
//! time. Breached and met are final, so each is recorded exactly once.
//!
//! Like escalations, changes are anchored to the schedule: a check that runs
//! late records the breach at the instant it happened, and an acknowledgement
//! that arrives after a deadline no check saw still counts as a breach (then
//! never as met).

use chrono::TimeDelta;

use super::calendar;
use crate::config::Sla;
use crate::model::sla::{Change, Clock, Clocks, State, Target};
use crate::model::Ts;

/// A pending clock for a target of `target` hours from `created`, counted
/// in the SLA's calendar (plain time if the calendar never opens again,
/// which config validation makes all but impossible).
fn clock(created: Ts, target: TimeDelta, sla: &Sla) -> Clock {
    let at = |d: TimeDelta| calendar::add(&sla.calendar, created, d).unwrap_or(created + d);
    Clock {
        risk_at: at(sla.at_risk.offset(target)),
        due_at: at(target),
        state: State::Pending,
        settled_at: None,
        hold: None,
    }
}

/// The clocks of an issue created at `created` on a chain with `sla`.
pub fn start(sla: &Sla, created: Ts) -> Clocks {
    Clocks {
        response: sla.response.map(|t| clock(created, t, sla)),
        resolution: sla.resolution.map(|t| clock(created, t, sla)),
        held: TimeDelta::zero(),
    }
}

/// The issue is paused at `at`: the running clocks `sla.pause` names stop
/// (one already stopped keeps its start).
pub fn pause(clocks: &Clocks, sla: &Sla, at: Ts) -> Clocks {
    let mut out = *clocks;
    for &target in &sla.pause {
        if let Some(c) = out.get_mut(target).as_mut() {
            if !c.state.is_final() && c.hold.is_none() {
                c.hold = Some(at);
            }
        }
    }
    out
}

/// The pause ends at `at`: each stopped clock's instants still ahead of
/// its stop move by the open time in between (in the SLA's calendar),
/// which `held` accumulates.
pub fn resume(clocks: &Clocks, sla: &Sla, at: Ts) -> Clocks {
    let mut out = *clocks;
    let mut longest = TimeDelta::zero();
    for target in Target::ALL {
        let Some(c) = out.get_mut(target).as_mut() else {
            continue;
        };
        let Some(since) = c.hold.take() else { continue };
        let d = calendar::open_between(&sla.calendar, since, at);
        longest = longest.max(d);
        let later = |t: Ts| calendar::add(&sla.calendar, t, d).unwrap_or(t + d);
        if c.risk_at > since {
            c.risk_at = later(c.risk_at);
        }
        if c.due_at > since {
            c.due_at = later(c.due_at);
        }
    }
    out.held = out.held.checked_add(&longest).unwrap_or(out.held);
    out
}

/// After the chain's targets changed: running clocks take the new instants
/// (a new target starts running from creation, a removed one stops); final
/// clocks keep their outcome. A new response target on an issue already
/// acknowledged (at `first_ack`) is settled by that ack at once — met or
/// breached — rather than warned about.
pub fn rearm(clocks: &Clocks, sla: &Sla, created: Ts, first_ack: Option<Ts>) -> Clocks {
    let mut fresh = start(sla, created);
    // Pauses that ended still count: their open time moves the fresh
    // instants as it moved the old ones.
    if clocks.held > TimeDelta::zero() {
        for &target in &sla.pause {
            if let Some(c) = fresh.get_mut(target).as_mut() {
                let later = |t: Ts| calendar::add(&sla.calendar, t, clocks.held).unwrap_or(t);
                c.risk_at = later(c.risk_at);
                c.due_at = later(c.due_at);
            }
        }
    }
    if let (None, Some(c), Some(ack)) = (clocks.response, fresh.response.as_mut(), first_ack) {
        let met = ack <= c.due_at;
        c.state = if met { State::Met } else { State::Breached };
        c.settled_at = Some(if met { ack } else { c.due_at });
    }
    let pick = |old: Option<Clock>, new: Option<Clock>| match old {
        Some(c) if c.state.is_final() => Some(c),
        // At risk stays at risk: the warning was given and is not repeated;
        // a stopped clock stays stopped.
        Some(c) => new.map(|n| Clock {
            state: c.state,
            hold: c.hold,
            ..n
        }),
        None => new,
    };
    Clocks {
        response: pick(clocks.response, fresh.response),
        resolution: pick(clocks.resolution, fresh.resolution),
        held: clocks.held,
    }
}

/// Clocks walked to an instant, and the changes met on the way (in time
/// order).
#[derive(Debug, Clone, PartialEq)]
pub struct Walked {
    pub changes: Vec<Change>,
    pub clocks: Clocks,
}

/// Walk running clocks to `now` while nobody has acted: at risk at its
/// instant, breached at its deadline (a stopped clock only to its stop).
pub fn tick(clocks: &Clocks, now: Ts) -> Walked {
    let mut out = *clocks;
    let mut changes = Vec::new();
    for target in [Target::Response, Target::Resolution] {
        if let Some(c) = out.get_mut(target) {
            let until = c.hold.map_or(now, |h| h.min(now));
            walk(c, target, until, true, &mut changes);
        }
    }
    changes.sort_by_key(Change::at);
    Walked {
        changes,
        clocks: out,
    }
}

/// The issue was acknowledged (response) or resolved (both targets) at
/// `at`: what no check recorded yet is recorded first — an at-risk instant
/// or a deadline that passed before `at` — then the target is met unless it
/// was breached. A stopped clock is walked only to its stop: a deadline
/// that fell inside the pause did not pass.
pub fn settle(clocks: &Clocks, targets: &[Target], at: Ts) -> Walked {
    let mut out = *clocks;
    let mut changes = Vec::new();
    for &target in targets {
        if let Some(c) = out.get_mut(target) {
            match c.hold.filter(|h| *h < at) {
                Some(since) => walk(c, target, since, true, &mut changes),
                None => walk(c, target, at, false, &mut changes),
            }
            c.hold = None;
            if !c.state.is_final() {
                c.state = State::Met;
                c.settled_at = Some(at);
                changes.push(Change::Met {
                    target,
                    at,
                    due_at: c.due_at,
                });
            }
        }
    }
    changes.sort_by_key(Change::at);
    Walked {
        changes,
        clocks: out,
    }
}

/// Move one clock to `now`. `inclusive`: an instant equal to `now` has
/// happened (a check at the deadline sees the breach); for an ack at `now`,
/// a deadline equal to `now` has not (acting at the deadline is in time).
fn walk(c: &mut Clock, target: Target, now: Ts, inclusive: bool, changes: &mut Vec<Change>) {
    let passed = |t: Ts| if inclusive { t <= now } else { t < now };
    if c.state == State::Pending && passed(c.risk_at) {
        c.state = State::AtRisk;
        changes.push(Change::AtRisk {
            target,
            at: c.risk_at,
            due_at: c.due_at,
        });
    }
    if c.state == State::AtRisk && passed(c.due_at) {
        c.state = State::Breached;
        c.settled_at = Some(c.due_at);
        c.hold = None;
        changes.push(Change::Breached {
            target,
            at: c.due_at,
        });
    }
}

/// The next instant a running clock changes on its own, if any (a stopped
/// clock: only an instant that passed before it stopped).
pub fn next_due(clocks: &Clocks) -> Option<Ts> {
    [clocks.response, clocks.resolution]
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let at = match c.state {
                State::Pending => c.risk_at,
                State::AtRisk => c.due_at,
                State::Breached | State::Met => return None,
            };
            c.hold.is_none_or(|h| at <= h).then_some(at)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AtRisk;
    use chrono::{TimeZone, Utc};

    fn t(minutes: i64) -> Ts {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("time")
            + TimeDelta::minutes(minutes)
    }

    /// Response 1 h, resolution 8 h, at risk at 80 %.
    fn sla() -> Sla {
        Sla {
            response: Some(TimeDelta::hours(1)),
            resolution: Some(TimeDelta::hours(8)),
            at_risk: AtRisk::Fraction(0.8),
            breach_notify: vec![],
            calendar: Default::default(),
            pause: crate::model::sla::Target::ALL.to_vec(),
        }
    }

    fn kinds(changes: &[Change]) -> Vec<(Target, &'static str, i64)> {
        changes
            .iter()
            .map(|c| {
                let (name, at) = match c {
                    Change::AtRisk { at, .. } => ("at_risk", *at),
                    Change::Breached { at, .. } => ("breached", *at),
                    Change::Met { at, .. } => ("met", *at),
                };
                (c.target(), name, (at - t(0)).num_minutes())
            })
            .collect()
    }

    #[test]
    fn instants_come_from_creation() {
        let c = start(&sla(), t(0));
        let r = c.response.expect("response");
        assert_eq!((r.risk_at, r.due_at), (t(48), t(60)));
        let s = c.resolution.expect("resolution");
        assert_eq!((s.risk_at, s.due_at), (t(384), t(480)));
        assert_eq!(next_due(&c), Some(t(48)));
        let before = Sla {
            at_risk: AtRisk::Before(TimeDelta::minutes(15)),
            ..sla()
        };
        let c = start(&before, t(0));
        assert_eq!(c.response.expect("r").risk_at, t(45));
        assert_eq!(c.resolution.expect("s").risk_at, t(465));
        assert_eq!(start(&Sla::default(), t(0)), Clocks::default());
        assert_eq!(next_due(&Clocks::default()), None);
    }

    /// (check times, expected changes as (target, kind, minute)) — every
    /// cadence gives the same record.
    #[test]
    fn timing_table_is_cadence_independent() {
        let cadences: &[&[i64]] = &[
            &[5, 10, 47, 48, 49, 59, 60, 61, 383, 384, 479, 480, 500],
            &[100, 500],
            &[500],
            &[48, 60, 384, 480],
        ];
        for checks in cadences {
            let mut clocks = start(&sla(), t(0));
            let mut all = Vec::new();
            for &m in *checks {
                let Walked {
                    changes,
                    clocks: next,
                } = tick(&clocks, t(m));
                all.extend(changes);
                clocks = next;
            }
            assert_eq!(
                kinds(&all),
                vec![
                    (Target::Response, "at_risk", 48),
                    (Target::Response, "breached", 60),
                    (Target::Resolution, "at_risk", 384),
                    (Target::Resolution, "breached", 480),
                ],
                "checks at {checks:?}"
            );
            assert_eq!(next_due(&clocks), None);
            assert_eq!(clocks.summary(), Some(State::Breached));
        }
    }

    #[test]
    fn nothing_before_its_instant() {
        let Walked { changes, clocks: c } = tick(&start(&sla(), t(0)), t(47));
        assert!(changes.is_empty());
        assert_eq!(next_due(&c), Some(t(48)));
        let Walked { changes, clocks: c } = tick(&c, t(48));
        assert_eq!(kinds(&changes), vec![(Target::Response, "at_risk", 48)]);
        assert_eq!(next_due(&c), Some(t(60)));
    }

    #[test]
    fn ack_in_time_meets_response_and_resolution_keeps_running() {
        let c = start(&sla(), t(0));
        let Walked { changes, clocks: c } = settle(&c, &[Target::Response], t(30));
        assert_eq!(kinds(&changes), vec![(Target::Response, "met", 30)]);
        assert_eq!(c.response.expect("r").state, State::Met);
        // The acknowledged issue still has a resolution deadline.
        assert_eq!(next_due(&c), Some(t(384)));
        let Walked { changes, clocks: c } = tick(&c, t(481));
        assert_eq!(
            kinds(&changes),
            vec![
                (Target::Resolution, "at_risk", 384),
                (Target::Resolution, "breached", 480)
            ]
        );
        // A breached target is never met afterwards.
        let Walked { changes, .. } = settle(&c, &[Target::Response, Target::Resolution], t(500));
        assert!(changes.is_empty());
    }

    #[test]
    fn late_ack_that_no_check_saw_records_risk_and_breach_not_met() {
        let c = start(&sla(), t(0));
        let Walked { changes, clocks: c } = settle(&c, &[Target::Response], t(75));
        assert_eq!(
            kinds(&changes),
            vec![
                (Target::Response, "at_risk", 48),
                (Target::Response, "breached", 60)
            ]
        );
        assert_eq!(c.response.expect("r").settled_at, Some(t(60)));
    }

    #[test]
    fn acting_exactly_at_the_deadline_is_in_time() {
        let c = start(&sla(), t(0));
        let Walked { changes, .. } = settle(&c, &[Target::Response], t(60));
        assert_eq!(
            kinds(&changes),
            vec![
                (Target::Response, "at_risk", 48),
                (Target::Response, "met", 60)
            ]
        );
        // ... while a check at the deadline records the breach.
        let Walked { changes, .. } = tick(&c, t(60));
        assert_eq!(
            kinds(&changes).last(),
            Some(&(Target::Response, "breached", 60))
        );
    }

    #[test]
    fn resolve_meets_both() {
        let c = start(&sla(), t(0));
        let Walked { changes, clocks: c } =
            settle(&c, &[Target::Response, Target::Resolution], t(20));
        assert_eq!(
            kinds(&changes),
            vec![
                (Target::Response, "met", 20),
                (Target::Resolution, "met", 20)
            ]
        );
        assert_eq!(c.summary(), Some(State::Met));
        assert_eq!(next_due(&c), None);
    }

    #[test]
    fn rearm_moves_running_clocks_and_keeps_final_ones() {
        let c = start(&sla(), t(0));
        let Walked { clocks: c, .. } = settle(&c, &[Target::Response], t(10));
        let longer = Sla {
            resolution: Some(TimeDelta::hours(24)),
            ..sla()
        };
        let r = rearm(&c, &longer, t(0), None);
        assert_eq!(r.response, c.response, "met stays met");
        assert_eq!(r.resolution.expect("s").due_at, t(24 * 60));
        let dropped = rearm(&c, &Sla::default(), t(0), None);
        assert_eq!(dropped.response, c.response);
        assert_eq!(dropped.resolution, None);
    }

    #[test]
    fn a_new_response_target_is_settled_by_an_earlier_ack() {
        let none = Clocks::default();
        let in_time = rearm(&none, &sla(), t(0), Some(t(30)));
        let r = in_time.response.expect("response");
        assert_eq!((r.state, r.settled_at), (State::Met, Some(t(30))));
        assert_eq!(in_time.resolution.expect("s").state, State::Pending);
        let late = rearm(&none, &sla(), t(0), Some(t(90))).response.expect("r");
        assert_eq!(
            (late.state, late.settled_at),
            (State::Breached, Some(t(60)))
        );
        assert_eq!(
            rearm(&none, &sla(), t(0), None).response.expect("r").state,
            State::Pending
        );
    }

    #[test]
    fn a_pause_stops_the_clocks_it_names_and_moves_them_on_resume() {
        let sla = Sla {
            pause: vec![Target::Resolution],
            ..sla()
        };
        let c = start(&sla, t(0));
        let c = pause(&c, &sla, t(10));
        assert_eq!(
            c.response.and_then(|r| r.hold),
            None,
            "response keeps running"
        );
        assert_eq!(c.resolution.and_then(|r| r.hold), Some(t(10)));
        // Far past both deadlines: only the running response clock breaches.
        let Walked { changes, clocks } = tick(&c, t(1000));
        assert_eq!(
            kinds(&changes),
            vec![
                (Target::Response, "at_risk", 48),
                (Target::Response, "breached", 60)
            ]
        );
        assert_eq!(next_due(&clocks), None);
        // Resumed after 990 minutes: resolution's instants move by them.
        let c = resume(&clocks, &sla, t(1000));
        let r = c.resolution.expect("resolution");
        assert_eq!((r.risk_at, r.due_at), (t(384 + 990), t(480 + 990)));
        assert_eq!(c.held, TimeDelta::minutes(990));
        // A re-evaluation from creation keeps the paused time.
        let again = rearm(&c, &sla, t(0), None);
        assert_eq!(again.resolution.map(|r| r.due_at), Some(t(480 + 990)));
    }

    #[test]
    fn a_deadline_inside_the_pause_is_not_a_breach_when_settled() {
        let c = pause(&start(&sla(), t(0)), &sla(), t(30));
        // Acknowledged at 90 minutes, during the pause: the 60-minute
        // deadline fell inside it.
        let Walked { changes, clocks } = settle(&c, &[Target::Response], t(90));
        assert_eq!(kinds(&changes), vec![(Target::Response, "met", 90)]);
        assert_eq!(clocks.response.and_then(|r| r.hold), None);
    }
}
