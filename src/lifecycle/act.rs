//! What people do to an issue: acknowledge, assign, resolve, reopen. Each
//! is one transaction of issue update, audit events and outbox changes.

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::{self};
use crate::error::conflict;
use crate::model::delivery::TaskWork;
use crate::model::event::{Acknowledged, Details, Handover, PriorityChanged, Reopened, Resolved};
use crate::model::sla::Target;
use crate::model::time::rfc3339;
use crate::model::{Issue, Notice, OwnerKind, Status, Ts};
use crate::store::{events, issues, outbox, NewDelivery};

use super::escalate::settle_sla;
use super::{apply, enqueue_page, existing, record, schedule, TRACKER_CHANNEL};

/// A person's change (`ack`, `assign`, `resolve`, `reopen` from the command
/// line) dated before the issue's last event is refused: written, it would
/// put the timeline out of order and make durations negative (an ack
/// "before" the page it answers). Ingest meets the same problem by clamping
/// a helpdesk's late-arriving time forward, because the helpdesk already
/// made the change; a person typing `--now` can pick a later time instead.
pub fn not_before_last_event(tx: &Tx, id: i64, now: Ts) -> Result<()> {
    let issue = existing(tx, id)?;
    let last = events::last_at(tx, id)?
        .unwrap_or(issue.created_at)
        .max(issue.created_at);
    if now < last {
        return Err(conflict(format!(
            "issue #{id} changed last at {}; a change dated {} (before that) is refused \
             (give a later --now)",
            rfc3339(last),
            rfc3339(now)
        )));
    }
    Ok(())
}

/// `ack`: a person takes the issue; escalation stops (until the chain's
/// acknowledgement timeout, if any, lapses).
pub fn acknowledge(tx: &Tx, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    // As stored: only the columns the ack changes are written back.
    let mut before = issue.clone();
    let chain = config.chain_for(&issue);
    match issue.esc.status {
        Status::Resolved => {
            return Err(conflict(format!(
                "issue #{id} is resolved; reopen it before acknowledging"
            )))
        }
        Status::Acknowledged => {
            let lapsed = chain
                .and_then(|c| engine::ack_expiry(&issue.esc, c))
                .is_some_and(|t| t <= now);
            if !lapsed {
                return Err(conflict(format!(
                    "issue #{id} is already acknowledged by {} (use `escalate assign {id} --to …` \
                     to hand it over)",
                    issue.acked_by.as_deref().unwrap_or("someone")
                )));
            }
        }
        Status::Open => {}
    }
    // The ack meets the response target first: acting at the deadline is in
    // time, so this must not be preceded by a catch-up that would see the
    // deadline pass at this same instant.
    settle_sla(tx, &mut issue, &[Target::Response], now)?;
    // Bring an overdue issue to where its schedule says it is first (as if
    // a check had run just before the ack): the level taken and the events
    // are then right, and a lapse of this ack resumes from that level. The
    // pages this enqueues are cancelled at delivery: someone owns it now.
    if let Some(c) = chain {
        if issue.next_due_at.is_some_and(|t| t <= now) {
            let decision = engine::advance(&issue.esc, c, now);
            apply(tx, config, &mut issue, &decision, now)?;
            // `apply` saved the whole row.
            before = issue.clone();
        }
    }
    let from = std::mem::replace(&mut issue.owner, by.to_string());
    issue.owner_kind = OwnerKind::Person;
    issue.esc = engine::acknowledged(&issue.esc, now);
    issue.acked_by = Some(by.to_string());
    issue.first_acked_at.get_or_insert(now);
    let expires = chain.and_then(|c| engine::next_due(&issue.esc, c));
    let acked = Acknowledged {
        owner_from: from,
        owner_to: by.to_string(),
        ack_expires_at: expires,
    };
    let level = Some(issue.esc.level);
    record(tx, id, now, level, by, Details::Acknowledged(acked))?;
    issue.next_due_at = schedule(&issue, chain);
    issues::save_changes(tx, &before, &issue)?;
    Ok(issue)
}

