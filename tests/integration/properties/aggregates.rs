//! The kept report aggregates (`store::stays`, migration 07) against a
//! recomputation from the event log, over random command sequences run
//! with the real binary: create, check, ack, resolve, reopen, pause,
//! resume, move, escalate (to any level), on both starter chains, over
//! several days. After each sequence:
//!
//! - every issue's kept stays equal [`stays::replay`] of its events, and a
//!   rebuild from the log (what the migration does) keeps the same;
//! - the report's per-level figures from the kept stays equal the ones
//!   recomputed from the event log ([`report::levels_from_log`]) for
//!   windows before, across and after the commands, all chains or one;
//! - the hourly rollups (`store::rollups`, migration 10), folded by the
//!   reports run in the sequence and once more at its end, equal a fold
//!   of the whole log; the per-level figures above come from their stays
//!   for the windows' whole hours, and the SLA outcomes and paged issues
//!   the report reads from them equal the log's
//!   ([`report::window_counts_from_log`]) for the same windows and for
//!   windows whose edges fall inside hours, as do the longest-open issues
//!   picked among the rollups' candidates.

use escalate::store::report::{self, LevelReached, Scope, WallClock};
use escalate::store::{rollups, stays, OpenMode, Store};

use super::*;
use crate::support::{at_minutes, Env};

