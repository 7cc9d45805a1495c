//! Pausing and resuming an issue (waiting on the customer, snoozed): while
//! paused nothing escalates and the SLA clocks the policy's `pause` names
//! stop; on resume every later due time moves by the open calendar time the
//! pause lasted (`engine::resume`, `sla::resume`). A pause with an end
//! (`--until`) is resumed by the first check after it, recorded at its end.

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::{self, calendar, sla};
use crate::error::{conflict, usage};
use crate::model::event::{Details, Paused, Resumed};
use crate::model::time::rfc3339;
use crate::model::{Issue, Pause, Status, Ts};
use crate::store::issues;

use super::{existing, record, schedule, Applied};

/// What a pause asks for.
#[derive(Debug, Clone, Copy)]
pub struct Hold<'a> {
    /// Resume on its own then.
    pub until: Option<Ts>,
    pub reason: Option<&'a str>,
}

/// `pause ID`: stop the issue's clocks. Pausing a paused issue changes its
/// end and reason (a snooze extended) and keeps its start.
pub fn pause(tx: &Tx, config: &Config, id: i64, hold: Hold, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status == Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is resolved; only an unresolved issue can be paused"
        )));
    }
    if let Some(until) = hold.until.filter(|u| *u <= now) {
        return Err(usage(format!(
            "--until {} is not after now ({}): a pause must end later than it starts",
            rfc3339(until),
            rfc3339(now)
        )));
    }
    stop(tx, config, &mut issue, hold, by, now)?;
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// `resume ID`: the pause ends now.
pub fn resume(tx: &Tx, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.pause.is_none() {
        return Err(conflict(format!("issue #{id} is not paused")));
    }
    release(tx, config, &mut issue, by, None, now, now)?;
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// Pause `issue` at `now` (unsaved): escalation holds, the policy's clocks
/// stop, the `paused` event is written.
pub(super) fn stop(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    hold: Hold,
    by: &str,
    now: Ts,
) -> Result<()> {
    let chain = config.chain_for(issue);
    let reason = hold.reason.map(str::to_string);
    let since = match &mut issue.pause {
        Some(p) => {
            p.until = hold.until;
            p.reason = reason.clone();
            p.since
        }
        None => {
            issue.esc = engine::pause(&issue.esc, now);
            if let Some(c) = chain {
                issue.sla = sla::pause(&issue.sla, &c.sla, now);
            }
            issue.pause = Some(Pause {
                since: now,
                until: hold.until,
                reason: reason.clone(),
                by: by.to_string(),
            });
            now
        }
    };
    let stopped = [issue.sla.response, issue.sla.resolution]
        .into_iter()
        .zip(["response", "resolution"])
        .filter(|(c, _)| c.is_some_and(|c| c.hold.is_some()))
        .map(|(_, name)| name.to_string())
        .collect();
    let paused = Paused {
        since,
        until: hold.until,
        reason,
        stopped,
    };
    let level = Some(issue.esc.level);
    record(tx, issue.id, now, level, by, Details::Paused(paused))?;
    issue.next_due_at = schedule(issue, chain);
    Ok(())
}

/// End `issue`'s pause at `at` (unsaved; `now` is when it is recorded,
/// later than `at` for a `--until` a check finds passed). Nothing happens
/// to an issue that is not paused. Returns what the resume took: pages
/// owed from before the pause, SLA changes that passed before it.
pub(super) fn release(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    by: &str,
    reason: Option<&str>,
    at: Ts,
    now: Ts,
) -> Result<Applied> {
    let Some(pause) = issue.pause.take() else {
        return Ok(Applied::default());
    };
    let mut applied = Applied::default();
    // A helpdesk's late-arriving "open" cannot end a pause before it began.
    let at = at.max(pause.since);
    let chain = config.chain_for(issue);
    let open = match chain {
        Some(c) => {
            // Steps owed from before the pause are taken first, at their
            // own instants (a check may not have run since they came due);
            // the SLA clocks likewise record what passed before they
            // stopped, then move.
            let decision = engine::resume(&issue.esc, c, at);
            applied = super::escalate::apply_unsaved(tx, config, issue, &decision, now)?;
            issue.sla = sla::resume(&issue.sla, &c.sla, at);
            calendar::open_between(&c.calendar, pause.since, at)
        }
        // Orphaned (its chain left the config): nothing to move due times
        // by; the issue is parked until the chain returns anyway.
        None => {
            issue.esc.hold = None;
            for c in [&mut issue.sla.response, &mut issue.sla.resolution] {
                if let Some(c) = c.as_mut() {
                    c.hold = None;
                }
            }
            at - pause.since
        }
    };
    let resumed = Resumed {
        paused_at: pause.since,
        paused_seconds: (at - pause.since).num_seconds(),
        open_seconds: open.num_seconds(),
        reason: reason.map(str::to_string),
        recorded_at: now,
    };
    let level = Some(issue.esc.level);
    record(tx, issue.id, at, level, by, Details::Resumed(resumed))?;
    issue.next_due_at = schedule(issue, chain);
    Ok(applied)
}

/// A check at `now` ends a pause whose `--until` has passed, at that
/// instant. Returns when, if it did, and what the resume took.
pub(super) fn expire(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    now: Ts,
) -> Result<Option<(Ts, Applied)>> {
    let Some(until) = issue.pause.as_ref().and_then(|p| p.until) else {
        return Ok(None);
    };
    if until > now {
        return Ok(None);
    }
    let applied = release(
        tx,
        config,
        issue,
        super::SYSTEM,
        Some("pause ended"),
        until,
        now,
    )?;
    Ok(Some((until, applied)))
}
