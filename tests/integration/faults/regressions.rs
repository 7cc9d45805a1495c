//! Regressions for contract breaks this suite found (see the module docs,
//! item 6).

use std::time::{Duration, Instant};

use super::database::{issues_root_page_overwritten, ReadOnly};
use super::*;
use crate::support::peer::Peer;

#[test]
fn foreign_sqlite_file_with_a_user_version_is_refused_untouched() {
    if crate::support::pg::sqlite_only() {
        return;
    }
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
    let before = snapshot(&env);
    let r = env.at(300, &["check"]);
    must(
        check_failure(&r, 5, &["escalation.db", "not an escalate"]),
        "foreign file with user_version 1",
    );
    assert_unchanged(&env, &before, "foreign file with user_version 1");
}

#[test]
fn zero_byte_database_file_is_refused() {
    if crate::support::pg::sqlite_only() {
        return;
    }
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
    if crate::support::pg::sqlite_only() {
        return;
    }
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
    if crate::support::pg::sqlite_only() {
        return;
    }
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
    peer.answer(first_answer);
    peer.delay(Duration::from_secs(2));
    let a = env.test().at(240).args(["check"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while peer.count() < 2 {
        assert!(Instant::now() < deadline, "A never sent");
        std::thread::sleep(Duration::from_millis(5));
    }
    // B starts while A's send is in flight, past A's lease
    peer.answer(200);
    peer.delay(Duration::ZERO);
    let b = env.at(246, &["check"]);
    let a = Run::wait(a);
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
    let notified = env
        .events(1)
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
    let row = env
        .outbox("all")
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
