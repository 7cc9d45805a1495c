//! Times for people: local wall clock, and distance from `now`. (JSON uses
//! [`crate::model::time::rfc3339`], UTC, instead: scripts compare times.)

use chrono::Local;

use crate::model::time::human;
use crate::model::Ts;

/// A time for people: local wall clock with its offset.
pub fn local(t: Ts) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// "in 3h 5m" / "4m ago" relative to `now` (the command's clock).
pub fn relative(t: Ts, now: Ts) -> String {
    let d = t - now;
    if d.num_seconds() >= 0 {
        format!("in {}", human(d))
    } else {
        format!("{} ago", human(-d))
    }
}
