//! One module per subcommand: parse → load → call → print. This layer is the
//! only one that reads the clock, once per command.

mod ack;
mod assign;
mod check;
mod config;
mod create;
mod demo;
mod digest;
mod events;
mod ingest;
mod init;
mod list;
mod notify;
mod outbox;
mod reopen;
mod report;
mod resolve;
mod route;
mod show;
mod status;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command, ConfigCommand, NotifyCommand, RouteCommand};
use crate::config::Config;
use crate::error::{usage, Code, Error};
use crate::model::Ts;
use crate::store::{OpenMode, Store};

/// What every command needs: where things are and what time it is.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub config_path: PathBuf,
    pub db_path: PathBuf,
    pub now: Ts,
    pub busy_timeout: Duration,
}

impl Ctx {
    pub fn config(&self) -> Result<Config> {
        Ok(Config::load(&self.config_path).map_err(Error::from)?)
    }

    pub fn store(&self) -> Result<Store> {
        Store::open(&self.db_path, OpenMode::Existing, self.busy_timeout)
    }

    /// For commands that only read: a read-only database file still works.
    pub fn store_read(&self) -> Result<Store> {
        Store::open(&self.db_path, OpenMode::Read, self.busy_timeout)
    }
}

/// Where a command writes: data to `out`, diagnostics to `err`.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Io<'_> {
    /// A diagnostic line; a closed stderr is not worth failing over.
    pub fn warn(&mut self, msg: impl std::fmt::Display) {
        let _ = writeln!(self.err, "escalate: {msg}");
    }
}

/// Run a parsed command line; the exit code on success (0, or 3 when a
/// check needs a human).
pub fn run(cli: Cli) -> Result<Code> {
    crate::notify::install_crypto();
    let now = match &cli.global.now {
        Some(s) => parse_now(s)?,
        None => Utc::now(),
    };
    let secs = cli.global.busy_timeout;
    if !(secs.is_finite() && (0.0..=3600.0).contains(&secs)) {
        return Err(usage(format!(
            "--busy-timeout must be between 0 and 3600 seconds, not {secs}"
        )));
    }
    let ctx = Ctx {
        config_path: cli.global.config,
        db_path: cli.global.db,
        now,
        busy_timeout: Duration::from_secs_f64(secs),
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    // Everything on stderr is for people and may quote a peer or a title:
    // control characters are folded on the way out.
    let mut err = crate::text::TerminalWriter::new(stderr.lock());
    let mut io = Io {
        out: &mut out,
        err: &mut err,
    };
    match cli.command {
        Command::Init => init::run(&ctx, &mut io),
        Command::Create(args) => create::run(&ctx, &args, &mut io),
        Command::Ack { id, by } => ack::run(&ctx, &id, &by, &mut io),
        Command::Assign { id, to, by } => assign::run(&ctx, &id, &to, by.as_deref(), &mut io),
        Command::Resolve { id, by, note } => {
            resolve::run(&ctx, &id, by.as_deref(), note.as_deref(), &mut io)
        }
        Command::Reopen { id, by } => reopen::run(&ctx, &id, by.as_deref(), &mut io),
        Command::Check { dry_run } => check::run(&ctx, dry_run, &mut io),
        Command::List(args) => list::run(&ctx, &args, &mut io),
        Command::Show { id, json } => show::run(&ctx, &id, json, &mut io),
        Command::Report {
            days,
            since,
            until,
            chain,
            format,
            mail_to,
        } => {
            let opts = report::Options {
                days,
                since,
                until,
                chain,
                format,
                mail_to,
            };
            report::run_with(&ctx, &opts, &mut io)
        }
        Command::Config(ConfigCommand::Check) => config::check(&ctx, &mut io),
        Command::Demo => demo::run(&mut io),
        Command::Notify(NotifyCommand::Test { role }) => notify::test(&ctx, &role, &mut io),
        Command::Outbox(args) => outbox::run(&ctx, &args, &mut io),
        Command::Status { max_age, json } => status::run(&ctx, max_age, json, &mut io),
        Command::Digest(args) => digest::run(&ctx, &args, &mut io),
        Command::Events(args) => events::run(&ctx, &args, &mut io),
        Command::Ingest(args) => ingest::run(&ctx, &args, &mut io),
        Command::Route(RouteCommand::Test {
            source,
            priority,
            tags,
            title,
            event,
        }) => route::test(
            &ctx,
            &source,
            priority.as_deref(),
            &tags,
            &title,
            event.as_deref(),
            &mut io,
        ),
    }
}

/// `--now`: RFC 3339 with an explicit offset, stored as UTC.
pub fn parse_now(s: &str) -> Result<Ts> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            usage(format!(
                "invalid --now `{s}`: {e} (expected RFC 3339, e.g. 2026-11-24T09:00:00Z)"
            ))
        })
}

/// Issue ids: `12` or `#12`.
pub fn parse_id(s: &str) -> Result<i64> {
    let digits = s.trim().trim_start_matches('#');
    match digits.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(usage(format!(
            "invalid issue id `{s}`: expected a positive number such as 12"
        ))),
    }
}

/// Who did it when `--by` is not given: the login name, else "operator".
pub fn default_actor(by: Option<&str>) -> Result<String> {
    let who = match by {
        Some(b) => b.to_string(),
        None => std::env::var("USER")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "operator".to_string()),
    };
    check_actor(&who)?;
    Ok(who)
}

/// Names of people are free text, but not empty or multi-line.
pub fn check_actor(who: &str) -> Result<()> {
    if who.trim().is_empty() || who.chars().any(char::is_control) || who.chars().count() > 200 {
        return Err(usage(format!(
            "invalid name `{}`: give a non-empty single-line name of at most 200 characters",
            who.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_times_parse_or_fail_clearly() {
        assert_eq!(parse_id("12").ok(), Some(12));
        assert_eq!(parse_id("#7").ok(), Some(7));
        for bad in ["0", "-1", "abc", "", "1.5", "99999999999999999999"] {
            let e = parse_id(bad).expect_err(bad);
            assert!(e.to_string().contains("invalid issue id"), "{e}");
        }
        let t = parse_now("2026-03-29T03:30:00+02:00").expect("parses");
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        for bad in [
            "yesterday",
            "2026-03-29",
            "2026-03-29 01:30",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(parse_now(bad).is_err(), "{bad}");
        }
    }
}
