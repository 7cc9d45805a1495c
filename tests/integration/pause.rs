//! Pause and snooze through the real binary: due times move by the paused
//! office hours, `--until` resumes at its instant even when the next check
//! is late, nothing escalates or breaches while paused, helpdesk statuses
//! pause and resume, the digest lists long pauses, simulate replays pauses,
//! and mistakes are refused with the documented exit codes.

use crate::support::*;

/// Office hours in New York; `low` issues stop only their resolution clock
/// while paused.
const CONFIG: &str = r#"
[calendars.office]
timezone = "America/New_York"
hours = { mon-fri = "09:00-17:00" }

[chains.support]
calendar = "office"
response_hours = 8
resolution_hours = 40
levels = [
  { role = "agent", wait_hours = 4 },
  { role = "lead", wait_hours = 8 },
]

[[chains.support.sla]]
priority = ["low"]
response_hours = 2
resolution_hours = 40
pause = ["resolution"]

[roles.agent]
[roles.lead]

[[routes]]
name = "all"
chain = "support"

[digest]
long_pause_hours = 24
"#;

/// Monday 7 December 2026, 09:00 in New York (EST, UTC−5).
const MON_9AM: &str = "2026-12-07T14:00:00Z";
const MON_10AM: &str = "2026-12-07T15:00:00Z";

fn file(env: &Env, priority: Option<&str>) -> String {
    let mut args = vec!["create", "--chain", "support", "--title", "Export fails"];
    if let Some(p) = priority {
        args.extend(["--priority", p]);
    }
    let r = env.test().at(MON_9AM).args(args).run();
    r.stdout.trim().to_string()
}

fn show_at(env: &Env, when: &str, id: &str) -> serde_json::Value {
    env.at(when, &["show", id, "--json"]).ok().json()
}

fn event<'a>(events: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {events:?}"))
}

#[test]
fn a_pause_moves_every_later_due_time_by_the_paused_office_hours() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    let before = show_at(&env, MON_10AM, &id);
    assert_eq!(before["next_escalation_at"], "2026-12-07T18:00:00Z");
    assert_eq!(before["sla"]["response"]["due_at"], "2026-12-07T22:00:00Z");
    let r = env
        .at(
            MON_10AM,
            &["pause", &id, "--reason", "waiting on logs", "--by", "carol"],
        )
        .ok();
    assert!(
        r.stdout
            .contains("paused by carol until someone resumes it"),
        "{}",
        r.stdout
    );
    // Tuesday 10:00: paused for Monday 10–17 and Tuesday 9–10, 8 office hours.
    let r = env
        .at("2026-12-08T15:00:00Z", &["resume", &id, "--by", "carol"])
        .ok();
    assert!(r.stdout.contains("after 1d"), "{}", r.stdout);
    let after = show_at(&env, "2026-12-08T15:00:00Z", &id);
    assert_eq!(
        after["next_escalation_at"], "2026-12-08T18:00:00Z",
        "Mon 13:00 + 8 office hours = Tue 13:00"
    );
    assert_eq!(after["sla"]["response"]["due_at"], "2026-12-08T22:00:00Z");
    assert_eq!(after["pause"], serde_json::Value::Null);
    let events = after["events"].as_array().expect("events").clone();
    let paused = event(&events, "paused");
    assert_eq!(paused["actor"], "carol");
    assert_eq!(paused["details"]["reason"], "waiting on logs");
    assert_eq!(
        paused["details"]["stopped"],
        serde_json::json!(["response", "resolution"])
    );
    let resumed = event(&events, "resumed");
    assert_eq!(resumed["at"], "2026-12-08T15:00:00Z");
    assert_eq!(resumed["details"]["open_seconds"], 8 * 3600);
    assert_eq!(resumed["details"]["paused_seconds"], 24 * 3600);
    // Tuesday 12:00 still level 1; 13:00 the lead is paged, on time.
    env.at("2026-12-08T17:00:00Z", &["check"]).ok();
    assert_eq!(show_at(&env, "2026-12-08T17:00:00Z", &id)["level"], 1);
    env.at("2026-12-08T18:00:00Z", &["check"]).ok();
    let now = show_at(&env, "2026-12-08T18:00:00Z", &id);
    assert_eq!(now["level"], 2);
    let esc = event(now["events"].as_array().expect("events"), "escalated");
    assert_eq!(esc["details"]["due_at"], "2026-12-08T18:00:00Z");
}

