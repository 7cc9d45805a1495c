//! Integration tests: the real binary in a temp dir, with `--now`.

use std::collections::BTreeMap;

use crate::support::*;
use serde_json::Value;

/// Run checks at each offset (minutes); collect (issue, level, check minute).
fn checks(env: &Env, minutes: impl IntoIterator<Item = i64>) -> Vec<(i64, u32, i64)> {
    let mut seen = Vec::new();
    for m in minutes {
        let r = env.at(m, &["check"]).ok();
        for (id, level) in pages(&r.stdout) {
            seen.push((id, level, m));
        }
    }
    seen
}

#[test]
fn customer_issue_walks_the_chain_once_per_level_whatever_the_cadence() {
    // L1 at t0, L2 at +4 h, L3 at +12 h, L4 at +36 h.
    let cadences: Vec<(&str, Vec<i64>)> = vec![
        ("every 5 minutes", (1..=40 * 12).map(|i| i * 5).collect()),
        ("every 30 minutes", (1..=7 * 48).map(|i| i * 30).collect()),
        ("once after 3 days", vec![3 * 24 * 60]),
    ];
    for (name, cadence) in cadences {
        let env = Env::new();
        let created = env.at(
            0,
            &[
                "create",
                "--chain",
                "customer_issue",
                "--title",
                "Login broken",
            ],
        );
        let created = created.ok();
        assert_eq!(created.stdout.trim(), "1", "{name}: id alone on stdout");
        assert_eq!(
            pages(&created.stderr),
            vec![(1, 1)],
            "{name}: level 1 at creation"
        );

        let seen = checks(&env, cadence.iter().copied());
        let levels: Vec<u32> = seen.iter().map(|s| s.1).collect();
        assert_eq!(levels, vec![2, 3, 4], "{name}: each level exactly once");
        for (_, level, minute) in &seen {
            let due = match level {
                2 => 240,
                3 => 720,
                _ => 2160,
            };
            assert!(*minute >= due, "{name}: L{level} not before due");
        }
        // the event log records each level's scheduled due time exactly
        let issue = env.show(1);
        let due: Vec<(u64, String)> = issue["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "escalated")
            .map(|e| {
                (
                    e["level"].as_u64().expect("level"),
                    e["details"]["due_at"].as_str().expect("due").to_string(),
                )
            })
            .collect();
        assert_eq!(
            due,
            vec![
                (2, at_minutes(240)),
                (3, at_minutes(720)),
                (4, at_minutes(2160))
            ],
            "{name}"
        );
        let notified = issue["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "notified" && e["details"]["notice"] == "page")
            .count();
        assert_eq!(notified, 4, "{name}: four deliveries recorded");
        assert_eq!(issue["level"], 4);
        assert_eq!(issue["owner"], "vp_customer_success");
    }
}

#[test]
fn outage_escalates_at_15_minutes_and_1h15() {
    let env = Env::new();
    env.create(0, "system_outage", "Checkout down");
    let seen = checks(&env, (1..=24).map(|i| i * 5));
    assert_eq!(seen, vec![(1, 2, 15), (1, 3, 75)]);
}

#[test]
fn ack_stops_escalation_and_the_ack_timeout_resumes_it() {
    let env = Env::new();
    env.create(0, "system_outage", "Checkout down");
    env.at(5, &["ack", "1", "--by", "dana"]).ok();
    let issue = env.show(1);
    assert_eq!(issue["status"], "acknowledged");
    assert_eq!(issue["owner"], "dana");
    // acked at +5 min, timeout 2 h: nothing until +2h05
    assert!(checks(&env, (2..=24).map(|i| i * 5)).is_empty());
    // at the lapse level 1 is re-paged; level 2 follows one L1 wait later
    let seen = checks(&env, [125, 130, 140]);
    assert_eq!(seen, vec![(1, 1, 125), (1, 2, 140)]);
    let issue = env.show(1);
    assert_eq!(issue["status"], "open");
    assert_eq!(issue["owner"], "engineering_manager");
    let kinds: Vec<&str> = issue["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"ack_expired"), "{kinds:?}");

    // a chain without a timeout: ack stops escalation for good
    env.create(200, "customer_issue", "Refund");
    env.at(201, &["ack", "2", "--by", "sam"]).ok();
    assert!(checks(&env, [10_000]).iter().all(|s| s.0 != 2));
}

#[test]
fn resolved_issues_are_never_paged_again() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env.at(60, &["resolve", "1", "--note", "fixed"]).ok();
    assert!(checks(&env, [10_000]).is_empty());
    let issue = env.show(1);
    assert_eq!(issue["status"], "resolved");
    assert_eq!(issue["resolved_by"], "tester");
}

#[test]
fn reopen_restarts_at_level_one() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    checks(&env, [300]);
    env.at(310, &["resolve", "1"]).ok();
    let r = env.at(400, &["reopen", "1"]).ok();
    assert_eq!(pages(&r.stderr), vec![(1, 1)]);
    let seen = checks(&env, [400 + 239, 400 + 240]);
    assert_eq!(seen, vec![(1, 2, 640)]);
}

#[test]
fn orphaned_chain_is_reported_never_lost_never_a_crash() {
    let env = Env::new();
    env.create(0, "customer_issue", "Customer");
    env.create(0, "system_outage", "Outage");
    // the outage chain disappears from the config
    let without: String = STARTER
        .split("[chains.system_outage]")
        .next()
        .expect("head")
        .to_string()
        + &STARTER
            .split("[roles.support_agent]")
            .nth(1)
            .map(|r| format!("[roles.support_agent]{r}"))
            .expect("roles");
    env.write_config(&without);
    let r = env.at(300, &["check"]).code(3);
    assert_eq!(
        pages(&r.stdout),
        vec![(1, 2)],
        "other chains still escalate"
    );
    assert!(r.stderr.contains("chain `system_outage`"), "{r:?}");
    assert!(r.stderr.contains("#2"), "{r:?}");
    // still listed, marked orphaned
    let list = env.run(&["list", "--json"]).ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[1]["orphaned"], true);
    // parked: later checks do not read it again, but still report it
    assert_eq!(list[1]["next_check_at"], serde_json::Value::Null);
    let r = env.at(305, &["check"]).code(3);
    assert!(r.stderr.contains("#2"), "{r:?}");
    // the chain comes back: the issue resumes from its schedule
    env.write_config(STARTER);
    let r = env.at(310, &["check"]).ok();
    let levels: Vec<(i64, u32)> = pages(&r.stdout);
    assert_eq!(levels, vec![(2, 2), (2, 3)]);
}

