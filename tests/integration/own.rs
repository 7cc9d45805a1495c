//! The ownership commands through the real binary: `escalate escalate`
//! pages a level now and re-anchors the schedule, `note` adds to the
//! timeline, `unack` resumes escalation as if never acked, `move` re-routes
//! to another chain; each writes its audit event (shown by `show`, streamed
//! by `events`), its pages go through the outbox, and every refusal is one
//! line with its documented exit code and changes nothing.

use serde_json::Value;

use crate::support::*;

/// `support` walks agent → lead → manager (1 h, 2 h, then the manager is
/// re-paged once 4 h later); `outage` is fast, its acks lapse after 1 h,
/// and urgent issues get a 15-minute response target there.
const CONFIG: &str = r#"
[chains.support]
response_hours = 8
resolution_hours = 72
repeat = 1
levels = [
  { role = "agent", wait_hours = 1 },
  { role = "lead", wait_hours = 2 },
  { role = "manager", wait_hours = 4 },
]

[chains.outage]
response_hours = 1
resolution_hours = 4
ack_timeout_hours = 1
levels = [
  { role = "oncall", wait_hours = 0.25 },
  { role = "cto", wait_hours = 1 },
]

[[chains.outage.sla]]
priority = ["urgent"]
response_hours = 0.25
resolution_hours = 2

[roles.agent]
[roles.lead]
[roles.manager]
[roles.oncall]
[roles.cto]
"#;

fn file(env: &Env, when: i64, chain: &str, priority: Option<&str>) -> String {
    let mut args = vec!["create", "--chain", chain, "--title", "Export fails"];
    if let Some(p) = priority {
        args.extend(["--priority", p]);
    }
    let r = env.test().at(when).args(args).run();
    r.stdout.trim().to_string()
}

fn show(env: &Env, id: &str) -> Value {
    env.run(&["show", id, "--json"]).ok().json()
}

fn last_event(env: &Env, id: &str) -> Value {
    let events = show(env, id)["events"].as_array().expect("events").clone();
    events.last().expect("an event").clone()
}

