//! SLA targets through the real binary: at-risk and breach recorded once at
//! the instant they happened (late checks included), met on ack/resolve,
//! owners and breach_notify roles told, list/show display and filters.

use crate::support::*;
use serde_json::Value;

/// Response 1 h, resolution 4 h, at risk at 80 %; breaches also go to the
/// duty manager. Every role prints on the console.
const CONFIG: &str = r#"
[chains.support]
levels = [
  { role = "agent", wait_hours = 2 },
  { role = "lead", wait_hours = 8 },
]
response_hours = 1
resolution_hours = 4
breach_notify = ["duty_manager"]

[chains.plain]
levels = [{ role = "agent", wait_hours = 1 }]

[roles.agent]
[roles.lead]
[roles.duty_manager]
"#;

fn sla_events(env: &Env, id: i64) -> Vec<(String, String, String)> {
    env.events(id)
        .iter()
        .filter(|e| ["at_risk", "breached", "sla_met"].contains(&e["kind"].as_str().unwrap_or("")))
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["details"]["target"].as_str().unwrap_or("").to_string(),
                e["at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn ev(kind: &str, target: &str, minutes: i64) -> (String, String, String) {
    (kind.to_string(), target.to_string(), at_minutes(minutes))
}

fn sla_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("[SLA "))
        .map(str::to_string)
        .collect()
}

#[test]
fn at_risk_and_breach_once_each_at_their_instants_even_when_checks_are_late() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "support", "Checkout fails");
    assert!(sla_lines(&env.at(47, &["check"]).ok().stdout).is_empty());
    let r = env.at(48, &["check"]).ok();
    let lines = sla_lines(&r.stdout);
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("SLA response at risk"), "{lines:?}");
    assert!(lines[0].contains("-> agent"), "{lines:?}");
    assert!(lines[0].contains("12m left"), "{lines:?}");

    // The next check runs at 3h20m: the response breach happened at 1h, the
    // resolution clock turned at risk at 3h12m, and level 2 came due at 2h.
    let r = env.at(200, &["check"]).ok();
    assert_eq!(
        sla_events(&env, id),
        vec![
            ev("at_risk", "response", 48),
            ev("breached", "response", 60),
            ev("at_risk", "resolution", 192),
        ]
    );
    let lines = sla_lines(&r.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("SLA response BREACHED") && l.contains("-> lead")),
        "the owner at the time of the check (level 2) hears of it: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("SLA response BREACHED") && l.contains("-> duty_manager")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("SLA resolution at risk")),
        "{lines:?}"
    );

    // Later checks record nothing twice; the resolution breach comes at 4h.
    env.at(201, &["check"]).ok();
    let r = env.at(241, &["check"]).ok();
    assert_eq!(
        sla_lines(&r.stdout).len(),
        2,
        "owner + breach_notify: {r:?}"
    );
    assert_eq!(
        sla_events(&env, id).last(),
        Some(&ev("breached", "resolution", 240))
    );
    assert_eq!(sla_events(&env, id).len(), 4);
    assert!(sla_lines(&env.at(600, &["check"]).ok().stdout).is_empty());

    let v = env.show(id);
    assert_eq!(v["sla_state"], "breached");
    assert_eq!(v["sla"]["response"]["state"], "breached");
    assert_eq!(v["sla"]["resolution"]["due_at"], at_minutes(240));
}

#[test]
fn ack_meets_response_while_the_resolution_clock_keeps_running() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "support", "Slow pages");
    let r = env.at(30, &["ack", &id.to_string(), "--by", "ann"]).ok();
    // The chain has no ack timeout: the running SLA clock is no "resume".
    assert!(r.stdout.contains("escalation stopped"), "{r:?}");
    assert_eq!(sla_events(&env, id), vec![ev("sla_met", "response", 30)]);
    // Acknowledged: no escalation, but the resolution warning still comes.
    let r = env.at(192, &["check"]).ok();
    let lines = sla_lines(&r.stdout);
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("SLA resolution at risk"), "{lines:?}");
    assert!(
        lines[0].contains("-> agent"),
        "a person owns it; the level's role is told: {lines:?}"
    );
    env.at(200, &["resolve", &id.to_string()]).ok();
    assert_eq!(
        sla_events(&env, id),
        vec![
            ev("sla_met", "response", 30),
            ev("at_risk", "resolution", 192),
            ev("sla_met", "resolution", 200),
        ]
    );
    assert_eq!(env.show(id)["sla_state"], "met");
    assert!(sla_lines(&env.at(300, &["check"]).ok().stdout).is_empty());
}

#[test]
fn an_ack_after_an_unseen_deadline_records_the_breach_not_a_met() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "support", "No check ran");
    // No check between creation and this ack at 1h30m.
    env.at(90, &["ack", &id.to_string(), "--by", "bob"]).ok();
    assert_eq!(
        sla_events(&env, id),
        vec![
            ev("at_risk", "response", 48),
            ev("breached", "response", 60)
        ]
    );
    // Found while a person acts: recorded, not sent.
    let r = env.at(91, &["check"]).ok();
    assert!(sla_lines(&r.stdout).is_empty(), "{r:?}");
}

