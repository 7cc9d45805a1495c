//! Applying an engine decision to an issue: owner changes, audit events and
//! outbox rows for each page, then the issue's SLA clocks up to now.

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::sla::{self};
use crate::engine::{Action, Decision, Page};
use crate::model::event::{AckExpired, Capped, Details, Escalated, SlaChanged};
use crate::model::sla::{Change, State, Target};
use crate::model::{Issue, Notice, OwnerKind, Ts};
use crate::store::issues;

use super::oncall::{self, Reach};
use super::{earliest, enqueue, enqueue_page, record, request_task, role_at, SYSTEM};

/// What applying a decision did.
#[derive(Debug, Default)]
pub struct Applied {
    pub pages: Vec<Page>,
    pub sla: Vec<Change>,
}

/// Apply an engine decision to an issue: events, owner changes, outbox rows,
/// then its SLA clocks up to `now`, then the new state.
pub fn apply(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    decision: &Decision,
    now: Ts,
) -> Result<Applied> {
    let applied = apply_unsaved(tx, config, issue, decision, now)?;
    issues::save(tx, issue)?;
    Ok(applied)
}

/// [`apply`] to an issue that was `before` in the store (as `check` read
/// it): only the columns that changed since are written.
pub fn apply_stored(
    tx: &Tx,
    config: &Config,
    before: &Issue,
    issue: &mut Issue,
    decision: &Decision,
    now: Ts,
) -> Result<Applied> {
    let applied = apply_unsaved(tx, config, issue, decision, now)?;
    issues::save_changes(tx, before, issue)?;
    Ok(applied)
}

/// Everything [`apply`] does but saving the issue.
pub(super) fn apply_unsaved(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    decision: &Decision,
    now: Ts,
) -> Result<Applied> {
    let mut pages = Vec::new();
    // The page that follows a lapsed acknowledgement re-notifies the level
    // the issue is at: its message says so, not "escalation".
    let mut lapsed_page = false;
    for action in &decision.actions {
        match action {
            Action::AckExpired { at } => {
                let from = std::mem::take(&mut issue.owner);
                issue.owner = role_at(config, &issue.chain, issue.esc.level);
                issue.owner_kind = OwnerKind::Role;
                let lapsed = AckExpired {
                    acked_by: issue.acked_by.clone(),
                    owner_from: from,
                    owner_to: issue.owner.clone(),
                    recorded_at: now,
                };
                let level = Some(issue.esc.level);
                record(
                    tx,
                    issue.id,
                    *at,
                    level,
                    SYSTEM,
                    Details::AckExpired(lapsed),
                )?;
                issue.acked_by = None;
                lapsed_page = true;
            }
            Action::Capped { from, to } => {
                let owner_from = issue.owner.clone();
                if issue.owner_kind == OwnerKind::Role {
                    issue.owner = role_at(config, &issue.chain, *to);
                }
                let capped = Capped {
                    from_level: *from,
                    to_level: *to,
                    reason: "chain has fewer levels now".to_string(),
                    owner_from,
                    owner_to: issue.owner.clone(),
                };
                record(
                    tx,
                    issue.id,
                    now,
                    Some(*to),
                    SYSTEM,
                    Details::Capped(capped),
                )?;
                // The new top level's role is told it now holds the issue,
                // once per cap (the outbox key holds the epoch and level).
                let role = role_at(config, &issue.chain, *to);
                if !role.is_empty() {
                    let page = Page {
                        epoch: issue.esc.epoch,
                        level: *to,
                        repeat: 0,
                        due_at: now,
                        role,
                    };
                    let reach = Reach::default();
                    enqueue(
                        tx,
                        config,
                        issue.id,
                        Notice::ChainShortened,
                        &page,
                        &reach,
                        now,
                    )?;
                }
            }
            Action::Page(page) => {
                let owner_from = issue.owner.clone();
                // Resolved now, at the decision: a late check pages whoever
                // is on call when it runs, the one who can act.
                let reach = oncall::reach(tx, config, &page.role, now)?;
                // Reaching a new level hands the issue to that level's role,
                // or to the person on call for it (an assignee who has not
                // acked is escalated past); a repeat keeps a person owner.
                if page.repeat == 0 || issue.owner_kind == OwnerKind::Role {
                    take_owner(issue, &page.role, &reach);
                }
                let late = now - page.due_at;
                let escalated = Escalated {
                    role: page.role.clone(),
                    repeat: page.repeat,
                    epoch: page.epoch,
                    due_at: page.due_at,
                    late_seconds: late.num_seconds(),
                    owner_from,
                    owner_to: issue.owner.clone(),
                    manual: false,
                    reason: None,
                    on_call: reach.person.clone(),
                    gap: reach.gap,
                };
                let details = Details::Escalated(escalated);
                record(tx, issue.id, now, Some(page.level), SYSTEM, details)?;
                if std::mem::take(&mut lapsed_page) {
                    enqueue(tx, config, issue.id, Notice::AckLapsed, page, &reach, now)?;
                } else {
                    enqueue_page(tx, config, issue.id, page, &reach, now)?;
                }
                if page.repeat == 0 {
                    request_task(tx, config, issue, page, now)?;
                }
                issue.max_level = issue.max_level.max(page.level);
                pages.push(page.clone());
            }
        }
    }
    issue.esc = decision.state.clone();
    let sla::Walked { changes, clocks } = sla::tick(&issue.sla, now);
    record_sla(tx, issue, &changes, now, Some(config))?;
    issue.sla = clocks;
    let due = earliest(decision.next_due, sla::next_due(&issue.sla));
    issue.next_due_at = earliest(due, super::pause_end(issue));
    Ok(Applied {
        pages,
        sla: changes,
    })
}

