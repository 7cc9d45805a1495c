//! `escalate resolve ID`: close an issue; nothing more is sent about it.

use anyhow::Result;

use super::{default_actor, parse_id, Ctx, Io};
use crate::error::Code;
use crate::lifecycle;

pub fn run(ctx: &Ctx, id: &str, by: Option<&str>, note: Option<&str>, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    let by = default_actor(by)?;
    let mut store = ctx.store()?;
    store.write(|tx| lifecycle::resolve(tx, id, &by, note, ctx.now))?;
    writeln!(io.out, "issue #{id} resolved by {by}")?;
    Ok(Code::Ok)
}