fn kinds(env: &Env, id: &str) -> Vec<String> {
    show(env, id)["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Pending outbox rows as (issue, level, role).
fn pending(env: &Env) -> Vec<(i64, u64, String)> {
    let mut rows: Vec<(i64, u64, String)> = env
        .outbox("pending")
        .iter()
        .map(|r| {
            (
                r["issue_id"].as_i64().unwrap_or(0),
                r["level"].as_u64().unwrap_or(0),
                r["role"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(issue: i64, level: u64, role: &str) -> (i64, u64, String) {
    (issue, level, role.to_string())
}

#[test]
fn escalate_pages_the_next_level_now_and_re_anchors_the_schedule() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    assert_eq!(pending(&env), vec![], "create delivers level 1 itself");
    let r = env
        .at(
            20,
            &["escalate", &id, "--by", "alice", "--reason", "key account"],
        )
        .ok();
    assert_eq!(
        r.stdout.trim(),
        format!(
            "issue #{id} escalated: level 2 (lead) paged by alice; next due {}",
            at_minutes(140)
        )
    );
    let s = show(&env, &id);
    assert_eq!(
        (s["level"].clone(), s["owner"].clone()),
        (2.into(), "lead".into())
    );
    assert_eq!(s["owner_kind"], "role");
    assert_eq!(s["max_level"], 2);
    // Re-anchored: the lead's 2 h wait counts from the manual page.
    assert_eq!(s["next_escalation_at"], at_minutes(140));
    let e = last_event(&env, &id);
    assert_eq!(e["kind"], "escalated");
    assert_eq!(e["actor"], "alice");
    assert_eq!(e["level"], 2);
    assert_eq!(e["at"], at_minutes(20));
    assert_eq!(e["details"]["manual"], true);
    assert_eq!(e["details"]["reason"], "key account");
    assert_eq!(e["details"]["epoch"], 1);
    assert_eq!(e["details"]["owner_from"], "agent");
    assert_eq!(e["details"]["owner_to"], "lead");
    assert_eq!(pending(&env), vec![row(1, 2, "lead")]);
    let text = env.at(25, &["show", &id]).ok().stdout;
    assert!(
        text.contains("escalated to lead by alice: key account"),
        "{text}"
    );
    // Streamed by `events` like any escalation.
    let stream = env.run(&["events", "--kind", "escalated"]).ok().stdout;
    let streamed: Vec<Value> = stream
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(streamed.len(), 1, "{stream}");
    assert_eq!(streamed[0]["actor"], "alice");
    // The schedule goes on from there: nothing at 139 min, the manager at 140.
    env.at(139, &["check"]).ok();
    assert_eq!(show(&env, &id)["level"], 2);
    env.at(140, &["check"]).ok();
    let s = show(&env, &id);
    assert_eq!(
        (s["level"].clone(), s["owner"].clone()),
        (3.into(), "manager".into())
    );
    // The report counts it as an escalation (someone above level 1 was
    // pulled in), once per issue.
    let since = at_minutes(0);
    let until = at_minutes(300);
    let report = env
        .at(
            300,
            &[
                "report", "--since", &since, "--until", &until, "--format", "json",
            ],
        )
        .ok()
        .json();
    let support = report["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["chain"] == "support")
        .cloned()
        .expect("support row");
    assert_eq!(support["escalated"], 1, "{support:#}");
}

#[test]
fn escalate_to_a_level_skips_the_ones_between_and_clears_an_ack() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    env.at(10, &["ack", &id, "--by", "bob"]).ok();
    let v = env
        .at(
            20,
            &["escalate", &id, "--level", "3", "--by", "bob", "--json"],
        )
        .ok()
        .json();
    assert_eq!(v["action"], "escalated");
    assert_eq!(v["status"], "open");
    assert_eq!(
        (v["level"].clone(), v["owner"].clone()),
        (3.into(), "manager".into())
    );
    assert_eq!(v["by"], "bob");
    let s = show(&env, &id);
    assert_eq!(s["acked_by"], Value::Null);
    assert_eq!(s["acked_at"], Value::Null);
    // The ack met the response target; handing the issue up does not un-meet it.
    assert_eq!(s["sla"]["response"]["state"], "met");
    // The top level's one repeat, 4 h after the manual page.
    assert_eq!(s["next_escalation_at"], at_minutes(260));
    assert_eq!(pending(&env), vec![row(1, 3, "manager")]);
    assert_eq!(
        kinds(&env, &id),
        [
            "created",
            "notified",
            "sla_met",
            "acknowledged",
            "escalated"
        ]
    );
}

#[test]
fn an_overdue_issue_takes_its_owed_steps_before_the_manual_one() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    // Level 2 came due at 60 min and no check ran.
    env.at(70, &["escalate", &id, "--by", "alice"]).ok();
    let events = show(&env, &id)["events"]
        .as_array()
        .expect("events")
        .clone();
    let escalations: Vec<(Value, Value, Value)> = events
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .map(|e| {
            (
                e["level"].clone(),
                e["actor"].clone(),
                e["details"]["due_at"].clone(),
            )
        })
        .collect();
    assert_eq!(
        escalations,
        vec![
            (2.into(), "escalate".into(), at_minutes(60).into()),
            (3.into(), "alice".into(), at_minutes(70).into()),
        ]
    );
    assert_eq!(pending(&env), vec![row(1, 2, "lead"), row(1, 3, "manager")]);
}

#[test]
fn escalate_at_the_top_pages_it_again_and_wrong_levels_are_refused() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    env.at(10, &["escalate", &id, "--level", "3", "--by", "a"])
        .ok();
    env.at(20, &["escalate", &id, "--by", "a"])
        .code(4)
        .one_line_error("issue #1 is at the top level (3) of chain `support`: there is no next level (give --level 3 to page it again)");
    env.at(20, &["escalate", &id, "--level", "2", "--by", "a"])
        .code(4)
        .one_line_error("issue #1 is at level 3; --level 2 is below it");
    env.at(20, &["escalate", &id, "--level", "4", "--by", "a"])
        .code(2)
        .one_line_error("--level 4 is not a level of chain `support` (levels 1 to 3)");
    env.at(20, &["escalate", &id, "--level", "0", "--by", "a"])
        .code(2)
        .one_line_error("--level 0 is not a level of chain `support`");
    // The top again: a new epoch, its repeat counted from now.
    env.at(30, &["escalate", &id, "--level", "3", "--by", "a"])
        .ok();
    let s = show(&env, &id);
    assert_eq!(s["next_escalation_at"], at_minutes(270));
    assert_eq!(
        pending(&env),
        vec![row(1, 3, "manager"), row(1, 3, "manager")],
        "one page per manual escalation"
    );

    let other = file(&env, 40, "support", None);
    let before = kinds(&env, &other);
    env.at(41, &["escalate", &other, "--level", "1", "--by", "a"])
        .code(4)
        .one_line_error(
            "issue #2 is already at level 1; give a higher --level (up to 3) or none for level 2",
        );
    env.at(39, &["escalate", &other, "--by", "a"])
        .code(4)
        .one_line_error("issue #2 changed last at");
    env.at(41, &["escalate", "99", "--by", "a"])
        .code(4)
        .one_line_error("issue #99 does not exist");
    env.at(41, &["escalate", &other, "--by", " "])
        .code(2)
        .one_line_error("invalid name");
    env.at(
        41,
        &["escalate", &other, "--by", "a", "--reason", "\u{202e}x"],
    )
    .code(2)
    .one_line_error("bidirectional control");
    env.at(42, &["pause", &other, "--by", "a"]).ok();
    env.at(43, &["escalate", &other, "--by", "a"])
        .code(4)
        .one_line_error("issue #2 is paused; resume it (`escalate resume 2`) before escalating");
    env.at(44, &["resolve", &other, "--by", "a"]).ok();
    env.at(45, &["escalate", &other, "--by", "a"])
        .code(4)
        .one_line_error("issue #2 is resolved; reopen it before escalating");
    let after = kinds(&env, &other);
    assert_eq!(after[..before.len()], before[..]);
    assert!(!after.contains(&"escalated".to_string()), "{after:?}");
}

#[test]
fn a_note_goes_into_the_timeline_of_any_issue() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    let r = env
        .at(
            5,
            &[
                "note",
                &id,
                "--by",
                "alice",
                "  asked the customer for logs ",
            ],
        )
        .ok();
    assert_eq!(r.stdout.trim(), "issue #1: note by alice added");
    let e = last_event(&env, &id);
    assert_eq!(e["kind"], "noted");
    assert_eq!(e["actor"], "alice");
    assert_eq!(e["level"], 1);
    assert_eq!(
        e["details"],
        serde_json::json!({"text": "asked the customer for logs"})
    );
    assert!(env
        .at(6, &["show", &id])
        .ok()
        .stdout
        .contains("note by alice: asked the customer for logs"));
    // Nothing else changes: no page, same owner and schedule.
    assert_eq!(pending(&env), vec![]);
    assert_eq!(show(&env, &id)["next_escalation_at"], at_minutes(60));
    // Resolved issues take notes too (a post-mortem remark).
    env.at(10, &["resolve", &id, "--by", "alice"]).ok();
    let v = env
        .at(
            20,
            &[
                "note",
                &id,
                "--by",
                "bob",
                "root cause: expired cert",
                "--json",
            ],
        )
        .ok()
        .json();
    assert_eq!(v["action"], "noted");
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["note"], "root cause: expired cert");
    let stream = env.run(&["events", "--kind", "noted"]).ok().stdout;
    assert_eq!(stream.lines().count(), 2, "{stream}");

    let before = kinds(&env, &id);
    env.at(30, &["note", &id, "--by", "bob", "   "])
        .code(2)
        .one_line_error("a note must not be empty");
    let long = "x".repeat(2001);
    env.at(30, &["note", &id, "--by", "bob", &long])
        .code(2)
        .one_line_error("the note is at most 2000 characters");
    env.at(30, &["note", &id, "--by", "bob", "abc\u{2066}def"])
        .code(2)
        .one_line_error("the note contains the bidirectional control U+2066");
    env.at(30, &["note", &id, "--by", "bob", "\u{200b}\u{200b}"])
        .code(2)
        .one_line_error("the note has no visible characters");
    env.at(30, &["note", "99", "--by", "bob", "hi"])
        .code(4)
        .one_line_error("issue #99 does not exist");
    env.at(15, &["note", &id, "--by", "bob", "hi"])
        .code(4)
        .one_line_error("issue #1 changed last at");
    assert_eq!(kinds(&env, &id), before);
}

#[test]
fn unack_resumes_escalation_as_if_never_acked() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    env.at(30, &["ack", &id, "--by", "bob"]).ok();
    // Level 2 (60 min) and level 3 (180 min) came due while bob held it.
    let r = env.at(200, &["unack", &id, "--by", "alice"]).ok();
    assert_eq!(
        r.stdout.trim(),
        "issue #1 acknowledgement withdrawn by alice; owner back to agent; escalation \
         resumes: something is due now (the next check takes it)"
    );
    let s = show(&env, &id);
    assert_eq!(s["status"], "open");
    assert_eq!(
        (s["owner"].clone(), s["owner_kind"].clone()),
        ("agent".into(), "role".into())
    );
    assert_eq!(s["acked_by"], Value::Null);
    assert_eq!(s["acked_at"], Value::Null);
    assert_eq!(s["next_escalation_at"], at_minutes(60));
    // The response target was met by the ack and stays met.
    assert_eq!(s["sla"]["response"]["state"], "met");
    let e = last_event(&env, &id);
    assert_eq!(e["kind"], "unacknowledged");
    assert_eq!(e["actor"], "alice");
    assert_eq!(
        e["details"],
        serde_json::json!({"acked_by": "bob", "owner_from": "bob", "owner_to": "agent",
            "next_due_at": at_minutes(60)})
    );
    assert!(env
        .at(200, &["show", &id])
        .ok()
        .stdout
        .contains("acknowledgement by bob withdrawn by alice; owner back to agent"));
    // The next check pages both owed levels at their own due times.
    env.at(201, &["check"]).ok();
    let events = show(&env, &id)["events"]
        .as_array()
        .expect("events")
        .clone();
    let paged: Vec<(Value, Value)> = events
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .map(|e| (e["level"].clone(), e["details"]["due_at"].clone()))
        .collect();
    assert_eq!(
        paged,
        vec![
            (2.into(), at_minutes(60).into()),
            (3.into(), at_minutes(180).into())
        ]
    );
    assert_eq!(show(&env, &id)["owner"], "manager");
    // Refused unless acknowledged.
    env.at(210, &["unack", &id, "--by", "alice"])
        .code(4)
        .one_line_error("issue #1 is not acknowledged (it is open)");
    env.at(211, &["resolve", &id, "--by", "alice"]).ok();
    env.at(212, &["unack", &id, "--by", "alice"])
        .code(4)
        .one_line_error("issue #1 is not acknowledged (it is resolved)");
    env.at(212, &["unack", "99", "--by", "alice"])
        .code(4)
        .one_line_error("issue #99 does not exist");
}

#[test]
fn unack_keeps_the_time_paused_before_the_ack() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    // Paused 2 h: level 2 moves from 60 to 180 min.
    env.at(10, &["pause", &id, "--by", "a"]).ok();
    env.at(130, &["resume", &id, "--by", "a"]).ok();
    assert_eq!(show(&env, &id)["next_escalation_at"], at_minutes(180));
    env.at(140, &["ack", &id, "--by", "bob"]).ok();
    let v = env
        .at(150, &["unack", &id, "--by", "bob", "--json"])
        .ok()
        .json();
    assert_eq!(v["action"], "unacknowledged");
    assert_eq!(v["status"], "open");
    assert_eq!(v["owner"], "agent");
    assert_eq!(show(&env, &id)["next_escalation_at"], at_minutes(180));
}

