//! `show` for people: an issue's fields, its next step and SLA clocks in
//! local time, then its timeline, one event a line.

use std::fmt::Write as _;

use super::event::describe;
use super::time::{local, relative};
use crate::config::Config;
use crate::engine;
use crate::model::sla::{Clocks, State, Target};
use crate::model::time::human;
use crate::model::{Event, Issue, Status, Ts};
use crate::text::one_line;

/// The whole `show` text for `issue` and its `events`, at `now`. Without a
/// config (it may not load) there is no next step to show. Fields and
/// events carry user text: control characters are folded on the way out.
pub fn text(issue: &Issue, events: &[Event], config: Option<&Config>, now: Ts) -> String {
    crate::text::terminal(&unfolded(issue, events, config, now))
}

fn unfolded(issue: &Issue, events: &[Event], config: Option<&Config>, now: Ts) -> String {
    let mut o = String::new();
    fields(&mut o, issue);
    if let Some(line) = pause_line(issue, now) {
        let _ = writeln!(o, "  paused:  {line}");
    }
    for (what, url) in deep_links(issue, config) {
        let _ = writeln!(o, "  {what} {url}");
    }
    let _ = writeln!(
        o,
        "  created: {} ({})",
        local(issue.created_at),
        relative(issue.created_at, now)
    );
    if let Some(t) = issue.resolved_at {
        let _ = writeln!(
            o,
            "  resolved: {} by {} after {}",
            local(t),
            issue.resolved_by.as_deref().unwrap_or("unknown"),
            human(t - issue.created_at)
        );
    }
    next(&mut o, issue, config, now);
    for (i, line) in sla_lines(&issue.sla, now).iter().enumerate() {
        let label = if i == 0 { "SLA:" } else { "" };
        let _ = writeln!(o, "  {label:<8} {line}");
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Timeline:");
    for e in events {
        let level = e.level.map(|l| format!("L{l}")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}  {:<3} {:<16} {}",
            local(e.at),
            level,
            e.kind().as_str(),
            one_line(&describe(e))
        );
    }
    o
}

/// Title, chain, status, owner, and where the issue came from.
fn fields(o: &mut String, issue: &Issue) {
    let _ = writeln!(o, "Issue #{}: {}", issue.id, one_line(&issue.title));
    if let Some(d) = &issue.description {
        let _ = writeln!(o, "  {d}");
    }
    let _ = writeln!(
        o,
        "  chain:   {} (level {}, highest {})",
        issue.chain, issue.esc.level, issue.max_level
    );
    let _ = writeln!(o, "  status:  {}", issue.esc.status.as_str());
    let _ = writeln!(
        o,
        "  owner:   {} ({})",
        issue.owner,
        issue.owner_kind.as_str()
    );
    if let Some(r) = &issue.external_ref {
        let _ = writeln!(o, "  ref:     {r}");
    }
    let edge = &issue.edge;
    if let Some(source) = &edge.source {
        let dedup = if edge.dedup_count > 0 {
            format!(", created again {} time(s)", edge.dedup_count)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  source:  {source} {}{dedup}",
            edge.external_id.as_deref().unwrap_or("")
        );
    }
    if edge.priority.is_some() || !edge.tags.is_empty() {
        let tags = if edge.tags.is_empty() {
            "-".to_string()
        } else {
            edge.tags.join(", ")
        };
        let _ = writeln!(
            o,
            "  priority: {}; tags: {tags}",
            edge.priority.as_deref().unwrap_or("-")
        );
    }
    if let Some(route) = &edge.route {
        let _ = writeln!(o, "  route:   {route}");
    }
    if let Some(task) = &edge.task {
        let _ = writeln!(o, "  task:    {} {} {}", task.tracker, task.key, task.url);
    }
}

