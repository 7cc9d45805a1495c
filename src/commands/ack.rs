//! `escalate ack ID --by WHO`: take ownership; escalation stops.

use anyhow::Result;

use super::{check_actor, parse_id, ActionView, Ctx, Io};
use crate::error::Code;
use crate::lifecycle;
use crate::model::time::rfc3339;

pub fn run(ctx: &Ctx, id: &str, by: &str, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(by)?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::acknowledge(tx, &config, id, by, ctx.now)
    })?;
    // When the ack lapses (not when an SLA clock next needs a check).
    let lapses = config
        .chain_for(&issue)
        .and_then(|c| crate::engine::next_due(&issue.esc, c));
    if json {
        let mut view = ActionView::new(&issue, "acknowledged", by, ctx.now);
        view.escalation_resumes_at = lapses.map(rfc3339);
        view.print(io)?;
        return Ok(Code::Ok);
    }
    match lapses {
        Some(t) => writeln!(
            io.out,
            "issue #{id} acknowledged by {by}; escalation resumes at {} unless resolved",
            rfc3339(t)
        )?,
        None => writeln!(
            io.out,
            "issue #{id} acknowledged by {by}; escalation stopped"
        )?,
    }
    Ok(Code::Ok)
}