/// One command of a sequence; ids pick among the issues filed so far.
#[derive(Debug, Clone)]
enum Cmd {
    Create(bool),
    Check,
    Ack(usize),
    Resolve(usize),
    Reopen(usize),
    Pause(usize),
    Resume(usize),
    Move(usize),
    Escalate(usize, Option<u32>),
    /// A report: folds the rollups so far.
    Report,
    Priority(usize, &'static str),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let id = 0usize..6;
    prop_oneof![
        3 => any::<bool>().prop_map(Cmd::Create),
        4 => Just(Cmd::Check),
        1 => id.clone().prop_map(Cmd::Ack),
        2 => id.clone().prop_map(Cmd::Resolve),
        1 => id.clone().prop_map(Cmd::Reopen),
        1 => id.clone().prop_map(Cmd::Pause),
        1 => id.clone().prop_map(Cmd::Resume),
        1 => id.clone().prop_map(Cmd::Move),
        1 => (id.clone(), prop::option::of(1u32..=4)).prop_map(|(i, l)| Cmd::Escalate(i, l)),
        3 => Just(Cmd::Report),
        1 => (id, prop::sample::select(vec!["urgent", "low", "High"]))
            .prop_map(|(i, p)| Cmd::Priority(i, p)),
    ]
}

/// Files an issue, or gives the command line `c` stands for.
fn step(env: &Env, ids: &mut Vec<i64>, t: i64, c: &Cmd) -> Option<Vec<String>> {
    match c {
        Cmd::Create(outage) => {
            ids.push(env.create(at_minutes(t), starter_chain(*outage), "p"));
            None
        }
        Cmd::Check => Some(vec!["check".into()]),
        Cmd::Ack(i) => on_issue(ids, *i, "ack", &[]),
        Cmd::Resolve(i) => on_issue(ids, *i, "resolve", &[]),
        Cmd::Reopen(i) => on_issue(ids, *i, "reopen", &[]),
        Cmd::Pause(i) => on_issue(ids, *i, "pause", &[]),
        Cmd::Resume(i) => on_issue(ids, *i, "resume", &[]),
        Cmd::Move(i) => on_issue(ids, *i, "move", &["--chain", starter_chain(t % 2 == 0)]),
        Cmd::Report => Some(vec!["report".into(), "--days".into(), "1".into()]),
        Cmd::Priority(i, p) => on_issue(ids, *i, "priority", &[p]),
        Cmd::Escalate(i, Some(l)) => on_issue(ids, *i, "escalate", &["--level", &l.to_string()]),
        Cmd::Escalate(i, None) => on_issue(ids, *i, "escalate", &[]),
    }
}

/// A level line that says nothing: the log-based query listed the levels
/// of stays that ended before the window with all zeros; the kept stays
/// are not read that far back, and the report shows such a level the
/// same way (every configured level is listed, zero or not).
fn says_something(l: &LevelReached) -> bool {
    l.reached + l.escalated + l.resolved + l.still_there > 0 || !l.stay.is_empty()
}

fn windows(last: i64) -> Vec<(i64, i64)> {
    vec![
        (-60, last + 60),
        (0, last / 2 + 1),
        (last / 3, last / 3 * 2 + 1),
        (last / 2, last + 1),
        (last, last + 24 * 60),
    ]
}

fn compare(env: &Env, ids: &[i64], last: i64) -> Result<(), TestCaseError> {
    let mut store = Store::open(
        &env.location(),
        OpenMode::Existing,
        std::time::Duration::from_secs(5),
    )
    .map_err(|e| TestCaseError::fail(format!("open: {e:#}")))?;
    let t = |m: i64| crate::support::t0() + TimeDelta::minutes(m);
    // Fold what the sequence's reports left, so the levels below come from
    // the stay rollups for the windows' whole hours.
    store
        .write(rollups::catch_up)
        .map_err(|e| TestCaseError::fail(format!("fold: {e:#}")))?;
    let checked = store.read(|tx| {
        for id in ids {
            let kept = stays::kept(tx, *id)?;
            let replayed = stays::replay(tx, *id)?;
            anyhow::ensure!(
                kept == replayed,
                "issue {id}: kept {kept:?} != replayed {replayed:?}"
            );
        }
        for (a, b) in windows(last) {
            for chain in [None, Some("customer_issue"), Some("system_outage")] {
                let scope = Scope {
                    since: t(a),
                    until: t(b),
                    chain,
                };
                let kept = report::levels(tx, &scope, &mut WallClock)?;
                let logged: Vec<LevelReached> =
                    report::levels_from_log(tx, &scope, &mut WallClock)?
                        .into_iter()
                        .filter(says_something)
                        .collect();
                let kept: Vec<LevelReached> = kept.into_iter().filter(says_something).collect();
                anyhow::ensure!(
                    kept == logged,
                    "window {a}..{b} {chain:?}:\n kept {kept:?}\n log  {logged:?}"
                );
            }
        }
        Ok(())
    });
    checked.map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    compare_rollups(&mut store, last)?;
    // What the migration does, on the same log, keeps the same stays.
    store
        .write(|tx| {
            let before: Vec<Vec<stays::Stay>> = ids
                .iter()
                .map(|id| stays::kept(tx, *id))
                .collect::<anyhow::Result<_>>()?;
            // The rebuild is the SQLite migration's; PostgreSQL's schema
            // starts with the stays kept, so there is nothing to redo.
            if let Some(lite) = tx.sqlite() {
                stays::rebuild(lite)?;
            }
            for (id, want) in ids.iter().zip(before) {
                let got = stays::kept(tx, *id)?;
                anyhow::ensure!(got == want, "issue {id}: rebuilt {got:?} != kept {want:?}");
            }
            Ok(())
        })
        .map_err(|e| TestCaseError::fail(format!("{e:#}")))
}

/// The rollups after the sequence's folds and a last one: equal to a fold
/// of the whole log, and the report's figures from them equal the log's.
fn compare_rollups(store: &mut Store, last: i64) -> Result<(), TestCaseError> {
    let t = |m: i64| crate::support::t0() + TimeDelta::minutes(m);
    store
        .write(|tx| {
            rollups::catch_up(tx)?;
            anyhow::ensure!(rollups::current(tx)?, "not current after a fold");
            // Windows whose edges fall inside hours (t0 is on the hour),
            // and the sequence's own.
            let mut spans = windows(last);
            spans.extend([(-7, last + 67), (13, last / 2 + 121), (-600, last + 600)]);
            for (a, b) in spans {
                for chain in [None, Some("customer_issue"), Some("system_outage")] {
                    let scope = Scope {
                        since: t(a),
                        until: t(b),
                        chain,
                    };
                    let kept = report::window_counts(tx, &scope)?;
                    let logged = report::window_counts_from_log(tx, &scope)?;
                    anyhow::ensure!(
                        kept == logged,
                        "window {a}..{b} {chain:?}:\n kept {kept:?}\n log  {logged:?}"
                    );
                    let kept = report::longest_open(tx, &scope, 3)?;
                    let logged = report::longest_open_from_log(tx, &scope, 3)?;
                    anyhow::ensure!(
                        kept == logged,
                        "longest open {a}..{b} {chain:?}:\n kept {kept:?}\n log  {logged:?}"
                    );
                }
            }
            let kept = rollups::snapshot(tx)?;
            // As for the stays: the rebuild is the SQLite migration's.
            if let Some(lite) = tx.sqlite() {
                rollups::rebuild(lite)?;
            }
            let refolded = rollups::snapshot(tx)?;
            anyhow::ensure!(kept == refolded, "kept {kept:?}\n refolded {refolded:?}");
            Ok(())
        })
        .map_err(|e| TestCaseError::fail(format!("{e:#}")))
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn kept_stays_equal_the_event_log(seq in timed(cmd())) {
        let (env, ids, last) = replay(&seq, step);
        compare(&env, &ids, last)?;
    }
}

/// Folds that fall between two stays ending in the same hour, chain and
/// level (the second fold adds to the first's row), and a priority change
/// after a fold (the hours of the issue's folded events are folded
/// again): the kept rollups still equal a fold of the whole log.
#[test]
fn folds_between_events_of_one_hour_add_up() {
    let seq = [
        (0, Cmd::Create(false)),
        (20, Cmd::Create(false)),
        // customer_issue waits 4 h at level 1: the first leaves it at 13:01.
        (241, Cmd::Check),
        (242, Cmd::Report),
        (261, Cmd::Check),
        (262, Cmd::Report),
        (270, Cmd::Resolve(0)),
        (275, Cmd::Report),
        (300, Cmd::Resolve(1)),
        // A third issue, in hours of its own, changes priority after a fold.
        (400, Cmd::Create(true)),
        (420, Cmd::Check),
        (425, Cmd::Report),
        (430, Cmd::Priority(2, "urgent")),
        (440, Cmd::Check),
    ];
    let (env, ids, last) = replay(&seq, step);
    assert_eq!(last, 440);
    compare(&env, &ids, last).unwrap_or_else(|e| panic!("{e}"));
}
