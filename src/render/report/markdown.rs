//! The report as markdown, for people and for `| mail`: short lines where
//! possible, tables that read as text, bars in indented (preformatted)
//! blocks.
//!
//! Times are UTC, labelled: the report is mailed to people in other time
//! zones, and one zone keeps the numbers comparable. Durations say what
//! they count: `3.5 business h` is open time of the calendar named in the
//! row (or cell), `1h 10m` is elapsed time; a chain whose issues run on
//! several calendars gets a row per calendar, never a pooled figure.

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::{ChainReport, ClockDurations, Grouped, Report, SlaLine};
use crate::model::time::human;
use crate::text::{markdown_escape, markdown_inline, one_line};

/// Width of the longest bar in the text charts.
const BAR_WIDTH: u64 = 20;

/// The whole report, section by section.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    heading(&mut s, r);
    by_chain(&mut s, r);
    sla_by_priority(&mut s, r);
    escalating_most(&mut s, r);
    let active: Vec<&ChainReport> = r.chains.iter().filter(|c| c.involved > 0).collect();
    if !active.is_empty() {
        let _ = writeln!(s, "\n## Where the chains break down");
        for c in active {
            chain_breakdown(&mut s, c);
        }
    }
    longest_open(&mut s, r);
    worst_breaches(&mut s, r);
    delivery(&mut s, r);
    s
}

/// Title, what the window covers, and the totals.
fn heading(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "# Escalation report: {} to {} UTC\n",
        minute(&r.window.since),
        minute(&r.window.until)
    );
    let span = human(TimeDelta::seconds(r.window.seconds));
    match &r.window.chain {
        Some(c) => {
            let _ = writeln!(
                s,
                "Chain `{}`, {span}: every issue open at any moment of the window.\n",
                cell(c)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "All chains, {span}: every issue open at any moment of the window.\n"
            );
        }
    }
    let t = &r.totals;
    let _ = writeln!(s, "## Totals\n");
    let _ = writeln!(s, "- open at any moment: {}", t.involved);
    let _ = writeln!(s, "- opened: {}", t.opened);
    let _ = writeln!(s, "- resolved: {}", t.resolved);
    let _ = writeln!(s, "- still open at the end: {}", t.still_open);
    let _ = writeln!(
        s,
        "- escalated (paged at level 2 or higher): {}",
        t.escalated
    );
    let _ = writeln!(s, "- SLA breached: {}", t.breached);
}

/// The per-chain counts, then response times and SLA outcomes per chain.
fn by_chain(s: &mut String, r: &Report) {
    if r.chains.is_empty() {
        let _ = writeln!(s, "\nNo chains are configured and no issues were open.");
        return;
    }
    let _ = writeln!(s, "\n## By chain\n");
    let _ = writeln!(
        s,
        "| chain | open | opened | resolved | still open | escalated | escalation rate | SLA breached |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for c in &r.chains {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&c.chain),
            if c.configured { "" } else { " (not in config)" },
            c.involved,
            c.opened,
            c.resolved,
            c.still_open,
            c.escalated,
            percent(c.escalation_rate.map(|x| x * 100.0)),
            c.breached
        );
    }
    let _ = writeln!(s, "\n## Response times\n");
    let _ = writeln!(
        s,
        "Counted in the hours of each issue's calendar (its chain's, or its SLA \
         policy's): `business h` is open time of that calendar, the others wall-clock time.\n"
    );
    let _ = writeln!(
        s,
        "| chain | hours counted | to ack, median | to ack, p90 | to resolve, median | to resolve, p90 |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for c in &r.chains {
        for d in &c.by_calendar {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&c.chain),
                counted(d),
                span(d.time_to_ack.median_seconds, d.basis),
                span(d.time_to_ack.p90_seconds, d.basis),
                span(d.time_to_resolve.median_seconds, d.basis),
                span(d.time_to_resolve.p90_seconds, d.basis)
            );
        }
    }
    let _ = writeln!(s, "\n## SLA met\n");
    let _ = writeln!(s, "| chain | response SLA met | resolution SLA met |");
    let _ = writeln!(s, "|---|---:|---:|");
    for c in &r.chains {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            cell(&c.chain),
            sla(&c.sla.response),
            sla(&c.sla.resolution)
        );
    }
}

