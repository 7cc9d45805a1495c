//! `escalate config check`: validate chains.toml and summarise each chain.

use anyhow::Result;

use super::{Ctx, Io};
use crate::error::Code;
use crate::model::time::human;

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
                .map(|c| match c {
                    crate::config::Contact::Console => "console".to_string(),
                    other => format!("{} {}", other.channel(), other.target()),
                })
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
        let sla = &chain.sla;
        for (name, target) in [("response", sla.response), ("resolution", sla.resolution)] {
            if let Some(t) = target {
                writeln!(
                    io.out,
                    "  SLA {name}: within {}, at risk after {}",
                    human(t),
                    human(sla.at_risk.offset(t))
                )?;
            }
        }
        if !sla.breach_notify.is_empty() {
            writeln!(
                io.out,
                "  breaches also notify {}",
                sla.breach_notify.join(", ")
            )?;
        }
    }
    for role in config.roles.values() {
        if role.contacts == [crate::config::Contact::Console] {
            io.warn(format!(
                "warning: role `{}` has no contacts: its notifications only print on the console",
                role.name
            ));
        }
    }
    for note in config.destination_notes() {
        io.warn(note);
    }
    let problems = config.environment_problems();
    for p in &problems {
        io.warn(format!("{}: {p}", ctx.config_path.display()));
    }
    for role in config.unused_roles() {
        io.warn(format!("warning: role `{role}` is not used by any chain"));
    }
    if config.chains.is_empty() {
        io.warn("warning: no chains are defined; `create` will refuse every issue");
    }
    if !problems.is_empty() {
        return Ok(Code::Usage);
    }
    Ok(Code::Ok)
}
