//! Ingest effects: one ticket event from a helpdesk applied to its issue
//! (create, deduplicate, update, resolve, reopen), idempotent by the event's
//! key. An event refused for its own fault is refused before anything of it
//! is written (checked by `store::ingested::once`), so it leaves no trace.

use crate::store::Tx;
use anyhow::Result;
use serde_json::Value;

use crate::config::{Config, RouteInput, RouteMatch};
use crate::lifecycle::{self, record, Filing};
use crate::model::event::{Deduplicated, Details, Updated};
use crate::model::ticket::{self, Kind, TicketEvent};
use crate::model::{Edge, Issue, OwnerKind, Status, Ts};
use crate::store::{ingested, issues};

/// What one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Created(i64),
    /// A repeat `ticket.created` for an open issue.
    Deduplicated(i64),
    Updated(i64),
    Resolved(i64),
    Reopened(i64),
    /// A waiting status (`pending`, `on-hold`, `waiting`) paused it.
    Paused(i64),
    /// `open`/`new` ended its pause.
    Resumed(i64),
    /// Valid, but nothing to change (already resolved, same values).
    Unchanged(i64),
    /// The very same event was ingested before.
    Duplicate,
}

/// Apply one event inside `tx`. An `Err(message)` is the event's own fault
/// (unknown ticket, no route): nothing of it was written. Database errors
/// propagate as the outer error.
pub fn apply(
    tx: &Tx,
    config: &Config,
    ev: &TicketEvent,
    now: Ts,
) -> Result<Result<Effect, String>> {
    let applied = ingested::once(tx, &ev.key, now, || apply_inner(tx, config, ev, now))?;
    Ok(applied.unwrap_or(Ok(Effect::Duplicate)))
}

fn apply_inner(
    tx: &Tx,
    config: &Config,
    ev: &TicketEvent,
    now: Ts,
) -> Result<Result<Effect, String>> {
    // A source clock ahead of ours must not schedule the future.
    let at = ev.at.unwrap_or(now).min(now);
    let actor = ev
        .by
        .clone()
        .unwrap_or_else(|| format!("{}:{}", ev.source, "ingest"));
    let existing = issues::by_source(tx, &ev.source, &ev.external_id)?;
    let ticket = format!("{} ticket {}", ev.source, ev.external_id);
    match ev.kind {
        Kind::Created => match existing {
            Some(mut issue) if issue.esc.status != Status::Resolved => {
                let before = issue.clone();
                issue.edge.dedup_count += 1;
                let mut changed = merge(&mut issue, ev);
                let new_priority = take_priority(&mut issue, &before, &mut changed);
                let details = Details::Deduplicated(Deduplicated {
                    count: issue.edge.dedup_count,
                    changed,
                });
                let (when, level) = (at.max(issue.created_at), Some(issue.esc.level));
                record(tx, issue.id, when, level, &actor, details)?;
                issues::save_changes(tx, &before, &issue)?;
                if let Some(to) = new_priority {
                    super::act::reprioritize(tx, config, &mut issue, to, &actor, when)?;
                }
                Ok(Ok(Effect::Deduplicated(issue.id)))
            }
            _ => create(tx, config, ev, at, &actor),
        },
        Kind::Updated => {
            let Some(mut issue) = existing else {
                return Ok(Err(format!(
                    "unknown {ticket}: send its ticket.created first"
                )));
            };
            let status = ev.status.as_deref().map(str::to_ascii_lowercase);
            let closing = matches!(status.as_deref(), Some("solved" | "closed" | "resolved"));
            let opening = matches!(status.as_deref(), Some("open" | "new" | "reopened"));
            let reopening = opening && issue.esc.status == Status::Resolved;
            // Refused before anything is written (see `store::ingested`).
            if let Some(refusal) = reopening
                .then(|| cannot_reopen(config, issue.id, &issue.chain))
                .flatten()
            {
                return Ok(Err(refusal));
            }
            let before = issue.clone();
            let mut changed = merge(&mut issue, ev);
            let when = at.max(issue.created_at);
            let new_priority = take_priority(&mut issue, &before, &mut changed);
            if !changed.is_empty() {
                let details = Details::Updated(Updated {
                    changed: changed.clone(),
                });
                record(tx, issue.id, when, Some(issue.esc.level), &actor, details)?;
                // Only what the ticket changed: a title edit leaves the
                // status and SLA indexes alone.
                issues::save_changes(tx, &before, &issue)?;
            }
            if let Some(to) = new_priority {
                super::act::reprioritize(tx, config, &mut issue, to, &actor, when)?;
                changed.push("priority".to_string());
            }
            if let Some(who) = &ev.assignee {
                let owned = issue.owner_kind == OwnerKind::Person && issue.owner == *who;
                if issue.esc.status != Status::Resolved && !owned {
                    lifecycle::assign(tx, config, issue.id, who, &actor, when)?;
                    changed.push("assignee".to_string());
                }
            }
            // A level event (resolve, reopen) keeps the issue's level
            // history in time order; field changes keep the helpdesk's time.
            if closing && issue.esc.status != Status::Resolved {
                let when = not_before_last_level(tx, &issue, at)?;
                lifecycle::resolve(tx, issue.id, &actor, ev.note.as_deref(), when)?;
                return Ok(Ok(Effect::Resolved(issue.id)));
            }
            if reopening {
                let when = not_before_last_level(tx, &issue, at)?;
                return reopen(tx, config, issue.id, &issue.chain, &actor, when);
            }
            let raw = ev.status.as_deref();
            if let Some(effect) = pause_by_status(tx, config, &mut issue, raw, &actor, when)? {
                return Ok(Ok(effect));
            }
            Ok(Ok(if changed.is_empty() {
                Effect::Unchanged(issue.id)
            } else {
                Effect::Updated(issue.id)
            }))
        }
        Kind::Resolved => {
            let Some(issue) = existing else {
                return Ok(Err(format!("unknown {ticket}: nothing to resolve")));
            };
            if issue.esc.status == Status::Resolved {
                return Ok(Ok(Effect::Unchanged(issue.id)));
            }
            let when = not_before_last_level(tx, &issue, at)?;
            lifecycle::resolve(tx, issue.id, &actor, ev.note.as_deref(), when)?;
            Ok(Ok(Effect::Resolved(issue.id)))
        }
        Kind::Reopened => {
            let Some(issue) = existing else {
                return Ok(Err(format!("unknown {ticket}: nothing to reopen")));
            };
            if issue.esc.status != Status::Resolved {
                return Ok(Ok(Effect::Unchanged(issue.id)));
            }
            let when = not_before_last_level(tx, &issue, at)?;
            reopen(tx, config, issue.id, &issue.chain, &actor, when)
        }
    }
}

