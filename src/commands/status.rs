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
use crate::text::terminal;

/// What `status` reads, in one transaction.
struct Health {
    expected: TimeDelta,
    last: Option<health::RunRecord>,
    /// Now minus the last run's start (None: never ran).
    age: Option<TimeDelta>,
    future: health::FutureRuns,
    runs: health::RunCounts,
    pending: u64,
    dead: u64,
    counts: digest::SlaCounts,
    /// Each host that checked in the last [`HOST_MEMORY`], with its last run.
    hosts: Vec<health::HostRun>,
    now: crate::model::Ts,
}

/// How long a host that stopped checking is remembered (and named): a
/// day of warnings, then a host taken out of service is forgotten.
const HOST_MEMORY: TimeDelta = TimeDelta::hours(24);

impl Health {
    fn stale(&self) -> bool {
        self.age.is_none_or(|a| a > self.expected)
    }

    /// Hosts whose last check is older than expected while another host's
    /// is not: the checker carries on, but one of its hosts stopped. Only
    /// hosts that checked regularly ([`REGULAR`] runs in the last day): a
    /// one-off `escalate check` from someone's laptop, or a container's
    /// passing name, is not a checker host that stopped.
    fn stopped_hosts(&self) -> Vec<&health::HostRun> {
        if self.stale() || self.hosts.len() < 2 {
            return Vec::new();
        }
        self.hosts
            .iter()
            .filter(|h| h.runs >= REGULAR && self.now - h.last > self.expected)
            .collect()
    }
}

/// Runs in [`HOST_MEMORY`] that make a host a regular checker.
const REGULAR: u64 = 3;

fn host_name(h: &health::HostRun) -> String {
    terminal(&h.host)
}

pub fn run(ctx: &Ctx, max_age_minutes: Option<f64>, json: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let expected = match max_age_minutes {
        Some(m) => TimeDelta::milliseconds((m * 60_000.0).round() as i64),
        None => config.checker.expected_interval,
    };
    let now = ctx.now;
    let h = ctx.store_read()?.read(|tx| {
        let last = health::last_run(tx, now + health::SKEW)?;
        Ok(Health {
            expected,
            age: last.as_ref().and_then(|r| r.started_at).map(|t| now - t),
            last,
            future: health::runs_after(tx, now + health::SKEW)?,
            runs: health::runs_between(
                tx,
                now - TimeDelta::hours(24),
                now + TimeDelta::seconds(1),
            )?,
            pending: outbox::count(tx, OutboxStatus::Pending)?,
            dead: outbox::count(tx, OutboxStatus::Dead)?,
            counts: digest::sla_counts(tx, ctx.now)?,
            hosts: health::hosts(tx, now - HOST_MEMORY, now + health::SKEW)?,
            now,
        })
    })?;
    if json {
        writeln!(io.out, "{}", serde_json::to_string_pretty(&to_json(&h))?)?;
    } else {
        print_text(&h, io)?;
    }
    Ok(verdict(&h, io))
}

fn to_json(h: &Health) -> serde_json::Value {
    json!({
        "ok": !h.stale(),
        "expected_interval_seconds": h.expected.num_seconds(),
        "last_run": h.last.as_ref().map(|r| json!({
            "started_at": r.started_at.map(rfc3339),
            "age_seconds": h.age.map(|a| a.num_seconds()),
            "duration_ms": r.duration_ms,
            "examined": r.examined,
            "escalations": r.escalations,
            "sla_events": r.sla_events,
            "delivered": r.delivered,
            "failed": r.failed,
            "dead": r.dead,
            "orphans": r.orphans,
        })),
        "runs_dated_in_the_future": h.future.count,
        "runs_last_24h": h.runs.runs,
        "runs_with_failures_last_24h": h.runs.failing,
        "outbox_pending": h.pending,
        "outbox_dead": h.dead,
        "open_issues": h.counts.open,
        "sla_at_risk": h.counts.at_risk,
        "sla_breached": h.counts.breached,
        "hosts": h.hosts.iter().map(|x| json!({
            "host": x.host,
            "last_started_at": rfc3339(x.last),
            "age_seconds": (h.now - x.last).num_seconds(),
            "runs_last_24h": x.runs,
            // A regular checker host that stopped is not ok; a one-off
            // host is listed, never alarmed on.
            "ok": h.now - x.last <= h.expected || x.runs < REGULAR,
        })).collect::<Vec<_>>(),
        "stopped_hosts": h.stopped_hosts().iter().map(|x| x.host.as_str()).collect::<Vec<_>>(),
    })
}

fn print_text(h: &Health, io: &mut Io) -> Result<()> {
    match (&h.last, h.age) {
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
                r.examined, r.escalations, r.sla_events, r.delivered, r.failed, r.dead, r.orphans
            )?;
        }
        _ => writeln!(io.out, "last check: never")?,
    }
    if h.hosts.len() > 1 {
        for x in &h.hosts {
            let age = h.now - x.last;
            let mark = match (age > h.expected, x.runs >= REGULAR) {
                (true, true) => "  STOPPED",
                (true, false) => "  (not a regular checker)",
                _ => "",
            };
            writeln!(
                io.out,
                "  host {}: last check {} ({} ago){mark}",
                host_name(x),
                rfc3339(x.last),
                human(age)
            )?;
        }
    }
    let health::RunCounts { runs, failing } = h.runs;
    writeln!(
        io.out,
        "runs in the last 24 h: {runs} ({failing} with delivery failures)"
    )?;
    let digest::SlaCounts {
        open,
        at_risk,
        breached,
    } = h.counts;
    writeln!(
        io.out,
        "open issues: {open} ({at_risk} at risk, {breached} breached); \
         outbox: {} pending, {} dead",
        h.pending, h.dead
    )?;
    Ok(())
}

/// Warnings on stderr, and the exit code: attention when the checker is
/// stale or notifications are dead.
fn verdict(h: &Health, io: &mut Io) -> Code {
    if let Some(latest) = h.future.latest {
        io.warn(format!(
            "{} check run(s) are dated in the future (the latest {}): a clock that \
             jumped ahead or a what-if --now run; they do not count as the checker running",
            h.future.count,
            rfc3339(latest)
        ));
    }
    if h.stale() {
        let what = match h.age {
            Some(a) => format!(
                "the last check ran {} ago, more than the expected {}",
                human(a),
                human(h.expected)
            ),
            None => "no check has ever run on this database".to_string(),
        };
        io.warn(format!(
            "{what} — is the cron job running? (crontab: */5 * * * * escalate check)"
        ));
        return Code::Attention;
    }
    let stopped = h.stopped_hosts();
    if !stopped.is_empty() {
        for x in &stopped {
            io.warn(format!(
                "host {} stopped checking: its last check ran {} ago, more than the expected \
                 {} (the other hosts carry on) — is its cron job running?",
                host_name(x),
                human(h.now - x.last),
                human(h.expected)
            ));
        }
        return Code::Attention;
    }
    if h.dead > 0 {
        io.warn(format!(
            "{} notification(s) are dead: `escalate outbox --status dead`, then \
             `escalate outbox retry --all-dead`",
            h.dead
        ));
        return Code::Attention;
    }
    Code::Ok
}