fn escalating_most(s: &mut String, r: &Report) {
    if let Some(g) = &r.escalating_by {
        return escalating_by(s, g);
    }
    if r.escalating_most.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Chains that escalate most\n");
    for (i, e) in r.escalating_most.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. {}: {} ({} of {})",
            i + 1,
            cell(&e.chain),
            percent(Some(e.escalation_rate * 100.0)),
            e.escalated,
            e.involved
        );
    }
}

/// `report --by KEY`: the ranking by that key.
fn escalating_by(s: &mut String, g: &Grouped) {
    if g.rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Issues that escalate most, by {}\n", g.by);
    for (i, e) in g.rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. {}: {} ({} of {})",
            i + 1,
            cell(&e.group),
            percent(Some(e.escalation_rate * 100.0)),
            e.escalated,
            e.involved
        );
    }
}

/// SLA met per priority, when issues have priorities.
fn sla_by_priority(s: &mut String, r: &Report) {
    if r.sla_by_priority.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## SLA by priority\n");
    let _ = writeln!(s, "| priority | response SLA met | resolution SLA met |");
    let _ = writeln!(s, "|---|---|---|");
    for p in &r.sla_by_priority {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            cell(&p.priority),
            sla(&p.response),
            sla(&p.resolution)
        );
    }
}

/// One chain's levels: how far issues got, how long each level held them,
/// and how stays ended.
fn chain_breakdown(s: &mut String, c: &ChainReport) {
    let _ = writeln!(s, "\n### {}\n", cell(&c.chain));
    let label = |level: u32| -> String {
        match c
            .levels
            .iter()
            .find(|l| l.level == level)
            .and_then(|l| l.role.as_deref())
        {
            Some(role) => format!("L{level} {}", cell(role)),
            None => format!("L{level}"),
        }
    };
    let _ = writeln!(s, "Highest level reached:\n");
    let highest: Vec<(String, u64)> = c
        .highest_level
        .iter()
        .map(|h| (label(h.level), h.issues))
        .collect();
    bars(s, &highest);
    let _ = writeln!(s, "\nReached in the window:\n");
    let reached: Vec<(String, u64)> = c
        .levels
        .iter()
        .map(|l| (label(l.level), l.reached))
        .collect();
    bars(s, &reached);
    let mixed = c.levels.iter().any(|l| l.stay.basis == "mixed");
    let mut clocks: Vec<String> = c
        .levels
        .iter()
        .flat_map(|l| &l.stay_by_calendar)
        .map(|st| counted_parts(st.basis, st.calendar.as_deref(), st.timezone.as_deref()))
        .collect();
    clocks.sort();
    clocks.dedup();
    match clocks.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(s, "\nStays counted in: {one}.");
        }
        _ => {
            let _ = writeln!(s, "\nStays counted in the hours of each issue's calendar.");
        }
    }
    let _ = writeln!(
        s,
        "\n| level | reached | median stay | p90 stay | escalated up | resolved there | still there |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for l in &c.levels {
        let (median, p90) = if l.stay.basis == "mixed" {
            let see = "by calendar, below".to_string();
            (see.clone(), see)
        } else {
            (
                span(l.stay.median_seconds, l.stay.basis),
                span(l.stay.p90_seconds, l.stay.basis),
            )
        };
        let _ = writeln!(
            s,
            "| {} | {} | {median} | {p90} | {} | {} | {} |",
            label(l.level),
            l.reached,
            l.escalated,
            l.resolved,
            l.still_there
        );
    }
    if mixed {
        // Several calendars at one level: a row per calendar, so no median
        // pools open hours with elapsed time.
        let _ = writeln!(s, "\nStays by calendar:\n");
        let _ = writeln!(
            s,
            "| level | hours counted | stays | median stay | p90 stay |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for l in &c.levels {
            for st in &l.stay_by_calendar {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    label(l.level),
                    counted_parts(st.basis, st.calendar.as_deref(), st.timezone.as_deref()),
                    st.stay.count,
                    span(st.stay.median_seconds, st.basis),
                    span(st.stay.p90_seconds, st.basis)
                );
            }
        }
    }
}

