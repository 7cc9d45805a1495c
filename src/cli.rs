//! Command-line definitions (clap derive), nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;

#[derive(Debug, Parser)]
#[command(
    name = "escalate",
    version,
    about = "Walks open issues up an escalation chain until someone owns them.",
    long_about = "Walks open issues up an escalation chain (agent → lead → manager → VP) \
                  when they sit past their wait, tells each level, tracks ownership, and \
                  reports where the process breaks down. Run `escalate check` from cron \
                  every few minutes.",
    after_help = EXIT_CODES_HELP,
    after_long_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Chains and roles file.
    #[arg(
        long,
        global = true,
        env = "ESCALATE_CONFIG",
        default_value = "chains.toml"
    )]
    pub config: PathBuf,
    /// SQLite database file.
    #[arg(
        long,
        global = true,
        env = "ESCALATE_DB",
        default_value = "escalation.db"
    )]
    pub db: PathBuf,
    /// Use this instant (RFC 3339, e.g. 2026-11-24T09:00:00Z) instead of the
    /// clock, for tests and what-if runs.
    #[arg(long, global = true, env = "ESCALATE_NOW", value_name = "RFC3339")]
    pub now: Option<String>,
    /// Seconds to wait for another process's lock on the database.
    #[arg(
        long,
        global = true,
        env = "ESCALATE_BUSY_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECS"
    )]
    pub busy_timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter chains.toml (never overwritten) and create the database.
    Init,
    /// File a new issue and notify level 1; prints the new id.
    Create(CreateArgs),
    /// Take ownership of an issue; stops its escalation.
    Ack {
        /// Issue id.
        id: String,
        /// Who takes it.
        #[arg(long, value_name = "WHO")]
        by: String,
    },
    /// Give an issue to someone (escalation continues until they ack).
    Assign {
        /// Issue id.
        id: String,
        /// The new owner.
        #[arg(long, value_name = "WHO")]
        to: String,
        /// Who made the change (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
    },
    /// Close an issue; nothing more is sent about it.
    Resolve {
        /// Issue id.
        id: String,
        /// Who resolved it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Resolution note, kept in the timeline.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Reopen a resolved issue; escalation restarts at level 1.
    Reopen {
        /// Issue id.
        id: String,
        /// Who reopened it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
    },
    /// The cron job: escalate every issue that is due, then deliver.
    Check {
        /// Print what would happen; write and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List issues.
    List(ListArgs),
    /// Show an issue and its timeline.
    Show {
        /// Issue id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report on a window: every issue open at any moment of it, per chain
    /// and per level, response times, SLA, oldest open, worst breaches.
    Report {
        /// Window length in days, ending at --until (default 7).
        #[arg(long, conflicts_with = "since", value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: Option<u32>,
        /// Window start: a date (2026-11-02, midnight UTC) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Window end, exclusive: a date or RFC 3339 (default: now).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Only this chain.
        #[arg(long, value_name = "NAME")]
        chain: Option<String>,
        /// Output format (default: markdown; with --mail-to nothing is
        /// printed unless a format is given).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Mail the markdown report to ADDR through [email].
        #[arg(long, value_name = "ADDR")]
        mail_to: Option<String>,
    },
    /// Validate the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the real pipeline on a throwaway database with a simulated week.
    Demo,
    /// Send test messages.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// List deliveries (pending by default), or requeue failed ones.
    Outbox(OutboxArgs),
    /// Is the checker alive? The last check run and the backlog; exit 3 when
    /// no check ran within the expected interval (a dead-man switch).
    Status {
        /// Warn when the last check is older than this many minutes
        /// (default: [checker] expected_interval_minutes, or 15).
        #[arg(long, value_parser = positive_minutes)]
        max_age: Option<f64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply ticket events (JSON lines) from a helpdesk or a script.
    Ingest(IngestArgs),
    /// Routing: which chain an incoming issue would get.
    #[command(subcommand)]
    Route(RouteCommand),
    /// The event log as JSON lines, for adapters: resume with --since or a
    /// cursor file, keep polling with --follow.
    Events(EventsArgs),
    /// The daily digest: SLA risk now, breaches since the last digest,
    /// backlog aging, exceptions and checker health.
    Digest(DigestArgs),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// A file of JSON lines; `-` or nothing reads standard input.
    pub input: Option<std::path::PathBuf>,
    /// Refuse the whole batch if any line is malformed or cannot be applied.
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Show which route a sample issue would take, and why.
    Test {
        #[arg(long, default_value = "cli")]
        source: String,
        #[arg(long)]
        priority: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[arg(long, default_value = "")]
        title: String,
        /// A sample ticket event (JSON, as for `ingest`) instead of the flags.
        #[arg(long, conflicts_with_all = ["source", "priority", "tags", "title"])]
        event: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events with an id greater than this.
    #[arg(long, conflicts_with = "cursor_file")]
    pub since: Option<i64>,
    /// Read the position from this file (missing: from the start) and write
    /// the last id examined back to it.
    #[arg(long, value_name = "PATH")]
    pub cursor_file: Option<std::path::PathBuf>,
    /// Only these kinds (repeatable): created, escalated, notified, …
    #[arg(long)]
    pub kind: Vec<String>,
    /// Keep running and print new events as they are written.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 1.0, value_parser = poll_seconds)]
    pub interval: f64,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
}

fn poll_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.01..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0.01 and 3600"
        )),
    }
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    #[arg(long, value_enum, default_value_t = DigestFormat::Markdown)]
    pub format: DigestFormat,
    /// Mail the digest to this address through [email] instead of printing it.
    #[arg(long, conflicts_with = "slack")]
    pub mail_to: Option<String>,
    /// Post the digest to the Slack contacts of this role instead of printing it.
    #[arg(long)]
    pub slack: Option<String>,
    /// Do not remember this digest (the next one covers the same period).
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DigestFormat {
    Markdown,
    Json,
}

fn positive_minutes(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= 527_040.0 => Ok(m),
        _ => Err(format!(
            "`{s}` is not a number of minutes between 0 and a year"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a clearly marked test message to every contact of ROLE.
    Test {
        /// Role name from the config.
        role: String,
    },
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    #[arg(long, value_enum, default_value_t = OutboxFilter::Pending)]
    pub status: OutboxFilter,
    /// At most this many rows, newest first (0: all).
    #[arg(long, default_value_t = 200)]
    pub limit: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Requeue a dead (or pending) delivery for the next run, attempts reset.
    Retry {
        /// Outbox row id (see `escalate outbox --status dead`).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Requeue every dead delivery.
        #[arg(long)]
        all_dead: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutboxFilter {
    Pending,
    Dead,
    Sent,
    All,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Chain to escalate along (default: the first matching [[routes]]).
    #[arg(long)]
    pub chain: Option<String>,
    /// Where the issue comes from, for routing.
    #[arg(long, default_value = "cli")]
    pub source: String,
    /// Priority, for routing and display (e.g. urgent, high, normal, low).
    #[arg(long)]
    pub priority: Option<String>,
    /// A tag, for routing (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// One-line title.
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub description: Option<String>,
    /// The id in an external system (helpdesk ticket, alert).
    #[arg(long = "ref", value_name = "EXTERNAL_ID")]
    pub external_ref: Option<String>,
    /// Print the issue as JSON instead of its id.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// open = not yet resolved (acknowledged or not).
    #[arg(long, value_enum, default_value_t = StatusFilter::Open)]
    pub status: StatusFilter,
    /// Only issues on this chain.
    #[arg(long)]
    pub chain: Option<String>,
    /// Only issues with an SLA target at risk now.
    #[arg(long, conflicts_with = "breached")]
    pub at_risk: bool,
    /// Only issues with a breached SLA target.
    #[arg(long)]
    pub breached: bool,
    /// At most this many rows (0: all).
    #[arg(long, default_value_t = 200)]
    pub limit: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    /// Not resolved: unacknowledged and acknowledged.
    Open,
    /// Open and nobody has acknowledged it.
    Unacknowledged,
    Acknowledged,
    Resolved,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
    /// One row per chain (report only).
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate chains.toml and summarise each chain.
    Check,
}
