//! Issue state transitions inside one transaction: engine decisions and
//! operator actions become issue updates, audit events and outbox rows,
//! written together so a decision and its notifications commit or vanish as
//! one.

use anyhow::Result;
use rusqlite::Transaction;
use serde_json::json;

use crate::config::{Chain, Config};
use crate::engine::sla::{self, Change, Target};
use crate::engine::{self, Action, Decision, Page, Status, Ts};
use crate::error::{conflict, no_such_issue};
use crate::model::time::rfc3339;
use crate::store::{
    events, issues, outbox, Edge, EventKind, Issue, NewDelivery, NewIssue, Notice, OwnerKind,
};

/// The actor recorded for what escalate itself decides.
pub const SYSTEM: &str = "escalate";

/// Fields of a new issue.
#[derive(Default)]
pub struct Filing<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub external_ref: Option<&'a str>,
    /// Source ticket, priority, tags, route.
    pub edge: Edge,
    /// A person who owns it from the start (escalation continues until an
    /// ack, as with `assign`).
    pub owner: Option<&'a str>,
}

/// File an issue on `chain`: level 1 owns it and is notified.
pub fn create(
    tx: &Transaction,
    config: &Config,
    chain: &Chain,
    filing: &Filing,
    actor: &str,
    now: Ts,
) -> Result<Issue> {
    let (esc, page) = engine::start(chain, now, 0);
    let clocks = sla::start(&chain.sla, now);
    let next_due = earliest(engine::next_due(&esc, chain), sla::next_due(&clocks));
    issues::ensure_chain(tx, &chain.name, &chain.fingerprint())?;
    let id = issues::insert(
        tx,
        &NewIssue {
            chain: &chain.name,
            title: filing.title,
            description: filing.description,
            external_ref: filing.external_ref,
            esc: &esc,
            owner: &page.role,
            created_at: now,
            next_due_at: next_due,
            sla: &clocks,
            edge: &filing.edge,
        },
    )?;
    let mut details = json!({
        "chain": chain.name,
        "title": filing.title,
        "ref": filing.external_ref,
        "owner": page.role,
    });
    if let Some(source) = &filing.edge.source {
        details["source"] = json!(source);
        details["external_id"] = json!(filing.edge.external_id);
    }
    if let Some(route) = &filing.edge.route {
        details["route"] = json!(route);
    }
    events::append(tx, id, now, EventKind::Created, Some(1), actor, &details)?;
    enqueue_page(tx, config, id, &page, now)?;
    let mut issue =
        issues::get(tx, id)?.ok_or_else(|| anyhow::anyhow!("issue {id} vanished after insert"))?;
    if let Some(owner) = filing.owner {
        issue.owner = owner.to_string();
        issue.owner_kind = OwnerKind::Person;
        events::append(
            tx,
            id,
            now,
            EventKind::Assigned,
            Some(1),
            actor,
            &json!({ "owner_from": page.role, "owner_to": owner }),
        )?;
        issues::save(tx, &issue)?;
    }
    Ok(issue)
}

/// When an issue next needs a check: its next escalation step or the next
/// instant one of its SLA clocks changes, whichever comes first.
pub fn schedule(issue: &Issue, chain: Option<&Chain>) -> Option<Ts> {
    earliest(
        chain.and_then(|c| engine::next_due(&issue.esc, c)),
        sla::next_due(&issue.sla),
    )
}

fn earliest(a: Option<Ts>, b: Option<Ts>) -> Option<Ts> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Enqueue one outbox row per contact of the page's role; returns how many
/// were new (a page decided twice enqueues nothing the second time).
pub fn enqueue_page(
    tx: &Transaction,
    config: &Config,
    issue_id: i64,
    page: &Page,
    now: Ts,
) -> Result<u32> {
    enqueue(tx, config, issue_id, Notice::Page, page, now)
}

fn enqueue(
    tx: &Transaction,
    config: &Config,
    issue_id: i64,
    notice: Notice,
    page: &Page,
    now: Ts,
) -> Result<u32> {
    let mut n = 0;
    for contact in config.contacts(&page.role) {
        let target = contact.target();
        let fresh = outbox::enqueue(
            tx,
            &NewDelivery {
                issue_id,
                notice,
                payload: None,
                epoch: page.epoch,
                level: page.level,
                repeat: page.repeat,
                role: &page.role,
                channel: contact.channel(),
                target: &target,
                due_at: page.due_at,
            },
            now,
        )?;
        n += u32::from(fresh);
    }
    Ok(n)
}

