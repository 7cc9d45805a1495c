//! `escalate assign ID --to WHO`: hand an issue to someone.

use anyhow::Result;

use super::{check_actor, default_actor, parse_id, Ctx, Io};
use crate::error::Code;
use crate::lifecycle;

pub fn run(ctx: &Ctx, id: &str, to: &str, by: Option<&str>, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(to)?;
    let by = default_actor(by)?;
    let mut store = ctx.store()?;
    store.write(|tx| lifecycle::assign(tx, id, to, &by, ctx.now))?;
    writeln!(io.out, "issue #{id} assigned to {to}")?;
    Ok(Code::Ok)
}
