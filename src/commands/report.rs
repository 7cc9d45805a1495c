//! `escalate report`: what happened in a window (the last `--days N`, 7 by
//! default, ending at the command's clock, or `--since`/`--until`), for all
//! chains or one. Prints markdown, JSON or CSV; `--mail-to` sends the
//! markdown as a plain-text email through `[email]` (quiet on stdout, like
//! `digest --mail-to`, unless a `--format` is asked for as well).

use anyhow::Result;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{Ctx, Io};
use crate::cli::{Format, ReportBy};
use crate::config::Config;
use crate::error::{not_sent, usage, Code};
use crate::model::Ts;
use crate::render::{self, report};
use crate::store::report::{self as queries, GroupBy, Scope};
use crate::text::one_line;

/// The command line of `report`, after clap.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Window length in days ending at `until` (default 7); not with `since`.
    pub days: Option<u32>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub chain: Option<String>,
    /// None: markdown, or nothing at all when mailing.
    pub format: Option<Format>,
    pub mail_to: Option<String>,
    pub by: Option<ReportBy>,
}

/// The last `days` days, printed in `format` (`escalate demo` calls this).
pub fn run(ctx: &Ctx, days: u32, format: Format, io: &mut Io) -> Result<Code> {
    run_with(
        ctx,
        &Options {
            days: Some(days),
            format: Some(format),
            ..Options::default()
        },
        io,
    )
}

pub fn run_with(ctx: &Ctx, opts: &Options, io: &mut Io) -> Result<Code> {
    let (since, until) = window(ctx.now, opts)?;
    if let Some(to) = &opts.mail_to {
        check_address(to)?;
    }
    let mut store = ctx.store_read()?;
    // The config names the chains a report lists even when they were quiet
    // and the roles of their levels; the report works without it (like
    // `list`), except for mailing, which needs [email].
    let config = if opts.mail_to.is_none() {
        Config::load(&ctx.config_path).ok()
    } else {
        let config = ctx.config()?;
        if config.email.is_none() {
            return Err(usage(format!(
                "--mail-to needs an [email] section in {} (SMTP relay and sender)",
                ctx.config_path.display()
            )));
        }
        Some(config)
    };
    let chain = opts.chain.as_deref();
    if let Some(name) = chain {
        let configured = config.as_ref().is_some_and(|c| c.chain(name).is_some());
        if !configured && !store.read(|tx| queries::chain_has_issues(tx, name))? {
            return Err(usage(format!(
                "unknown chain `{}`: not in {} and no issue was ever filed on it",
                name.escape_debug(),
                ctx.config_path.display()
            )));
        }
    }
    let roles = report::chain_roles(config.as_ref(), chain);
    let scope = Scope {
        since,
        until,
        chain,
    };
    let by = match opts.by {
        None | Some(ReportBy::Chain) => GroupBy::Chain,
        Some(ReportBy::Priority) => GroupBy::Priority,
        Some(ReportBy::Source) => GroupBy::Source,
        Some(ReportBy::Tag) => GroupBy::Tag,
        Some(ReportBy::Route) => GroupBy::Route,
    };
    // Durations are counted on each issue's calendar (from the config; wall
    // time for a chain it does not know).
    let mut clocks = report::ReportClocks::new(config.as_ref());
    // Fold the events written since the last report into the rollups, in a
    // short write transaction of its own (the writers never do: `check`
    // pays nothing for them), and only when there is something to fold, so
    // a current report never takes the write lock, and it never waits for
    // it: a writer holding it makes the report read the event log instead.
    // Best effort: a file we may not write, or the lock taken, leaves them
    // behind, and the queries then read the event log, as they do when an
    // event lands between this fold and the read (same figures, slower).
    if !store.read(crate::store::rollups::current).unwrap_or(true) {
        let _ = store.write_if_free(crate::store::rollups::catch_up);
    }
    let data = store.read(|tx| queries::collect_by(tx, &scope, report::TOP, by, &mut clocks))?;
    let built = report::build(&scope, data, &roles, &mut clocks);

    if let (Some(to), Some(config)) = (&opts.mail_to, &config) {
        if let Some(email) = &config.email {
            let body = report::markdown(&built);
            crate::notify::email::send_text(
                email,
                config.delivery.timeout,
                to,
                &report::subject(&scope),
                &body,
            )
            .map_err(|e| not_sent("report", one_line(&e)))?;
            writeln!(io.err, "report mailed to {to}")?;
        }
    }
    // When mailing, stdout stays empty (the stderr line above says where it
    // went, as `digest` does) unless a --format asks for a copy.
    let format = match (opts.format, &opts.mail_to) {
        (Some(f), _) => Some(f),
        (None, None) => Some(Format::Markdown),
        (None, Some(_)) => None,
    };
    let text = match format {
        Some(Format::Markdown) => report::markdown(&built),
        Some(Format::Json) => render::json(&built)?,
        Some(Format::Csv) => report::csv(&built)?,
        None => String::new(),
    };
    write!(io.out, "{text}")?;
    Ok(Code::Ok)
}

