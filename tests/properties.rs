//! Property tests (proptest) for the pure parts: the escalation schedule
//! (`engine::start`/`advance`/`next_due`), the SLA clocks (`engine::sla`) and
//! the config parser (`Config::parse`).
//!
//! Every property runs `PROPTEST_CASES` cases (default: the count given at
//! each block, 256 for the engine and SLA, more for the cheap parser ones).
//! Failures are not persisted to files (the tree stays clean); proptest
//! prints the shrunk counterexample instead.
//!
//! Time is in milliseconds from `t0()`; chains are built directly from the
//! public `Chain`/`Level` structs under the constraints `Config::parse`
//! enforces (waits ≥ 0, `repeat > 0` only with a last wait > 0).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::{TimeDelta, TimeZone, Utc};
use escalate::config::{AtRisk, Chain, Config, Level, Sla, MAX_LEVELS, MAX_REPEAT};
use escalate::engine::sla::{self};
use escalate::engine::{self, Action, Decision, Page};
use escalate::model::sla::{Change, Clocks, Target};
use escalate::model::{Escalation, Status, Ts};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60 * MIN;
/// Checks are spread over ten days.
const HORIZON: i64 = 10 * DAY;
/// The "fine" reference cadence: cron every 5 minutes.
const FINE: i64 = 5 * MIN;

fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0)
        .single()
        .expect("valid")
}

fn at(ms: i64) -> Ts {
    t0() + TimeDelta::milliseconds(ms)
}

/// `n` cases unless `PROPTEST_CASES` says otherwise; no regression files.
fn config(n: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

fn make_chain(waits_min: &[i64], repeat: u32, ack_min: Option<i64>) -> Chain {
    Chain {
        name: "p".into(),
        description: None,
        levels: waits_min
            .iter()
            .enumerate()
            .map(|(i, w)| Level {
                role: format!("r{}", i + 1),
                wait: TimeDelta::minutes(*w),
                create_task: None,
            })
            .collect(),
        repeat,
        ack_timeout: ack_min.map(TimeDelta::minutes),
        sla: Sla::default(),
    }
}

/// 0–48 h in whole minutes, biased towards zero and short waits (zero waits
/// page consecutive levels at one instant; short ones put several steps
/// between two checks).
fn wait_minutes() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0i64),
        3 => 1i64..=30,
        5 => 0i64..=48 * 60,
    ]
}

/// 1–6 levels, repeat 0–5, optional ack timeout (1 min – 24 h).
fn chains() -> impl Strategy<Value = Chain> {
    (
        prop::collection::vec(wait_minutes(), 1..=6),
        0u32..=5,
        prop::option::of(1i64..=24 * 60),
    )
        .prop_map(|(mut waits, repeat, ack)| {
            // As `Config::parse` demands: the last wait is the repeat interval.
            if repeat > 0 {
                if let Some(last) = waits.last_mut() {
                    *last = (*last).max(1);
                }
            }
            make_chain(&waits, repeat, ack)
        })
}