#[test]
fn shortened_chain_caps_the_level() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    checks(&env, [3000]);
    assert_eq!(env.show(1)["level"], 4);
    let short = STARTER.replace(
        "  { level = 3, role = \"support_manager\", wait_hours = 24 },\n  { level = 4, role = \"vp_customer_success\", wait_hours = 48 },\n",
        "",
    );
    assert_ne!(short, STARTER);
    env.write_config(&short);
    env.at(3010, &["check"]).ok();
    let issue = env.show(1);
    assert_eq!(issue["level"], 2);
    assert_eq!(issue["owner"], "support_lead");
    assert!(issue["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["kind"] == "capped"));
}

#[test]
fn changed_waits_apply_to_open_issues() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env.write_config(&STARTER.replace(
        "role = \"support_agent\", wait_hours = 4",
        "role = \"support_agent\", wait_hours = 1",
    ));
    let seen = checks(&env, [59, 60]);
    assert_eq!(seen, vec![(1, 2, 60)]);
}

#[test]
fn eight_concurrent_checks_notify_each_level_exactly_once() {
    let env = Env::new();
    for i in 0..20 {
        env.create(0, "customer_issue", &format!("issue {i}"));
    }
    let children: Vec<_> = (0..8)
        .map(|_| env.test().at("+3d").args(["check"]).spawn())
        .collect();
    let mut all = Vec::new();
    for child in children {
        let r = Run::wait(child);
        assert_eq!(r.code, 0, "{r:?}");
        all.extend(pages(&r.stdout));
    }
    let mut counts: BTreeMap<(i64, u32), u32> = BTreeMap::new();
    for p in all {
        *counts.entry(p).or_default() += 1;
    }
    assert_eq!(counts.len(), 20 * 3, "every issue reached L2, L3, L4");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    // `show` at a fixed instant: its "time left" figures follow the clock.
    let show = || env.at(300, &["show", "1", "--json"]).ok().json();
    let before = show();
    let r = env.at(300, &["check", "--dry-run"]).ok();
    assert!(r.stdout.contains("would escalate to level 2"), "{r:?}");
    assert_eq!(show(), before);
    let r = env.at(300, &["check"]).ok();
    assert_eq!(pages(&r.stdout), vec![(1, 2)]);
    let r = env.at(300, &["check", "--dry-run"]).ok();
    assert_eq!(r.stdout.trim(), "nothing is due");
}

