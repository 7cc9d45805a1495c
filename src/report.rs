//! The escalation report: every issue open at any moment of a window (not
//! only those created in it, seed bug B6), with the level each reached and
//! when (B7), rendered as markdown (readable when piped to mail) or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{human, Ts};
use crate::store::ReportRow;
use crate::workflow::rfc3339;

#[derive(Debug, Serialize)]
pub struct Report {
    pub window: Window,
    pub totals: Totals,
    pub chains: Vec<ChainStats>,
    pub issues: Vec<IssueLine>,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub days: u32,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Open at any moment of the window.
    pub issues: u64,
    /// Created inside the window.
    pub opened: u64,
    /// Resolved inside the window.
    pub resolved: u64,
    /// Not resolved at the end of the window.
    pub still_open: u64,
    /// Reached level 2 or higher.
    pub escalated: u64,
    /// Acknowledged by someone at least once.
    pub acknowledged: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ChainStats {
    pub chain: String,
    pub issues: u64,
    pub escalated: u64,
    /// Highest level reached → number of issues.
    pub highest_level: BTreeMap<u32, u64>,
}

#[derive(Debug, Serialize)]
pub struct IssueLine {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub status: String,
    pub level: u32,
    pub max_level: u32,
    pub owner: String,
    pub created_at: String,
    pub first_ack_at: Option<String>,
    pub resolved_at: Option<String>,
    /// Seconds from creation to resolution, or to the end of the window.
    pub open_seconds: i64,
    pub levels: Vec<LevelLine>,
}

#[derive(Debug, Serialize)]
pub struct LevelLine {
    pub level: u32,
    pub at: String,
    /// Seconds after creation.
    pub after_seconds: i64,
}

/// Build the report from the window's rows.
pub fn build(rows: &[ReportRow], start: Ts, end: Ts, days: u32) -> Report {
    let mut totals = Totals::default();
    let mut chains: BTreeMap<String, ChainStats> = BTreeMap::new();
    let mut issues = Vec::with_capacity(rows.len());
    for r in rows {
        totals.issues += 1;
        totals.opened += u64::from(r.created_at >= start);
        let resolved_in = r.resolved_at.is_some_and(|t| t >= start && t <= end);
        totals.resolved += u64::from(resolved_in);
        let open_at_end = r.resolved_at.is_none_or(|t| t > end);
        totals.still_open += u64::from(open_at_end);
        totals.escalated += u64::from(r.max_level >= 2);
        totals.acknowledged += u64::from(r.first_ack_at.is_some());
        let c = chains.entry(r.chain.clone()).or_insert_with(|| ChainStats {
            chain: r.chain.clone(),
            issues: 0,
            escalated: 0,
            highest_level: BTreeMap::new(),
        });
        c.issues += 1;
        c.escalated += u64::from(r.max_level >= 2);
        *c.highest_level.entry(r.max_level).or_default() += 1;
        let until = match r.resolved_at {
            Some(t) if t <= end => t,
            _ => end,
        };
        issues.push(IssueLine {
            id: r.id,
            chain: r.chain.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
            level: r.level,
            max_level: r.max_level,
            owner: r.owner.clone(),
            created_at: rfc3339(r.created_at),
            first_ack_at: r.first_ack_at.map(rfc3339),
            resolved_at: r.resolved_at.map(rfc3339),
            open_seconds: (until - r.created_at).num_seconds(),
            levels: r
                .levels
                .iter()
                .map(|l| LevelLine {
                    level: l.level,
                    at: rfc3339(l.at),
                    after_seconds: (l.at - r.created_at).num_seconds(),
                })
                .collect(),
        });
    }
    Report {
        window: Window {
            start: rfc3339(start),
            end: rfc3339(end),
            days,
        },
        totals,
        chains: chains.into_values().collect(),
        issues,
    }
}

/// Markdown for people (and for `| mail`).
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    let _ = writeln!(
        s,
        "# Escalation report: {} to {} ({} days)\n",
        day(&r.window.start),
        day(&r.window.end),
        r.window.days
    );
    let t = &r.totals;
    let _ = writeln!(
        s,
        "Issues open at any time in the window: **{}**\n",
        t.issues
    );
    let _ = writeln!(
        s,
        "- opened: {}\n- resolved: {}\n- still open: {}\n- escalated (reached level 2 or higher): {}\n- acknowledged: {}\n",
        t.opened, t.resolved, t.still_open, t.escalated, t.acknowledged
    );
    if r.issues.is_empty() {
        let _ = writeln!(s, "No issues were open in this window.");
        return s;
    }
    let _ = writeln!(s, "## By chain\n");
    let _ = writeln!(s, "| chain | issues | escalated | highest level reached |");
    let _ = writeln!(s, "|---|---:|---:|---|");
    for c in &r.chains {
        let dist: Vec<String> = c
            .highest_level
            .iter()
            .map(|(l, n)| format!("L{l}: {n}"))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            cell(&c.chain),
            c.issues,
            c.escalated,
            dist.join(", ")
        );
    }
    let _ = writeln!(s, "\n## Issues, highest level first\n");
    let _ = writeln!(
        s,
        "| # | title | chain | status | level reached | opened (UTC) | open for | levels reached after |"
    );
    let _ = writeln!(s, "|---:|---|---|---|---:|---|---|---|");
    for i in &r.issues {
        let levels: Vec<String> = i
            .levels
            .iter()
            .skip(1)
            .map(|l| {
                format!(
                    "L{} +{}",
                    l.level,
                    human(chrono::TimeDelta::seconds(l.after_seconds))
                )
            })
            .collect();
        let status = match (&i.status[..], &i.resolved_at) {
            ("resolved", Some(_)) => "resolved".to_string(),
            (st, _) => format!("{st} (L{}, {})", i.level, cell(&i.owner)),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i.id,
            cell(&i.title),
            cell(&i.chain),
            status,
            i.max_level,
            i.created_at
                .get(..16)
                .unwrap_or(&i.created_at)
                .replace('T', " "),
            human(chrono::TimeDelta::seconds(i.open_seconds)),
            if levels.is_empty() {
                "-".to_string()
            } else {
                levels.join(", ")
            }
        );
    }
    s
}

/// Table cells are user text: keep them on one line and out of the table
/// syntax.
fn cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|")
}