/// What applying a decision did.
#[derive(Debug, Default)]
pub struct Applied {
    pub pages: Vec<Page>,
    pub sla: Vec<Change>,
}

/// Apply an engine decision to an issue: events, owner changes, outbox rows,
/// then its SLA clocks up to `now`, then the new state.
pub fn apply(
    tx: &Transaction,
    config: &Config,
    issue: &mut Issue,
    decision: &Decision,
    now: Ts,
) -> Result<Applied> {
    let mut pages = Vec::new();
    for action in &decision.actions {
        match action {
            Action::AckExpired { at } => {
                let from = std::mem::take(&mut issue.owner);
                issue.owner = role_at(config, &issue.chain, issue.esc.level);
                issue.owner_kind = OwnerKind::Role;
                events::append(
                    tx,
                    issue.id,
                    *at,
                    EventKind::AckExpired,
                    Some(issue.esc.level),
                    SYSTEM,
                    &json!({
                        "acked_by": issue.acked_by,
                        "owner_from": from,
                        "owner_to": issue.owner,
                        "recorded_at": rfc3339(now),
                    }),
                )?;
                issue.acked_by = None;
            }
            Action::Capped { from, to } => {
                let owner_from = issue.owner.clone();
                if issue.owner_kind == OwnerKind::Role {
                    issue.owner = role_at(config, &issue.chain, *to);
                }
                events::append(
                    tx,
                    issue.id,
                    now,
                    EventKind::Capped,
                    Some(*to),
                    SYSTEM,
                    &json!({
                        "from_level": from,
                        "to_level": to,
                        "reason": "chain has fewer levels now",
                        "owner_from": owner_from,
                        "owner_to": issue.owner,
                    }),
                )?;
            }
            Action::Page(page) => {
                let owner_from = issue.owner.clone();
                // Reaching a new level hands the issue to that level's role
                // (an assignee who has not acked is escalated past); a repeat
                // keeps a person owner.
                if page.repeat == 0 || issue.owner_kind == OwnerKind::Role {
                    issue.owner = page.role.clone();
                    issue.owner_kind = OwnerKind::Role;
                }
                let late = now - page.due_at;
                events::append(
                    tx,
                    issue.id,
                    now,
                    EventKind::Escalated,
                    Some(page.level),
                    SYSTEM,
                    &json!({
                        "role": page.role,
                        "repeat": page.repeat,
                        "epoch": page.epoch,
                        "due_at": rfc3339(page.due_at),
                        "late_seconds": late.num_seconds(),
                        "owner_from": owner_from,
                        "owner_to": issue.owner,
                    }),
                )?;
                enqueue_page(tx, config, issue.id, page, now)?;
                if page.repeat == 0 {
                    request_task(tx, config, issue, page, now)?;
                }
                issue.max_level = issue.max_level.max(page.level);
                pages.push(page.clone());
            }
        }
    }
    issue.esc = decision.state.clone();
    let (changes, clocks) = sla::tick(&issue.sla, now);
    record_sla(tx, issue, &changes, now, Some(config))?;
    issue.sla = clocks;
    issue.next_due_at = earliest(decision.next_due, sla::next_due(&issue.sla));
    issues::save(tx, issue)?;
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
fn record_sla(
    tx: &Transaction,
    issue: &Issue,
    changes: &[Change],
    now: Ts,
    notify: Option<&Config>,
) -> Result<()> {
    for change in changes {
        let (kind, state, due_at) = match *change {
            Change::AtRisk { due_at, .. } => (EventKind::AtRisk, sla::State::AtRisk, due_at),
            Change::Breached { at, .. } => (EventKind::Breached, sla::State::Breached, at),
            Change::Met { due_at, .. } => (EventKind::SlaMet, sla::State::Met, due_at),
        };
        let target = change.target();
        events::append(
            tx,
            issue.id,
            change.at(),
            kind,
            Some(issue.esc.level),
            SYSTEM,
            &json!({
                "target": target.as_str(),
                "due_at": rfc3339(due_at),
                "left_seconds": (due_at - change.at()).num_seconds(),
                "owner": issue.owner,
                "recorded_at": rfc3339(now),
            }),
        )?;
        let Some(config) = notify else { continue };
        if state == sla::State::Met {
            continue;
        }
        let chain = config.chain(&issue.chain);
        let mut roles = vec![match issue.owner_kind {
            OwnerKind::Role => issue.owner.clone(),
            OwnerKind::Person => role_at(config, &issue.chain, issue.esc.level),
        }];
        if state == sla::State::Breached {
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
            enqueue(tx, config, issue.id, Notice::Sla(target, state), &page, now)?;
        }
    }
    Ok(())
}

/// The outbox channel of engineering-task work.
pub const TRACKER_CHANNEL: &str = "tracker";

/// Reaching a level with `create_task` asks for an engineering task — once
/// per issue — through the outbox (created after commit, retried like any
/// delivery, looked up before created so a crash cannot duplicate it). The
/// task's text is written now, with the issue as it stands.
fn request_task(
    tx: &Transaction,
    config: &Config,
    issue: &Issue,
    page: &Page,
    now: Ts,
) -> Result<()> {
    let Some(tracker) = config
        .chain(&issue.chain)
        .and_then(|c| c.level(page.level))
        .and_then(|l| l.create_task.clone())
    else {
        return Ok(());
    };
    if issue.edge.task.is_some() || outbox::task_target(tx, issue.id)?.is_some() {
        return Ok(());
    }
    let mut body = format!(
        "escalate escalated issue #{} to level {} ({}) of chain `{}`.\n\n",
        issue.id, page.level, page.role, issue.chain
    );
    body.push_str(&format!("- Opened: {}\n", rfc3339(issue.created_at)));
    if let (Some(source), Some(ext)) = (&issue.edge.source, &issue.edge.external_id) {
        body.push_str(&format!("- Source: {source} ticket {ext}\n"));
    }
    if let Some(r) = &issue.external_ref {
        body.push_str(&format!("- Reference: {r}\n"));
    }
    if let Some(p) = &issue.edge.priority {
        body.push_str(&format!("- Priority: {p}\n"));
    }
    if !issue.edge.tags.is_empty() {
        body.push_str(&format!("- Tags: {}\n", issue.edge.tags.join(", ")));
    }
    body.push_str(&format!("- Owner: {}\n", issue.owner));
    for (name, clock) in [
        ("response", issue.sla.response),
        ("resolution", issue.sla.resolution),
    ] {
        if let Some(c) = clock {
            body.push_str(&format!(
                "- SLA {name}: {} (due {})\n",
                c.state.as_str(),
                rfc3339(c.due_at)
            ));
        }
    }
    body.push_str("\nLevel history:\n");
    for e in events::for_issue(tx, issue.id)? {
        if e.kind == "created" || e.kind == "escalated" {
            let role = e
                .details
                .get("role")
                .or_else(|| e.details.get("owner"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            body.push_str(&format!(
                "- {} level {} {role}\n",
                rfc3339(e.at),
                e.level.unwrap_or(1)
            ));
        }
    }
    if let Some(d) = &issue.description {
        body.push_str(&format!("\n{d}\n"));
    }
    body.push_str(&format!(
        "\nTimeline: `escalate show {}`. Resolving the issue in escalate closes this task.\n",
        issue.id
    ));
    let payload = json!({
        "marker": format!("escalate-{}-{}", issues::instance(tx)?, issue.id),
        "title": format!("[escalate #{}] {}", issue.id, issue.title),
        "body": body,
    })
    .to_string();
    outbox::enqueue(
        tx,
        &NewDelivery {
            issue_id: issue.id,
            notice: Notice::TaskCreate,
            payload: Some(&payload),
            // Per escalation: a request cancelled by a resolve does not
            // block a new one after a reopen.
            epoch: page.epoch,
            level: 0,
            repeat: 0,
            role: &page.role,
            channel: TRACKER_CHANNEL,
            target: &tracker,
            due_at: now,
        },
        now,
    )?;
    Ok(())
}

/// Settle SLA targets because a person acted at `now`.
fn settle_sla(tx: &Transaction, issue: &mut Issue, targets: &[Target], now: Ts) -> Result<()> {
    let (changes, clocks) = sla::settle(&issue.sla, targets, now);
    record_sla(tx, issue, &changes, now, None)?;
    issue.sla = clocks;
    Ok(())
}

fn role_at(config: &Config, chain: &str, level: u32) -> String {
    config
        .chain(chain)
        .and_then(|c| c.level(level))
        .map(|l| l.role.clone())
        .unwrap_or_default()
}

/// Fetch an issue or fail with "unknown issue" (exit 4).
pub fn existing(tx: &Transaction, id: i64) -> Result<Issue> {
    issues::get(tx, id)?.ok_or_else(|| no_such_issue(format!("issue #{id} does not exist")))
}

/// `ack`: a person takes the issue; escalation stops (until the chain's
/// acknowledgement timeout, if any, lapses).
pub fn acknowledge(tx: &Transaction, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    let chain = config.chain(&issue.chain);
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
        }
    }
    let from = std::mem::replace(&mut issue.owner, by.to_string());
    issue.owner_kind = OwnerKind::Person;
    issue.esc.status = Status::Acknowledged;
    issue.esc.acked_at = Some(now);
    issue.acked_by = Some(by.to_string());
    issue.first_acked_at.get_or_insert(now);
    let expires = chain.and_then(|c| engine::next_due(&issue.esc, c));
    events::append(
        tx,
        id,
        now,
        EventKind::Acknowledged,
        Some(issue.esc.level),
        by,
        &json!({
            "owner_from": from,
            "owner_to": by,
            "ack_expires_at": expires.map(rfc3339),
        }),
    )?;
    issue.next_due_at = schedule(&issue, chain);
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// `assign`: give the issue to someone. Escalation continues until they ack.
pub fn assign(tx: &Transaction, id: i64, to: &str, by: &str, now: Ts) -> Result<Issue> {
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
    events::append(
        tx,
        id,
        now,
        EventKind::Assigned,
        Some(issue.esc.level),
        by,
        &json!({ "owner_from": from, "owner_to": to }),
    )?;
    issues::save(tx, &issue)?;
    Ok(issue)
}

/// `resolve`: close the issue; pending notifications are cancelled.
pub fn resolve(tx: &Transaction, id: i64, by: &str, note: Option<&str>, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status == Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is already resolved ({} by {})",
            issue.resolved_at.map(rfc3339).unwrap_or_default(),
            issue.resolved_by.as_deref().unwrap_or("unknown")
        )));
    }
    issue.esc.status = Status::Resolved;
    issue.resolved_at = Some(now);
    issue.resolved_by = Some(by.to_string());
    issue.next_due_at = None;
    events::append(
        tx,
        id,
        now,
        EventKind::Resolved,
        Some(issue.esc.level),
        by,
        &json!({ "note": note, "owner": issue.owner }),
    )?;
    settle_sla(tx, &mut issue, &[Target::Response, Target::Resolution], now)?;
    issues::save(tx, &issue)?;
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
        let payload = json!({ "comment": comment }).to_string();
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
            },
            now,
        )?;
    }
    Ok(issue)
}

