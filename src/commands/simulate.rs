//! `escalate simulate`: the timeline an issue would have on a chain,
//! without touching any database (what-if before a config change).

use anyhow::Result;

use super::{Ctx, Io};
use crate::cli::SimulateArgs;
use crate::engine::simulate::{self, Scenario};
use crate::error::{usage, Code};
use crate::model::time::rfc3339;
use crate::model::Ts;
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
        pauses: pauses(&opts.pause, from)?,
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

/// `--pause FROM..TO`, each a time as for `--from`: in order, each
/// ending after it starts, none overlapping another or before `--from`.
fn pauses(raw: &[String], from: Ts) -> Result<Vec<(Ts, Ts)>> {
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let (a, b) = r.split_once("..").ok_or_else(|| {
            usage(format!(
                "invalid --pause `{}`: expected FROM..TO (2026-12-04T17:00:00Z..2026-12-07T09:00:00Z)",
                r.escape_debug()
            ))
        })?;
        let (a, b) = (
            super::report::parse_date("--pause", a)?,
            super::report::parse_date("--pause", b)?,
        );
        if b <= a {
            return Err(usage(format!(
                "--pause `{}` ends before it starts",
                r.escape_debug()
            )));
        }
        if a < from {
            return Err(usage(format!(
                "--pause `{}` starts before --from",
                r.escape_debug()
            )));
        }
        out.push((a, b));
    }
    out.sort();
    if let Some(w) = out.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(usage(format!(
            "--pause ranges overlap ({}..{} and {}..{})",
            rfc3339(w[0].0),
            rfc3339(w[0].1),
            rfc3339(w[1].0),
            rfc3339(w[1].1)
        )));
    }
    Ok(out)
}