#[test]
fn show_json_has_the_documented_fields() {
    let env = Env::new();
    let r = env
        .run(&[
            "--now",
            "2026-03-29T03:30:00+02:00",
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "T",
            "--ref",
            "ZD-1",
            "--json",
        ])
        .ok();
    let created = r.json();
    assert_eq!(created["created_at"], "2026-03-29T01:30:00Z", "UTC inside");
    let issue = env.show(1);
    for key in [
        "id",
        "chain",
        "title",
        "status",
        "level",
        "owner",
        "created_at",
        "resolved_at",
        "events",
    ] {
        assert!(issue.get(key).is_some(), "missing {key}: {issue}");
    }
    assert_eq!(issue["ref"], "ZD-1");
    let first = &issue["events"][0];
    assert_eq!(first["kind"], "created");
    assert_eq!(first["level"], 1);
    assert_eq!(first["at"], "2026-03-29T01:30:00Z");
    // human form works too
    let text = env.run(&["show", "#1"]).ok().stdout;
    assert!(
        text.contains("Timeline:") && text.contains("created"),
        "{text}"
    );
}

#[test]
fn list_filters_by_status_and_chain() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env.create(0, "system_outage", "B");
    env.create(0, "customer_issue", "C");
    env.at(1, &["ack", "2", "--by", "dana"]).ok();
    env.at(2, &["resolve", "3"]).ok();
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        env.run(&all)
            .ok()
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|i| i["id"].as_i64().expect("id"))
            .collect()
    };
    assert_eq!(ids(&[]), vec![1, 2]);
    assert_eq!(ids(&["--status", "unacknowledged"]), vec![1]);
    assert_eq!(ids(&["--status", "acknowledged"]), vec![2]);
    assert_eq!(ids(&["--status", "resolved"]), vec![3]);
    assert_eq!(ids(&["--status", "all"]), vec![1, 2, 3]);
    assert_eq!(
        ids(&["--status", "all", "--chain", "customer_issue"]),
        vec![1, 3]
    );
    let table = env.at(10, &["list"]).ok().stdout;
    assert!(
        table.contains("ID") && table.contains("support_agent"),
        "{table}"
    );
}

#[test]
fn config_check_summarises_chains() {
    Test::new()
        .no_db()
        .args(["config", "check"])
        .stdout_has("chain customer_issue")
        .stdout_has("L4 vp_customer_success")
        .stdout_has("1d 12h") // 36 h to reach L4
        .stdout_has("re-notified every 2h, 3 time(s)")
        .run();
}

