//! Schedules a person re-anchors by hand: `escalate escalate` and `move`
//! start a new epoch at a chosen level now, and `unack` withdraws an
//! acknowledgement so the epoch the ack interrupted runs on as if it had
//! never been given. Pure like the rest of the engine.

use chrono::TimeDelta;

use super::{last_level, role_of, Page, Started};
use crate::config::Chain;
use crate::model::{Escalation, Status, Ts};

/// A new epoch (number `epoch`) starting at `level` at `at`, its page due at
/// once: what [`super::start`] does for level 1, for any level (capped to
/// the chain's last). Later steps follow the chain's waits from `at` as for
/// any epoch; no pause is carried over (the callers refuse paused issues).
pub fn start_at(chain: &Chain, level: u32, at: Ts, epoch: u32) -> Started {
    let level = level.clamp(1, last_level(chain));
    let state = Escalation {
        status: Status::Open,
        level,
        repeat: 0,
        epoch,
        epoch_level: level,
        epoch_at: at,
        acked_at: None,
        hold: None,
        held: TimeDelta::zero(),
    };
    let page = Page {
        epoch,
        level,
        repeat: 0,
        due_at: at,
        role: role_of(chain, level),
    };
    Started { state, page }
}

/// The acknowledged `state` open again, as if never acked: same epoch,
/// level and repeat, so the next step is due where the schedule put it
/// (possibly already passed: then it is owed now). An ack restarts what
/// `held` counts (its expiry is measured from the ack), so the caller
/// passes the epoch's own paused open time back (`held`), and the start of
/// a pause still running (`paused_since`): the ack moved `hold` to its own
/// instant.
pub fn unacknowledged(state: &Escalation, held: TimeDelta, paused_since: Option<Ts>) -> Escalation {
    Escalation {
        status: Status::Open,
        acked_at: None,
        hold: state.hold.map(|h| paused_since.unwrap_or(h)),
        held,
        ..state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Level;
    use crate::engine::{acknowledged, advance, next_due, pause, resume, start, Action};
    use chrono::{TimeZone, Utc};

    fn t0() -> Ts {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("valid")
    }

    fn h(x: i64) -> TimeDelta {
        TimeDelta::hours(x)
    }

    /// Waits 1h, 2h, 4h; the last level repeats twice.
    fn chain() -> Chain {
        Chain {
            name: "c".into(),
            description: None,
            levels: [1, 2, 4]
                .iter()
                .enumerate()
                .map(|(i, w)| Level {
                    role: format!("r{}", i + 1),
                    wait: h(*w),
                    create_task: None,
                })
                .collect(),
            repeat: 2,
            ack_timeout: None,
            sla: Default::default(),
            calendar: Default::default(),
            policies: Vec::new(),
            policy: None,
            runbook: None,
        }
    }

    fn pages(d: &crate::engine::Decision) -> Vec<(u32, u32, Ts)> {
        d.actions
            .iter()
            .filter_map(|a| match a {
                Action::Page(p) => Some((p.level, p.repeat, p.due_at)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_new_epoch_at_any_level_follows_the_waits_from_its_start() {
        let c = chain();
        let at = t0() + h(30);
        // (level asked, level started, next step due after `at`)
        let table = [
            (1, 1, Some(h(1))),
            (2, 2, Some(h(2))),
            // The top: its repeats, one last-level wait apart.
            (3, 3, Some(h(4))),
            // Beyond the chain: capped to the top.
            (9, 3, Some(h(4))),
            (0, 1, Some(h(1))),
        ];
        for (asked, level, next) in table {
            let Started { state, page } = start_at(&c, asked, at, 5);
            assert_eq!(
                (state.level, state.epoch_level, state.epoch),
                (level, level, 5)
            );
            assert_eq!((page.level, page.repeat, page.due_at), (level, 0, at));
            assert_eq!(page.role, format!("r{level}"));
            assert_eq!(next_due(&state, &c), next.map(|n| at + n), "level {asked}");
        }
        assert_eq!(start_at(&c, 1, at, 0), start(&c, at, 0), "level 1 is start");
        // The top re-anchored pages its repeats again, then stops.
        let s = start_at(&c, 3, at, 1).state;
        let d = advance(&s, &c, at + h(100));
        assert_eq!(pages(&d), vec![(3, 2, at + h(8))], "repeats merge into one");
        assert_eq!(d.next_due, None);
    }

    #[test]
    fn unack_resumes_the_schedule_as_if_never_acked() {
        let c = chain();
        let s = start(&c, t0(), 0).state;
        // Acked 30 min in, at level 1: level 2 would be due at +1h.
        let acked = acknowledged(&s, t0() + TimeDelta::minutes(30));
        assert_eq!(next_due(&acked, &c), None, "no ack timeout: nothing due");
        // Withdrawn before +1h: level 2 still due at +1h.
        let open = unacknowledged(&acked, TimeDelta::zero(), None);
        assert_eq!(open.status, Status::Open);
        assert_eq!(open.acked_at, None);
        assert_eq!(next_due(&open, &c), Some(t0() + h(1)));
        // Withdrawn at +5h: levels 2 (+1h) and 3 (+3h) are owed, paged by
        // the next check at their own due times, then the top repeats at +7h.
        let d = advance(&open, &c, t0() + h(5));
        assert_eq!(pages(&d), vec![(2, 0, t0() + h(1)), (3, 0, t0() + h(3))]);
        assert_eq!(d.next_due, Some(t0() + h(7)));
    }

    #[test]
    fn unack_keeps_the_epochs_pauses_and_a_running_one() {
        let c = chain();
        let s = start(&c, t0(), 0).state;
        // Paused 2h before the ack: level 2 moves from +1h to +3h.
        let paused = pause(&s, t0() + TimeDelta::minutes(10));
        let resumed = resume(&paused, &c, t0() + TimeDelta::minutes(130)).state;
        assert_eq!(next_due(&resumed, &c), Some(t0() + h(3)));
        // The ack forgets that (it counts its own expiry from the ack)...
        let acked = acknowledged(&resumed, t0() + h(2));
        assert_eq!(acked.held, TimeDelta::zero());
        // ...and the caller gives it back: level 2 at +3h again.
        let open = unacknowledged(&acked, h(2), None);
        assert_eq!(next_due(&open, &c), Some(t0() + h(3)));
        // Paused at +2h30 and acked at +2h45 (hold moved to the ack): on
        // unack the pause counts from its real start.
        let paused = pause(&resumed, t0() + TimeDelta::minutes(150));
        let acked = acknowledged(&paused, t0() + TimeDelta::minutes(165));
        assert_eq!(acked.hold, Some(t0() + TimeDelta::minutes(165)));
        let since = Some(t0() + TimeDelta::minutes(150));
        let open = unacknowledged(&acked, h(2), since);
        assert_eq!(open.hold, since);
        // Nothing due while paused (level 2 at +3h is after the pause began).
        assert_eq!(next_due(&open, &c), None);
        // Resumed at +4h30: 2h more held, level 2 at +5h.
        let back = resume(&open, &c, t0() + TimeDelta::minutes(270)).state;
        assert_eq!(next_due(&back, &c), Some(t0() + h(5)));
    }
}
