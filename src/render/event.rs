//! Events in one line each, for the timeline of `show`. Matches on the typed
//! [`Details`], so a new event kind is a compile error here until it has
//! words.

use chrono::TimeDelta;

use crate::model::event::{DeliveryFailed, Details, Escalated, Moved, Unacknowledged};
use crate::model::time::{human, rfc3339};
use crate::model::Event;

/// One line describing an event.
pub fn describe(e: &Event) -> String {
    match &e.details {
        Details::Created(d) => format!("filed on {}, owner {}", d.chain, d.owner),
        Details::Escalated(d) if d.manual => {
            let on_call = d
                .on_call
                .as_deref()
                .map_or(String::new(), |p| format!(" ({p} on call)"));
            format!(
                "escalated to {}{on_call} by {}{}",
                d.role,
                e.actor,
                because(d.reason.as_deref())
            )
        }
        Details::Escalated(d) => escalated(d),
        Details::Notified(d) => format!("notified {} via {}", d.sent.role, d.sent.channel),
        Details::DeliveryFailed(d) => delivery_failed(d),
        Details::Acknowledged(_) => format!("acknowledged by {}", e.actor),
        Details::AckExpired(d) => format!(
            "acknowledgement by {} lapsed; owner back to {}",
            d.acked_by.as_deref().unwrap_or(""),
            d.owner_to
        ),
        Details::Assigned(d) => format!("assigned to {} (was {})", d.owner_to, d.owner_from),
        Details::Capped(d) => format!("chain shortened: level {} → {}", d.from_level, d.to_level),
        Details::Resolved(d) => match &d.note {
            Some(note) => format!("resolved by {}: {note}", e.actor),
            None => format!("resolved by {}", e.actor),
        },
        Details::Reopened(_) => format!("reopened by {}; escalation restarts at level 1", e.actor),
        Details::AtRisk(d) => format!("{} SLA at risk: due {}", d.target, rfc3339(d.due_at)),
        Details::Breached(d) => format!("{} SLA BREACHED (due {})", d.target, rfc3339(d.due_at)),
        Details::SlaMet(d) => format!(
            "{} SLA met, {} before the deadline",
            d.target,
            human(TimeDelta::seconds(d.left_seconds))
        ),
        Details::Updated(d) => format!("updated from the source: {}", list(&d.changed)),
        Details::Deduplicated(d) => format!(
            "created again at the source (count {}); changed: {}",
            d.count,
            list(&d.changed)
        ),
        Details::TaskCreated(d) => format!("task {} created in {}: {}", d.key, d.tracker, d.url),
        Details::TaskClosed(d) => format!(
            "task {} in {} commented on and closed",
            d.key.as_deref().unwrap_or(""),
            d.tracker
        ),
        Details::PriorityChanged(d) => {
            let policy = d.policy.map_or("the chain's own SLA".to_string(), |p| {
                format!("SLA policy {p}")
            });
            format!(
                "priority {} → {} by {}; {policy}, targets re-evaluated from creation",
                d.from.as_deref().unwrap_or("none"),
                d.to.as_deref().unwrap_or("none"),
                e.actor
            )
        }
        Details::Paused(d) => {
            let until = d
                .until
                .map_or(String::new(), |u| format!(" until {}", rfc3339(u)));
            let clocks = match d.stopped.len() {
                0 => "escalation stopped".to_string(),
                _ => format!("escalation and {} SLA stopped", list(&d.stopped)),
            };
            let why = d
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"));
            format!("paused by {}{until}; {clocks}{why}", e.actor)
        }
        Details::Resumed(d) => {
            let why = d
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"));
            format!(
                "resumed by {}{why} after {}; due times moved by {} of open time",
                e.actor,
                human(TimeDelta::seconds(d.paused_seconds)),
                human(TimeDelta::seconds(d.open_seconds))
            )
        }
        Details::Noted(d) => format!("note by {}: {}", e.actor, d.text),
        Details::Unacknowledged(d) => unacknowledged(d, &e.actor),
        Details::Moved(d) => moved(d, &e.actor),
        Details::Other(kind, _) => kind.as_str().to_string(),
    }
}

/// `: reason` when a person gave one.
fn because(reason: Option<&str>) -> String {
    reason.map_or(String::new(), |r| format!(": {r}"))
}

fn unacknowledged(d: &Unacknowledged, actor: &str) -> String {
    let next = d
        .next_due_at
        .map_or(String::new(), |t| format!("; next step due {}", rfc3339(t)));
    format!(
        "acknowledgement by {} withdrawn by {actor}; owner back to {}, escalation resumes{next}",
        d.acked_by.as_deref().unwrap_or("someone"),
        d.owner_to
    )
}

fn moved(d: &Moved, actor: &str) -> String {
    format!(
        "moved from chain {} to {} by {actor}; escalation restarts at level 1, owner {}{}",
        d.from,
        d.to,
        d.owner_to,
        because(d.reason.as_deref())
    )
}

fn escalated(d: &Escalated) -> String {
    let what = if d.repeat > 0 {
        format!("re-notified {} (repeat {})", d.role, d.repeat)
    } else {
        format!("escalated to {}", d.role)
    };
    // Under a minute late is the checker's normal cadence, not news.
    if d.late_seconds >= 60 {
        let late = human(TimeDelta::seconds(d.late_seconds));
        format!("{what}, {late} after it was due")
    } else {
        what
    }
}

fn delivery_failed(d: &DeliveryFailed) -> String {
    let tail = match d.retry_at {
        Some(at) if !d.dead => format!("retry at {}", rfc3339(at)),
        _ => "gave up".to_string(),
    };
    // Tracker work has no role to deliver to: name the tracker instead.
    let to = if d.sent.channel == "tracker" {
        format!("task work in tracker {}", d.sent.target)
    } else {
        format!("delivery to {} via {}", d.sent.role, d.sent.channel)
    };
    format!("{to} failed: {} ({tail})", d.error)
}

/// Names comma-joined ("nothing" when empty).
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}