/// Sorted check instants (ms from t0) within [0, HORIZON]: either a few
/// scattered checks (big gaps), or a cron of 3 min – 3 h with a little
/// jitter and up to three outages of up to three days.
fn cadences() -> impl Strategy<Value = Vec<i64>> {
    let sparse = prop::collection::vec(0..=HORIZON, 0..40);
    let cron = (
        3i64..=180,
        0..3 * MIN,
        prop::collection::vec((0..HORIZON, 0..3 * DAY), 0..4),
        0i64..2_000,
    )
        .prop_map(|(period, phase, outages, jitter)| {
            let mut out = Vec::new();
            let mut t = phase;
            let mut k = 0i64;
            while t <= HORIZON {
                if !outages.iter().any(|(s, l)| t >= *s && t < s + l) {
                    out.push((t + (k * 7_919) % (jitter + 1)).min(HORIZON));
                }
                t += period * MIN;
                k += 1;
            }
            out
        });
    prop_oneof![sparse, cron].prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

// ---------------------------------------------------------------------------
// Engine: schedule model and simulation
// ---------------------------------------------------------------------------

/// Every step of an epoch that starts at `level` at `anchor`, in order:
/// (level, repeat, due) with due = anchor + waits of the levels passed
/// (+ repeat × last wait). Written from the README, not from the engine.
fn schedule(chain: &Chain, level: u32, anchor: Ts) -> Vec<(u32, u32, Ts)> {
    let n = chain.levels.len() as u32;
    let mut out = Vec::new();
    let mut due = anchor;
    for l in level..=n {
        out.push((l, 0, due));
        if l < n {
            due += chain.levels[l as usize - 1].wait;
        }
    }
    let last = chain.levels[n as usize - 1].wait;
    for r in 1..=chain.repeat {
        out.push((n, r, due + last * r as i32));
    }
    out
}

fn due_in(chain: &Chain, epoch_level: u32, anchor: Ts, level: u32, repeat: u32) -> Option<Ts> {
    schedule(chain, epoch_level, anchor)
        .into_iter()
        .find(|s| (s.0, s.1) == (level, repeat))
        .map(|s| s.2)
}

fn pages_of(d: &Decision) -> Vec<&Page> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::Page(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Invariants of any single `advance(prev, chain, now) = d`, whatever led
/// to `prev`: pages are due by `now`, on the right role, in schedule order
/// within the decision's epoch; the level never falls within an epoch;
/// next_due is in the future, exact (nothing at next_due − 1 ms, something
/// at next_due) and agrees with `engine::next_due`; a second advance at the
/// same instant does nothing.
fn check_decision(
    prev: &Escalation,
    chain: &Chain,
    now: Ts,
    d: &Decision,
) -> Result<(), TestCaseError> {
    let s = &d.state;
    prop_assert!(s.epoch >= prev.epoch, "epoch went back: {prev:?} → {s:?}");
    if s.epoch == prev.epoch {
        prop_assert!(
            (s.level, s.repeat) >= (prev.level, prev.repeat),
            "level fell within epoch {}: {prev:?} → {s:?} at {now}",
            s.epoch
        );
    }
    let pages = pages_of(d);
    for p in &pages {
        prop_assert!(p.due_at <= now, "paged before due: {p:?} at {now}");
        prop_assert_eq!(p.epoch, s.epoch, "page outside the decision's epoch");
        let role = chain.level(p.level).map(|l| l.role.clone());
        prop_assert_eq!(Some(p.role.clone()), role, "page on the wrong role");
    }
    for w in pages.windows(2) {
        prop_assert!(
            (w[0].level, w[0].repeat) < (w[1].level, w[1].repeat) && w[0].due_at <= w[1].due_at,
            "pages out of order: {:?}",
            pages
        );
    }
    if let Some(last) = pages.last() {
        prop_assert_eq!((s.level, s.repeat), (last.level, last.repeat));
    }
    prop_assert_eq!(d.next_due, engine::next_due(s, chain));
    if let Some(nd) = d.next_due {
        prop_assert!(nd > now, "next_due {nd} not after now {now}");
        let before = engine::advance(s, chain, nd - TimeDelta::milliseconds(1));
        prop_assert!(
            before.actions.is_empty(),
            "advance 1 ms before next_due {nd} acted: {:?}",
            before.actions
        );
        prop_assert_eq!(&before.state, s);
        let on = engine::advance(s, chain, nd);
        prop_assert!(!on.actions.is_empty(), "nothing happened at next_due {nd}");
    }
    let again = engine::advance(s, chain, now);
    prop_assert!(
        again.actions.is_empty(),
        "second advance at {now} acted: {:?}",
        again.actions
    );
    prop_assert_eq!(&again.state, s);
    Ok(())
}

/// One issue created at t0 on `chain`, checked at `checks` (no acks).
struct Walk {
    /// Every page as (epoch, level, repeat, due_at), the creation page first.
    pages: Vec<(u32, u32, u32, Ts)>,
    state: Escalation,
    next_due: Option<Ts>,
}

fn walk(chain: &Chain, checks: &[Ts], thorough: bool) -> Result<Walk, TestCaseError> {
    let engine::Started {
        mut state,
        page: first,
    } = engine::start(chain, t0(), 0);
    let mut pages = vec![(first.epoch, first.level, first.repeat, first.due_at)];
    let mut next_due = engine::next_due(&state, chain);
    for &now in checks {
        let d = engine::advance(&state, chain, now);
        if thorough {
            check_decision(&state, chain, now, &d)?;
        }
        for a in &d.actions {
            match a {
                Action::Page(p) => pages.push((p.epoch, p.level, p.repeat, p.due_at)),
                other => prop_assert!(false, "{other:?} without acks or config changes"),
            }
        }
        state = d.state;
        next_due = d.next_due;
    }
    Ok(Walk {
        pages,
        state,
        next_due,
    })
}

/// What the README promises for a cadence, computed from the schedule: at
/// each check, every step due since the previous check, in order, except
/// that consecutive steps of one level (its repeats) that came due between
/// the same two checks are one page, the latest.
fn model(chain: &Chain, checks: &[Ts]) -> Vec<(u32, u32, u32, Ts)> {
    let steps = schedule(chain, 1, t0());
    let mut out = vec![(0, 1, 0, t0())];
    let mut i = 1;
    for &now in checks {
        let mut group: Vec<(u32, u32, Ts)> = Vec::new();
        while i < steps.len() && steps[i].2 <= now {
            let step = steps[i];
            i += 1;
            match group.last_mut() {
                Some(prev) if step.1 > 0 && prev.0 == step.0 => *prev = step,
                _ => group.push(step),
            }
        }
        out.extend(group.into_iter().map(|(l, r, due)| (0, l, r, due)));
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Check,
    Ack,
    Resolve,
    Reopen,
}

fn ops() -> impl Strategy<Value = Vec<(i64, Op)>> {
    let op = prop_oneof![
        16 => Just(Op::Check),
        2 => Just(Op::Ack),
        1 => Just(Op::Resolve),
        1 => Just(Op::Reopen),
    ];
    prop::collection::vec((0..=HORIZON, op), 0..150).prop_map(|mut v| {
        v.sort_by_key(|(t, _)| *t);
        v
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Without acks: the pages of any cadence are exactly the model's (every
    /// level passed paged once, in order, at its scheduled instant; repeats
    /// missed between two checks collapsed into the latest), and compared
    /// with cron every 5 minutes over the same ten days:
    ///
    /// - the set of levels paged is the same;
    /// - the last page of each level (its latest repeat and due time) is the
    ///   same — collapsing keeps the latest, so nobody misses the most recent
    ///   notification of a level;
    /// - the final state and next_due are the same (both cadences end with a
    ///   check at the horizon);
    /// - with `repeat = 0` nothing can collapse and the whole page sets
    ///   (epoch, level, repeat, due_at) are equal.
    ///
    /// Full page sets are not compared when `repeat > 0`: a check that falls
    /// between two repeats of the last level pages both, a check after both
    /// pages only the second (by design), so the sets legitimately differ.
    /// Checks exactly at, 1 ms before and 1 ms after scheduled instants are
    /// mixed in to probe the boundaries.
    #[test]
    fn pages_follow_the_schedule_whatever_the_cadence(
        chain in chains(),
        cadence in cadences(),
        boundary in prop::collection::vec((any::<prop::sample::Index>(), -1i64..=1), 0..6),
    ) {
        let steps = schedule(&chain, 1, t0());
        let mut checks: Vec<Ts> = cadence.iter().map(|&ms| at(ms)).collect();
        for (i, delta) in &boundary {
            let due = steps[i.index(steps.len())].2 + TimeDelta::milliseconds(*delta);
            if due >= t0() && due <= at(HORIZON) {
                checks.push(due);
            }
        }
        checks.push(at(HORIZON));
        checks.sort_unstable();

        let random = walk(&chain, &checks, true)?;
        prop_assert_eq!(&random.pages, &model(&chain, &checks));

        let fine_checks: Vec<Ts> = (0..=HORIZON / FINE).map(|k| at(k * FINE)).collect();
        let fine = walk(&chain, &fine_checks, false)?;
        prop_assert_eq!(&fine.pages, &model(&chain, &fine_checks));

        // Each page's due time is its scheduled instant.
        let due: HashMap<(u32, u32), Ts> = steps.iter().map(|&(l, r, t)| ((l, r), t)).collect();
        for p in random.pages.iter().chain(&fine.pages) {
            prop_assert_eq!(Some(&p.3), due.get(&(p.1, p.2)), "page {:?} off schedule", p);
        }
        // Each (epoch, level, repeat) at most once.
        let unique: HashSet<_> = random.pages.iter().map(|p| (p.0, p.1, p.2)).collect();
        prop_assert_eq!(unique.len(), random.pages.len(), "a step paged twice");

        let levels = |w: &Walk| w.pages.iter().map(|p| p.1).collect::<BTreeSet<_>>();
        prop_assert_eq!(levels(&random), levels(&fine));
        let last_of_each = |w: &Walk| {
            w.pages.iter().map(|p| (p.1, (p.2, p.3))).collect::<BTreeMap<_, _>>()
        };
        prop_assert_eq!(last_of_each(&random), last_of_each(&fine));
        prop_assert_eq!(&random.state, &fine.state);
        prop_assert_eq!(random.next_due, fine.next_due);
        if chain.repeat == 0 {
            prop_assert_eq!(&random.pages, &fine.pages);
        }
        // Every step due by the horizon was reached.
        let reached = steps.iter().rfind(|s| s.2 <= at(HORIZON)).map(|s| (s.0, s.1));
        prop_assert_eq!(Some((random.state.level, random.state.repeat)), reached);
    }

    /// With acks (some lapsing), resolves and reopens interleaved with
    /// checks: every decision satisfies `check_decision`; each (epoch, level,
    /// repeat) is paged at most once over the life; within an epoch
    /// pages strictly rise; every page is due exactly on its epoch's schedule
    /// (creation: level 1 at t0; reopen: level 1 at the reopen; lapsed ack:
    /// the level it was acked at, at ack + timeout) and never after the check
    /// that sent it.
    #[test]
    fn acks_and_reopens_keep_pages_unique_rising_and_on_schedule(
        chain in chains(),
        ops in ops(),
    ) {
        let engine::Started { mut state, page: first } = engine::start(&chain, t0(), 0);
        // epoch → (first level, anchor)
        let mut anchors: HashMap<u32, (u32, Ts)> = HashMap::from([(0, (1, t0()))]);
        let mut paged: HashSet<(u32, u32, u32)> = HashSet::from([(0, 1, 0)]);
        let mut last_in_epoch: HashMap<u32, (u32, u32)> =
            HashMap::from([(0, (first.level, first.repeat))]);
        // The live acknowledgement as the harness gave it: (level, when).
        let mut ack: Option<(u32, Ts)> = None;
        for (ms, op) in ops {
            let now = at(ms);
            match op {
                Op::Check => {
                    let d = engine::advance(&state, &chain, now);
                    check_decision(&state, &chain, now, &d)?;
                    for a in &d.actions {
                        match a {
                            Action::AckExpired { at: lapsed } => {
                                let (level, acked) = ack.take().expect("an ack to lapse");
                                let timeout = chain.ack_timeout.expect("a timeout to lapse");
                                prop_assert_eq!(*lapsed, acked + timeout);
                                prop_assert!(*lapsed <= now);
                                prop_assert_eq!(d.state.epoch, state.epoch + 1);
                                anchors.insert(d.state.epoch, (level, *lapsed));
                            }
                            Action::Page(p) => {
                                prop_assert!(
                                    paged.insert((p.epoch, p.level, p.repeat)),
                                    "paged twice: {:?}", p
                                );
                                let (s, anchor) = anchors[&p.epoch];
                                prop_assert_eq!(
                                    Some(p.due_at),
                                    due_in(&chain, s, anchor, p.level, p.repeat),
                                    "page {:?} off its epoch's schedule", p
                                );
                                let step = (p.level, p.repeat);
                                if let Some(prev) = last_in_epoch.insert(p.epoch, step) {
                                    prop_assert!(prev < step, "pages fell: {:?} then {:?}", prev, p);
                                }
                            }
                            Action::Capped { .. } => {
                                prop_assert!(false, "capped without a config change")
                            }
                        }
                    }
                    state = d.state;
                }
                // As `lifecycle::acknowledge`: open, or acked with the ack lapsed.
                Op::Ack => {
                    let lapsed = engine::ack_expiry(&state, &chain).is_some_and(|t| t <= now);
                    let acked = state.status == Status::Acknowledged;
                    if state.status == Status::Open || (acked && lapsed) {
                        state.status = Status::Acknowledged;
                        state.acked_at = Some(now);
                        ack = Some((state.level, now));
                    }
                }
                Op::Resolve => {
                    if state.status != Status::Resolved {
                        state.status = Status::Resolved;
                        ack = None;
                    }
                }
                Op::Reopen => {
                    if state.status == Status::Resolved {
                        let engine::Started { state: s, page } = engine::start(&chain, now, state.epoch + 1);
                        prop_assert!(paged.insert((page.epoch, page.level, page.repeat)));
                        anchors.insert(page.epoch, (1, now));
                        last_in_epoch.insert(page.epoch, (page.level, page.repeat));
                        state = s;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// SLA clocks
// ---------------------------------------------------------------------------

/// Targets of 1 min – 72 h (response) and 1 min – 10 days (resolution), each
/// optional, in whole milliseconds; at risk as a fraction in (0, 1) or a time
/// before the target shorter than the shortest target (as config demands).
fn slas() -> impl Strategy<Value = Sla> {
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

// ---------------------------------------------------------------------------
// Config parser
// ---------------------------------------------------------------------------

/// `Config::parse` returns (never panics — proptest fails a case that does)
/// either a config that holds what validation promises, or an error whose
/// message is one non-empty line.
///
/// Messages quote keys and values the user wrote (names, addresses, URLs);
/// a line break inside one is shown escaped, so even then the message is
/// one line (`config_errors_quoting_line_breaks_stay_one_line` pins the
/// cases found by these properties).
fn parses_cleanly(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, Path::new("chains.toml")) {
        Ok(config) => {
            for (name, chain) in &config.chains {
                prop_assert_eq!(name, &chain.name);
                prop_assert!((1..=MAX_LEVELS).contains(&chain.levels.len()));
                prop_assert!(chain.repeat <= MAX_REPEAT);
                for l in &chain.levels {
                    prop_assert!(l.wait >= TimeDelta::zero() && l.wait <= TimeDelta::days(366));
                    prop_assert!(
                        config.roles.contains_key(&l.role),
                        "unknown role {}",
                        l.role
                    );
                }
                if chain.repeat > 0 {
                    prop_assert!(chain
                        .levels
                        .last()
                        .is_some_and(|l| l.wait > TimeDelta::zero()));
                }
                prop_assert!(chain.ack_timeout.is_none_or(|d| d > TimeDelta::zero()));
            }
        }
        Err(e) => {
            let m = &e.message;
            prop_assert!(!m.trim().is_empty(), "empty message for {text:?}");
            prop_assert!(
                !m.contains(['\n', '\r']),
                "message is not one line: {m:?}\nfor input {text:?}"
            );
        }
    }
    Ok(())
}

/// A byte-level edit of a file.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    Duplicate(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, 1 << b)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(b"\"'[]{}=,.#\n\\ 0123456789-+eE_aztf".to_vec())
        )
            .prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..8)
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..200).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        if b.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, mask) => {
                let i = i.index(b.len());
                b[i] ^= mask;
            }
            Edit::Set(i, v) => {
                let i = i.index(b.len());
                b[i] = *v;
            }
            Edit::Delete(i, n) => {
                let i = i.index(b.len());
                b.drain(i..(i + n).min(b.len()));
            }
            Edit::Insert(i, v) => {
                let i = i.index(b.len() + 1);
                b.splice(i..i, v.iter().copied());
            }
            Edit::Duplicate(i, n) => {
                let i = i.index(b.len());
                let piece = b[i..(i + n).min(b.len())].to_vec();
                b.splice(i..i, piece);
            }
            Edit::Truncate(i) => b.truncate(i.index(b.len())),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Short strings from the characters that break things: line breaks,
/// quotes, backticks, non-ASCII, anything.
fn nasty_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec!['\n', '\r', '"', '`', '\\', '\u{2028}', '\t', '@', ':', '/']),
        3 => prop::sample::select(vec!['a', 'b', '_', '.', '-', '1']),
    ];
    prop::collection::vec(c, 0..12).prop_map(String::from_iter)
}

/// A value of the wrong type for any key (rarely drawn).
fn wrong_type() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["\"4\"", "true", "[1]", "{ x = 1 }", "1979-05-27"])
        .prop_map(str::to_string)
}

/// A string value: plausible for some key, or nasty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "agent", "a@example.com", "https://hooks.example.com/x", "smtp://localhost:25",
            "smtps://mail.example.com", "starttls", "none", "tls", "ftp://x", "",
        ]).prop_map(toml_string),
        6 => nasty_string().prop_map(|s| toml_string(&s)),
        1 => wrong_type(),
    ]
}

