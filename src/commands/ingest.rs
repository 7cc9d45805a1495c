//! `escalate ingest [FILE|-]`: ticket events as JSON lines (see
//! src/ingest.rs for the schema) applied in one transaction. Malformed or
//! inapplicable lines are reported with their line number and skipped —
//! or, with `--strict`, the whole batch is refused and nothing is written.

use std::io::Read;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{Ctx, Io};
use crate::cli::IngestArgs;
use crate::delivery;
use crate::error::{usage, Code};
use crate::lifecycle::ingest::{self, Effect};
use crate::model::issue;
use crate::model::ticket::{self, TicketEvent};

/// Why an event's title or description is refused (see
/// [`issue::text_problem`]), if it is.
fn text_problem(ev: &TicketEvent) -> Option<String> {
    let title = ev
        .title
        .as_deref()
        .map(|t| issue::text_problem("`title`", t, true));
    let description = ev
        .description
        .as_deref()
        .map(|d| issue::text_problem("`description`", d, false));
    title.flatten().or(description.flatten())
}

/// Progress is drawn only for batches at least this large (and only on a
/// terminal).
const PROGRESS_FROM: usize = 2000;

/// Per-line problems printed before "and N more".
const SHOWN: usize = 20;

#[derive(Debug, Default)]
struct Tally {
    lines: usize,
    created: u64,
    deduplicated: u64,
    updated: u64,
    resolved: u64,
    reopened: u64,
    unchanged: u64,
    duplicate: u64,
}

pub fn run(ctx: &Ctx, args: &IngestArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let (name, text) = read_input(args.input.as_deref())?;
    let mut events: Vec<(usize, TicketEvent)> = Vec::new();
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut lines = 0;
    for (i, line) in text.lines().enumerate() {
        lines = i + 1;
        match ticket::parse_line(line) {
            Ok(Some(ev)) => events.push((i + 1, ev)),
            Ok(None) => {}
            Err(e) => problems.push((i + 1, e)),
        }
    }
    if args.strict && !problems.is_empty() {
        report(io, &name, &problems);
        return Err(usage(format!(
            "{name}: batch refused (--strict): {} malformed line(s); nothing was written",
            problems.len()
        )));
    }

    let mut store = ctx.store()?;
    let now = ctx.now;
    let bar = if events.len() >= PROGRESS_FROM {
        let bar = ProgressBar::new(events.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} ingesting {pos}/{len} [{bar:30}] {per_sec}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut tally = Tally {
        lines,
        ..Tally::default()
    };
    let mut rejected: Vec<(usize, String)> = Vec::new();
    let strict = args.strict;
    let outcome = store.write(|tx| {
        for (line, ev) in &events {
            // The title check `create` passes, for updates too: one bad
            // line is skipped like any other, not a failed batch.
            if let Some(p) = text_problem(ev) {
                rejected.push((*line, p));
                bar.inc(1);
                continue;
            }
            match ingest::apply(tx, &config, ev, now)? {
                Ok(effect) => count(&mut tally, effect),
                Err(e) => rejected.push((*line, e)),
            }
            bar.inc(1);
        }
        if strict && !rejected.is_empty() {
            // Returning an error rolls the whole batch back.
            return Err(usage(format!(
                "{name}: batch refused (--strict): {} line(s) could not be applied; \
                 nothing was written",
                rejected.len()
            )));
        }
        Ok(())
    });
    bar.finish_and_clear();
    if let Err(e) = outcome {
        report(io, &name, &rejected);
        return Err(e);
    }
    problems.extend(rejected);
    problems.sort();

    // Console pages go to stderr: stdout carries the summary.
    let delivered = delivery::deliver(&mut store, &config, now, io.err)?;
    report(io, &name, &problems);
    if args.json {
        let v = json!({
            "lines": tally.lines,
            "created": tally.created,
            "deduplicated": tally.deduplicated,
            "updated": tally.updated,
            "resolved": tally.resolved,
            "reopened": tally.reopened,
            "unchanged": tally.unchanged,
            "duplicate": tally.duplicate,
            "skipped": problems.len(),
            "problems": problems.iter().map(|(l, e)| json!({"line": l, "error": e})).collect::<Vec<_>>(),
        });
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            io.out,
            "{name}: {} line(s): {} created, {} deduplicated, {} updated, {} resolved, \
             {} reopened, {} unchanged, {} already ingested, {} skipped",
            tally.lines,
            tally.created,
            tally.deduplicated,
            tally.updated,
            tally.resolved,
            tally.reopened,
            tally.unchanged,
            tally.duplicate,
            problems.len()
        )?;
    }
    for g in delivery::summarize(&delivered.failures()) {
        io.warn(format!(
            "{} ingested, but notifying via {} failed: {}",
            delivery::issues_phrase(&g.ids, g.count),
            g.channel,
            g.error
        ));
    }
    Ok(if problems.is_empty() && !delivered.failed() {
        Code::Ok
    } else {
        Code::Attention
    })
}

fn count(t: &mut Tally, effect: Effect) {
    match effect {
        Effect::Created(_) => t.created += 1,
        Effect::Deduplicated(_) => t.deduplicated += 1,
        Effect::Updated(_) => t.updated += 1,
        Effect::Resolved(_) => t.resolved += 1,
        Effect::Reopened(_) => t.reopened += 1,
        Effect::Unchanged(_) => t.unchanged += 1,
        Effect::Duplicate => t.duplicate += 1,
    }
}

fn report(io: &mut Io, name: &str, problems: &[(usize, String)]) {
    for (line, e) in problems.iter().take(SHOWN) {
        io.warn(format!("{name}:{line}: {e}"));
    }
    if problems.len() > SHOWN {
        io.warn(format!(
            "{name}: and {} more problem line(s)",
            problems.len() - SHOWN
        ));
    }
}

/// The whole input: a file, or stdin for `-` or no argument.
fn read_input(path: Option<&std::path::Path>) -> Result<(String, String)> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let bytes =
                std::fs::read(p).map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| usage(format!("{} is not UTF-8 text: {e}", p.display())))?;
            Ok((p.display().to_string(), text))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
            Ok(("stdin".to_string(), text))
        }
    }
}
