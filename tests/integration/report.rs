//! `escalate report` end to end: a hand-computed fixture checked figure by
//! figure in JSON, the window semantics (seed bug B6), the markdown layout
//! as a snapshot, CSV, every user-caused error, and `--mail-to` against a
//! real SMTP server on 127.0.0.1.

use crate::support::smtp::SmtpPeer;
use crate::support::*;
use serde_json::{json, Value};

/// Two chains: `support` with SLA targets (response 30 min, resolution
/// 3 h), `ops` without, whose level 1 pages a webhook nobody listens on (one
/// attempt allowed, so every page to it is dead at once).
fn fixture_config(dead_port: u16) -> String {
    format!(
        r#"
[chains.support]
levels = [
  {{ level = 1, role = "agent", wait_hours = 1 }},
  {{ level = 2, role = "lead", wait_hours = 2 }},
  {{ level = 3, role = "manager", wait_hours = 4 }},
]
response_hours = 0.5
resolution_hours = 3

[chains.ops]
levels = [
  {{ level = 1, role = "oncall", wait_hours = 0.5 }},
  {{ level = 2, role = "cto", wait_hours = 1 }},
]
repeat = 1

[delivery]
max_attempts = 1

[roles.agent]
description = "agents"
[roles.lead]
description = "lead"
[roles.manager]
description = "manager"
[roles.oncall]
webhook = "http://127.0.0.1:{dead_port}/hook"
[roles.cto]
description = "cto"
"#
    )
}

/// `check` may exit 3 while dead deliveries exist; anything else fails.
fn check(env: &Env, minute: i64) {
    let r = env.at(minute, &["check"]);
    assert!(r.code == 0 || r.code == 3, "check at {minute}: {r:?}");
}

/// `create` on a chain whose level 1 cannot be reached exits 3 (stored,
/// delivery failed); returns the id.
fn create_failing(env: &Env, minute: i64, chain: &str, title: &str) -> i64 {
    let r = env
        .at(minute, &["create", "--chain", chain, "--title", title])
        .code(3);
    r.stdout.trim().parse().expect("id")
}

/// The timeline, in minutes after t0 (2026-11-02 09:00 UTC):
///
/// support (L1 1 h, L2 2 h, L3; response 30 min, resolution 3 h)
///   #1  created 0, acked 10, resolved 40 — both targets met, stays at L1.
///   #2  created 0, response breached at 30, L2 at the check at 60, acked
///       70 (late), resolved 150 (resolution met).
///   #3  created 20, never acked: response breached at 50, L2 at 80, L3 and
///       resolution breached at 200; still open at the end (300).
/// ops (L1 30 min, L2 1 h, one repeat; no SLA)
///   #4  created 100, L2 at 130, repeat at 190, resolved 210.
///   #5  created 250, still open at L1.
fn fixture() -> Env {
    let env = Env::init(&fixture_config(closed_port()));
    assert_eq!(env.create(0, "support", "Login broken"), 1);
    assert_eq!(env.create(0, "support", "Refund stuck"), 2);
    env.at(10, &["ack", "1", "--by", "dana"]).ok();
    assert_eq!(env.create(20, "support", "Invoices missing"), 3);
    check(&env, 30);
    env.at(40, &["resolve", "1"]).ok();
    check(&env, 60);
    env.at(70, &["ack", "2", "--by", "lee"]).ok();
    check(&env, 80);
    assert_eq!(create_failing(&env, 100, "ops", "Disk full"), 4);
    check(&env, 130);
    env.at(150, &["resolve", "2"]).ok();
    check(&env, 190);
    check(&env, 200);
    env.at(210, &["resolve", "4"]).ok();
    assert_eq!(create_failing(&env, 250, "ops", "Queue backlog"), 5);
    env
}

fn report_json(env: &Env, extra: &[&str]) -> Value {
    let since = at_minutes(0);
    let until = at_minutes(300);
    let mut args = vec![
        "report", "--since", &since, "--until", &until, "--format", "json",
    ];
    args.extend_from_slice(extra);
    env.at(300, &args).ok().json()
}