/// Record SLA changes as events at the instant each happened and, given a
/// config to `notify` with, tell the owner (the current level's role when a person owns
/// it) of at-risk and breached targets, and the chain's breach_notify roles
/// of breaches. Changes found while a person acts (ack, resolve) are
/// recorded but not sent: that person is acting on the issue now.
pub(super) fn record_sla(
    tx: &Tx,
    issue: &Issue,
    changes: &[Change],
    now: Ts,
    notify: Option<&Config>,
) -> Result<()> {
    for change in changes {
        let (state, due_at) = match *change {
            Change::AtRisk { due_at, .. } => (State::AtRisk, due_at),
            Change::Breached { at, .. } => (State::Breached, at),
            Change::Met { due_at, .. } => (State::Met, due_at),
        };
        let target = change.target();
        let details = SlaChanged {
            target: target.as_str().to_string(),
            due_at,
            left_seconds: (due_at - change.at()).num_seconds(),
            owner: issue.owner.clone(),
            recorded_at: now,
        };
        let details = match state {
            State::AtRisk => Details::AtRisk(details),
            State::Breached => Details::Breached(details),
            _ => Details::SlaMet(details),
        };
        record(
            tx,
            issue.id,
            change.at(),
            Some(issue.esc.level),
            SYSTEM,
            details,
        )?;
        let Some(config) = notify else { continue };
        if state == State::Met {
            continue;
        }
        let chain = config.chain_for(issue);
        let mut roles = vec![roles_first(config, issue)];
        // The owning person hears of it themselves (with their role's own
        // channels), when the config knows how to reach them.
        let owner = Reach {
            person: (issue.owner_kind == OwnerKind::Person
                && config.people.contains_key(&issue.owner))
            .then(|| issue.owner.clone()),
            gap: false,
        };
        if state == State::Breached {
            for r in chain.map(|c| c.sla.breach_notify.as_slice()).unwrap_or(&[]) {
                if !roles.contains(r) {
                    roles.push(r.clone());
                }
            }
        }
        for role in roles.into_iter().filter(|r| !r.is_empty()) {
            let page = Page {
                epoch: 0,
                level: issue.esc.level,
                repeat: 0,
                due_at,
                role,
            };
            let reach = if page.role == roles_first(config, issue) {
                owner.clone()
            } else {
                Reach::default()
            };
            enqueue(
                tx,
                config,
                issue.id,
                Notice::Sla(target, state),
                &page,
                &reach,
                now,
            )?;
        }
    }
    Ok(())
}

/// The role an SLA notice tells first: the owner's role (the current
/// level's, when a person owns the issue).
fn roles_first(config: &Config, issue: &Issue) -> String {
    match issue.owner_kind {
        OwnerKind::Role => issue.owner.clone(),
        OwnerKind::Person => role_at(config, &issue.chain, issue.esc.level),
    }
}

/// The issue's owner after a page of `role`: the person on call for it, or
/// the role itself.
pub(super) fn take_owner(issue: &mut Issue, role: &str, reach: &Reach) {
    match &reach.person {
        Some(p) => {
            issue.owner = p.clone();
            issue.owner_kind = OwnerKind::Person;
        }
        None => {
            issue.owner = role.to_string();
            issue.owner_kind = OwnerKind::Role;
        }
    }
}

/// Settle SLA targets because a person acted at `now`.
pub(super) fn settle_sla(tx: &Tx, issue: &mut Issue, targets: &[Target], now: Ts) -> Result<()> {
    let sla::Walked { changes, clocks } = sla::settle(&issue.sla, targets, now);
    record_sla(tx, issue, &changes, now, None)?;
    issue.sla = clocks;
    Ok(())
}
