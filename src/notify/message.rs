//! Rendering of notifications into text. Channels share these words so a
//! page reads the same on every medium.

use crate::engine::{human, Ts};
use crate::store::Delivery;

/// "5m late", or "on time" within a minute of the due time.
pub fn lateness(d: &Delivery, now: Ts) -> String {
    let late = now - d.due_at;
    if late.num_seconds() < 60 {
        "on time".to_string()
    } else {
        format!("{} late", human(late))
    }
}

/// The one-line form, as the seed printed it, with the context a pager
/// needs: chain, how long the issue has been open, how late this page is.
pub fn line(d: &Delivery, now: Ts) -> String {
    let repeat = if d.repeat > 0 {
        format!(", repeat {}", d.repeat)
    } else {
        String::new()
    };
    format!(
        "[ESCALATION Level {}{repeat}] Issue #{}: '{}' -> {} ({}) [{}, open {}, {}]",
        d.level,
        d.issue_id,
        one_line(&d.title),
        d.role,
        d.target,
        d.chain,
        human(now - d.created_at),
        lateness(d, now)
    )
}

/// Titles are user input: keep a notification on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
