//! The smaller things users hit (issue 14): `--json` on every command,
//! completions and a man page, examples in `--help`, timeline order,
//! truncation notes, absurd numbers and times, back-dated writes.

use crate::support::*;

/// A config with an ack timeout (for lapse re-pages) and one route.
const ROUTED: &str = r#"
[chains.c]
levels = [
  { level = 1, role = "agent", wait_hours = 1 },
  { level = 2, role = "lead", wait_hours = 1 },
]
ack_timeout_hours = 1

[roles.agent]
[roles.lead]

[[routes]]
name = "billing"
tags = ["billing"]
chain = "c"
"#;

#[test]
fn person_actions_answer_in_json_with_one_shape() {
    let env = Env::new();
    let id = env.create(0, "customer_issue", "Login broken");
    let id = id.to_string();
    let keys = [
        "id",
        "action",
        "status",
        "owner",
        "level",
        "by",
        "at",
        "escalation_resumes_at",
        "note",
    ];
    let steps: [(&[&str], &str, &str); 4] = [
        (
            &["ack", &id, "--by", "ann", "--json"],
            "acknowledged",
            "acknowledged",
        ),
        (
            &["assign", &id, "--to", "bob", "--by", "ann", "--json"],
            "assigned",
            "acknowledged",
        ),
        (
            &["resolve", &id, "--by", "bob", "--note", "fixed", "--json"],
            "resolved",
            "resolved",
        ),
        (
            &["reopen", &id, "--by", "bob", "--json"],
            "reopened",
            "open",
        ),
    ];
    for (i, (args, action, status)) in steps.into_iter().enumerate() {
        let run = env.at(10 + i as i64, args).ok();
        let v = run.json();
        let obj = v.as_object().expect("an object");
        for k in keys {
            assert!(obj.contains_key(k), "{action}: no `{k}` in {v}");
        }
        assert_eq!(obj.len(), keys.len(), "{action}: stable keys: {v}");
        assert_eq!(v["action"], *action);
        assert_eq!(v["status"], *status);
        assert_eq!(v["id"], id.parse::<i64>().expect("id"));
    }
}

#[test]
fn config_route_and_notify_tests_answer_in_json() {
    let env = Env::init(ROUTED);
    let v = env.run(&["config", "check", "--json"]).ok().json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["chains"][0]["name"], "c");
    assert_eq!(v["chains"][0]["levels"][1]["reached_after_seconds"], 3600);
    assert_eq!(v["chains"][0]["ack_timeout_seconds"], 3600);

    let v = env
        .run(&["route", "test", "--tag", "billing", "--json"])
        .ok()
        .json();
    assert_eq!(v["matched"], true, "{v}");
    assert_eq!(v["chain"], "c");
    assert_eq!(v["checked"][0]["name"], "billing");
    let miss = env.run(&["route", "test", "--json"]).code(4);
    let v = miss.json();
    assert_eq!(v["matched"], false, "{v}");
    assert!(v["checked"][0]["reason"].as_str().is_some(), "{v}");

    // console contacts print their message on stderr: stdout stays JSON
    let v = env.run(&["notify", "test", "agent", "--json"]).ok().json();
    assert_eq!(v["role"], "agent");
    assert_eq!(v["failed"], 0);
    assert_eq!(v["results"][0]["channel"], "console");
    assert_eq!(v["results"][0]["ok"], true);
}

