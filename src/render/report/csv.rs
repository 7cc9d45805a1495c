//! The report as CSV: one row per chain with its figures, durations in
//! seconds, empty where there is no value. Quoting (RFC 4180: only fields
//! with a comma, quote or line break) is the `csv` crate's; chain names are
//! user text, so they may need it.
//!
//! The duration columns say what they count: `durations_basis` is
//! `business` (seconds of open time of calendar `durations_calendar`),
//! `wall` (elapsed seconds) or `mixed`. A mixed chain's row (issues on
//! several calendars) leaves the medians empty and is followed by one row
//! per calendar that fills only the chain, basis and duration columns, so
//! no cell pools business and wall time and summing a column of counts
//! still counts each issue once.

use anyhow::{Context, Result};

use super::{ChainReport, ClockDurations, Grouped, Report};

/// The columns, in order: the header row.
const HEADER: [&str; 24] = [
    "chain",
    "configured",
    "involved",
    "opened",
    "resolved",
    "still_open",
    "escalated",
    "escalation_rate",
    "breached",
    "highest_level",
    "durations_basis",
    "durations_calendar",
    "ack_count",
    "ack_median_seconds",
    "ack_p90_seconds",
    "resolve_count",
    "resolve_median_seconds",
    "resolve_p90_seconds",
    "response_sla_met",
    "response_sla_breached",
    "response_sla_met_percent",
    "resolution_sla_met",
    "resolution_sla_breached",
    "resolution_sla_met_percent",
];

/// The header and one row per chain, each line ending in `\n`; with
/// `report --by KEY` (other than chain), the grouped ranking instead:
/// `KEY,involved,escalated,escalation_rate`, highest rate first.
pub fn csv(r: &Report) -> Result<String> {
    if let Some(g) = &r.escalating_by {
        return grouped(g);
    }
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).context("writing the CSV header")?;
    for c in &r.chains {
        w.write_record(row(c))
            .with_context(|| format!("writing the CSV row of chain `{}`", c.chain))?;
        if c.by_calendar.len() > 1 {
            for d in &c.by_calendar {
                w.write_record(clock_row(c, d))
                    .with_context(|| format!("writing the CSV rows of chain `{}`", c.chain))?;
            }
        }
    }
    let bytes = w.into_inner().context("finishing the CSV")?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

fn grouped(g: &Grouped) -> Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([g.by, "involved", "escalated", "escalation_rate"])
        .context("writing the CSV header")?;
    for l in &g.rows {
        let row = [
            l.group.clone(),
            l.involved.to_string(),
            l.escalated.to_string(),
            l.escalation_rate.to_string(),
        ];
        w.write_record(row)
            .with_context(|| format!("writing the CSV row of `{}`", l.group))?;
    }
    let bytes = w.into_inner().context("finishing the CSV")?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

/// One chain's fields, in [`HEADER`] order. Numbers are formatted here,
/// not by the writer, so rates read `0.5` and `1` as they always have.
fn row(c: &ChainReport) -> [String; 24] {
    // A mixed chain's medians are in its per-calendar rows: here one
    // measure may be on one clock and the other on another.
    let mixed = basis_of(c) == "mixed";
    let opt = |v: Option<i64>| {
        v.filter(|_| !mixed)
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    let optf = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let highest: Vec<String> = c
        .highest_level
        .iter()
        .map(|h| format!("L{}={}", h.level, h.issues))
        .collect();
    [
        c.chain.clone(),
        c.configured.to_string(),
        c.involved.to_string(),
        c.opened.to_string(),
        c.resolved.to_string(),
        c.still_open.to_string(),
        c.escalated.to_string(),
        optf(c.escalation_rate),
        c.breached.to_string(),
        highest.join(";"),
        basis_of(c).to_string(),
        calendars_of(c),
        c.time_to_ack.count.to_string(),
        opt(c.time_to_ack.median_seconds),
        opt(c.time_to_ack.p90_seconds),
        c.time_to_resolve.count.to_string(),
        opt(c.time_to_resolve.median_seconds),
        opt(c.time_to_resolve.p90_seconds),
        c.sla.response.met.to_string(),
        c.sla.response.breached.to_string(),
        optf(c.sla.response.met_percent),
        c.sla.resolution.met.to_string(),
        c.sla.resolution.breached.to_string(),
        optf(c.sla.resolution.met_percent),
    ]
}

/// The basis of a chain's duration columns: its one clock's, or `mixed`.
fn basis_of(c: &ChainReport) -> &'static str {
    match c.by_calendar.as_slice() {
        [one] => one.basis,
        _ => "mixed",
    }
}