/// A string or an environment reference.
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        1 => nasty_string().prop_map(|s| format!("{{ env = {} }}", toml_string(&s))),
        1 => Just("{ env = \"ESCALATE_PROPERTIES_UNSET\" }".to_string()),
    ]
}

/// A number of hours or minutes, with the boundaries validation draws.
fn float() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "0", "1", "0.25", "4", "-1", "-0.0", "nan", "-nan", "inf", "-inf", "1e300", "8784",
            "8784.0001", "0.0000001", "0.5", "0.8", "1.0", "300", "300.5", "527040", "527041",
        ]).prop_map(str::to_string),
        2 => any::<f64>().prop_map(|v| if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "inf".to_string() } else { "-inf".to_string() }
        } else {
            format!("{v:?}")
        }),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => wrong_type(),
    ]
}

/// An integer (level, repeat, concurrency, max_attempts).
fn int() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "0", "1", "2", "3", "-1", "100", "101", "256", "257", "1000", "1001", "4294967296",
        ]).prop_map(str::to_string),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        1 => wrong_type(),
    ]
}

/// A table key: mostly the usual one (None), sometimes anything (quoted).
fn key() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => nasty_string().prop_map(|s| Some(toml_string(&s))),
    ]
}

/// A role reference: mostly `agent` (the first role's usual key).
fn role_ref() -> impl Strategy<Value = String> {
    prop_oneof![6 => Just("\"agent\"".to_string()), 1 => text()]
}

