//! `escalate list`: issues as a table (or JSON for scripts).

use anyhow::Result;

use super::view::{relative, sla_cell, IssueView};
use super::{Ctx, Io};
use crate::cli::{ListArgs, StatusFilter};
use crate::config::Config;
use crate::engine::{human, sla, Status};
use crate::error::Code;
use crate::store::{issues, IssueFilter};

pub fn run(ctx: &Ctx, args: &ListArgs, io: &mut Io) -> Result<Code> {
    // The config only adds the "orphaned" mark; listing works without it.
    let config = Config::load(&ctx.config_path).ok();
    let mut store = ctx.store_read()?;
    let filter = match args.status {
        StatusFilter::Open => IssueFilter::Unresolved,
        StatusFilter::Unacknowledged => IssueFilter::Status(Status::Open),
        StatusFilter::Acknowledged => IssueFilter::Status(Status::Acknowledged),
        StatusFilter::Resolved => IssueFilter::Status(Status::Resolved),
        StatusFilter::All => IssueFilter::All,
    };
    let sla_state = if args.breached {
        Some(sla::State::Breached)
    } else if args.at_risk {
        Some(sla::State::AtRisk)
    } else {
        None
    };
    let (rows, total) =
        store.read(|tx| issues::list(tx, filter, args.chain.as_deref(), sla_state, args.limit))?;

    if args.json {
        let views: Vec<IssueView> = rows
            .iter()
            .map(|i| IssueView::new(i, config.as_ref(), ctx.now))
            .collect();
        writeln!(io.out, "{}", serde_json::to_string_pretty(&views)?)?;
    } else {
        let mut table = super::view::table(vec![
            "ID", "STATUS", "CHAIN", "LEVEL", "OWNER", "AGE", "NEXT", "SLA", "TASK", "TITLE",
        ]);
        for i in &rows {
            let orphaned = config.as_ref().is_some_and(|c| c.chain(&i.chain).is_none());
            let escalation = config
                .as_ref()
                .and_then(|c| c.chain(&i.chain))
                .and_then(|c| crate::engine::next_due(&i.esc, c));
            let next = match (i.esc.status, escalation) {
                (Status::Resolved, _) => "-".to_string(),
                _ if orphaned => "orphaned".to_string(),
                (_, Some(t)) => relative(t, ctx.now),
                (_, None) => "-".to_string(),
            };
            let age = match i.resolved_at {
                Some(r) => human(r - i.created_at),
                None => human(ctx.now - i.created_at),
            };
            table.add_row(vec![
                i.id.to_string(),
                i.esc.status.as_str().to_string(),
                i.chain.clone(),
                i.esc.level.to_string(),
                i.owner.clone(),
                age,
                next,
                sla_cell(&i.sla, ctx.now),
                i.edge
                    .task
                    .as_ref()
                    .map_or("-".to_string(), |t| format!("{} {}", t.tracker, t.key)),
                i.title.clone(),
            ]);
        }
        if rows.is_empty() {
            writeln!(io.out, "no issues")?;
        } else {
            writeln!(io.out, "{table}")?;
        }
    }
    if total > rows.len() as u64 {
        io.warn(format!(
            "showing {} of {total} issues (--limit 0 for all)",
            rows.len()
        ));
    }
    Ok(Code::Ok)
}