/// The calendar(s) behind a chain's durations, `;`-separated when several.
fn calendars_of(c: &ChainReport) -> String {
    let names: Vec<&str> = c
        .by_calendar
        .iter()
        .filter_map(|d| d.calendar.as_deref())
        .collect();
    names.join(";")
}

/// A mixed chain's durations on one clock: only the chain, basis and
/// duration columns are filled.
fn clock_row(c: &ChainReport, d: &ClockDurations) -> [String; 24] {
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut out: [String; 24] = Default::default();
    out[0] = c.chain.clone();
    out[1] = c.configured.to_string();
    out[10] = d.basis.to_string();
    out[11] = d.calendar.clone().unwrap_or_default();
    out[12] = d.time_to_ack.count.to_string();
    out[13] = opt(d.time_to_ack.median_seconds);
    out[14] = opt(d.time_to_ack.p90_seconds);
    out[15] = d.time_to_resolve.count.to_string();
    out[16] = opt(d.time_to_resolve.median_seconds);
    out[17] = opt(d.time_to_resolve.p90_seconds);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::report::{LevelCount, SlaLine, SlaView, SpreadView, Totals, Window};

    fn chain(name: &str) -> ChainReport {
        let spread = || SpreadView {
            count: 0,
            median_seconds: None,
            p90_seconds: None,
            basis: "wall",
            calendar: Some("always".into()),
        };
        let sla = || SlaLine {
            met: 0,
            breached: 0,
            met_percent: None,
        };
        ChainReport {
            chain: name.to_string(),
            configured: true,
            involved: 3,
            opened: 3,
            resolved: 2,
            still_open: 1,
            escalated: 2,
            escalation_rate: Some(0.6667),
            breached: 0,
            highest_level: vec![LevelCount {
                level: 1,
                issues: 3,
            }],
            time_to_ack: spread(),
            time_to_resolve: SpreadView {
                count: 1,
                median_seconds: Some(6600),
                p90_seconds: Some(6600),
                basis: "wall",
                calendar: Some("always".into()),
            },
            by_calendar: vec![ClockDurations {
                basis: "wall",
                calendar: Some("always".into()),
                timezone: None,
                time_to_ack: spread(),
                time_to_resolve: SpreadView {
                    count: 1,
                    median_seconds: Some(6600),
                    p90_seconds: Some(6600),
                    basis: "wall",
                    calendar: Some("always".into()),
                },
            }],
            sla: SlaView {
                response: sla(),
                resolution: SlaLine {
                    met: 1,
                    breached: 0,
                    met_percent: Some(100.0),
                },
            },
            levels: Vec::new(),
        }
    }

    fn report(chains: Vec<ChainReport>) -> Report {
        Report {
            window: Window {
                since: String::new(),
                until: String::new(),
                seconds: 0,
                chain: None,
            },
            totals: Totals::default(),
            chains,
            escalating_most: Vec::new(),
            escalating_by: None,
            sla_by_priority: Vec::new(),
            longest_open: Vec::new(),
            worst_breaches: Vec::new(),
            delivery: crate::render::report::Delivery {
                failed_attempts: 0,
                dead: 0,
                by_channel: Vec::new(),
            },
        }
    }

    #[test]
    fn rows_keep_their_number_forms() {
        let text = csv(&report(vec![chain("ops")])).expect("csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "ops,true,3,3,2,1,2,0.6667,0,L1=3,wall,always,0,,,1,6600,6600,0,0,,1,0,100"
        );
        assert!(text.ends_with("100\n"), "{text:?}");
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let names = ["plain", "a,b", "say \"hi\"", "two\nlines"];
        let text = csv(&report(names.iter().map(|n| chain(n)).collect())).expect("csv");
        for start in [
            "\nplain,true,",
            "\n\"a,b\",true,",
            "\n\"say \"\"hi\"\"\",true,",
            "\n\"two\nlines\",true,",
        ] {
            assert!(text.contains(start), "{start:?} in {text:?}");
        }
    }
}
