//! The digest as markdown for people: short sections, lists that stop at
//! [`super::SHOWN`] with "and N more", user text kept on one line and
//! escaped so none of it becomes markup ([`crate::text::markdown_inline`]).

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::Digest;
use crate::model::time::human;
use crate::text::{markdown_inline as md, one_line};

/// How user text is written: escaped for markdown, or only kept on one
/// line (inside a Slack code block, where nothing is live and a backslash
/// would show).
type Esc = fn(&str) -> String;

/// The whole digest, section by section.
pub fn markdown(d: &Digest) -> String {
    render(d, md)
}

/// The digest's words for a code block (Slack): user text on one line,
/// not markdown-escaped; [`super::slack`] escapes it for Slack.
pub fn code_block_text(d: &Digest) -> String {
    render(d, one_line)
}

fn render(d: &Digest, md: Esc) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# escalate daily digest — {}", d.generated_at);
    let _ = writeln!(o);
    let period = if d.first {
        "in the last 24 hours (first digest)".to_string()
    } else {
        format!("since the last digest ({})", d.since)
    };
    let _ = writeln!(
        o,
        "{} open issue(s); {} SLA clock(s) at risk now; {} breach(es) {period}.",
        d.open_issues, d.at_risk.total, d.breaches.total
    );
    let _ = writeln!(o);
    at_risk(&mut o, d, md);
    breaches(&mut o, d, &period, md);
    aging(&mut o, d, md);
    exceptions(&mut o, d, md);
    checker(&mut o, d, &period);
    let _ = writeln!(o, "-- ");
    let _ = writeln!(
        o,
        "escalate digest; `escalate list --at-risk` for the live view"
    );
    o
}

fn at_risk(o: &mut String, d: &Digest, md: Esc) {
    let _ = writeln!(o, "## At risk now");
    let _ = writeln!(o);
    if d.at_risk.items.is_empty() {
        let _ = writeln!(o, "Nothing is at risk.");
    }
    for r in &d.at_risk.items {
        if let Some(line) = &r.rendered {
            let _ = writeln!(o, "- {line}");
            continue;
        }
        let left = TimeDelta::seconds(r.left_seconds);
        let when = if r.left_seconds >= 0 {
            format!("{} left", human(left))
        } else {
            format!("deadline passed {} ago", human(-left))
        };
        let _ = writeln!(
            o,
            "- #{} {} — {} {} SLA, {when} (due {}), owner {}",
            r.id,
            md(&r.title),
            md(&r.chain),
            r.target,
            r.due_at,
            md(&r.owner)
        );
    }
    more(o, d.at_risk.total, d.at_risk.items.len());
    let _ = writeln!(o);
}

fn breaches(o: &mut String, d: &Digest, period: &str, md: Esc) {
    let _ = writeln!(o, "## Breaches {period}");
    let _ = writeln!(o);
    if d.breaches.items.is_empty() {
        let _ = writeln!(o, "No breaches.");
    }
    for b in &d.breaches.items {
        let state = if b.resolved {
            "resolved since"
        } else {
            "still open"
        };
        let _ = writeln!(
            o,
            "- #{} {} — {} {} SLA breached at {} ({state})",
            b.id,
            md(&b.title),
            md(&b.chain),
            b.target,
            b.at
        );
    }
    more(o, d.breaches.total, d.breaches.items.len());
    let _ = writeln!(o);
}

fn aging(o: &mut String, d: &Digest, md: Esc) {
    let _ = writeln!(o, "## Backlog aging (open issues by age)");
    let _ = writeln!(o);
    if d.aging.is_empty() {
        let _ = writeln!(o, "No open issues.");
    } else {
        let _ = writeln!(o, "| chain | 0–4 h | 4–24 h | 1–3 d | > 3 d |");
        let _ = writeln!(o, "|---|---:|---:|---:|---:|");
        for a in &d.aging {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                md(&a.chain),
                a.under_4h,
                a.from_4h_to_24h,
                a.from_1d_to_3d,
                a.over_3d
            );
        }
    }
    let _ = writeln!(o);
}

