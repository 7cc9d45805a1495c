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
    /// SQLite database file, or a PostgreSQL URL (postgres://USER@HOST/DB).
    #[arg(
        long,
        global = true,
        env = "ESCALATE_DB",
        // A PostgreSQL URL may carry a password: never echoed by --help.
        hide_env_values = true,
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
    /// PostgreSQL: seconds a call may go unanswered by the server (beyond
    /// --busy-timeout) before the command gives up with exit 5.
    #[arg(
        long,
        global = true,
        env = "ESCALATE_STALL_TIMEOUT",
        default_value_t = 120.0,
        value_name = "SECS"
    )]
    pub stall_timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter chains.toml (never overwritten) and create the database.
    #[command(after_help = EX_INIT)]
    Init,
    /// File a new issue and notify level 1; prints the new id.
    #[command(after_help = EX_CREATE)]
    Create(CreateArgs),
    /// Take ownership of an issue; stops its escalation.
    #[command(after_help = EX_ACK)]
    Ack {
        /// Issue id.
        id: String,
        /// Who takes it.
        #[arg(long, value_name = "WHO")]
        by: String,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Give an issue to someone (escalation continues until they ack).
    #[command(after_help = EX_ASSIGN)]
    Assign {
        /// Issue id.
        id: String,
        /// The new owner.
        #[arg(long, value_name = "WHO")]
        to: String,
        /// Who made the change (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Close an issue; nothing more is sent about it.
    #[command(after_help = EX_RESOLVE)]
    Resolve {
        /// Issue id.
        id: String,
        /// Who resolved it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Resolution note, kept in the timeline.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Change an issue's priority: the chain's SLA policy for it is picked
    /// again and its targets re-evaluated from creation.
    #[command(after_help = EX_PRIORITY)]
    Priority {
        /// Issue id.
        id: String,
        /// The new priority (matched case-insensitively against policies).
        priority: String,
        /// Who made the change (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Pause an issue (waiting on the customer, snoozed): nothing escalates
    /// and the SLA clocks its policy's `pause` names stop until it resumes.
    #[command(after_help = EX_PAUSE)]
    Pause(PauseArgs),
    /// End a pause; every later due time moves by the open calendar time
    /// the pause lasted.
    #[command(after_help = EX_RESUME)]
    Resume {
        /// Issue id.
        id: String,
        /// Who resumed it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Reopen a resolved issue; escalation restarts at level 1.
    #[command(after_help = EX_REOPEN)]
    Reopen {
        /// Issue id.
        id: String,
        /// Who reopened it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Page the next level (or --level N) now and re-anchor the schedule
    /// there; that level's role owns the issue and an ack is cleared.
    #[command(after_help = EX_ESCALATE)]
    Escalate(EscalateArgs),
    /// Add a work note to an issue's timeline (any issue, resolved too).
    #[command(after_help = EX_NOTE)]
    Note {
        /// Issue id.
        id: String,
        /// The note (one argument: quote it).
        text: String,
        /// Who wrote it.
        #[arg(long, value_name = "WHO")]
        by: String,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Withdraw an acknowledgement: escalation resumes as if it had never
    /// been acked (steps that came due meanwhile are paged by the next check).
    #[command(after_help = EX_UNACK)]
    Unack {
        /// Issue id.
        id: String,
        /// Who withdrew it.
        #[arg(long, value_name = "WHO")]
        by: String,
        /// Print the result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
    /// Re-route an issue to another chain: its level 1 is paged and owns
    /// it, SLA targets re-evaluated under that chain's policy.
    #[command(name = "move", after_help = EX_MOVE)]
    Move(MoveArgs),
    /// The cron job: escalate every issue that is due, then deliver.
    #[command(after_help = EX_CHECK)]
    Check {
        /// Print what would happen; write and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List issues.
    #[command(after_help = EX_LIST)]
    List(ListArgs),
    /// Show an issue and its timeline.
    #[command(after_help = EX_SHOW)]
    Show {
        /// Issue id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report on a window: every issue open at any moment of it, per chain
    /// and per level, response times, SLA, oldest open, worst breaches.
    #[command(after_help = EX_REPORT)]
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
        /// Rank the issues that escalate most by this key (default: chain);
        /// with --format csv, the ranking is the CSV.
        #[arg(long, value_enum, value_name = "KEY")]
        by: Option<ReportBy>,
    },
    /// Print the timeline an issue would have on a chain (pages, SLA at
    /// risk and breaches, UTC and calendar-local times) without touching
    /// any database: a what-if before changing the config.
    #[command(after_help = EX_SIMULATE)]
    Simulate(SimulateArgs),
    /// Validate the configuration.
    #[command(subcommand)]
    #[command(after_help = EX_CONFIG_CHECK)]
    Config(ConfigCommand),
    /// Run the real pipeline on a throwaway database with a simulated week.
    #[command(after_help = EX_DEMO)]
    Demo,
    /// Send test messages.
    #[command(subcommand)]
    #[command(after_help = EX_NOTIFY_TEST)]
    Notify(NotifyCommand),
    /// List deliveries (pending by default), or requeue failed ones.
    #[command(after_help = EX_OUTBOX)]
    Outbox(OutboxArgs),
    /// Serve action links, helpdesk webhooks, health and metrics over HTTP
    /// (optional; cron and the CLI keep working beside it).
    #[command(after_help = EX_SERVE)]
    Serve {
        /// Address to listen on.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8025")]
        listen: String,
    },
    /// Who is on call for each role now (or at TIME), the schedule of one
    /// role, and overrides.
    #[command(after_help = EX_ONCALL)]
    Oncall(OncallArgs),
    /// Is the checker alive? The last check run and the backlog; exit 3 when
    /// no check ran within the expected interval (a dead-man switch).
    #[command(after_help = EX_STATUS)]
    Status {
        /// Warn when the last check is older than this many minutes
        /// (default: [checker] expected_interval_minutes, or 15).
        #[arg(long, value_parser = positive_minutes)]
        max_age: Option<f64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy this SQLite database (--db) into an empty PostgreSQL database,
    /// in one transaction, and verify the counts and totals.
    #[command(after_help = EX_MIGRATE)]
    Migrate {
        /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…].
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Apply ticket events (JSON lines) from a helpdesk or a script.
    #[command(after_help = EX_INGEST)]
    Ingest(IngestArgs),
    /// Routing: which chain an incoming issue would get.
    #[command(subcommand)]
    #[command(after_help = EX_ROUTE_TEST)]
    Route(RouteCommand),
    /// The event log as JSON lines, for adapters: resume with --since or a
    /// cursor file, keep polling with --follow.
    #[command(after_help = EX_EVENTS)]
    Events(EventsArgs),
    /// The daily digest: SLA risk now, breaches since the last digest,
    /// backlog aging, exceptions and checker health.
    #[command(after_help = EX_DIGEST)]
    Digest(DigestArgs),
    /// Print a shell completion script to standard output.
    #[command(after_help = EX_COMPLETIONS)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output.
    #[command(after_help = EX_MAN)]
    Man,
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
    #[command(after_help = EX_ROUTE_TEST)]
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
        /// Print the verdict as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
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
    #[arg(long, value_parser = row_limit)]
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

/// Row counts: a number a database LIMIT can hold, said plainly when it is
/// not (clap's own message for an overflow is "number too large").
fn row_limit(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n <= MAX_ROWS => Ok(n),
        _ => Err(format!(
            "`{s}` is not a row count between 0 (all) and {MAX_ROWS}"
        )),
    }
}

/// Far above any real table, far below where LIMIT arithmetic overflows.
const MAX_ROWS: u64 = 1_000_000_000;

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
    #[command(after_help = EX_NOTIFY_TEST)]
    Test {
        /// Role name from the config.
        role: String,
        /// Print each contact's result as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OncallArgs {
    #[command(subcommand)]
    pub action: Option<OncallAction>,
    /// Only this role (with --days: its schedule).
    pub role: Option<String>,
    /// At this instant instead of now (RFC 3339 or a date).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print ROLE's resolved schedule for this many days (1–90).
    #[arg(long, value_name = "N", requires = "role", value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OncallAction {
    /// Put PERSON on call for ROLE from --from until --until (beats every
    /// rotation layer; overrides of one role may not overlap).
    #[command(after_help = EX_ONCALL_OVERRIDE)]
    Override {
        role: String,
        #[arg(long, value_name = "NAME")]
        person: String,
        /// Start (RFC 3339 or a date; default now).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End: a time, or a duration after --from (`12h`, `3d`).
        #[arg(long, value_name = "TIME|DURATION")]
        until: String,
        /// Who made it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Overrides not yet over (--all: every one ever made, cancelled too).
    #[command(after_help = EX_ONCALL_OVERRIDES)]
    Overrides {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Cancel an override (it stays listed by `overrides --all`).
    #[command(after_help = EX_ONCALL_CANCEL)]
    Cancel {
        /// Override id (see `escalate oncall overrides`).
        id: String,
        /// Who cancelled it (default: $USER).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    #[arg(long, value_enum, default_value_t = OutboxFilter::Pending)]
    pub status: OutboxFilter,
    /// At most this many rows, newest first (0: all).
    #[arg(long, default_value_t = 200, value_parser = row_limit)]
    pub limit: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Requeue a dead (or pending) delivery for the next run, attempts reset;
    /// a contact no longer in the config is re-targeted to the role's
    /// current one of the same kind.
    #[command(after_help = EX_OUTBOX_RETRY)]
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
    /// The issue's id in an external system (helpdesk ticket, alert).
    #[arg(long = "ref", value_name = "EXTERNAL_ID")]
    pub external_ref: Option<String>,
    /// Print the issue as JSON instead of its id.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Issue id.
    pub id: String,
    /// Resume on its own then: a time (RFC 3339 or a date) or a duration
    /// from now (`90m`, `4h`, `2d`, `1w`).
    #[arg(long, value_name = "TIME|DURATION")]
    pub until: Option<String>,
    /// Why (kept in the timeline, shown by `show`, `list` and the digest).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Who paused it (default: $USER).
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// Print the result as JSON (see README "JSON output").
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EscalateArgs {
    /// Issue id.
    pub id: String,
    /// The level to page (default: the one above the current level); at
    /// the top level, the top level again.
    #[arg(long, value_name = "N")]
    pub level: Option<u32>,
    /// Who escalated it.
    #[arg(long, value_name = "WHO")]
    pub by: String,
    /// Why (kept in the timeline).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the result as JSON (see README "JSON output").
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Issue id.
    pub id: String,
    /// The chain to move it to.
    #[arg(long, value_name = "NAME")]
    pub chain: String,
    /// Who moved it.
    #[arg(long, value_name = "WHO")]
    pub by: String,
    /// Why (kept in the timeline).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the result as JSON (see README "JSON output").
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The chain to simulate.
    #[arg(long, value_name = "NAME")]
    pub chain: String,
    /// The issue's priority (picks the chain's SLA policy).
    #[arg(long, value_name = "P")]
    pub priority: Option<String>,
    /// When the issue is filed: a date or RFC 3339 (default: now).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Someone acknowledges it then.
    #[arg(long, value_name = "TIME")]
    pub ack_at: Option<String>,
    /// Someone resolves it then.
    #[arg(long, value_name = "TIME")]
    pub resolve_at: Option<String>,
    /// It is paused from FROM to TO (times as for --from); repeatable.
    #[arg(long, value_name = "FROM..TO")]
    pub pause: Vec<String>,
    /// Print JSON: {"timeline": [{"kind", "level", "at", "local", …}]}.
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
    #[arg(long, default_value_t = 200, value_parser = row_limit)]
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

/// What `report --by` ranks the issues that escalate most by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Chain,
    Priority,
    Source,
    /// An issue counts under each of its tags.
    Tag,
    Route,
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
    #[command(after_help = EX_CONFIG_CHECK)]
    Check {
        /// Print the summary as JSON (see README "JSON output").
        #[arg(long)]
        json: bool,
    },
}

// Examples shown at the end of each subcommand's `--help`: the commands a
// new user would type first, runnable as written against the starter config.

const EX_INIT: &str = "Examples:
  escalate init
  escalate --config /etc/escalate/chains.toml --db /var/lib/escalate/escalation.db init";

const EX_CREATE: &str = "Examples:
  escalate create --title 'Checkout returns 500' --chain customer
  escalate create --title 'Refund stuck' --source zendesk --ref 4711 --priority high
  escalate create --title 'Disk full' --tag infra --json";

const EX_ACK: &str = "Examples:
  escalate ack 12 --by alice
  escalate ack '#12' --by alice --json";

const EX_ASSIGN: &str = "Examples:
  escalate assign 12 --to bob
  escalate assign 12 --to bob --by alice --json";

const EX_RESOLVE: &str = "Examples:
  escalate resolve 12
  escalate resolve 12 --by alice --note 'rolled back the deploy' --json";

const EX_REOPEN: &str = "Examples:
  escalate reopen 12
  escalate reopen 12 --by alice --json";

const EX_ESCALATE: &str = "Examples:
  escalate escalate 12 --by alice --reason 'customer is a key account'
  escalate escalate 12 --level 3 --by alice --json";

const EX_NOTE: &str = "Examples:
  escalate note 12 --by alice 'asked the customer for logs'
  escalate note 12 --by alice 'root cause: expired certificate' --json";

const EX_UNACK: &str = "Examples:
  escalate unack 12 --by alice
  escalate unack 12 --by alice --json";

const EX_MOVE: &str = "Examples:
  escalate move 12 --chain system_outage --by alice --reason 'it is an outage'
  escalate move 12 --chain customer_issue --by alice --json";

const EX_CHECK: &str = "Examples:
  escalate check
  escalate check --dry-run
  */5 * * * * cd /srv/escalate && escalate check    (a crontab line)";

const EX_LIST: &str = "Examples:
  escalate list
  escalate list --status unacknowledged --chain customer
  escalate list --breached --json
  escalate list --status all --limit 0";

const EX_SHOW: &str = "Examples:
  escalate show 12
  escalate show 12 --json";

const EX_REPORT: &str = "Examples:
  escalate report
  escalate report --days 30 --chain customer
  escalate report --since 2026-11-01 --until 2026-12-01 --format csv
  escalate report --mail-to ops@example.com
  escalate report --by priority --format csv";

const EX_PRIORITY: &str = "Examples:
  escalate priority 12 urgent
  escalate priority 12 low --by carol --json";

const EX_SERVE: &str = "Examples:
  escalate serve
  escalate serve --listen 0.0.0.0:8025   # behind a TLS reverse proxy";

const EX_ONCALL: &str = "Examples:
  escalate oncall
  escalate oncall support_agent --days 14
  escalate oncall --at 2026-12-25T03:00:00Z --json
  escalate oncall override support_agent --person dana --from 2026-12-24 --until 2d
  escalate oncall overrides
  escalate oncall cancel 3";

const EX_ONCALL_OVERRIDE: &str = "Examples:
  escalate oncall override support_agent --person dana --until 8h
  escalate oncall override support_agent --person dana --from 2026-12-24T17:00:00Z --until 2026-12-27T09:00:00Z --by carol";

const EX_ONCALL_OVERRIDES: &str = "Examples:
  escalate oncall overrides
  escalate oncall overrides --all --json";

const EX_ONCALL_CANCEL: &str = "Examples:
  escalate oncall cancel 3
  escalate oncall cancel 3 --by carol";

const EX_PAUSE: &str = "Examples:
  escalate pause 12 --reason 'waiting on customer logs'
  escalate pause 12 --until 4h --by carol
  escalate pause 12 --until 2026-12-07T09:00:00-05:00 --json";

const EX_RESUME: &str = "Examples:
  escalate resume 12
  escalate resume 12 --by carol --json";

const EX_SIMULATE: &str = "Examples:
  escalate simulate --chain customer_issue
  escalate simulate --chain customer_issue --from 2026-12-04T16:00:00-05:00
  escalate simulate --chain customer_issue --priority urgent
  escalate simulate --chain system_outage --ack-at 2026-12-04T21:20:00Z --json
  escalate simulate --chain customer_issue --pause 2026-12-04T17:00:00Z..2026-12-07T15:00:00Z";

const EX_CONFIG_CHECK: &str = "Examples:
  escalate config check
  escalate --config staging.toml config check --json";

const EX_DEMO: &str = "Examples:
  escalate demo";

const EX_NOTIFY_TEST: &str = "Examples:
  escalate notify test lead
  escalate notify test vp --json";

const EX_OUTBOX: &str = "Examples:
  escalate outbox
  escalate outbox --status dead
  escalate outbox --status all --limit 0 --json
  escalate outbox retry 7
  escalate outbox retry --all-dead";

const EX_OUTBOX_RETRY: &str = "Examples:
  escalate outbox retry 7
  escalate outbox retry --all-dead";

const EX_STATUS: &str = "Examples:
  escalate status
  escalate status --max-age 30 --json";

const EX_MIGRATE: &str = "Examples:
  escalate --db escalation.db migrate --to postgres://escalate@db.internal/escalate?sslmode=verify-full
  PGPASSWORD=… escalate migrate --to postgres://escalate@10.0.0.5/escalate?sslmode=require";

const EX_INGEST: &str = "Examples:
  escalate ingest events.jsonl
  helpdesk-export | escalate ingest --json
  escalate ingest --strict batch.jsonl";

const EX_ROUTE_TEST: &str = r#"Examples:
  escalate route test --source zendesk --priority urgent --tag billing
  escalate route test --title 'Checkout down' --json
  escalate route test --event '{"type": "ticket.created", "source": "zendesk", "external_id": "1", "title": "x"}'"#;

const EX_EVENTS: &str = "Examples:
  escalate events --since 0 --limit 100
  escalate events --cursor-file /var/lib/escalate/cursor --follow
  escalate events --kind escalated --kind resolved";

const EX_DIGEST: &str = "Examples:
  escalate digest
  escalate digest --format json --no-record
  escalate digest --mail-to leads@example.com
  escalate digest --slack lead";

const EX_COMPLETIONS: &str = "Examples:
  escalate completions bash > /etc/bash_completion.d/escalate
  escalate completions zsh > ~/.zfunc/_escalate
  escalate completions fish > ~/.config/fish/completions/escalate.fish";

const EX_MAN: &str = "Examples:
  escalate man > /usr/local/share/man/man1/escalate.1
  escalate man | man -l -";

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every subcommand, nested ones too, ends its help with examples.
    #[test]
    fn every_subcommand_has_examples() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("Examples:") {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "escalate", &mut missing);
        assert!(missing.is_empty(), "no examples in: {missing:?}");
    }

    #[test]
    fn row_limits_overflow_into_a_usage_message() {
        assert_eq!(super::row_limit("0"), Ok(0));
        assert_eq!(super::row_limit("200"), Ok(200));
        for bad in ["99999999999999999999", "-1", "1e3", "", "1000000001"] {
            let e = super::row_limit(bad).expect_err(bad);
            assert!(e.contains("row count"), "{e}");
        }
    }
}