fn longest_open(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n## Longest open at the end\n");
    if r.longest_open.is_empty() {
        let _ = writeln!(s, "None.");
        return;
    }
    let _ = writeln!(
        s,
        "| # | chain | title | level | owner | opened (UTC) | open for (wall clock) |"
    );
    let _ = writeln!(s, "|---:|---|---|---:|---|---|---:|");
    for o in &r.longest_open {
        let _ = writeln!(
            s,
            "| {} | {} | {} | L{} | {}{} | {} | {} |",
            o.id,
            cell(&o.chain),
            title(&o.title),
            o.level,
            cell(&o.owner),
            if o.acknowledged { "" } else { " (no ack)" },
            minute(&o.created_at),
            human(TimeDelta::seconds(o.age_seconds))
        );
    }
}

fn worst_breaches(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n## Worst SLA breaches\n");
    if r.worst_breaches.is_empty() {
        let _ = writeln!(s, "None.");
        return;
    }
    let _ = writeln!(
        s,
        "| # | chain | title | target | due (UTC) | over by | outcome |"
    );
    let _ = writeln!(s, "|---:|---|---|---|---|---:|---|");
    for b in &r.worst_breaches {
        let settled = match (&b.settled_at, b.target.as_str()) {
            (Some(_), "response") => "answered late (ack or resolve)",
            (Some(_), _) => "resolved late",
            (None, "response") => "not acknowledged",
            (None, _) => "not resolved",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {settled} |",
            b.id,
            cell(&b.chain),
            title(&b.title),
            b.target,
            minute(&b.due_at),
            over_by(b.overshoot_seconds, b.basis, b.calendar.as_deref())
        );
    }
}

fn delivery(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n## Delivery failures\n");
    if r.delivery.by_channel.is_empty() {
        let _ = writeln!(s, "None.");
        return;
    }
    let _ = writeln!(
        s,
        "{} failed attempt(s) in the window; {} notification(s) dead now \
         (see `escalate outbox --status dead`).\n",
        r.delivery.failed_attempts, r.delivery.dead
    );
    let _ = writeln!(s, "| channel | failed attempts | dead now |");
    let _ = writeln!(s, "|---|---:|---:|");
    for c in &r.delivery.by_channel {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            cell(&c.channel),
            c.failed_attempts,
            c.dead
        );
    }
}

/// A bar chart in an indented block: labels padded, bars scaled to the
/// largest value (a non-zero value always gets at least one block).
fn bars(s: &mut String, rows: &[(String, u64)]) {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    for (label, n) in rows {
        let len = if max == 0 {
            0
        } else {
            (n * BAR_WIDTH).div_ceil(max)
        };
        let bar = "█".repeat(usize::try_from(len).unwrap_or(0));
        let pad = width - label.chars().count();
        let gap = if bar.is_empty() { "" } else { " " };
        let _ = writeln!(s, "    {label}{}  {bar}{gap}{n}", " ".repeat(pad));
    }
}

/// A duration in its basis: open time of a calendar as `3.5 business h`
/// (`40 business min` under an hour), elapsed time as `1h 10m`.
fn span(secs: Option<i64>, basis: &str) -> String {
    match secs {
        None => "—".to_string(),
        Some(v) if basis == "business" => business(v),
        Some(v) => human(TimeDelta::seconds(v)),
    }
}

/// Open seconds as business hours, one decimal, `.0` dropped. Hours rather
/// than days: a business day is as long as the calendar says.
fn business(secs: i64) -> String {
    if secs < 3600 {
        return format!("{} business min", secs.div_euclid(60));
    }
    let tenths = (secs * 10 + 1800) / 3600;
    if tenths % 10 == 0 {
        format!("{} business h", tenths / 10)
    } else {
        format!("{}.{} business h", tenths / 10, tenths % 10)
    }
}