fn exceptions(o: &mut String, d: &Digest, md: Esc) {
    let _ = writeln!(o, "## Exceptions");
    let _ = writeln!(o);
    let x = &d.exceptions;
    if x.is_empty() {
        let _ = writeln!(o, "None.");
    }
    if x.dead_deliveries.total > 0 {
        let _ = writeln!(
            o,
            "- {} dead deliveries (`escalate outbox --status dead`; `escalate outbox retry --all-dead`):",
            x.dead_deliveries.total
        );
        for dl in &x.dead_deliveries.items {
            let _ = writeln!(
                o,
                "  - issue #{} via {} to {}: {}",
                dl.issue_id,
                md(&dl.channel),
                md(&dl.target),
                md(&dl.error)
            );
        }
    }
    for (chain, n) in &x.orphaned {
        let _ = writeln!(
            o,
            "- {n} open issue(s) on chain `{chain}`, which is not in the config (orphaned)"
        );
    }
    for (owner, n) in &x.unreachable_owners {
        let who = if owner.is_empty() {
            "nobody".to_string()
        } else {
            format!(
                "`{}`, which the config does not know (no such role or person)",
                md(owner)
            )
        };
        let _ = writeln!(o, "- {n} open issue(s) owned by {who}");
    }
    if x.exhausted.total > 0 {
        let _ = writeln!(
            o,
            "- {} open issue(s) at the top of their chain with nobody on them:",
            x.exhausted.total
        );
        for e in &x.exhausted.items {
            let _ = writeln!(o, "  - #{} {} ({})", e.id, md(&e.title), md(&e.chain));
        }
        more(o, x.exhausted.total, x.exhausted.items.len());
    }
    if x.oncall_gaps.total > 0 {
        let _ = writeln!(
            o,
            "- {} page(s) found nobody on call and went to the role's own channels:",
            x.oncall_gaps.total
        );
        for g in &x.oncall_gaps.items {
            let _ = writeln!(
                o,
                "  - #{} {} ({} at {})",
                g.issue_id,
                md(&g.title),
                md(&g.role),
                g.at
            );
        }
        more(o, x.oncall_gaps.total, x.oncall_gaps.items.len());
    }
    if x.long_pauses.total > 0 {
        let _ = writeln!(
            o,
            "- {} issue(s) paused for more than {}:",
            x.long_pauses.total,
            human(TimeDelta::seconds(x.long_pause_seconds))
        );
        for p in &x.long_pauses.items {
            let why = p
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {}", md(r)));
            let _ = writeln!(
                o,
                "  - #{} {} ({}), paused {} ago by {}{why}",
                p.id,
                md(&p.title),
                md(&p.chain),
                human(TimeDelta::seconds(p.paused_seconds)),
                md(&p.by)
            );
        }
        more(o, x.long_pauses.total, x.long_pauses.items.len());
    }
    let _ = writeln!(o);
}

fn checker(o: &mut String, d: &Digest, period: &str) {
    let _ = writeln!(o, "## Checker health");
    let _ = writeln!(o);
    let c = &d.checker;
    match (&c.last_run_at, c.last_run_age_seconds) {
        (Some(at), Some(age)) => {
            let stale = if c.stale {
                format!(
                    " — STALE: expected every {}; is the cron job running?",
                    human(TimeDelta::seconds(c.expected_interval_seconds))
                )
            } else {
                String::new()
            };
            // A run stamped after `now` (clocks disagree) reads "0s ago".
            let ago = human(TimeDelta::seconds(age.max(0)));
            let _ = writeln!(o, "Last check {at} ({ago} ago){stale}.");
        }
        _ => {
            let _ = writeln!(o, "No check has ever run — is the cron job installed?");
        }
    }
    let _ = writeln!(
        o,
        "{} check run(s) {period}, {} with delivery failures.",
        c.runs_since, c.runs_with_failures_since
    );
    let _ = writeln!(o);
}

/// "… and N more" after a list cut at `shown` of `total`.
fn more(out: &mut String, total: u64, shown: usize) {
    if total > shown as u64 {
        let _ = writeln!(out, "- … and {} more", total - shown as u64);
    }
}
