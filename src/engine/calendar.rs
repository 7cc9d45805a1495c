//! Calendar arithmetic: open time between two instants, and the instant at
//! which a given amount of open time has passed. Pure; no clock.
//!
//! A calendar's open hours are local wall-clock ranges of each date. A range
//! [s, e) of date d is open from the first instant whose local reading is at
//! or after d s to the first instant whose reading is at or after d e, and
//! time inside it is real elapsed time, so a range that spans a DST change
//! is as long as it really is (a "24h" day in New York lasts 23 hours in
//! March and 25 in November). Where a reading does not exist (the spring
//! gap), the range starts or ends at the end of the gap; where a reading
//! occurs twice (the autumn repeat), a range starts at its first occurrence
//! and ends at its second, so the repeated hour is open when the range covers
//! it.
//!
//! `add` and `open_between` agree: `open_between(a, add(a, d)) == d`, and
//! `add(add(a, x), y) == add(a, x + y)`, which is what keeps schedules
//! independent of when checks run.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::calendars::{Calendar, Range, YearSpans, DAY_MINUTES};
use crate::model::Ts;

/// How many calendar years a search for open time covers before giving up:
/// a calendar closed for longer than that has no answer.
const HORIZON_YEARS: i32 = 4;

// The arithmetic runs on a year's open spans, computed once per process and
// year (`YearSpans`: a few hundred spans, built in well under a millisecond)
// with the open time before each, so a wait of any length is a binary
// search per year crossed instead of a walk over every day since the
// schedule's anchor. `walk` keeps the day-by-day definition, which the tests
// hold the index to.

/// The instant at which `open` of open time has passed since `from` (None
/// when the calendar does not open again within three years). A zero wait
/// ends at `from` itself, open or not; a wait that ends exactly as the
/// calendar closes ends at the closing instant.
pub fn add(cal: &Calendar, from: Ts, open: TimeDelta) -> Option<Ts> {
    if open <= TimeDelta::zero() {
        return Some(from);
    }
    if cal.is_always() {
        return from.checked_add_signed(open);
    }
    let (mut at, mut left) = (ms(from), open.num_milliseconds());
    let first = local_year(cal, from);
    for year in first..first + HORIZON_YEARS {
        let ys = year_spans(cal, year);
        let target = cumulative(&ys, at) + left;
        let total = year_total(&ys);
        if target <= total && !ys.start.is_empty() {
            // The span the target falls in: the last one with less open
            // time before it (target > 0, and before[0] = 0). A target equal
            // to a span's end lands on that end, not the next opening.
            let j = ys.before.partition_point(|&b| b < target).saturating_sub(1);
            return ts(ys.start[j] + (target - ys.before[j]));
        }
        left = target - total;
        at = i64::MIN;
    }
    None
}

/// Open time in [a, b) (zero when b ≤ a).
pub fn open_between(cal: &Calendar, a: Ts, b: Ts) -> TimeDelta {
    if b <= a {
        return TimeDelta::zero();
    }
    if cal.is_always() {
        return b - a;
    }
    let (ya, yb) = (local_year(cal, a), local_year(cal, b));
    let mut total = 0;
    for year in ya..=yb {
        let ys = year_spans(cal, year);
        let from = if year == ya {
            cumulative(&ys, ms(a))
        } else {
            0
        };
        let to = if year == yb {
            cumulative(&ys, ms(b))
        } else {
            year_total(&ys)
        };
        total += to - from;
    }
    TimeDelta::milliseconds(total)
}

/// The first open instant at or after `at` (None: closed for three years).
pub fn next_open(cal: &Calendar, at: Ts) -> Option<Ts> {
    if cal.is_always() {
        return Some(at);
    }
    let t = ms(at);
    let first = local_year(cal, at);
    (first..first + HORIZON_YEARS).find_map(|year| {
        let ys = year_spans(cal, year);
        let i = ys.end.partition_point(|&e| e <= t);
        (i < ys.start.len())
            .then(|| ts(ys.start[i].max(t)))
            .flatten()
    })
}

/// Whether the calendar is open at `at`.
pub fn is_open(cal: &Calendar, at: Ts) -> bool {
    next_open(cal, at) == Some(at)
}

/// Open milliseconds of the year's spans before instant `t` (ms).
fn cumulative(ys: &YearSpans, t: i64) -> i64 {
    let i = ys.end.partition_point(|&e| e <= t);
    let inside = match ys.start.get(i) {
        Some(&s) if s < t => t - s,
        _ => 0,
    };
    ys.before.get(i).copied().unwrap_or_else(|| year_total(ys)) + inside
}

fn year_total(ys: &YearSpans) -> i64 {
    match (ys.before.last(), ys.start.last(), ys.end.last()) {
        (Some(b), Some(s), Some(e)) => b + (e - s),
        _ => 0,
    }
}

/// The local year `t` falls in, in the calendar's zone.
fn local_year(cal: &Calendar, t: Ts) -> i32 {
    chrono::Datelike::year(&t.with_timezone(&cal.tz))
}

