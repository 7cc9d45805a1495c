//! Ingest and routing through the real binary: idempotency, dedup, kept
//! fields, backfill timing, malformed input (skipped or, with --strict,
//! refused whole), routing order and `route test`.

use crate::support::*;
use serde_json::Value;

const CONFIG: &str = r#"
[chains.outage]
levels = [{ role = "oncall", wait_hours = 0.25 }, { role = "em", wait_hours = 1 }]

[chains.support]
levels = [{ role = "agent", wait_hours = 4 }, { role = "lead", wait_hours = 8 }]
response_hours = 2

[[routes]]
name = "outages"
priority = ["urgent", "high"]
tags = ["outage"]
chain = "outage"

[[routes]]
name = "refunds"
source = "zendesk"
title = "(?i)refund"
chain = "support"
owner = "dana"

[[routes]]
name = "default"
chain = "support"

[roles.oncall]
[roles.em]
[roles.agent]
[roles.lead]
"#;

fn ingest(env: &Env, minutes: i64, lines: &[&str], extra: &[&str]) -> Run {
    let path = env.path("batch.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("write batch");
    let path = path.to_string_lossy().to_string();
    let mut args = vec!["ingest", path.as_str(), "--json"];
    args.extend_from_slice(extra);
    env.at(minutes, &args)
}

fn all_issues(env: &Env) -> Vec<Value> {
    env.run(&["list", "--status", "all", "--json", "--limit", "0"])
        .ok()
        .json()
        .as_array()
        .expect("rows")
        .clone()
}

const CREATED: &str = r#"{"type":"ticket.created","source":"zendesk","external_id":"4821","title":"Refund stuck for ACME","at":"2026-11-02T09:00:00Z","plan":"enterprise","tags":["vip"]}"#;

#[test]
fn the_same_batch_twice_changes_nothing() {
    let env = Env::init(CONFIG);
    let batch = [
        CREATED,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"4821","priority":"high","at":"2026-11-02T09:10:00Z"}"#,
        r#"{"type":"ticket.resolved","source":"zendesk","external_id":"4821","by":"dana","at":"2026-11-02T09:30:00Z"}"#,
    ];
    let first = ingest(&env, 60, &batch, &[]).ok().json();
    assert_eq!(
        (&first["created"], &first["updated"], &first["resolved"]),
        (&Value::from(1), &Value::from(1), &Value::from(1))
    );
    let events_before = env.run(&["events"]).ok().stdout;
    let second = ingest(&env, 61, &batch, &[]).ok().json();
    assert_eq!(second["duplicate"], 3, "{second}");
    assert_eq!(second["created"], 0);
    assert_eq!(env.run(&["events"]).ok().stdout, events_before);

    let issue = env.show(1);
    assert_eq!(issue["status"], "resolved");
    assert_eq!(issue["resolved_at"], "2026-11-02T09:30:00Z");
    assert_eq!(issue["resolved_by"], "dana");
    assert_eq!(issue["source"], "zendesk");
    assert_eq!(issue["external_id"], "4821");
    assert_eq!(issue["priority"], "high");
    assert_eq!(
        issue["details"]["plan"], "enterprise",
        "unknown fields are kept"
    );
    assert_eq!(issue["route"], "refunds");
    assert_eq!(issue["sla"]["response"]["state"], "met");
}

