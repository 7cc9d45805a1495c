//! Pauses (`engine::pause`/`resume`, `sla::pause`/`resume`) on any chain,
//! calendar and SLA: a pause resumed at once changes nothing, and with
//! pauses the result still does not depend on the check cadence (pause and
//! resume happen at their instants; checks only look).

use std::sync::Arc;

use escalate::engine::simulate::{self, Entry, Kind, Scenario};

use super::calendars::calendars;
use super::clocks::slas;
use super::*;

/// A chain with a calendar and SLA targets whose `pause` stops any subset.
fn paused_chains() -> impl Strategy<Value = Chain> {
    let stops = prop_oneof![
        Just(Target::ALL.to_vec()),
        Just(vec![Target::Response]),
        Just(vec![Target::Resolution]),
        Just(vec![]),
    ];
    (chains(), calendars(), slas(), stops, any::<bool>()).prop_map(
        |(mut chain, cal, mut sla, stops, business)| {
            let cal = if business {
                Arc::new(cal)
            } else {
                Arc::clone(&chain.calendar)
            };
            sla.calendar = Arc::clone(&cal);
            sla.pause = stops;
            chain.calendar = cal;
            chain.sla = sla;
            chain
        },
    )
}

/// Up to three pauses (ms from t0), in order, not overlapping; some of no
/// length, some back to back.
fn pauses() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec(0..=HORIZON, 0..=6).prop_map(|mut points| {
        points.sort_unstable();
        points.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    })
}

fn scenario(ack: Option<i64>, resolve: Option<i64>, pauses: &[(i64, i64)]) -> Scenario {
    Scenario {
        from: at(0),
        ack_at: ack.map(at),
        resolve_at: resolve.map(at),
        pauses: pauses.iter().map(|&(a, b)| (at(a), at(b))).collect(),
    }
}

/// The timeline without its pause entries.
fn unpaused(entries: &[Entry]) -> Vec<Entry> {
    entries
        .iter()
        .filter(|e| !matches!(e.kind, Kind::Paused | Kind::Resumed))
        .cloned()
        .collect()
}

/// What a run did: pages as (level, repeat, due), SLA changes as
/// (target, kind, at), and where it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    pages: Vec<(u32, u32, Ts)>,
    sla: BTreeSet<(Target, &'static str, Ts)>,
    end: (u32, u32, Option<Ts>),
}

/// Checks at `checks` (ms), pauses applied at their instants: the way
/// `pause`, `resume` and cron's `check` drive the engine.
fn run(chain: &Chain, pauses: &[(i64, i64)], checks: &[i64]) -> Outcome {
    enum Step {
        Check,
        Pause,
        Resume,
    }
    let mut steps: Vec<(i64, Step)> = Vec::new();
    for &(a, b) in pauses {
        steps.push((a, Step::Pause));
        steps.push((b, Step::Resume));
    }
    steps.extend(checks.iter().map(|&c| (c, Step::Check)));
    steps.push((HORIZON, Step::Check));
    // Stable: a check at a pause's instant runs after it (either order
    // gives the same result; this one is the lazier).
    steps.sort_by_key(|(t, _)| *t);
    let started = engine::start(chain, at(0), 0);
    let mut state = started.state;
    let mut clocks = sla::start(&chain.sla, at(0));
    let mut out = Outcome {
        pages: Vec::new(),
        sla: BTreeSet::new(),
        end: (0, 0, None),
    };
    for (t, step) in steps {
        let now = at(t);
        match step {
            Step::Pause => {
                state = engine::pause(&state, now);
                clocks = sla::pause(&clocks, &chain.sla, now);
            }
            Step::Resume => {
                let d = engine::resume(&state, chain, now);
                out.pages
                    .extend(pages_of(&d).iter().map(|p| (p.level, p.repeat, p.due_at)));
                state = d.state;
                clocks = sla::resume(&clocks, &chain.sla, now);
            }
            Step::Check => {
                let d = engine::advance(&state, chain, now);
                out.pages
                    .extend(pages_of(&d).iter().map(|p| (p.level, p.repeat, p.due_at)));
                state = d.state;
                let walked = sla::tick(&clocks, now);
                out.sla.extend(walked.changes.iter().map(|c| {
                    let kind = match c {
                        Change::AtRisk { .. } => "at_risk",
                        Change::Breached { .. } => "breached",
                        Change::Met { .. } => "met",
                    };
                    (c.target(), kind, c.at())
                }));
                clocks = walked.clocks;
            }
        }
    }
    out.end = (state.level, state.repeat, engine::next_due(&state, chain));
    out
}