#[test]
fn until_resumes_at_its_instant_even_when_the_next_check_is_late() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    env.at(MON_10AM, &["pause", &id, "--until", "2h"]).ok();
    let shown = env.at("2026-12-07T16:00:00Z", &["show", &id]).ok().stdout;
    assert!(shown.contains("paused:"), "{shown}");
    assert!(shown.contains("nothing escalates while paused"), "{shown}");
    // No check until 16:00 EST; the pause ended at 12:00.
    env.at("2026-12-07T21:00:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-07T21:00:00Z", &id);
    let events = v["events"].as_array().expect("events").clone();
    let resumed = event(&events, "resumed");
    assert_eq!(resumed["at"], "2026-12-07T17:00:00Z");
    assert_eq!(resumed["actor"], "escalate");
    assert_eq!(resumed["details"]["recorded_at"], "2026-12-07T21:00:00Z");
    // 13:00 + the 2 paused office hours = 15:00 EST.
    assert_eq!(v["level"], 2);
    let esc = event(&events, "escalated");
    assert_eq!(esc["details"]["due_at"], "2026-12-07T20:00:00Z");
}

#[test]
fn nothing_escalates_or_breaches_while_paused() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    env.at(MON_10AM, &["pause", &id, "--reason", "customer travelling"])
        .ok();
    // Friday: the response deadline (Monday 17:00) is long past in wall time.
    let friday = "2026-12-11T20:00:00Z";
    env.at(friday, &["check"]).ok();
    let v = show_at(&env, friday, &id);
    assert_eq!(v["level"], 1);
    assert_eq!(v["sla"]["response"]["state"], "ok");
    assert_eq!(v["sla"]["response"]["stopped"], true);
    assert_eq!(v["sla"]["response"]["left_seconds"], 7 * 3600);
    assert_eq!(v["pause"]["reason"], "customer travelling");
    assert_eq!(v["pause"]["paused_seconds"], 4 * 86_400 + 5 * 3600);
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(!kinds.contains(&"breached"), "{kinds:?}");
    assert!(!kinds.contains(&"escalated"), "{kinds:?}");
    let listed = env.at(friday, &["list", "--breached"]).ok().stdout;
    assert!(listed.contains("no issues"), "{listed}");
    let table = env.at(friday, &["list"]).ok().stdout;
    assert!(table.contains("open (paused 4d"), "{table}");
    assert!(table.contains("(stopped)"), "{table}");
}

#[test]
fn a_step_owed_before_the_pause_is_still_paged_at_its_instant() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    // The lead was due at 13:00; no check ran before the 14:00 pause.
    env.at("2026-12-07T19:00:00Z", &["pause", &id]).ok();
    env.at("2026-12-07T19:30:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-07T19:30:00Z", &id);
    assert_eq!(v["level"], 2);
    let events = v["events"].as_array().expect("events").clone();
    assert_eq!(
        event(&events, "escalated")["details"]["due_at"],
        "2026-12-07T18:00:00Z"
    );
    assert!(v["pause"].is_object(), "still paused: {v}");
}

#[test]
fn a_policy_may_stop_only_the_resolution_clock() {
    let env = Env::init(CONFIG);
    let id = file(&env, Some("low"));
    env.at(MON_10AM, &["pause", &id]).ok();
    // Response (2 office hours) breaches at 11:00 while paused; resolution
    // stays stopped.
    env.at("2026-12-07T17:00:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-07T17:00:00Z", &id);
    assert_eq!(v["sla"]["response"]["state"], "breached");
    assert_eq!(v["sla"]["resolution"]["stopped"], true);
    assert_eq!(v["pause"]["stopped"], serde_json::json!(["resolution"]));
}

#[test]
fn helpdesk_waiting_statuses_pause_and_open_resumes() {
    let env = Env::init(CONFIG);
    let batch = [
        r#"{"type":"ticket.created","source":"zendesk","external_id":"9","title":"Login fails","at":"2026-12-07T14:00:00Z"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"9","status":"HOLD","at":"2026-12-07T15:00:00Z"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"9","status":"On-Hold","at":"2026-12-07T15:30:00Z"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"9","status":"open","at":"2026-12-07T17:00:00Z"}"#,
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"9","status":"Pending","at":"2026-12-07T18:00:00Z"}"#,
    ];
    let path = env.path("batch.jsonl");
    std::fs::write(&path, batch.join("\n")).expect("write");
    let r = env
        .at(
            "2026-12-07T18:30:00Z",
            &["ingest", path.to_str().expect("path"), "--json"],
        )
        .ok();
    let summary = r.json();
    assert_eq!(summary["paused"], 2, "{summary}");
    assert_eq!(summary["resumed"], 1, "{summary}");
    let v = show_at(&env, "2026-12-07T18:30:00Z", "1");
    let events = v["events"].as_array().expect("events").clone();
    let resumed = event(&events, "resumed");
    assert_eq!(resumed["at"], "2026-12-07T17:00:00Z");
    assert_eq!(resumed["details"]["open_seconds"], 2 * 3600);
    assert_eq!(v["pause"]["since"], "2026-12-07T18:00:00Z");
    assert_eq!(v["pause"]["reason"], "ticket status pending");
}

