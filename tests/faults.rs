//! Fault injection: the real `escalate` binary (temp dirs, `--now`, HTTP
//! peers on 127.0.0.1 started by each test, no internet) under faults.
//!
//! What is covered, and what each test asserts:
//!
//! 1. Overlap — `overlap_16_checks_notify_everything_exactly_once`: 50 issues
//!    on both starter chains (every role posts to a webhook peer that answers
//!    slowly, the lead also to Slack), then 16 `check` processes spawned
//!    together at +3 days (levels 2–4 and collapsed repeats all due). Every
//!    outbox row is delivered exactly once: each `delivery_id` appears in
//!    exactly one webhook body, the 40 Slack rows in one grouped post,
//!    `outbox --status sent --json` holds each (issue, level, repeat,
//!    target) once, `show --json` has one `notified` event per row and one
//!    `escalated` event per (issue, level); a later check sends nothing.
//! 2. Crash — `crash_sigkill_sweep_loses_nothing_and_repeats_only_in_flight_sends`
//!    (and the denser `..._dense` sweep, ignored as long): `check` is
//!    SIGKILLed (`Child::kill`) at fixed delays after spawn (0…160 ms), at
//!    fractions of the kill-free run's duration, and right after the k-th
//!    request reached the (30 ms slow) receiver, with sends going one at a
//!    time, so kills land before the decision commit and mid-delivery. A
//!    rerun past the 5-minute lease must deliver every row the kill-free
//!    baseline delivers (nothing lost), send any `delivery_id` at most twice
//!    and never resend a row recorded as sent before the kill, log
//!    `notified` exactly once per row, keep the event timeline equal to the
//!    baseline's, and leave `PRAGMA integrity_check` = ok (also checked
//!    right after the kill).
//! 3. Outage — `outage_*`: the receiver is down for a simulated day of
//!    checks: refused (a port bound then dropped), HTTP 500, and hanging
//!    (accepts, never answers; `[delivery] timeout_seconds = 1`). During the
//!    day every row's `attempts` (from `outbox --status all --json`) equals
//!    the documented backoff (30 s doubling to 1 h) replayed over the check
//!    times, the peer saw exactly that many requests per row, and
//!    `delivery_failed` events match; after the peer is back one check
//!    delivers everything exactly once. `dead_letters_*` repeat this with
//!    `[delivery] max_attempts = 3`: the check that gives up exits 3 and
//!    names the issue and contact "failed for good" on stderr, `outbox
//!    --status dead` lists every row with 3 attempts, later checks do not
//!    retry them, `status` exits 3, and `outbox retry --all-dead` + a check
//!    delivers each exactly once.
//! 4. Database faults — `db_*`: locked by another connection's `BEGIN
//!    EXCLUSIVE` past `--busy-timeout 1` (every writing command exits 5 after
//!    waiting, readers still work), read-only file (run as `nobody` when the
//!    tests run as root), missing directory in `--db`, corrupt files
//!    (garbage text, random bytes, a SQLite header over garbage, a truncated
//!    database, every page after the first overwritten, the `issues`
//!    table's root page overwritten), a newer schema
//!    (`user_version = 999`), a foreign SQLite file: each a one-line
//!    `escalate: …` error, exit 5, no panic, and the file byte-for-byte
//!    unchanged.
//! 5. Bad input — `bad_toml_*` and `bad_cli_*`: tables of broken configs
//!    (syntax, wrong types, unknown keys, missing roles and fields, absurd
//!    waits, 5 MiB and empty files, invalid UTF-8, bad SLA keys, bad
//!    `[email]`, `[delivery]`, `[checker]`, bad contacts) and command lines
//!    (bad ids, unknown ids, bad `--now`, `--busy-timeout`, unknown chain,
//!    empty or long titles, bad names, unknown subcommands): one line naming
//!    the file:line:column and key, or the argument (clap's own usage errors
//!    are only held to exit 2 and no panic), the documented exit code, no
//!    panic, and the database byte-for-byte unchanged.
//!
//! 6. Regressions for contract breaks this suite found (each fixed): a
//!    foreign SQLite file with a `user_version` is refused untouched in one
//!    line; a zero-byte `--db` file is refused, not made a new history;
//!    SQLite errors inside a transaction name the database (and a dry run
//!    under a lock waits like any command); a read-only episode leaves no
//!    read-only `-shm` behind (readers open such a file immutable); type
//!    errors in one-or-many keys name the key; a deliverer that lost its
//!    lease never records a row twice nor turns a sent row back.
//!
//! Run the long tests with `-- --ignored`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::{Action, Request, Server};
use support::*;

// ---------------------------------------------------------------- the peer

#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Status(u16),
    /// Accept and read the request, never answer.
    Hang,
}

/// A peer on the shared server: records every request when it has been
/// read, then answers after `delay` with the current answer.
struct Peer {
    server: Server,
    mode: Arc<Mutex<(Answer, Duration)>>,
}

impl Peer {
    fn start() -> Peer {
        let mode = Arc::new(Mutex::new((Answer::Status(200), Duration::ZERO)));
        let current = Arc::clone(&mode);
        let server = Server::start(move |_| match *current.lock().expect("lock") {
            // Hold the connection, unanswered, like a stuck peer.
            (Answer::Hang, _) => Action::Hang(Duration::from_secs(120)),
            (Answer::Status(code), delay) => Action::reply(code, "ok").after(delay),
        });
        Peer { server, mode }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    fn answer(&self, answer: Answer) {
        self.mode.lock().expect("lock").0 = answer;
    }

    fn delay(&self, delay: Duration) {
        self.mode.lock().expect("lock").1 = delay;
    }

    fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    fn count(&self) -> usize {
        self.server.count()
    }
}

/// A URL nobody listens on: a port bound, then dropped.
fn refused_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}{path}")
}

/// One notification listed in a webhook body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Note {
    delivery: i64,
    issue: i64,
    level: i64,
    repeat: i64,
}

fn notes(req: &Request) -> Vec<Note> {
    let body: Value = serde_json::from_str(&req.body)
        .unwrap_or_else(|e| panic!("webhook body is not JSON ({e}): {req:?}"));
    assert_eq!(body["schema"], "escalate.notification.v1", "{req:?}");
    let list = body["notifications"].as_array().expect("notifications");
    assert_eq!(body["count"].as_u64(), Some(list.len() as u64), "{req:?}");
    list.iter()
        .map(|n| Note {
            delivery: n["delivery_id"].as_i64().expect("delivery_id"),
            issue: n["issue_id"].as_i64().expect("issue_id"),
            level: n["level"].as_i64().expect("level"),
            repeat: n["repeat"].as_i64().expect("repeat"),
        })
        .collect()
}

/// How many times each delivery id was posted (in requests matching `keep`).
fn posts_per_delivery(reqs: &[Request], keep: impl Fn(&Request) -> bool) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for r in reqs.iter().filter(|r| keep(r)) {
        for n in notes(r) {
            *counts.entry(n.delivery).or_insert(0) += 1;
        }
    }
    counts
}

// ------------------------------------------------------- config and helpers

/// The starter's roles, each of which gets webhook contacts in `hooked`.
const ROLES: [&str; 7] = [
    "support_agent",
    "support_lead",
    "support_manager",
    "vp_customer_success",
    "on_call_engineer",
    "engineering_manager",
    "cto",
];

fn hook_var(role: &str, i: usize) -> String {
    format!("FAULTS_HOOK_{}_{i}", role.to_ascii_uppercase())
}