#[test]
fn completions_and_man_page() {
    let run = Test::new().args(["completions", "bash"]).run();
    for sub in ["escalate", "check", "outbox", "completions"] {
        assert!(run.stdout.contains(sub), "bash completion lacks {sub}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let r = Test::new().args(["completions", shell]).run();
        assert!(r.stdout.contains("escalate"), "{shell}");
    }
    Test::new()
        .args(["completions", "tcsh"])
        .code(2)
        .stderr_has("invalid value")
        .run();
    let man = Test::new().args(["man"]).run();
    assert!(
        man.stdout.starts_with(".TH"),
        "{}",
        &man.stdout[..40.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("escalate"));
}

#[test]
fn every_subcommand_help_has_examples() {
    let subcommands: &[&[&str]] = &[
        &["init"],
        &["create"],
        &["ack"],
        &["assign"],
        &["resolve"],
        &["reopen"],
        &["check"],
        &["list"],
        &["show"],
        &["report"],
        &["config"],
        &["config", "check"],
        &["demo"],
        &["notify"],
        &["notify", "test"],
        &["outbox"],
        &["outbox", "retry"],
        &["status"],
        &["ingest"],
        &["route"],
        &["route", "test"],
        &["events"],
        &["digest"],
        &["completions"],
        &["man"],
    ];
    for sub in subcommands {
        for flag in ["-h", "--help"] {
            let mut args: Vec<&str> = sub.to_vec();
            args.push(flag);
            let run = Test::new().no_db().args(args).run();
            assert!(
                run.stdout.contains("Examples:\n  escalate"),
                "{sub:?} {flag}: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn show_orders_the_timeline_by_time_then_id() {
    let env = Env::new();
    // An ingested resolve carries its helpdesk's (earlier) time: written
    // after the check's escalation, it happened before it.
    let created = r#"{"type": "ticket.created", "source": "zd", "external_id": "1", "title": "t", "chain": "customer_issue", "at": "2026-11-02T09:00:00Z"}"#;
    let input = env.path("in.jsonl");
    std::fs::write(&input, format!("{created}\n")).expect("write");
    env.at(0, &["ingest", input.to_str().expect("utf-8")]).ok();
    env.at("+5h", &["check"]).ok();
    let update = r#"{"type": "ticket.updated", "source": "zd", "external_id": "1", "priority": "high", "at": "2026-11-02T10:00:00Z"}"#;
    std::fs::write(&input, format!("{update}\n")).expect("write");
    env.at("+6h", &["ingest", input.to_str().expect("utf-8")])
        .ok();
    let events = env.events(1);
    let times: Vec<String> = events
        .iter()
        .map(|e| e["at"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "timeline by time: {events:?}");
    assert!(events.len() >= 3, "{events:?}");
    // the text form lists the same order
    let text = env.at("+6h", &["show", "1"]).ok().stdout;
    let timeline = text.split("Timeline:").nth(1).expect("a timeline");
    // A priority change is its own event (`priority_changed`).
    let updated = timeline
        .find("priority none → high")
        .expect("a priority line");
    let escalated = timeline.find(" escalated ").expect("an escalation line");
    assert!(updated < escalated, "{text}");
}

#[test]
fn outbox_says_how_many_it_left_out() {
    let env = Env::new();
    for i in 0..3 {
        env.create(0, "customer_issue", &format!("issue {i}"));
    }
    let all = env.run(&["outbox", "--status", "all", "--limit", "0"]).ok();
    let total = all.stdout.lines().count() - 1;
    assert!(total >= 3, "{}", all.stdout);
    let run = env.run(&["outbox", "--status", "all", "--limit", "2"]).ok();
    assert!(
        run.stderr
            .contains(&format!("showing 2 of {total} deliveries")),
        "{run:?}"
    );
    let run = env
        .run(&["outbox", "--status", "all", "--limit", "2", "--json"])
        .ok();
    assert_eq!(run.json().as_array().map(Vec::len), Some(2));
    assert!(run.stderr.contains("showing 2 of"), "{run:?}");
    let quiet = env.run(&["outbox", "--status", "all", "--limit", "0"]).ok();
    assert!(!quiet.stderr.contains("showing"), "{quiet:?}");
}

#[test]
fn absurd_numbers_are_one_line_usage_errors() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["list", "--limit", "99999999999999999999"], "row count"),
        (&["outbox", "--limit", "99999999999999999999"], "row count"),
        (&["events", "--limit", "99999999999999999999"], "row count"),
        (&["list", "--limit=-1"], "row count"),
        (&["status", "--max-age", "1e300"], "minutes"),
        (&["status", "--max-age", "inf"], "minutes"),
        (&["status", "--max-age", "NaN"], "minutes"),
        (&["--busy-timeout", "1e300", "list"], "busy-timeout"),
        (&["report", "--days", "99999999999"], "99999999999"),
        (&["events", "--interval", "1e300"], "seconds"),
    ];
    for (args, fragment) in cases {
        let run = env.run(args).code(2);
        assert!(run.stderr.contains(fragment), "{args:?}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:?}");
        assert!(
            !run.stderr.contains("0000000000000000000000000000"),
            "{args:?}: a 300-digit number: {run:?}"
        );
        let lines = run
            .stderr
            .lines()
            .filter(|l| l.contains("error") || l.contains("escalate:"))
            .count();
        assert!(lines >= 1, "{args:?}: {run:?}");
    }
}

#[test]
fn times_outside_rfc3339_are_refused_at_input() {
    let env = Env::new();
    for now in [
        "+10000-01-01T00:00:00Z",
        "9999-12-31T23:00:00Z",
        "0000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
    ] {
        env.run(&[&format!("--now={now}"), "list"])
            .code(2)
            .one_line_error("--now");
    }
    env.run(&["report", "--since", "9999-01-01", "--until", "9999-12-31"])
        .code(2)
        .one_line_error("9899");
    // the last accepted year still prints as RFC 3339
    let ok = env.run(&["--now", "9899-06-01T00:00:00Z", "list"]).ok();
    assert!(!ok.stdout.contains("+1"), "{ok:?}");
}

#[test]
fn person_writes_dated_before_the_last_event_are_refused() {
    let env = Env::new();
    let id = env.create(0, "customer_issue", "Login broken").to_string();
    env.at("+5h", &["check"]).ok(); // escalated at +5h
    let before = env.events(1).len();
    for args in [
        vec!["ack", &id, "--by", "ann"],
        vec!["assign", &id, "--to", "bob"],
        vec!["resolve", &id],
    ] {
        env.at("+2h", &args).code(4).one_line_error("before that");
    }
    assert_eq!(env.events(1).len(), before, "nothing written");
    env.at("+5h", &["resolve", &id]).ok(); // the same instant is fine
    env.at("+4h", &["reopen", &id])
        .code(4)
        .one_line_error("before that");
    env.at("+6h", &["reopen", &id]).ok();
}

#[test]
fn an_ack_lapse_repage_is_not_called_an_escalation() {
    let env = Env::init(ROUTED);
    let id = env.create(0, "c", "Login broken").to_string();
    env.at(10, &["ack", &id, "--by", "ann"]).ok();
    // the ack lapses at +70m: level 1 is paged again, nothing escalates
    let run = env.at(75, &["check", "--dry-run"]).ok();
    assert!(
        run.stdout
            .contains("would re-notify level 1 (the acknowledgement lapsed)"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("would escalate"), "{run:?}");
    // a real escalation keeps its name
    let run = env.at(200, &["check", "--dry-run"]).ok();
    assert!(run.stdout.contains("would escalate to level 2"), "{run:?}");
}

#[test]
fn an_ack_lapse_repage_is_delivered_as_an_ack_lapse() {
    let env = Env::init(ROUTED);
    let id = env.create(0, "c", "Login broken").to_string();
    env.at(10, &["ack", &id, "--by", "ann"]).ok();
    // the ack lapses at +70m: the message re-notifies level 1
    let run = env.at(75, &["check"]).ok();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(&format!(
            "[ACK LAPSED: re-notifying level 1] Issue #{id}: 'Login broken' -> agent"
        )),
        "{run:?}"
    );
    assert!(!all.contains("ESCALATION"), "{run:?}");
    // a real escalation keeps its name
    let run = env.at(200, &["check"]).ok();
    assert_eq!(
        pages(&run.stdout),
        vec![(id.parse().unwrap(), 2)],
        "{run:?}"
    );
}

/// Three levels, an hour apart; [`TWO_LEVELS`] is the same chain shortened.
const THREE_LEVELS: &str = r#"
[chains.c]
levels = [
  { level = 1, role = "agent", wait_hours = 1 },
  { level = 2, role = "lead", wait_hours = 1 },
  { level = 3, role = "head", wait_hours = 1 },
]

[roles.agent]
[roles.lead]
[roles.head]
"#;

const TWO_LEVELS: &str = r#"
[chains.c]
levels = [
  { level = 1, role = "agent", wait_hours = 1 },
  { level = 2, role = "lead", wait_hours = 1 },
]

[roles.agent]
[roles.lead]
[roles.head]
"#;

#[test]
fn a_shortened_chain_tells_the_new_top_level_once() {
    let env = Env::init(THREE_LEVELS);
    let id = env.create(0, "c", "Login broken");
    let run = env.at(130, &["check"]).ok();
    assert_eq!(pages(&run.stdout), vec![(id, 2), (id, 3)], "{run:?}");
    env.write_config(TWO_LEVELS);
    let run = env.at(135, &["check"]).ok();
    let told: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("[CHAIN SHORTENED"))
        .collect();
    assert_eq!(told.len(), 1, "{run:?}");
    assert!(
        told[0].starts_with(&format!(
            "[CHAIN SHORTENED: level 2 is now the top level] Issue #{id}: 'Login broken' -> lead"
        )),
        "{run:?}"
    );
    assert!(pages(&run.stdout).is_empty(), "{run:?}");
    assert_eq!(env.show(id)["owner"], "lead");
    // the cap is told once
    let run = env.at(140, &["check"]).ok();
    assert!(!run.stdout.contains("CHAIN SHORTENED"), "{run:?}");
    let run = env.at(600, &["check"]).ok();
    assert!(!run.stdout.contains("CHAIN SHORTENED"), "{run:?}");
}
