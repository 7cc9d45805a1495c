//! Ownership by hand: a person pages a level now (`escalate escalate`),
//! writes a work note (`note`), withdraws an acknowledgement (`unack`) or
//! re-routes an issue to another chain (`move`). Each is one transaction
//! of issue update, audit event and outbox rows, like the other actions.

use crate::store::Tx;
use anyhow::Result;
use chrono::TimeDelta;

use crate::config::{Chain, Config};
use crate::engine::{self, manual, sla, Started};
use crate::error::{conflict, usage};
use crate::model::event::{Details, Escalated, Moved, Noted, Unacknowledged};
use crate::model::time::rfc3339;
use crate::model::{Issue, OwnerKind, Status, Ts};
use crate::store::{events, issues, outbox};

use super::escalate::take_owner;
use super::{
    apply, enqueue_raised_page, existing, oncall, record, request_task, role_at, schedule,
};

/// What `escalate escalate` asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Raise<'a> {
    /// The level to page (None: the one above the current level).
    pub level: Option<u32>,
    pub reason: Option<&'a str>,
}

/// `escalate ID [--level N]`: page a level now and re-anchor the schedule
/// there (a new epoch at that level, its waits counted from now); that
/// level's role owns the issue. Escalating goes up: the level must be above
/// the current one, except at the top, where it pages the top again and
/// restarts its repeats. A role with rotations reaches its person on call
/// now, who owns the issue, as for any page. An acknowledgement is cleared (a deliberate
/// hand-up: the acker gives it away). Paused issues are refused: a pause
/// says nobody can act yet, so paging now contradicts it.
pub fn escalate_now(
    tx: &Tx,
    config: &Config,
    id: i64,
    raise: Raise,
    by: &str,
    now: Ts,
) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    refuse_closed_or_paused(&issue, "escalating")?;
    let chain = current_chain(config, &issue)?;
    let top = top_level(chain);
    if let Some(n) = raise.level.filter(|n| !(1..=top).contains(n)) {
        return Err(usage(format!(
            "--level {n} is not a level of chain `{}` (levels 1 to {top})",
            chain.name
        )));
    }
    // Bring an overdue issue to where its schedule says it is first (as
    // `ack` does), so "the next level" is the next one after the steps
    // already owed, and those steps are recorded before the manual one.
    if issue.next_due_at.is_some_and(|t| t <= now) {
        let decision = engine::advance(&issue.esc, chain, now);
        apply(tx, config, &mut issue, &decision, now)?;
    }
    // A level above a shortened chain (not yet capped) counts as its top.
    let current = issue.esc.level.min(top);
    let level = match raise.level {
        Some(n) => n,
        None if current >= top => {
            return Err(conflict(format!(
                "issue #{id} is at the top level ({top}) of chain `{}`: there is no next \
                 level (give --level {top} to page it again)",
                chain.name
            )))
        }
        None => current + 1,
    };
    if level < current {
        return Err(conflict(format!(
            "issue #{id} is at level {current}; --level {level} is below it (escalating goes \
             up; `escalate assign` hands it to someone)"
        )));
    }
    if level == current && level < top {
        return Err(conflict(format!(
            "issue #{id} is already at level {current}; give a higher --level (up to {top}) \
             or none for level {}",
            current + 1
        )));
    }
    let Started { state, page } = manual::start_at(chain, level, now, issue.esc.epoch + 1);
    issue.esc = state;
    issue.acked_by = None;
    // Like any page: a role with rotations reaches its person on call now,
    // who owns the issue.
    let reach = oncall::reach(tx, config, &page.role, now)?;
    let owner_from = issue.owner.clone();
    take_owner(&mut issue, &page.role, &reach);
    issue.max_level = issue.max_level.max(level);
    let escalated = Escalated {
        role: page.role.clone(),
        repeat: 0,
        epoch: page.epoch,
        due_at: now,
        late_seconds: 0,
        owner_from,
        owner_to: issue.owner.clone(),
        manual: true,
        reason: raise.reason.map(str::to_string),
        on_call: reach.person.clone(),
        gap: reach.gap,
    };
    // Kind `escalated`, so the report counts it like any page above level 1
    // (someone above level 1 was pulled in); the actor and `manual` say a
    // person did it.
    record(tx, id, now, Some(level), by, Details::Escalated(escalated))?;
    let raised = raised_by(by, raise.reason);
    enqueue_raised_page(tx, config, id, &page, &reach, &raised, now)?;
    request_task(tx, config, &issue, &page, now)?;
    issue.next_due_at = schedule(&issue, Some(chain));
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// `note ID TEXT`: a work note in the timeline. Any issue, resolved ones
/// too (a post-mortem remark); nothing else changes.
pub fn note(tx: &Tx, id: i64, text: &str, by: &str, now: Ts) -> Result<Issue> {
    let issue = existing(tx, id)?;
    let noted = Noted {
        text: text.to_string(),
    };
    record(
        tx,
        id,
        now,
        Some(issue.esc.level),
        by,
        Details::Noted(noted),
    )?;
    Ok(issue)
}

