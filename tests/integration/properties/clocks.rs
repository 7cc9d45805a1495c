//! The SLA clocks (`engine::sla`): ticks do not depend on the cadence, and
//! settling never meets a deadline that has passed.

use super::*;

/// Targets of 1 min – 72 h (response) and 1 min – 10 days (resolution), each
/// optional, in whole milliseconds; at risk as a fraction in (0, 1) or a time
/// before the target shorter than the shortest target (as config demands).
pub(super) fn slas() -> impl Strategy<Value = Sla> {
    (
        prop::option::of(MIN..=72 * 60 * MIN),
        prop::option::of(MIN..=10 * DAY),
    )
        .prop_flat_map(|(response, resolution)| {
            let shortest = [response, resolution]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(MIN);
            let at_risk = prop_oneof![
                (1u32..1000).prop_map(|k| AtRisk::Fraction(f64::from(k) / 1000.0)),
                (f64::EPSILON..1.0).prop_map(AtRisk::Fraction),
                (1..shortest).prop_map(|ms| AtRisk::Before(TimeDelta::milliseconds(ms))),
            ];
            (Just(response), Just(resolution), at_risk)
        })
        .prop_map(|(response, resolution, at_risk)| Sla {
            response: response.map(TimeDelta::milliseconds),
            resolution: resolution.map(TimeDelta::milliseconds),
            at_risk,
            breach_notify: vec![],
            calendar: Default::default(),
            pause: Target::ALL.to_vec(),
        })
}

fn kind(c: &Change) -> &'static str {
    match c {
        Change::AtRisk { .. } => "at_risk",
        Change::Breached { .. } => "breached",
        Change::Met { .. } => "met",
    }
}

/// (instant, target, kind): what a change records.
fn record(changes: &[Change]) -> Vec<(Ts, Target, &'static str)> {
    let mut v: Vec<_> = changes
        .iter()
        .map(|c| (c.at(), c.target(), kind(c)))
        .collect();
    v.sort();
    v
}

/// Tick at each instant; check next_due on the way (None or after now,
/// exact to the millisecond).
fn ticks(mut clocks: Clocks, checks: &[Ts]) -> Result<(Vec<Change>, Clocks), TestCaseError> {
    let mut all = Vec::new();
    for &now in checks {
        let sla::Walked {
            changes,
            clocks: next,
        } = sla::tick(&clocks, now);
        all.extend(changes);
        if let Some(nd) = sla::next_due(&next) {
            prop_assert!(nd > now, "sla next_due {nd} not after {now}");
            let sla::Walked { changes: early, .. } =
                sla::tick(&next, nd - TimeDelta::milliseconds(1));
            prop_assert!(early.is_empty(), "changes before next_due: {early:?}");
            let sla::Walked { changes: on, .. } = sla::tick(&next, nd);
            prop_assert!(!on.is_empty(), "no change at next_due {nd}");
        }
        clocks = next;
    }
    Ok((all, clocks))
}

