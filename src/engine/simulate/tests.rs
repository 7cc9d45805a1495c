//! The simulator replays the real decisions: pages at schedule instants,
//! SLA changes at theirs, acknowledgements and resolutions settling both.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::config::calendars::{range, Calendar};
use crate::config::{AtRisk, Level, Sla};

fn at(s: &str) -> Ts {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn chain(calendar: Calendar, repeat: u32, ack_hours: Option<i64>) -> Chain {
    let calendar = Arc::new(calendar);
    let level = |role: &str, hours: i64| Level {
        role: role.into(),
        wait: TimeDelta::hours(hours),
        create_task: None,
    };
    Chain {
        name: "support".into(),
        description: None,
        levels: vec![level("agent", 4), level("lead", 8)],
        repeat,
        ack_timeout: ack_hours.map(TimeDelta::hours),
        sla: Sla {
            response: Some(TimeDelta::hours(2)),
            resolution: None,
            at_risk: AtRisk::Fraction(0.5),
            breach_notify: vec![],
            calendar: Arc::clone(&calendar),
            pause: crate::model::sla::Target::ALL.to_vec(),
        },
        calendar,
        policies: Vec::new(),
        policy: None,
        runbook: None,
    }
}

fn office() -> Calendar {
    let mut c = Calendar::always();
    c.name = "office".into();
    c.tz = chrono_tz::Tz::America__New_York;
    c.week = std::array::from_fn(|d| {
        if d < 5 {
            vec![range("09:00-17:00").expect("range")]
        } else {
            Vec::new()
        }
    });
    c
}

fn lines(t: &Timeline) -> Vec<(&'static str, String, u32, u32)> {
    t.entries
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                crate::model::time::rfc3339(e.at),
                e.level,
                e.repeat,
            )
        })
        .collect()
}

fn row(kind: &'static str, t: &str, level: u32, repeat: u32) -> (&'static str, String, u32, u32) {
    (kind, t.to_string(), level, repeat)
}

#[test]
fn nobody_acts_on_a_business_calendar() {
    let t = run(
        &chain(office(), 1, None),
        &Scenario {
            from: at("2026-12-04T21:00:00Z"), // Friday 16:00 EST
            ack_at: None,
            resolve_at: None,
            pauses: vec![],
        },
    );
    assert_eq!(
        lines(&t),
        vec![
            row("notified", "2026-12-04T21:00:00Z", 1, 0),
            // Half the 2 h response target: Friday 16:00 + 1 h = 17:00.
            row("at_risk", "2026-12-04T22:00:00Z", 1, 0),
            row("breached", "2026-12-07T15:00:00Z", 1, 0), // Monday 10:00
            row("escalated", "2026-12-07T17:00:00Z", 2, 0), // Monday 12:00
            // The repeat: 8 open hours later, Tuesday 12:00 EST.
            row("escalated", "2026-12-08T17:00:00Z", 2, 1),
        ]
    );
    assert!(!t.cut);
}

#[test]
fn an_ack_in_time_meets_the_response_target_and_stops_the_pages() {
    let t = run(
        &chain(Calendar::always(), 3, None),
        &Scenario {
            from: at("2026-12-01T09:00:00Z"),
            ack_at: Some(at("2026-12-01T09:30:00Z")),
            resolve_at: Some(at("2026-12-03T09:00:00Z")),
            pauses: vec![],
        },
    );
    assert_eq!(
        lines(&t),
        vec![
            row("notified", "2026-12-01T09:00:00Z", 1, 0),
            row("sla_met", "2026-12-01T09:30:00Z", 1, 0),
            row("acknowledged", "2026-12-01T09:30:00Z", 1, 0),
            row("resolved", "2026-12-03T09:00:00Z", 1, 0),
        ]
    );
}

#[test]
fn a_lapsed_ack_resumes_the_pages_at_the_current_level() {
    let t = run(
        &chain(Calendar::always(), 0, Some(1)),
        &Scenario {
            from: at("2026-12-01T09:00:00Z"),
            ack_at: Some(at("2026-12-01T13:00:00Z")),
            resolve_at: None,
            pauses: vec![],
        },
    );
    assert_eq!(
        lines(&t),
        vec![
            row("notified", "2026-12-01T09:00:00Z", 1, 0),
            row("at_risk", "2026-12-01T10:00:00Z", 1, 0),
            row("breached", "2026-12-01T11:00:00Z", 1, 0),
            // Due at the instant of the ack: the page comes first.
            row("escalated", "2026-12-01T13:00:00Z", 2, 0),
            row("acknowledged", "2026-12-01T13:00:00Z", 2, 0),
            row("ack_expired", "2026-12-01T14:00:00Z", 2, 0),
            row("escalated", "2026-12-01T14:00:00Z", 2, 0),
        ]
    );
}

#[test]
fn a_resolution_before_filing_is_ignored_and_long_timelines_are_cut() {
    let mut c = chain(Calendar::always(), crate::config::MAX_REPEAT, None);
    c.levels[1].wait = TimeDelta::minutes(1);
    let from = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("t");
    let t = run(
        &c,
        &Scenario {
            from,
            ack_at: None,
            resolve_at: Some(from - TimeDelta::hours(1)),
            pauses: vec![],
        },
    );
    // 1 + 2 SLA + 1 + 1000 repeats: under the cap, and nothing resolved.
    assert_eq!(t.entries.len(), 1004);
    assert!(t.entries.iter().all(|e| e.kind != Kind::Resolved));
    assert!(!t.cut);
}