/// The starter chains; every role posts to `per_role` webhooks whose URLs
/// come from environment variables (so an outbox row's target, `$VAR`,
/// does not depend on the peer's port); then `extra` (e.g. `[delivery]`).
fn hooked(per_role: usize, extra: &str) -> String {
    let chains = STARTER
        .split("[roles.support_agent]")
        .next()
        .expect("starter chains");
    // Without the starter's SLA targets: their warnings are outbox rows of
    // their own, and these tests account for pages.
    let mut text: String = chains
        .lines()
        .filter(|l| {
            !["response_hours", "resolution_hours", "breach_notify"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for role in ROLES {
        let hooks: Vec<String> = (0..per_role)
            .map(|i| format!("{{ env = \"{}\" }}", hook_var(role, i)))
            .collect();
        text.push_str(&format!(
            "[roles.{role}]\nwebhook = [{}]\n\n",
            hooks.join(", ")
        ));
    }
    text.push_str(extra);
    text
}

/// Point every hook variable at `base` + `/role/i`.
fn point(env: &Env, per_role: usize, base: &dyn Fn(&str) -> String) {
    for role in ROLES {
        for i in 0..per_role {
            env.set_var(&hook_var(role, i), &base(&format!("/{role}/{i}")));
        }
    }
}

fn outbox(env: &Env, status: &str) -> Vec<Value> {
    env.run(&["outbox", "--status", status, "--limit", "0", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("outbox rows")
        .clone()
}

fn issue_ids(env: &Env) -> Vec<i64> {
    env.run(&["list", "--status", "all", "--limit", "0", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

fn events(env: &Env, id: i64) -> Vec<Value> {
    env.show(id)["events"].as_array().expect("events").clone()
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer: {v}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string: {v}"))
}

/// (issue, level, repeat, target): what an outbox row is about.
fn row_key(row: &Value) -> (i64, i64, i64, String) {
    (
        int(row, "issue_id"),
        int(row, "level"),
        int(row, "repeat"),
        text(row, "target").to_string(),
    )
}

/// Minutes since t0 of an RFC 3339 time.
fn minute_of(t: &str) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(t).expect("rfc3339");
    (t.with_timezone(&chrono::Utc) - t0()).num_seconds() / 60
}

/// Every outbox row was notified exactly once (`notified` events, matched on
/// level, repeat and target) and nothing else was notified.
fn assert_notified_once_per_row(env: &Env, rows: &[Value]) {
    let mut want: BTreeMap<(i64, i64, i64, String), usize> = BTreeMap::new();
    for row in rows {
        *want.entry(row_key(row)).or_insert(0) += 1;
    }
    assert!(
        want.values().all(|&n| n == 1),
        "one outbox row per (issue, level, repeat, target): {want:?}"
    );
    let mut got: BTreeMap<(i64, i64, i64, String), usize> = BTreeMap::new();
    for id in issue_ids(env) {
        for e in events(env, id) {
            if e["kind"] == "notified" {
                let key = (
                    id,
                    int(&e, "level"),
                    int(&e["details"], "repeat"),
                    text(&e["details"], "target").to_string(),
                );
                *got.entry(key).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(got, want, "notified events: exactly one per outbox row");
}

/// Each issue escalated to each (level, repeat) at most once.
fn assert_escalated_once(env: &Env) {
    for id in issue_ids(env) {
        let mut seen = BTreeSet::new();
        for e in events(env, id) {
            if e["kind"] == "escalated" {
                let key = (int(&e, "level"), int(&e["details"], "repeat"));
                assert!(seen.insert(key), "issue #{id} escalated twice to {key:?}");
            }
        }
    }
}

fn no_panic(r: &Run) {
    assert_ne!(r.code, 101, "panic exit code: {r:?}");
    assert!(!r.stderr.contains("panicked"), "panic: {r:?}");
    assert!(!r.stderr.contains("stack backtrace"), "backtrace: {r:?}");
    assert!(!r.stderr.contains("RUST_BACKTRACE"), "panic hint: {r:?}");
}

fn run_cmd(mut cmd: Command) -> Run {
    output(cmd.output().expect("run escalate"))
}

/// The database file and its WAL (empty when absent), byte for byte.
fn snapshot(db: &Path) -> (Vec<u8>, Vec<u8>) {
    let wal = db.with_file_name(format!(
        "{}-wal",
        db.file_name().expect("name").to_string_lossy()
    ));
    (
        std::fs::read(db).expect("read database"),
        std::fs::read(wal).unwrap_or_default(),
    )
}

fn assert_unchanged(db: &Path, before: &(Vec<u8>, Vec<u8>), what: &str) {
    let after = snapshot(db);
    assert!(after.0 == before.0, "{what}: database file changed");
    assert!(after.1 == before.1, "{what}: WAL changed");
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open for integrity_check");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let fk: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .expect("foreign_key_check");
    if fk > 0 {
        return format!("{ok}; {fk} foreign key violations");
    }
    ok
}

// ----------------------------------------------------------------- overlap

#[test]
fn overlap_16_checks_notify_everything_exactly_once() {
    let peer = Peer::start();
    // every role has a webhook; the lead also has Slack
    let config = hooked(1, "").replace(
        "[roles.support_lead]\n",
        &format!(
            "[roles.support_lead]\nslack = \"{}\"\n",
            peer.url("/slack/lead")
        ),
    );
    let env = Env::with_config(&config);
    point(&env, 1, &|p| peer.url(p));
    env.run(&["init"]).ok();
    for i in 0..50 {
        let chain = if i % 5 == 4 {
            "system_outage"
        } else {
            "customer_issue"
        };
        env.create(0, chain, &format!("overlap {i}"));
    }
    assert_eq!(peer.count(), 50, "level 1 of each issue posted at create");
    // A slow receiver keeps deliveries in flight while other checks start.
    peer.delay(Duration::from_millis(10));
    let now = at_minutes(3 * 24 * 60);
    let children: Vec<_> = (0..16)
        .map(|_| {
            env.command(&["--now", &now, "check"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let r = output(child.wait_with_output().expect("wait"));
        no_panic(&r);
        assert_eq!(r.code, 0, "{r:?}");
    }
    let rows = outbox(&env, "all");
    let sent = outbox(&env, "sent");
    assert_eq!(sent.len(), rows.len(), "every row sent: {rows:?}");
    assert!(outbox(&env, "pending").is_empty());
    // 40 customer issues × 4 levels (+ Slack for L2); 10 outage issues ×
    // L1, L2, L3 (its missed repeats collapsed)
    let per_issue = |id: i64| rows.iter().filter(|r| int(r, "issue_id") == id).count();
    let customer: Vec<i64> = (1..=50).filter(|i| i % 5 != 0).collect();
    assert!(customer.iter().all(|&id| per_issue(id) == 5), "{rows:?}");
    assert!((1..=50).all(|id| per_issue(id) >= 3), "{rows:?}");

    // each webhook row posted exactly once, and only ids that are rows
    let webhook = |r: &Request| !r.path.starts_with("/slack/");
    let posts = posts_per_delivery(&peer.requests(), webhook);
    let ids: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r["channel"] == "webhook")
        .map(|r| int(r, "id"))
        .collect();
    assert_eq!(posts.keys().copied().collect::<BTreeSet<_>>(), ids);
    let twice: Vec<_> = posts.iter().filter(|(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "posted more than once: {twice:?}");
    // the 40 Slack rows: one claim, so one grouped post
    let slack: Vec<Request> = peer
        .requests()
        .into_iter()
        .filter(|r| r.path == "/slack/lead")
        .collect();
    assert_eq!(slack.len(), 1, "{slack:?}");
    assert!(slack[0].body.contains("40 escalations"), "{:?}", slack[0]);
    // …to the contact of the row's role
    for r in peer.requests().iter().filter(|r| webhook(r)) {
        for n in notes(r) {
            let row = rows
                .iter()
                .find(|x| int(x, "id") == n.delivery)
                .expect("row");
            assert!(r.path.starts_with(&format!("/{}/", text(row, "role"))));
            assert_eq!((n.issue, n.level, n.repeat), {
                let k = row_key(row);
                (k.0, k.1, k.2)
            });
        }
    }
    assert_notified_once_per_row(&env, &sent);
    assert_escalated_once(&env);
    // and a later check has nothing left to send
    let before = peer.count();
    env.at(3 * 24 * 60 + 1, &["check"]).ok();
    assert_eq!(peer.count(), before);
}

// ------------------------------------------------------------------- crash

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
            let mut kinds: Vec<(String, i64)> = events(env, id)
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
    assert!(
        !template.path("escalation.db-wal").exists(),
        "closed cleanly"
    );
    let at = 3 * 24 * 60;
    let mut tally = CrashTally::default();
    let mut baseline: Option<Baseline> = None;
    let mut full_run = Duration::ZERO;
    for (n, kill) in [Kill::Never].iter().chain(kills).enumerate() {
        let env = Env::with_config(&config);
        std::fs::copy(template.db(), env.db()).expect("copy template");
        let peer = Peer::start();
        peer.delay(Duration::from_millis(30));
        point(&env, PER_ROLE, &|p| peer.url(p));
        let started = Instant::now();
        let mut child = env
            .command(&["--now", &at_minutes(at), "check"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
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
        assert_eq!(integrity(&env.db()), "ok", "{kill:?}: right after the kill");

        let after_kill = outbox(&env, "all");
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
        no_panic(&r);
        assert_eq!(r.code, 0, "{kill:?}: rerun: {r:?}");
        let seen_after_rerun = peer.count();
        let r = env.at(at + 12, &["check"]).ok();
        no_panic(&r);
        tally.checks += 2;
        assert_eq!(peer.count(), seen_after_rerun, "{kill:?}: nothing more");

        let rows = outbox(&env, "all");
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
        assert_eq!(integrity(&env.db()), "ok", "{kill:?}: after the rerun");
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

// ------------------------------------------------------------------ outage

#[derive(Clone, Copy, Debug, PartialEq)]
enum Down {
    Refused,
    Status500,
    Hang,
}

/// Backoff before attempt `attempts + 1`, as documented: 30 s doubling to 1 h.
fn backoff_secs(attempts: u32) -> i64 {
    (30_i64 << attempts.saturating_sub(1).min(7)).min(3600)
}

/// Replay the retry policy: attempts made by the runs at `runs` (minutes,
/// ascending) on a row first tried at `first`; dead once `max` is reached.
fn replay(first: i64, runs: &[i64], max: u32) -> u32 {
    let mut attempts = 0u32;
    let mut next = first * 60;
    for &m in runs.iter().filter(|&&m| m >= first) {
        if m * 60 >= next {
            attempts += 1;
            if attempts >= max {
                break;
            }
            next = m * 60 + backoff_secs(attempts);
        }
    }
    attempts
}

/// Whether a stderr line says the delivery about `issue` to `target` failed
/// for good ("delivery for issue #3 via webhook $X failed for good: …" or
/// "delivery for 2 issues (#1, #3) via webhook $X failed for good: …").
fn reported_dead(stderr: &str, issue: i64, target: &str) -> bool {
    stderr.lines().any(|line| {
        let Some(rest) = line.strip_prefix("escalate: delivery for ") else {
            return false;
        };
        let Some((issues, rest)) = rest.split_once(" via ") else {
            return false;
        };
        let named = issues
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .any(|word| word == format!("#{issue}"));
        named && rest.starts_with(&format!("webhook {target} failed for good: "))
    })
}

#[derive(Debug, Default)]
struct OutageTally {
    checks: usize,
    rows: usize,
    attempts: u64,
    requests: usize,
}

fn outage(down: Down, step: i64, max_attempts: Option<u32>) -> OutageTally {
    let mut extra = "[delivery]\ntimeout_seconds = 1\n".to_string();
    if let Some(m) = max_attempts {
        extra.push_str(&format!("max_attempts = {m}\n"));
    }
    let max = max_attempts.unwrap_or(40);
    let peer = Peer::start();
    let env = Env::with_config(&hooked(1, &extra));
    match down {
        Down::Refused => {
            let dead = refused_url("");
            point(&env, 1, &|p| format!("{dead}{p}"));
        }
        Down::Status500 => {
            peer.answer(Answer::Status(500));
            point(&env, 1, &|p| peer.url(p));
        }
        Down::Hang => {
            peer.answer(Answer::Hang);
            point(&env, 1, &|p| peer.url(p));
        }
    }
    env.run(&["init"]).ok();
    let mut tally = OutageTally::default();
    let mut stderr = String::new();
    for (chain, title) in [
        ("customer_issue", "A"),
        ("customer_issue", "B"),
        ("system_outage", "C"),
    ] {
        let r = env.at(0, &["create", "--chain", chain, "--title", title]);
        no_panic(&r);
        assert_eq!(r.code, 3, "{down:?}: level 1 could not be told: {r:?}");
        assert!(r.stderr.contains("notifying level 1 via webhook"), "{r:?}");
        stderr.push_str(&r.stderr);
    }
    let day = 24 * 60;
    let mut runs = vec![0];
    for m in (1..=day / step).map(|i| i * step) {
        let r = env.at(m, &["check"]);
        no_panic(&r);
        assert!(r.code == 0 || r.code == 3, "{down:?} at {m}: {r:?}");
        for line in r.stderr.lines() {
            assert!(line.starts_with("escalate: delivery for "), "{r:?}");
        }
        if r.stderr.contains("failed for good") {
            assert_eq!(r.code, 3, "dead letters need a human: {r:?}");
        }
        stderr.push_str(&r.stderr);
        runs.push(m);
        tally.checks += 1;
    }

    // The day is over: nothing got through, attempts follow the policy.
    let rows = outbox(&env, "all");
    tally.rows = rows.len();
    assert!(rows.len() >= 9, "L1–L3 of three issues: {rows:?}");
    let reqs = peer.requests();
    tally.requests = reqs.len();
    assert!(reqs.iter().all(|r| r.answered != Some(200)));
    let posts = posts_per_delivery(&reqs, |_| true);
    let mut failed_per_issue: BTreeMap<i64, i64> = BTreeMap::new();
    for row in &rows {
        let first = minute_of(text(row, "created_at"));
        let want = replay(first, &runs, max);
        let got = u32::try_from(int(row, "attempts")).expect("attempts");
        assert_eq!(got, want, "{down:?}: attempts of {row}");
        assert!(got <= max, "{row}");
        tally.attempts += u64::from(got);
        *failed_per_issue.entry(int(row, "issue_id")).or_insert(0) += i64::from(got);
        let id = int(row, "id");
        let posted = posts.get(&id).copied().unwrap_or(0);
        match down {
            Down::Refused => assert_eq!(posted, 0),
            Down::Status500 | Down::Hang => {
                assert_eq!(posted as u32, got, "{down:?}: requests for row {id}")
            }
        }
        if got >= max {
            assert_eq!(row["status"], "dead", "{row}");
            assert!(
                text(row, "last_error").contains(&format!("gave up after {max} attempts")),
                "{row}"
            );
            assert!(
                reported_dead(&stderr, int(row, "issue_id"), text(row, "target")),
                "dead letter {row} not reported: {stderr}"
            );
        } else {
            assert_eq!(row["status"], "pending", "{row}");
        }
    }
    for (id, want) in &failed_per_issue {
        let got = events(&env, *id)
            .iter()
            .filter(|e| e["kind"] == "delivery_failed")
            .count() as i64;
        assert_eq!(got, *want, "delivery_failed events of issue #{id}");
    }
    let dead = outbox(&env, "dead");
    if max_attempts.is_some() {
        assert_eq!(dead.len(), rows.len(), "every row is a dead letter");
        env.at(day, &["status"])
            .code(3)
            .one_line_error("notification(s) are dead");
        // dead letters are not retried
        let before = peer.count();
        let r = env.at(day + 120, &["check"]).ok();
        assert!(r.stderr.is_empty(), "{r:?}");
        assert_eq!(peer.count(), before);
    } else {
        assert!(dead.is_empty(), "{dead:?}");
    }

    // The peer is back.
    peer.answer(Answer::Status(200));
    if down == Down::Refused {
        point(&env, 1, &|p| peer.url(p));
    }
    if max_attempts.is_some() {
        let r = env.at(day + 121, &["outbox", "retry", "--all-dead"]).ok();
        assert!(
            r.stdout.contains(&format!("requeued {}", rows.len())),
            "{r:?}"
        );
    }
    let ok_before = peer.count();
    let r = env.at(day + 180, &["check"]);
    no_panic(&r);
    assert_eq!(r.code, 0, "{down:?}: back: {r:?}");
    let sent = outbox(&env, "sent");
    assert_eq!(sent.len(), rows.len(), "{down:?}: all delivered");
    let delivered = posts_per_delivery(&peer.requests()[ok_before..], |r| r.answered == Some(200));
    let ids: BTreeSet<i64> = rows.iter().map(|r| int(r, "id")).collect();
    assert_eq!(delivered.keys().copied().collect::<BTreeSet<_>>(), ids);
    assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
    assert_notified_once_per_row(&env, &sent);
    let n = peer.count();
    env.at(day + 240, &["check"]).ok();
    assert_eq!(peer.count(), n, "nothing more to send");
    tally.checks += 3;
    eprintln!("{down:?} every {step} min, max {max}: {tally:?}");
    tally
}

#[test]
fn outage_refused_for_a_day_then_back() {
    let t = outage(Down::Refused, 5, None);
    assert_eq!(t.requests, 0);
}

#[test]
fn outage_http_500_for_a_day_then_back() {
    outage(Down::Status500, 5, None);
}

#[test]
fn outage_hanging_for_a_day_then_back() {
    // Each attempt waits out the 1 s timeout: check every 2 hours here,
    // every 30 minutes in the long variant.
    outage(Down::Hang, 120, None);
}

#[test]
#[ignore = "long: run with --ignored"]
fn outage_hanging_every_30_minutes_for_a_day_then_back() {
    outage(Down::Hang, 30, None);
}

#[test]
fn dead_letters_when_refused() {
    outage(Down::Refused, 15, Some(3));
}

#[test]
fn dead_letters_when_http_500() {
    outage(Down::Status500, 15, Some(3));
}

#[test]
fn dead_letters_when_hanging() {
    outage(Down::Hang, 120, Some(3));
}

#[test]
#[ignore = "long: run with --ignored"]
fn dead_letters_when_hanging_every_30_minutes() {
    outage(Down::Hang, 30, Some(3));
}

// --------------------------------------------------------- database faults

/// An initialised database (starter chains, console contacts) with issue #1
/// filed at t0.
fn seeded() -> Env {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env
}

/// A failure as documented: exit `code`, one `escalate: …` line on stderr
/// containing one of `fragments`, no panic.
fn check_failure(r: &Run, code: i32, fragments: &[&str]) -> Result<(), String> {
    let lines: Vec<&str> = r.stderr.lines().collect();
    let problem = if r.code != code {
        Some(format!("exit {} (want {code})", r.code))
    } else if r.code == 101 || r.stderr.contains("panicked") {
        Some("panicked".to_string())
    } else if lines.len() != 1 {
        Some(format!("{} stderr lines (want 1)", lines.len()))
    } else if !lines[0].starts_with("escalate: ") {
        Some("stderr does not start with `escalate: `".to_string())
    } else if !fragments.iter().all(|f| lines[0].contains(f)) {
        Some(format!("stderr lacks one of {fragments:?}"))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(format!("{p}: {r:?}")),
    }
}

fn must(result: Result<(), String>, what: &str) {
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

#[test]
fn db_locked_past_the_busy_timeout_exits_5_and_changes_nothing() {
    let env = seeded();
    let before = snapshot(&env.db());
    let holder = rusqlite::Connection::open(env.db()).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let writers: [&[&str]; 8] = [
        &["check"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["assign", "1", "--to", "sam"],
        &["resolve", "1"],
        &["reopen", "1"],
        &["outbox", "retry", "--all-dead"],
        &["digest"],
    ];
    for args in writers {
        let mut all = vec!["--busy-timeout", "1"];
        all.extend_from_slice(args);
        let started = Instant::now();
        let r = env.at(300, &all);
        let took = started.elapsed();
        must(
            check_failure(&r, 5, &["database escalation.db is locked"]),
            &format!("{args:?}"),
        );
        assert!(
            took >= Duration::from_millis(900),
            "{args:?} gave up after {took:?}, before the 1 s busy timeout"
        );
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    // readers are not blocked (WAL)
    for args in [&["list"][..], &["show", "1"], &["outbox"], &["report"]] {
        let mut all = vec!["--busy-timeout", "1"];
        all.extend_from_slice(args);
        env.at(300, &all).ok();
    }
    holder.execute_batch("ROLLBACK").expect("unlock");
    drop(holder);
    assert_unchanged(&env.db(), &before, "locked");
    assert_eq!(env.show(1)["level"], 1, "nothing escalated while locked");
    // once the lock is gone the same check works
    let r = env.at(300, &["check"]).ok();
    assert_eq!(pages(&r.stdout), vec![(1, 2)]);
}

/// A seeded database made read-only (mode 0400) to the commands `run`
/// starts: as root, where modes do not stop writes, they run as `nobody`
/// (uid 65534) on files chowned to it. None, with a printed note, where
/// that cannot be arranged.
#[cfg(unix)]
struct ReadOnly {
    env: Env,
    root: bool,
}

#[cfg(unix)]
impl ReadOnly {
    const NOBODY: u32 = 65534;

    fn new() -> Option<ReadOnly> {
        use std::os::unix::fs::MetadataExt;
        let env = seeded();
        // Files we create are owned by our effective uid.
        let root = std::fs::metadata(env.db()).expect("meta").uid() == 0;
        let ro = ReadOnly { env, root };
        if root {
            for p in [
                ro.env.dir.path().to_path_buf(),
                ro.env.db(),
                ro.env.path("chains.toml"),
            ] {
                std::os::unix::fs::chown(&p, Some(Self::NOBODY), Some(Self::NOBODY))
                    .expect("chown");
            }
            // Can `nobody` use the database at all here (TMPDIR traversable)?
            let probe = ro.run(&["--now", &at_minutes(1), "check"]);
            if probe.code != 0 {
                eprintln!(
                    "note: read-only sub-case skipped: running as root and `nobody` \
                     cannot use the test directory: {probe:?}"
                );
                return None;
            }
        }
        ro.set_mode(0o400);
        if !root
            && std::fs::OpenOptions::new()
                .write(true)
                .open(ro.env.db())
                .is_ok()
        {
            eprintln!("note: read-only sub-case skipped: chmod 0400 does not stop writes here");
            ro.set_mode(0o600);
            return None;
        }
        Some(ro)
    }

    fn set_mode(&self, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.env.db(), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }

    fn run(&self, args: &[&str]) -> Run {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.env.command(args);
        if self.root {
            cmd.uid(Self::NOBODY).gid(Self::NOBODY);
        }
        run_cmd(cmd)
    }
}

#[cfg(unix)]
#[test]
fn db_read_only_file_exits_5_and_changes_nothing() {
    let Some(ro) = ReadOnly::new() else { return };
    let before = snapshot(&ro.env.db());
    let now = at_minutes(300);
    let writers: [&[&str]; 5] = [
        &["check"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["assign", "1", "--to", "sam"],
        &["resolve", "1"],
    ];
    for args in writers {
        let mut all = vec!["--now", now.as_str()];
        all.extend_from_slice(args);
        let r = ro.run(&all);
        must(
            check_failure(&r, 5, &["read"]),
            &format!("read-only {args:?}"),
        );
        assert!(
            r.stderr.contains("read-only") || r.stderr.contains("readonly"),
            "{r:?}"
        );
    }
    assert_unchanged(&ro.env.db(), &before, "read-only");
    // reading a read-only database still works
    let r = ro.run(&["show", "1", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["level"], 1);
    ro.set_mode(0o600);
}

#[test]
fn db_missing_directory_exits_5_and_creates_nothing() {
    let env = Env::with_config(STARTER);
    let db = "no-such-dir/escalation.db";
    let commands: [&[&str]; 6] = [
        &["check"],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "A"],
        &["status"],
        &["outbox"],
    ];
    for args in commands {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        must(
            check_failure(
                &env.run(&all),
                5,
                &["database no-such-dir/escalation.db does not exist"],
            ),
            &format!("{args:?}"),
        );
    }
    must(
        check_failure(
            &env.run(&["--db", db, "init"]),
            5,
            &["cannot create database no-such-dir/escalation.db"],
        ),
        "init",
    );
    assert!(!env.path("no-such-dir").exists());
}

/// Deterministic pseudo-random bytes (no RNG dependency).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 56) as u8
        })
        .collect()
}

/// The database's bytes with the root page of the `issues` table (all but
/// its 8-byte header) overwritten: opening works, reading issues does not.
fn issues_root_page_overwritten(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).expect("db");
    let conn = rusqlite::Connection::open(db).expect("open");
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'issues'",
            [],
            |r| r.get(0),
        )
        .expect("rootpage");
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page size");
    let (root, size) = (root as usize, size as usize);
    let at = (root - 1) * size;
    // 0xdead as every cell pointer lies past the page: SQLite detects it.
    // (Random noise is not always detected: an insert may succeed on it.)
    for (i, b) in bytes[at + 8..at + size].iter_mut().enumerate() {
        *b = [0xde, 0xad, 0xbe, 0xef][i % 4];
    }
    bytes
}

#[test]
fn db_corrupt_files_exit_5_and_stay_untouched() {
    let good = seeded();
    let real = std::fs::read(good.db()).expect("db");
    assert!(real.len() >= 8 * 4096, "a database of several pages");
    let mut header_then_noise = b"SQLite format 3\0".to_vec();
    header_then_noise.extend(noise(16_384, 7));
    let mut first_page_then_noise = real[..4096].to_vec();
    first_page_then_noise.extend(noise(real.len() - 4096, 11));
    let issues_page_overwritten = issues_root_page_overwritten(&good.db());
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "garbage text",
            b"this is not a database at all, just text, long enough to matter\n".repeat(40),
            &["not a database"],
        ),
        ("random bytes", noise(8192, 3), &["not a database"]),
        (
            "a SQLite header over garbage",
            header_then_noise,
            &["not a database"],
        ),
        (
            "a truncated database",
            real[..real.len() / 2].to_vec(),
            &["corrupt"],
        ),
        (
            "every page after the first overwritten",
            first_page_then_noise,
            &["malformed", "corrupt", "not a database"],
        ),
        (
            "the issues table's root page overwritten",
            issues_page_overwritten,
            &["malformed", "corrupt"],
        ),
    ];
    for (what, bytes, fragments) in cases {
        let env = Env::with_config(STARTER);
        std::fs::write(env.db(), &bytes).expect("write");
        let before = snapshot(&env.db());
        for args in [
            &["check"][..],
            &["create", "--chain", "customer_issue", "--title", "B"],
            &["ack", "1", "--by", "dana"],
            &["list"],
            &["show", "1"],
        ] {
            let r = env.at(300, args);
            let matched = fragments.iter().any(|f| check_failure(&r, 5, &[f]).is_ok());
            assert!(
                matched,
                "{what} {args:?}: want exit 5, one line with one of {fragments:?}: {r:?}"
            );
            assert_unchanged(&env.db(), &before, &format!("{what} {args:?}"));
        }
    }
}

#[test]
fn db_newer_schema_exits_5_naming_the_version() {
    let env = seeded();
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.pragma_update(None, "user_version", 999).expect("bump");
    }
    let before = snapshot(&env.db());
    let commands: [&[&str]; 10] = [
        &["check"],
        &["check", "--dry-run"],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["outbox"],
        &["status"],
        &["report"],
        &["digest", "--no-record"],
    ];
    for args in commands {
        must(
            check_failure(
                &env.at(300, args),
                5,
                &[
                    "escalation.db has schema version 999, newer than",
                    "upgrade escalate",
                ],
            ),
            &format!("{args:?}"),
        );
        assert_unchanged(&env.db(), &before, &format!("{args:?}"));
    }
}

#[test]
fn db_foreign_sqlite_file_exits_5_and_stays_untouched() {
    let env = Env::with_config(STARTER);
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('mine');
             PRAGMA journal_mode = DELETE;",
        )
        .expect("foreign");
    }
    let before = snapshot(&env.db());
    for args in [
        &["check"][..],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "B"],
    ] {
        must(
            check_failure(
                &env.at(300, args),
                5,
                &["escalation.db is a SQLite database but not an escalate one"],
            ),
            &format!("{args:?}"),
        );
        assert_unchanged(&env.db(), &before, &format!("{args:?}"));
    }
    assert!(!env.path("escalation.db-wal").exists());
}

// --------------------------------------------------------------- bad input

/// Two roles, for configs that need some.
const R: &str = "[roles.a]\n[roles.b]\n";

/// A valid one-level chain on role `a`, as lines 3–4 after `R`.
fn chain_x(extra: &str) -> String {
    format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n{extra}")
}

const EMAIL_OK: &str =
    "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"smtp://relay.example.com:587\"\n";

/// (what, file bytes, fragments the one stderr line must contain).
fn toml_cases() -> Vec<(&'static str, Vec<u8>, Vec<String>)> {
    let levels = |n: usize| -> String {
        let list: Vec<String> = (0..n)
            .map(|_| "{ role = \"a\", wait_hours = 1 }".to_string())
            .collect();
        format!("{R}[chains.x]\nlevels = [{}]\n", list.join(", "))
    };
    let mut big = STARTER.to_string();
    let pad = format!("# {}\n", "x".repeat(1021));
    while big.len() < 5 * 1024 * 1024 {
        big.push_str(&pad);
    }
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &[&str])> = vec![
        // syntax
        ("unclosed table header", "[roles.a]\n[chains.x\n".into(), &[":2:"]),
        ("missing value", format!("{R}[chains.x]\nlevels =\n"), &[":4:"]),
        ("unterminated string", "[roles.a]\ndescription = \"abc\n".into(), &[":2:"]),
        ("duplicate key", "[roles.a]\ndescription = \"x\"\ndescription = \"y\"\n".into(), &[":3:", "duplicate key `description`"]),
        ("duplicate table", "[roles.a]\n[roles.b]\n[roles.a]\n".into(), &[":3:", "duplicate key `a`"]),
        ("not TOML at all", "this is not toml\n".into(), &[":1:"]),
        ("integer too large", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 99999999999999999999 }}]\n"), &[":4:"]),
        // wrong types
        ("wait_hours as a string", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = \"4\" }}]\n"), &[":4:", "wait_hours"]),
        ("repeat as a string", chain_x("repeat = \"3\"\n"), &[":5:", "repeat"]),
        ("repeat negative", chain_x("repeat = -1\n"), &[":5:", "repeat"]),
        ("levels as a string", format!("{R}[chains.x]\nlevels = \"a, b\"\n"), &[":4:", "levels"]),
        ("role as a number", format!("{R}[chains.x]\nlevels = [{{ role = 5, wait_hours = 1 }}]\n"), &[":4:", "role"]),
        ("ack_timeout_hours as a bool", chain_x("ack_timeout_hours = true\n"), &[":5:", "ack_timeout_hours"]),
        ("chains as an array", "chains = [1, 2]\n".into(), &[":1:", "chains"]),
        ("email as a number", "[roles.a]\nemail = 5\n".into(), &[":2:9:"]),
        ("console as a string", "[roles.a]\nconsole = \"yes\"\n".into(), &[":2:", "console"]),
        ("timeout_seconds as a string", "[delivery]\ntimeout_seconds = \"1\"\n".into(), &[":2:", "timeout_seconds"]),
        ("max_attempts as a float", "[delivery]\nmax_attempts = 2.5\n".into(), &[":2:", "max_attempts"]),
        ("max_attempts negative", "[delivery]\nmax_attempts = -1\n".into(), &[":2:", "max_attempts"]),
        ("expected_interval_minutes as a string", "[checker]\nexpected_interval_minutes = \"15\"\n".into(), &[":2:", "expected_interval_minutes"]),
        ("breach_notify as a string", chain_x("resolution_hours = 4\nbreach_notify = \"b\"\n"), &[":6:", "breach_notify"]),
        // unknown keys
        ("unknown top-level table", "[chain.x]\n".into(), &[":1:", "unknown field `chain`"]),
        ("unknown role key", "[roles.a]\npager = 3\n".into(), &[":2:", "unknown field `pager`"]),
        ("unknown level key", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1, wiat = 2 }}]\n"), &[":4:", "unknown field `wiat`"]),
        ("unknown chain key", chain_x("repeats = 2\n"), &[":5:", "unknown field `repeats`"]),
        ("unknown [delivery] key", "[delivery]\nretries = 3\n".into(), &[":2:", "unknown field `retries`"]),
        ("unknown [email] key", format!("{EMAIL_OK}port = 25\n"), &[":4:", "unknown field `port`"]),
        ("unknown [checker] key", "[checker]\ninterval = 5\n".into(), &[":2:", "unknown field `interval`"]),
        // missing things
        ("unknown role", format!("{R}[chains.x]\nlevels = [{{ role = \"ghost\", wait_hours = 1 }}]\n"), &[":4:", "unknown role `ghost`"]),
        ("no roles at all", "[chains.x]\nlevels = [{ role = \"a\", wait_hours = 1 }]\n".into(), &[":2:", "unknown role `a`"]),
        ("level without wait_hours", format!("{R}[chains.x]\nlevels = [{{ role = \"a\" }}]\n"), &[":4:", "wait_hours"]),
        ("level without role", format!("{R}[chains.x]\nlevels = [{{ wait_hours = 1 }}]\n"), &[":4:", "role"]),
        ("chain without levels", format!("{R}[chains.x]\nrepeat = 1\n"), &[":3:", "levels"]),
        ("chain with empty levels", format!("{R}[chains.x]\nlevels = []\n"), &[":3:", "chain `x` has no levels"]),
        // absurd values
        ("negative wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = -2 }}]\n"), &[":4:", "wait_hours", "negative"]),
        ("a wait of 11 years", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 100000 }}]\n"), &[":4:", "wait_hours", "over a year"]),
        ("a wait of nan", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = nan }}]\n"), &[":4:", "wait_hours", "finite"]),
        ("an infinite wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = inf }}]\n"), &[":4:", "wait_hours", "finite"]),
        ("repeat 5000 times", chain_x("repeat = 5000\n"), &[":5:", "repeat must be at most 1000"]),
        ("repeat with a zero last wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 0 }}]\nrepeat = 2\n"), &[":5:", "repeat needs"]),
        ("levels numbered out of order", format!("{R}[chains.x]\nlevels = [{{ level = 2, role = \"a\", wait_hours = 1 }}]\n"), &[":4:", "level 2 is listed in position 1"]),
        ("a zero ack timeout", chain_x("ack_timeout_hours = 0\n"), &[":5:", "ack_timeout_hours must be greater than 0"]),
        ("101 levels", levels(101), &[":3:", "more than 100 levels"]),
        ("a chain name with a space", "[roles.a]\n[chains.\"bad name\"]\nlevels = [{ role = \"a\", wait_hours = 1 }]\n" .into(), &[":2:", "chain name `bad name`"]),
        ("a role name with a slash", "[roles.\"a/b\"]\n".into(), &[":1:", "role name `a/b`"]),
        ("a 5 MiB file", big, &["chains.toml: file is", "bytes is refused"]),
        // SLA keys
        ("breach_notify names an unknown role", chain_x("resolution_hours = 4\nbreach_notify = [\"ghost\"]\n"), &[":6:", "breach_notify names unknown role `ghost`"]),
        ("breach_notify without a target", chain_x("breach_notify = [\"b\"]\n"), &[":5:", "breach_notify needs a target"]),
        ("at_risk over 1", chain_x("response_hours = 1\nat_risk = 1.5\n"), &[":6:", "at_risk is a fraction"]),
        ("at_risk and at_risk_hours", chain_x("response_hours = 1\nat_risk = 0.5\nat_risk_hours = 0.2\n"), &[":7:", "not both"]),
        ("at_risk without a target", chain_x("at_risk = 0.5\n"), &[":5:", "at_risk needs a target"]),
        ("at_risk_hours past the target", chain_x("response_hours = 1\nat_risk_hours = 2\n"), &[":6:", "at_risk_hours must be less than"]),
        ("a zero response target", chain_x("response_hours = 0\n"), &[":5:", "response_hours must be greater than 0"]),
        ("a negative resolution target", chain_x("resolution_hours = -4\n"), &[":5:", "resolution_hours", "negative"]),
        // [email]
        ("[email] from not an address", "[email]\nfrom = \"not-an-address\"\nsmtp = \"smtp://relay.example.com\"\n".into(), &[":2:", "[email] from", "not an email address"]),
        ("[email] smtp over http", "[email]\nfrom = \"e@example.com\"\nsmtp = \"http://relay.example.com\"\n".into(), &[":3:", "[email] smtp", "http"]),
        ("[email] smtp without a host", "[email]\nfrom = \"e@example.com\"\nsmtp = \"smtp://\"\n".into(), &[":3:", "[email] smtp"]),
        ("[email] unknown tls mode", format!("{EMAIL_OK}tls = \"maybe\"\n"), &[":4:", "[email] tls = \"maybe\""]),
        ("[email] without smtp", "[email]\nfrom = \"e@example.com\"\n".into(), &[":1:", "smtp"]),
        ("email contact without [email]", "[roles.a]\nemail = \"a@example.com\"\n".into(), &[ ":2:", "role `a` has email contacts but there is no [email] section", ]),
        ("email contact not an address", format!("{EMAIL_OK}[roles.a]\nemail = [\"a@example.com\", \"nope\"]\n"), &[":5:", "role `a` email", "`nope` is not an email address"]),
        // [delivery] and [checker]
        ("a zero timeout", "[delivery]\ntimeout_seconds = 0\n".into(), &[":2:", "timeout_seconds must be between"]),
        ("a 301 s timeout", "[delivery]\ntimeout_seconds = 301\n".into(), &[":2:", "timeout_seconds must be between"]),
        ("zero concurrency", "[delivery]\nconcurrency = 0\n".into(), &[":2:", "concurrency must be between"]),
        ("concurrency 1000", "[delivery]\nconcurrency = 1000\n".into(), &[":2:", "concurrency must be between"]),
        ("zero max_attempts", "[delivery]\nmax_attempts = 0\n".into(), &[":2:", "max_attempts must be between"]),
        ("101 max_attempts", "[delivery]\nmax_attempts = 101\n".into(), &[":2:", "max_attempts must be between"]),
        ("a zero checker interval", "[checker]\nexpected_interval_minutes = 0\n".into(), &[":2:", "expected_interval_minutes must be"]),
        // contacts
        ("slack not a URL", "[roles.a]\nslack = \"not a url\"\n".into(), &[":2:", "role `a` slack: malformed URL"]),
        ("webhook over ftp", "[roles.a]\nwebhook = \"ftp://example.com/x\"\n".into(), &[":2:", "role `a` webhook", "not an http(s) URL"]),
        ("webhook from an empty env name", "[roles.a]\nwebhook = { env = \"\" }\n".into(), &[":2:", "role `a` webhook", "names no variable"]),
        ("webhook as a table of the wrong shape", "[roles.a]\nwebhook = { variable = \"X\" }\n".into(), &[":2:11:"]),
    ];
    let mut out: Vec<(&'static str, Vec<u8>, Vec<String>)> = cases
        .into_iter()
        .map(|(what, text, frags)| {
            let mut want: Vec<String> = frags.iter().map(|f| f.to_string()).collect();
            if let Some(pos) = want.iter_mut().find(|f| f.starts_with(':')) {
                *pos = format!("chains.toml{pos}");
            }
            (what, text.into_bytes(), want)
        })
        .collect();
    out.push((
        "invalid UTF-8",
        b"[roles.a]\ndescription = \"caf\xe9\"\n".to_vec(),
        vec!["chains.toml:2:".into(), "not valid UTF-8".into()],
    ));
    out
}