/// `unack ID`: withdraw an acknowledgement; escalation resumes as if it had
/// never been given: open at the same level and epoch, the level's role
/// owns it (as when an ack lapses; the next page reaches the person on
/// call), and the next step is due where the schedule put it (steps that
/// came due while it was acked are owed now; the next check pages them).
/// The first acknowledgement stays on record: a response SLA met is not
/// un-met.
pub fn unacknowledge(tx: &Tx, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status != Status::Acknowledged {
        return Err(conflict(format!(
            "issue #{id} is not acknowledged (it is {})",
            issue.esc.status.as_str()
        )));
    }
    let chain = current_chain(config, &issue)?;
    if let Some(lapsed) = engine::ack_expiry(&issue.esc, chain).filter(|t| *t <= now) {
        return Err(conflict(format!(
            "issue #{id}'s acknowledgement lapsed at {}; the next check pages level {} again",
            rfc3339(lapsed),
            issue.esc.level
        )));
    }
    let held = epoch_held(tx, &issue)?;
    let paused_since = issue.pause.as_ref().map(|p| p.since);
    issue.esc = manual::unacknowledged(&issue.esc, held, paused_since);
    let acked_by = issue.acked_by.take();
    let owner_to = role_at(config, &issue.chain, issue.esc.level);
    let owner_from = std::mem::replace(&mut issue.owner, owner_to.clone());
    issue.owner_kind = OwnerKind::Role;
    issue.next_due_at = schedule(&issue, Some(chain));
    let details = Unacknowledged {
        acked_by,
        owner_from,
        owner_to,
        next_due_at: engine::next_due(&issue.esc, chain),
    };
    let level = Some(issue.esc.level);
    record(tx, id, now, level, by, Details::Unacknowledged(details))?;
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// The open time the issue's current epoch was paused before now: what
/// moved its steps, which an ack forgot (it counts its own expiry from the
/// ack). Each `resumed` event in the epoch carries its pause's open time
/// from the pause's real start, even for a pause an ack interrupted.
fn epoch_held(tx: &Tx, issue: &Issue) -> Result<TimeDelta> {
    let seconds: i64 = events::for_issue(tx, issue.id)?
        .iter()
        .filter(|e| e.at >= issue.esc.epoch_at)
        .filter_map(|e| match &e.details {
            Details::Resumed(r) => Some(r.open_seconds.max(0)),
            _ => None,
        })
        .fold(0i64, i64::saturating_add);
    Ok(TimeDelta::try_seconds(seconds).unwrap_or(TimeDelta::MAX))
}

/// What `move` asks for.
#[derive(Debug, Clone, Copy)]
pub struct Reroute<'a> {
    /// The chain to move to (a name in the config).
    pub chain: &'a str,
    pub reason: Option<&'a str>,
}

