//! `escalate ingest [FILE|-]`: ticket events as JSON lines (see
//! src/model/ticket.rs for the schema) applied in one transaction. Malformed or
//! inapplicable lines are reported with their line number and skipped —
//! or, with `--strict`, the whole batch is refused and nothing is written.

use std::io::{BufRead, BufReader, Read};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{Ctx, Io};
use crate::cli::IngestArgs;
use crate::delivery;
use crate::error::{usage, Code};
use crate::lifecycle::ingest::{self, Effect};
use crate::model::ticket::{self, TicketEvent};

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
    paused: u64,
    resumed: u64,
    unchanged: u64,
    duplicate: u64,
}

pub fn run(ctx: &Ctx, args: &IngestArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let mut events: Vec<(usize, TicketEvent)> = Vec::new();
    let mut problems: Vec<(usize, String)> = Vec::new();
    let (name, lines) = read_input(args.input.as_deref(), &mut |n, line| match line
        .and_then(ticket::parse_line)
    {
        Ok(Some(ev)) => events.push((n, ev)),
        Ok(None) => {}
        Err(e) => problems.push((n, e)),
    })?;
    if args.strict && !problems.is_empty() {
        report(io, &name, &problems);
        return Err(usage(format!(
            "{name}: batch refused (--strict): {} malformed line(s); nothing was written",
            problems.len()
        )));
    }

    let mut store = ctx.store()?;
    store.statement_journal_in_memory()?;
    store.batch_cache()?;
    store.defer_checkpoints()?;
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
    // The batch and the lease on its console lines commit together.
    let run = delivery::Run::new(&config, now, None);
    let outcome = store.write(|tx| {
        for (line, ev) in &events {
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
        run.claim_console(tx, &config)
    });
    bar.finish_and_clear();
    let first = match outcome {
        Ok(first) => first,
        Err(e) => {
            report(io, &name, &rejected);
            return Err(e);
        }
    };
    problems.extend(rejected);
    problems.sort();

    // Console pages go to stderr: stdout carries the summary.
    // Buffered: flushed once per delivery batch, not once per line.
    let mut err = std::io::BufWriter::with_capacity(1 << 16, &mut *io.err);
    let delivered = run.deliver(&mut store, &config, &mut err, first);
    drop(err);
    // After the pages, and whether or not they went out: the batch is
    // committed either way. Best effort: a failed checkpoint must not hide
    // the summary, the rejected lines or a delivery error.
    if let Err(e) = store.checkpoint_and_truncate() {
        io.warn(format!("checkpoint skipped: {e:#}"));
    }
    let delivered = delivered?;
    report(io, &name, &problems);
    if args.json {
        let v = json!({
            "lines": tally.lines,
            "created": tally.created,
            "deduplicated": tally.deduplicated,
            "updated": tally.updated,
            "resolved": tally.resolved,
            "reopened": tally.reopened,
            "paused": tally.paused,
            "resumed": tally.resumed,
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
             {} reopened, {} paused, {} resumed, {} unchanged, {} already ingested, {} skipped",
            tally.lines,
            tally.created,
            tally.deduplicated,
            tally.updated,
            tally.resolved,
            tally.reopened,
            tally.paused,
            tally.resumed,
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
        Effect::Paused(_) => t.paused += 1,
        Effect::Resumed(_) => t.resumed += 1,
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

/// Longest line kept: a longer one is reported and skipped, so one
/// endless line cannot fill memory.
const MAX_LINE: usize = 1 << 20;

/// Most input read in all (a stream with no end, `/dev/zero`, a FIFO left
/// open, must end somewhere): past it the batch is refused whole, because
/// events are held until the one transaction that applies them.
const MAX_INPUT: u64 = 256 << 20;

/// Each line of the input, numbered from 1, as text or as why it is not:
/// a file (read as a stream, so a FIFO or a device works too), or stdin
/// for `-` or no argument. Returns the input's name and its line count.
fn read_input(
    path: Option<&std::path::Path>,
    each: &mut dyn FnMut(usize, Result<&str, String>),
) -> Result<(String, usize)> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            let file =
                std::fs::File::open(p).map_err(|e| usage(format!("cannot read {name}: {e}")))?;
            let lines = read_lines(&mut BufReader::new(file), &name, each)?;
            Ok((name, lines))
        }
        _ => {
            let name = "stdin".to_string();
            let lines = read_lines(&mut std::io::stdin().lock(), &name, each)?;
            Ok((name, lines))
        }
    }
}

/// Splits `r` into lines, each at most [`MAX_LINE`] bytes and UTF-8 (else
/// reported on its own), and a leading byte-order mark dropped (Windows
/// tools write one). Reading more than [`MAX_INPUT`] is a usage error.
fn read_lines(
    r: &mut impl BufRead,
    name: &str,
    each: &mut dyn FnMut(usize, Result<&str, String>),
) -> Result<usize> {
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    let mut n = 0;
    loop {
        let read = |r: &mut dyn BufRead, buf: &mut Vec<u8>, limit: usize| {
            buf.clear();
            // `read_until` finds the newline fast (std's memchr); the `take`
            // bounds what it keeps.
            r.take(limit as u64)
                .read_until(b'\n', buf)
                .map_err(|e| usage(format!("cannot read {name}: {e}")))
        };
        let got = read(r, &mut buf, MAX_LINE + 1)?;
        if got == 0 {
            return Ok(n);
        }
        n += 1;
        total += got as u64;
        let ended = buf.last() == Some(&b'\n');
        if !ended && got > MAX_LINE {
            // Too long: skip to its end, through a buffer of the same size.
            loop {
                let more = read(r, &mut buf, MAX_LINE)?;
                total += more as u64;
                if more == 0 || buf.last() == Some(&b'\n') || total > MAX_INPUT {
                    break;
                }
            }
            buf.clear();
        }
        if total > MAX_INPUT {
            return Err(usage(format!(
                "{name}: more than {} MiB of input; nothing was written (split it \
                 into smaller batches)",
                MAX_INPUT >> 20
            )));
        }
        if !ended && got > MAX_LINE {
            each(
                n,
                Err(format!("longer than {} MiB; skipped", MAX_LINE >> 20)),
            );
            continue;
        }
        let mut line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if n == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        each(
            n,
            std::str::from_utf8(line)
                .map_err(|e| format!("not UTF-8 (byte {} of the line)", e.valid_up_to() + 1)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line `read_lines` hands on, as text or why not.
    fn lines(input: &[u8]) -> Vec<Result<String, String>> {
        let mut got = Vec::new();
        let n = read_lines(&mut &input[..], "t", &mut |n, l| {
            assert_eq!(n, got.len() + 1, "numbered from 1, in order");
            got.push(l.map(str::to_string));
        })
        .expect("read");
        assert_eq!(n, got.len());
        got
    }

    #[test]
    fn lines_are_bounded_and_checked_one_by_one() {
        let at_bound = "a".repeat(MAX_LINE);
        let over = "b".repeat(MAX_LINE + 1);
        let input = format!("\u{feff}x\r\n\u{feff}y\n{at_bound}\n{over}\n\n{over}");
        let got = lines(input.as_bytes());
        assert_eq!(got.len(), 6);
        assert_eq!(
            got[0].as_deref(),
            Ok("x\r"),
            "BOM dropped; parse_line trims"
        );
        assert_eq!(got[1].as_deref(), Ok("\u{feff}y"), "only at the start");
        assert_eq!(got[2].as_deref(), Ok(at_bound.as_str()));
        assert!(got[3]
            .as_ref()
            .is_err_and(|e| e.contains("longer than 1 MiB")));
        assert_eq!(got[4].as_deref(), Ok(""));
        assert!(got[5].is_err(), "an overlong last line without a newline");

        let got = lines(b"ok\n\xff\xfe\nok\n\xef\xbb");
        assert_eq!(got[0].as_deref(), Ok("ok"));
        assert!(got[1].as_ref().is_err_and(|e| e.starts_with("not UTF-8")));
        assert_eq!(got[2].as_deref(), Ok("ok"));
        assert!(got[3].is_err(), "a truncated sequence at the end");
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn endless_input_is_refused() {
        let mut zeros = std::io::repeat(0).take(MAX_INPUT + 2);
        let e =
            read_lines(&mut BufReader::new(&mut zeros), "z", &mut |_, _| {}).expect_err("refused");
        assert!(e.to_string().contains("more than 256 MiB"), "{e}");
    }
}