#[test]
fn bad_toml_is_one_line_naming_file_line_and_key_exit_2_database_untouched() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    let before = snapshot(&env.db());
    let cases = toml_cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut tried = 0;
    for (what, bytes, want) in &cases {
        std::fs::write(env.path("chains.toml"), bytes).expect("write config");
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        for args in [
            &["check"][..],
            &["config", "check"],
            &["create", "--chain", "customer_issue", "--title", "t"],
            &["ack", "1", "--by", "dana"],
        ] {
            tried += 1;
            let r = env.at(500, args);
            no_panic(&r);
            if let Err(e) = check_failure(&r, 2, &want) {
                failures.push(format!("{what} {args:?}: {e}"));
            }
        }
        assert_unchanged(&env.db(), &before, what);
    }
    eprintln!("bad TOML: {} files, {tried} commands", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_toml_an_empty_file_refuses_new_issues_and_reports_orphans() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    env.write_config("");
    let before = snapshot(&env.db());
    let r = env.at(2, &["create", "--chain", "customer_issue", "--title", "t"]);
    must(
        check_failure(&r, 2, &["unknown chain `customer_issue`", "none"]),
        "create with an empty config",
    );
    assert_unchanged(&env.db(), &before, "empty config");
    // The cron job keeps the issue and says it needs a human.
    let r = env.at(3, &["check"]).code(3);
    r.one_line_error("1 open issue(s) on chain `customer_issue`, which is not in the config: #1");
    assert_eq!(issue_ids(&env), vec![1]);
}

