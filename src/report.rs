//! The escalation report: what happened in a window [since, until) — every
//! issue open at any moment of it (not only those created in it, seed bug
//! B6), how far each chain escalated and how long each level held an issue
//! (B7), response and resolution times, SLA outcomes, the oldest open
//! issues, the worst breaches and delivery trouble. The figures come from
//! SQL aggregates ([`crate::store::report`]); this module shapes them into a
//! [`Report`] and renders it as markdown (plain enough to read when piped to
//! `mail`), JSON (durations in seconds) or CSV (one row per chain).
//!
//! Times in the markdown are UTC, labelled: the report is mailed to people
//! in other time zones, and one zone keeps the numbers comparable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::TimeDelta;
use serde::Serialize;

use crate::engine::human;
use crate::model::time::rfc3339;
use crate::store::report::{Data, LevelReached, Scope, SlaCount, Spread};

/// How many entries the "longest open" and "worst breaches" lists show.
pub const TOP: u32 = 10;

/// Width of the longest bar in the text charts.
const BAR_WIDTH: u64 = 20;

#[derive(Debug, Serialize)]
pub struct Report {
    pub window: Window,
    pub totals: Totals,
    /// Every chain in the config (or of the `--chain` filter) and every
    /// chain with activity in the window, by name.
    pub chains: Vec<ChainReport>,
    /// Chains with issues in the window, highest escalation rate first.
    pub escalating_most: Vec<Ranked>,
    /// Issues still open at the end of the window, oldest first.
    pub longest_open: Vec<OpenLine>,
    /// SLA targets breached in the window, largest overshoot first.
    pub worst_breaches: Vec<BreachLine>,
    pub delivery: Delivery,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub since: String,
    pub until: String,
    pub seconds: i64,
    /// The `--chain` filter, if any.
    pub chain: Option<String>,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Open at any moment of the window.
    pub involved: u64,
    /// Created in the window.
    pub opened: u64,
    /// Resolved in the window.
    pub resolved: u64,
    /// Open at any moment of the window and not resolved by its end.
    pub still_open: u64,
    /// Paged at level 2 or higher in the window.
    pub escalated: u64,
    /// With an SLA breach in the window.
    pub breached: u64,
}