/// The open spans of every local date of `year`, memoised on the calendar.
fn year_spans(cal: &Calendar, year: i32) -> std::sync::Arc<YearSpans> {
    cal.memo.year(year, || {
        let mut ys = YearSpans::default();
        let (Some(first), Some(next)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year + 1, 1, 1),
        ) else {
            return ys;
        };
        let mut open = 0;
        for date in first.iter_days().take_while(|d| *d < next) {
            if cal.holidays.contains(&date) {
                continue;
            }
            for (s, e) in day_spans(cal, date) {
                // Spans must not overlap for the binary searches: two ranges
                // around a break inside an hour that occurs twice could
                // (the first ends at its second occurrence); the overlap
                // is open once.
                let start = ys.end.last().map_or(ms(s), |&prev| ms(s).max(prev));
                if ms(e) <= start {
                    continue;
                }
                ys.start.push(start);
                ys.end.push(ms(e));
                ys.before.push(open);
                open += ms(e) - start;
            }
        }
        ys
    })
}

fn ms(t: Ts) -> i64 {
    t.timestamp_millis()
}

fn ts(ms: i64) -> Option<Ts> {
    Utc.timestamp_millis_opt(ms).single()
}

/// The day-by-day definition the index must agree with (tests only).
#[cfg(test)]
pub(crate) mod walk {
    use super::*;

    pub fn add(cal: &Calendar, from: Ts, open: TimeDelta) -> Option<Ts> {
        if open <= TimeDelta::zero() {
            return Some(from);
        }
        let mut left = open;
        for (start, end) in spans(cal, from) {
            let start = start.max(from);
            let here = end - start;
            if here >= left {
                return Some(start + left);
            }
            left -= here;
        }
        None
    }

    pub fn open_between(cal: &Calendar, a: Ts, b: Ts) -> TimeDelta {
        let mut total = TimeDelta::zero();
        for (start, end) in spans(cal, a) {
            if start >= b {
                break;
            }
            total += end.min(b) - start.max(a);
        }
        total.max(TimeDelta::zero())
    }

    /// The day walk gives up after three years of dates.
    const HORIZON_DAYS: u64 = 3 * 366;

    /// The open spans that end after `from`, in order, as UTC instants; a span
    /// may start before `from`. Adjacent spans (midnight in a 24h week) stay
    /// separate; callers sum across them.
    fn spans(cal: &Calendar, from: Ts) -> impl Iterator<Item = (Ts, Ts)> + '_ {
        // A date's ranges lie within that local date, so the first date that can
        // hold an open instant after `from` is `from`'s own local date.
        let first = from.with_timezone(&cal.tz).date_naive();
        (0..HORIZON_DAYS)
            .filter_map(move |n| first.checked_add_days(Days::new(n)))
            .filter(move |d| !cal.holidays.contains(d))
            .flat_map(move |d| day_spans(cal, d))
            .filter(move |&(_, end)| end > from)
    }
}

/// The open spans of one local date.
fn day_spans(cal: &Calendar, date: NaiveDate) -> impl Iterator<Item = (Ts, Ts)> + '_ {
    cal.hours(chrono::Datelike::weekday(&date))
        .iter()
        .filter_map(move |r: &Range| {
            let start = instant(cal.tz, date, r.start, Edge::Start)?;
            let end = instant(cal.tz, date, r.end, Edge::End)?;
            (end > start).then_some((start, end))
        })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

/// The instant of local `minute` of `date` in `tz` (minute 1440 is the next
/// date's midnight). A reading that does not exist maps to the end of the
/// gap; one that occurs twice maps to its first occurrence for a start and
/// its second for an end.
fn instant(tz: Tz, date: NaiveDate, minute: u32, edge: Edge) -> Option<Ts> {
    let (date, minute) = if minute >= DAY_MINUTES {
        (date.checked_add_days(Days::new(1))?, minute - DAY_MINUTES)
    } else {
        (date, minute)
    };
    let time = NaiveTime::from_num_seconds_from_midnight_opt(minute * 60, 0)?;
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, b) => Some(match edge {
            Edge::Start => a.with_timezone(&Utc),
            Edge::End => b.with_timezone(&Utc),
        }),
        chrono::LocalResult::None => Some(gap_end(tz, local)),
    }
}

/// The first instant whose local reading in `tz` is at or after `local`,
/// when `local` itself falls in a gap: a binary search between an instant
/// that reads earlier and one that reads later (gaps are at most a day).
fn gap_end(tz: Tz, local: NaiveDateTime) -> Ts {
    let reads = |secs: i64| {
        Utc.timestamp_opt(secs, 0)
            .single()
            .map(|t| t.with_timezone(&tz).naive_local())
    };
    // UTC offsets lie within ±15 h, and a gap within a day, so these bracket
    // it; whole seconds, because transitions fall on whole seconds.
    let around = local.and_utc().timestamp();
    let (mut lo, mut hi) = (around - 40 * 3600, around + 40 * 3600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads(mid).is_none_or(|r| r >= local) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Utc.timestamp_opt(hi, 0)
        .single()
        .unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests;