#[test]
fn list_shows_sla_state_and_filters_at_risk_and_breached() {
    let env = Env::init(CONFIG);
    let a = env.create(0, "support", "will breach");
    let b = env.create(10, "support", "at risk");
    let c = env.create(50, "support", "fine");
    let d = env.create(0, "plain", "no targets");
    env.at(60, &["check"]).ok();

    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        env.at(60, &all)
            .ok()
            .json()
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["id"].as_i64().unwrap_or(0))
            .collect()
    };
    assert_eq!(ids(&["--breached"]), vec![a]);
    assert_eq!(ids(&["--at-risk"]), vec![b]);
    assert_eq!(ids(&[]), vec![a, b, c, d]);

    let table = env.at(60, &["list"]).ok().stdout;
    let row = |id: i64| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
            .unwrap_or("")
            .to_string()
    };
    assert!(row(a).contains("breached"), "{table}");
    assert!(row(b).contains("at risk, 10m left"), "{table}");
    assert!(row(c).contains("ok, 50m left"), "{table}");
    assert!(row(d).contains(" - "), "{table}");

    let shown = env.at(60, &["show", &b.to_string()]).ok().stdout;
    assert!(shown.contains("SLA:"), "{shown}");
    assert!(shown.contains("response   AT RISK"), "{shown}");
    // Judged at the moment it runs (here minute 60), like every view.
    let v: Value = env.at(60, &["show", &c.to_string(), "--json"]).ok().json();
    assert_eq!(v["sla"]["response"]["state"], "ok");
}

#[test]
fn adding_targets_to_a_live_chain_applies_them_to_open_issues() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "plain", "old issue");
    env.at(5, &["check"]).ok();
    env.write_config(&CONFIG.replace(
        "[chains.plain]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\n",
        "[chains.plain]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\nresolution_hours = 2\nat_risk_hours = 0.5\n",
    ));
    env.at(100, &["check"]).ok();
    assert_eq!(sla_events(&env, id), vec![ev("at_risk", "resolution", 90)]);
    env.at(121, &["check"]).ok();
    assert_eq!(
        sla_events(&env, id).last(),
        Some(&ev("breached", "resolution", 120))
    );
}

#[test]
fn bad_sla_settings_are_one_line_errors() {
    let cases = [
        ("response_hours = 1\nat_risk = 1.5", "at_risk is a fraction"),
        (
            "response_hours = 1\nat_risk = 0.5\nat_risk_hours = 0.1",
            "not both",
        ),
        (
            "response_hours = 1\nat_risk_hours = 3",
            "less than the shortest SLA target",
        ),
        ("response_hours = 0", "greater than 0"),
        ("resolution_hours = -1", "must not be negative"),
        (
            "response_hours = 1\nbreach_notify = [\"ghost\"]",
            "unknown role `ghost`",
        ),
        ("breach_notify = [\"lead\"]", "breach_notify needs a target"),
        ("at_risk = 0.5", "at_risk needs a target"),
        ("response_hours = \"soon\"", "response_hours"),
        (
            "response_hours = 9000",
            "at most 8784 hours (a year), not 9000",
        ),
    ];
    for (lines, fragment) in cases {
        let config = format!(
            "[chains.c]\nlevels = [{{ role = \"lead\", wait_hours = 1 }}]\n{lines}\n[roles.lead]\n"
        );
        Test::new()
            .no_db()
            .config(&config)
            .args(["config", "check"])
            .code(2)
            .stderr_has(fragment)
            .one_line_error("chains.toml:")
            .run();
    }
}

#[test]
fn config_check_summarises_targets_and_counts_breach_roles_as_used() {
    Test::new()
        .no_db()
        .config(CONFIG)
        .args(["config", "check"])
        .stdout_has("SLA response: within 1h, at risk after 48m")
        .stdout_has("SLA resolution: within 4h, at risk after 3h 12m")
        .stdout_has("breaches also notify duty_manager")
        .stderr_lacks("`duty_manager` is not used")
        .run();
}

#[test]
fn an_ack_exactly_at_the_deadline_meets_it_even_when_the_issue_is_due() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "support", "On the dot");
    env.at(50, &["check"]).ok(); // at risk at 48; next due: the deadline, 60
    env.at(60, &["ack", &id.to_string(), "--by", "ann"]).ok();
    assert_eq!(
        sla_events(&env, id),
        vec![ev("at_risk", "response", 48), ev("sla_met", "response", 60)]
    );
}

#[test]
fn a_response_breach_resolved_without_an_ack_ends_at_the_resolve() {
    let env = Env::init(CONFIG);
    let id = env.create(0, "support", "never acked");
    env.at(61, &["check"]).ok(); // response breached at 60
    env.at(150, &["resolve", &id.to_string()]).ok();
    let r = env
        .at(200, &["report", "--days", "1", "--format", "json"])
        .ok()
        .json();
    let worst = r["worst_breaches"].as_array().expect("breaches");
    let response = worst
        .iter()
        .find(|b| b["target"] == "response")
        .expect("the response breach");
    assert_eq!(response["overshoot_seconds"], 90 * 60, "{response}");
}