#[derive(Debug, Serialize)]
pub struct ChainReport {
    pub chain: String,
    /// False for a chain no longer in the config (its issues are orphaned).
    pub configured: bool,
    pub involved: u64,
    pub opened: u64,
    pub resolved: u64,
    pub still_open: u64,
    pub escalated: u64,
    /// escalated / involved (None without involved issues).
    pub escalation_rate: Option<f64>,
    pub breached: u64,
    /// Highest level reached by the involved issues: every level of the
    /// chain (zeros included) and any level only the history knows.
    pub highest_level: Vec<LevelCount>,
    /// Created → first acknowledgement, issues first acknowledged in the window.
    pub time_to_ack: SpreadView,
    /// Created → resolved, issues resolved in the window.
    pub time_to_resolve: SpreadView,
    pub sla: SlaView,
    pub levels: Vec<LevelLine>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LevelCount {
    pub level: u32,
    pub issues: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SpreadView {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl From<Spread> for SpreadView {
    fn from(s: Spread) -> Self {
        SpreadView {
            count: s.count,
            median_seconds: s.median,
            p90_seconds: s.p90,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SlaView {
    pub response: SlaLine,
    pub resolution: SlaLine,
}

#[derive(Debug, Serialize)]
pub struct SlaLine {
    pub met: u64,
    pub breached: u64,
    /// met / (met + breached) in percent, one decimal (None: no outcome).
    pub met_percent: Option<f64>,
}

impl From<SlaCount> for SlaLine {
    fn from(c: SlaCount) -> Self {
        let all = c.met + c.breached;
        SlaLine {
            met: c.met,
            breached: c.breached,
            met_percent: (all > 0).then(|| round(c.met as f64 * 100.0 / all as f64, 1)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LevelLine {
    pub level: u32,
    /// The level's role in the current config.
    pub role: Option<String>,
    /// Issues that reached the level in the window.
    pub reached: u64,
    /// Completed stays (left by escalation or resolution in the window).
    pub stay: SpreadView,
    /// Stays that ended in the window by escalation to a higher level.
    pub escalated: u64,
    /// Stays that ended in the window by resolution.
    pub resolved: u64,
    /// Issues still at the level when the window ended.
    pub still_there: u64,
}

#[derive(Debug, Serialize)]
pub struct Ranked {
    pub chain: String,
    pub escalation_rate: f64,
    pub escalated: u64,
    pub involved: u64,
}

#[derive(Debug, Serialize)]
pub struct OpenLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    /// The level at the end of the window.
    pub level: u32,
    /// The current owner.
    pub owner: String,
    pub acknowledged: bool,
    pub created_at: String,
    /// Open for this long at the end of the window.
    pub age_seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct BreachLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub target: String,
    pub due_at: String,
    /// The late acknowledgement or resolution, if it came by the end.
    pub settled_at: Option<String>,
    pub overshoot_seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct Delivery {
    pub failed_attempts: u64,
    pub dead: u64,
    pub by_channel: Vec<ChannelLine>,
}

#[derive(Debug, Serialize)]
pub struct ChannelLine {
    pub channel: String,
    /// Failed attempts in the window.
    pub failed_attempts: u64,
    /// Notifications dead now (never delivered; `escalate outbox retry`).
    pub dead: u64,
}

/// The configured chains: name → the role of each level, in order.
pub type ChainRoles = BTreeMap<String, Vec<String>>;

/// Shape the queried figures into a report. `configured` lists the chains
/// of the config that the report covers (all, or the `--chain` one).
pub fn build(scope: &Scope, data: Data, configured: &ChainRoles) -> Report {
    let Data {
        chains: mut rows,
        levels,
        longest_open,
        worst_breaches,
        delivery,
    } = data;
    // Configured chains show even when nothing happened on them: a quiet
    // week is news too.
    for name in configured.keys() {
        if scope.chain.is_none_or(|c| c == name) && !rows.contains_key(name) {
            rows.insert(name.clone(), crate::store::report::ReportRow::new(name));
        }
    }
    let mut by_chain: BTreeMap<String, Vec<LevelReached>> = BTreeMap::new();
    for l in levels {
        by_chain.entry(l.chain.clone()).or_default().push(l);
    }

    let mut totals = Totals::default();
    let mut chains = Vec::with_capacity(rows.len());
    for (name, r) in rows {
        totals.involved += r.involved;
        totals.opened += r.opened;
        totals.resolved += r.resolved;
        totals.still_open += r.still_open;
        // Issues belong to one chain, so per-chain distinct counts add up.
        totals.escalated += r.escalated;
        totals.breached += r.breached;
        let roles = configured.get(&name);
        let mut found: BTreeMap<u32, LevelReached> = by_chain
            .remove(&name)
            .unwrap_or_default()
            .into_iter()
            .map(|l| (l.level, l))
            .collect();
        // Every configured level, reached or not (a level nobody reached
        // is a finding), then any level only the history knows.
        let wanted: BTreeSet<u32> = (1..=roles.map_or(0, |r| r.len()))
            .filter_map(|l| u32::try_from(l).ok())
            .chain(found.keys().copied())
            .chain(r.highest_level.keys().copied())
            .collect();
        let highest_level = wanted
            .iter()
            .map(|&level| LevelCount {
                level,
                issues: r.highest_level.get(&level).copied().unwrap_or(0),
            })
            .collect();
        let levels = wanted
            .into_iter()
            .map(|level| {
                let l = found.remove(&level).unwrap_or_default();
                LevelLine {
                    level,
                    role: roles
                        .and_then(|r| r.get(usize::try_from(level).ok()?.checked_sub(1)?))
                        .cloned(),
                    reached: l.reached,
                    stay: l.stay.into(),
                    escalated: l.escalated,
                    resolved: l.resolved,
                    still_there: l.still_there,
                }
            })
            .collect();
        chains.push(ChainReport {
            configured: roles.is_some(),
            involved: r.involved,
            opened: r.opened,
            resolved: r.resolved,
            still_open: r.still_open,
            escalated: r.escalated,
            escalation_rate: rate(r.escalated, r.involved),
            breached: r.breached,
            highest_level,
            time_to_ack: r.time_to_ack.into(),
            time_to_resolve: r.time_to_resolve.into(),
            sla: SlaView {
                response: r.response_sla.into(),
                resolution: r.resolution_sla.into(),
            },
            levels,
            chain: name,
        });
    }

    let mut escalating_most: Vec<Ranked> = chains
        .iter()
        .filter_map(|c| {
            Some(Ranked {
                chain: c.chain.clone(),
                escalation_rate: c.escalation_rate?,
                escalated: c.escalated,
                involved: c.involved,
            })
        })
        .collect();
    escalating_most.sort_by(|a, b| {
        b.escalation_rate
            .total_cmp(&a.escalation_rate)
            .then(b.escalated.cmp(&a.escalated))
            .then(a.chain.cmp(&b.chain))
    });

    let by_channel: Vec<ChannelLine> = delivery
        .into_iter()
        .map(|c| ChannelLine {
            channel: c.channel,
            failed_attempts: c.failed_attempts,
            dead: c.dead,
        })
        .collect();
    Report {
        window: Window {
            since: rfc3339(scope.since),
            until: rfc3339(scope.until),
            seconds: (scope.until - scope.since).num_seconds(),
            chain: scope.chain.map(str::to_string),
        },
        totals,
        chains,
        escalating_most,
        longest_open: longest_open
            .into_iter()
            .map(|o| OpenLine {
                age_seconds: (scope.until - o.created_at).num_seconds(),
                id: o.id,
                chain: o.chain,
                title: o.title,
                level: o.level,
                owner: o.owner,
                acknowledged: o.acknowledged,
                created_at: rfc3339(o.created_at),
            })
            .collect(),
        worst_breaches: worst_breaches
            .into_iter()
            .map(|b| BreachLine {
                id: b.id,
                chain: b.chain,
                title: b.title,
                target: b.target,
                due_at: rfc3339(b.due_at),
                settled_at: b.settled_at.map(rfc3339),
                overshoot_seconds: b.overshoot_seconds,
            })
            .collect(),
        delivery: Delivery {
            failed_attempts: by_channel.iter().map(|c| c.failed_attempts).sum(),
            dead: by_channel.iter().map(|c| c.dead).sum(),
            by_channel,
        },
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Markdown for people, and for `| mail`: short lines where possible,
/// tables that read as text, bars in indented (preformatted) blocks.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
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

    if r.chains.is_empty() {
        let _ = writeln!(s, "\nNo chains are configured and no issues were open.");
    } else {
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
        let _ = writeln!(s, "\n## Response times and SLA\n");
        let _ = writeln!(
            s,
            "| chain | to ack, median | to ack, p90 | to resolve, median | to resolve, p90 | response SLA met | resolution SLA met |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for c in &r.chains {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&c.chain),
                duration(c.time_to_ack.median_seconds),
                duration(c.time_to_ack.p90_seconds),
                duration(c.time_to_resolve.median_seconds),
                duration(c.time_to_resolve.p90_seconds),
                sla(&c.sla.response),
                sla(&c.sla.resolution)
            );
        }
    }

    if !r.escalating_most.is_empty() {
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

    let active: Vec<&ChainReport> = r.chains.iter().filter(|c| c.involved > 0).collect();
    if !active.is_empty() {
        let _ = writeln!(s, "\n## Where the chains break down");
        for c in active {
            chain_breakdown(&mut s, c);
        }
    }

    let _ = writeln!(s, "\n## Longest open at the end\n");
    if r.longest_open.is_empty() {
        let _ = writeln!(s, "None.");
    } else {
        let _ = writeln!(
            s,
            "| # | chain | title | level | owner | opened (UTC) | open for |"
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

    let _ = writeln!(s, "\n## Worst SLA breaches\n");
    if r.worst_breaches.is_empty() {
        let _ = writeln!(s, "None.");
    } else {
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
                human(TimeDelta::seconds(b.overshoot_seconds))
            );
        }
    }

    let _ = writeln!(s, "\n## Delivery failures\n");
    if r.delivery.by_channel.is_empty() {
        let _ = writeln!(s, "None.");
    } else {
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
    s
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
    let _ = writeln!(
        s,
        "\n| level | reached | median stay | p90 stay | escalated up | resolved there | still there |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for l in &c.levels {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            label(l.level),
            l.reached,
            duration(l.stay.median_seconds),
            duration(l.stay.p90_seconds),
            l.escalated,
            l.resolved,
            l.still_there
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

fn duration(secs: Option<i64>) -> String {
    secs.map_or_else(|| "—".to_string(), |v| human(TimeDelta::seconds(v)))
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

/// Titles are user text of any length: one line, at most 60 characters.
fn title(t: &str) -> String {
    let one = cell(t);
    if one.chars().count() > 60 {
        let cut: String = one.chars().take(59).collect();
        format!("{}…", cut.trim_end())
    } else {
        one
    }
}

/// Table cells are user text: keep them on one line and out of the table
/// syntax.
fn cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|")
}

/// CSV, one row per chain with its figures; durations in seconds, empty
/// where there is no value. Fields with a comma, quote or line break are
/// quoted (RFC 4180).
pub fn csv(r: &Report) -> String {
    let mut s = String::new();
    let header = [
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
    let _ = writeln!(s, "{}", header.join(","));
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let optf = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for c in &r.chains {
        let highest: Vec<String> = c
            .highest_level
            .iter()
            .map(|h| format!("L{}={}", h.level, h.issues))
            .collect();
        let fields = [
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
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(s, "{}", quoted.join(","));
    }
    s
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

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
    fn sla_percent_and_rates_round() {
        let l: SlaLine = SlaCount {
            met: 1,
            breached: 2,
        }
        .into();
        assert_eq!(l.met_percent, Some(33.3));
        assert_eq!(sla(&l), "33% (1 of 3)");
        let none: SlaLine = SlaCount::default().into();
        assert_eq!(sla(&none), "—");
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn titles_stay_on_one_line_and_out_of_tables() {
        assert_eq!(title("a|b\nc"), "a\\|b c");
        let long = "x".repeat(80);
        assert_eq!(title(&long).chars().count(), 60);
    }
}