#[test]
fn bad_cli_arguments_are_one_line_errors_with_documented_codes() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    let before = snapshot(&env.db());
    let long_title = "t".repeat(1001);
    // (arguments, exit code, fragments; empty = a clap usage error: exit 2
    // and no panic only)
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        (vec!["ack", "abc", "--by", "x"], 2, vec!["invalid issue id `abc`"]),
        (vec!["ack", "0", "--by", "x"], 2, vec!["invalid issue id `0`"]),
        (vec!["ack", "#x", "--by", "x"], 2, vec!["invalid issue id `#x`"]),
        (vec!["ack", "--by", "x", "--", "-1"], 2, vec!["invalid issue id `-1`"]),
        (vec!["ack", "-1", "--by", "x"], 2, vec![]),
        (vec!["show", ""], 2, vec!["invalid issue id ``"]),
        (vec!["show", "1.5"], 2, vec!["invalid issue id `1.5`"]),
        (vec!["show", "99999999999999999999"], 2, vec!["invalid issue id `99999999999999999999`"]),
        (vec!["outbox", "retry", "abc"], 2, vec!["`abc`"]),
        (vec!["show", "99999"], 4, vec!["#99999"]),
        (vec!["show", "#99999", "--json"], 4, vec!["#99999"]),
        (vec!["ack", "99999", "--by", "x"], 4, vec!["#99999"]),
        (vec!["assign", "99999", "--to", "x"], 4, vec!["#99999"]),
        (vec!["resolve", "99999"], 4, vec!["issue #99999 does not exist"]),
        (vec!["reopen", "99999"], 4, vec!["#99999"]),
        (vec!["reopen", "1"], 4, vec!["#1", "not resolved"]),
        (vec!["outbox", "retry", "99999"], 4, vec!["delivery 99999 does not exist"]),
        (vec!["--now", "yesterday", "check"], 2, vec!["invalid --now `yesterday`"]),
        (vec!["--now", "2026-13-01T00:00:00Z", "check"], 2, vec!["invalid --now `2026-13-01T00:00:00Z`"]),
        (vec!["--now", "2026-11-02T09:00:00", "check"], 2, vec!["invalid --now `2026-11-02T09:00:00`"]),
        (vec!["--now", "", "check"], 2, vec!["invalid --now ``"]),
        (vec!["--now", "1762074000", "list"], 2, vec!["invalid --now `1762074000`"]),
        (vec!["--busy-timeout=-1", "check"], 2, vec!["--busy-timeout must be between"]),
        (vec!["--busy-timeout", "nan", "check"], 2, vec!["--busy-timeout must be between"]),
        (vec!["--busy-timeout", "soon", "check"], 2, vec![]),
        (vec!["create", "--chain", "nope", "--title", "x"], 2, vec!["unknown chain `nope`", "customer_issue"]),
        (vec!["create", "--chain", "customer_issue", "--title", ""], 2, vec!["--title must not be empty"]),
        (vec!["create", "--chain", "customer_issue", "--title", " \t "], 2, vec!["--title must not be empty"]),
        (vec![ "create", "--chain", "customer_issue", "--title", &long_title, ], 2, vec!["--title is longer than 1000"]),
        (vec!["create", "--title", "x"], 2, vec![]),
        (vec!["ack", "1", "--by", ""], 2, vec!["invalid name ``"]),
        (vec!["ack", "1", "--by", "a\nb"], 2, vec!["invalid name `a\\nb`"]),
        (vec!["assign", "1", "--to", " "], 2, vec!["invalid name"]),
        (vec!["escalte"], 2, vec![]),
        (vec!["list", "--status", "bogus"], 2, vec![]),
        (vec!["report", "--days", "0"], 2, vec![]),
        (vec!["status", "--max-age", "0"], 2, vec![]),
        (vec!["outbox", "retry"], 2, vec![]),
        (vec!["notify", "test", "nobody"], 2, vec!["unknown role `nobody`"]),
        (vec!["--config", "nope.toml", "check"], 2, vec!["nope.toml: no such file"]),
        (vec!["--config", ".", "check"], 2, vec!["cannot read"]),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (args, code, want) in &cases {
        let mut all = vec!["--now", "2026-11-02T09:10:00Z"];
        if args.first() == Some(&"--now") {
            all.clear();
        }
        all.extend_from_slice(args);
        let mut cmd = env.command(&all);
        cmd.env("RUST_BACKTRACE", "1");
        let r = run_cmd(cmd);
        no_panic(&r);
        let result = if want.is_empty() {
            if r.code == *code {
                Ok(())
            } else {
                Err(format!("exit {} (want {code}): {r:?}", r.code))
            }
        } else {
            check_failure(&r, *code, want)
        };
        if let Err(e) = result {
            failures.push(format!("{args:?}: {e}"));
        }
        assert_unchanged(&env.db(), &before, &format!("{args:?}"));
    }
    eprintln!("bad CLI: {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ----------------------------------------------- known bugs (contract tests)

#[test]
fn foreign_sqlite_file_with_a_user_version_is_refused_untouched() {
    let env = Env::with_config(STARTER);
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('mine');
             PRAGMA user_version = 1;
             PRAGMA journal_mode = DELETE;",
        )
        .expect("foreign");
    }
    let before = snapshot(&env.db());
    let r = env.at(300, &["check"]);
    must(
        check_failure(&r, 5, &["escalation.db", "not an escalate"]),
        "foreign file with user_version 1",
    );
    assert_unchanged(&env.db(), &before, "foreign file with user_version 1");
}