#[test]
fn init_never_overwrites_the_config() {
    let env = Env::with_config("# mine\n");
    let r = env.run(&["init"]).ok();
    assert!(r.stdout.contains("kept existing"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(env.path("chains.toml"))
            .ok()
            .as_deref(),
        Some("# mine\n")
    );
    // the database was made (a file on SQLite, the schema on PostgreSQL)
    env.run(&["list"]).ok();
    if env.pg.is_none() {
        assert!(env.db().exists());
    }
    // and a fresh directory gets the starter
    let fresh = Env::empty();
    fresh.run(&["init"]).ok();
    assert_eq!(
        std::fs::read_to_string(fresh.path("chains.toml"))
            .ok()
            .as_deref(),
        Some(STARTER)
    );
}

#[cfg(unix)]
#[test]
fn database_file_is_private() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let mode = std::fs::metadata(env.db())
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn demo_runs_the_pipeline_and_prints_a_report() {
    Env::empty()
        .test()
        .args(["demo"])
        .stdout_has("[ESCALATION Level 4]")
        .stdout_has("# Escalation report")
        .run();
}

#[test]
fn help_documents_commands_and_exit_codes() {
    let r = Test::new().no_db().args(["--help"]).run();
    for word in [
        "check",
        "create",
        "ack",
        "resolve",
        "report",
        "demo",
        "Exit codes",
        "needs a human",
    ] {
        assert!(r.stdout.contains(word), "help lacks {word}: {}", r.stdout);
    }
}

// ---- every failure a user can cause: one line, a documented code, no change

#[test]
fn unknown_chain_stores_nothing() {
    let env = Env::new();
    let before = env.state();
    env.at(0, &["create", "--chain", "nope", "--title", "x"])
        .code(2)
        .one_line_error("unknown chain `nope`");
    assert_eq!(
        env.run(&["list", "--status", "all", "--json"]).ok().json(),
        Value::Array(vec![])
    );
    assert!(env.state() == before, "database untouched");
}

#[test]
fn unknown_ids_and_wrong_states_are_refused() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env.run(&["resolve", "99"])
        .code(4)
        .one_line_error("issue #99 does not exist");
    env.run(&["ack", "99", "--by", "x"])
        .code(4)
        .one_line_error("#99");
    env.run(&["show", "99"]).code(4).one_line_error("#99");
    env.run(&["assign", "99", "--to", "x"])
        .code(4)
        .one_line_error("#99");
    env.run(&["ack", "abc", "--by", "x"])
        .code(2)
        .one_line_error("invalid issue id `abc`");
    env.run(&["reopen", "1"])
        .code(4)
        .one_line_error("not resolved");
    env.at(5, &["resolve", "1"]).ok();
    let after_first = env.show(1);
    env.at(6, &["resolve", "1"])
        .code(4)
        .one_line_error("already resolved");
    env.at(6, &["ack", "1", "--by", "x"])
        .code(4)
        .one_line_error("is resolved");
    assert_eq!(env.show(1), after_first, "nothing changed");
}

#[test]
fn double_ack_names_the_owner() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    env.at(1, &["ack", "1", "--by", "ann"]).ok();
    env.at(2, &["ack", "1", "--by", "bob"])
        .code(4)
        .one_line_error("already acknowledged by ann");
    env.at(3, &["assign", "1", "--to", "bob"]).ok();
    assert_eq!(env.show(1)["owner"], "bob");
}

#[test]
fn bad_now_and_bad_args_are_usage_errors() {
    let env = Env::new();
    env.run(&["--now", "yesterday", "check"])
        .code(2)
        .one_line_error("invalid --now `yesterday`");
    let r = env.run(&["create", "--title", "x"]);
    assert_eq!(r.code, 2, "{r:?}");
    env.at(0, &["create", "--chain", "customer_issue", "--title", "  "])
        .code(2)
        .one_line_error("--title must not be empty");
}

#[test]
fn bad_toml_names_file_line_and_column() {
    let cases = [
        (
            "[chains.x]\nlevels = [{ role = \"ghost\", wait_hours = 1 }]\n",
            "chains.toml:2:20",
            "unknown role `ghost`",
        ),
        ("[chains.x\n", "chains.toml:1:10", "expected"),
        (
            "[roles.a]\npager = 3\n",
            "chains.toml:2:1",
            "unknown field `pager`",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = -2 }]\n",
            "chains.toml:3:38",
            "negative",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = []\n",
            "chains.toml:2:1",
            "no levels",
        ),
    ];
    for (toml, at, fragment) in cases {
        let env = Env::new();
        env.create(0, "customer_issue", "A");
        let before = env.state();
        env.write_config(toml);
        for args in [
            vec!["check"],
            vec!["config", "check"],
            vec!["create", "--chain", "x", "--title", "t"],
        ] {
            let r = env.at(500, &args).code(2);
            let r = r.one_line_error(fragment);
            assert!(r.stderr.contains(at), "{toml:?} {args:?}: {r:?}");
        }
        assert!(env.state() == before, "{toml:?}: database untouched");
    }
}

