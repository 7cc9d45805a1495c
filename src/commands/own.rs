//! The ownership commands: `escalate escalate ID [--level N]` (page a level
//! now), `note ID TEXT` (a work note), `unack ID` (withdraw an
//! acknowledgement) and `move ID --chain NAME` (re-route). One module for
//! the four because they share the text checks and the output shape.

use anyhow::Result;

use super::{check_actor, parse_id, ActionView, Ctx, Io};
use crate::cli::{EscalateArgs, MoveArgs};
use crate::error::{usage, Code};
use crate::lifecycle::{self, Raise, Reroute};
use crate::model::issue::text_problem;
use crate::model::time::rfc3339;
use crate::model::{Issue, Ts};

/// Longest accepted `--reason`: a sentence, not a ticket (as for `pause`).
const MAX_REASON: usize = 500;

/// Longest accepted work note: a paragraph or two; longer detail belongs in
/// the ticket.
pub const MAX_NOTE: usize = 2000;

pub fn escalate(ctx: &Ctx, args: &EscalateArgs, io: &mut Io) -> Result<Code> {
    let id = parse_id(&args.id)?;
    check_actor(&args.by)?;
    let reason = reason(args.reason.as_deref())?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let raise = Raise {
        level: args.level,
        reason: reason.as_deref(),
    };
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::escalate_now(tx, &config, id, raise, &args.by, ctx.now)
    })?;
    let said = format!(
        "level {} ({}) paged by {}; {}",
        issue.esc.level,
        issue.owner,
        args.by,
        next_step(&issue, ctx.now)
    );
    if args.json {
        let mut view = ActionView::new(&issue, "escalated", &args.by, ctx.now);
        view.note = Some(said);
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id} escalated: {said}")?;
    }
    Ok(Code::Ok)
}

pub fn note(ctx: &Ctx, id: &str, text: &str, by: &str, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(by)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(usage("a note must not be empty"));
    }
    checked("the note", text, MAX_NOTE)?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::note(tx, id, text, by, ctx.now)
    })?;
    if json {
        let mut view = ActionView::new(&issue, "noted", by, ctx.now);
        view.note = Some(text.to_string());
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id}: note by {by} added")?;
    }
    Ok(Code::Ok)
}

pub fn unack(ctx: &Ctx, id: &str, by: &str, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    check_actor(by)?;
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let issue = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        lifecycle::unacknowledge(tx, &config, id, by, ctx.now)
    })?;
    let said = format!(
        "owner back to {}; escalation resumes: {}",
        issue.owner,
        next_step(&issue, ctx.now)
    );
    if json {
        let mut view = ActionView::new(&issue, "unacknowledged", by, ctx.now);
        view.note = Some(said);
        view.print(io)?;
    } else {
        writeln!(
            io.out,
            "issue #{id} acknowledgement withdrawn by {by}; {said}"
        )?;
    }
    Ok(Code::Ok)
}

pub fn move_to(ctx: &Ctx, args: &MoveArgs, io: &mut Io) -> Result<Code> {
    let id = parse_id(&args.id)?;
    check_actor(&args.by)?;
    let reason = reason(args.reason.as_deref())?;
    let config = ctx.config()?;
    // Before the database: a typo names the chains there are.
    if config.chain(&args.chain).is_none() {
        return Err(super::create::unknown_chain(
            &config,
            &args.chain,
            &ctx.config_path,
        ));
    }
    let mut store = ctx.store()?;
    let to = Reroute {
        chain: &args.chain,
        reason: reason.as_deref(),
    };
    let (issue, from) = store.write(|tx| {
        lifecycle::not_before_last_event(tx, id, ctx.now)?;
        let from = lifecycle::existing(tx, id)?.chain;
        Ok((
            lifecycle::move_to(tx, &config, id, to, &args.by, ctx.now)?,
            from,
        ))
    })?;
    let said = format!(
        "moved from chain {from} to {} by {}; level 1 ({}) paged and owns it",
        issue.chain, args.by, issue.owner
    );
    if args.json {
        let mut view = ActionView::new(&issue, "moved", &args.by, ctx.now);
        view.note = Some(said);
        view.chain = Some(issue.chain.clone());
        view.print(io)?;
    } else {
        writeln!(io.out, "issue #{id} {said}")?;
    }
    Ok(Code::Ok)
}

/// `--reason`, trimmed; empty is none.
fn reason(raw: Option<&str>) -> Result<Option<String>> {
    let Some(r) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    checked("--reason", r, MAX_REASON)?;
    Ok(Some(r.to_string()))
}

/// Text a person typed for the timeline: a length cap, and the checks a
/// title gets (no bidirectional controls, something visible).
fn checked(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(usage(format!("{field} is at most {max} characters")));
    }
    if let Some(p) = text_problem(field, text, true) {
        return Err(usage(p));
    }
    Ok(())
}

/// When escalation next pages, in words.
fn next_step(issue: &Issue, now: Ts) -> String {
    match issue.next_due_at {
        Some(t) if t <= now => "something is due now (the next check takes it)".to_string(),
        Some(t) => format!("next due {}", rfc3339(t)),
        None => "nothing more is scheduled".to_string(),
    }
}
