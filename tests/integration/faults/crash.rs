//! Crash: `check` SIGKILLed at many points loses nothing and repeats only
//! in-flight sends (see the module docs, item 2).

use std::time::{Duration, Instant};

use super::*;
use crate::support::peer::Peer;

#[derive(Clone, Copy, Debug)]
enum Kill {
    Never,
    /// SIGKILL this long after spawn.
    After(Duration),
    /// SIGKILL as soon as the receiver has seen this many requests.
    AfterRequests(usize),
    /// SIGKILL at this percentage of the kill-free run's duration.
    Percent(u32),
}

#[derive(Debug, Default)]
struct CrashTally {
    kills: usize,
    /// The process was dead by the signal (not finished before it).
    landed: usize,
    before_decision: usize,
    mid_delivery: usize,
    after_delivery: usize,
    checks: usize,
    repeated_sends: usize,
    /// How long the kill-free check took.
    full_run: Duration,
}

/// What the kill-free run produces: the rows and each issue's timeline.
struct Baseline {
    rows: BTreeSet<(i64, i64, i64, String)>,
    timeline: BTreeMap<i64, Vec<(String, i64)>>,
}

fn timeline(env: &Env) -> BTreeMap<i64, Vec<(String, i64)>> {
    issue_ids(env)
        .into_iter()
        .map(|id| {
            let mut kinds: Vec<(String, i64)> = env
                .events(id)
                .iter()
                .map(|e| (text(e, "kind").to_string(), int(e, "level")))
                .collect();
            kinds.sort();
            (id, kinds)
        })
        .collect()
}

