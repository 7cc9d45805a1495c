//! Table tests for on-call resolution: hand-offs at their instant, weekly
//! hand-offs across both 2026 DST changes in New York, layering,
//! follow-the-sun hours, overrides, gaps and the resolved schedule.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::*;
use crate::config::calendars::{range, Calendar, Memo};

fn at(s: &str) -> Ts {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("local time")
}

fn layer(members: &[&str], start: &str, tz: Tz, shift: TimeDelta) -> Rotation {
    Rotation {
        name: "l".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        start: local(start),
        tz,
        shift,
        hours: None,
    }
}

/// Weekdays 09:00–17:00 local.
fn office(tz: Tz) -> Arc<Calendar> {
    let day = vec![range("09:00-17:00").expect("range")];
    Arc::new(Calendar {
        name: "h".into(),
        tz,
        week: [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ],
        holidays: BTreeSet::new(),
        memo: Memo::default(),
    })
}

fn role(rotations: Vec<Rotation>) -> Role {
    Role {
        name: "oncall".into(),
        description: None,
        contacts: vec![],
        members: vec![],
        rotations,
    }
}

fn who(r: &Role, t: &str, overrides: &[Override]) -> Option<String> {
    on_call(r, at(t), overrides).map(|o| o.person)
}

const NY: Tz = chrono_tz::America::New_York;
const BERLIN: Tz = chrono_tz::Europe::Berlin;

#[test]
fn a_hand_off_happens_exactly_at_its_instant() {
    let r = role(vec![layer(
        &["ann", "bob"],
        "2026-12-07T09:00",
        NY,
        TimeDelta::days(1),
    )]);
    // 09:00 EST is 14:00 UTC.
    let cases = [
        ("2026-12-07T13:59:59.999Z", None),
        ("2026-12-07T14:00:00Z", Some("ann")),
        ("2026-12-08T13:59:59.999Z", Some("ann")),
        ("2026-12-08T14:00:00Z", Some("bob")),
        ("2026-12-09T14:00:00Z", Some("ann")),
    ];
    for (t, want) in cases {
        assert_eq!(who(&r, t, &[]).as_deref(), want, "at {t}");
    }
}

#[test]
fn a_weekly_hand_off_stays_at_monday_nine_across_both_dst_changes() {
    let r = role(vec![layer(
        &["ann", "bob"],
        "2026-10-26T09:00",
        NY,
        TimeDelta::weeks(1),
    )]);
    // Clocks fall back on Sunday 1 November: Monday 09:00 moves from 13:00
    // UTC (EDT) to 14:00 UTC (EST).
    assert_eq!(who(&r, "2026-10-26T13:00:00Z", &[]).as_deref(), Some("ann"));
    assert_eq!(who(&r, "2026-11-02T13:59:00Z", &[]).as_deref(), Some("ann"));
    assert_eq!(who(&r, "2026-11-02T14:00:00Z", &[]).as_deref(), Some("bob"));
    // Spring forward on Sunday 14 March 2027: back to 13:00 UTC.
    let spring = role(vec![layer(
        &["ann", "bob"],
        "2027-03-08T09:00",
        NY,
        TimeDelta::weeks(1),
    )]);
    assert_eq!(
        who(&spring, "2027-03-08T14:00:00Z", &[]).as_deref(),
        Some("ann")
    );
    assert_eq!(
        who(&spring, "2027-03-15T12:59:00Z", &[]).as_deref(),
        Some("ann")
    );
    assert_eq!(
        who(&spring, "2027-03-15T13:00:00Z", &[]).as_deref(),
        Some("bob")
    );
}

#[test]
fn a_later_layer_wins_where_it_has_someone() {
    let base = layer(&["ann", "bob"], "2026-12-07T00:00", NY, TimeDelta::weeks(1));
    let mut days = layer(&["carl"], "2026-12-07T00:00", NY, TimeDelta::weeks(1));
    days.hours = Some(office(NY));
    let r = role(vec![base, days]);
    assert_eq!(
        who(&r, "2026-12-08T15:00:00Z", &[]).as_deref(),
        Some("carl"),
        "Tue 10:00 EST"
    );
    assert_eq!(
        who(&r, "2026-12-08T23:00:00Z", &[]).as_deref(),
        Some("ann"),
        "Tue 18:00 EST"
    );
    assert_eq!(
        who(&r, "2026-12-12T15:00:00Z", &[]).as_deref(),
        Some("ann"),
        "Saturday"
    );
}