#[test]
fn the_digest_lists_issues_paused_longer_than_the_limit() {
    let env = Env::init(CONFIG);
    let long = file(&env, None);
    let short = file(&env, None);
    env.at(MON_10AM, &["pause", &long, "--reason", "**vendor** fix"])
        .ok();
    env.at("2026-12-08T14:00:00Z", &["pause", &short]).ok();
    let digest = env
        .at(
            "2026-12-08T16:00:00Z",
            &["digest", "--format", "json", "--no-record"],
        )
        .ok()
        .json();
    let listed = &digest["exceptions"]["long_pauses"];
    assert_eq!(listed["total"], 1, "{digest}");
    assert_eq!(listed["items"][0]["id"], long.parse::<i64>().expect("id"));
    let text = env
        .at("2026-12-08T16:00:00Z", &["digest", "--no-record"])
        .ok()
        .stdout;
    assert!(
        text.contains("1 issue(s) paused for more than 1d"),
        "{text}"
    );
    assert!(text.contains(r"\*\*vendor\*\* fix"), "escaped: {text}");
}

#[test]
fn pausing_again_changes_the_end_and_keeps_the_start() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    env.at(MON_10AM, &["pause", &id, "--until", "1h"]).ok();
    env.at("2026-12-07T15:30:00Z", &["pause", &id, "--until", "3h"])
        .ok();
    let v = show_at(&env, "2026-12-07T15:30:00Z", &id);
    assert_eq!(v["pause"]["since"], MON_10AM);
    assert_eq!(v["pause"]["until"], "2026-12-07T18:30:00Z");
    assert_eq!(v["next_check_at"], "2026-12-07T18:30:00Z");
}

#[test]
fn mistakes_are_refused_and_change_nothing() {
    let env = Env::init(CONFIG);
    let id = file(&env, None);
    env.at(MON_10AM, &["resume", &id])
        .code(4)
        .one_line_error("is not paused");
    env.at(MON_10AM, &["pause", &id, "--until", "2026-12-07T14:30:00Z"])
        .code(2)
        .one_line_error("is not after now");
    env.at(MON_10AM, &["pause", &id, "--until", "soonish"])
        .code(2)
        .one_line_error("invalid --until");
    env.at(MON_10AM, &["pause", "99"])
        .code(4)
        .one_line_error("does not exist");
    env.at(MON_10AM, &["pause", &id, "--reason", "a\u{202e}b"])
        .code(2)
        .one_line_error("bidirectional");
    env.at(MON_10AM, &["resolve", &id]).ok();
    env.at(MON_10AM, &["pause", &id])
        .code(4)
        .one_line_error("is resolved");
    assert!(!env
        .kinds(id.parse().expect("id"))
        .contains(&"paused".to_string()));
}

#[test]
fn simulate_replays_pauses() {
    let env = Env::init(CONFIG);
    let r = env
        .at(
            MON_9AM,
            &[
                "simulate",
                "--chain",
                "support",
                "--from",
                MON_9AM,
                "--pause",
                "2026-12-07T15:00:00Z..2026-12-08T15:00:00Z",
                "--json",
            ],
        )
        .ok()
        .json();
    let timeline = r["timeline"].as_array().expect("timeline");
    let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(&kinds[..3], ["notified", "paused", "resumed"], "{kinds:?}");
    assert_eq!(timeline[3]["kind"], "escalated");
    assert_eq!(timeline[3]["at"], "2026-12-08T18:00:00Z");
    env.at(
        MON_9AM,
        &[
            "simulate",
            "--chain",
            "support",
            "--pause",
            "2026-12-07T15:00:00Z..2026-12-08T15:00:00Z",
            "--pause",
            "2026-12-08T14:00:00Z..2026-12-09T15:00:00Z",
        ],
    )
    .code(2)
    .one_line_error("overlap");
}
