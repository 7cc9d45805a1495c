//! `escalate show ID`: an issue and its timeline from the event log.

use anyhow::Result;

use super::view::{describe, local, relative, sla_lines, IssueView};
use super::{parse_id, Ctx, Io};
use crate::config::Config;
use crate::engine::{human, Status};
use crate::error::Code;
use crate::lifecycle;
use crate::store::events;

pub fn run(ctx: &Ctx, id: &str, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    let config = Config::load(&ctx.config_path).ok();
    let mut store = ctx.store_read()?;
    let (issue, events) = store.read(|tx| {
        let issue = lifecycle::existing(tx, id)?;
        Ok((issue, events::for_issue(tx, id)?))
    })?;
    if json {
        let view = IssueView::new(&issue, config.as_ref(), ctx.now).with_events(&events);
        writeln!(io.out, "{}", serde_json::to_string_pretty(&view)?)?;
        return Ok(Code::Ok);
    }
    let now = ctx.now;
    writeln!(io.out, "Issue #{}: {}", issue.id, issue.title)?;
    if let Some(d) = &issue.description {
        writeln!(io.out, "  {d}")?;
    }
    writeln!(
        io.out,
        "  chain:   {} (level {}, highest {})",
        issue.chain, issue.esc.level, issue.max_level
    )?;
    writeln!(io.out, "  status:  {}", issue.esc.status.as_str())?;
    writeln!(
        io.out,
        "  owner:   {} ({})",
        issue.owner,
        issue.owner_kind.as_str()
    )?;
    if let Some(r) = &issue.external_ref {
        writeln!(io.out, "  ref:     {r}")?;
    }
    let edge = &issue.edge;
    if let Some(source) = &edge.source {
        let dedup = if edge.dedup_count > 0 {
            format!(", created again {} time(s)", edge.dedup_count)
        } else {
            String::new()
        };
        writeln!(
            io.out,
            "  source:  {source} {}{dedup}",
            edge.external_id.as_deref().unwrap_or("")
        )?;
    }
    if edge.priority.is_some() || !edge.tags.is_empty() {
        writeln!(
            io.out,
            "  priority: {}; tags: {}",
            edge.priority.as_deref().unwrap_or("-"),
            if edge.tags.is_empty() {
                "-".to_string()
            } else {
                edge.tags.join(", ")
            }
        )?;
    }
    if let Some(route) = &edge.route {
        writeln!(io.out, "  route:   {route}")?;
    }
    if let Some(task) = &edge.task {
        writeln!(
            io.out,
            "  task:    {} {} {}",
            task.tracker, task.key, task.url
        )?;
    }
    writeln!(
        io.out,
        "  created: {} ({})",
        local(issue.created_at),
        relative(issue.created_at, now)
    )?;
    if let Some(t) = issue.resolved_at {
        writeln!(
            io.out,
            "  resolved: {} by {} after {}",
            local(t),
            issue.resolved_by.as_deref().unwrap_or("unknown"),
            human(t - issue.created_at)
        )?;
    }
    let orphaned = config
        .as_ref()
        .is_some_and(|c| c.chain(&issue.chain).is_none());
    if orphaned && issue.esc.status != Status::Resolved {
        writeln!(
            io.out,
            "  next:    none: chain `{}` is not in the config (orphaned)",
            issue.chain
        )?;
    } else if let Some(t) = config
        .as_ref()
        .and_then(|c| c.chain(&issue.chain))
        .and_then(|c| crate::engine::next_due(&issue.esc, c))
    {
        let what = if issue.esc.status == Status::Acknowledged {
            "acknowledgement lapses"
        } else {
            "next escalation"
        };
        writeln!(
            io.out,
            "  next:    {what} {} ({})",
            local(t),
            relative(t, now)
        )?;
    }
    for (i, line) in sla_lines(&issue.sla, now).iter().enumerate() {
        let label = if i == 0 { "SLA:" } else { "" };
        writeln!(io.out, "  {label:<8} {line}")?;
    }
    writeln!(io.out)?;
    writeln!(io.out, "Timeline:")?;
    for e in &events {
        let level = e.level.map(|l| format!("L{l}")).unwrap_or_default();
        writeln!(
            io.out,
            "  {}  {:<3} {:<16} {}",
            local(e.at),
            level,
            e.kind().as_str(),
            describe(e)
        )?;
    }
    Ok(Code::Ok)
}
