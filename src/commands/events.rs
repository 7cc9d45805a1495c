//! `escalate events`: the event log as JSON lines, with a cursor, so any
//! adapter (a helpdesk sync, a data warehouse loader, a chat bot) can
//! consume it: `--since ID` resumes after an id, `--cursor-file` keeps the
//! position between runs, `--follow` keeps polling for new events.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Ctx, Io};
use crate::cli::EventsArgs;
use crate::error::{usage, Code};
use crate::model::EventKind;
use crate::store::events;

/// Events read per query.
const BATCH: usize = 1000;

pub fn run(ctx: &Ctx, args: &EventsArgs, io: &mut Io) -> Result<Code> {
    let mut kinds = Vec::new();
    for k in &args.kind {
        let kind = EventKind::ALL
            .into_iter()
            .find(|e| e.as_str() == k)
            .ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
                usage(format!(
                    "unknown event kind `{k}` (kinds: {})",
                    known.join(", ")
                ))
            })?;
        kinds.push(kind);
    }
    let mut cursor = match (&args.since, &args.cursor_file) {
        (Some(id), _) => *id,
        (None, Some(path)) => read_cursor(path)?,
        (None, None) => 0,
    };
    let mut store = ctx.store_read()?;
    let mut printed: u64 = 0;
    loop {
        let (top, batch) = store.read(|tx| {
            let top = events::max_id(tx)?;
            Ok((top, events::after(tx, cursor, &kinds, BATCH)?))
        })?;
        for e in &batch {
            let line = crate::text::json_controls(&e.to_json().to_string());
            writeln!(io.out, "{line}")?;
            printed += 1;
            if args.limit.is_some_and(|n| printed >= n) {
                cursor = e.id;
                break;
            }
        }
        let limited = args.limit.is_some_and(|n| printed >= n);
        if !limited {
            // Everything up to `top` was examined, matching or not: skip it
            // next time even when a kind filter printed nothing.
            cursor = if batch.len() < BATCH {
                top.max(cursor)
            } else {
                batch.last().map_or(cursor, |e| e.id)
            };
        }
        io.out.flush()?;
        if let Some(path) = &args.cursor_file {
            write_cursor(path, cursor)?;
        }
        if limited || (batch.len() < BATCH && !args.follow) {
            break;
        }
        if batch.len() < BATCH {
            std::thread::sleep(Duration::from_secs_f64(args.interval));
        }
    }
    Ok(Code::Ok)
}

fn read_cursor(path: &Path) -> Result<i64> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse::<i64>().map_err(|_| {
            usage(format!(
                "cursor file {} does not hold an event id (found {:?})",
                path.display(),
                text.trim().chars().take(40).collect::<String>()
            ))
        }),
        // No file yet: start from the beginning, and create it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(usage(format!("cursor file {}: {e}", path.display()))),
    }
}

/// Replace the cursor file atomically, so a crash never leaves it torn.
fn write_cursor(path: &Path, cursor: i64) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!(
            "cursor file {}: cannot write in {}",
            path.display(),
            dir.display()
        )
    })?;
    writeln!(tmp, "{cursor}").with_context(|| format!("cursor file {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cursor file {}: {}", path.display(), e.error))?;
    Ok(())
}
