//! The harness: a temp directory with a `chains.toml` and a database
//! ([`Env`]), and a builder ([`Test`]) that runs the real `escalate` binary
//! in it and checks what came out, in the style of the `just` crate's tests:
//!
//! ```ignore
//! Test::new()                      // starter config, `escalate init` run
//!     .config(TOML)                // or another config
//!     .at("+4h")                   // `--now` = t0 + 4 h
//!     .args(["check"])
//!     .code(3)                     // the default expectation is 0
//!     .stdout_has("[ESCALATION Level 2]")
//!     .run();                      // returns the `Run` for further asserts
//! ```
//!
//! Tests that take several steps keep an [`Env`] and build each command
//! from it: `env.test().at(240).args(["check"]).run()`, or the shortcuts
//! `env.at(240, &["check"])` / `env.run(&["list"])`, which check nothing
//! but the absence of a panic and return the [`Run`] (`.ok()`, `.code(n)`,
//! `.one_line_error(..)` then assert on it).
//!
//! Time: every command gets `--now` (RFC 3339) when a time is given, counted
//! from the fixed instant [`t0`]; `ESCALATE_NOW` and the other `ESCALATE_*`
//! variables of the outer environment are removed, so the wall clock and
//! the developer's shell never leak in.
//!
//! The shared fakes live beside this file: [`http`] (a keep-alive HTTP
//! server), [`peer`] (a webhook/Slack receiver answering on demand),
//! [`smtp`] (an SMTP server with STARTTLS) and [`trackers`] (GitHub, Jira
//! and Linear fakes).

#![allow(dead_code)]

pub mod http;
pub mod peer;
pub mod pg;
pub mod serve;
pub mod smtp;
pub mod tls;
pub mod trackers;

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_escalate");
pub const STARTER: &str = include_str!("../../../chains.toml");

/// A fixed start instant for simulated time.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// `--now` for `m` minutes after t0.
pub fn at_minutes(m: i64) -> String {
    rfc(t0() + TimeDelta::minutes(m))
}

pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Another process's writer holding `db`'s write lock (WAL: readers go
/// on) until the connection is dropped. Like escalate, it leaves the WAL as
/// it is when it closes (a checkpoint would rewrite the file a test holds
/// unchanged).
pub fn hold_write_lock(db: &std::path::Path) -> rusqlite::Connection {
    let holder = rusqlite::Connection::open(db).expect("open");
    holder
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .expect("no checkpoint on close");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    holder
}

/// The PostgreSQL store's write lock: the advisory lock every write
/// transaction takes (`WRITE_LOCK` in src/store/pg.rs, "escalate" in ASCII).
const PG_WRITE_LOCK: i64 = 0x6573_6361_6c61_7465;

/// How long a PostgreSQL [`WriteLock`] is held at most: a command that
/// waits for it without a timeout then ends, and its test fails on the
/// wait instead of hanging the suite.
const PG_LOCK_WATCHDOG: std::time::Duration = std::time::Duration::from_secs(20);

/// Another connection holding an [`Env`]'s write lock until
/// [`WriteLock::release`] (see [`Env::hold_write_lock`]).
pub enum WriteLock {
    Lite(rusqlite::Connection),
    /// A thread holding the lock until told, or [`PG_LOCK_WATCHDOG`].
    Pg(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>),
}

impl WriteLock {
    /// A thread of its own takes the PostgreSQL lock on `url` (returns
    /// once it holds it) and lets it go when released or at the watchdog.
    fn pg(url: String) -> WriteLock {
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut client =
                postgres::Client::connect(&url, postgres::NoTls).expect("connect to lock");
            client
                .batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"
                ))
                .expect("lock");
            locked_tx.send(()).expect("say locked");
            let _ = released.recv_timeout(PG_LOCK_WATCHDOG);
            client.batch_execute("ROLLBACK").expect("unlock");
        });
        locked.recv().expect("the lock was taken");
        WriteLock::Pg(release, holder)
    }

    pub fn release(self) {
        match self {
            WriteLock::Lite(c) => c.execute_batch("ROLLBACK").expect("unlock"),
            WriteLock::Pg(release, holder) => {
                let _ = release.send(());
                holder.join().expect("lock holder");
            }
        }
    }
}

