//! The one error type and the exit codes it maps to. Exit codes are part of
//! the interface: scripts and cron wrappers branch on them. Every failure a
//! user can cause is an [`Error`] variant; `anyhow` only carries it with
//! context, and anything unclassified that reaches `main` is a runtime
//! failure (1).

/// Documented exit codes (README, `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0: success.
    Ok = 0,
    /// 1: a runtime failure (I/O, unexpected database error).
    Runtime = 1,
    /// 2: bad usage or configuration (arguments, chains.toml, unknown chain).
    Usage = 2,
    /// 3: the command ran, but something needs a human (orphaned issues,
    /// failed or dead deliveries).
    Attention = 3,
    /// 4: the issue does not exist, or the request conflicts with its state
    /// (resolving a resolved issue, acknowledging a resolved one).
    IssueConflict = 4,
    /// 5: the database cannot be used: missing, locked past the busy timeout,
    /// corrupt, or written by a newer escalate; a PostgreSQL server that is
    /// unreachable or stopped answering.
    Database = 5,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// A failure with a documented exit code. The message is the whole
/// one-line explanation; it names the thing at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad arguments or input (exit 2).
    #[error("{0}")]
    Usage(String),
    /// chains.toml is invalid; the message carries file:line:col (exit 2).
    #[error("{0}")]
    Config(String),
    /// No issue with that id (exit 4).
    #[error("{0}")]
    NoSuchIssue(String),
    /// The request conflicts with the issue's state (exit 4).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be used (exit 5).
    #[error("{0}")]
    Database(String),
    /// A digest or report could not be sent (mail relay, Slack webhook):
    /// a runtime failure (exit 1), classified so its message names what
    /// was not sent; nothing is recorded as sent.
    #[error("{what} not sent: {reason}")]
    NotSent { what: &'static str, reason: String },
}

impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::Usage(_) | Error::Config(_) => Code::Usage,
            Error::NoSuchIssue(_) | Error::Conflict(_) => Code::IssueConflict,
            Error::Database(_) => Code::Database,
            Error::NotSent { .. } => Code::Runtime,
        }
    }
}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Error::Usage(message.into()).into()
}

pub fn no_such_issue(message: impl Into<String>) -> anyhow::Error {
    Error::NoSuchIssue(message.into()).into()
}

pub fn conflict(message: impl Into<String>) -> anyhow::Error {
    Error::Conflict(message.into()).into()
}

pub fn database(message: impl Into<String>) -> anyhow::Error {
    Error::Database(message.into()).into()
}

/// `what` ("digest", "report") did not go out, and why (one line).
pub fn not_sent(what: &'static str, reason: impl Into<String>) -> anyhow::Error {
    Error::NotSent {
        what,
        reason: reason.into(),
    }
    .into()
}

/// The exit code for an error: the first classified cause in its chain.
/// (The store classifies its own failures: SQLite's "busy", "corrupt" and
/// the like arrive here as [`Error::Database`].)
pub fn code_of(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.code();
        }
    }
    Code::Runtime
}

/// Exit-code table for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  runtime failure (I/O, unexpected database error)
  2  usage or configuration error (bad arguments, chains.toml, unknown chain or role)
  3  check ran, but something needs a human (orphaned issues, failed deliveries)
  4  unknown issue id, or the request conflicts with the issue's state
  5  database unusable: missing, locked, corrupt, or from a newer escalate";

/// A closed stdout (`escalate list | head`) is not an error worth a message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