/// `assign`: give the issue to someone. Escalation continues until they ack.
/// A configured person is told (their contacts, notice `assigned`).
pub fn assign(tx: &Tx, config: &Config, id: i64, to: &str, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status == Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is resolved; reopen it before assigning"
        )));
    }
    let from = std::mem::replace(&mut issue.owner, to.to_string());
    issue.owner_kind = OwnerKind::Person;
    if issue.esc.status == Status::Acknowledged {
        issue.acked_by = Some(to.to_string());
    }
    let handover = Handover {
        owner_from: from,
        owner_to: to.to_string(),
    };
    let level = Some(issue.esc.level);
    record(tx, id, now, level, by, Details::Assigned(handover))?;
    issues::save(tx, &issue)?;
    tell_assignee(tx, config, &issue, to, now)?;
    Ok(issue)
}

/// An outbox row per contact of the assignee, when the config knows them.
/// Each assignment is its own notice: its `repeat` is the count of
/// assignments so far, so the unique key never swallows a later one.
fn tell_assignee(tx: &Tx, config: &Config, issue: &Issue, to: &str, now: Ts) -> Result<()> {
    let Some(person) = config.people.get(to) else {
        return Ok(());
    };
    let nth = events::for_issue(tx, issue.id)?
        .iter()
        .filter(|e| matches!(e.details, Details::Assigned(_)))
        .count();
    let role = super::role_at(config, &issue.chain, issue.esc.level);
    for contact in &person.contacts {
        let target = contact.target();
        outbox::enqueue(
            tx,
            &NewDelivery {
                issue_id: issue.id,
                notice: Notice::Assigned,
                payload: None,
                epoch: issue.esc.epoch,
                level: issue.esc.level,
                repeat: u32::try_from(nth).unwrap_or(u32::MAX),
                role: &role,
                channel: contact.channel(),
                target: &target,
                due_at: now,
                person: Some(to),
            },
            now,
        )?;
    }
    Ok(())
}

/// `resolve`: close the issue; pending notifications are cancelled.
pub fn resolve(tx: &Tx, id: i64, by: &str, note: Option<&str>, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    // As stored: only the columns the resolve changes are written back.
    let before = issue.clone();
    if issue.esc.status == Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is already resolved ({} by {})",
            issue.resolved_at.map(rfc3339).unwrap_or_default(),
            issue.resolved_by.as_deref().unwrap_or("unknown")
        )));
    }
    issue.esc.status = Status::Resolved;
    // Resolving ends a pause: nothing waits on the customer any more (the
    // `resolved` event says why the pause ended).
    issue.esc.hold = None;
    issue.pause = None;
    issue.resolved_at = Some(now);
    issue.resolved_by = Some(by.to_string());
    issue.next_due_at = None;
    let resolved = Resolved {
        note: note.map(str::to_string),
        owner: issue.owner.clone(),
    };
    let level = Some(issue.esc.level);
    record(tx, id, now, level, by, Details::Resolved(resolved))?;
    settle_sla(tx, &mut issue, &[Target::Response, Target::Resolution], now)?;
    issues::save_changes(tx, &before, &issue)?;
    // Nothing decided before the resolve is sent after it (nor after a
    // reopen, which starts a new escalation).
    outbox::cancel_notifications(tx, id)?;
    // A task already made is closed with a note; one not made yet is not
    // needed any more.
    if issue.edge.task.is_none() {
        outbox::cancel_task_request(tx, id)?;
    }
    if let Some(tracker) = issue.edge.task.as_ref().map(|t| t.tracker.clone()) {
        let comment = match note {
            Some(n) => format!("Resolved in escalate by {by} at {}: {n}", rfc3339(now)),
            None => format!("Resolved in escalate by {by} at {}.", rfc3339(now)),
        };
        let payload = TaskWork {
            comment,
            ..TaskWork::default()
        }
        .to_payload();
        outbox::enqueue(
            tx,
            &NewDelivery {
                issue_id: id,
                notice: Notice::TaskClose,
                payload: Some(&payload),
                epoch: issue.esc.epoch,
                level: 0,
                repeat: 0,
                role: "",
                channel: TRACKER_CHANNEL,
                target: &tracker,
                due_at: now,
                person: None,
            },
            now,
        )?;
    }
    Ok(issue)
}

