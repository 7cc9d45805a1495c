//! Business-hours calendars: `[calendars.NAME]` → [`Calendar`]. A calendar
//! is a time zone, the open hours of each weekday in local wall-clock time
//! and a set of closed dates. The arithmetic over it (how much open time lies
//! between two instants, when a wait of N open hours ends) is the engine's
//! (`engine::calendar`); this module only says what is open, and refuses
//! what cannot be meant: an unknown zone, reversed or overlapping ranges, a
//! malformed time or date.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;

/// The built-in calendar: 24/7 in UTC, the default of every chain.
pub const ALWAYS: &str = "always";

/// Minutes in a day: the end of a range that runs to midnight (`24:00`).
pub const DAY_MINUTES: u32 = 24 * 60;

/// One open range of a day, in local minutes since midnight: [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub start: u32,
    pub end: u32,
}

/// When a team is at work.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub name: String,
    pub tz: Tz,
    /// Open ranges per weekday, Monday first, sorted and disjoint.
    pub week: [Vec<Range>; 7],
    /// Dates (local) on which the calendar is closed all day.
    pub holidays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The built-in `always` calendar.
    pub fn always() -> Calendar {
        let day = vec![Range {
            start: 0,
            end: DAY_MINUTES,
        }];
        Calendar {
            name: ALWAYS.to_string(),
            tz: Tz::UTC,
            week: std::array::from_fn(|_| day.clone()),
            holidays: BTreeSet::new(),
        }
    }

    /// Whether the calendar is open around the clock in UTC with no
    /// holidays: its arithmetic is plain addition.
    pub fn is_always(&self) -> bool {
        self.tz == Tz::UTC
            && self.holidays.is_empty()
            && self.week.iter().all(|d| {
                d.as_slice()
                    == [Range {
                        start: 0,
                        end: DAY_MINUTES,
                    }]
            })
    }

    /// The open ranges of a weekday.
    pub fn hours(&self, day: Weekday) -> &[Range] {
        &self.week[day.num_days_from_monday() as usize]
    }
}

/// Days named by an `hours` key: `mon`…`sun` or a range such as `mon-fri`
/// (which may wrap: `fri-mon`).
pub fn days(key: &str) -> Result<Vec<Weekday>, String> {
    let key = key.trim().to_ascii_lowercase();
    let one = |s: &str| -> Result<Weekday, String> {
        match s.trim() {
            "mon" => Ok(Weekday::Mon),
            "tue" => Ok(Weekday::Tue),
            "wed" => Ok(Weekday::Wed),
            "thu" => Ok(Weekday::Thu),
            "fri" => Ok(Weekday::Fri),
            "sat" => Ok(Weekday::Sat),
            "sun" => Ok(Weekday::Sun),
            other => Err(format!(
                "`{other}` is not a day (use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)"
            )),
        }
    };
    match key.split_once('-') {
        None => Ok(vec![one(&key)?]),
        Some((a, b)) => {
            let (mut d, last) = (one(a)?, one(b)?);
            let mut out = vec![d];
            while d != last {
                d = d.succ();
                out.push(d);
            }
            Ok(out)
        }
    }
}

/// A day's hours: `"09:00-17:00"` or `"24h"`.
pub fn range(spec: &str) -> Result<Range, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("24h") {
        return Ok(Range {
            start: 0,
            end: DAY_MINUTES,
        });
    }
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| format!("`{spec}` is not a range like \"09:00-17:00\" or \"24h\""))?;
    let (start, end) = (clock(a)?, clock(b)?);
    if start >= end {
        return Err(format!(
            "`{spec}` ends before it starts (a range that crosses midnight is two: \"22:00-24:00\" and the next day's \"00:00-06:00\")"
        ));
    }
    Ok(Range { start, end })
}

/// `HH:MM`, 00:00 to 24:00, as minutes since midnight.
fn clock(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a time of day like 09:00 (00:00 to 24:00)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Sort one day's ranges and refuse overlaps (touching ranges merge: a
/// split shift written as "09:00-12:00" and "12:00-17:00" is one).
pub fn normalise(mut day: Vec<Range>) -> Result<Vec<Range>, String> {
    day.sort();
    let mut out: Vec<Range> = Vec::with_capacity(day.len());
    for r in day {
        match out.last_mut() {
            Some(last) if r.start < last.end => {
                return Err(format!("ranges {} and {} overlap", show(*last), show(r)))
            }
            Some(last) if r.start == last.end => last.end = r.end,
            _ => out.push(r),
        }
    }
    Ok(out)
}

/// A range as written: `09:00-17:00`.
pub fn show(r: Range) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        r.start / 60,
        r.start % 60,
        r.end / 60,
        r.end % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_keys() {
        assert_eq!(days("mon").unwrap(), vec![Weekday::Mon]);
        assert_eq!(
            days("Mon-Wed").unwrap(),
            vec![Weekday::Mon, Weekday::Tue, Weekday::Wed]
        );
        assert_eq!(
            days("sat-mon").unwrap(),
            vec![Weekday::Sat, Weekday::Sun, Weekday::Mon]
        );
        assert!(days("monday").is_err());
        assert!(days("mon-").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(
            range("09:00-17:30").unwrap(),
            Range {
                start: 540,
                end: 1050
            }
        );
        assert_eq!(
            range("24h").unwrap(),
            Range {
                start: 0,
                end: 1440
            }
        );
        assert_eq!(
            range("22:00-24:00").unwrap(),
            Range {
                start: 1320,
                end: 1440
            }
        );
        for bad in [
            "17:00-09:00",
            "09:00-09:00",
            "9:00-17:00",
            "09:60-10:00",
            "24:30-25:00",
            "nine",
        ] {
            assert!(range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_shifts_sort_merge_and_refuse_overlap() {
        let r = |a, b| Range { start: a, end: b };
        assert_eq!(
            normalise(vec![r(780, 1020), r(540, 720)]).unwrap(),
            vec![r(540, 720), r(780, 1020)]
        );
        assert_eq!(
            normalise(vec![r(540, 720), r(720, 1020)]).unwrap(),
            vec![r(540, 1020)]
        );
        let e = normalise(vec![r(540, 720), r(700, 1020)]).unwrap_err();
        assert!(
            e.contains("09:00-12:00") && e.contains("11:40-17:00"),
            "{e}"
        );
    }

    #[test]
    fn always_is_recognised() {
        assert!(Calendar::always().is_always());
        let mut c = Calendar::always();
        c.tz = Tz::Europe__Berlin;
        assert!(!c.is_always());
    }
}