/// The time an ingested change is recorded at: the helpdesk's own, but
/// never before the issue's last level event (its creation, an escalation
/// a check recorded while the webhook was late, a resolution). A
/// resolution that arrives after an escalation it preceded is recorded at
/// that escalation's time, so the issue's level history stays in time
/// order (the report's stays rely on it).
fn not_before_last_level(tx: &Tx, issue: &Issue, at: Ts) -> Result<Ts> {
    let last = crate::store::stays::last_level_event_at(tx, issue.id)?;
    Ok(at
        .max(issue.created_at)
        .max(last.unwrap_or(issue.created_at)))
}

/// A helpdesk status that means "waiting on the customer" pauses an open
/// issue; `open`/`new` ends the pause. Helpdesks spell these differently
/// (Zendesk `hold`, Jira `Waiting for customer`), so any case, and `-`,
/// `_` or a space between words, is accepted.
fn pause_by_status(
    tx: &Tx,
    config: &Config,
    issue: &mut Issue,
    status: Option<&str>,
    actor: &str,
    when: Ts,
) -> Result<Option<Effect>> {
    let Some(status) = status else {
        return Ok(None);
    };
    if issue.esc.status == Status::Resolved {
        return Ok(None);
    }
    let word = status.trim().to_ascii_lowercase().replace(['-', '_'], " ");
    let waiting = matches!(
        word.as_str(),
        "pending" | "hold" | "on hold" | "waiting" | "waiting on customer" | "waiting for customer"
    );
    let opening = matches!(word.as_str(), "open" | "new" | "reopened");
    let reason = format!("ticket status {status}");
    if waiting && issue.pause.is_none() {
        let hold = lifecycle::Hold {
            until: None,
            reason: Some(&reason),
        };
        super::pause::stop(tx, config, issue, hold, actor, when)?;
        issues::save(tx, issue)?;
        return Ok(Some(Effect::Paused(issue.id)));
    }
    if opening && issue.pause.is_some() {
        super::pause::release(tx, config, issue, actor, Some(&reason), when, when)?;
        issues::save(tx, issue)?;
        return Ok(Some(Effect::Resumed(issue.id)));
    }
    Ok(None)
}

fn reopen(
    tx: &Tx,
    config: &Config,
    id: i64,
    chain: &str,
    actor: &str,
    when: Ts,
) -> Result<Result<Effect, String>> {
    if let Some(refusal) = cannot_reopen(config, id, chain) {
        return Ok(Err(refusal));
    }
    lifecycle::reopen(tx, config, id, actor, when)?;
    Ok(Ok(Effect::Reopened(id)))
}

