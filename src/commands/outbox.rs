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

/// `outbox retry ID | --all-dead`. Each row's contact is re-resolved from
/// the current config first (see [`plan`]): a fixed URL or address in
/// chains.toml is where the retry goes. A row whose role or channel is gone
/// is named in one line and left as it was; then the exit is 3.
fn retry(
    ctx: &Ctx,
    store: &mut crate::store::Store,
    id: Option<&str>,
    all_dead: bool,
    io: &mut Io,
) -> Result<Code> {
    let id = match (all_dead, id) {
        (true, _) => None,
        (false, Some(id)) => Some(parse_id(id)?),
        (false, None) => return Ok(Code::Ok),
    };
    let config = ctx.config()?;
    let (lines, requeued, moved, left) = store.write(|tx| {
        let rows = outbox::retry_rows(tx, id)?;
        if let Some(id) = id {
            match rows.first() {
                None => return Err(no_such_issue(format!("delivery {id} does not exist"))),
                Some(r) if !matches!(r.status.as_str(), "dead" | "pending") => {
                    return Err(no_such_issue(format!(
                        "delivery {id} was already sent or cancelled; nothing to retry"
                    )))
                }
                Some(_) => {}
            }
        }
        let (mut lines, mut requeued, mut moved, mut left) = (Vec::new(), 0, 0, 0);
        for row in &rows {
            match plan(&config, row, |t| outbox::target_taken(tx, row, t))? {
                Plan::Leave(why) => {
                    left += 1;
                    lines.push(format!("delivery {} left {}: {why}", row.id, row.status));
                    continue;
                }
                Plan::Move(target) => {
                    outbox::retarget(tx, row.id, &target)?;
                    moved += 1;
                    lines.push(format!(
                        "delivery {}: role `{}` {} now goes to {target} (was {})",
                        row.id, row.role, row.channel, row.target
                    ));
                }
                Plan::Requeue => {}
            }
            requeued += usize::from(outbox::requeue(tx, row.id, ctx.now)?);
        }
        Ok((lines, requeued, moved, left))
    })?;
    for line in &lines {
        writeln!(io.out, "{}", crate::text::one_line(line))?;
    }
    let moved = if moved > 0 {
        format!(" ({moved} re-targeted)")
    } else {
        String::new()
    };
    match id {
        None => writeln!(
            io.out,
            "requeued {requeued} dead deliveries{moved}; the next `escalate check` sends them"
        )?,
        Some(id) if requeued > 0 => writeln!(
            io.out,
            "requeued delivery {id}{moved}; the next `escalate check` sends it"
        )?,
        Some(_) => {}
    }
    Ok(if left > 0 { Code::Attention } else { Code::Ok })
}

/// Channels whose target comes from a role's contacts (subscription events
/// and tracker work are addressed otherwise and are requeued as they are).
const ROLE_CHANNELS: [&str; 4] = ["console", "email", "slack", "webhook"];

/// What a retry does with one row.
#[derive(Debug, PartialEq)]
enum Plan {
    /// Its target is still one of its role's contacts: requeue it as it is.
    Requeue,
    /// Its role now has a different contact of the same kind: move it there
    /// (a secret-free target label), then requeue.
    Move(String),
    /// Its role, or the role's contacts of that kind, are gone: why.
    Leave(String),
}

/// The row's role → that role's current contacts of the row's channel kind.
/// The row's own target if it is still among them; else the first one that
/// no other row of the same notification already goes to (`taken`), so two
/// dead rows of a role whose two URLs both changed move to one each and
/// nobody hears twice.
fn plan(
    config: &crate::config::Config,
    row: &outbox::RetryRow,
    mut taken: impl FnMut(&str) -> Result<bool>,
) -> Result<Plan> {
    if !ROLE_CHANNELS.contains(&row.channel.as_str()) {
        return Ok(Plan::Requeue);
    }
    let Some(role) = config.roles.get(&row.role) else {
        return Ok(Plan::Leave(format!(
            "role `{}` is no longer in the config",
            row.role
        )));
    };
    let same_kind: Vec<String> = role
        .contacts
        .iter()
        .filter(|c| c.channel() == row.channel)
        .map(|c| c.target())
        .collect();
    if same_kind.contains(&row.target) {
        return Ok(Plan::Requeue);
    }
    if same_kind.is_empty() {
        return Ok(Plan::Leave(format!(
            "role `{}` has no {} contact any more",
            row.role, row.channel
        )));
    }
    for target in same_kind {
        if !taken(&target)? {
            return Ok(Plan::Move(target));
        }
    }
    Ok(Plan::Leave(format!(
        "every {} contact of role `{}` already has this notification",
        row.channel, row.role
    )))
}
