//! People and on-call through the real binary: pages reach the person on
//! call (hand-off exactly at the page's instant, catch-up after an outage
//! across a hand-off, overrides, gaps), that person owns the issue, Slack
//! messages mention them, SLA notices and assignments reach people, and
//! `escalate oncall` shows it. Bad rotations are config errors.

use crate::support::http::{Action, Server};
use crate::support::*;

/// `agent`: ann and bob take daily turns from Monday 7 December 2026 09:00
/// New York (14:00 UTC); `lead`: carl on weekdays 09:00–17:00 only, with a
/// Slack channel.
fn config(slack: &str) -> String {
    format!(
        r#"
[people.ann]
slack_id = "U0ANN"
webhook = "{slack}/ann"
[people.bob]
slack_id = "U0BOB"
webhook = "{slack}/bob"
timezone = "Europe/Berlin"
[people.carl]
webhook = "{slack}/carl"
[people.dana]
webhook = "{slack}/dana"

[roles.agent]
slack = "{slack}/agent-channel"
[[roles.agent.rotations]]
name = "daily"
members = ["ann", "bob"]
start = "2026-12-07T09:00"
timezone = "America/New_York"
shift = "1d"

[roles.lead]
[[roles.lead.rotations]]
members = ["carl"]
start = "2026-12-07T00:00"
timezone = "America/New_York"
shift = "1w"
hours = {{ mon-fri = "09:00-17:00" }}

[chains.support]
response_hours = 2
levels = [
  {{ role = "agent", wait_hours = 24 }},
  {{ role = "lead", wait_hours = 8 }},
]
"#
    )
}

fn env_with(slack: &Server) -> Env {
    Env::init(&config(&slack.url("")))
}

fn file(env: &Env, at: &str) -> String {
    let r = env
        .test()
        .at(at)
        .args(["create", "--chain", "support", "--title", "Refund stuck"])
        .run();
    r.stdout.trim().to_string()
}

fn show_at(env: &Env, when: &str, id: &str) -> serde_json::Value {
    env.at(when, &["show", id, "--json"]).ok().json()
}

fn last_escalated(v: &serde_json::Value) -> serde_json::Value {
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .rev()
        .find(|e| e["kind"] == "escalated")
        .cloned()
        .unwrap_or_else(|| panic!("no escalated event: {v}"))
}

/// Paths the fake Slack/webhook server was sent to.
fn paths(server: &Server) -> Vec<String> {
    server.requests().iter().map(|r| r.route()).collect()
}

#[test]
fn the_page_goes_to_the_person_on_call_who_owns_the_issue() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    // Monday 10:00 New York: ann's turn.
    let id = file(&env, "2026-12-07T15:00:00Z");
    let v = show_at(&env, "2026-12-07T15:00:00Z", &id);
    assert_eq!(v["owner"], "ann");
    assert_eq!(v["owner_kind"], "person");
    let created = &v["events"][0];
    assert_eq!(created["details"]["on_call"], "ann");
    let sent = paths(&slack);
    assert!(sent.iter().any(|p| p.ends_with("/ann")), "{sent:?}");
    assert!(
        sent.iter().any(|p| p.ends_with("/agent-channel")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|p| p.ends_with("/bob")), "{sent:?}");
    // The role's Slack channel mentions the person on call; the text says
    // who owns it.
    let channel = slack
        .requests()
        .into_iter()
        .find(|r| r.route().ends_with("/agent-channel"))
        .expect("channel message");
    let body = channel.json();
    let text = body["text"].as_str().expect("text");
    assert!(text.contains("<@U0ANN>"), "{text}");
    assert!(text.contains("ann, on call for agent"), "{text}");
    let hook = slack
        .requests()
        .into_iter()
        .find(|r| r.route().ends_with("/ann"))
        .expect("personal webhook")
        .json();
    assert_eq!(hook["notifications"][0]["on_call"], "ann");
}

#[test]
fn a_hand_off_at_the_page_instant_pages_the_incoming_person() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    // Filed Monday 09:00 New York; level 1's wait ends Tuesday 09:00, the
    // instant bob takes over from ann... but level 2 is the lead. Use a
    // repeat-free chain: the level-2 page is due Tuesday 14:00 UTC.
    let id = file(&env, "2026-12-07T14:00:00Z");
    assert_eq!(show_at(&env, "2026-12-07T14:00:00Z", &id)["owner"], "ann");
    env.at("2026-12-08T14:00:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-08T14:00:00Z", &id);
    // Tuesday 09:00 New York: carl's weekday hours have begun.
    assert_eq!(v["level"], 2);
    assert_eq!(v["owner"], "carl");
    let e = last_escalated(&v);
    assert_eq!(e["details"]["on_call"], "carl");
    assert_eq!(e["details"]["role"], "lead");
    // The agent rotation handed off at that same instant.
    let on = env
        .at("2026-12-08T14:00:00Z", &["oncall", "agent", "--json"])
        .ok()
        .json();
    assert_eq!(on["roles"][0]["on_call"], "bob", "{on}");
}