/// What one clock counts, for a table cell.
fn counted(d: &ClockDurations) -> String {
    counted_parts(d.basis, d.calendar.as_deref(), d.timezone.as_deref())
}

fn counted_parts(basis: &str, calendar: Option<&str>, timezone: Option<&str>) -> String {
    match (basis, calendar) {
        ("business", Some(name)) => format!(
            "business hours, calendar `{}` ({})",
            cell(name),
            timezone.unwrap_or("?")
        ),
        (_, Some(name)) => format!("wall clock (calendar `{}`)", cell(name)),
        (_, None) => "wall clock (chain not in config)".to_string(),
    }
}

/// A breach's overshoot, its calendar named when it counts business hours
/// (rows of one table may differ).
fn over_by(secs: i64, basis: &str, calendar: Option<&str>) -> String {
    match (basis, calendar) {
        ("business", Some(name)) => format!("{} (calendar `{}`)", business(secs), cell(name)),
        _ => human(TimeDelta::seconds(secs)),
    }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_string(), |v| format!("{v:.0}%"))
}

fn sla(l: &SlaLine) -> String {
    match l.met_percent {
        Some(p) => format!("{} ({} of {})", percent(Some(p)), l.met, l.met + l.breached),
        None => "—".to_string(),
    }
}

/// `2026-11-02T09:00:00Z` → `2026-11-02 09:00`.
fn minute(rfc: &str) -> String {
    rfc.get(..16).unwrap_or(rfc).replace('T', " ")
}

/// Titles are user text of any length: one line, at most 60 characters
/// (cut before escaping, so no escape is cut in half).
fn title(t: &str) -> String {
    let one = one_line(t);
    let cut = if one.chars().count() > 60 {
        let cut: String = one.chars().take(59).collect();
        format!("{}…", cut.trim_end())
    } else {
        one
    };
    markdown_escape(&cut)
}

/// Table cells are user text: keep them on one line, out of the table
/// syntax and out of markdown ([`markdown_inline`]).
fn cell(s: &str) -> String {
    markdown_inline(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::report::SlaCount;

    #[test]
    fn bars_scale_to_the_largest_and_show_small_values() {
        let mut s = String::new();
        bars(
            &mut s,
            &[("L1".into(), 40), ("L2 lead".into(), 1), ("L3".into(), 0)],
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], format!("    L1       {} 40", "█".repeat(20)));
        assert_eq!(lines[1], "    L2 lead  █ 1");
        assert_eq!(lines[2], "    L3       0");
    }

    #[test]
    fn business_time_reads_in_hours_with_its_unit() {
        assert_eq!(business(2 * 3600), "2 business h");
        assert_eq!(business(3 * 3600 + 1800), "3.5 business h");
        assert_eq!(business(4200), "1.2 business h");
        assert_eq!(business(600), "10 business min");
        assert_eq!(span(Some(4200), "wall"), "1h 10m");
        assert_eq!(span(None, "business"), "—");
        assert_eq!(
            over_by(7200, "business", Some("office")),
            "2 business h (calendar `office`)"
        );
    }

    #[test]
    fn sla_cells_show_percent_and_counts() {
        let l: SlaLine = SlaCount {
            met: 1,
            breached: 2,
        }
        .into();
        assert_eq!(sla(&l), "33% (1 of 3)");
        let none: SlaLine = SlaCount::default().into();
        assert_eq!(sla(&none), "—");
    }

    #[test]
    fn titles_stay_on_one_line_and_out_of_tables() {
        assert_eq!(title("a|b\nc"), "a\\|b c");
        let long = "x".repeat(80);
        assert_eq!(title(&long).chars().count(), 60);
        // Cut first, escaped after: the escape of the last kept `<` stays.
        let angles = "<".repeat(80);
        assert_eq!(title(&angles), format!("{}…", "\\<".repeat(59)));
    }
}
