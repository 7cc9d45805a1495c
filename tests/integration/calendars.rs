//! Business-hours calendars through the real binary: waits and SLA targets
//! count open hours only, and a changed calendar re-anchors open issues once.

use crate::support::*;

/// New York office hours; a 4 h first wait and a 2 h response target, both
/// in office hours. Every role prints on the console.
const CONFIG: &str = r#"
[calendars.office]
timezone = "America/New_York"
hours = { mon-fri = "09:00-17:00" }
holidays = ["2026-12-25"]

[chains.support]
calendar = "office"
levels = [
  { role = "agent", wait_hours = 4 },
  { role = "lead", wait_hours = 8 },
]
response_hours = 2

[roles.agent]
[roles.lead]
"#;

/// Friday 4 December 2026, 16:00 in New York (EST, UTC−5).
const FRIDAY_4PM: &str = "2026-12-04T21:00:00Z";

fn kinds_at(env: &Env, id: i64) -> Vec<(String, String)> {
    env.events(id)
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_wait_filed_on_friday_afternoon_ends_on_monday_morning() {
    let env = Env::init(CONFIG);
    let id = env.create(FRIDAY_4PM, "support", "Invoices missing");
    // Saturday noon: 1 open hour has passed (Friday 16:00–17:00).
    let sat = env.at("2026-12-05T17:00:00Z", &["check"]).ok();
    assert!(!sat.stdout.contains("lead"), "{}", sat.stdout);
    // Monday 11:59: 3 h 59 min of office time.
    let early = env.at("2026-12-07T16:59:00Z", &["check"]).ok();
    assert!(!early.stdout.contains("lead"), "{}", early.stdout);
    // Monday 12:00 EST: 1 h Friday + 3 h Monday.
    let due = env.at("2026-12-07T17:00:00Z", &["check"]).ok();
    assert!(due.stdout.contains("lead"), "{}", due.stdout);
    let events = kinds_at(&env, id);
    assert!(
        events.contains(&("escalated".into(), "2026-12-07T17:00:00Z".into())),
        "{events:?}"
    );
    // The 2 h response target: 1 h Friday + 1 h Monday = 10:00 EST.
    assert!(
        events.contains(&("breached".into(), "2026-12-07T15:00:00Z".into())),
        "{events:?}"
    );
}

#[test]
fn a_late_check_lands_where_the_schedule_is_without_drift() {
    let env = Env::init(CONFIG);
    let id = env.create(FRIDAY_4PM, "support", "Late check");
    // The first check after the weekend runs on Tuesday evening: level 2 was
    // due Monday 12:00 EST, and is recorded at that instant.
    env.at("2026-12-08T23:00:00Z", &["check"]).ok();
    let events = env.events(id);
    let escalated: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["kind"] == "escalated").collect();
    assert_eq!(escalated.len(), 1, "{events:?}");
    let details = &escalated[0]["details"];
    assert_eq!(details["due_at"], "2026-12-07T17:00:00Z", "{details}");
    // Late by Monday 12:00 → Tuesday 18:00 EST in real time: 30 hours.
    assert_eq!(details["late_seconds"], 30 * 3600, "{details}");
}

#[test]
fn the_next_escalation_shown_is_in_office_hours() {
    let env = Env::init(CONFIG);
    let id = env.create(FRIDAY_4PM, "support", "Shown due");
    let show = env.show(id);
    assert_eq!(
        show["next_escalation_at"].as_str(),
        Some("2026-12-07T17:00:00Z"),
        "{show}"
    );
}