/// `key = value` lines, each present with its probability.
fn lines(keys: Vec<(&'static str, f64, BoxedStrategy<String>)>) -> impl Strategy<Value = String> {
    let picks: Vec<_> = keys
        .into_iter()
        .map(|(k, p, v)| {
            prop::option::weighted(p, v).prop_map(move |v| v.map(|v| format!("{k} = {v}\n")))
        })
        .collect();
    picks.prop_map(|v| v.into_iter().flatten().collect::<String>())
}

/// A config laid out like a real one, with each value drawn from
/// plausible, boundary and nasty values of (mostly) the right type: reaches
/// the validation code behind the TOML parser, where messages quote what the
/// user wrote.
fn structured_config() -> impl Strategy<Value = String> {
    let level = (
        prop::option::weighted(0.3, int()),
        role_ref(),
        float(),
        prop::option::weighted(
            0.2,
            prop_oneof![3 => Just("\"gh\"".to_string()), 1 => text()],
        ),
    )
        .prop_map(|(n, r, w, task)| {
            let n = n.map(|n| format!("level = {n}, ")).unwrap_or_default();
            let task = task
                .map(|t| format!(", create_task = {t}"))
                .unwrap_or_default();
            format!("{{ {n}role = {r}, wait_hours = {w}{task} }}")
        });
    let chain = (
        key(),
        prop::collection::vec(level, 0..4),
        lines(vec![
            ("description", 0.2, text().boxed()),
            ("repeat", 0.3, int().boxed()),
            ("ack_timeout_hours", 0.3, float().boxed()),
            ("response_hours", 0.4, float().boxed()),
            ("resolution_hours", 0.4, float().boxed()),
            ("at_risk", 0.2, float().boxed()),
            ("at_risk_hours", 0.2, float().boxed()),
            (
                "breach_notify",
                0.3,
                prop::collection::vec(role_ref(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(", ")))
                    .boxed(),
            ),
        ]),
    )
        .prop_map(|(k, levels, rest)| (k, format!("levels = [{}]\n{rest}", levels.join(", "))));
    let role = (
        key(),
        lines(vec![
            ("description", 0.2, text().boxed()),
            ("email", 0.3, text().boxed()),
            ("slack", 0.3, secret().boxed()),
            ("webhook", 0.3, secret().boxed()),
            ("webhook_secret", 0.2, secret().boxed()),
            (
                "console",
                0.2,
                prop::sample::select(vec!["true", "false", "1"])
                    .prop_map(str::to_string)
                    .boxed(),
            ),
        ]),
    );
    let email = lines(vec![
        ("from", 0.9, text().boxed()),
        ("smtp", 0.9, secret().boxed()),
        ("tls", 0.4, text().boxed()),
        ("username", 0.2, secret().boxed()),
        ("password", 0.2, secret().boxed()),
        ("ca_file", 0.2, text().boxed()),
    ])
    .prop_map(|rest| format!("[email]\n{rest}"));
    let checker = lines(vec![("expected_interval_minutes", 0.8, float().boxed())])
        .prop_map(|r| format!("[checker]\n{r}"));
    let delivery = lines(vec![
        ("timeout_seconds", 0.5, float().boxed()),
        ("concurrency", 0.5, int().boxed()),
        ("max_attempts", 0.5, int().boxed()),
    ])
    .prop_map(|r| format!("[delivery]\n{r}"));
    let tracker = (
        key(),
        lines(vec![
            (
                "kind",
                0.9,
                prop_oneof![
                    3 => prop::sample::select(vec!["\"github\"", "\"jira\"", "\"linear\""])
                        .prop_map(str::to_string),
                    1 => text(),
                ]
                .boxed(),
            ),
            (
                "url",
                0.9,
                prop_oneof![3 => Just("\"https://api.example.com/\"".to_string()), 1 => text()]
                    .boxed(),
            ),
            ("token", 0.9, secret().boxed()),
            (
                "project",
                0.9,
                prop_oneof![3 => Just("\"o/r\"".to_string()), 1 => text()].boxed(),
            ),
            ("issue_type", 0.2, text().boxed()),
            ("email", 0.2, text().boxed()),
        ]),
    )
        .prop_map(|(k, rest)| format!("[trackers.{}]\n{rest}", k.unwrap_or("gh".into())));
    let one_or_many = || {
        prop_oneof![
            text(),
            prop::collection::vec(text(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
        ]
    };
    let route = lines(vec![
        ("name", 0.4, text().boxed()),
        ("source", 0.3, one_or_many().boxed()),
        ("priority", 0.3, one_or_many().boxed()),
        ("tags", 0.3, one_or_many().boxed()),
        (
            "title",
            0.4,
            prop_oneof![
                2 => prop::sample::select(vec!["^db", "(", "[a-", "a{99999999}", "(?i)down", ""])
                    .prop_map(toml_string),
                1 => text(),
            ]
            .boxed(),
        ),
        (
            "chain",
            0.9,
            prop_oneof![3 => Just("\"c0\"".to_string()), 1 => text()].boxed(),
        ),
        ("owner", 0.2, text().boxed()),
    ])
    .prop_map(|r| format!("[[routes]]\n{r}"));
    let kinds = prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(
                escalate::model::EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()
            )
            .prop_map(toml_string),
            1 => text(),
        ],
        0..3,
    )
    .prop_map(|v| format!("[{}]", v.join(", ")));
    let subscription = lines(vec![
        ("url", 0.9, secret().boxed()),
        ("secret", 0.3, secret().boxed()),
        ("kinds", 0.5, kinds.boxed()),
    ])
    .prop_map(|r| format!("[[subscriptions]]\n{r}"));
    let extras = (
        prop::collection::vec(tracker, 0..2),
        prop::collection::vec(route, 0..3),
        prop::collection::vec(subscription, 0..2),
    )
        .prop_map(|(t, r, s)| [t, r, s].concat());
    (
        prop::collection::vec(chain, 0..3),
        prop::collection::vec(role, 0..3),
        prop::option::weighted(0.4, email),
        prop::option::weighted(0.3, checker),
        prop::option::weighted(0.3, delivery),
        extras,
    )
        .prop_map(|(chains, roles, email, checker, delivery, extras)| {
            // Usual keys: chains c0, c1…; roles agent (which role_ref
            // names), agent1…
            let mut doc = String::new();
            for (i, (k, body)) in chains.into_iter().enumerate() {
                let k = k.unwrap_or_else(|| format!("c{i}"));
                doc.push_str(&format!("[chains.{k}]\n{body}\n"));
            }
            for (i, (k, body)) in roles.into_iter().enumerate() {
                let usual = if i == 0 {
                    "agent".to_string()
                } else {
                    format!("agent{i}")
                };
                doc.push_str(&format!("[roles.{}]\n{body}\n", k.unwrap_or(usual)));
            }
            for s in [email, checker, delivery]
                .into_iter()
                .flatten()
                .chain(extras)
            {
                doc.push('\n');
                doc.push_str(&s);
            }
            doc
        })
}

/// TOML-ish tokens in random order.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "[chains.c]",
        "[roles.agent]",
        "[email]",
        "[delivery]",
        "[checker]",
        "[[chains.c]]",
        "levels",
        "role",
        "wait_hours",
        "repeat",
        "level",
        "at_risk",
        "at_risk_hours",
        "response_hours",
        "email",
        "slack",
        "webhook",
        "env",
        "from",
        "smtp",
        " = ",
        "=",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "\"\"\"",
        "\n",
        " ",
        "#",
        "1",
        "0.5",
        "-1",
        "nan",
        "inf",
        "\"agent\"",
        "\"a\\nb\"",
        "\\u00e9",
        "é",
        "\r\n",
        "true",
        "1979-05-27T07:32:00Z",
    ]);
    prop::collection::vec(token, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary Unicode text.
    #[test]
    fn parse_survives_arbitrary_text(text in any::<String>()) {
        parses_cleanly(&text)?;
    }

    /// Arbitrary bytes, read as the loader would see them after a lossy
    /// UTF-8 decode.
    #[test]
    fn parse_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parses_cleanly(&String::from_utf8_lossy(&bytes))?;
    }

    /// TOML tokens in random order.
    #[test]
    fn parse_survives_token_soup(text in token_soup()) {
        parses_cleanly(&text)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    /// The repo's chains.toml with 1–7 random byte edits (bit flips, bytes
    /// set to TOML punctuation, deletions, insertions, duplications,
    /// truncation).
    #[test]
    fn parse_survives_mutations_of_the_starter(edits in edits()) {
        parses_cleanly(&apply(escalate::config::STARTER, &edits))?;
    }

    /// Configs laid out like real ones with boundary and nasty values.
    #[test]
    fn parse_survives_structured_configs(text in structured_config()) {
        parses_cleanly(&text)?;
    }
}

