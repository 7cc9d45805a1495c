//! `escalate report` on business-hours calendars: each issue's durations
//! are counted in the open hours of the calendar that governs it (its
//! chain's, or its SLA policy's) and labelled so, in JSON, markdown and
//! CSV; issues on different calendars are never pooled into one figure.
//! Every expected figure below differs from the wall-clock one, so a report
//! that counted elapsed time fails.

use crate::support::*;
use serde_json::{json, Value};

/// New York office hours for normal issues; urgent ones (a policy) run on
/// `always`. Response targets: 2 office hours, 1 hour for urgent.
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

[[chains.support.sla]]
priority = ["urgent"]
response_hours = 1
calendar = "always"

[roles.agent]
[roles.lead]
"#;

const SINCE: &str = "2026-12-04T00:00:00Z";
/// Monday 7 December 2026, 11:30 in New York.
const UNTIL: &str = "2026-12-07T16:30:00Z";

fn create(env: &Env, when: &str, title: &str, priority: Option<&str>) -> i64 {
    let mut args = vec!["create", "--chain", "support", "--title", title];
    if let Some(p) = priority {
        args.extend(["--priority", p]);
    }
    let r = env.at(when, &args).ok();
    r.stdout.trim().parse().expect("id")
}

/// The week-end of 4–7 December 2026 (New York EST = UTC−5):
///
///   A  normal, filed Fri 14:00, never acked: response due Fri 16:00
///      (breached), L2 at Mon 10:00 (3 h Friday + 1 h Monday).
///   B  normal, filed Fri 16:00, acked Mon 10:00 (at its deadline: met),
///      resolved Mon 11:00 at L1.
///   C  urgent (`always`), filed Fri 16:00, response due 17:00, acked
///      17:30 (late).
///   D  normal, filed Fri 16:00, never acked: response due Mon 10:00.
///   E  urgent, filed Fri 16:00, never acked: L2 at Fri 20:00.
fn weekend() -> (Env, [i64; 5]) {
    let env = Env::init(CONFIG);
    let a = create(&env, "2026-12-04T19:00:00Z", "A", None);
    let b = create(&env, "2026-12-04T21:00:00Z", "B", None);
    let c = create(&env, "2026-12-04T21:00:00Z", "C", Some("urgent"));
    let d = create(&env, "2026-12-04T21:00:00Z", "D", None);
    let e = create(&env, "2026-12-04T21:00:00Z", "E", Some("urgent"));
    env.at("2026-12-04T21:00:00Z", &["check"]).ok();
    env.at("2026-12-04T22:00:00Z", &["check"]).ok();
    env.at(
        "2026-12-04T22:30:00Z",
        &["ack", &c.to_string(), "--by", "dana"],
    )
    .ok();
    env.at("2026-12-05T01:00:00Z", &["check"]).ok();
    env.at(
        "2026-12-07T15:00:00Z",
        &["ack", &b.to_string(), "--by", "dana"],
    )
    .ok();
    env.at("2026-12-07T15:00:00Z", &["check"]).ok();
    env.at("2026-12-07T16:00:00Z", &["resolve", &b.to_string()])
        .ok();
    (env, [a, b, c, d, e])
}

fn report(env: &Env, format: &str) -> String {
    env.at(
        UNTIL,
        &[
            "report", "--since", SINCE, "--until", UNTIL, "--format", format,
        ],
    )
    .ok()
    .stdout
}

fn spread(count: u64, v: Option<(i64, i64)>, basis: &str, calendar: &str) -> Value {
    json!({"count": count, "median_seconds": v.map(|x| x.0), "p90_seconds": v.map(|x| x.1),
           "basis": basis, "calendar": calendar})
}

const H: i64 = 3600;