/// Each (target, kind) at most once, at most one final outcome per target,
/// at risk never after the breach, changes at the clock's own instants.
fn check_history(start: &Clocks, changes: &[Change]) -> Result<(), TestCaseError> {
    let mut seen = HashSet::new();
    for c in changes {
        prop_assert!(
            seen.insert((c.target(), kind(c))),
            "{:?} twice in {:?}",
            c,
            changes
        );
        let clock = start
            .get(c.target())
            .expect("a change of a clock that exists");
        match *c {
            Change::AtRisk { at, due_at, .. } => {
                prop_assert_eq!(at, clock.risk_at);
                prop_assert_eq!(due_at, clock.due_at);
            }
            Change::Breached { at, .. } => prop_assert_eq!(at, clock.due_at),
            Change::Met { at, due_at, .. } => {
                prop_assert_eq!(due_at, clock.due_at);
                prop_assert!(due_at >= at, "met after the deadline: {:?}", c);
            }
        }
    }
    for target in [Target::Response, Target::Resolution] {
        let of = |k: &str| {
            changes
                .iter()
                .position(|c| c.target() == target && kind(c) == k)
        };
        prop_assert!(
            !(of("met").is_some() && of("breached").is_some()),
            "met and breached: {changes:?}"
        );
        if let Some(b) = of("breached") {
            let r = of("at_risk");
            prop_assert!(
                r.is_some_and(|r| r < b),
                "breach without an earlier at risk: {changes:?}"
            );
            prop_assert!(changes[r.unwrap_or(b)].at() <= changes[b].at());
        }
        if let Some(m) = of("met") {
            prop_assert!(
                changes[m + 1..].iter().all(|c| c.target() != target),
                "change after met: {changes:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Ticking with any cadence records the same changes (kind, target,
    /// instant) and ends in the same clocks as one tick at the end and as
    /// cron every 5 minutes; the record is what the clock's two instants say.
    #[test]
    fn sla_ticks_do_not_depend_on_the_cadence(sla_ in slas(), cadence in cadences()) {
        let clocks = sla::start(&sla_, t0());
        let end = at(HORIZON);
        let mut checks: Vec<Ts> = cadence.iter().map(|&ms| at(ms)).collect();
        checks.push(end);
        let (random, random_end) = ticks(clocks, &checks)?;
        let fine_checks: Vec<Ts> = (0..=HORIZON / FINE).map(|k| at(k * FINE)).collect();
        let (fine, fine_end) = ticks(clocks, &fine_checks)?;
        let (once, once_end) = ticks(clocks, &[end])?;
        check_history(&clocks, &random)?;
        prop_assert_eq!(record(&random), record(&fine));
        prop_assert_eq!(record(&random), record(&once));
        prop_assert_eq!(random_end, fine_end);
        prop_assert_eq!(random_end, once_end);
        let mut want = Vec::new();
        for target in [Target::Response, Target::Resolution] {
            if let Some(c) = clocks.get(target) {
                prop_assert!(c.risk_at <= c.due_at);
                if c.risk_at <= end {
                    want.push((c.risk_at, target, "at_risk"));
                }
                if c.due_at <= end {
                    want.push((c.due_at, target, "breached"));
                }
            }
        }
        want.sort();
        prop_assert_eq!(record(&random), want);
    }

    /// Ticks, an optional ack (settles response) and an optional resolve
    /// (settles both) in any order of time: never `met` for a deadline before
    /// the settle time, `met` whenever a running target is settled by its
    /// deadline, and the history invariants of `check_history`.
    #[test]
    fn settle_never_meets_a_passed_deadline(
        sla_ in slas(),
        cadence in cadences(),
        ack in prop::option::of(0..=HORIZON),
        resolve in prop::option::of(0..=HORIZON),
    ) {
        let start = sla::start(&sla_, t0());
        let mut events: Vec<(i64, u8)> = cadence.iter().map(|&ms| (ms, 0)).collect();
        events.extend(ack.map(|ms| (ms, 1)));
        events.extend(resolve.map(|ms| (ms, 2)));
        events.sort();
        let mut clocks = start;
        let mut all = Vec::new();
        for (ms, what) in events {
            let now = at(ms);
            let targets: &[Target] = match what {
                0 => {
                    let sla::Walked { changes, clocks: next } = sla::tick(&clocks, now);
                    all.extend(changes);
                    clocks = next;
                    continue;
                }
                1 => &[Target::Response],
                _ => &[Target::Response, Target::Resolution],
            };
            let sla::Walked { changes, clocks: next } = sla::settle(&clocks, targets, now);
            for &target in targets {
                let (Some(before), Some(after)) = (clocks.get(target), next.get(target)) else {
                    continue;
                };
                prop_assert!(after.state.is_final(), "{target:?} not final after settle");
                let met = changes
                    .iter()
                    .any(|c| matches!(c, Change::Met { target: t, .. } if *t == target));
                if met {
                    let due = before.due_at;
                    prop_assert!(due >= now, "met {target:?} due {due} at {now}");
                    prop_assert_eq!(after.settled_at, Some(now));
                }
                if !before.state.is_final() && before.due_at >= now {
                    prop_assert!(met, "{target:?} settled in time but not met: {changes:?}");
                }
            }
            all.extend(changes);
            clocks = next;
        }
        check_history(&start, &all)?;
    }
}
