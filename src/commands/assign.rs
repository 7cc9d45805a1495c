//! `escalate assign ID --to WHO`: hand an issue to someone.

use anyhow::Result;

use super::{check_actor, default_actor, parse_id, ActionView, Ctx, Io};
use crate::error::Code;
use crate::lifecycle;

pub fn run(
    ctx: &Ctx,
    id: &str,
    to: &str,
    by: Option<&str>,
    json: bool,
    io: &mut Io,
) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(to)?;
    let by = default_actor(by)?;
    let config = ctx.config()?;
    if !config.people.is_empty()
        && !config.people.contains_key(to)
        && !config.roles.contains_key(to)
    {
        io.warn(format!(
            "`{}` is neither a person nor a role in the config: nobody is told, and the digest \
             lists the issue under unreachable owners",
            crate::text::one_line(to)
        ));
    }
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::assign(tx, &config, id, to, &by, ctx.now)
    })?;
    if json {
        ActionView::new(&issue, "assigned", &by, ctx.now).print(io)?;
    } else {
        writeln!(io.out, "issue #{id} assigned to {to}")?;
    }
    Ok(Code::Ok)
}
