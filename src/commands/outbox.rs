//! `escalate outbox`: what was, is being, or could not be delivered; and
//! `outbox retry` to requeue failures once their cause is fixed.

use anyhow::Result;
use serde::Serialize;

use super::{parse_id, Ctx, Io};
use crate::cli::{OutboxAction, OutboxArgs, OutboxFilter};
use crate::error::{no_such_issue, Code};
use crate::model::time::rfc3339;
use crate::render::{relative, table};
use crate::store::{outbox, ts};

#[derive(Serialize)]
struct RowView {
    id: i64,
    issue_id: i64,
    level: u32,
    repeat: u32,
    role: String,
    channel: String,
    target: String,
    status: String,
    attempts: u32,
    created_at: String,
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    last_error: Option<String>,
}

pub fn run(ctx: &Ctx, args: &OutboxArgs, io: &mut Io) -> Result<Code> {
    let mut store = ctx.store()?;
    if let Some(OutboxAction::Retry { id, all_dead }) = &args.action {
        return retry(ctx, &mut store, id.as_deref(), *all_dead, io);
    }
    let status = match args.status {
        OutboxFilter::Pending => Some("pending"),
        OutboxFilter::Dead => Some("dead"),
        OutboxFilter::Sent => Some("sent"),
        OutboxFilter::All => None,
    };
    let (rows, total) = store.read(|tx| {
        let rows = outbox::list(tx, status, args.limit)?;
        // Counting only when the page is full: the common case costs one query.
        let total = if args.limit > 0 && rows.len() as u64 >= args.limit {
            outbox::list(tx, status, 0)?.len()
        } else {
            rows.len()
        };
        Ok((rows, total))
    })?;
    let shown = rows.len();
    let views: Vec<RowView> = rows
        .into_iter()
        .map(|r| RowView {
            id: r.id,
            issue_id: r.issue_id,
            level: r.level,
            repeat: r.repeat,
            role: r.role,
            channel: r.channel,
            target: r.target,
            next_attempt_at: (r.status == "pending")
                .then(|| ts(r.next_attempt_at).ok().map(rfc3339))
                .flatten(),
            status: r.status,
            attempts: r.attempts,
            created_at: ts(r.created_at).map(rfc3339).unwrap_or_default(),
            sent_at: r.sent_at.and_then(|t| ts(t).ok()).map(rfc3339),
            last_error: r.last_error,
        })
        .collect();
    if args.json {
        writeln!(io.out, "{}", serde_json::to_string_pretty(&views)?)?;
        warn_truncated(io, shown, total);
        return Ok(Code::Ok);
    }
    if views.is_empty() {
        writeln!(io.out, "no deliveries")?;
        return Ok(Code::Ok);
    }
    let mut table = table(vec![
        "ID", "ISSUE", "LEVEL", "ROLE", "CHANNEL", "TARGET", "STATUS", "TRIES", "NEXT", "ERROR",
    ]);
    for v in &views {
        // Roles, targets and peer errors are outside text: one line, no
        // control characters, in every cell.
        let next = v
            .next_attempt_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| relative(t.with_timezone(&chrono::Utc), ctx.now))
            .unwrap_or_else(|| "-".into());
        table.add_row(
            [
                v.id.to_string(),
                format!("#{}", v.issue_id),
                v.level.to_string(),
                v.role.clone(),
                v.channel.clone(),
                v.target.clone(),
                v.status.clone(),
                v.attempts.to_string(),
                next,
                v.last_error.clone().unwrap_or_default(),
            ]
            .iter()
            .map(|c| crate::text::one_line(c)),
        );
    }
    writeln!(io.out, "{table}")?;
    warn_truncated(io, shown, total);
    Ok(Code::Ok)
}

/// As `list` does: the rows are a page, so say how many there are.
fn warn_truncated(io: &mut Io, shown: usize, total: usize) {
    if total > shown {
        io.warn(format!(
            "showing {shown} of {total} deliveries (--limit 0 for all)"
        ));
    }
}

/// `outbox retry ID | --all-dead`.
fn retry(
    ctx: &Ctx,
    store: &mut crate::store::Store,
    id: Option<&str>,
    all_dead: bool,
    io: &mut Io,
) -> Result<Code> {
    if all_dead {
        let n = store.write(|tx| outbox::requeue_dead(tx, ctx.now))?;
        writeln!(
            io.out,
            "requeued {n} dead deliveries; the next `escalate check` sends them"
        )?;
    } else if let Some(id) = id {
        let id = parse_id(id)?;
        store.write(|tx| {
            if !outbox::exists(tx, id)? {
                return Err(no_such_issue(format!("delivery {id} does not exist")));
            }
            if !outbox::requeue(tx, id, ctx.now)? {
                return Err(no_such_issue(format!(
                    "delivery {id} was already sent or cancelled; nothing to retry"
                )));
            }
            Ok(())
        })?;
        writeln!(
            io.out,
            "requeued delivery {id}; the next `escalate check` sends it"
        )?;
    }
    Ok(Code::Ok)
}