/// A port with nothing listening on it (bound, then dropped): connections
/// to it are refused.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A point in simulated time for `--now`: minutes after [`t0`] (`240`), an
/// offset from it (`"+4h"`, `"-2d"`, `"+1h30m"`, `"+90s"`), or any other
/// text passed through verbatim (`"2026-03-29T03:30:00+02:00"`).
pub trait When {
    fn now(&self) -> String;
}

impl When for i64 {
    fn now(&self) -> String {
        at_minutes(*self)
    }
}

impl When for i32 {
    fn now(&self) -> String {
        at_minutes(i64::from(*self))
    }
}

impl When for &str {
    fn now(&self) -> String {
        let (sign, rest) = match self.as_bytes().first() {
            Some(b'+') => (1, &self[1..]),
            Some(b'-') => (-1, &self[1..]),
            _ => return self.to_string(),
        };
        let mut seconds = 0i64;
        let mut digits = String::new();
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let n: i64 = digits
                .parse()
                .unwrap_or_else(|_| panic!("bad offset {self:?}"));
            digits.clear();
            seconds += n * match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => panic!("bad unit in offset {self:?}"),
            };
        }
        assert!(digits.is_empty(), "offset {self:?} lacks a unit");
        rfc(t0() + TimeDelta::seconds(sign * seconds))
    }
}

impl When for String {
    fn now(&self) -> String {
        self.as_str().now()
    }
}

/// A temp directory with `chains.toml` (and, once initialised, the
/// database `escalation.db`), and environment variables for every command
/// run in it.
pub struct Env {
    pub dir: TempDir,
    /// Extra environment variables for every command (per test, unlike
    /// `std::env::set_var`, which races between parallel tests).
    vars: std::cell::RefCell<Vec<(String, String)>>,
    /// On the PostgreSQL run, this environment's own database (dropped
    /// with it); its URL is in `vars` as `ESCALATE_DB`.
    pub pg: Option<pg::Db>,
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

    /// No panic: not the panic exit code, no panic message, no backtrace
    /// or hint for one.
    pub fn no_panic(&self) -> &Run {
        assert_ne!(self.code, 101, "panic exit code: {self:?}");
        assert!(!self.stderr.contains("panicked"), "panic: {self:?}");
        assert!(
            !self.stderr.contains("stack backtrace"),
            "backtrace: {self:?}"
        );
        assert!(
            !self.stderr.contains("RUST_BACKTRACE"),
            "panic hint: {self:?}"
        );
        self
    }

    /// Waits for a child started with [`Test::spawn`].
    pub fn wait(child: Child) -> Run {
        Run::from(child.wait_with_output().expect("wait for escalate"))
    }

    /// [`Run::wait`], but a child still running after `limit` is killed
    /// and the test fails: for commands that must not hang (their output
    /// must fit the pipes, a few lines).
    pub fn wait_at_most(mut child: Child, limit: std::time::Duration) -> Run {
        let deadline = std::time::Instant::now() + limit;
        while child.try_wait().expect("poll escalate").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let r = Run::wait(child);
                panic!("escalate still running after {limit:?} (killed): {r:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Run::wait(child)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Env {
    /// The starter config and an initialised database.
    pub fn new() -> Env {
        Env::init(STARTER)
    }

    /// `toml` as the config, and an initialised database.
    pub fn init(toml: &str) -> Env {
        let env = Env::with_config(toml);
        env.run(&["init"]).ok();
        env
    }

    /// A config file only (no database yet).
    pub fn with_config(toml: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("chains.toml"), toml).expect("write config");
        Env::in_dir(dir)
    }

    /// An empty directory: no config, no database.
    pub fn empty() -> Env {
        Env::in_dir(tempfile::tempdir().expect("tempdir"))
    }

    /// `toml` as the config, on a fresh database of the PostgreSQL server
    /// at `admin`, whichever store this run is on (not initialised).
    pub fn on_postgres(toml: &str, admin: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("chains.toml"), toml).expect("write config");
        let db = pg::Db::fresh(admin);
        Env {
            dir,
            vars: std::cell::RefCell::new(vec![("ESCALATE_DB".to_string(), db.url.clone())]),
            pg: Some(db),
        }
    }

