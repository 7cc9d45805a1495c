//! Business-hours calendars: `[calendars.NAME]` → [`Calendar`]. A calendar
//! is a time zone, the open hours of each weekday in local wall-clock time
//! and a set of closed dates. The arithmetic over it (how much open time lies
//! between two instants, when a wait of N open hours ends) is the engine's
//! (`engine::calendar`); this module only says what is open, and refuses
//! what cannot be meant: an unknown zone, reversed or overlapping ranges, a
//! malformed time or date.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use toml::Spanned;

use super::check::check_name;
use super::error::{ConfigError, Source};
use super::raw::{OneOrMany, RawCalendar};
use super::MAX_FILE_BYTES;

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
    /// The engine's precomputed open spans, a year at a time (filled on
    /// first use; not part of what the calendar *is*).
    pub memo: Memo,
}

/// A year's open spans as UTC milliseconds, with the open time before each
/// (so that "when has N hours of open time passed" is a binary search).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct YearSpans {
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    /// Open milliseconds of the year before span i.
    pub before: Vec<i64>,
}

/// A per-process memo of [`YearSpans`] by local year. Equal, cloned and
/// printed as empty: it only ever holds what the fields above determine.
#[derive(Default)]
pub struct Memo(std::sync::Mutex<std::collections::HashMap<i32, Arc<YearSpans>>>);

impl Memo {
    /// The spans of `year`, built by `build` the first time.
    pub fn year(&self, year: i32, build: impl FnOnce() -> YearSpans) -> Arc<YearSpans> {
        // A poisoned lock only means another thread panicked mid-insert of
        // a value it had fully built: the map is still sound.
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(year).or_insert_with(|| Arc::new(build())))
    }
}

impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl PartialEq for Memo {
    fn eq(&self, _: &Memo) -> bool {
        true
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::always()
    }
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
            memo: Memo::default(),
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

    /// A short digest of what is open when (zone, hours, holidays; not the
    /// name): part of a chain's fingerprint, so editing a calendar
    /// re-anchors the open issues that use it, once.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!("{}|{:?}|{:?}", self.tz.name(), self.week, self.holidays);
        let hash = Sha256::digest(text.as_bytes());
        hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The week as written, runs of days with the same hours grouped:
    /// `mon-fri 09:00-17:00; sat 10:00-14:00`.
    pub fn describe_week(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && self.week[j + 1] == self.week[i] {
                j += 1;
            }
            if !self.week[i].is_empty() {
                let days = if i == j {
                    DAY_NAMES[i].to_string()
                } else {
                    format!("{}-{}", DAY_NAMES[i], DAY_NAMES[j])
                };
                let hours: Vec<String> = self.week[i].iter().map(|r| show(*r)).collect();
                parts.push(format!("{days} {}", hours.join(", ")));
            }
            i = j + 1;
        }
        parts.join("; ")
    }

    /// The open ranges of a weekday.
    pub fn hours(&self, day: Weekday) -> &[Range] {
        &self.week[day.num_days_from_monday() as usize]
    }
}

/// Every `[calendars.NAME]` table, plus the built-in `always` (which may
/// not be redefined). `dir` is where relative `holidays_file` paths start:
/// the config file's directory.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawCalendar>>,
    dir: &Path,
    src: &Source,
) -> Result<BTreeMap<String, Arc<Calendar>>, ConfigError> {
    let mut out = BTreeMap::new();
    out.insert(ALWAYS.to_string(), Arc::new(Calendar::always()));
    for (name, cal) in raw {
        let span = cal.span();
        check_name("calendar", &name).map_err(|m| src.at(span.clone(), m))?;
        if name == ALWAYS {
            return Err(src.at(
                span,
                "calendar `always` is built in (24/7 UTC) and cannot be redefined",
            ));
        }
        let cal = calendar_of(&name, cal.into_inner(), dir, src)?;
        out.insert(name, Arc::new(cal));
    }
    Ok(out)
}