#[test]
fn durations_count_the_hours_of_each_issue_s_calendar_in_json() {
    let (env, [a, _, c, d, e]) = weekend();
    let r: Value = serde_json::from_str(&report(&env, "json")).expect("json");
    let s = r["chains"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["chain"] == "support"))
        .expect("support");

    // B: Friday 16:00 → Monday 10:00 is 2 office hours (66 h of wall
    // time); C: 1 h 30 min on `always`. Two clocks: no pooled median.
    assert_eq!(
        s["time_to_ack"],
        json!({"count": 2, "median_seconds": null, "p90_seconds": null,
               "basis": "mixed", "calendar": null}),
        "{s:#}"
    );
    assert_eq!(
        s["by_calendar"],
        json!([
            {"basis": "wall", "calendar": "always", "timezone": null,
             "time_to_ack": spread(1, Some((5400, 5400)), "wall", "always"),
             "time_to_resolve": spread(0, None, "wall", "always")},
            {"basis": "business", "calendar": "office", "timezone": "America/New_York",
             "time_to_ack": spread(1, Some((2 * H, 2 * H)), "business", "office"),
             "time_to_resolve": spread(1, Some((3 * H, 3 * H)), "business", "office")},
        ]),
        "{s:#}"
    );
    // Only B was resolved: one clock, so the chain-level figure stands.
    assert_eq!(
        s["time_to_resolve"],
        spread(1, Some((3 * H, 3 * H)), "business", "office")
    );

    // L1 stays: A 4 office hours (Fri 14:00 → Mon 10:00), B 3 (→ Mon
    // 11:00, resolved), E 4 wall hours (→ Fri 20:00).
    let l1 = &s["levels"][0];
    assert_eq!(
        (
            &l1["reached"],
            &l1["escalated"],
            &l1["resolved"],
            &l1["still_there"]
        ),
        (&json!(5), &json!(2), &json!(1), &json!(2)),
        "{l1:#}"
    );
    assert_eq!(l1["stay"]["basis"], "mixed", "{l1:#}");
    assert_eq!(
        l1["stay_by_calendar"],
        json!([
            {"basis": "wall", "calendar": "always", "timezone": null,
             "stay": spread(1, Some((4 * H, 4 * H)), "wall", "always")},
            {"basis": "business", "calendar": "office", "timezone": "America/New_York",
             "stay": spread(2, Some((3 * H, 4 * H)), "business", "office")},
        ]),
        "{l1:#}"
    );

    // Overshoots to the window's end (Mon 11:30) on each issue's clock:
    // E 66 h 30 min of wall time; A 1 h Friday + 2 h 30 min Monday of
    // office time; D 1 h 30 min (Monday morning); C acked 30 min late.
    let worst: Vec<(i64, i64, String, String)> = r["worst_breaches"]
        .as_array()
        .expect("breaches")
        .iter()
        .map(|b| {
            (
                b["id"].as_i64().unwrap_or(0),
                b["overshoot_seconds"].as_i64().unwrap_or(0),
                b["basis"].as_str().unwrap_or("").to_string(),
                b["calendar"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let row = |id, secs, basis: &str, cal: &str| (id, secs, basis.to_string(), cal.to_string());
    assert_eq!(
        worst,
        [
            row(e, 66 * H + 1800, "wall", "always"),
            row(a, 3 * H + 1800, "business", "office"),
            row(d, H + 1800, "business", "office"),
            row(c, 1800, "wall", "always"),
        ]
    );
}

#[test]
fn markdown_names_the_hours_each_figure_counts() {
    let (env, _) = weekend();
    let md = report(&env, "markdown");
    for line in [
        "| support | wall clock (calendar `always`) | 1h 30m | 1h 30m | — | — |",
        "| support | business hours, calendar `office` (America/New_York) | 2 business h | 2 business h | 3 business h | 3 business h |",
        "| L1 agent | 5 | by calendar, below | by calendar, below | 2 | 1 | 2 |",
        "| L1 agent | wall clock (calendar `always`) | 1 | 4h | 4h |",
        "| L1 agent | business hours, calendar `office` (America/New_York) | 2 | 3 business h | 4 business h |",
        "| 3.5 business h (calendar `office`) | not acknowledged |",
        "| 1.5 business h (calendar `office`) | not acknowledged |",
        "| 2d 18h | not acknowledged |",
    ] {
        assert!(md.contains(line), "{line}\nnot in:\n{md}");
    }
}

#[test]
fn a_single_calendar_chain_is_labelled_once_and_csv_splits_a_mixed_one() {
    let env = Env::init(CONFIG);
    let id = create(&env, "2026-12-04T21:00:00Z", "Friday", None);
    env.at(
        "2026-12-07T15:00:00Z",
        &["ack", &id.to_string(), "--by", "dana"],
    )
    .ok();
    env.at("2026-12-07T16:00:00Z", &["resolve", &id.to_string()])
        .ok();
    let md = env
        .at(
            UNTIL,
            &[
                "report", "--since", SINCE, "--until", UNTIL, "--chain", "support",
            ],
        )
        .ok()
        .stdout;
    assert!(
        md.contains("Stays counted in: business hours, calendar `office` (America/New_York)."),
        "{md}"
    );
    assert!(
        md.contains("| 2 business h | 2 business h | 3 business h | 3 business h |"),
        "{md}"
    );
    assert!(
        md.contains("| L1 agent | 1 | 3 business h | 3 business h | 0 | 1 | 0 |"),
        "{md}"
    );

    let (env, _) = weekend();
    let csv = report(&env, "csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].contains(",highest_level,durations_basis,durations_calendar,ack_count,"),
        "{csv}"
    );
    assert_eq!(
        lines.len(),
        4,
        "header, the chain, a row per calendar: {csv}"
    );
    assert!(
        lines[1]
            == "support,true,5,5,1,4,2,0.4,4,L1=3;L2=2,mixed,always;office,2,,,1,,,1,4,20,0,0,",
        "{csv}"
    );
    assert_eq!(
        lines[2],
        "support,true,,,,,,,,,wall,always,1,5400,5400,0,,,,,,,,"
    );
    assert_eq!(
        lines[3],
        "support,true,,,,,,,,,business,office,1,7200,7200,1,10800,10800,,,,,,"
    );
}