#[test]
fn changing_the_calendar_re_anchors_open_issues_once() {
    let plain = CONFIG.replace("calendar = \"office\"\n", "").replace(
        "[calendars.office]\ntimezone = \"America/New_York\"\nhours = { mon-fri = \"09:00-17:00\" }\nholidays = [\"2026-12-25\"]\n",
        "",
    );
    let env = Env::init(&plain);
    let id = env.create(FRIDAY_4PM, "support", "Moved to office hours");
    // On the 24/7 chain the 4 h wait would end Friday 20:00 EST.
    env.write_config(CONFIG);
    env.at("2026-12-04T21:30:00Z", &["check"]).ok();
    // Saturday 01:00 UTC (Friday 20:00 EST), where the old wait ended, and
    // Monday just before noon: nothing, as the office calendar now governs.
    for quiet in ["2026-12-05T01:00:00Z", "2026-12-07T16:59:00Z"] {
        let r = env.at(quiet, &["check"]).ok();
        assert!(!r.stdout.contains("lead"), "{quiet}: {}", r.stdout);
    }
    let due = env.at("2026-12-07T17:00:00Z", &["check"]).ok();
    assert!(due.stdout.contains("lead"), "{}", due.stdout);
    assert_eq!(
        env.events(id)
            .iter()
            .filter(|e| e["kind"] == "escalated")
            .count(),
        1
    );
}

#[test]
fn config_check_shows_each_calendar_and_its_next_opening() {
    let env = Env::init(CONFIG);
    let text = env
        .at("2026-12-05T17:00:00Z", &["config", "check"])
        .ok()
        .stdout;
    assert!(
        text.contains("waits and SLA targets count open hours of calendar office"),
        "{text}"
    );
    assert!(
        text.contains("calendar office (America/New_York): mon-fri 09:00-17:00"),
        "{text}"
    );
    assert!(text.contains("closed on 2026-12-25"), "{text}");
    assert!(
        text.contains("next open: Mon 2026-12-07 09:00 EST (2026-12-07T14:00:00Z)"),
        "{text}"
    );
    let json = env
        .at("2026-12-05T17:00:00Z", &["config", "check", "--json"])
        .ok()
        .json();
    assert_eq!(json["chains"][0]["calendar"], "office", "{json}");
    assert_eq!(
        json["calendars"][0]["next_open"], "2026-12-07T14:00:00Z",
        "{json}"
    );
    assert_eq!(
        json["calendars"][0]["timezone"], "America/New_York",
        "{json}"
    );
}

