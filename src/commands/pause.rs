//! `escalate pause ID [--until …] [--reason …]` and `escalate resume ID`:
//! stop an issue's clocks while it waits on someone outside, and start them
//! again.

use anyhow::Result;
use chrono::TimeDelta;

use super::{default_actor, parse_id, ActionView, Ctx, Io};
use crate::cli::PauseArgs;
use crate::error::{usage, Code};
use crate::lifecycle::{self, Hold};
use crate::model::issue::text_problem;
use crate::model::time::{human, rfc3339};
use crate::model::Ts;

/// Longest accepted reason: a sentence, not a ticket.
const MAX_REASON: usize = 500;

pub fn pause(ctx: &Ctx, args: &PauseArgs, io: &mut Io) -> Result<Code> {
    let id = parse_id(&args.id)?;
    let by = default_actor(args.by.as_deref())?;
    let until = args
        .until
        .as_deref()
        .map(|u| parse_until(u, ctx.now))
        .transpose()?;
    let reason = args
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(r) = reason {
        if r.chars().count() > MAX_REASON {
            return Err(usage(format!(
                "--reason is at most {MAX_REASON} characters"
            )));
        }
        if let Some(p) = text_problem("--reason", r, true) {
            return Err(usage(p));
        }
    }
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::pause(tx, &config, id, Hold { until, reason }, &by, ctx.now)
    })?;
    let ends = until.map_or("until someone resumes it".to_string(), |u| {
        format!("until {}", rfc3339(u))
    });
    if args.json {
        let mut view = ActionView::new(&issue, "paused", &by, ctx.now);
        view.note = Some(format!("paused {ends}"));
        view.paused_until = until.map(rfc3339);
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id} paused by {by} {ends}")?;
    }
    Ok(Code::Ok)
}

pub fn resume(ctx: &Ctx, id: &str, by: Option<&str>, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    let by = default_actor(by)?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let (issue, since) = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        let since = lifecycle::existing(tx, id)?.pause.map(|p| p.since);
        Ok((lifecycle::resume(tx, &config, id, &by, ctx.now)?, since))
    })?;
    let lasted = since.map_or(String::new(), |s| format!(" after {}", human(ctx.now - s)));
    let next = issue.next_due_at.map_or("nothing is due".to_string(), |t| {
        format!("next due {}", rfc3339(t))
    });
    if json {
        let mut view = ActionView::new(&issue, "resumed", &by, ctx.now);
        view.note = Some(format!("resumed{lasted}; {next}"));
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id} resumed by {by}{lasted}; {next}")?;
    }
    Ok(Code::Ok)
}

/// `--until`: an instant (RFC 3339 or a date, as everywhere) or a duration
/// from now (`90m`, `4h`, `1d 12h`).
pub(super) fn parse_until(raw: &str, now: Ts) -> Result<Ts> {
    if let Ok(t) = super::report::parse_date("--until", raw) {
        return Ok(t);
    }
    let d = humantime::parse_duration(raw.trim()).map_err(|_| {
        usage(format!(
            "invalid --until `{}`: expected a time (2026-12-07T09:00:00Z, 2026-12-07) or a \
             duration (90m, 4h, 2d, 1w)",
            raw.escape_debug()
        ))
    })?;
    let d = TimeDelta::from_std(d)
        .ok()
        .filter(|d| *d > TimeDelta::zero());
    let until = d.and_then(|d| now.checked_add_signed(d));
    let until =
        until.ok_or_else(|| usage(format!("--until `{}` is out of range", raw.escape_debug())))?;
    super::check_printable("--until", raw, until)?;
    Ok(until)
}
