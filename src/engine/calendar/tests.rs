//! Table tests of calendar arithmetic: three zones (one with a half-hour
//! offset), both DST changes of 2026, split shifts, holidays, long waits.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;
use crate::config::calendars::{normalise, range, Calendar};

/// A calendar in `tz` open `hours` (one spec list for each of `days`).
fn cal(tz: Tz, days: &[&str], hours: &[&str], holidays: &[&str]) -> Calendar {
    let mut c = Calendar::always();
    c.name = "test".into();
    c.tz = tz;
    c.week = std::array::from_fn(|_| Vec::new());
    for key in days {
        for d in crate::config::calendars::days(key).expect("day") {
            let ranges = hours.iter().map(|h| range(h).expect("range")).collect();
            c.week[d.num_days_from_monday() as usize] = normalise(ranges).expect("disjoint");
        }
    }
    c.holidays = holidays
        .iter()
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date"))
        .collect::<BTreeSet<_>>();
    c
}

fn utc(s: &str) -> Ts {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn local(tz: Tz, s: &str) -> Ts {
    let n = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("local");
    tz.from_local_datetime(&n)
        .earliest()
        .expect("exists")
        .with_timezone(&Utc)
}

fn h(hours: f64) -> TimeDelta {
    TimeDelta::milliseconds((hours * 3_600_000.0) as i64)
}

const NY: Tz = Tz::America__New_York;
const BERLIN: Tz = Tz::Europe__Berlin;
const KOLKATA: Tz = Tz::Asia__Kolkata;

#[test]
fn a_24h_day_is_as_long_as_it_really_is() {
    let c = cal(NY, &["mon-sun"], &["24h"], &[]);
    let day = |d: &str, next: &str| open_between(&c, local(NY, d), local(NY, next));
    assert_eq!(day("2026-03-08 00:00", "2026-03-09 00:00"), h(23.0));
    assert_eq!(day("2026-11-01 00:00", "2026-11-02 00:00"), h(25.0));
    assert_eq!(day("2026-06-01 00:00", "2026-06-02 00:00"), h(24.0));
    let b = cal(BERLIN, &["mon-sun"], &["24h"], &[]);
    let bday = |d: &str, next: &str| open_between(&b, local(BERLIN, d), local(BERLIN, next));
    assert_eq!(bday("2026-03-29 00:00", "2026-03-30 00:00"), h(23.0));
    assert_eq!(bday("2026-10-25 00:00", "2026-10-26 00:00"), h(25.0));
}

#[test]
fn waits_in_the_table() {
    let business = |tz, holidays: &[&str]| cal(tz, &["mon-fri"], &["09:00-17:00"], holidays);
    let night = cal(NY, &["mon-sun"], &["00:00-08:00", "20:00-24:00"], &[]);
    let split = cal(BERLIN, &["mon-fri"], &["13:00-17:00", "09:00-12:00"], &[]);
    // (calendar, from, open hours, expected end, why)
    let table: Vec<(Calendar, Ts, f64, Ts, &str)> = vec![
        (business(NY, &[]), local(NY, "2026-12-04 16:00"), 4.0,
         local(NY, "2026-12-07 12:00"), "Friday 16:00 + 4h: 1h Friday, 3h Monday"),
        (business(NY, &[]), local(NY, "2026-12-05 03:00"), 1.0,
         local(NY, "2026-12-07 10:00"), "filed on a Saturday: counts from Monday's opening"),
        (business(NY, &[]), local(NY, "2026-12-04 13:00"), 4.0,
         local(NY, "2026-12-04 17:00"), "ends exactly at closing: due at closing"),
        (business(NY, &[]), local(NY, "2026-12-05 03:00"), 0.0,
         local(NY, "2026-12-05 03:00"), "no wait: now, even when closed"),
        (night.clone(), local(NY, "2026-03-07 22:00"), 10.0,
         utc("2026-03-09T01:00:00Z"),
         "across the spring-forward night: 2h Sat + 7 real hours to 08:00 EDT, then 20:00 EDT + 1h"),
        (night, local(NY, "2026-10-31 22:00"), 11.0,
         utc("2026-11-01T13:00:00Z"),
         "across the fall-back night: 2h Sat + 9 real hours 00:00 EDT to 08:00 EST = 11h at 08:00 EST"),
        (business(KOLKATA, &[]), local(KOLKATA, "2026-12-04 15:00"), 4.0,
         utc("2026-12-07T05:30:00Z"), "half-hour offset: Monday 11:00 IST is 05:30 UTC"),
        (split, local(BERLIN, "2026-12-01 10:00"), 4.0,
         local(BERLIN, "2026-12-01 15:00"), "split shift: 2h before lunch, 2h after"),
        (business(NY, &["2026-12-25", "2026-12-28"]), local(NY, "2026-12-24 13:00"), 10.0,
         utc("2026-12-29T20:00:00Z"),
         "holiday Friday and Monday: 4h Thursday, then Tuesday 09:00 + 6h = 15:00 EST"),
        (business(NY, &[]), local(NY, "2026-06-01 09:00"), 100.0,
         utc("2026-06-17T17:00:00Z"),
         "longer than a week of open hours: two 40h weeks, then Mon 8 + Tue 8 + Wed 4"),
        (business(BERLIN, &[]), local(BERLIN, "2026-03-27 16:00"), 2.0,
         local(BERLIN, "2026-03-30 10:00"), "Berlin's change is on a Sunday: business days unchanged"),
    ];
    for (c, from, hours, want, why) in table {
        assert_eq!(add(&c, from, h(hours)), Some(want), "{why}");
        assert_eq!(open_between(&c, from, want), h(hours), "{why} (inverse)");
    }
}

#[test]
fn an_opening_that_does_not_exist_starts_at_the_end_of_the_gap() {
    // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
    let c = cal(BERLIN, &["sun"], &["02:30-10:00"], &[]);
    let sunday = local(BERLIN, "2026-03-29 00:00");
    assert_eq!(next_open(&c, sunday), Some(utc("2026-03-29T01:00:00Z")));
    assert_eq!(open_between(&c, sunday, sunday + h(24.0)), h(7.0));
    // New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT.
    let c = cal(NY, &["sun"], &["02:15-04:00"], &[]);
    let sunday = local(NY, "2026-03-08 00:00");
    assert_eq!(next_open(&c, sunday), Some(utc("2026-03-08T07:00:00Z")));
    assert_eq!(open_between(&c, sunday, sunday + h(24.0)), h(1.0));
}

#[test]
fn an_hour_that_occurs_twice_is_open_twice() {
    // New York, 1 November 2026: 01:00–02:00 happens in EDT, then in EST.
    let c = cal(NY, &["sun"], &["01:30-03:00"], &[]);
    let sunday = local(NY, "2026-11-01 00:00");
    assert_eq!(next_open(&c, sunday), Some(utc("2026-11-01T05:30:00Z")));
    assert_eq!(open_between(&c, sunday, sunday + h(30.0)), h(2.5));
    // Berlin, 25 October 2026: 02:00–03:00 happens in CEST, then in CET.
    let c = cal(BERLIN, &["sun"], &["02:30-04:00"], &[]);
    let sunday = local(BERLIN, "2026-10-25 00:00");
    assert_eq!(next_open(&c, sunday), Some(utc("2026-10-25T00:30:00Z")));
    assert_eq!(add(&c, sunday, h(2.5)), Some(utc("2026-10-25T03:00:00Z")));
}

#[test]
fn open_and_closed_instants() {
    let c = cal(KOLKATA, &["mon-fri"], &["09:00-17:00"], &["2026-12-02"]);
    assert!(is_open(&c, local(KOLKATA, "2026-12-01 09:00")));
    assert!(
        !is_open(&c, local(KOLKATA, "2026-12-01 17:00")),
        "ranges are half-open"
    );
    assert!(!is_open(&c, local(KOLKATA, "2026-12-02 12:00")), "holiday");
    assert_eq!(
        next_open(&c, local(KOLKATA, "2026-12-01 18:00")),
        Some(local(KOLKATA, "2026-12-03 09:00"))
    );
}

#[test]
fn a_calendar_that_never_opens_has_no_answer() {
    let c = cal(NY, &[], &[], &[]);
    assert_eq!(add(&c, utc("2026-12-01T00:00:00Z"), h(1.0)), None);
    assert_eq!(next_open(&c, utc("2026-12-01T00:00:00Z")), None);
}

#[test]
fn the_plain_path_agrees_with_the_general_one() {
    let fast = Calendar::always();
    // A far-off holiday turns the fast path off without changing the answer.
    let slow = cal(Tz::UTC, &["mon-sun"], &["24h"], &["2099-01-01"]);
    assert!(fast.is_always() && !slow.is_always());
    let from = utc("2026-03-07T22:13:05Z");
    for hours in [0.0, 0.25, 1.0, 23.5, 24.0, 170.0] {
        assert_eq!(
            add(&fast, from, h(hours)),
            add(&slow, from, h(hours)),
            "{hours}"
        );
        let to = from + h(hours);
        assert_eq!(open_between(&fast, from, to), open_between(&slow, from, to));
    }
}

#[test]
fn adding_in_steps_equals_adding_at_once() {
    // What keeps schedules independent of check cadence.
    let c = cal(
        NY,
        &["mon-fri"],
        &["08:00-12:00", "13:00-18:30"],
        &["2026-11-26"],
    );
    let mut seed = 7_u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    for _ in 0..200 {
        let from = utc("2026-10-20T00:00:00Z") + TimeDelta::minutes((next() % 60_000) as i64);
        let x = TimeDelta::minutes((next() % 3_000) as i64);
        let y = TimeDelta::minutes((next() % 3_000) as i64);
        let once = add(&c, from, x + y);
        let steps = add(&c, from, x).and_then(|mid| add(&c, mid, y));
        assert_eq!(once, steps, "from {from} x {x} y {y}");
        let end = once.expect("opens");
        assert_eq!(open_between(&c, from, end), x + y);
    }
}

#[test]
fn the_year_index_agrees_with_the_day_by_day_walk() {
    let calendars = [
        cal(
            NY,
            &["mon-fri"],
            &["09:00-17:00"],
            &["2026-12-25", "2027-01-01"],
        ),
        cal(BERLIN, &["mon-sun"], &["00:00-08:00", "20:00-24:00"], &[]),
        cal(
            KOLKATA,
            &["mon-thu"],
            &["09:30-13:00", "14:00-18:30"],
            &["2026-10-02"],
        ),
        cal(NY, &["sun"], &["01:30-03:00"], &[]),
    ];
    let mut seed = 11_u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    for c in &calendars {
        for _ in 0..300 {
            // Around both DST changes of 2026 and across the new year.
            let from = utc("2026-02-20T00:00:00Z") + TimeDelta::minutes((next() % 480_000) as i64);
            let d = TimeDelta::minutes((next() % 20_000) as i64);
            // (Past three years the two give up at slightly different
            // points: a safety bound, not a result.)
            if let Some(end) = walk::add(c, from, d) {
                assert_eq!(add(c, from, d), Some(end), "{} from {from} + {d}", c.name);
            }
            let to = from + TimeDelta::minutes((next() % 40_000) as i64);
            assert_eq!(
                open_between(c, from, to),
                walk::open_between(c, from, to),
                "{} {from}..{to}",
                c.name
            );
        }
    }
}

#[test]
fn a_break_inside_the_repeated_hour_counts_each_instant_once() {
    // New York, 1 November 2026: 01:00–02:00 happens twice. A break from
    // 01:15 to 01:45 ends the first range at the second 01:15 (06:15 UTC)
    // and starts the second at the first 01:45 (05:45 UTC): open once.
    let c = cal(NY, &["sun"], &["00:00-01:15", "01:45-03:00"], &[]);
    let sunday = local(NY, "2026-11-01 00:00");
    // 00:00 EDT (04:00 UTC) to 03:00 EST (08:00 UTC): four real hours.
    assert_eq!(open_between(&c, sunday, sunday + h(30.0)), h(4.0));
    assert_eq!(add(&c, sunday, h(4.0)), Some(utc("2026-11-01T08:00:00Z")));
}