#[test]
fn missing_config_and_missing_database_are_clear() {
    let env = Env::with_config(STARTER);
    if env.pg.is_some() {
        // The database is there but empty: check must not set it up.
        env.run(&["check"])
            .code(5)
            .one_line_error("has no escalate schema; run `escalate --db URL init`");
        assert!(env.state().is_empty(), "check never creates the schema");
    } else {
        env.run(&["check"])
            .code(5)
            .one_line_error("does not exist (run `escalate init`");
        assert!(!env.db().exists(), "check never creates a database");
    }
    env.run(&["--config", "nope.toml", "check"])
        .code(2)
        .one_line_error("nope.toml: no such file");
}

#[test]
fn newer_schema_database_is_refused_untouched() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        conn.pragma_update(None, "journal_mode", "DELETE")
            .expect("no wal");
    }
    let before = env.bytes(&env.db());
    env.at(500, &["check"])
        .code(5)
        .one_line_error("schema version 99, newer than");
    env.run(&["list"])
        .code(5)
        .one_line_error("upgrade escalate");
    assert_eq!(env.bytes(&env.db()), before);
    assert!(!env.path("escalation.db-wal").exists(), "no WAL created");
}

#[test]
fn corrupt_or_foreign_files_are_refused_untouched() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let env = Env::with_config(STARTER);
    std::fs::write(env.db(), b"this is not a database at all, just text, long enough to matter..........................................").expect("write");
    let before = env.bytes(&env.db());
    env.run(&["check"]).code(5).one_line_error("not a database");
    assert_eq!(env.bytes(&env.db()), before);

    let other = Env::with_config(STARTER);
    {
        let conn = rusqlite::Connection::open(other.db()).expect("open");
        conn.execute_batch("CREATE TABLE t (x); PRAGMA journal_mode = DELETE;")
            .expect("table");
    }
    let before = other.bytes(&other.db());
    other
        .run(&["check"])
        .code(5)
        .one_line_error("not an escalate one");
    assert_eq!(other.bytes(&other.db()), before);
}

#[test]
fn a_locked_database_fails_cleanly_and_changes_nothing() {
    let env = Env::new();
    env.create(0, "customer_issue", "A");
    let holder = env.hold_write_lock();
    let started = std::time::Instant::now();
    let r = env.at(500, &["--busy-timeout", "0.2", "check"]);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "check waited {took:?} for the lock (busy timeout 0.2 s): {r:?}"
    );
    r.code(5).one_line_error("locked");
    holder.release();
    assert_eq!(env.show(1)["level"], 1, "nothing escalated while locked");
    let r = env.at(500, &["check"]).ok();
    assert_eq!(pages(&r.stdout), vec![(1, 2)]);
}

#[test]
fn broken_stdout_is_not_a_crash() {
    let env = Env::new();
    for i in 0..50 {
        env.create(0, "customer_issue", &format!("issue {i}"));
    }
    let mut child = env.test().args(["list", "--status", "all"]).spawn();
    drop(child.stdout.take());
    let r = Run::wait(child);
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}

#[test]
fn an_ack_after_missed_checks_takes_the_level_the_schedule_reached() {
    let env = Env::new();
    let id = env.create(0, "customer_issue", "nobody checked");
    // No check ran; L2 came due at 4 h. Dana acks at 5 h.
    env.at(5 * 60, &["ack", &id.to_string(), "--by", "dana"])
        .ok();
    let v = env.show(id);
    assert_eq!(v["level"], 2, "{v}");
    assert_eq!(v["owner"], "dana");
    let escalated = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "escalated" && e["level"] == 2)
        .count();
    assert_eq!(escalated, 1);
    // The page decided at the ack is not sent: dana owns the issue.
    let r = env.at(5 * 60 + 1, &["check"]).ok();
    assert!(pages(&r.stdout).is_empty(), "{r:?}");
}
