//! `[calendars.NAME]`: what parses, and every refusal with its position.

use std::path::Path;

use chrono::{NaiveDate, Weekday};

use crate::config::calendars::Range;
use crate::config::{Config, ConfigError};

const CHAIN: &str =
    "[roles.a]\n[chains.x]\ncalendar = \"office\"\nlevels = [{ role = \"a\", wait_hours = 4 }]\n";

fn parse_in(dir: &Path, calendar: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{CHAIN}{calendar}"), &dir.join("chains.toml"))
}

fn parse(calendar: &str) -> Result<Config, ConfigError> {
    parse_in(Path::new("."), calendar)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn a_business_calendar_parses() {
    let c = parse(
        "[calendars.office]\ntimezone = \"Europe/Berlin\"\n\
         hours = { mon-thu = \"09:00-17:00\", fri = [\"13:00-16:00\", \"08:00-12:00\"], sat = \"24h\" }\n\
         holidays = [\"2026-12-25\"]\n",
    )
    .expect("parses");
    let cal = &c.chain("x").expect("x").calendar;
    assert_eq!(cal.tz, chrono_tz::Tz::Europe__Berlin);
    assert_eq!(
        cal.hours(Weekday::Tue),
        &[Range {
            start: 540,
            end: 1020
        }]
    );
    assert_eq!(
        cal.hours(Weekday::Fri),
        &[
            Range {
                start: 480,
                end: 720
            },
            Range {
                start: 780,
                end: 960
            }
        ]
    );
    assert_eq!(
        cal.hours(Weekday::Sat),
        &[Range {
            start: 0,
            end: 1440
        }]
    );
    assert!(
        cal.hours(Weekday::Sun).is_empty(),
        "a day not listed is closed"
    );
    assert!(cal.holidays.contains(&date("2026-12-25")));
    assert_eq!(c.chain("x").expect("x").sla.calendar.name, "office");
}

#[test]
fn chains_default_to_always() {
    let c = Config::parse(
        "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 4 }]\n",
        Path::new("t.toml"),
    )
    .expect("parses");
    assert!(c.chain("x").expect("x").calendar.is_always());
}

#[test]
fn a_calendar_changes_the_fingerprint_and_always_does_not() {
    let plain = "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 4 }]\n";
    let always = plain.replace("[chains.x]\n", "[chains.x]\ncalendar = \"always\"\n");
    let office = |hours: &str| {
        parse(&format!(
            "[calendars.office]\ntimezone = \"UTC\"\nhours = {{ mon-fri = \"{hours}\" }}\n"
        ))
        .expect("parses")
    };
    let fp = |c: &Config| c.chain("x").expect("x").fingerprint();
    let p = Config::parse(plain, Path::new("t.toml")).expect("plain");
    let a = Config::parse(&always, Path::new("t.toml")).expect("always");
    assert_eq!(fp(&p), fp(&a));
    assert_ne!(fp(&p), fp(&office("09:00-17:00")));
    assert_ne!(fp(&office("09:00-17:00")), fp(&office("09:00-18:00")));
}

#[test]
fn refusals_name_line_and_column() {
    // (calendar table, line, column, fragment of the message); the chain
    // takes lines 1–4.
    let cases: &[(&str, usize, usize, &str)] = &[
        ("[calendars.office]\ntimezone = \"Mars/Olympus\"\n", 6, 12, "unknown time zone `Mars/Olympus`"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"09:00-12:00\", tue = [\"09:00-12:00\", \"11:00-13:00\"] }\n",
         7, 38, "overlap"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"17:00-09:00\" }\n", 7, 17, "ends before it starts"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"9-5\" }\n", 7, 17, "not a time of day"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { monday = \"24h\" }\n", 7, 20, "`monday` is not a day"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon-fri = \"24h\", fri = \"24h\" }\n", 7, 21, "fri is given by two keys"),
        ("[calendars.office]\ntimezone = \"UTC\"\n", 6, 12, "never open"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\nholidays = [\"2026-02-30\"]\n", 8, 13, "not a date"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\nholidays_file = \"missing.ics\"\n", 8, 17, "missing.ics: cannot read"),
        ("[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\n[calendars.spare]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\n",
         8, 1, "calendar `spare` is not used by any chain"),
        ("[calendars.always]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\n", 5, 1, "built in"),
    ];
    for (cal, line, col, fragment) in cases {
        let e = parse(cal).expect_err(cal);
        assert!(e.message.contains(fragment), "{cal}: {e}");
        assert_eq!(e.pos, Some((*line, *col)), "{cal}: {e}");
    }
}

#[test]
fn a_chain_naming_no_calendar_is_refused() {
    let e = Config::parse(CHAIN, Path::new("t.toml")).expect_err("no such calendar");
    assert!(e.message.contains("no calendar `office`"), "{e}");
    assert_eq!(e.pos, Some((3, 12)));
}

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//HR//Holidays//EN\r\n\
BEGIN:VEVENT\r\nUID:1@hr\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2@hr\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:New Year\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

#[test]
fn holidays_come_from_an_ics_file_beside_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("holidays.ics"), ICS).expect("write");
    let c = parse_in(
        dir.path(),
        "[calendars.office]\ntimezone = \"UTC\"\nhours = { mon-fri = \"09:00-17:00\" }\n\
         holidays = [\"2026-12-31\"]\nholidays_file = \"holidays.ics\"\n",
    )
    .expect("parses");
    let got: Vec<NaiveDate> = c.calendars["office"].holidays.iter().copied().collect();
    let want: Vec<NaiveDate> = ["2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"]
        .iter()
        .map(|d| date(d))
        .collect();
    assert_eq!(got, want, "DTEND is exclusive; one day without it");
}

#[test]
fn a_bad_ics_file_is_refused_at_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let timed = ICS.replace("DTSTART;VALUE=DATE:20270101", "DTSTART:20270101T090000Z");
    for (text, fragment) in [
        ("this is not a calendar\n", "holidays.ics"),
        (timed.as_str(), "has a time of day"),
    ] {
        std::fs::write(dir.path().join("holidays.ics"), text).expect("write");
        let e = parse_in(
            dir.path(),
            "[calendars.office]\ntimezone = \"UTC\"\nhours = { mon = \"24h\" }\nholidays_file = \"holidays.ics\"\n",
        )
        .expect_err(text);
        assert!(e.message.contains(fragment), "{e}");
        assert_eq!(e.pos, Some((8, 17)), "{e}");
    }
}
