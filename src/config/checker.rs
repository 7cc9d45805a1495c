//! `[checker]` → [`Checker`]: how often `status` expects the cron job to
//! have run `check`.

use chrono::TimeDelta;

use super::error::{ConfigError, Source};
use super::raw::RawChecker;
use super::{Checker, MAX_WAIT_HOURS};

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