/// The starter file itself parses (the mutation property starts from it).
#[test]
fn starter_parses() {
    let c = Config::parse(escalate::config::STARTER, Path::new("chains.toml")).expect("parses");
    assert!(c.chain("customer_issue").is_some());
}

/// Values quoted raw once broke "a config error is one line"; each input is
/// a minimal counterexample the properties found (now shown escaped).
#[test]
fn config_errors_quoting_line_breaks_stay_one_line() {
    let cases = [
        "[roles.agent]\nwebhook = \"\\n\"\n",
        "[roles.agent]\nwebhook = \"\\r\"\n",
        "[roles.agent]\nemail = \"a\\nb\"\n",
        "[roles.agent]\n[chains.c]\nlevels = [{ role = \"x\\ny\", wait_hours = 1 }]\n",
        "[roles.agent]\n[chains.c]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\n\
         response_hours = 1\nbreach_notify = [\"x\\ny\"]\n",
        "[email]\nfrom = \"a\\nb\"\nsmtp = \"smtp://h\"\n",
        "[email]\nfrom = \"a@b.c\"\nsmtp = \"smtp://h\"\ntls = \"x\\ny\"\n",
        "[roles.\"a\\nb\"]\n",
        "[chains.\"a\\nb\"]\nlevels = []\n",
        "\"a\\rb\" = 1\n",
        "[trackers.gh]\nkind = \"x\\ny\"\nurl = \"https://h\"\ntoken = \"t\"\nproject = \"o/r\"\n",
        "[[routes]]\nchain = \"x\\ny\"\n",
        "[[routes]]\nname = \"a\\nb\"\nchain = \"x\"\n",
        "[[subscriptions]]\nurl = \"https://h\"\nkinds = [\"x\\ny\"]\n",
    ];
    let mut bad = Vec::new();
    for text in cases {
        let e = Config::parse(text, Path::new("chains.toml")).expect_err("invalid");
        if e.message.contains('\n') || e.message.contains('\r') {
            bad.push(format!("{text:?} -> {:?}", e.message));
        }
    }
    assert!(bad.is_empty(), "multi-line messages:\n{}", bad.join("\n"));
}
