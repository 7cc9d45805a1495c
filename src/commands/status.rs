//! `escalate status`: is the checker alive? The last `check` run, how long
//! ago, what it did, and the backlog it left. Exits with the attention code
//! when no check has run within the expected interval (`[checker]
//! expected_interval_minutes`, or `--max-age`): a dead-man switch for the
//! cron job itself.

use anyhow::Result;
use chrono::TimeDelta;
use serde_json::json;

use super::{Ctx, Io};
use crate::error::Code;
use crate::model::time::{human, rfc3339};
use crate::model::OutboxStatus;
use crate::store::{digest, health, outbox};

pub fn run(ctx: &Ctx, max_age_minutes: Option<f64>, json: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let expected = match max_age_minutes {
        Some(m) => TimeDelta::milliseconds((m * 60_000.0).round() as i64),
        None => config.checker.expected_interval,
    };
    let mut store = ctx.store_read()?;
    let now = ctx.now;
    let (last, future, runs, pending, dead, counts) = store.read(|tx| {
        let counts = digest::sla_counts(tx)?;
        Ok((
            health::last_run(tx, now + health::SKEW)?,
            health::runs_after(tx, now + health::SKEW)?,
            health::runs_between(tx, now - TimeDelta::hours(24), now + TimeDelta::seconds(1))?,
            outbox::count(tx, OutboxStatus::Pending)?,
            outbox::count(tx, OutboxStatus::Dead)?,
            counts,
        ))
    })?;
    let health::RunCounts { runs, failing } = runs;
    let digest::SlaCounts {
        open,
        at_risk,
        breached,
    } = counts;
    let age = last.as_ref().and_then(|r| r.started_at).map(|t| now - t);
    let stale = age.is_none_or(|a| a > expected);
    if json {
        let v = json!({
            "ok": !stale,
            "expected_interval_seconds": expected.num_seconds(),
            "last_run": last.as_ref().map(|r| json!({
                "started_at": r.started_at.map(rfc3339),
                "age_seconds": age.map(|a| a.num_seconds()),
                "duration_ms": r.duration_ms,
                "examined": r.examined,
                "escalations": r.escalations,
                "sla_events": r.sla_events,
                "delivered": r.delivered,
                "failed": r.failed,
                "dead": r.dead,
                "orphans": r.orphans,
            })),
            "runs_dated_in_the_future": future.count,
            "runs_last_24h": runs,
            "runs_with_failures_last_24h": failing,
            "outbox_pending": pending,
            "outbox_dead": dead,
            "open_issues": open,
            "sla_at_risk": at_risk,
            "sla_breached": breached,
        });
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        match (&last, age) {
            (Some(r), Some(age)) => {
                let when = if age.num_seconds() >= 0 {
                    format!("{} ago", human(age))
                } else {
                    format!("in {} (clock skew?)", human(-age))
                };
                writeln!(
                    io.out,
                    "last check: {} ({when}), took {} ms",
                    r.started_at.map(rfc3339).unwrap_or_default(),
                    r.duration_ms
                )?;
                writeln!(
                    io.out,
                    "  examined {}, escalations {}, SLA events {}, delivered {}, failed {}, \
                     dead {}, orphaned {}",
                    r.examined,
                    r.escalations,
                    r.sla_events,
                    r.delivered,
                    r.failed,
                    r.dead,
                    r.orphans
                )?;
            }
            _ => writeln!(io.out, "last check: never")?,
        }
        writeln!(
            io.out,
            "runs in the last 24 h: {runs} ({failing} with delivery failures)"
        )?;
        writeln!(
            io.out,
            "open issues: {open} ({at_risk} at risk, {breached} breached); \
             outbox: {pending} pending, {dead} dead"
        )?;
    }
    if let Some(latest) = future.latest {
        io.warn(format!(
            "{} check run(s) are dated in the future (the latest {}): a clock that \
             jumped ahead or a what-if --now run; they do not count as the checker running",
            future.count,
            rfc3339(latest)
        ));
    }
    if stale {
        let what = match age {
            Some(a) => format!(
                "the last check ran {} ago, more than the expected {}",
                human(a),
                human(expected)
            ),
            None => "no check has ever run on this database".to_string(),
        };
        io.warn(format!(
            "{what} — is the cron job running? (crontab: */5 * * * * escalate check)"
        ));
        return Ok(Code::Attention);
    }
    if dead > 0 {
        io.warn(format!(
            "{dead} notification(s) are dead: `escalate outbox --status dead`, then \
             `escalate outbox retry --all-dead`"
        ));
        return Ok(Code::Attention);
    }
    Ok(Code::Ok)
}