fn crash_sweep(kills: &[Kill]) -> CrashTally {
    const PER_ROLE: usize = 2;
    // Sends go one at a time, so the delivery phase takes a while and kills
    // land between sends.
    let config = hooked(
        PER_ROLE,
        "[delivery]\nconcurrency = 1\ntimeout_seconds = 5\n",
    );
    let template = Env::with_config(&config);
    let quick = Peer::start();
    point(&template, PER_ROLE, &|p| quick.url(p));
    template.run(&["init"]).ok();
    for i in 0..6 {
        template.create(0, "customer_issue", &format!("crash {i}"));
    }
    for i in 0..2 {
        template.create(0, "system_outage", &format!("outage {i}"));
    }
    // The WAL stays between runs (no checkpoint at close): what matters
    // after a clean exit is that the database, file and WAL together, is
    // consistent and readable by a read-only open.
    assert_eq!(integrity(&template), "ok", "closed cleanly");
    let at = 3 * 24 * 60;
    let mut tally = CrashTally::default();
    let mut baseline: Option<Baseline> = None;
    let mut full_run = Duration::ZERO;
    for (n, kill) in [Kill::Never].iter().chain(kills).enumerate() {
        let env = Env::with_config(&config);
        copy_db(&template, &env);
        let peer = Peer::start();
        peer.delay(Duration::from_millis(30));
        point(&env, PER_ROLE, &|p| peer.url(p));
        let started = Instant::now();
        let mut child = env.test().at(at).args(["check"]).spawn_silent();
        match *kill {
            Kill::Never => {}
            Kill::After(d) => std::thread::sleep(d),
            Kill::Percent(p) => std::thread::sleep(full_run * p / 100),
            Kill::AfterRequests(k) => {
                let deadline = Instant::now() + Duration::from_secs(30);
                while peer.count() < k && child.try_wait().expect("try_wait").is_none() {
                    assert!(Instant::now() < deadline, "{kill:?}: no request arrived");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        if !matches!(kill, Kill::Never) {
            child.kill().expect("SIGKILL");
            tally.kills += 1;
        }
        tally.checks += 1;
        let status = child.wait().expect("reap");
        if matches!(kill, Kill::Never) {
            full_run = started.elapsed();
            tally.full_run = full_run;
        }
        let landed = {
            use std::os::unix::process::ExitStatusExt;
            status.signal() == Some(9)
        };
        if !landed {
            assert_eq!(status.code(), Some(0), "{kill:?}: check failed");
        }
        tally.landed += usize::from(landed);
        let seen_at_kill = peer.count();
        assert_eq!(integrity(&env), "ok", "{kill:?}: right after the kill");

        let after_kill = env.outbox("all");
        let sent_before: BTreeSet<i64> = after_kill
            .iter()
            .filter(|r| r["status"] == "sent" && minute_of(text(r, "sent_at")) == at)
            .map(|r| int(r, "id"))
            .collect();
        let decided = after_kill.iter().any(|r| int(r, "level") > 1);
        let all_sent = after_kill.iter().all(|r| r["status"] == "sent");
        if landed {
            if !decided {
                tally.before_decision += 1;
            } else if all_sent {
                tally.after_delivery += 1;
            } else {
                tally.mid_delivery += 1;
            }
        }

        // After the lease (5 min) the next check delivers what was owed.
        let r = env.at(at + 6, &["check"]);
        r.no_panic();
        assert_eq!(r.code, 0, "{kill:?}: rerun: {r:?}");
        let seen_after_rerun = peer.count();
        let r = env.at(at + 12, &["check"]).ok();
        r.no_panic();
        tally.checks += 2;
        assert_eq!(peer.count(), seen_after_rerun, "{kill:?}: nothing more");

        let rows = env.outbox("all");
        assert!(
            rows.iter().all(|r| r["status"] == "sent"),
            "{kill:?}: not everything delivered: {rows:?}"
        );
        let keys: BTreeSet<_> = rows.iter().map(row_key).collect();
        assert_eq!(keys.len(), rows.len(), "{kill:?}: duplicate rows");
        let reqs = peer.requests();
        let posts = posts_per_delivery(&reqs, |_| true);
        for row in &rows {
            if int(row, "level") == 1 {
                continue; // sent by `create`, to the template's peer
            }
            let id = int(row, "id");
            let n = posts.get(&id).copied().unwrap_or(0);
            assert!(n >= 1, "{kill:?}: row {id} never posted (lost): {row}");
            assert!(n <= 2, "{kill:?}: row {id} posted {n} times: {row}");
            tally.repeated_sends += usize::from(n == 2);
        }
        let resent = posts_per_delivery(&reqs[seen_at_kill..], |_| true);
        for id in &sent_before {
            assert!(
                !resent.contains_key(id),
                "{kill:?}: row {id} was recorded as sent before the kill, yet sent again"
            );
        }
        assert_notified_once_per_row(&env, &rows);
        assert_escalated_once(&env);
        assert_eq!(integrity(&env), "ok", "{kill:?}: after the rerun");
        let lines = timeline(&env);
        match &baseline {
            None => {
                assert_eq!(n, 0);
                baseline = Some(Baseline {
                    rows: keys,
                    timeline: lines,
                });
            }
            Some(b) => {
                assert_eq!(keys, b.rows, "{kill:?}: rows differ from the baseline");
                assert_eq!(lines, b.timeline, "{kill:?}: timeline differs");
            }
        }
    }
    let b = baseline.expect("baseline");
    assert!(b.rows.len() > 20, "several issues due: {}", b.rows.len());
    tally
}

#[test]
fn crash_sigkill_sweep_loses_nothing_and_repeats_only_in_flight_sends() {
    let mut kills: Vec<Kill> = [0, 2, 5, 10, 20, 40, 80, 160]
        .iter()
        .map(|&ms| Kill::After(Duration::from_millis(ms)))
        .collect();
    kills.extend([1, 3, 6].map(Kill::AfterRequests));
    kills.extend([30, 60, 90].map(Kill::Percent));
    let tally = crash_sweep(&kills);
    eprintln!("crash sweep: {tally:?}");
    assert_eq!(tally.kills, kills.len());
    // The request-triggered kills land while a send is in flight.
    assert!(tally.mid_delivery >= 1, "{tally:?}");
}

#[test]
#[ignore = "long: run with --ignored"]
fn crash_sigkill_sweep_dense() {
    let mut kills: Vec<Kill> = (0..=40)
        .map(|i| Kill::After(Duration::from_millis(i * 2)))
        .collect();
    kills.extend((1..=10).map(Kill::AfterRequests));
    kills.extend((0..=120).step_by(2).map(Kill::Percent));
    let tally = crash_sweep(&kills);
    eprintln!("dense crash sweep: {tally:?}");
    assert!(tally.mid_delivery >= 5, "{tally:?}");
    assert!(tally.before_decision >= 1, "{tally:?}");
}

/// Many receivers, sends in parallel: `check` is SIGKILLed again and again
/// (once `k` more requests reached the receivers, for each `k` in `kills`),
/// each rerun past the lease of the one before; then a clean run. Every
/// outcome is recorded as its send ends, so:
/// - every row is delivered;
/// - no row recorded as sent before a kill is posted after it;
/// - a destination is posted to at most once more than the kills that
///   landed, and all repeats together are at most the sends in flight
///   (`concurrency` per kill).
fn kill_mid_batch_again_and_again(kills: &[usize]) -> usize {
    const PER_ROLE: usize = 4;
    const CONCURRENCY: usize = 4;
    let config = hooked(
        PER_ROLE,
        &format!("[delivery]\nconcurrency = {CONCURRENCY}\ntimeout_seconds = 5\n"),
    );
    let env = Env::with_config(&config);
    let quick = Peer::start();
    point(&env, PER_ROLE, &|p| quick.url(p));
    env.run(&["init"]).ok();
    for i in 0..6 {
        env.create(0, "customer_issue", &format!("crash {i}"));
    }
    for i in 0..2 {
        env.create(0, "system_outage", &format!("outage {i}"));
    }
    let peer = Peer::start();
    peer.delay(Duration::from_millis(40));
    point(&env, PER_ROLE, &|p| peer.url(p));
    let mut at = 3 * 24 * 60;
    let mut landed = 0;
    // Per kill: (n, k, requests seen at the kill, rows recorded sent by then).
    let mut recorded = Vec::new();
    for (n, &k) in kills.iter().enumerate() {
        let base = peer.count();
        let mut child = env.test().at(at).args(["check"]).spawn_silent();
        let deadline = Instant::now() + Duration::from_secs(30);
        while peer.count() < base + k && child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "kill {n}: no request arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        let hit = {
            use std::os::unix::process::ExitStatusExt;
            status.signal() == Some(9)
        };
        landed += usize::from(hit);
        assert_eq!(integrity(&env), "ok", "kill {n}: right after it");
        let sent_before: BTreeSet<i64> = env
            .outbox("all")
            .iter()
            .filter(|r| r["status"] == "sent" && int(r, "level") > 1)
            .map(|r| int(r, "id"))
            .collect();
        recorded.push((n, k, peer.count(), sent_before));
        // The next run (killed in turn, or the last) comes after the lease.
        at += 6;
    }
    let r = env.at(at, &["check"]);
    assert_eq!(r.code, 0, "the last check: {r:?}");
    let rows = env.outbox("all");
    assert!(
        rows.iter().all(|r| r["status"] == "sent"),
        "not everything delivered: {rows:?}"
    );
    let reqs = peer.requests();
    for (n, k, seen, sent_before) in &recorded {
        let resent = posts_per_delivery(&reqs[*seen..], |_| true);
        for id in sent_before {
            assert!(
                !resent.contains_key(id),
                "kill {n} (after {k} requests): row {id} was recorded as sent, yet sent again"
            );
        }
    }
    // Sends recorded one by one: some kill found rows already recorded
    // (recorded per batch, a killed batch records none).
    assert!(
        landed < 2 || recorded.iter().any(|(.., sent)| !sent.is_empty()),
        "no kill found a finished send recorded: {recorded:?}"
    );
    let posts = posts_per_delivery(&reqs, |_| true);
    for row in rows.iter().filter(|r| int(r, "level") > 1) {
        let id = int(row, "id");
        let n = posts.get(&id).copied().unwrap_or(0);
        assert!(n >= 1, "row {id} never posted (lost): {row}");
        assert!(
            n <= 1 + landed,
            "row {id} posted {n} times, {landed} kills: {row}"
        );
    }
    let mut per_path: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &reqs {
        *per_path.entry(r.path.as_str()).or_insert(0) += 1;
    }
    assert!(per_path.len() > 10, "many receivers: {per_path:?}");
    let repeats: usize = per_path.values().map(|&n| n.saturating_sub(1)).sum();
    assert!(
        per_path.values().all(|&n| n <= 1 + landed),
        "{landed} kills: {per_path:?}"
    );
    assert!(
        repeats <= landed * CONCURRENCY,
        "{repeats} repeated posts for {landed} kills of {CONCURRENCY} sends in flight: {per_path:?}"
    );
    assert_notified_once_per_row(&env, &rows);
    assert_escalated_once(&env);
    landed
}

#[test]
fn crash_mid_batch_repeats_only_the_sends_in_flight() {
    let landed = kill_mid_batch_again_and_again(&[2, 5, 9]);
    assert!(landed >= 1, "the kills land mid-delivery");
}

#[test]
#[ignore = "long: run with --ignored"]
fn crash_mid_batch_repeats_only_the_sends_in_flight_dense() {
    for first in 1..=6 {
        let kills: Vec<usize> = (0..6).map(|j| first + 3 * j).collect();
        kill_mid_batch_again_and_again(&kills);
    }
}