fn calendar_of(
    name: &str,
    raw: RawCalendar,
    dir: &Path,
    src: &Source,
) -> Result<Calendar, ConfigError> {
    let tz: Tz = raw.timezone.get_ref().trim().parse().map_err(|_| {
        src.at(
            raw.timezone.span(),
            format!(
                "calendar `{name}`: unknown time zone `{}` (use an IANA name such as America/New_York)",
                raw.timezone.get_ref()
            ),
        )
    })?;
    let week = week(&format!("calendar `{name}`"), &raw.hours, src)?;
    if week.iter().all(Vec::is_empty) {
        return Err(src.at(
            raw.timezone.span(),
            format!(
                "calendar `{name}` is never open: give it `hours`, e.g. mon-fri = \"09:00-17:00\""
            ),
        ));
    }
    let mut holidays = BTreeSet::new();
    for d in &raw.holidays {
        let date = NaiveDate::parse_from_str(d.get_ref().trim(), "%Y-%m-%d").map_err(|_| {
            src.at(
                d.span(),
                format!(
                    "calendar `{name}`: holiday `{}` is not a date like 2026-12-25",
                    d.get_ref()
                ),
            )
        })?;
        holidays.insert(date);
    }
    if let Some(file) = &raw.holidays_file {
        let path = dir.join(file.get_ref());
        let dates = holidays_file(&path).map_err(|m| {
            src.at(
                file.span(),
                format!("calendar `{name}`: holidays_file {}: {m}", path.display()),
            )
        })?;
        holidays.extend(dates);
    }
    Ok(Calendar {
        name: name.to_string(),
        tz,
        week,
        holidays,
        memo: Memo::default(),
    })
}

/// An `hours` table (of a calendar, or of a rotation layer: `who` names
/// it) → ranges per weekday; a day named by two keys is an error (which
/// would win is not obvious).
pub(super) fn week(
    who: &str,
    hours: &BTreeMap<String, Spanned<OneOrMany<String>>>,
    src: &Source,
) -> Result<[Vec<Range>; 7], ConfigError> {
    let mut week: [Option<Vec<Range>>; 7] = Default::default();
    for (key, specs) in hours {
        let at = |m: String| src.at(specs.span(), format!("{who}, hours `{key}`: {m}"));
        let mut ranges = Vec::new();
        for spec in specs.get_ref().items() {
            ranges.push(range(spec).map_err(at)?);
        }
        let ranges = normalise(ranges).map_err(at)?;
        for day in days(key).map_err(at)? {
            let slot = &mut week[day.num_days_from_monday() as usize];
            if slot.is_some() {
                return Err(at(format!("{} is given by two keys", day_name(day))));
            }
            *slot = Some(ranges.clone());
        }
    }
    Ok(week.map(Option::unwrap_or_default))
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_name(d: Weekday) -> &'static str {
    DAY_NAMES[d.num_days_from_monday() as usize]
}

/// The closed dates of an iCalendar file: every day covered by an all-day
/// event (`DTSTART;VALUE=DATE`, `DTEND` exclusive, one day when absent).
/// Events with a time of day do not close a whole day and are refused, so
/// a wrong file (a meeting calendar) is noticed rather than half-used.
fn holidays_file(path: &Path) -> Result<Vec<NaiveDate>, String> {
    let text = read_bounded(path)?;
    let cal: icalendar::Calendar = text
        .parse()
        .map_err(|e: String| format!("not an iCalendar file: {}", first_line(&e)))?;
    let mut out = Vec::new();
    for event in cal.components.iter().filter_map(|c| c.as_event()) {
        use icalendar::{Component, DatePerhapsTime};
        let summary = event.get_summary().unwrap_or("(no summary)").to_string();
        let start = match event.get_start() {
            Some(DatePerhapsTime::Date(d)) => d,
            Some(DatePerhapsTime::DateTime(_)) => {
                return Err(format!(
                    "event `{summary}` has a time of day; holidays are all-day events"
                ))
            }
            None => return Err(format!("event `{summary}` has no DTSTART")),
        };
        let end = match event.get_end() {
            Some(DatePerhapsTime::Date(d)) if d > start => d,
            _ => start.succ_opt().unwrap_or(start),
        };
        out.extend(start.iter_days().take_while(|d| *d < end).take(366));
    }
    Ok(out)
}

fn first_line(s: &str) -> String {
    crate::text::one_line(s.lines().next().unwrap_or(s))
}

/// A regular file's text, at most [`MAX_FILE_BYTES`].
fn read_bounded(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!("over {MAX_FILE_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
}

/// The directory relative `holidays_file` paths start from.
pub(super) fn base_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
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
    fn weeks_are_described_as_written() {
        let mut c = Calendar::always();
        assert_eq!(c.describe_week(), "mon-sun 00:00-24:00");
        c.week[5] = vec![Range {
            start: 600,
            end: 840,
        }];
        c.week[6] = Vec::new();
        assert_eq!(c.describe_week(), "mon-fri 00:00-24:00; sat 10:00-14:00");
    }

    #[test]
    fn always_is_recognised() {
        assert!(Calendar::always().is_always());
        let mut c = Calendar::always();
        c.tz = Tz::Europe__Berlin;
        assert!(!c.is_always());
    }
}
