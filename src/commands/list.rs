//! `escalate list`: issues as a table (or JSON for scripts).

use anyhow::Result;

use super::{Ctx, Io};
use crate::cli::{ListArgs, StatusFilter};
use crate::config::Config;
use crate::error::Code;
use crate::model::sla::State;
use crate::model::Status;
use crate::render::{self, issue::IssueView};
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
        Some(State::Breached)
    } else if args.at_risk {
        Some(State::AtRisk)
    } else {
        None
    };
    let (rows, total) = store.read(|tx| {
        issues::list(
            tx,
            filter,
            args.chain.as_deref(),
            sla_state,
            args.limit,
            ctx.now,
        )
    })?;

    let text = if args.json {
        let views: Vec<IssueView> = rows
            .iter()
            .map(|i| IssueView::new(i, config.as_ref(), ctx.now))
            .collect();
        render::json(&views)?
    } else {
        render::list::text(&rows, config.as_ref(), ctx.now)
    };
    write!(io.out, "{text}")?;
    if total > rows.len() as u64 {
        io.warn(format!(
            "showing {} of {total} issues (--limit 0 for all)",
            rows.len()
        ));
    }
    Ok(Code::Ok)
}
