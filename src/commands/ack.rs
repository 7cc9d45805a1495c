//! `escalate ack ID --by WHO`: take ownership; escalation stops.

use anyhow::Result;

use super::{check_actor, parse_id, Ctx, Io};
use crate::error::Code;
use crate::workflow::{self, rfc3339};

pub fn run(ctx: &Ctx, id: &str, by: &str, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(by)?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| workflow::acknowledge(tx, &config, id, by, ctx.now))?;
    match issue.next_due_at {
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