    fn in_dir(dir: TempDir) -> Env {
        let pg = pg::server().map(|admin| pg::Db::fresh(&admin));
        let vars = pg
            .iter()
            .map(|db| ("ESCALATE_DB".to_string(), db.url.clone()))
            .collect();
        Env {
            dir,
            vars: std::cell::RefCell::new(vars),
            pg,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("escalation.db")
    }

    /// Another connection holding the write lock of this environment's
    /// database (writers wait for it, readers go on): on SQLite a `BEGIN
    /// EXCLUSIVE` ([`hold_write_lock`]), on PostgreSQL the advisory lock
    /// escalate's writers take, in an open transaction (for 20 s at most).
    pub fn hold_write_lock(&self) -> WriteLock {
        match &self.pg {
            Some(db) => WriteLock::pg(db.url.clone()),
            None => WriteLock::Lite(hold_write_lock(&self.db())),
        }
    }

    /// What `--db` names for this environment's database, for opening the
    /// store in-process: its PostgreSQL URL on that run, else the file.
    pub fn location(&self) -> PathBuf {
        match &self.pg {
            Some(db) => PathBuf::from(&db.url),
            None => self.db(),
        }
    }

    pub fn set_var(&self, key: &str, value: &str) {
        self.vars
            .borrow_mut()
            .push((key.to_string(), value.to_string()));
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.path("chains.toml"), toml).expect("write config");
    }

    /// A command in this directory (see [`Test`]).
    pub fn test(&self) -> Test<'_> {
        Test::home(Home::Borrowed(self))
    }

    /// The bare `Command` for `args` (no `--now`), for custom plumbing.
    pub fn command(&self, args: &[&str]) -> Command {
        self.test().args(args).command()
    }

    /// Runs `args`; checks only that nothing panicked.
    pub fn run(&self, args: &[&str]) -> Run {
        self.test().args(args).any_code().run()
    }

    /// Runs `args` with `--now` at `when`; checks only that nothing
    /// panicked.
    pub fn at(&self, when: impl When, args: &[&str]) -> Run {
        self.test().at(when).args(args).any_code().run()
    }

    /// File an issue at `when`; returns its id.
    pub fn create(&self, when: impl When, chain: &str, title: &str) -> i64 {
        let r = self
            .test()
            .at(when)
            .args(["create", "--chain", chain, "--title", title])
            .run();
        r.stdout
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("id ({e}): {r:?}"))
    }

    /// `show ID --json`.
    pub fn show(&self, id: i64) -> Value {
        self.run(&["show", &id.to_string(), "--json"]).ok().json()
    }

    /// The kinds of issue `id`'s events, in order.
    pub fn kinds(&self, id: i64) -> Vec<String> {
        self.events(id)
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Issue `id`'s events (`show --json`).
    pub fn events(&self, id: i64) -> Vec<Value> {
        self.show(id)["events"].as_array().expect("events").clone()
    }

    /// `outbox --status STATUS --limit 0 --json`: the rows.
    pub fn outbox(&self, status: &str) -> Vec<Value> {
        self.run(&["outbox", "--status", status, "--limit", "0", "--json"])
            .ok()
            .json()
            .as_array()
            .expect("outbox rows")
            .clone()
    }

    pub fn bytes(&self, p: &Path) -> Vec<u8> {
        std::fs::read(p).expect("read file")
    }

    /// Everything the database holds, for "nothing changed" and "the secret
    /// is not stored" checks on either store: on SQLite the file's bytes
    /// then its WAL's (empty when absent), as escalate keeps the WAL between
    /// runs; on PostgreSQL a deterministic dump of every table.
    pub fn state(&self) -> Vec<u8> {
        if let Some(db) = &self.pg {
            return pg::dump(&mut db.client());
        }
        let mut out = std::fs::read(self.db()).expect("read database");
        out.extend(std::fs::read(self.path("escalation.db-wal")).unwrap_or_default());
        out
    }
}