#[test]
fn zero_byte_database_file_is_refused() {
    let env = Env::with_config(STARTER);
    std::fs::write(env.db(), b"").expect("truncate");
    let r = env.at(300, &["check"]);
    must(
        check_failure(&r, 5, &["escalation.db"]),
        "zero-byte database",
    );
    assert_eq!(std::fs::metadata(env.db()).expect("meta").len(), 0);
}

#[cfg(unix)]
#[test]
fn database_errors_inside_a_transaction_name_the_database() {
    let mut failures = Vec::new();
    // a corrupt page the command reaches only after opening
    let env = seeded();
    let bytes = issues_root_page_overwritten(&env.db());
    std::fs::write(env.db(), &bytes).expect("write");
    for args in [&["check"][..], &["list"], &["show", "1"]] {
        if let Err(e) = check_failure(&env.at(300, args), 5, &["database escalation.db"]) {
            failures.push(format!("corrupt page {args:?}: {e}"));
        }
    }
    // a read-only file
    if let Some(ro) = ReadOnly::new() {
        let r = ro.run(&["--now", &at_minutes(300), "check"]);
        if let Err(e) = check_failure(&r, 5, &["database escalation.db is read-only"]) {
            failures.push(format!("read-only check: {e}"));
        }
        ro.set_mode(0o600);
    }
    // a dry run beside a lock holder waits like any command, then says so
    let env = seeded();
    let holder = rusqlite::Connection::open(env.db()).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let started = Instant::now();
    let r = env.at(300, &["--busy-timeout", "1", "check", "--dry-run"]);
    let took = started.elapsed();
    if let Err(e) = check_failure(&r, 5, &["database escalation.db is locked"]) {
        failures.push(format!("dry run under a lock: {e}"));
    }
    if took < Duration::from_millis(900) {
        failures.push(format!("dry run under a lock gave up after {took:?}"));
    }
    holder.execute_batch("ROLLBACK").expect("unlock");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(unix)]
