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
mod migrate;
mod notify;
mod oncall;
mod outbox;
mod own;
mod pause;
mod priority;
mod reopen;
mod report;
mod resolve;
mod route;
mod serve;
mod show;
mod simulate;
mod status;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Datelike, Utc};
use clap::CommandFactory;
use serde::Serialize;

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
    /// `now` was given (`--now`, `ESCALATE_NOW`), not read from the clock.
    pub fixed_now: bool,
}

impl Ctx {
    pub fn config(&self) -> Result<Config> {
        Ok(Config::load(&self.config_path).map_err(Error::from)?)
    }

    pub fn store(&self) -> Result<Store> {
        self.open(OpenMode::Existing)
    }

    /// For commands that only read: a read-only database file still works.
    pub fn store_read(&self) -> Result<Store> {
        self.open(OpenMode::Read)
    }

    /// For `init`: the database is created when missing.
    pub fn store_create(&self) -> Result<Store> {
        self.open(OpenMode::Create)
    }

    /// Open the store and pass on what it found worth a warning. Straight
    /// to stderr: every command opens its store here, before it has
    /// written anything, and `serve` has no `Io` at all.
    fn open(&self, mode: OpenMode) -> Result<Store> {
        // Once a process: `serve` opens a store per scheduled check.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let store = Store::open(&self.db_path, mode, self.busy_timeout)?;
        if !store.warnings().is_empty() && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            for w in store.warnings() {
                let _ = writeln!(std::io::stderr(), "escalate: {}", crate::text::terminal(w));
            }
        }
        Ok(store)
    }
}

/// This host's name, as recorded with each check run (`status` names
/// each host's last check): `ESCALATE_HOSTNAME` when set (two checkers
/// in containers that share a hostname), else the system's.
pub fn hostname() -> String {
    std::env::var("ESCALATE_HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            ::hostname::get()
                .ok()
                .map(|h| h.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "unknown".to_string())
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

/// A PostgreSQL server stopped answering (`store::pg_watch`): say so in
/// one line and end the process with the database's exit code. Nothing
/// is left half done: the server rolls back the open transaction when
/// the connection goes, and a delivery in flight is leased, so the next
/// run sends it (as after a kill).
fn give_up(message: &str) {
    // Not `eprintln!`: a closed stderr would panic this thread and leave
    // the command hung, which is what this is here to end.
    let _ = writeln!(
        std::io::stderr(),
        "escalate: {}",
        crate::text::terminal(message)
    );
    std::process::exit(Code::Database.as_i32());
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
            "--busy-timeout must be between 0 and 3600 seconds, not {}",
            short_number(secs)
        )));
    }
    let stall = cli.global.stall_timeout;
    if !(stall.is_finite() && (1.0..=86_400.0).contains(&stall)) {
        return Err(usage(format!(
            "--stall-timeout must be between 1 and 86400 seconds, not {}",
            short_number(stall)
        )));
    }
    crate::store::pg_watch::on_stall(give_up, Duration::from_secs_f64(stall));
    let ctx = Ctx {
        config_path: cli.global.config,
        db_path: cli.global.db,
        now,
        busy_timeout: Duration::from_secs_f64(secs),
        fixed_now: cli.global.now.is_some(),
    };
    if let Command::Serve { listen } = &cli.command {
        // The server logs from many threads: no lock on stdout or stderr
        // may be held for its whole life (another thread's `eprintln!`
        // would wait forever).
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        let mut io = Io {
            out: &mut out,
            err: &mut err,
        };
        return serve::run(&ctx, listen, &mut io);
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    // Everything on stderr is for people and may quote a peer or a title:
    // control characters are folded on the way out. Not locked for the
    // command's life: the stalled-database watch writes from its thread.
    let mut err = crate::text::TerminalWriter::new(stderr);
    let mut io = Io {
        out: &mut out,
        err: &mut err,
    };
    match cli.command {
        Command::Init => init::run(&ctx, &mut io),
        Command::Create(args) => create::run(&ctx, &args, &mut io),
        Command::Ack { id, by, json } => ack::run(&ctx, &id, &by, json, &mut io),
        Command::Assign { id, to, by, json } => {
            assign::run(&ctx, &id, &to, by.as_deref(), json, &mut io)
        }
        Command::Resolve { id, by, note, json } => {
            resolve::run(&ctx, &id, by.as_deref(), note.as_deref(), json, &mut io)
        }
        Command::Reopen { id, by, json } => reopen::run(&ctx, &id, by.as_deref(), json, &mut io),
        Command::Priority {
            id,
            priority,
            by,
            json,
        } => priority::run(&ctx, &id, &priority, by.as_deref(), json, &mut io),
        Command::Pause(args) => pause::pause(&ctx, &args, &mut io),
        Command::Resume { id, by, json } => pause::resume(&ctx, &id, by.as_deref(), json, &mut io),
        Command::Escalate(args) => own::escalate(&ctx, &args, &mut io),
        Command::Note { id, text, by, json } => own::note(&ctx, &id, &text, &by, json, &mut io),
        Command::Unack { id, by, json } => own::unack(&ctx, &id, &by, json, &mut io),
        Command::Move(args) => own::move_to(&ctx, &args, &mut io),
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
            by,
        } => {
            let opts = report::Options {
                days,
                since,
                until,
                chain,
                format,
                mail_to,
                by,
            };
            report::run_with(&ctx, &opts, &mut io)
        }
        Command::Config(ConfigCommand::Check { json }) => config::check(&ctx, json, &mut io),
        Command::Simulate(args) => simulate::run(&ctx, &args, &mut io),
        Command::Demo => demo::run(&mut io),
        Command::Notify(NotifyCommand::Test { role, json }) => {
            notify::test(&ctx, &role, json, &mut io)
        }
        Command::Outbox(args) => outbox::run(&ctx, &args, &mut io),
        Command::Oncall(args) => oncall::run(&ctx, args, &mut io),
        Command::Serve { .. } => unreachable!("served above"),
        Command::Status { max_age, json } => status::run(&ctx, max_age, json, &mut io),
        Command::Migrate { to } => migrate::run(&ctx, &to, &mut io),
        Command::Digest(args) => digest::run(&ctx, &args, &mut io),
        Command::Events(args) => events::run(&ctx, &args, &mut io),
        Command::Ingest(args) => ingest::run(&ctx, &args, &mut io),
        Command::Route(RouteCommand::Test {
            source,
            priority,
            tags,
            title,
            event,
            json,
        }) => {
            let sample = route::Sample {
                source: &source,
                priority: priority.as_deref(),
                tags: &tags,
                title: &title,
                event: event.as_deref(),
            };
            route::test(&ctx, &sample, json, &mut io)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "escalate", io.out);
            Ok(Code::Ok)
        }
        Command::Man => man(&mut io),
    }
}