/// Where a [`Test`] runs: a directory of its own or a test's [`Env`].
enum Home<'e> {
    Owned(Env),
    Borrowed(&'e Env),
}

/// What an output stream must (not) contain.
#[derive(Clone, Debug)]
enum Expect {
    Has(String),
    Lacks(String),
    Is(String),
}

impl Expect {
    fn check(&self, stream: &str, text: &str, run: &Run) {
        match self {
            Expect::Has(s) => assert!(text.contains(s.as_str()), "{stream} lacks {s:?}: {run:?}"),
            Expect::Lacks(s) => assert!(!text.contains(s.as_str()), "{stream} has {s:?}: {run:?}"),
            Expect::Is(s) => assert_eq!(text, s, "{stream} of {run:?}"),
        }
    }
}

/// One run of the binary: what to run, where and when, and what must come
/// out. Built with [`Test::new`] (a directory of its own) or [`Env::test`].
#[must_use = "a Test does nothing until `.run()`"]
pub struct Test<'e> {
    home: Home<'e>,
    /// The config to write before running (`Test::new`: the starter).
    config: Option<String>,
    /// Run `escalate init` first (a directory of its own only).
    init: bool,
    args: Vec<OsString>,
    now: Option<String>,
    vars: Vec<(String, String)>,
    bin: Option<PathBuf>,
    #[cfg(unix)]
    user: Option<u32>,
    /// `None`: any exit code.
    code: Option<i32>,
    stdout: Vec<Expect>,
    stderr: Vec<Expect>,
    one_line_error: Option<String>,
}

impl Test<'static> {
    /// A directory of its own with the starter config, initialised (the
    /// database is made) when the test runs; see [`Test::config`] and
    /// [`Test::no_db`].
    pub fn new() -> Test<'static> {
        let mut test = Test::home(Home::Owned(Env::empty()));
        test.config = Some(STARTER.to_string());
        test.init = true;
        test
    }

    /// No database: only the config is written (a directory of its own).
    pub fn no_db(mut self) -> Self {
        self.init = false;
        self
    }
}

impl<'e> Test<'e> {
    fn home(home: Home<'e>) -> Test<'e> {
        Test {
            home,
            config: None,
            init: false,
            args: Vec::new(),
            now: None,
            vars: Vec::new(),
            bin: None,
            #[cfg(unix)]
            user: None,
            code: Some(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            one_line_error: None,
        }
    }

    fn place(&self) -> &Env {
        match &self.home {
            Home::Owned(env) => env,
            Home::Borrowed(env) => env,
        }
    }

    /// The config to write as `chains.toml` before the command runs.
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.to_string());
        self
    }

    /// `--now` for this time (see [`When`]), before the other arguments.
    pub fn at(mut self, when: impl When) -> Self {
        self.now = Some(when.now());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable for this command only.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    /// Run this binary instead of the one cargo built.
    pub fn bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.bin = Some(path.into());
        self
    }

    /// Run as this user (and the group of the same id).
    #[cfg(unix)]
    pub fn user(mut self, uid: u32) -> Self {
        self.user = Some(uid);
        self
    }

    /// The exit code the command must end with (default 0).
    pub fn code(mut self, code: i32) -> Self {
        self.code = Some(code);
        self
    }

    /// Any exit code will do (a panic still fails).
    pub fn any_code(mut self) -> Self {
        self.code = None;
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Self {
        self.stdout.push(Expect::Has(text.to_string()));
        self
    }

    pub fn stdout_lacks(mut self, text: &str) -> Self {
        self.stdout.push(Expect::Lacks(text.to_string()));
        self
    }

    /// Stdout must be exactly `text`.
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout.push(Expect::Is(text.to_string()));
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Self {
        self.stderr.push(Expect::Has(text.to_string()));
        self
    }

    pub fn stderr_lacks(mut self, text: &str) -> Self {
        self.stderr.push(Expect::Lacks(text.to_string()));
        self
    }

    /// Stderr must be exactly `text`.
    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr.push(Expect::Is(text.to_string()));
        self
    }

