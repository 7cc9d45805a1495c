//! `[checker]` → [`Checker`]: how often `status` expects the cron job to
//! have run `check`; `[digest]` → [`Digest`]: what the daily digest flags.

use chrono::TimeDelta;

use super::error::{ConfigError, Source};
use super::raw::{RawChecker, RawDigest};
use super::{Checker, Digest, MAX_WAIT_HOURS};

/// The `[checker]` section; the default interval when it is absent.
pub(super) fn convert(raw: Option<RawChecker>, src: &Source) -> Result<Checker, ConfigError> {
    let Some(m) = raw.and_then(|c| c.expected_interval_minutes) else {
        return Ok(Checker::default());
    };
    let v = *m.get_ref();
    if !v.is_finite() || v <= 0.0 || v > MAX_WAIT_HOURS * 60.0 {
        return Err(src.at(
            m.span(),
            format!(
                "[checker] expected_interval_minutes must be more than 0 and \
                 at most a year (got {v})"
            ),
        ));
    }
    Ok(Checker {
        expected_interval: TimeDelta::milliseconds((v * 60_000.0).round() as i64),
    })
}

/// The `[digest]` section; defaults when it is absent.
pub(super) fn digest(raw: Option<RawDigest>, src: &Source) -> Result<Digest, ConfigError> {
    let Some(h) = raw.and_then(|d| d.long_pause_hours) else {
        return Ok(Digest::default());
    };
    let v = *h.get_ref();
    if !v.is_finite() || v <= 0.0 || v > MAX_WAIT_HOURS {
        return Err(src.at(
            h.span(),
            format!("[digest] long_pause_hours must be more than 0 and at most a year (got {v})"),
        ));
    }
    Ok(Digest {
        long_pause: TimeDelta::milliseconds((v * 3_600_000.0).round() as i64),
    })
}
