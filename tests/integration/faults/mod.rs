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
//!    right after the kill). `crash_mid_batch_repeats_only_the_sends_in_flight`
//!    (and its `_dense` variant, ignored as long): 28 receivers, 4 sends in
//!    flight; the check and each rerun past the lease are killed again after
//!    the k-th request. Every row is delivered, no row recorded as sent
//!    before a kill is posted after it, a receiver gets at most 1 + kills
//!    posts, and all repeats together are at most `concurrency` per kill.
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
//!    EXCLUSIVE` past `--busy-timeout 1` (on PostgreSQL: escalate's advisory
//!    write lock; every writing command exits 5 after waiting, readers
//!    still work), read-only file (run as `nobody` when the
//!    tests run as root, from a copy of the binary in the test directory;
//!    skipped with a one-line note where `nobody` cannot start it),
//!    missing directory in `--db`, corrupt files
//!    (garbage text, random bytes, a SQLite header over garbage, a truncated
//!    database, every page after the first overwritten, the `issues`
//!    table's root page overwritten), a newer schema
//!    (`user_version = 999`), a foreign SQLite file: each a one-line
//!    `escalate: …` error, exit 5, no panic, and the file byte-for-byte
//!    unchanged. All but the lock and the missing directory are about the
//!    SQLite file and return early on the PostgreSQL run.
//! 5. Bad input — `bad_toml_*` and `bad_cli_*`: tables of broken configs
//!    (syntax, wrong types, unknown keys, missing roles and fields, absurd
//!    waits, 5 MiB and empty files, invalid UTF-8, bad SLA keys, bad
//!    `[email]`, `[delivery]`, `[checker]`, bad contacts) and command lines
//!    (bad ids, unknown ids, bad `--now`, `--busy-timeout`, unknown chain,
//!    empty or long titles, bad names, unknown subcommands): one line naming
//!    the file:line:column and key, or the argument (clap's own usage errors
//!    are only held to exit 2 and no panic), the documented exit code, no
//!    panic, and the database byte-for-byte unchanged (on PostgreSQL: every
//!    table's rows, see [`Env::state`]).
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
//! 7. Serve — `serve_sigkilled_mid_ingest_keeps_every_acknowledged_ticket_once`:
//!    four clients push 80 tickets to `/ingest` one per request while the
//!    pages go to 8 slow receivers (two chains); `serve` is SIGKILLed once the
//!    receivers saw 1, 3 or 6 requests. Every ticket answered 200 is
//!    stored once; after a restart past the lease the clients resend all,
//!    and nothing is stored twice; a check delivers every row; no row
//!    recorded as sent is sent again, a row goes out at most twice, and at
//!    most `concurrency` requests after the restart repeat earlier rows.
//!
//! One submodule per item (`overlap`, `crash`, `outage`, `database`,
//! `bad_input`, `regressions`, `serve`); the helpers they share are here. Run the
//! long tests with `cargo test --test integration faults:: -- --ignored`.

mod bad_input;
mod crash;
mod database;
mod hosts;
mod outage;
mod overlap;
mod regressions;
mod serve;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::http::Request;
use crate::support::*;

/// A URL nobody listens on.
fn refused_url(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", closed_port())
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
        for e in env.events(id) {
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
        for e in env.events(id) {
            if e["kind"] == "escalated" {
                let key = (int(&e, "level"), int(&e["details"], "repeat"));
                assert!(seen.insert(key), "issue #{id} escalated twice to {key:?}");
            }
        }
    }
}

/// Everything the database holds ([`Env::state`]): the file and its WAL
/// on SQLite, every table's rows on PostgreSQL.
fn snapshot(env: &Env) -> Vec<u8> {
    env.state()
}

fn assert_unchanged(env: &Env, before: &[u8], what: &str) {
    assert!(env.state() == before, "{what}: the database changed");
}

/// "ok" when the database is sound: on SQLite `integrity_check` and the
/// foreign keys; on PostgreSQL (whose pages the server checks) that no
/// event or outbox row lost its issue.
fn integrity(env: &Env) -> String {
    match &env.pg {
        Some(db) => crate::support::pg::consistency(&mut db.client()),
        None => file_integrity(&env.db()),
    }
}

/// `integrity_check` and the foreign keys, through a read-only open (which
/// reads the WAL but never checkpoints it, so it changes nothing).
fn file_integrity(db: &Path) -> String {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(db, flags).expect("open for integrity_check");
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

/// Copy the WAL's commits into the database file and empty the WAL (which
/// escalate keeps between runs), so the file alone is the whole database.
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open to checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

/// Copy a database no process has open into `to`'s: on PostgreSQL a new
/// database made from `from`'s as a template, on SQLite the files.
fn copy_db(from: &Env, to: &Env) {
    match (&from.pg, &to.pg) {
        (Some(a), Some(b)) => b.copy_from(a),
        _ => copy_db_file(&from.db(), &to.db()),
    }
}

/// Copy a database file no process has open: the file and its WAL, which
/// holds the commits since the last checkpoint (the index, `-shm`, is
/// rebuilt).
fn copy_db_file(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy the database");
    let wal = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push("-wal");
        PathBuf::from(name)
    };
    if wal(from).exists() {
        std::fs::copy(wal(from), wal(to)).expect("copy its WAL");
    }
}

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