fn chain<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["chain"] == name)
        .unwrap_or_else(|| panic!("no chain {name}: {r:#}"))
}

/// A spread in wall-clock seconds (the fixtures' chains are on `always`).
fn spread(count: u64, median: Option<i64>, p90: Option<i64>) -> Value {
    json!({"count": count, "median_seconds": median, "p90_seconds": p90,
           "basis": "wall", "calendar": "always"})
}

/// A level line whose completed stays are all on `always`.
fn level_line(
    level: u32,
    role: &str,
    reached: u64,
    stay: (u64, Option<i64>, Option<i64>),
    ended: (u64, u64, u64),
) -> Value {
    let by_calendar = if stay.0 == 0 {
        json!([])
    } else {
        json!([{"basis": "wall", "calendar": "always", "timezone": null,
                "stay": spread(stay.0, stay.1, stay.2)}])
    };
    json!({"level": level, "role": role, "reached": reached,
           "stay": spread(stay.0, stay.1, stay.2), "stay_by_calendar": by_calendar,
           "escalated": ended.0, "resolved": ended.1, "still_there": ended.2})
}

#[test]
fn hand_computed_fixture_in_json() {
    let env = fixture();
    let r = report_json(&env, &[]);

    assert_eq!(
        r["window"],
        json!({"since": "2026-11-02T09:00:00Z", "until": "2026-11-02T14:00:00Z",
               "seconds": 18_000, "chain": null})
    );
    let t = &r["totals"];
    assert_eq!(t["involved"], 5, "{t}");
    assert_eq!(t["opened"], 5, "{t}");
    assert_eq!(t["resolved"], 3, "#1, #2, #4: {t}");
    assert_eq!(t["still_open"], 2, "#3, #5: {t}");
    assert_eq!(t["escalated"], 3, "#2, #3, #4: {t}");

    let s = chain(&r, "support");
    assert_eq!(
        (
            &s["involved"],
            &s["opened"],
            &s["resolved"],
            &s["still_open"]
        ),
        (&json!(3), &json!(3), &json!(2), &json!(1))
    );
    assert_eq!(s["escalated"], 2);
    assert_eq!(s["escalation_rate"], 0.6667);
    assert_eq!(
        s["highest_level"],
        json!([{"level": 1, "issues": 1}, {"level": 2, "issues": 1}, {"level": 3, "issues": 1}])
    );
    // resolved: #1 after 40 min, #2 after 150 min
    assert_eq!(s["time_to_resolve"], spread(2, Some(2400), Some(9000)));
    // Stays: L1 40 (#1, resolved), 60 (#2) and 60 min (#3, escalated);
    // L2 90 (#2, resolved) and 120 min (#3, escalated); L3 still going.
    assert_eq!(
        s["levels"],
        json!([
            level_line(1, "agent", 3, (3, Some(3600), Some(3600)), (2, 1, 0)),
            level_line(2, "lead", 2, (2, Some(5400), Some(7200)), (1, 1, 0)),
            level_line(3, "manager", 1, (0, None, None), (0, 0, 1)),
        ])
    );

    let o = chain(&r, "ops");
    assert_eq!(
        (
            &o["involved"],
            &o["opened"],
            &o["resolved"],
            &o["still_open"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(1))
    );
    assert_eq!(o["escalated"], 1);
    assert_eq!(o["escalation_rate"], 0.5);
    assert_eq!(o["time_to_ack"], spread(0, None, None));
    assert_eq!(o["time_to_resolve"], spread(1, Some(6600), Some(6600)));
    // The repeat page at 190 does not split #4's stay at L2 (130 → 210).
    assert_eq!(
        o["levels"],
        json!([
            level_line(1, "oncall", 2, (1, Some(1800), Some(1800)), (1, 0, 1)),
            level_line(2, "cto", 1, (1, Some(4800), Some(4800)), (0, 1, 0)),
        ])
    );
    assert_eq!(
        o["sla"],
        json!({"response": {"met": 0, "breached": 0, "met_percent": null},
               "resolution": {"met": 0, "breached": 0, "met_percent": null}})
    );

    let ranked: Vec<(&str, f64)> = r["escalating_most"]
        .as_array()
        .expect("ranking")
        .iter()
        .map(|e| {
            (
                e["chain"].as_str().unwrap_or(""),
                e["escalation_rate"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(ranked, [("support", 0.6667), ("ops", 0.5)]);

    let open: Vec<(i64, i64, i64, &str)> = r["longest_open"]
        .as_array()
        .expect("open")
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap_or(0),
                o["level"].as_i64().unwrap_or(0),
                o["age_seconds"].as_i64().unwrap_or(0),
                o["owner"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(open, [(3, 3, 16_800, "manager"), (5, 1, 3_000, "oncall")]);

    // Both pages to the dead webhook failed once and are dead.
    assert_eq!(
        r["delivery"],
        json!({"failed_attempts": 2, "dead": 2,
               "by_channel": [{"channel": "webhook", "failed_attempts": 2, "dead": 2}]})
    );

    // --- figures that need the SLA events (`sla_met`, `breached`) and
    // first_acked_at written by create/ack/resolve/check.
    // acked: #1 after 10 min, #2 after 70 min
    assert_eq!(s["time_to_ack"], spread(2, Some(600), Some(4200)), "{s:#}");
    assert_eq!(t["breached"], 2, "#2 and #3: {t}");
    assert_eq!(s["breached"], 2, "{s:#}");
    assert_eq!(
        s["sla"],
        json!({"response": {"met": 1, "breached": 2, "met_percent": 33.3},
               "resolution": {"met": 2, "breached": 1, "met_percent": 66.7}}),
        "{s:#}"
    );
    assert_eq!(
        r["worst_breaches"],
        json!([
            {"id": 3, "chain": "support", "title": "Invoices missing", "target": "response",
             "due_at": "2026-11-02T09:50:00Z", "settled_at": null, "overshoot_seconds": 15_000,
             "basis": "wall", "calendar": "always"},
            {"id": 3, "chain": "support", "title": "Invoices missing", "target": "resolution",
             "due_at": "2026-11-02T12:20:00Z", "settled_at": null, "overshoot_seconds": 6_000,
             "basis": "wall", "calendar": "always"},
            {"id": 2, "chain": "support", "title": "Refund stuck", "target": "response",
             "due_at": "2026-11-02T09:30:00Z", "settled_at": "2026-11-02T10:10:00Z",
             "overshoot_seconds": 2_400, "basis": "wall", "calendar": "always"},
        ])
    );
}

#[test]
fn chain_filter_and_csv_carry_the_same_figures() {
    let env = fixture();
    let r = report_json(&env, &["--chain", "ops"]);
    assert_eq!(r["window"]["chain"], "ops");
    let names: Vec<&str> = r["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .filter_map(|c| c["chain"].as_str())
        .collect();
    assert_eq!(names, ["ops"]);
    assert_eq!(r["totals"]["involved"], 2);
    let open: Vec<i64> = r["longest_open"]
        .as_array()
        .expect("open")
        .iter()
        .filter_map(|o| o["id"].as_i64())
        .collect();
    assert_eq!(open, [5]);

    let since = at_minutes(0);
    let until = at_minutes(300);
    let csv = env
        .at(
            300,
            &[
                "report", "--since", &since, "--until", &until, "--format", "csv",
            ],
        )
        .ok()
        .stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and one row per chain: {csv}");
    assert!(
        lines[0].starts_with(
            "chain,configured,involved,opened,resolved,still_open,escalated,escalation_rate,"
        ),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("ops,true,2,2,1,1,1,0.5,0,L1=1;L2=1,wall,always,0,,,1,6600,6600,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("support,true,3,3,2,1,2,0.6667,"),
        "{csv}"
    );
}

/// Seed bug B6: an issue opened before the window and resolved inside it is
/// involved and resolved (not opened); one resolved before it is not there.
#[test]
fn window_counts_issues_open_at_any_moment_of_it() {
    let env = Env::new();
    let old_done = env.create(0, "customer_issue", "opened and resolved before");
    env.at(60, &["resolve", &old_done.to_string()]).ok();
    let old_open = env.create(0, "customer_issue", "opened before, resolved inside");
    env.at(5 * 24 * 60, &["resolve", &old_open.to_string()])
        .ok();
    let fresh = env.create(8 * 24 * 60, "system_outage", "opened inside");

    // --days 7 at day 10: [day 3, day 10)
    let r = env
        .at(10 * 24 * 60, &["report", "--days", "7", "--format", "json"])
        .ok()
        .json();
    assert_eq!(r["window"]["since"], "2026-11-05T09:00:00Z");
    assert_eq!(r["window"]["until"], "2026-11-12T09:00:00Z");
    let t = &r["totals"];
    assert_eq!(t["involved"], 2, "{t}");
    assert_eq!(t["opened"], 1, "{t}");
    assert_eq!(t["resolved"], 1, "{t}");
    assert_eq!(t["still_open"], 1, "{t}");
    let c = chain(&r, "customer_issue");
    assert_eq!(
        (&c["involved"], &c["opened"], &c["resolved"]),
        (&json!(1), &json!(0), &json!(1))
    );
    assert_eq!(
        c["time_to_resolve"],
        spread(1, Some(5 * 86_400), Some(5 * 86_400))
    );
    let open: Vec<i64> = r["longest_open"]
        .as_array()
        .expect("open")
        .iter()
        .filter_map(|o| o["id"].as_i64())
        .collect();
    assert_eq!(open, [fresh]);

    // The same window given as dates; bare dates are midnight UTC, and
    // `until` is exclusive.
    let r = env
        .run(&[
            "report",
            "--since",
            "2026-11-05",
            "--until",
            "2026-11-12",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["window"]["since"], "2026-11-05T00:00:00Z");
    assert_eq!(r["totals"]["involved"], 2);
    assert_eq!(r["totals"]["resolved"], 1);
    // A window that ends before the resolution sees the issue still open.
    let r = env
        .run(&[
            "report",
            "--since",
            "2026-11-05",
            "--until",
            "2026-11-07T09:00:00Z",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["totals"]["involved"], 1, "{r:#}");
    assert_eq!(r["totals"]["resolved"], 0);
    assert_eq!(r["totals"]["still_open"], 1);
}

/// Seed bug B7 (the report lost the level reached and all times), on the
/// scenario the first report test used: an issue that climbed to L4 in one
/// late check before the window and was resolved inside it keeps its
/// highest level and its six days at L4; escalations before the window do
/// not count as escalations in it.
#[test]
fn levels_reached_and_time_spent_survive() {
    let env = Env::new();
    let climbed = env.create(0, "customer_issue", "old but resolved inside");
    let done = env.create(0, "customer_issue", "old and done");
    env.at(60, &["resolve", &done.to_string()]).ok();
    // One check two days in catches up L2, L3 and L4 at once.
    env.at(2 * 24 * 60, &["check"]).ok();
    env.at(8 * 24 * 60, &["resolve", &climbed.to_string()]).ok();
    let fresh = env.create(9 * 24 * 60, "system_outage", "new and open");
    env.at(9 * 24 * 60 + 30, &["check"]).ok();
    let now = 10 * 24 * 60;
    let r = env
        .at(now, &["report", "--days", "7", "--format", "json"])
        .ok()
        .json();
    let t = &r["totals"];
    assert_eq!(
        [
            &t["involved"],
            &t["opened"],
            &t["resolved"],
            &t["still_open"],
            &t["escalated"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(1), &json!(1)],
        "{t}"
    );
    let c = chain(&r, "customer_issue");
    assert_eq!(
        c["highest_level"],
        json!([{"level": 1, "issues": 0}, {"level": 2, "issues": 0},
               {"level": 3, "issues": 0}, {"level": 4, "issues": 1}])
    );
    let l4 = &c["levels"][3];
    assert_eq!(l4["level"], 4);
    assert_eq!(l4["reached"], 0, "reached before the window: {l4}");
    assert_eq!(l4["resolved"], 1, "{l4}");
    assert_eq!(l4["stay"], spread(1, Some(6 * 86_400), Some(6 * 86_400)));
    let o = chain(&r, "system_outage");
    assert_eq!(
        o["levels"][0]["stay"],
        spread(1, Some(30 * 60), Some(30 * 60))
    );
    assert_eq!(o["levels"][1]["still_there"], 1);
    assert_eq!(r["longest_open"][0]["id"], fresh);
    assert_eq!(r["longest_open"][0]["level"], 2);
    let md = env.at(now, &["report"]).ok().stdout;
    assert!(md.starts_with("# Escalation report"), "{md}");
    assert!(!md.contains("old and done"), "{md}");
}

const SNAPSHOT_CONFIG: &str = r#"
[chains.web]
levels = [
  { level = 1, role = "agent", wait_hours = 1 },
  { level = 2, role = "lead", wait_hours = 2 },
]

[roles.agent]
description = "agents"
[roles.lead]
description = "lead"
"#;

#[test]
fn markdown_layout_snapshot() {
    let env = Env::init(SNAPSHOT_CONFIG);
    env.create(0, "web", "Checkout fails");
    env.create(30, "web", "Slow search | filters");
    env.at(60, &["check"]).ok();
    env.at(90, &["resolve", "1"]).ok();
    let since = at_minutes(0);
    let md = env.at(120, &["report", "--since", &since]).ok().stdout;
    let expected = "\
# Escalation report: 2026-11-02 09:00 to 2026-11-02 11:00 UTC

All chains, 2h: every issue open at any moment of the window.

## Totals

- open at any moment: 2
- opened: 2
- resolved: 1
- still open at the end: 1
- escalated (paged at level 2 or higher): 1
- SLA breached: 0

## By chain

| chain | open | opened | resolved | still open | escalated | escalation rate | SLA breached |
|---|---:|---:|---:|---:|---:|---:|---:|
| web | 2 | 2 | 1 | 1 | 1 | 50% | 0 |

## Response times

Counted in the hours of each issue's calendar (its chain's, or its SLA policy's): `business h` is open time of that calendar, the others wall-clock time.

| chain | hours counted | to ack, median | to ack, p90 | to resolve, median | to resolve, p90 |
|---|---|---:|---:|---:|---:|
| web | wall clock (calendar `always`) | — | — | 1h 30m | 1h 30m |

## SLA met

| chain | response SLA met | resolution SLA met |
|---|---:|---:|
| web | — | — |

## Chains that escalate most

1. web: 50% (1 of 2)

## Where the chains break down

### web

Highest level reached:

    L1 agent  ████████████████████ 1
    L2 lead   ████████████████████ 1

Reached in the window:

    L1 agent  ████████████████████ 2
    L2 lead   ██████████ 1

Stays counted in: wall clock (calendar `always`).

| level | reached | median stay | p90 stay | escalated up | resolved there | still there |
|---|---:|---:|---:|---:|---:|---:|
| L1 agent | 2 | 1h | 1h | 1 | 0 | 1 |
| L2 lead | 1 | 30m | 30m | 0 | 1 | 0 |

## Longest open at the end

| # | chain | title | level | owner | opened (UTC) | open for (wall clock) |
|---:|---|---|---:|---|---|---:|
| 2 | web | Slow search \\| filters | L1 | agent (no ack) | 2026-11-02 09:30 | 1h 30m |

## Worst SLA breaches

None.

## Delivery failures

None.
";
    assert_eq!(md, expected, "got:\n{md}");
}

#[test]
fn user_errors_are_one_line_with_their_exit_code() {
    let env = Env::new();
    env.run(&["report", "--chain", "nope"])
        .code(2)
        .one_line_error("unknown chain `nope`");
    env.run(&["report", "--since", "last tuesday"])
        .code(2)
        .one_line_error("invalid --since `last tuesday`");
    env.run(&["report", "--until", "2026-02-30"])
        .code(2)
        .one_line_error("invalid --until");
    env.run(&["report", "--since", "2026-11-09", "--until", "2026-11-02"])
        .code(2)
        .one_line_error("empty window");
    env.run(&["report", "--since", "2026-11-09", "--until", "2026-11-09"])
        .code(2)
        .one_line_error("empty window");
    env.run(&["report", "--mail-to", "leads@example.com"])
        .code(2)
        .one_line_error("--mail-to needs an [email] section");
    // --days and --since together: refused by the argument parser.
    let r = env.run(&["report", "--days", "3", "--since", "2026-11-01"]);
    assert_eq!(r.code, 2, "{r:?}");

    // A chain gone from the config but with issues is still reportable.
    let id = env.create(0, "system_outage", "down");
    env.write_config(&STARTER.replace("[chains.system_outage]", "[chains.gone_outage]"));
    let r = env
        .at(
            60,
            &["report", "--chain", "system_outage", "--format", "json"],
        )
        .ok()
        .json();
    let c = chain(&r, "system_outage");
    assert_eq!(c["configured"], false);
    assert_eq!(r["longest_open"][0]["id"], id);
    // An unset database is the database's error, before anything else.
    env.run(&["--db", "missing.db", "report"]).code(5);
}

fn email_config(smtp: &str) -> String {
    format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{smtp}\"\ntls = \"none\"\n\n{SNAPSHOT_CONFIG}"
    )
}

#[test]
fn mail_to_sends_the_markdown_through_smtp() {
    let peer = SmtpPeer::plain();
    let env = Env::init(&email_config(&peer.url()));
    env.create(0, "web", "Checkout fails");
    env.at(60, &["check"]).ok();
    let since = at_minutes(0);
    let printed = env.at(120, &["report", "--since", &since]).ok().stdout;
    let r = env
        .at(
            120,
            &[
                "report",
                "--since",
                &since,
                "--mail-to",
                "leads@example.com",
            ],
        )
        .ok();
    assert_eq!(r.stdout, "", "mailing prints nothing on stdout: {r:?}");
    assert_eq!(r.stderr.trim(), "report mailed to leads@example.com");
    let mails = peer.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert_eq!(m.from, "escalate@example.com");
    assert_eq!(m.to, ["leads@example.com"]);
    assert_eq!(m.subject(), "[escalate] report: 2026-11-02 to 2026-11-02");
    assert_eq!(m.body().trim_end(), printed.trim_end());
    assert!(printed.contains("L2 lead"), "{printed}");

    // An explicit format still prints; the mail is the markdown.
    let r = env
        .at(
            120,
            &[
                "report",
                "--since",
                &since,
                "--mail-to",
                "leads@example.com",
                "--format",
                "json",
            ],
        )
        .ok();
    assert_eq!(r.json()["totals"]["involved"], 1);
    assert_eq!(peer.mails().len(), 2);
    assert!(peer.mails()[1].body().starts_with("# Escalation report"));
}

#[test]
fn mail_to_a_dead_relay_names_it_without_the_password() {
    let port = closed_port();
    let env = Env::init(&email_config(&format!(
        "smtp://reporter:hunter2-secret@127.0.0.1:{port}"
    )));
    let r = env
        .run(&["report", "--mail-to", "leads@example.com"])
        .code(1)
        .one_line_error(&format!("smtp://127.0.0.1:{port}/"));
    assert!(!r.stderr.contains("hunter2-secret"), "{r:?}");
    assert!(r.stderr.contains("report not sent"), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    env.run(&["report", "--mail-to", "not an address"])
        .code(2)
        .one_line_error("invalid --mail-to `not an address`");
}

/// The report folds new events into its rollups in a write transaction of
/// its own, but never waits for the lock: with another writer holding it,
/// the report reads the event log at once, with the same figures as after
/// a fold.
#[test]
fn a_held_write_lock_neither_delays_nor_changes_the_report() {
    let env = fixture();
    let since = at_minutes(0);
    let until = at_minutes(300);
    let args = [
        "--busy-timeout",
        "5",
        "report",
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "json",
    ];
    let holder = env.hold_write_lock();
    let started = std::time::Instant::now();
    let locked = env.at(300, &args).ok().json();
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(3),
        "the report waited {took:?} for the write lock (busy timeout 5 s)"
    );
    holder.release();
    let folded = env.at(300, &args).ok().json();
    assert_eq!(locked, folded);
}