    /// The one-line error contract: stderr is a single `escalate: …` line
    /// containing `fragment` (see [`Run::one_line_error`]).
    pub fn one_line_error(mut self, fragment: &str) -> Self {
        self.one_line_error = Some(fragment.to_string());
        self
    }

    /// Writes the config and makes the database, as asked.
    fn prepare(&mut self) {
        if let Some(toml) = self.config.take() {
            self.place().write_config(&toml);
        }
        if std::mem::take(&mut self.init) {
            self.place().run(&["init"]).ok();
        }
    }

    /// The command as it will run (config and database prepared).
    fn build(&mut self) -> Command {
        self.prepare();
        let env = self.place();
        let mut cmd = Command::new(self.bin.as_deref().unwrap_or(Path::new(BIN)));
        if let Some(now) = &self.now {
            cmd.arg("--now").arg(now);
        }
        cmd.args(&self.args)
            .current_dir(env.dir.path())
            .env_remove("ESCALATE_NOW")
            .env_remove("ESCALATE_CONFIG")
            .env_remove("ESCALATE_DB")
            .env_remove("ESCALATE_BUSY_TIMEOUT")
            .env("USER", "tester")
            .stdin(Stdio::null());
        for (k, v) in env.vars.borrow().iter().chain(&self.vars) {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        if let Some(uid) = self.user {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(uid);
        }
        cmd
    }

    /// A command that outlives this `Test` needs a directory that does:
    /// one of an [`Env`].
    fn outliving(mut self, what: &str) -> Command {
        assert!(
            matches!(self.home, Home::Borrowed(_)),
            "{what} needs an Env (`env.test()`): the directory of a `Test::new()` goes with it"
        );
        self.build()
    }

    /// The bare `Command`, for custom plumbing (from [`Env::test`] only).
    pub fn command(self) -> Command {
        self.outliving("command()")
    }

    /// Starts the command with stdout and stderr piped; finish it with
    /// [`Run::wait`]. Nothing is checked. From [`Env::test`] only.
    pub fn spawn(self) -> Child {
        self.outliving("spawn()")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn escalate")
    }

    /// Starts the command with stdout and stderr discarded (a child to be
    /// killed, whose output does not matter). From [`Env::test`] only.
    pub fn spawn_silent(self) -> Child {
        self.outliving("spawn_silent()")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn escalate")
    }

    /// Runs the command and returns what came out, or why it could not be
    /// started. Nothing is checked.
    pub fn output(mut self) -> std::io::Result<Run> {
        // `self` (and a directory of its own) lives until the command ends.
        self.build().output().map(Run::from)
    }

    /// Runs the command and checks the expectations: the exit code (0
    /// unless told), the streams, the one-line error, and never a panic.
    pub fn run(self) -> Run {
        let code = self.code;
        let (stdout, stderr) = (self.stdout.clone(), self.stderr.clone());
        let one_line = self.one_line_error.clone();
        let r = self.output().expect("run escalate");
        r.no_panic();
        if let Some(code) = code {
            assert_eq!(r.code, code, "expected exit {code}: {r:?}");
        }
        for e in &stdout {
            e.check("stdout", &r.stdout, &r);
        }
        for e in &stderr {
            e.check("stderr", &r.stderr, &r);
        }
        match one_line {
            Some(fragment) => r.one_line_error(&fragment),
            None => r,
        }
    }
}

/// Console notification lines that page a level (escalations, repeats and
/// ack-lapse re-pages): (issue id, level) for each.
pub fn pages(text: &str) -> Vec<(i64, u32)> {
    text.lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("[ESCALATION Level ")
                .or_else(|| l.strip_prefix("[ACK LAPSED: re-notifying level "))?;
            let (level, rest) = rest.split_once([']', ','])?;
            let id = rest.split_once("Issue #")?.1.split_once(':')?.0;
            Some((id.parse().ok()?, level.trim().parse().ok()?))
        })
        .collect()
}
