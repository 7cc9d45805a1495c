//! The clocks a report measures durations with. Each issue's durations
//! (time to ack, to resolve, a stay at a level, a breach's overshoot) are
//! counted on the calendar that governs it — its chain's, or the one its
//! SLA policy (picked by priority) names: open time of that calendar for a
//! business-hours calendar, elapsed time for `always`. Figures on different
//! clocks are never pooled: the store keeps a spread per clock, and every
//! form labels each figure with its clock.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde::Serialize;

use crate::config::calendars::Calendar;
use crate::config::Config;
use crate::engine::calendar::open_between;
use crate::store::report::Clocks;

/// Clock 0: elapsed time, for issues whose calendar is unknown (no config,
/// or a chain that left it).
pub const UNKNOWN: usize = 0;

/// What one clock counts, as the forms label it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis {
    /// "business" (open time of a calendar) or "wall" (elapsed time).
    pub basis: &'static str,
    /// The calendar's name (None: not known, the chain is not in the config).
    pub calendar: Option<String>,
    /// The calendar's IANA zone, for business hours.
    pub timezone: Option<String>,
}

impl Basis {
    pub fn is_business(&self) -> bool {
        self.basis == "business"
    }
}

/// [`Clocks`] from the config: one clock per calendar met, looked up once
/// per (chain, priority) and then from a cache, so a report over a million
/// samples resolves policies a handful of times.
pub struct ReportClocks<'a> {
    config: Option<&'a Config>,
    /// clock → calendar to count open time in (None: elapsed time).
    calendars: Vec<Option<Arc<Calendar>>>,
    bases: Vec<Basis>,
    /// chain NUL priority → clock; `key` is the reused lookup buffer.
    cache: HashMap<String, usize>,
    key: String,
}

impl<'a> ReportClocks<'a> {
    pub fn new(config: Option<&'a Config>) -> ReportClocks<'a> {
        ReportClocks {
            config,
            calendars: vec![None],
            bases: vec![Basis {
                basis: "wall",
                calendar: None,
                timezone: None,
            }],
            cache: HashMap::new(),
            key: String::new(),
        }
    }

    /// What clock `clock` counts.
    pub fn basis(&self, clock: usize) -> &Basis {
        self.bases.get(clock).unwrap_or(&self.bases[UNKNOWN])
    }

    /// The clock of an issue without priority on `chain`: what a chain
    /// with no samples is labelled with.
    pub fn default_of(&mut self, chain: &str) -> usize {
        self.clock(chain, None)
    }

    /// The clock of `cal`, added on first sight.
    fn of_calendar(&mut self, cal: &Arc<Calendar>) -> usize {
        if let Some(i) = self
            .bases
            .iter()
            .position(|b| b.calendar.as_deref() == Some(cal.name.as_str()))
        {
            return i;
        }
        // `always` (or any 24/7 UTC calendar without holidays) counts
        // elapsed time: its open time is the wall clock's.
        let business = !cal.is_always();
        self.calendars.push(business.then(|| Arc::clone(cal)));
        self.bases.push(Basis {
            basis: if business { "business" } else { "wall" },
            calendar: Some(cal.name.clone()),
            timezone: business.then(|| cal.tz.name().to_string()),
        });
        self.bases.len() - 1
    }
}

impl Clocks for ReportClocks<'_> {
    fn clock(&mut self, chain: &str, priority: Option<&str>) -> usize {
        self.key.clear();
        self.key.push_str(chain);
        self.key.push('\0');
        if let Some(p) = priority {
            self.key.push('\0');
            self.key.push_str(p);
        }
        if let Some(&c) = self.cache.get(self.key.as_str()) {
            return c;
        }
        let cal = self
            .config
            .and_then(|c| c.chain(chain))
            .map(|c| Arc::clone(&c.for_priority(priority).calendar));
        let clock = match cal {
            Some(cal) => self.of_calendar(&cal),
            None => UNKNOWN,
        };
        self.cache.insert(self.key.clone(), clock);
        clock
    }

    fn measure(&self, clock: usize, a: i64, b: i64) -> i64 {
        let wall = (b - a).max(0);
        let Some(Some(cal)) = self.calendars.get(clock) else {
            return wall;
        };
        match (
            Utc.timestamp_millis_opt(a).single(),
            Utc.timestamp_millis_opt(b).single(),
        ) {
            // The calendar's memoised year spans: two binary searches.
            (Some(a), Some(b)) => open_between(cal, a, b).num_milliseconds(),
            _ => wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_time_is_counted_on_the_issue_s_calendar() {
        let dir = std::env::temp_dir().join(format!("report-clocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("chains.toml");
        std::fs::write(
            &path,
            r#"
[calendars.office]
timezone = "America/New_York"
hours = { mon-fri = "09:00-17:00" }

[chains.support]
calendar = "office"
levels = [{ role = "agent", wait_hours = 4 }]

[[chains.support.sla]]
priority = ["urgent"]
response_hours = 1
calendar = "always"

[roles.agent]
"#,
        )
        .expect("write");
        let config = Config::load(&path).expect("config");
        let mut clocks = ReportClocks::new(Some(&config));
        let office = clocks.clock("support", None);
        let urgent = clocks.clock("support", Some("urgent"));
        assert_eq!(clocks.basis(office).calendar.as_deref(), Some("office"));
        assert!(clocks.basis(office).is_business());
        assert_eq!(clocks.basis(urgent).basis, "wall");
        assert_eq!(clocks.clock("gone", None), UNKNOWN);
        // Friday 2026-12-04 16:00 New York → Monday 10:00: 2 open hours.
        let fri = Utc
            .with_ymd_and_hms(2026, 12, 4, 21, 0, 0)
            .single()
            .expect("t")
            .timestamp_millis();
        let mon = fri + 66 * 3_600_000;
        assert_eq!(clocks.measure(office, fri, mon), 2 * 3_600_000);
        assert_eq!(clocks.measure(urgent, fri, mon), 66 * 3_600_000);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
