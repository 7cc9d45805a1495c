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

mod aggregates;
mod calendars;
mod clocks;
mod config;
mod digest;
mod pauses;
mod schedule;

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

/// Commands with the minutes (from t0) they run at, in order: steps of a
/// few minutes to a day, so what is kept spans checks, days and windows
/// (the properties that run the real binary: aggregates, digest).
fn timed<C: std::fmt::Debug + Clone>(
    cmd: impl Strategy<Value = C>,
) -> impl Strategy<Value = Vec<(i64, C)>> {
    prop::collection::vec(
        (prop_oneof![0i64..30, 30i64..600, 600i64..1_800], cmd),
        1..28,
    )
    .prop_map(|steps| {
        let mut t = 0;
        steps
            .into_iter()
            .map(|(dt, c)| {
                t += dt;
                (t, c)
            })
            .collect()
    })
}

/// `verb ID extra… --by ann` for the issue `i` picks among those filed so
/// far (aggregates, digest); None before the first.
fn on_issue(ids: &[i64], i: usize, verb: &str, extra: &[&str]) -> Option<Vec<String>> {
    let id = ids.get(i % ids.len().max(1))?;
    let mut a = vec![verb.to_string(), id.to_string()];
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(["--by".to_string(), "ann".to_string()]);
    Some(a)
}

/// One of the two starter chains: `system_outage` or `customer_issue`.
fn starter_chain(outage: bool) -> &'static str {
    if outage {
        "system_outage"
    } else {
        "customer_issue"
    }
}

/// Run a timed sequence with the real binary in a new environment: `step`
/// files issues itself (into the ids) or returns the command line to run
/// at its minute. The environment, the issues filed and the last minute.
fn replay<C>(
    seq: &[(i64, C)],
    mut step: impl FnMut(&crate::support::Env, &mut Vec<i64>, i64, &C) -> Option<Vec<String>>,
) -> (crate::support::Env, Vec<i64>, i64) {
    let env = crate::support::Env::new();
    let mut ids = Vec::new();
    for (t, c) in seq {
        if let Some(args) = step(&env, &mut ids, *t, c) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            env.at(crate::support::at_minutes(*t), &args);
        }
    }
    let last = seq.last().map_or(0, |s| s.0);
    (env, ids, last)
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
        calendar: Default::default(),
        policies: Vec::new(),
        policy: None,
        runbook: None,
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

/// The pages of a decision, in order.
fn pages_of(d: &Decision) -> Vec<&Page> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::Page(p) => Some(p),
            _ => None,
        })
        .collect()
}