#[test]
fn a_catch_up_after_an_outage_pages_whoever_is_on_call_at_the_check() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    // Filed Friday 11 December 10:00 New York; level 2 (the lead, weekday
    // hours) is due Saturday 10:00, in a gap. No check runs until Monday
    // 14 December 10:00, when carl is at work again.
    let id = file(&env, "2026-12-11T15:00:00Z");
    env.at("2026-12-14T15:00:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-14T15:00:00Z", &id);
    let e = last_escalated(&v);
    assert_eq!(e["details"]["due_at"], "2026-12-12T15:00:00Z");
    assert_eq!(e["details"]["on_call"], "carl", "who can act now: {e}");
    assert_eq!(v["owner"], "carl");
}

#[test]
fn a_gap_falls_back_to_the_role_and_shows_in_the_digest() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    // Level 2 due Saturday 10:00 and checked then: nobody on call for lead.
    let id = file(&env, "2026-12-11T15:00:00Z");
    env.at("2026-12-12T15:00:00Z", &["check"]).ok();
    let v = show_at(&env, "2026-12-12T15:00:00Z", &id);
    let e = last_escalated(&v);
    assert_eq!(e["details"]["gap"], true, "{e}");
    assert_eq!(v["owner"], "lead");
    assert_eq!(v["owner_kind"], "role");
    let digest = env
        .at(
            "2026-12-12T16:00:00Z",
            &["digest", "--format", "json", "--no-record"],
        )
        .ok()
        .json();
    let gaps = &digest["exceptions"]["oncall_gaps"];
    assert_eq!(gaps["total"], 1, "{digest}");
    assert_eq!(gaps["items"][0]["role"], "lead");
}

#[test]
fn an_override_beats_the_rotation_and_overlaps_are_refused() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    let now = "2026-12-07T15:00:00Z";
    let r = env
        .at(
            now,
            &[
                "oncall", "override", "agent", "--person", "dana", "--until", "4h", "--by", "carol",
            ],
        )
        .ok();
    assert!(
        r.stdout.contains("override 1: dana is on call for agent"),
        "{}",
        r.stdout
    );
    env.at(
        now,
        &[
            "oncall",
            "override",
            "agent",
            "--person",
            "bob",
            "--from",
            "2026-12-07T17:00:00Z",
            "--until",
            "2026-12-07T20:00:00Z",
        ],
    )
    .code(4)
    .one_line_error("override 1 already puts dana on call");
    let id = file(&env, now);
    assert_eq!(show_at(&env, now, &id)["owner"], "dana");
    let listed = env.at(now, &["oncall", "overrides"]).ok().stdout;
    assert!(listed.contains("agent: dana"), "{listed}");
    env.at(now, &["oncall", "cancel", "1", "--by", "carol"])
        .ok();
    assert!(env
        .at(now, &["oncall", "overrides"])
        .ok()
        .stdout
        .contains("no overrides"));
    let all = env.at(now, &["oncall", "overrides", "--all"]).ok().stdout;
    assert!(all.contains("cancelled"), "{all}");
    env.at(now, &["oncall", "cancel", "1"])
        .code(4)
        .one_line_error("was cancelled");
    env.at(
        now,
        &[
            "oncall", "override", "agent", "--person", "zed", "--until", "1h",
        ],
    )
    .code(2)
    .one_line_error("no person `zed`");
}

#[test]
fn oncall_shows_who_is_on_call_and_the_schedule() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    let now = "2026-12-07T15:00:00Z";
    let out = env.at(now, &["oncall"]).ok().stdout;
    assert!(
        out.contains("agent: ann (layer 1 `daily`) until 2026-12-08T14:00:00Z; "),
        "ann has no timezone: {out}"
    );
    assert!(
        out.contains("then bob at 2026-12-08T14:00:00Z (Tue 15:00 CET their time)"),
        "bob's own clock: {out}"
    );
    let v = env.at(now, &["oncall", "agent", "--json"]).ok().json();
    assert_eq!(v["roles"][0]["next"][0]["local"], "Tue 15:00 CET", "{v}");
    assert_eq!(v["roles"][0]["until_local"], serde_json::Value::Null, "{v}");
    assert!(out.contains("lead: carl"), "{out}");
    let sched = env
        .at(now, &["oncall", "lead", "--days", "7", "--json"])
        .ok()
        .json();
    let rows = sched["schedule"].as_array().expect("schedule");
    // Weekday hours: carl Mon–Fri 09–17, gaps between.
    assert_eq!(rows[0]["person"], "carl");
    assert_eq!(rows[0]["until"], "2026-12-07T22:00:00Z");
    assert_eq!(rows[1]["person"], serde_json::Value::Null);
    let text = env.at(now, &["oncall", "lead", "--days", "2"]).ok().stdout;
    assert!(text.contains("NOBODY (gap)"), "{text}");
    env.at(now, &["oncall", "nope"])
        .code(2)
        .one_line_error("no role `nope`");
}