/// [since, until) from the options: `--until` (default: now) and either
/// `--since` or `--days` (default 7) before it.
fn window(now: Ts, opts: &Options) -> Result<(Ts, Ts)> {
    let until = match &opts.until {
        Some(s) => parse_date("--until", s)?,
        None => now,
    };
    let since = match (&opts.since, opts.days) {
        (Some(_), Some(_)) => {
            return Err(usage("give --days or --since, not both"));
        }
        (Some(s), None) => parse_date("--since", s)?,
        (None, days) => {
            let days = days.unwrap_or(7);
            if days == 0 {
                return Err(usage("--days must be at least 1"));
            }
            until
                .checked_sub_signed(TimeDelta::days(i64::from(days)))
                .ok_or_else(|| usage(format!("--days {days} reaches before the calendar")))?
        }
    };
    if since >= until {
        return Err(usage(format!(
            "empty window: --since {} is not before --until {}",
            crate::model::time::rfc3339(since),
            crate::model::time::rfc3339(until)
        )));
    }
    Ok((since, until))
}

/// RFC 3339 (any offset, stored as UTC) or a bare date, meaning midnight UTC.
pub(super) fn parse_date(flag: &str, s: &str) -> Result<Ts> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        let d = d.with_timezone(&Utc);
        super::check_printable(flag, s, d)?;
        return Ok(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(midnight) = d.and_hms_opt(0, 0, 0) {
            let d = midnight.and_utc();
            super::check_printable(flag, s, d)?;
            return Ok(d);
        }
    }
    Err(usage(format!(
        "invalid {flag} `{}`: expected a date (2026-11-24, midnight UTC) or RFC 3339 \
         (2026-11-24T09:00:00Z)",
        s.escape_debug()
    )))
}

/// A plausible address (one `@`, something on both sides, no spaces): a
/// typo is a usage error caught before any work; the relay judges the rest.
fn check_address(to: &str) -> Result<()> {
    let ok = match to.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !to
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid --mail-to `{}`: expected an address such as leads@example.com",
            to.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_or_midnight_utc() {
        let d = parse_date("--since", "2026-11-02").expect("date");
        assert_eq!(crate::model::time::rfc3339(d), "2026-11-02T00:00:00Z");
        let t = parse_date("--since", "2026-11-02T10:30:00+01:00").expect("time");
        assert_eq!(crate::model::time::rfc3339(t), "2026-11-02T09:30:00Z");
        for bad in ["yesterday", "2026-13-01", "2026-11-02 10:00", ""] {
            let e = parse_date("--until", bad).expect_err(bad);
            assert!(e.to_string().contains("invalid --until"), "{e}");
        }
    }

    #[test]
    fn the_window_defaults_to_seven_days_and_must_not_be_empty() {
        let now = parse_date("x", "2026-11-09T09:00:00Z").expect("now");
        let (since, until) = window(now, &Options::default()).expect("window");
        assert_eq!(until, now);
        assert_eq!(until - since, TimeDelta::days(7));
        let opts = Options {
            since: Some("2026-11-09".into()),
            until: Some("2026-11-09".into()),
            ..Options::default()
        };
        let e = window(now, &opts).expect_err("empty");
        assert!(e.to_string().contains("empty window"), "{e}");
    }

    #[test]
    fn mail_addresses_are_checked_before_any_work() {
        assert!(check_address("leads@example.com").is_ok());
        for bad in [
            "",
            "leads",
            "@example.com",
            "leads@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
