//! `escalate reopen ID`: a resolved issue comes back at level 1.

use anyhow::Result;

use super::{default_actor, parse_id, ActionView, Ctx, Io};
use crate::error::Code;
use crate::{delivery, lifecycle};

pub fn run(ctx: &Ctx, id: &str, by: Option<&str>, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    let by = default_actor(by)?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::reopen(tx, &config, id, &by, ctx.now)
    })?;
    let outcome = delivery::deliver_only(&mut store, &config, ctx.now, io.err, Some(id))?;
    if json {
        ActionView::new(&issue, "reopened", &by, ctx.now).print(io)?;
    } else {
        writeln!(
            io.out,
            "issue #{id} reopened; level 1 ({}) owns it again",
            issue.owner
        )?;
    }
    if outcome.failed() {
        for f in outcome.failures() {
            io.warn(format!(
                "notifying issue #{} via {} failed: {}",
                f.issue_id, f.channel, f.error
            ));
        }
        return Ok(Code::Attention);
    }
    Ok(Code::Ok)
}