#[test]
fn sla_notices_and_assignments_reach_the_person() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = env_with(&slack);
    let id = file(&env, "2026-12-07T15:00:00Z");
    // The 2 h response target breaches at 17:00 UTC: ann, the owner, hears.
    env.at("2026-12-07T17:00:00Z", &["check"]).ok();
    let to_ann = slack
        .requests()
        .into_iter()
        .filter(|r| r.route().ends_with("/ann"))
        .map(|r| r.json())
        .collect::<Vec<_>>();
    let notices = |bodies: &[serde_json::Value]| -> Vec<String> {
        bodies
            .iter()
            .flat_map(|b| b["notifications"].as_array().cloned().unwrap_or_default())
            .filter_map(|n| n["notice"].as_str().map(str::to_string))
            .collect()
    };
    assert!(
        notices(&to_ann).contains(&"response_breached".to_string()),
        "{to_ann:?}"
    );
    env.at("2026-12-07T17:10:00Z", &["assign", &id, "--to", "dana"])
        .ok();
    env.at("2026-12-07T17:10:00Z", &["check"]).ok();
    let to_dana = slack
        .requests()
        .into_iter()
        .filter(|r| r.route().ends_with("/dana"))
        .map(|r| r.json())
        .collect::<Vec<_>>();
    assert!(
        notices(&to_dana).contains(&"assigned".to_string()),
        "{to_dana:?}"
    );
}

#[test]
fn bad_rotations_and_people_are_config_errors() {
    let bad = [
        (
            "[people.ann]\n[roles.r]\n[[roles.r.rotations]]\nmembers = [\"zed\"]\nstart = \"2026-12-07T09:00\"\ntimezone = \"UTC\"\nshift = \"1d\"\n",
            "no person `zed`",
        ),
        (
            "[people.ann]\n[roles.r]\n[[roles.r.rotations]]\nmembers = [\"ann\"]\nstart = \"2026-12-07T09:00\"\ntimezone = \"UTC\"\nshift = \"0h\"\n",
            "shift `0h`",
        ),
        (
            "[people.ann]\n[roles.r]\n[[roles.r.rotations]]\nmembers = [\"ann\"]\nstart = \"2026-12-07T09:00\"\ntimezone = \"UTC\"\nshift = \"-1d\"\n",
            "shift `-1d`",
        ),
        (
            "[people.ann]\n[roles.r]\n[[roles.r.rotations]]\nmembers = [\"ann\"]\nstart = \"next monday\"\ntimezone = \"UTC\"\nshift = \"1d\"\n",
            "start `next monday`",
        ),
        (
            "[people.ann]\nslack_id = \"<!channel>\"\n",
            "not a Slack member id",
        ),
        (
            "[people.ann]\n[roles.r]\nmembers = [\"ann\", \"ann\"]\n",
            "listed twice",
        ),
    ];
    for (toml, want) in bad {
        let text = format!("{toml}\n[chains.c]\nlevels = [{{ role = \"r\", wait_hours = 1 }}]\n");
        let text = if text.contains("[roles.r]") {
            text
        } else {
            format!("{text}[roles.r]\n")
        };
        let r = Test::new()
            .no_db()
            .config(&text)
            .args(["config", "check"])
            .code(2)
            .run();
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
        assert!(
            r.stderr.contains("chains.toml:"),
            "file:line:col: {}",
            r.stderr
        );
    }
}

#[test]
fn config_check_warns_of_gaps_and_people_nobody_can_reach() {
    let toml = "[people.ann]\n[roles.r]\n[[roles.r.rotations]]\nmembers = [\"ann\"]\nstart = \"2026-12-07T09:00\"\ntimezone = \"UTC\"\nshift = \"1d\"\nhours = { mon-fri = \"09:00-17:00\" }\n[chains.c]\nlevels = [{ role = \"r\", wait_hours = 1 }]\n";
    let r = Test::new()
        .no_db()
        .config(toml)
        .at("2026-12-07T10:00:00Z")
        .args(["config", "check"])
        .run();
    assert!(
        r.stderr.contains("person `ann` has no contacts"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("role `r` has nobody on call"),
        "{}",
        r.stderr
    );
}