/// `escalate man`: the page clap_mangen renders, its `.TH` title line moved
/// first (clap_mangen puts string definitions above it) so that `file`,
/// `man -l` and packagers see a man page from the first line; the
/// definitions still precede their first use.
fn man(io: &mut Io) -> Result<Code> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    let page = String::from_utf8_lossy(&page);
    let mut lines: Vec<&str> = page.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.starts_with(".TH ")) {
        let title = lines.remove(i);
        lines.insert(0, title);
    }
    for line in lines {
        writeln!(io.out, "{line}")?;
    }
    Ok(Code::Ok)
}

/// `--now`: RFC 3339 with an explicit offset, stored as UTC.
pub fn parse_now(s: &str) -> Result<Ts> {
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            usage(format!(
                "invalid --now `{s}`: {e} (expected RFC 3339, e.g. 2026-11-24T09:00:00Z)"
            ))
        })?;
    check_printable("--now", s, t)?;
    Ok(t)
}

/// Latest year an input instant may have: every time derived from it (due
/// times, lapses, SLA deadlines, a report window) is printed as RFC 3339,
/// which has four-digit years, so leave room for a century of waits.
const LAST_INPUT_YEAR: i32 = 9899;

/// Refuse an input instant whose derived times would print outside RFC 3339
/// (`+10000-01-01…`, negative years) rather than write them.
pub fn check_printable(flag: &str, raw: &str, t: Ts) -> Result<()> {
    if (1..=LAST_INPUT_YEAR).contains(&t.year()) {
        return Ok(());
    }
    Err(usage(format!(
        "invalid {flag} `{}`: the year must be between 0001 and {LAST_INPUT_YEAR}",
        raw.escape_debug()
    )))
}

/// The `--json` answer of `ack`, `assign`, `resolve` and `reopen`: one
/// object, the same keys for all four (README "JSON output").
#[derive(Debug, Serialize)]
pub struct ActionView {
    pub id: i64,
    /// `acknowledged`, `assigned`, `resolved`, `reopened`, `priority_changed`,
    /// `paused`, `resumed`, `escalated`, `noted`, `unacknowledged` or `moved`.
    pub action: &'static str,
    /// The issue's status afterwards: open, acknowledged or resolved.
    pub status: String,
    pub owner: String,
    pub level: u32,
    pub by: String,
    pub at: String,
    /// When an acknowledgement lapses and escalation resumes, if it does.
    pub escalation_resumes_at: Option<String>,
    pub note: Option<String>,
    /// `paused`: when the pause ends on its own (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<String>,
    /// `moved`: the chain it is on now (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

impl ActionView {
    pub fn new(issue: &crate::model::Issue, action: &'static str, by: &str, at: Ts) -> Self {
        ActionView {
            id: issue.id,
            action,
            status: issue.esc.status.as_str().to_string(),
            owner: issue.owner.clone(),
            level: issue.esc.level,
            by: by.to_string(),
            at: crate::model::time::rfc3339(at),
            escalation_resumes_at: None,
            note: None,
            paused_until: None,
            chain: None,
        }
    }

    pub fn print(&self, io: &mut Io) -> Result<()> {
        writeln!(io.out, "{}", serde_json::to_string_pretty(self)?)?;
        Ok(())
    }
}

/// A number for an error message: `1e300` printed plainly is 301 digits.
fn short_number(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e9 {
        x.to_string()
    } else {
        format!("{x:e}")
    }
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
            "+10000-01-01T00:00:00Z",
            "9999-12-31T23:00:00Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
        ] {
            assert!(parse_now(bad).is_err(), "{bad}");
        }
    }
}