/// `reopen`: escalation restarts at level 1 in a new epoch.
pub fn reopen(tx: &Tx, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status != Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is not resolved (it is {})",
            issue.esc.status.as_str()
        )));
    }
    let chain = config.chain_for(&issue).ok_or_else(|| {
        crate::error::usage(format!(
            "issue #{id} is on chain `{}`, which is no longer in the config; \
             add it back before reopening",
            issue.chain
        ))
    })?;
    // One open issue per helpdesk ticket: a newer issue may have opened for
    // the same ticket since this one was resolved.
    if let (Some(source), Some(ext)) = (&issue.edge.source, &issue.edge.external_id) {
        if let Some(other) = issues::by_source(tx, source, ext)? {
            if other.id != id && other.esc.status != Status::Resolved {
                return Err(conflict(format!(
                    "issue #{} is open for the same {source} ticket {ext}; resolve it \
                     before reopening #{id}",
                    other.id
                )));
            }
        }
    }
    let engine::Started { state: esc, page } = engine::start(chain, now, issue.esc.epoch + 1);
    issue.esc = esc;
    let reach = super::oncall::reach(tx, config, &page.role, now)?;
    super::escalate::take_owner(&mut issue, &page.role, &reach);
    issue.acked_by = None;
    issue.resolved_at = None;
    issue.resolved_by = None;
    // SLA outcomes are per issue and were settled at resolve: a reopen
    // restarts escalation, not the SLA clocks.
    issue.next_due_at = schedule(&issue, Some(chain));
    let reopened = Reopened {
        epoch: issue.esc.epoch,
        owner: issue.owner.clone(),
    };
    record(tx, id, now, Some(1), by, Details::Reopened(reopened))?;
    issues::save(tx, &issue)?;
    enqueue_page(tx, config, id, &page, &reach, now)?;
    Ok(issue)
}

/// `priority ID P`: the issue's SLA policy is picked again by its new
/// priority.
pub fn set_priority(
    tx: &Tx,
    config: &Config,
    id: i64,
    priority: &str,
    by: &str,
    now: Ts,
) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    reprioritize(
        tx,
        config,
        &mut issue,
        Some(priority.trim().to_string()),
        by,
        now,
    )?;
    Ok(issue)
}

/// A new priority for `issue` (from `priority` or a helpdesk update): the
/// SLA targets are re-evaluated from creation under the policy it picks, as
/// Zendesk does. Running clocks take the new instants and met or breached
/// ones keep their outcome (`sla::rearm`); escalation waits follow the
/// policy's calendar from the schedule's anchor. Recorded as
/// `priority_changed`.
pub(super) fn reprioritize(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    to: Option<String>,
    by: &str,
    now: Ts,
) -> Result<()> {
    let from = std::mem::replace(&mut issue.edge.priority, to.clone());
    let chain = config.chain_for(issue);
    if issue.esc.status != Status::Resolved {
        if let Some(c) = chain {
            issue.sla = crate::engine::sla::rearm(
                &issue.sla,
                &c.sla,
                issue.created_at,
                issue.first_acked_at,
            );
        }
        issue.next_due_at = schedule(issue, chain);
    }
    let details = Details::PriorityChanged(PriorityChanged {
        from,
        to,
        policy: chain.and_then(|c| c.policy),
    });
    record(tx, issue.id, now, Some(issue.esc.level), by, details)?;
    issues::save(tx, issue)
}
