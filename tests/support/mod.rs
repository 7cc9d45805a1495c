//! Test support: a temp directory with a config and a database, and a
//! builder that runs the real `escalate` binary in it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_escalate");
pub const STARTER: &str = include_str!("../../chains.toml");

/// A fixed start instant for simulated time.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

pub fn at_minutes(m: i64) -> String {
    rfc(t0() + TimeDelta::minutes(m))
}

pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub struct Env {
    pub dir: TempDir,
    /// Extra environment variables for every command (per test, unlike
    /// `std::env::set_var`, which races between parallel tests).
    pub vars: std::cell::RefCell<Vec<(String, String)>>,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The one-line error contract: a single `escalate: …` line, no panic.
    pub fn one_line_error(self, fragment: &str) -> Run {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one stderr line: {self:?}");
        assert!(lines[0].starts_with("escalate: "), "{self:?}");
        assert!(
            lines[0].contains(fragment),
            "stderr lacks {fragment:?}: {self:?}"
        );
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        assert!(!self.stderr.contains("stack backtrace"), "{self:?}");
        self
    }
}

impl Env {
    /// The starter config and an initialised database.
    pub fn new() -> Env {
        let env = Env::with_config(STARTER);
        env.run(&["init"]).ok();
        env
    }

    /// A config file only (no database yet).
    pub fn with_config(toml: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("chains.toml"), toml).expect("write config");
        Env {
            dir,
            vars: std::cell::RefCell::new(Vec::new()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("escalation.db")
    }

    pub fn set_var(&self, key: &str, value: &str) {
        self.vars
            .borrow_mut()
            .push((key.to_string(), value.to_string()));
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.path("chains.toml"), toml).expect("write config");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("ESCALATE_NOW")
            .env_remove("ESCALATE_CONFIG")
            .env_remove("ESCALATE_DB")
            .env_remove("ESCALATE_BUSY_TIMEOUT")
            .env("USER", "tester")
            .stdin(Stdio::null());
        for (k, v) in self.vars.borrow().iter() {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        output(self.command(args).output().expect("run escalate"))
    }

    /// Run with `--now` set to `minutes` after t0.
    pub fn at(&self, minutes: i64, args: &[&str]) -> Run {
        let now = at_minutes(minutes);
        let mut all: Vec<&str> = vec!["--now", &now];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// File an issue at `minutes`; returns its id.
    pub fn create(&self, minutes: i64, chain: &str, title: &str) -> i64 {
        let r = self
            .at(minutes, &["create", "--chain", chain, "--title", title])
            .ok();
        r.stdout
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("id ({e}): {r:?}"))
    }

    pub fn show(&self, id: i64) -> Value {
        self.run(&["show", &id.to_string(), "--json"]).ok().json()
    }

    pub fn bytes(&self, p: &Path) -> Vec<u8> {
        std::fs::read(p).expect("read file")
    }
}

pub fn output(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Console notification lines: (issue id, level) for each.
pub fn pages(text: &str) -> Vec<(i64, u32)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("[ESCALATION Level ")?;
            let (level, rest) = rest.split_once([']', ','])?;
            let id = rest.split_once("Issue #")?.1.split_once(':')?.0;
            Some((id.parse().ok()?, level.trim().parse().ok()?))
        })
        .collect()
}
pub mod http;
pub mod smtp;