#[test]
fn a_bad_calendar_is_a_config_error_with_its_position() {
    let bad = CONFIG.replace("America/New_York", "America/Nowhere");
    let env = Env::with_config(&bad);
    let r = env.run(&["config", "check"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("chains.toml:3:12: calendar `office`: unknown time zone `America/Nowhere`"),
        "{}",
        r.stderr
    );
}

#[test]
fn simulate_prints_the_timeline_without_a_database() {
    let env = Env::with_config(CONFIG);
    let json = env
        .run(&[
            "simulate", "--chain", "support", "--from", FRIDAY_4PM, "--json",
        ])
        .ok()
        .json();
    let got: Vec<(String, String, String)> = json["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["at"].as_str().unwrap_or("").to_string(),
                e["local"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        (
            "notified",
            "2026-12-04T21:00:00Z",
            "Fri 2026-12-04 16:00 EST",
        ),
        (
            "at_risk",
            "2026-12-07T14:36:00Z",
            "Mon 2026-12-07 09:36 EST",
        ),
        (
            "breached",
            "2026-12-07T15:00:00Z",
            "Mon 2026-12-07 10:00 EST",
        ),
        (
            "escalated",
            "2026-12-07T17:00:00Z",
            "Mon 2026-12-07 12:00 EST",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(k, a, l)| (k.to_string(), a.to_string(), l.to_string()))
        .collect();
    assert_eq!(got, want, "{json}");
    assert_eq!(json["timezone"], "America/New_York");
    let text = env
        .run(&["simulate", "--chain", "support", "--from", FRIDAY_4PM])
        .ok()
        .stdout;
    assert!(
        text.contains("2026-12-07T17:00:00Z  Mon 2026-12-07 12:00 EST    L2 lead paged"),
        "{text}"
    );
    assert!(!env.db().exists(), "simulate must not create a database");
    if env.pg.is_some() {
        assert!(
            env.state().is_empty(),
            "simulate must not set up the schema"
        );
    }
    // What the same issue meets when someone acknowledges on Monday at 09:15.
    let acked = env
        .run(&[
            "simulate",
            "--chain",
            "support",
            "--from",
            FRIDAY_4PM,
            "--ack-at",
            "2026-12-07T14:15:00Z",
            "--json",
        ])
        .ok()
        .json();
    let kinds: Vec<&str> = acked["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["notified", "sla_met", "acknowledged"], "{acked}");
}

#[test]
fn simulate_refuses_an_unknown_chain_and_a_bad_time() {
    let env = Env::with_config(CONFIG);
    let r = env.run(&["simulate", "--chain", "nope"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no chain `nope`"), "{}", r.stderr);
    let r = env.run(&["simulate", "--chain", "support", "--from", "friday"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("invalid --from `friday`"), "{}", r.stderr);
}

#[test]
fn views_judge_sla_at_the_moment_they_run() {
    let env = Env::init(CONFIG);
    let id = env.create(FRIDAY_4PM, "support", "Nobody checked");
    // Monday 10:30 EST, no check since Friday: the 2 h response target
    // (Monday 10:00) has passed though nothing recorded it.
    let monday = "2026-12-07T15:30:00Z";
    let show = env
        .at(monday, &["show", &id.to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(show["sla_state"], "breached", "{show}");
    assert_eq!(show["sla"]["response"]["state"], "breached");
    assert_eq!(show["sla"]["response"]["recorded"], false);
    let text = env.at(monday, &["show", &id.to_string()]).ok().stdout;
    assert!(
        text.contains("BREACHED at") && text.contains("not yet recorded"),
        "{text}"
    );
    let list = env.at(monday, &["list"]).ok().stdout;
    assert!(list.contains("breached (not yet recorded)"), "{list}");
    let breached = env
        .at(monday, &["list", "--breached", "--json"])
        .ok()
        .json();
    assert_eq!(breached.as_array().map(Vec::len), Some(1), "{breached}");
    let at_risk = env.at(monday, &["list", "--at-risk", "--json"]).ok().json();
    assert_eq!(
        at_risk.as_array().map(Vec::len),
        Some(0),
        "past its deadline: {at_risk}"
    );
    // Monday 09:40: past the at-risk instant (09:36), before the deadline.
    let risky = env
        .at("2026-12-07T14:40:00Z", &["list", "--at-risk", "--json"])
        .ok()
        .json();
    assert_eq!(risky.as_array().map(Vec::len), Some(1), "{risky}");
    let status = env.at(monday, &["status", "--json"]).json();
    assert_eq!(status["sla_breached"], 1, "{status}");
    // Once a check records it, the mark goes.
    env.at(monday, &["check"]).ok();
    let show = env
        .at(monday, &["show", &id.to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(show["sla"]["response"]["recorded"], true);
    let list = env.at(monday, &["list"]).ok().stdout;
    assert!(
        list.contains("breached") && !list.contains("not yet"),
        "{list}"
    );
}

#[test]
fn config_check_warns_when_a_schedule_outruns_its_calendar() {
    let sparse = r#"
[calendars.rare]
timezone = "UTC"
hours = { mon = "00:00-00:30" }

[chains.slow]
calendar = "rare"
levels = [{ role = "agent", wait_hours = 200 }, { role = "lead", wait_hours = 1 }]

[roles.agent]
[roles.lead]
"#;
    let env = Env::with_config(sparse);
    let r = env.at(FRIDAY_4PM, &["config", "check"]);
    assert!(
        r.stderr
            .contains("warning: chain `slow` needs 8d 8h of calendar `rare` open time"),
        "{}",
        r.stderr
    );
    // The office calendar is fine.
    let ok = Env::with_config(CONFIG).at(FRIDAY_4PM, &["config", "check"]);
    assert!(
        !ok.stderr.contains("open time for its whole schedule"),
        "{}",
        ok.stderr
    );
}