#[test]
fn follow_the_sun_hours_leave_a_gap_at_night() {
    let mut ny = layer(&["ann"], "2026-12-07T00:00", NY, TimeDelta::days(1));
    ny.hours = Some(office(NY));
    let mut eu = layer(&["carl"], "2026-12-07T00:00", BERLIN, TimeDelta::days(1));
    eu.hours = Some(office(BERLIN));
    let r = role(vec![ny, eu]);
    let cases = [
        ("2026-12-08T09:00:00Z", Some("carl")), // 10:00 Berlin
        ("2026-12-08T15:00:00Z", Some("carl")), // both open: the later layer
        ("2026-12-08T16:00:00Z", Some("ann")),  // Berlin closed at 17:00 CET
        ("2026-12-08T21:59:00Z", Some("ann")),
        ("2026-12-08T22:00:00Z", None), // NY closed: a gap until Berlin opens
        ("2026-12-09T07:59:00Z", None),
    ];
    for (t, want) in cases {
        assert_eq!(who(&r, t, &[]).as_deref(), want, "at {t}");
    }
}

#[test]
fn an_override_beats_every_layer_for_its_span_only() {
    let r = role(vec![layer(
        &["ann", "bob"],
        "2026-12-07T09:00",
        NY,
        TimeDelta::days(1),
    )]);
    let o = Override {
        id: 7,
        role: "oncall".into(),
        person: "dana".into(),
        from: at("2026-12-07T20:00:00Z"),
        until: at("2026-12-08T02:00:00Z"),
    };
    let other_role = Override {
        role: "other".into(),
        id: 8,
        ..o.clone()
    };
    let os = [o, other_role];
    assert_eq!(who(&r, "2026-12-07T19:59:00Z", &os).as_deref(), Some("ann"));
    let found = on_call(&r, at("2026-12-07T20:00:00Z"), &os).expect("on call");
    assert_eq!(
        (found.person.as_str(), found.via),
        ("dana", Via::Override(7))
    );
    assert_eq!(who(&r, "2026-12-08T02:00:00Z", &os).as_deref(), Some("ann"));
    // An override fills a gap too (before the rotation starts).
    assert_eq!(
        who(&r, "2026-12-07T21:00:00Z", &os).as_deref(),
        Some("dana")
    );
}

#[test]
fn the_schedule_lists_hand_offs_gaps_and_overrides_in_order() {
    let mut ny = layer(&["ann", "bob"], "2026-12-07T00:00", NY, TimeDelta::days(1));
    ny.hours = Some(office(NY));
    let r = role(vec![ny]);
    let os = [Override {
        id: 1,
        role: "oncall".into(),
        person: "dana".into(),
        from: at("2026-12-08T15:00:00Z"),
        until: at("2026-12-08T16:00:00Z"),
    }];
    let s = schedule(
        &r,
        at("2026-12-07T12:00:00Z"),
        at("2026-12-09T12:00:00Z"),
        &os,
    );
    let got: Vec<(String, String, Option<String>)> = s
        .iter()
        .map(|x| {
            (
                x.from.to_rfc3339(),
                x.until.to_rfc3339(),
                x.on_call.as_ref().map(|o| o.person.clone()),
            )
        })
        .collect();
    let t = |s: &str| at(s).to_rfc3339();
    let want = vec![
        (t("2026-12-07T12:00:00Z"), t("2026-12-07T14:00:00Z"), None),
        (
            t("2026-12-07T14:00:00Z"),
            t("2026-12-07T22:00:00Z"),
            Some("ann".to_string()),
        ),
        (t("2026-12-07T22:00:00Z"), t("2026-12-08T14:00:00Z"), None),
        (
            t("2026-12-08T14:00:00Z"),
            t("2026-12-08T15:00:00Z"),
            Some("bob".to_string()),
        ),
        (
            t("2026-12-08T15:00:00Z"),
            t("2026-12-08T16:00:00Z"),
            Some("dana".to_string()),
        ),
        (
            t("2026-12-08T16:00:00Z"),
            t("2026-12-08T22:00:00Z"),
            Some("bob".to_string()),
        ),
        (t("2026-12-08T22:00:00Z"), t("2026-12-09T12:00:00Z"), None),
    ];
    assert_eq!(got, want);
}

#[test]
fn a_start_inside_a_dst_gap_begins_when_the_gap_ends() {
    // 02:30 on 8 March 2026 does not exist in New York: the turn starts at
    // 03:00 EDT (07:00 UTC).
    let r = role(vec![layer(
        &["ann"],
        "2026-03-08T02:30",
        NY,
        TimeDelta::days(1),
    )]);
    assert_eq!(who(&r, "2026-03-08T06:59:00Z", &[]), None);
    assert_eq!(who(&r, "2026-03-08T07:00:00Z", &[]).as_deref(), Some("ann"));
}