#[test]
fn database_recovers_once_made_writable_again() {
    let Some(ro) = ReadOnly::new() else { return };
    let r = ro.run(&["--now", &at_minutes(300), "check"]);
    assert_eq!(r.code, 5, "{r:?}");
    ro.set_mode(0o600);
    let r = ro.run(&["--now", &at_minutes(301), "check"]);
    assert_eq!(r.code, 0, "writable again, yet: {r:?}");
    assert_eq!(pages(&r.stdout), vec![(1, 2)]);
}

#[test]
fn toml_type_errors_in_contact_lists_name_the_key() {
    let env = seeded();
    for (text, key) in [
        ("[roles.a]\nemail = 5\n", "email"),
        ("[roles.a]\nwebhook = { variable = \"X\" }\n", "webhook"),
        ("[roles.a]\nslack = [1, 2]\n", "slack"),
    ] {
        env.write_config(text);
        let r = env.run(&["config", "check"]);
        must(
            check_failure(&r, 2, &["chains.toml:2:", key]),
            &format!("{text:?}"),
        );
        assert!(!r.stderr.contains("OneOrMany"), "{r:?}");
    }
}

/// A check still delivering when its lease (5 min from the command's start)
/// runs out overlaps the next cron run. `--now` stands in for the wall
/// clock: A runs "at" 240 min and is still sending when B runs at 246.
fn overlapping_deliverers(first_answer: u16) -> (Env, Peer, Run, Run) {
    let peer = Peer::start();
    let env = Env::with_config(&hooked(1, ""));
    point(&env, 1, &|p| peer.url(p));
    env.run(&["init"]).ok();
    env.create(0, "customer_issue", "slow peer");
    assert_eq!(peer.count(), 1);
    // A's level-2 send is answered after 2 s
    peer.answer(Answer::Status(first_answer));
    peer.delay(Duration::from_secs(2));
    let a = env
        .command(&["--now", &at_minutes(240), "check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while peer.count() < 2 {
        assert!(Instant::now() < deadline, "A never sent");
        std::thread::sleep(Duration::from_millis(5));
    }
    // B starts while A's send is in flight, past A's lease
    peer.answer(Answer::Status(200));
    peer.delay(Duration::ZERO);
    let b = env.at(246, &["check"]);
    let a = output(a.wait_with_output().expect("wait"));
    (env, peer, a, b)
}

#[test]
fn a_deliverer_that_lost_its_lease_never_records_twice_or_flips_back() {
    // Renamed in spirit: a pass whose lease ran out (here: simulated time
    // jumps past it while A is mid-send) may have its in-flight send
    // repeated by the next run — the documented at-most-in-flight repeat —
    // but the row is recorded once, by its current owner, and never flips
    // back from sent.
    let mut failures = Vec::new();
    // both sends succeed
    let (env, peer, a, b) = overlapping_deliverers(200);
    assert_eq!((a.code, b.code), (0, 0), "{a:?} {b:?}");
    let posts = posts_per_delivery(&peer.requests(), |_| true);
    if posts.values().any(|&n| n > 2) {
        failures.push(format!("a row was posted more than twice: {posts:?}"));
    }
    let notified = events(&env, 1)
        .iter()
        .filter(|e| e["kind"] == "notified" && e["level"] == 2)
        .count();
    if notified != 1 {
        failures.push(format!("{notified} `notified` events for level 2"));
    }
    // the slow send fails after the other run delivered the row: A no
    // longer owns it, so its failure changes nothing
    let (env, peer, a, b) = overlapping_deliverers(500);
    assert_eq!((a.code, b.code), (0, 0), "{a:?} {b:?}");
    let row = outbox(&env, "all")
        .into_iter()
        .find(|r| int(r, "level") == 2)
        .expect("L2 row");
    if row["status"] != "sent" {
        failures.push(format!("a delivered row is {}: {row}", row["status"]));
    }
    let before = peer.count();
    env.at(250, &["check"]).ok();
    if peer.count() != before {
        failures.push("the delivered row was sent again at 250".to_string());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