/// The issue's ticket at its source and its chain's runbook, from the
/// config.
pub fn deep_links(issue: &Issue, config: Option<&Config>) -> Vec<(&'static str, String)> {
    let Some(config) = config else {
        return Vec::new();
    };
    let ticket = match (&issue.edge.source, &issue.edge.external_id) {
        (Some(s), Some(id)) => config.ticket_url(s, id),
        _ => None,
    };
    let runbook = config.runbook(&issue.chain).map(str::to_string);
    [("ticket: ", ticket), ("runbook:", runbook)]
        .into_iter()
        .filter_map(|(w, u)| u.map(|u| (w, u)))
        .collect()
}

/// How long the issue has been paused, until when, by whom and why
/// (None: not paused). A pause whose end has passed is over; the next check
/// records that at its end.
pub fn pause_line(issue: &Issue, now: Ts) -> Option<String> {
    let p = issue.pause.as_ref()?;
    let ended = p.until.filter(|u| *u <= now);
    let lasted = human(ended.unwrap_or(now) - p.since);
    let mut line = match ended {
        Some(u) => format!(
            "since {} for {lasted}, ended {} (not yet recorded: the next check resumes it)",
            local(p.since),
            local(u)
        ),
        None => format!("since {} ({lasted})", local(p.since)),
    };
    if let (Some(u), None) = (p.until, ended) {
        line.push_str(&format!(", until {} ({})", local(u), relative(u, now)));
    }
    line.push_str(&format!(", by {}", p.by));
    if let Some(r) = &p.reason {
        line.push_str(&format!(": {}", one_line(r)));
    }
    Some(line)
}

/// The next escalation or acknowledgement lapse; for an open issue on a
/// chain the config no longer has, why there is none.
fn next(o: &mut String, issue: &Issue, config: Option<&Config>, now: Ts) {
    let chain = config.and_then(|c| c.chain_for(issue));
    let orphaned = config.is_some() && chain.is_none();
    if orphaned && issue.esc.status != Status::Resolved {
        let _ = writeln!(
            o,
            "  next:    none: chain `{}` is not in the config (orphaned)",
            issue.chain
        );
    } else if issue.pause.is_some() && issue.esc.status != Status::Resolved {
        let until = issue.pause.as_ref().and_then(|p| p.until);
        let when = until.map_or("until someone resumes it".to_string(), |u| {
            format!("until {}", local(u))
        });
        let _ = writeln!(o, "  next:    nothing escalates while paused ({when})");
    } else if let Some(t) = chain.and_then(|c| engine::next_due(&issue.esc, c)) {
        let what = if issue.esc.status == Status::Acknowledged {
            "acknowledgement lapses"
        } else {
            "next escalation"
        };
        let _ = writeln!(o, "  next:    {what} {} ({})", local(t), relative(t, now));
    }
}

/// One line per SLA target.
pub fn sla_lines(stored: &Clocks, now: Ts) -> Vec<String> {
    let clocks = super::issue::live(stored, now);
    let mut out = Vec::new();
    for target in [Target::Response, Target::Resolution] {
        let Some(c) = clocks.get(target) else {
            continue;
        };
        let recorded = stored.get(target).map(|s| s.state) == Some(c.state);
        let note = if recorded {
            ""
        } else {
            " (not yet recorded: the next check records it)"
        };
        let name = target.as_str();
        let line = match c.state {
            State::Pending | State::AtRisk if c.hold.is_some() => {
                let word = if c.state == State::AtRisk {
                    "AT RISK"
                } else {
                    "ok"
                };
                let left = c.left(now).unwrap_or_default();
                format!(
                    "{name:<10} {word}: stopped while paused, {} left{note}",
                    human(left)
                )
            }
            State::Pending | State::AtRisk => {
                let word = if c.state == State::AtRisk {
                    "AT RISK"
                } else {
                    "ok"
                };
                format!(
                    "{name:<10} {word}: due {} ({}){note}",
                    local(c.due_at),
                    relative(c.due_at, now)
                )
            }
            State::Breached => format!("{name:<10} BREACHED at {}{note}", local(c.due_at)),
            State::Met => format!(
                "{name:<10} met at {} ({} before the deadline)",
                c.settled_at.map(local).unwrap_or_default(),
                human(c.due_at - c.settled_at.unwrap_or(c.due_at))
            ),
        };
        out.push(line);
    }
    out
}
