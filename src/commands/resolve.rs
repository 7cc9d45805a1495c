//! `escalate resolve ID`: close an issue; nothing more is sent about it.

use anyhow::Result;

use super::{default_actor, parse_id, ActionView, Ctx, Io};
use crate::error::Code;
use crate::lifecycle;

pub fn run(
    ctx: &Ctx,
    id: &str,
    by: Option<&str>,
    note: Option<&str>,
    json: bool,
    io: &mut Io,
) -> Result<Code> {
    let id = parse_id(id)?;
    let by = default_actor(by)?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::resolve(tx, id, &by, note, ctx.now)
    })?;
    if json {
        let mut view = ActionView::new(&issue, "resolved", &by, ctx.now);
        view.note = note.map(str::to_string);
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id} resolved by {by}")?;
    }
    Ok(Code::Ok)
}
