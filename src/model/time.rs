//! Time helpers shared by every layer: the one JSON time format and the
//! human form of a duration.

use chrono::TimeDelta;

use super::Ts;

/// RFC 3339 in UTC, the one time format of JSON output and event details.
pub fn rfc3339(t: Ts) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Human form of a duration: `2d 3h`, `4h 5m`, `12m`, `40s`.
pub fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let body = if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if hours > 0 {
        if mins > 0 {
            format!("{hours}h {mins}m")
        } else {
            format!("{hours}h")
        }
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{}s", secs % 60)
    };
    format!("{sign}{body}")
}