/// Why an issue on `chain` cannot be reopened, if it cannot.
fn cannot_reopen(config: &Config, id: i64, chain: &str) -> Option<String> {
    config
        .chain(chain)
        .is_none()
        .then(|| format!("cannot reopen issue #{id}: its chain `{chain}` is not in the config"))
}

fn create(
    tx: &Tx,
    config: &Config,
    ev: &TicketEvent,
    at: Ts,
    actor: &str,
) -> Result<Result<Effect, String>> {
    let fallback = match &ev.title {
        Some(_) => None,
        None => match ticket::fallback_title(ev) {
            Some(t) => Some(t),
            None => {
                return Ok(Err(format!(
                    "{} ticket {} opens a new issue: it needs a `title` (or a \
                     `description` to name it after)",
                    ev.source, ev.external_id
                )))
            }
        },
    };
    let title = ev
        .title
        .as_deref()
        .or(fallback.as_deref())
        .unwrap_or_default();
    let tags = ev.tags.clone().unwrap_or_default();
    let (chain, route) = match &ev.chain {
        Some(name) => match config.chain(name) {
            Some(c) => (c, None),
            None => return Ok(Err(format!("unknown chain `{name}`"))),
        },
        None => {
            let input = RouteInput {
                source: &ev.source,
                priority: ev.priority.as_deref(),
                tags: &tags,
                title,
            };
            let Some(RouteMatch { route, .. }) = config.route(&input) else {
                return Ok(Err(format!(
                    "no route matches (source {}, priority {}, tags [{}]) and the event \
                     names no chain; add a catch-all [[routes]]",
                    ev.source,
                    ev.priority.as_deref().unwrap_or("none"),
                    tags.join(", ")
                )));
            };
            match config.chain(&route.chain) {
                Some(c) => (c, Some(route)),
                None => return Ok(Err(format!("unknown chain `{}`", route.chain))),
            }
        }
    };
    let mut details = ev.extra.clone();
    if let Some(status) = &ev.status {
        details.insert("status".into(), Value::from(status.clone()));
    }
    let filing = Filing {
        title,
        description: ev.description.as_deref(),
        external_ref: Some(&ev.external_id),
        edge: Edge {
            source: Some(ev.source.clone()),
            external_id: Some(ev.external_id.clone()),
            priority: ev.priority.clone(),
            tags,
            details,
            route: route.map(|r| r.name.clone()),
            ..Edge::default()
        },
        owner: ev
            .assignee
            .as_deref()
            .or_else(|| route.and_then(|r| r.owner.as_deref())),
    };
    let id = lifecycle::create_id(tx, config, chain, &filing, actor, at)?;
    Ok(Ok(Effect::Created(id)))
}

/// A new priority is its own audit event (`priority_changed`, with the SLA
/// policy picked again), not part of `updated`/`deduplicated`: take it back
/// out of what `merge` did, and return it for [`super::act::reprioritize`].
fn take_priority(
    issue: &mut Issue,
    before: &Issue,
    changed: &mut Vec<String>,
) -> Option<Option<String>> {
    changed.iter().any(|c| c == "priority").then(|| {
        changed.retain(|c| c != "priority");
        std::mem::replace(&mut issue.edge.priority, before.edge.priority.clone())
    })
}

/// Merge the event's fields into the issue; the names of what changed.
fn merge(issue: &mut Issue, ev: &TicketEvent) -> Vec<String> {
    let mut changed = Vec::new();
    if let Some(t) = &ev.title {
        if *t != issue.title {
            issue.title = t.clone();
            changed.push("title".to_string());
        }
    }
    if ev.description.is_some() && ev.description != issue.description {
        issue.description = ev.description.clone();
        changed.push("description".to_string());
    }
    if ev.priority.is_some() && ev.priority != issue.edge.priority {
        issue.edge.priority = ev.priority.clone();
        changed.push("priority".to_string());
    }
    if let Some(tags) = &ev.tags {
        if *tags != issue.edge.tags {
            issue.edge.tags = tags.clone();
            changed.push("tags".to_string());
        }
    }
    let mut extra = ev.extra.clone();
    if let Some(status) = &ev.status {
        extra.insert("status".into(), Value::from(status.clone()));
    }
    for (k, v) in extra {
        if issue.edge.details.get(&k) != Some(&v) {
            changed.push(k.clone());
            issue.edge.details.insert(k, v);
        }
    }
    changed
}

#[cfg(test)]
mod tests;
