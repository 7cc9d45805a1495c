//! `escalate priority ID P`: a new priority; the SLA policy is picked again
//! and its targets re-evaluated from the issue's creation.

use anyhow::Result;

use super::{default_actor, parse_id, ActionView, Ctx, Io};
use crate::error::{usage, Code};
use crate::lifecycle;
use crate::model::issue::text_problem;

pub fn run(
    ctx: &Ctx,
    id: &str,
    priority: &str,
    by: Option<&str>,
    json: bool,
    io: &mut Io,
) -> Result<Code> {
    let id = parse_id(id)?;
    let by = default_actor(by)?;
    let priority = priority.trim();
    if priority.is_empty() || priority.chars().count() > 64 {
        return Err(usage(
            "a priority is 1 to 64 characters (e.g. urgent, high, normal, low)",
        ));
    }
    if let Some(p) = text_problem("priority", priority, true) {
        return Err(usage(p));
    }
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::set_priority(tx, &config, id, priority, &by, ctx.now)
    })?;
    let policy = config
        .chain_for(&issue)
        .and_then(|c| c.policy)
        .map_or("the chain's own SLA targets".to_string(), |p| {
            format!("SLA policy {p}")
        });
    if json {
        let mut view = ActionView::new(&issue, "priority_changed", &by, ctx.now);
        view.note = Some(format!("priority {priority}: {policy}"));
        view.print(io)?;
    } else {
        writeln!(
            io.out,
            "issue #{id} priority set to {priority} by {by}; {policy} apply, counted from creation"
        )?;
    }
    Ok(Code::Ok)
}