proptest! {
    #![proptest_config(config(256))]

    /// Pausing and resuming at one instant is invisible: the same pages,
    /// SLA changes and acks at the same instants, whatever else happens.
    #[test]
    fn pause_then_immediate_resume_changes_nothing(
        chain in paused_chains(),
        pauses in pauses(),
        ack in prop::option::of(0..=HORIZON),
        resolve in prop::option::of(0..=HORIZON),
        instant in 0..=HORIZON,
    ) {
        let plain = simulate::run(&chain, &scenario(ack, resolve, &pauses));
        // The instant pause goes where it falls among the others (it may
        // touch one, never overlap it).
        let mut with = pauses.clone();
        if !pauses.iter().any(|&(a, b)| a < instant && instant < b) {
            with.push((instant, instant));
            with.sort_unstable();
        }
        let blip = simulate::run(&chain, &scenario(ack, resolve, &with));
        prop_assert_eq!(unpaused(&plain.entries), unpaused(&blip.entries));
    }

    /// With pauses, checks at any cadence take every page at the instant
    /// on-time checks would and end in the same state; SLA changes are the
    /// same instants.
    #[test]
    fn pauses_do_not_depend_on_the_cadence(
        chain in paused_chains(),
        pauses in pauses(),
        checks in cadences(),
    ) {
        let coarse = run(&chain, &pauses, &checks);
        let fine_checks: Vec<i64> = (0..=HORIZON / FINE).map(|k| k * FINE).collect();
        let fine = run(&chain, &pauses, &fine_checks);
        let reference = simulate::run(&chain, &scenario(None, None, &pauses));
        let paged: BTreeSet<(u32, u32, Ts)> = reference
            .entries
            .iter()
            .filter(|e| matches!(e.kind, Kind::Escalated))
            .map(|e| (e.level, e.repeat, e.at))
            .collect();
        // A late check folds repeats of one level into the last one; every
        // page it takes is one the schedule has, at the same instant.
        for p in &coarse.pages {
            prop_assert!(paged.contains(p), "page {:?} not in {:?}", p, paged);
        }
        prop_assert_eq!(&coarse.end, &fine.end);
        prop_assert_eq!(&coarse.sla, &fine.sla);
    }

    /// After one pause the later steps are due exactly the paused open time
    /// later: the schedule is shifted, not restarted.
    #[test]
    fn a_pause_shifts_later_steps_by_its_open_time(
        chain in paused_chains(),
        a in 0..=HORIZON,
        len in 0..=3 * DAY,
    ) {
        let b = (a + len).min(HORIZON);
        let plain = simulate::run(&chain, &scenario(None, None, &[]));
        let paused = simulate::run(&chain, &scenario(None, None, &[(a, b)]));
        let open = escalate::engine::calendar::open_between(&chain.calendar, at(a), at(b));
        let pages = |entries: &[Entry]| -> Vec<(u32, u32, Ts)> {
            entries
                .iter()
                .filter(|e| matches!(e.kind, Kind::Escalated))
                .map(|e| (e.level, e.repeat, e.at))
                .collect()
        };
        let (before, after): (Vec<_>, Vec<_>) =
            pages(&plain.entries).into_iter().partition(|p| p.2 <= at(a));
        let mut want = before;
        for (level, repeat, due) in after {
            // Past the calendar's search horizon a step has no instant.
            if let Some(t) = escalate::engine::calendar::add(&chain.calendar, due, open) {
                want.push((level, repeat, t));
            }
        }
        let got = pages(&paused.entries);
        prop_assert_eq!(&got[..want.len().min(got.len())], &want[..want.len().min(got.len())]);
    }
}