/// `move ID --chain NAME`: re-route the issue. Escalation restarts at the
/// new chain's level 1 now (a new epoch; its role, or its person on call,
/// owns the issue and is paged), the SLA targets are re-evaluated from creation under the new
/// chain's policy for the issue's priority (met and breached ones keep
/// their outcome), and notifications still pending from the old chain are
/// cancelled. An acknowledgement is cleared, as on any hand-over to a new
/// team; paused and resolved issues are refused.
pub fn move_to(tx: &Tx, config: &Config, id: i64, to: Reroute, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    let target = config.chain(to.chain).ok_or_else(|| {
        usage(format!(
            "unknown chain `{}` (known: {})",
            to.chain,
            config
                .chains
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    refuse_closed_or_paused(&issue, "moving")?;
    if issue.chain == to.chain {
        return Err(conflict(format!(
            "issue #{id} is already on chain `{}`",
            to.chain
        )));
    }
    let from = std::mem::replace(&mut issue.chain, target.name.clone());
    let chain = target.for_priority(issue.edge.priority.as_deref());
    let Started { state, page } = engine::start(chain, now, issue.esc.epoch + 1);
    issue.esc = state;
    issue.acked_by = None;
    let reach = oncall::reach(tx, config, &page.role, now)?;
    let owner_from = issue.owner.clone();
    take_owner(&mut issue, &page.role, &reach);
    // How far it got counts on the chain it is on (the report groups by
    // chain); the old chain's levels stay in the timeline.
    issue.max_level = 1;
    issue.sla = sla::rearm(
        &issue.sla,
        &chain.sla,
        issue.created_at,
        issue.first_acked_at,
    );
    issue.next_due_at = schedule(&issue, Some(chain));
    issues::ensure_chain(tx, &target.name, &target.fingerprint())?;
    issues::set_chain(tx, id, &target.name)?;
    // Pages, reminders and SLA notices decided under the old chain went to
    // its roles; the new chain's roles are told below.
    outbox::cancel_notifications(tx, id)?;
    let moved = Moved {
        from,
        to: target.name.clone(),
        reason: to.reason.map(str::to_string),
        epoch: page.epoch,
        owner_from,
        owner_to: issue.owner.clone(),
        policy: chain.policy,
        on_call: reach.person.clone(),
    };
    record(tx, id, now, Some(1), by, Details::Moved(moved))?;
    let raised = raised_by(by, to.reason);
    enqueue_raised_page(tx, config, id, &page, &reach, &raised, now)?;
    request_task(tx, config, &issue, &page, now)?;
    issues::save(tx, &issue)?;
    Ok(issue)
}

fn refuse_closed_or_paused(issue: &Issue, doing: &str) -> Result<()> {
    let id = issue.id;
    if issue.esc.status == Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is resolved; reopen it before {doing}"
        )));
    }
    if issue.pause.is_some() {
        return Err(conflict(format!(
            "issue #{id} is paused; resume it (`escalate resume {id}`) before {doing}"
        )));
    }
    Ok(())
}

/// The issue's chain, or a usage error when it left the config (as for
/// `reopen`).
fn current_chain<'c>(config: &'c Config, issue: &Issue) -> Result<&'c Chain> {
    config.chain_for(issue).ok_or_else(|| {
        usage(format!(
            "issue #{} is on chain `{}`, which is no longer in the config; add it back \
             (or `escalate move` it to another chain)",
            issue.id, issue.chain
        ))
    })
}

fn top_level(chain: &Chain) -> u32 {
    u32::try_from(chain.levels.len()).unwrap_or(u32::MAX).max(1)
}

/// Who paged by hand, and why: carried by the page's rows into its
/// messages.
fn raised_by(by: &str, reason: Option<&str>) -> crate::model::RaisedBy {
    crate::model::RaisedBy {
        by: by.to_string(),
        reason: reason.map(str::to_string),
    }
}