#[test]
fn a_repeat_created_while_open_updates_and_counts() {
    let env = Env::init(CONFIG);
    ingest(&env, 0, &[CREATED], &[]).ok();
    let again = CREATED
        .replace("Refund stuck for ACME", "Refund still stuck for ACME")
        .replace("09:00:00Z", "09:20:00Z");
    let r = ingest(&env, 30, &[&again], &[]).ok().json();
    assert_eq!(r["deduplicated"], 1, "{r}");
    let issues = all_issues(&env);
    assert_eq!(issues.len(), 1, "one open issue per (source, external_id)");
    assert_eq!(issues[0]["dedup_count"], 1);
    assert_eq!(issues[0]["title"], "Refund still stuck for ACME");

    // Once resolved, the same ticket created again is a new issue.
    ingest(
        &env,
        40,
        &[r#"{"type":"ticket.resolved","source":"zendesk","external_id":"4821"}"#],
        &[],
    )
    .ok();
    let third = CREATED.replace("09:00:00Z", "09:50:00Z");
    ingest(&env, 60, &[&third], &[]).ok();
    assert_eq!(all_issues(&env).len(), 2);
}

#[test]
fn a_backfill_escalates_exactly_as_if_it_had_arrived_live() {
    // Live: created at 0, checks every 5 minutes for 6 hours.
    let live = Env::init(CONFIG);
    live.at(0, &["create", "--chain", "support", "--title", "t"])
        .ok();
    for m in (5..=360).step_by(5) {
        live.at(m, &["check"]).ok();
    }
    // Backfill: the same ticket ingested at 6 h with at = 0, then one check.
    let backfill = Env::init(CONFIG);
    let line = format!(
        r#"{{"type":"ticket.created","source":"api","external_id":"1","title":"t","chain":"support","at":"{}"}}"#,
        at_minutes(0)
    );
    ingest(&backfill, 360, &[&line], &[]).ok();
    backfill.at(360, &["check"]).ok();

    let a = live.show(1);
    let b = backfill.show(1);
    for key in ["level", "created_at", "next_escalation_at", "sla_state"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(a["sla"]["response"], b["sla"]["response"]);
    let marks = |v: &Value| -> Vec<(String, String)> {
        v["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "breached" || e["kind"] == "at_risk")
            .map(|e| (e["kind"].to_string(), e["at"].to_string()))
            .collect()
    };
    assert_eq!(marks(&a), marks(&b), "SLA instants are anchored to `at`");
    let level2 = |v: &Value| {
        v["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["kind"] == "escalated" && e["level"] == 2)
            .map(|e| e["details"]["due_at"].clone())
    };
    assert_eq!(level2(&a), level2(&b));
}

#[test]
fn malformed_lines_are_skipped_with_their_line_numbers() {
    let env = Env::init(CONFIG);
    let r = ingest(
        &env,
        0,
        &[
            CREATED,
            "{not json",
            r#"{"type":"ticket.updated","source":"zendesk"}"#,
            "",
            r#"{"type":"ticket.resolved","source":"zendesk","external_id":"nope"}"#,
        ],
        &[],
    )
    .code(3);
    assert!(r.stderr.contains("batch.jsonl:2: not JSON"), "{r:?}");
    assert!(
        r.stderr.contains("batch.jsonl:3: missing `external_id`"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("batch.jsonl:5: unknown zendesk ticket nope"),
        "{r:?}"
    );
    let v = r.json();
    assert_eq!(v["created"], 1);
    assert_eq!(v["skipped"], 3);
    assert_eq!(all_issues(&env).len(), 1);
}

#[test]
fn strict_refuses_the_whole_batch() {
    let env = Env::init(CONFIG);
    let r = ingest(&env, 0, &[CREATED, "{not json"], &["--strict"]).code(2);
    assert!(r.stderr.contains("batch.jsonl:2: not JSON"), "{r:?}");
    assert!(r.stderr.contains("nothing was written"), "{r:?}");
    assert!(all_issues(&env).is_empty());

    // A line that parses but cannot be applied also refuses everything,
    // including what was applied before it in the same transaction.
    let r = ingest(
        &env,
        0,
        &[
            CREATED,
            r#"{"type":"ticket.updated","source":"zendesk","external_id":"ghost"}"#,
        ],
        &["--strict"],
    )
    .code(2);
    assert!(
        r.stderr
            .contains("batch.jsonl:2: unknown zendesk ticket ghost"),
        "{r:?}"
    );
    assert!(all_issues(&env).is_empty());
    assert!(env.run(&["events"]).ok().stdout.is_empty());
}

#[test]
fn routing_takes_the_first_match_and_the_default_last() {
    let env = Env::init(CONFIG);
    let lines = [
        // tags and priority match "outages", before "refunds" could.
        r#"{"type":"ticket.created","source":"zendesk","external_id":"1","title":"Refund API down","priority":"urgent","tags":["outage","x"]}"#,
        // priority matches but the tag is missing: next route.
        r#"{"type":"ticket.created","source":"zendesk","external_id":"2","title":"REFUND twice","priority":"urgent"}"#,
        r#"{"type":"ticket.created","source":"email","external_id":"3","title":"Refund please"}"#,
        // An explicit chain skips routing.
        r#"{"type":"ticket.created","source":"email","external_id":"4","title":"x","chain":"outage"}"#,
        // The ticket's assignee wins over the route's owner.
        r#"{"type":"ticket.created","source":"zendesk","external_id":"5","title":"refund","assignee":"eve"}"#,
    ];
    ingest(&env, 0, &lines, &[]).ok();
    let got: Vec<(Value, Value, Value)> = all_issues(&env)
        .iter()
        .map(|i| (i["chain"].clone(), i["route"].clone(), i["owner"].clone()))
        .collect();
    let row = |c: &str, r: Option<&str>, o: &str| {
        (
            Value::from(c),
            r.map_or(Value::Null, Value::from),
            Value::from(o),
        )
    };
    assert_eq!(
        got,
        vec![
            row("outage", Some("outages"), "oncall"),
            row("support", Some("refunds"), "dana"),
            row("support", Some("default"), "agent"),
            row("outage", None, "oncall"),
            row("support", Some("refunds"), "eve"),
        ]
    );

    // create without --chain routes too.
    let r = env
        .at(5, &["create", "--title", "Refund", "--source", "zendesk"])
        .ok();
    let id: i64 = r.stdout.trim().parse().expect("id");
    assert_eq!(env.show(id)["route"], "refunds");
    assert_eq!(env.show(id)["owner"], "dana");
}

#[test]
fn route_test_explains_each_route() {
    let env = Env::init(CONFIG);
    let r = env
        .run(&[
            "route",
            "test",
            "--source",
            "zendesk",
            "--priority",
            "urgent",
            "--title",
            "refund",
        ])
        .ok();
    assert_eq!(
        r.stdout,
        "1. outages: no (missing tag(s) outage)\n2. refunds: MATCH -> chain support, owner dana\n"
    );
    let r = env
        .run(&[
            "route",
            "test",
            "--event",
            r#"{"type":"ticket.created","source":"pd","external_id":"1","title":"x","priority":"high","tags":["outage"]}"#,
        ])
        .ok();
    assert_eq!(r.stdout, "1. outages: MATCH -> chain outage\n");
    env.run(&["route", "test", "--event", "{"])
        .code(2)
        .one_line_error("--event: not JSON");

    let no_default = Env::with_config(
        &CONFIG.replace("[[routes]]\nname = \"default\"\nchain = \"support\"\n", ""),
    );
    let r = no_default.run(&["route", "test", "--source", "x"]).code(4);
    assert!(r.stdout.contains("no route matches"), "{r:?}");
    // ... and create without --chain says so.
    no_default.run(&["init"]).ok();
    no_default
        .run(&["create", "--title", "t"])
        .code(2)
        .one_line_error("no route matches");
}

#[test]
fn bad_routes_are_config_errors() {
    let cases = [
        (
            "[[routes]]\nchain = \"ghost\"\n",
            "unknown chain `ghost`",
        ),
        (
            "[[routes]]\ntitle = \"(unclosed\"\nchain = \"support\"\n",
            "not a valid regular expression",
        ),
        (
            "[[routes]]\nchain = \"support\"\n[[routes]]\nname = \"late\"\nsource = \"x\"\nchain = \"support\"\n",
            "late can never match",
        ),
        (
            "[[routes]]\nchain = \"support\"\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
    ];
    let base = "[chains.support]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\n[roles.agent]\n";
    for (routes, fragment) in cases {
        Test::new()
            .no_db()
            .config(&format!("{base}{routes}"))
            .args(["config", "check"])
            .code(2)
            .one_line_error(fragment)
            .run();
    }
}

#[test]
fn reopening_a_ticket_that_has_a_newer_open_issue_is_a_conflict() {
    let env = Env::init(CONFIG);
    ingest(&env, 0, &[CREATED], &[]).ok();
    ingest(
        &env,
        10,
        &[r#"{"type":"ticket.resolved","source":"zendesk","external_id":"4821"}"#],
        &[],
    )
    .ok();
    let again = CREATED.replace("09:00:00Z", "09:20:00Z");
    ingest(&env, 20, &[&again], &[]).ok();
    env.at(30, &["reopen", "1"])
        .code(4)
        .one_line_error("issue #2 is open for the same zendesk ticket 4821");
    // Subscriptions sharing a URL would share a cursor: refused.
    let dup = format!(
        "{CONFIG}\n[[subscriptions]]\nurl = \"http://127.0.0.1:9/x\"\nkinds = [\"created\"]\n[[subscriptions]]\nurl = \"http://127.0.0.1:9/x\"\nkinds = [\"resolved\"]\n"
    );
    Test::new()
        .no_db()
        .config(&dup)
        .args(["config", "check"])
        .code(2)
        .one_line_error("is listed twice")
        .run();
}

#[test]
fn times_without_seconds_and_any_case_of_status_and_priority_are_accepted() {
    // The config spells a priority in title case; tickets in any case.
    let env = Env::init(&CONFIG.replace(
        r#"priority = ["urgent", "high"]"#,
        r#"priority = ["Urgent", "HIGH"]"#,
    ));
    let lines = [
        r#"{"type":"ticket.created","source":"zendesk","external_id":"1","title":"API down","priority":"URGENT","tags":["outage"],"at":"2026-11-02T09:00Z"}"#,
        r#"{"type":"ticket.created","source":"zendesk","external_id":"2","title":"Slow","priority":"High","tags":["outage"],"at":"2026-11-02T11:05+02:00"}"#,
        r#"{"type":"ticket.created","source":"email","external_id":"3","title":"Question","priority":"Low","at":"2026-11-02T09:10Z"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"1","status":"Solved","at":"2026-11-02T09:20Z"}"#,
        r#"{"type":"ticket.updated","source":"email","external_id":"3","status":"CLOSED","at":"2026-11-02T09:30-01:00"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"1","status":"Open","at":"2026-11-02T09:40Z"}"#,
    ];
    let r = ingest(&env, 120, &lines, &[]).ok().json();
    assert_eq!(
        (&r["created"], &r["resolved"], &r["reopened"]),
        (&Value::from(3), &Value::from(2), &Value::from(1)),
        "{r}"
    );
    let one = env.show(1);
    assert_eq!(one["route"], "outages");
    assert_eq!(one["priority"], "urgent");
    assert_eq!(one["created_at"], "2026-11-02T09:00:00Z");
    assert_eq!(one["status"], "open", "`Open` reopened it");
    assert_eq!(env.show(2)["route"], "outages");
    assert_eq!(env.show(2)["created_at"], "2026-11-02T09:05:00Z");
    let three = env.show(3);
    assert_eq!(three["route"], "default");
    assert_eq!(three["resolved_at"], "2026-11-02T10:30:00Z");

    // create --priority and route test compare the same way.
    let r = env
        .at(
            130,
            &[
                "create",
                "--title",
                "t",
                "--priority",
                "URGENT",
                "--tag",
                "outage",
            ],
        )
        .ok();
    let id: i64 = r.stdout.trim().parse().expect("id");
    assert_eq!(env.show(id)["route"], "outages");
}

/// Runs `ingest --json` on `bytes` written to a file, or piped to stdin.
fn ingest_bytes(env: &Env, bytes: &[u8], stdin: bool, extra: &[&str]) -> Run {
    use std::io::Write;
    let path = env.path("batch.jsonl");
    std::fs::write(&path, bytes).expect("write batch");
    let path = path.to_string_lossy().to_string();
    let input = if stdin { "-" } else { path.as_str() };
    let mut args = vec!["ingest", input, "--json"];
    args.extend_from_slice(extra);
    let mut cmd = env.test().at(60).args(&args).command();
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut pipe = child.stdin.take().expect("stdin");
    if stdin {
        // A reader that stops early may close the pipe: not a failure here.
        let _ = pipe.write_all(bytes);
    }
    drop(pipe);
    let r = Run::wait(child);
    r.no_panic();
    r
}

#[test]
fn a_line_that_is_not_utf8_is_skipped_alone_and_a_bom_is_fine() {
    for stdin in [false, true] {
        let env = Env::init(CONFIG);
        let mut batch = b"\xEF\xBB\xBF".to_vec();
        batch.extend_from_slice(CREATED.as_bytes());
        // Latin-1 (as a Windows export writes it), a lone continuation
        // byte, a truncated sequence at the very end.
        for bad in [&b"caf\xE9"[..], b"\x80", b"\xE2\x82"] {
            batch.extend_from_slice(
                b"\r\n{\"type\":\"ticket.created\",\"source\":\"s\",\"external_id\":\"",
            );
            batch.extend_from_slice(bad);
            batch.extend_from_slice(b"\",\"title\":\"t\"}");
        }
        batch.extend_from_slice(
            b"\n{\"type\":\"ticket.created\",\"source\":\"s\",\"external_id\":\"5\",\"title\":\"caf\xC3\xA9\"}\n",
        );
        let r = ingest_bytes(&env, &batch, stdin, &[]).code(3);
        let name = if stdin { "stdin" } else { "batch.jsonl" };
        for line in 2..=4 {
            assert!(
                r.stderr.contains(&format!("{name}:{line}: not UTF-8")),
                "{r:?}"
            );
        }
        let v = r.json();
        assert_eq!(
            (&v["created"], &v["skipped"]),
            (&Value::from(2), &Value::from(3)),
            "{v}"
        );
        assert_eq!(env.show(2)["title"], "café");

        // --strict refuses the batch as for any malformed line.
        let env = Env::init(CONFIG);
        let r = ingest_bytes(&env, &batch, stdin, &["--strict"]).code(2);
        assert!(r.stderr.contains(&format!("{name}:2: not UTF-8")), "{r:?}");
        assert!(all_issues(&env).is_empty());
    }
}

#[test]
fn an_overlong_line_is_skipped_and_endless_input_refused() {
    let env = Env::init(CONFIG);
    let long = format!(
        r#"{{"type":"ticket.created","source":"s","external_id":"9","title":"t","description":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let ok = r#"{"type":"ticket.created","source":"s","external_id":"8","title":"t"}"#;
    // Just under the bound is kept; over it, with or without a newline at
    // the end of the input, is skipped.
    let under = format!(
        r#"{{"type":"ticket.created","source":"s","external_id":"7","title":"t","description":"{}"}}"#,
        "y".repeat((1 << 20) - 100)
    );
    for stdin in [false, true] {
        let batch = format!("{long}\n{ok}\n{under}\n{long}");
        let r = ingest_bytes(&env, batch.as_bytes(), stdin, &[]).code(3);
        let name = if stdin { "stdin" } else { "batch.jsonl" };
        assert!(
            r.stderr.contains(&format!("{name}:1: longer than 1 MiB")),
            "{r:?}"
        );
        assert!(
            r.stderr.contains(&format!("{name}:4: longer than 1 MiB")),
            "{r:?}"
        );
        assert_eq!(r.json()["skipped"], 2, "{r:?}");
    }
    assert_eq!(all_issues(&env).len(), 2);

    // A device with no end is read as a stream and refused at the bound.
    #[cfg(unix)]
    {
        let r = env.at(60, &["ingest", "/dev/zero"]).code(2);
        assert!(r.stderr.contains("more than 256 MiB of input"), "{r:?}");
        assert_eq!(all_issues(&env).len(), 2);
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_as_a_stream() {
    use std::io::Write;
    let env = Env::init(CONFIG);
    let fifo = env.path("events.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success());
    if made.ok() != Some(true) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let fifo_arg = fifo.to_string_lossy().to_string();
    let child = env
        .test()
        .at(60)
        .args(["ingest", fifo_arg.as_str(), "--json"])
        .spawn();
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open fifo");
    for i in 0..3 {
        let line = CREATED.replace("4821", &format!("f{i}"));
        writeln!(w, "{line}").expect("write fifo");
    }
    drop(w);
    let r = Run::wait(child).ok();
    assert_eq!(r.json()["created"], 3, "{r:?}");
}

#[test]
fn only_a_new_issue_needs_a_title_and_a_chat_without_one_is_named_for_it() {
    let env = Env::init(CONFIG);
    let lines = [
        // An Intercom chat: no subject, an HTML body.
        r#"{"type":"ticket.created","source":"intercom","external_id":"123","title":"","description":"<p>Hi, my card was charged <b>twice</b> for the same order &amp; nobody answers</p><p>Order 77</p>"}"#,
        // Updates, repeats and resolves of existing tickets need none.
        r#"{"type":"ticket.updated","source":"intercom","external_id":"123","title":"  ","tags":["billing"]}"#,
        CREATED,
        r#"{"type":"ticket.created","source":"zendesk","external_id":"4821","title":"","priority":"high"}"#,
        r#"{"type":"ticket.resolved","source":"zendesk","external_id":"4821","title":"","note":"<p>refunded<br>and closed</p>"}"#,
        // A new issue with nothing to name it by is reported.
        r#"{"type":"ticket.created","source":"intercom","external_id":"124","description":"<img src=\"x.png\">"}"#,
        r#"{"type":"ticket.created","source":"intercom","external_id":"125"}"#,
    ];
    let r = ingest(&env, 60, &lines, &[]).code(3);
    for line in [6, 7] {
        assert!(
            r.stderr
                .contains(&format!("batch.jsonl:{line}: intercom ticket 12")),
            "{r:?}"
        );
    }
    assert!(r.stderr.contains("needs a `title`"), "{r:?}");
    let v = r.json();
    assert_eq!(
        (
            &v["created"],
            &v["updated"],
            &v["deduplicated"],
            &v["resolved"],
            &v["skipped"]
        ),
        (
            &Value::from(2),
            &Value::from(1),
            &Value::from(1),
            &Value::from(1),
            &Value::from(2)
        ),
        "{v}"
    );
    let chat = env.show(1);
    assert_eq!(
        chat["title"],
        "intercom #123: Hi, my card was charged twice for the…"
    );
    assert_eq!(
        chat["description"],
        "Hi, my card was charged twice for the same order & nobody answers\nOrder 77"
    );
    assert_eq!(chat["tags"], serde_json::json!(["billing"]));
    let zendesk = env.show(2);
    assert_eq!(zendesk["title"], "Refund stuck for ACME", "kept");
    assert_eq!(zendesk["priority"], "high");
    assert_eq!(zendesk["status"], "resolved");
    let note = zendesk["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "resolved")
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(note.contains(r"refunded\nand closed"), "{note}");
}

/// The README's `jq -c '…'` filter whose text contains `marker`.
fn readme_jq(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    readme
        .split("jq -c '")
        .skip(1)
        .filter_map(|rest| rest.split_once("' \\").map(|(filter, _)| filter))
        .find(|filter| filter.contains(marker))
        .unwrap_or_else(|| panic!("no jq mapping with {marker} in the README"))
        .to_string()
}

/// `jq -c FILTER` over fixture deliveries, in order: its output lines.
fn jq(filter: &str, fixtures: &[&str]) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let out = std::process::Command::new("jq")
        .arg("-c")
        .arg(filter)
        .args(fixtures.iter().map(|f| format!("{dir}{f}")))
        .output()
        .expect("run jq");
    assert!(
        out.status.success(),
        "jq failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("jq writes UTF-8")
}

#[test]
fn readme_jq_mappings_work_on_vendor_payloads() {
    let has_jq = std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_jq {
        eprintln!("skipped: jq is not installed (.ci/run installs it)");
        return;
    }
    let zendesk = jq(
        &readme_jq(r#"source: "zendesk""#),
        &[
            "zendesk/ticket-created.json",
            "zendesk/ticket-no-subject.json",
            "zendesk/ticket-solved.json",
        ],
    );
    let intercom = jq(
        &readme_jq(r#"source: "intercom""#),
        &[
            "intercom/conversation-user-created.json",
            "intercom/conversation-user-created-subject.json",
            "intercom/conversation-admin-closed.json",
        ],
    );
    let env = Env::init(CONFIG);
    for (n, lines) in [zendesk, intercom].iter().enumerate() {
        let r = ingest_bytes(&env, lines.as_bytes(), true, &[]);
        assert_eq!(r.code, 0, "mapping {n}: {lines}\n{r:?}");
        let v = r.json();
        assert_eq!(
            (&v["created"], &v["resolved"]),
            (&Value::from(2), &Value::from(1)),
            "{v}"
        );
    }

    // Zendesk: `Urgent` routes as urgent, `Solved` resolves, an empty
    // subject is named from the description, times lack seconds.
    let refund = env.show(1);
    assert_eq!(refund["title"], "Refund API down for EU customers");
    assert_eq!(
        (&refund["route"], &refund["priority"]),
        (&Value::from("outages"), &Value::from("urgent"))
    );
    assert_eq!(refund["tags"], serde_json::json!(["outage", "vip"]));
    assert_eq!(refund["created_at"], "2026-11-02T09:00:00Z");
    assert_eq!(refund["resolved_at"], "2026-11-02T09:30:00Z");
    let invoice = env.show(2);
    assert_eq!(
        invoice["title"],
        "zendesk #4822: My invoice shows the wrong amount since the…"
    );
    assert_eq!(
        (&invoice["route"], &invoice["priority"]),
        (&Value::from("default"), &Value::Null)
    );
    assert_eq!(invoice["tags"], serde_json::json!([]));

    // Intercom: a chat without a subject, an HTML body, Unix times.
    let chat = env.show(3);
    assert_eq!(
        chat["title"],
        "intercom #123: Hi, my card was charged twice for the…"
    );
    assert_eq!(
        chat["description"],
        "Hi, my card was charged twice for the same order & nobody answers.\nOrder 77"
    );
    assert_eq!(chat["created_at"], "2026-11-02T09:10:00Z");
    assert_eq!(chat["resolved_at"], "2026-11-02T10:00:00Z");
    assert_eq!(chat["tags"], serde_json::json!(["billing"]));
    let email = env.show(4);
    assert_eq!(email["title"], "Cannot export reports");
    assert_eq!(
        email["description"],
        "The export button spins forever.\nTried two browsers."
    );
    assert_eq!(email["status"], "open");
}

/// A helpdesk's resolution that arrives after an escalation it preceded
/// (a late webhook) is recorded no earlier than that escalation: the
/// level history stays in time order, and the report counts the issue
/// resolved at the level it had reached.
#[test]
fn a_late_resolution_is_not_recorded_before_the_escalation_it_missed() {
    let env = Env::init(CONFIG);
    let outage = r#"{"type":"ticket.created","source":"pd","external_id":"9","title":"DB down","priority":"urgent","tags":["outage"],"at":"2026-11-02T09:00:00Z"}"#;
    ingest(&env, 0, &[outage], &[]).ok();
    // The 15-minute wait ends at 09:15: level 2 is paged at 09:20.
    env.at(20, &["check"]).ok();
    // Solved at 09:10 says the helpdesk, but the webhook arrives at 09:30.
    let solved =
        r#"{"type":"ticket.resolved","source":"pd","external_id":"9","at":"2026-11-02T09:10:00Z"}"#;
    ingest(&env, 30, &[solved], &[]).ok();
    let id = all_issues(&env)[0]["id"].as_i64().expect("id").to_string();
    let shown = env.run(&["show", &id, "--json"]).ok().json();
    let events = shown["events"].as_array().expect("events");
    let at = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind)
            .and_then(|e| e["at"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(at("resolved") >= at("escalated"), "{events:?}");
    let report = env
        .at(24 * 60, &["report", "--days", "1", "--format", "json"])
        .ok()
        .json();
    // Level 2 had it from 09:20, when the resolution is recorded too.
    let l2 = report["chains"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["chain"] == "outage"))
        .and_then(|c| c["levels"].as_array())
        .and_then(|l| l.iter().find(|l| l["level"] == 2))
        .cloned()
        .unwrap_or_default();
    assert_eq!(l2["resolved"], 1, "{l2}");
    assert_eq!(l2["stay"]["median_seconds"], 0, "{l2}");
    assert_eq!(at("resolved"), "2026-11-02T09:20:00Z");
}
