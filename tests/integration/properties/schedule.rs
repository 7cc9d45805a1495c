//! The escalation schedule (`engine::start`/`advance`/`next_due`) against a
//! model, whatever the cadence of checks, acks and reopens.

use super::*;

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
