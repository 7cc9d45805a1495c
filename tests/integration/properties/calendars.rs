//! Calendars (`engine::calendar`) and the schedule on them: open-time
//! arithmetic composes (which is what makes schedules cadence-free), and a
//! chain on a business calendar pages at the same instants whatever the
//! check cadence. Zones with DST changes inside the horizon (t0 is the
//! night Berlin springs forward) and a half-hour offset.

use std::sync::Arc;

use chrono_tz::Tz;
use escalate::config::calendars::{Calendar, Range, DAY_MINUTES};
use escalate::engine::calendar;

use super::*;

/// A day's open hours: up to two spans of whole half hours, merged.
fn day() -> impl Strategy<Value = Vec<Range>> {
    prop::collection::vec((0u32..48, 1u32..=20), 0..=2).prop_map(|spans| {
        let mut slots = [false; 48];
        for (start, len) in spans {
            for s in start..(start + len).min(48) {
                slots[s as usize] = true;
            }
        }
        let mut out: Vec<Range> = Vec::new();
        for (i, open) in slots.iter().enumerate() {
            let (a, b) = (i as u32 * 30, i as u32 * 30 + 30);
            match out.last_mut() {
                Some(r) if *open && r.end == a => r.end = b,
                _ if *open => out.push(Range { start: a, end: b }),
                _ => {}
            }
        }
        out
    })
}

pub(super) fn calendars() -> impl Strategy<Value = Calendar> {
    let zone = prop_oneof![
        Just(Tz::America__New_York),
        Just(Tz::Europe__Berlin),
        Just(Tz::Asia__Kolkata),
        Just(Tz::UTC),
    ];
    let holidays = prop::collection::vec(0u64..30, 0..3);
    (zone, prop::array::uniform7(day()), holidays).prop_map(|(tz, mut week, holidays)| {
        // Never closed all week: a calendar that never opens is refused.
        if week.iter().all(Vec::is_empty) {
            week[0] = vec![Range {
                start: 9 * 60,
                end: DAY_MINUTES,
            }];
        }
        let first = t0().date_naive();
        Calendar {
            name: "p".into(),
            tz,
            week,
            holidays: holidays
                .into_iter()
                .filter_map(|d| first.checked_add_days(chrono::Days::new(d)))
                .collect(),
            memo: Default::default(),
        }
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Adding open time in two steps ends where adding it at once does, and
    /// the open time between the start and the end is what was added.
    #[test]
    fn open_time_composes(
        cal in calendars(),
        from in 0..HORIZON,
        x in 0i64..3 * DAY,
        y in 0i64..3 * DAY,
    ) {
        let from = at(from);
        let (x, y) = (TimeDelta::milliseconds(x), TimeDelta::milliseconds(y));
        let steps = calendar::add(&cal, from, x).and_then(|m| calendar::add(&cal, m, y));
        // A calendar open half an hour a week needs years for six days of
        // open time: past the search horizon (a safety bound) there is no
        // answer at once, while two shorter searches may each find one.
        if let Some(once) = calendar::add(&cal, from, x + y) {
            prop_assert_eq!(Some(once), steps);
        }
        if let Some(end) = calendar::add(&cal, from, x) {
            prop_assert!(end >= from);
            prop_assert_eq!(calendar::open_between(&cal, from, end), x);
        }
    }

    /// On any calendar, checks at any cadence page every step at the instant
    /// the calendar puts it (anchor + that much open time), and end in the
    /// state one late check reaches.
    #[test]
    fn pages_on_a_calendar_do_not_depend_on_the_cadence(
        mut chain in chains(),
        cal in calendars(),
        checks in cadences(),
    ) {
        chain.calendar = Arc::new(cal);
        let started = engine::start(&chain, at(0), 0);
        let mut state = started.state.clone();
        for t in checks.iter().map(|&ms| at(ms)).chain([at(HORIZON)]) {
            let d = engine::advance(&state, &chain, t);
            for p in pages_of(&d) {
                let offset: TimeDelta = (1..p.level)
                    .map(|l| chain.levels[l as usize - 1].wait)
                    .sum::<TimeDelta>()
                    + chain.levels[chain.levels.len() - 1].wait * p.repeat as i32;
                prop_assert_eq!(Some(p.due_at), calendar::add(&chain.calendar, at(0), offset));
                prop_assert!(p.due_at <= t);
            }
            state = d.state;
        }
        let late = engine::advance(&started.state, &chain, at(HORIZON)).state;
        prop_assert_eq!((state.level, state.repeat), (late.level, late.repeat));
        prop_assert_eq!(
            engine::next_due(&state, &chain),
            engine::next_due(&late, &chain)
        );
    }
}