#[test]
fn unack_after_the_ack_lapsed_is_refused() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "outage", None);
    env.at(5, &["ack", &id, "--by", "bob"]).ok();
    let before = kinds(&env, &id);
    env.at(70, &["unack", &id, "--by", "alice"])
        .code(4)
        .one_line_error(&format!(
            "issue #1's acknowledgement lapsed at {}; the next check pages level 1 again",
            at_minutes(65)
        ));
    assert_eq!(kinds(&env, &id), before);
}

#[test]
fn move_reroutes_to_the_new_chains_level_one() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", Some("urgent"));
    env.at(5, &["escalate", &id, "--by", "a"]).ok();
    env.at(10, &["ack", &id, "--by", "bob"]).ok();
    assert_eq!(pending(&env), vec![row(1, 2, "lead")]);
    let r = env
        .at(
            20,
            &[
                "move",
                &id,
                "--chain",
                "outage",
                "--by",
                "alice",
                "--reason",
                "it is an outage",
            ],
        )
        .ok();
    assert_eq!(
        r.stdout.trim(),
        "issue #1 moved from chain support to outage by alice; level 1 (oncall) paged and owns it"
    );
    let s = show(&env, &id);
    assert_eq!(s["chain"], "outage");
    assert_eq!(
        (s["level"].clone(), s["max_level"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(
        (s["owner"].clone(), s["owner_kind"].clone()),
        ("oncall".into(), "role".into())
    );
    assert_eq!(s["status"], "open");
    assert_eq!(s["acked_by"], Value::Null);
    // Level 2 of the new chain 15 min after the move.
    assert_eq!(s["next_escalation_at"], at_minutes(35));
    // The urgent policy of the new chain, from creation: resolution due in
    // 2 h; the response target was met by bob's ack and stays met.
    assert_eq!(s["sla"]["resolution"]["due_at"], at_minutes(120));
    assert_eq!(s["sla"]["response"]["state"], "met");
    let e = last_event(&env, &id);
    assert_eq!(e["kind"], "moved");
    assert_eq!(e["actor"], "alice");
    assert_eq!(e["level"], 1);
    assert_eq!(
        e["details"],
        serde_json::json!({"from": "support", "to": "outage", "reason": "it is an outage",
            "epoch": 2, "owner_from": "bob", "owner_to": "oncall", "policy": 1})
    );
    // The old chain's pending page to the lead is cancelled; the new level 1 is paged.
    assert_eq!(pending(&env), vec![row(1, 1, "oncall")]);
    let cancelled: Vec<Value> = env
        .outbox("all")
        .into_iter()
        .filter(|r| r["status"] == "cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["role"], "lead");
    assert!(env
        .at(21, &["show", &id])
        .ok()
        .stdout
        .contains("moved from chain support to outage by alice; escalation restarts at level 1, owner oncall: it is an outage"));
    // The new chain's schedule runs: the CTO at 35 min.
    env.at(35, &["check"]).ok();
    let s = show(&env, &id);
    assert_eq!(
        (s["level"].clone(), s["owner"].clone()),
        (2.into(), "cto".into())
    );
    assert_eq!(
        env.run(&["events", "--kind", "moved"])
            .ok()
            .stdout
            .lines()
            .count(),
        1
    );
}

#[test]
fn move_answers_json_and_reevaluates_an_unmet_sla() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", Some("urgent"));
    let v = env
        .at(
            20,
            &["move", &id, "--chain", "outage", "--by", "alice", "--json"],
        )
        .ok()
        .json();
    assert_eq!(v["action"], "moved");
    assert_eq!(v["chain"], "outage");
    assert_eq!(
        (v["level"].clone(), v["owner"].clone()),
        (1.into(), "oncall".into())
    );
    // Support gave 8 h to respond; urgent on outage gives 15 min from
    // creation, already past: the next check records the breach at 15 min.
    let s = show(&env, &id);
    assert_eq!(s["sla"]["response"]["due_at"], at_minutes(15));
    env.at(21, &["check"]).ok();
    let breach = show(&env, &id)["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "breached")
        .cloned()
        .expect("a breach");
    assert_eq!(breach["at"], at_minutes(15));
    assert_eq!(breach["details"]["target"], "response");
}

#[test]
fn move_refusals_change_nothing() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    let before = kinds(&env, &id);
    env.at(5, &["move", &id, "--chain", "nope", "--by", "a"])
        .code(2)
        .one_line_error("unknown chain `nope` (chains in chains.toml: ");
    env.at(5, &["move", &id, "--chain", "support", "--by", "a"])
        .code(4)
        .one_line_error("issue #1 is already on chain `support`");
    env.at(5, &["move", "99", "--chain", "outage", "--by", "a"])
        .code(4)
        .one_line_error("issue #99 does not exist");
    env.at(
        5,
        &[
            "move",
            &id,
            "--chain",
            "outage",
            "--by",
            "a",
            "--reason",
            &"r".repeat(501),
        ],
    )
    .code(2)
    .one_line_error("--reason is at most 500 characters");
    assert_eq!(kinds(&env, &id), before);
    env.at(6, &["pause", &id, "--by", "a"]).ok();
    env.at(7, &["move", &id, "--chain", "outage", "--by", "a"])
        .code(4)
        .one_line_error("issue #1 is paused; resume it (`escalate resume 1`) before moving");
    env.at(8, &["resolve", &id, "--by", "a"]).ok();
    env.at(9, &["move", &id, "--chain", "outage", "--by", "a"])
        .code(4)
        .one_line_error("issue #1 is resolved; reopen it before moving");
    assert_eq!(show(&env, &id)["chain"], "support");
    assert_eq!(pending(&env), vec![]);
}

#[test]
fn an_orphaned_issue_can_be_moved_to_a_chain_that_exists() {
    let env = Env::init(CONFIG);
    let id = file(&env, 0, "support", None);
    // The support chain leaves the config: the issue is an orphan.
    let without = CONFIG.replace("[chains.support]", "[chains.retired]");
    env.write_config(&without);
    env.at(5, &["check"]).code(3);
    env.at(6, &["escalate", &id, "--by", "a"])
        .code(2)
        .one_line_error("issue #1 is on chain `support`, which is no longer in the config");
    env.at(7, &["move", &id, "--chain", "outage", "--by", "a"])
        .ok();
    assert_eq!(show(&env, &id)["orphaned"], false);
    env.at(8, &["check"]).ok();
}

/// `lead` and `oncall` have rotations: ann is the lead on call on Monday 2
/// November 2026 (UTC days from midnight), bob holds `oncall` all week.
/// Their webhooks differ by host, which `outbox` shows (paths are redacted).
const ROTATIONS: &str = r#"
[people.ann]
webhook = "http://127.0.0.1:9/ann"
[people.bob]
webhook = "http://127.0.0.2:9/bob"

[roles.agent]
[roles.lead]
[[roles.lead.rotations]]
members = ["ann", "bob"]
start = "2026-11-02T00:00"
timezone = "UTC"
shift = "1d"
[roles.oncall]
[[roles.oncall.rotations]]
members = ["bob"]
start = "2026-11-02T00:00"
timezone = "UTC"
shift = "1w"

[chains.support]
levels = [
  { role = "agent", wait_hours = 1 },
  { role = "lead", wait_hours = 2 },
]

[chains.outage]
levels = [{ role = "oncall", wait_hours = 1 }]
"#;

#[test]
fn manual_pages_reach_the_person_on_call_who_owns_the_issue() {
    let env = Env::init(ROTATIONS);
    let id = file(&env, 0, "support", None);
    env.at(10, &["escalate", &id, "--by", "dana"]).ok();
    let s = show(&env, &id);
    assert_eq!(
        (s["owner"].clone(), s["owner_kind"].clone()),
        ("ann".into(), "person".into())
    );
    let e = last_event(&env, &id);
    assert_eq!(e["details"]["on_call"], "ann");
    assert_eq!(e["details"]["owner_to"], "ann");
    let text = env.at(11, &["show", &id]).ok().stdout;
    assert!(
        text.contains("escalated to lead (ann on call) by dana"),
        "{text}"
    );
    let targets = |status: &str| -> Vec<String> {
        let mut rows: Vec<String> = env
            .outbox("all")
            .iter()
            .filter(|r| r["status"] == status)
            .map(|r| {
                let target = r["target"].as_str().unwrap_or("");
                let who = if target.starts_with("http://127.0.0.1:9/") {
                    "ann"
                } else if target.starts_with("http://127.0.0.2:9/") {
                    "bob"
                } else {
                    target
                };
                format!("{} {who}", r["role"].as_str().unwrap_or(""))
            })
            .collect();
        rows.sort();
        rows
    };
    // The role's own channel (console here) and the person on call.
    assert_eq!(targets("pending"), ["lead ann", "lead console"]);
    // Moved: the new chain's level 1 reaches bob, on call for `oncall`.
    env.at(20, &["move", &id, "--chain", "outage", "--by", "dana"])
        .ok();
    let s = show(&env, &id);
    assert_eq!(
        (s["owner"].clone(), s["owner_kind"].clone()),
        ("bob".into(), "person".into())
    );
    assert_eq!(last_event(&env, &id)["details"]["on_call"], "bob");
    assert_eq!(targets("pending"), ["oncall bob", "oncall console"]);
    assert_eq!(targets("cancelled"), ["lead ann", "lead console"]);
    // Unack hands it back to the level's role (the next page reaches the
    // person on call), as when an ack lapses.
    env.at(30, &["ack", &id, "--by", "bob"]).ok();
    env.at(40, &["unack", &id, "--by", "bob"]).ok();
    let s = show(&env, &id);
    assert_eq!(
        (s["owner"].clone(), s["owner_kind"].clone()),
        ("oncall".into(), "role".into())
    );
}

/// A page raised by hand says who raised it and why, in every channel,
/// the reason escaped like any user text; a scheduled page says nothing of
/// the kind.
#[test]
fn a_page_raised_by_hand_says_who_and_why() {
    use crate::support::http::{Action, Server};
    let peer = Server::start(|_| Action::reply(200, "ok"));
    let config = CONFIG.replace(
        "[roles.lead]\n",
        &format!(
            "[roles.lead]\nslack = \"{}\"\nwebhook = \"{}\"\n",
            peer.url("/slack"),
            peer.url("/hook")
        ),
    );
    let env = Env::init(&config);
    let id = file(&env, 0, "support", None);
    let r = env
        .at(
            20,
            &[
                "escalate",
                &id,
                "--by",
                "alice",
                "--reason",
                "key <b>account</b>",
            ],
        )
        .ok();
    assert!(r.stdout.contains("paged by alice"), "{r:?}");
    // The page goes out with the next delivery pass.
    env.at(21, &["check"]).ok();
    let bodies = |path: &str| -> Vec<Value> {
        peer.requests()
            .into_iter()
            .filter(|q| q.path == path)
            .map(|q| q.json())
            .collect()
    };
    let hook = bodies("/hook");
    assert_eq!(hook.len(), 1, "{hook:?}");
    let n = &hook[0]["notifications"][0];
    assert_eq!(n["paged_by"]["by"], "alice", "{n}");
    assert_eq!(n["paged_by"]["reason"], "key <b>account</b>", "{n}");
    let slack = bodies("/slack");
    let text = slack[0]["text"].as_str().unwrap_or("").to_string();
    assert!(text.contains("paged by alice"), "{text}");
    assert!(text.contains("&lt;b&gt;"), "escaped: {text}");
    assert!(!text.contains("<b>"), "escaped: {text}");

    // The schedule's own page of the manager (console) says nothing of it.
    let r = env.at(20 + 121, &["check"]).ok();
    assert!(r.stdout.contains("ESCALATION Level 3"), "{r:?}");
    assert!(!r.stdout.contains("paged by"), "{r:?}");
    // By hand again, to the console: the line ends with who and why.
    env.at(150, &["escalate", &id, "--level", "3", "--by", "bo"])
        .ok();
    let r = env.at(151, &["check"]).ok();
    assert!(r.stdout.trim_end().ends_with("paged by bo"), "{r:?}");
}