/// `reopen`: escalation restarts at level 1 in a new epoch.
pub fn reopen(tx: &Transaction, config: &Config, id: i64, by: &str, now: Ts) -> Result<Issue> {
    let mut issue = existing(tx, id)?;
    if issue.esc.status != Status::Resolved {
        return Err(conflict(format!(
            "issue #{id} is not resolved (it is {})",
            issue.esc.status.as_str()
        )));
    }
    let chain = config.chain(&issue.chain).ok_or_else(|| {
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
    let (esc, page) = engine::start(chain, now, issue.esc.epoch + 1);
    issue.esc = esc;
    issue.owner = page.role.clone();
    issue.owner_kind = OwnerKind::Role;
    issue.acked_by = None;
    issue.resolved_at = None;
    issue.resolved_by = None;
    // SLA outcomes are per issue and were settled at resolve: a reopen
    // restarts escalation, not the SLA clocks.
    issue.next_due_at = schedule(&issue, Some(chain));
    events::append(
        tx,
        id,
        now,
        EventKind::Reopened,
        Some(1),
        by,
        &json!({ "epoch": issue.esc.epoch, "owner": issue.owner }),
    )?;
    issues::save(tx, &issue)?;
    enqueue_page(tx, config, id, &page, now)?;
    Ok(issue)
}
