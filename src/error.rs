//! Exit codes and the error classes that map to them. Exit codes are part of
//! the interface: scripts and cron wrappers branch on them.

use std::fmt;

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
    NotFound = 4,
    /// 5: the database cannot be used: missing, locked past the busy timeout,
    /// corrupt, or written by a newer escalate.
    Database = 5,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// An error carrying its exit code. Anything else that reaches `main` is a
/// runtime failure (1).
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Usage, message)
}

pub fn not_found(message: impl Into<String>) -> anyhow::Error {
    fail(Code::NotFound, message)
}

pub fn database(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Database, message)
}

/// The exit code for an error: the first classified cause in its chain.
pub fn code_of(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code;
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some() {
            return Code::Usage;
        }
        if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
            if let Some(code) = e.sqlite_error_code() {
                use rusqlite::ErrorCode as E;
                if matches!(
                    code,
                    E::DatabaseBusy
                        | E::DatabaseLocked
                        | E::DatabaseCorrupt
                        | E::NotADatabase
                        | E::CannotOpen
                        | E::ReadOnly
                        | E::PermissionDenied
                ) {
                    return Code::Database;
                }
            }
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
