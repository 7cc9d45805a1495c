//! `escalate config check`: validate chains.toml and summarise each chain.

use anyhow::Result;

use super::{Ctx, Io};
use crate::engine::human;
use crate::error::Code;

pub fn check(ctx: &Ctx, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    writeln!(
        io.out,
        "{}: ok ({} chains, {} roles)",
        ctx.config_path.display(),
        config.chains.len(),
        config.roles.len()
    )?;
    for chain in config.chains.values() {
        writeln!(io.out)?;
        match &chain.description {
            Some(d) => writeln!(io.out, "chain {}: {d}", chain.name)?,
            None => writeln!(io.out, "chain {}", chain.name)?,
        }
        let offsets = chain.offsets();
        for (i, (level, at)) in chain.levels.iter().zip(&offsets).enumerate() {
            let contacts: Vec<String> = config
                .contacts(&level.role)
                .iter()
                .map(|c| c.channel().to_string())
                .collect();
            writeln!(
                io.out,
                "  L{} {:<24} reached after {:<8} via {}",
                i + 1,
                level.role,
                if at.is_zero() {
                    "0 (at once)".to_string()
                } else {
                    human(*at)
                },
                contacts.join(", ")
            )?;
        }
        if let Some(last) = chain.levels.last() {
            if chain.repeat > 0 {
                writeln!(
                    io.out,
                    "  last level re-notified every {}, {} time(s)",
                    human(last.wait),
                    chain.repeat
                )?;
            } else {
                writeln!(io.out, "  last level is final (no repeat)")?;
            }
        }
        if let Some(t) = chain.ack_timeout {
            writeln!(io.out, "  an acknowledgement lapses after {}", human(t))?;
        }
    }
    for role in config.unused_roles() {
        io.warn(format!("warning: role `{role}` is not used by any chain"));
    }
    if config.chains.is_empty() {
        io.warn("warning: no chains are defined; `create` will refuse every issue");
    }
    Ok(Code::Ok)
}
