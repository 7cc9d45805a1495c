//! Value checks shared by several sections: names, durations in hours,
//! email addresses, http(s) URLs. Each returns a message without a position;
//! the section that calls it knows the span and adds it.

use chrono::TimeDelta;

use super::secrets::redact_url;
use super::MAX_WAIT_HOURS;

/// Chain, role and tracker names are what other tables, commands and
/// messages refer to them by, so they are kept to a plain, short alphabet.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name `{name}` must be 1–64 characters of letters, digits, `_`, `-` or `.`"
        ))
    }
}

/// Hours (fractions allowed) → a duration in whole milliseconds. Anything
/// not finite, negative, or over [`MAX_WAIT_HOURS`] (366 days: longer is a
/// units mistake, not a policy) is refused, naming the bound; the value is
/// echoed through [`show_number`], so `1e300` never prints 300 digits.
pub(super) fn hours(h: f64, what: &str) -> Result<TimeDelta, String> {
    if !h.is_finite() {
        return Err(format!(
            "{what} must be a finite number of hours, not {}",
            show_number(h)
        ));
    }
    if h < 0.0 {
        return Err(format!(
            "{what} must not be negative (got {})",
            show_number(h)
        ));
    }
    if h > MAX_WAIT_HOURS {
        return Err(format!(
            "{what} must be at most {MAX_WAIT_HOURS} hours (a year), not {}",
            show_number(h)
        ));
    }
    Ok(TimeDelta::milliseconds((h * 3_600_000.0).round() as i64))
}

/// A number from the file as a short echo: plain when it is of a sensible
/// size (`0.25`, `-3`), scientific otherwise (`1e300`, `-2.5e20`, `1e-9`).
pub(super) fn show_number(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a == 0.0 || (1e-4..1e7).contains(&a) {
        let s = v.to_string();
        if s.len() <= 24 {
            return s;
        }
    }
    format!("{v:e}")
}

/// An address, bare (`ops@example.com`) or with a display name
/// (`Escalate <escalate@example.com>`), as a mail header carries it.
pub(super) fn check_address(a: &str) -> Result<(), String> {
    a.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("`{a}` is not an email address ({e})"))
}

pub fn check_http_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => Ok(()),
        Ok(_) => Err(format!("`{}` is not an http(s) URL", redact_url(url))),
        Err(e) => Err(format!("malformed URL `{}`: {e}", redact_url(url))),
    }
}
