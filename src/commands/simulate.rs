//! `escalate simulate`: the timeline an issue would have on a chain,
//! without touching any database (what-if before a config change).

use anyhow::Result;

use super::{Ctx, Io};
use crate::cli::SimulateArgs;
use crate::engine::simulate::{self, Scenario};
use crate::error::{usage, Code};
use crate::render::{self, simulate::View};

pub fn run(ctx: &Ctx, opts: &SimulateArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let chain = config.chain(&opts.chain).ok_or_else(|| {
        let names: Vec<&str> = config.chains.keys().map(String::as_str).collect();
        usage(format!(
            "no chain `{}` in the config (chains: {})",
            crate::text::one_line(&opts.chain),
            names.join(", ")
        ))
    })?;
    let chain = chain.for_priority(opts.priority.as_deref());
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| super::report::parse_date(flag, s))
            .transpose()
    };
    let from = time("--from", &opts.from)?.unwrap_or(ctx.now);
    let scenario = Scenario {
        from,
        ack_at: time("--ack-at", &opts.ack_at)?,
        resolve_at: time("--resolve-at", &opts.resolve_at)?,
    };
    for (flag, t) in [
        ("--ack-at", scenario.ack_at),
        ("--resolve-at", scenario.resolve_at),
    ] {
        if t.is_some_and(|t| t < from) {
            return Err(usage(format!("{flag} is before --from")));
        }
    }
    let view = View::new(chain, from, &simulate::run(chain, &scenario));
    let text = if opts.json {
        render::json(&view)?
    } else {
        render::simulate::text(&view)
    };
    write!(io.out, "{text}")?;
    Ok(Code::Ok)
}
