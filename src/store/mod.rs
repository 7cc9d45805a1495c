//! SQLite storage: opening (WAL, busy timeout, file mode 0600), embedded
//! migrations, and transactions. The only module that speaks SQL.
//!
//! The WAL is persistent: a process closes without checkpointing, and the
//! `-wal`/`-shm` files stay beside the database between runs, holding the
//! latest commits until a checkpoint copies them into the database file:
//! `check` does one after its run once the WAL passes 1 MiB, and SQLite's
//! automatic one (in whichever command commits past 16 MiB) is the
//! backstop. A command then costs one fsync per commit (`synchronous =
//! FULL`), not five (a new WAL's header and directory entry, the commit,
//! and a checkpoint's WAL and database syncs at close). The database is the
//! file *and* its WAL: copy both, or use `sqlite3 DB ".backup COPY"`.

pub mod copy;
pub mod digest;
pub mod events;
pub mod health;
pub mod ingested;
pub mod issues;
pub mod links;
pub mod metrics;
pub mod oncall;
pub mod open_counts;
pub mod outbox;
pub mod pg;
pub mod pg_target;
pub mod pg_watch;
pub mod report;
pub mod rollups;
pub mod sql;
pub mod sql_pg;
pub mod stays;
pub mod subscriptions;

pub use issues::{IssueFilter, NewIssue};
pub use outbox::{NewDelivery, OutboxRow};
pub use pg_target::{is_url as is_postgres_url, redact as redact_url};
pub use report::{LevelReached, ReportRow};

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::DateTime;
use include_dir::{include_dir, Dir};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::error::{database, Error};
use crate::model::Ts;

static MIGRATIONS_DIR: Dir = include_dir!("$CARGO_MANIFEST_DIR/migrations");

static MIGRATIONS: LazyLock<Migrations<'static>> =
    LazyLock::new(|| Migrations::new(numbered().into_iter().map(|(_, up)| M::up(up)).collect()));

/// SQLite's migrations in order: `migrations/NN-name/up.sql`
/// (`migrations/postgres/` holds PostgreSQL's own).
fn numbered() -> Vec<(&'static str, &'static str)> {
    steps(&MIGRATIONS_DIR)
}

/// The migration steps in `dir`, in order: its subdirectories whose names
/// begin with a digit, each with an `up.sql`, as (name, SQL).
pub(in crate::store) fn steps(dir: &'static Dir<'static>) -> Vec<(&'static str, &'static str)> {
    let mut steps: Vec<&Dir<'static>> = dir
        .dirs()
        .filter(|d| {
            d.path()
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    steps.sort_by_key(|d| d.path());
    steps
        .into_iter()
        .filter_map(|d| {
            let name = d.path().file_name()?.to_str()?;
            let up = d.get_file(d.path().join("up.sql"))?.contents_utf8()?;
            Some((name, up))
        })
        .collect()
}

/// One hour in milliseconds: the bucket of the digest's `open_hours`
/// (09-digest) and of the report's rollups (10-rollups), whose SQL
/// computes the same `at / 3600000`.
pub const HOUR_MS: i64 = 3_600_000;

/// Default time to wait for another process's write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this build writes.
pub fn latest_version() -> usize {
    numbered().len()
}

/// Whether `open` may create the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Create,
    Existing,
    /// An existing database for reading only (list, show, report…): a
    /// file we may not write is still readable, opened immutable so no
    /// -wal/-shm files are created beside it.
    Read,
}

/// One transaction as the layers above see it: opaque. Only `store`
/// reaches the connection inside, so no SQL and no database type leaves
/// this module (the architecture test holds the rest of the crate to
/// that). Underneath is a SQLite or a PostgreSQL transaction; the
/// statement API ([`sql`]) runs the same SQL on either.
pub struct Tx<'c>(TxOn<'c>);

pub(in crate::store) enum TxOn<'c> {
    Lite(Transaction<'c>),
    Pg(sql_pg::PgTx<'c>),
}

impl<'c> Tx<'c> {
    fn lite(tx: Transaction<'c>) -> Tx<'c> {
        Tx(TxOn::Lite(tx))
    }

    pub(in crate::store) fn pg(tx: sql_pg::PgTx<'c>) -> Tx<'c> {
        Tx(TxOn::Pg(tx))
    }

    /// Which database this transaction is on, for the few statements each
    /// spells its own way.
    pub(in crate::store) fn on(&self) -> &TxOn<'c> {
        &self.0
    }

    /// Whether this transaction is on PostgreSQL: the few statements that
    /// need a function SQLite and PostgreSQL spell differently (a JSON
    /// array's elements) choose by it.
    pub(in crate::store) fn is_pg(&self) -> bool {
        matches!(self.0, TxOn::Pg(_))
    }

    /// The PostgreSQL transaction back, to commit or roll back.
    pub(in crate::store) fn into_pg(self) -> sql_pg::PgTx<'c> {
        match self.0 {
            TxOn::Pg(tx) => tx,
            // Only PgStore makes a Tx it takes back, and it makes Pg ones.
            TxOn::Lite(_) => unreachable!("a SQLite transaction handed to the PostgreSQL store"),
        }
    }

    fn into_lite(self) -> Transaction<'c> {
        match self.0 {
            TxOn::Lite(tx) => tx,
            TxOn::Pg(_) => unreachable!("a PostgreSQL transaction handed to the SQLite store"),
        }
    }

    /// The SQLite transaction, for the statements not yet on the
    /// statement API (being ported).
    pub(in crate::store) fn db(&self) -> &Transaction<'c> {
        match &self.0 {
            TxOn::Lite(tx) => tx,
            TxOn::Pg(_) => unreachable!("internal: a SQLite-only statement ran on PostgreSQL"),
        }
    }

    /// The SQLite transaction underneath (None on PostgreSQL), for tests
    /// and tools outside the crate that check the schema against a
    /// recomputation. Nothing in `src/` outside `store` calls it (the
    /// architecture test).
    pub fn sqlite(&self) -> Option<&Transaction<'c>> {
        match &self.0 {
            TxOn::Lite(tx) => Some(tx),
            TxOn::Pg(_) => None,
        }
    }
}

/// The SQLite store (the embedded default).
pub struct LiteStore {
    conn: Connection,
    path: PathBuf,
    /// How long to wait for another process's lock (restored after
    /// [`Store::checkpoint_and_truncate`], which does not wait).
    busy_timeout: Duration,
}

impl LiteStore {
    /// Open (or with `OpenMode::Create`, create) a database and bring its
    /// schema up to date. A database from a newer escalate, or a SQLite file
    /// that is not ours, is refused before anything is written to it.
    pub fn open(path: &Path, mode: OpenMode, busy_timeout: Duration) -> Result<LiteStore> {
        let shown = path.display();
        if mode != OpenMode::Create && !path.exists() {
            return Err(database(format!(
                "database {shown} does not exist (run `escalate init`, or pass --db)"
            )));
        }
        if mode == OpenMode::Create && !path.exists() {
            create_private(path)
                .map_err(|e| database(format!("cannot create database {shown}: {e}")))?;
        }
        if mode != OpenMode::Create {
            // Refuse before SQLite opens it: a read-only file would get
            // read-only -wal/-shm files beside it that outlive a chmod, and
            // an empty file (truncated?) would silently become a new,
            // empty history.
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
            {
                Ok(f) => {
                    if f.metadata().map(|m| m.len()).unwrap_or(1) == 0 {
                        return Err(database(format!(
                            "database {shown} is an empty file (0 bytes): not an escalate \
                             database — restore it from a backup, or remove it and run \
                             `escalate init`"
                        )));
                    }
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::PermissionDenied
                        && mode == OpenMode::Read =>
                {
                    return LiteStore::open_immutable(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(database(format!(
                        "database {shown} is read-only (permission denied); nothing was changed"
                    )));
                }
                Err(e) => return Err(database(format!("cannot open database {shown}: {e}"))),
            }
        }
        // Where SQLite puts the WAL: beside the real file, symlinks
        // resolved (as its unix VFS does).
        let wal = wal_path(&real_path(path));
        let wal_before = file_identity(&wal);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| database(format!("cannot open database {shown}: {e}")))?;
        conn.busy_timeout(busy_timeout)
            .map_err(|e| database(format!("database {shown}: {e}")))?;
        // The WAL outlives the process (see the module docs): a clean
        // close leaves it as it is instead of copying it into the database
        // (a WAL and a database fsync per command, and a new WAL with its
        // header and directory synced by the next one).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| database(format!("database {shown}: {e}")))?;
        // Room for every statement one command prepares (the default 16
        // made a check re-prepare statements it had just evicted).
        conn.set_prepared_statement_cache_capacity(64);
        #[cfg(test)]
        vm_work::install(&conn);
        let mut store = LiteStore {
            conn,
            path: path.to_path_buf(),
            busy_timeout,
        };
        store.prepare(mode)?;
        if wal.exists() && file_identity(&wal) != wal_before {
            // This process made the WAL (or another closed, deleted and
            // left it to be made again while we opened): make its
            // directory entry durable before anything commits into it
            // (SQLite is built without its own per-process directory sync,
            // `.cargo/config.toml`).
            sync_dir(&wal).map_err(|e| database(format!("database {shown}: {e}")))?;
        }
        Ok(store)
    }

    /// A fresh in-memory database with the real migrations (for tests).
    pub fn open_in_memory() -> Result<LiteStore> {
        let conn = Connection::open_in_memory()?;
        let mut store = LiteStore {
            conn,
            path: PathBuf::from(":memory:"),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        store.prepare(OpenMode::Create)?;
        Ok(store)
    }

    /// A database file we may not write, for reading. The WAL is kept
    /// between runs, so recent commits may be only there: with a WAL and
    /// its index beside the file, read through them (read-only, creating
    /// nothing). Otherwise `immutable=1` tells SQLite nobody changes the
    /// file, so it needs no -wal/-shm files or locks.
    fn open_immutable(path: &Path) -> Result<LiteStore> {
        let shown = path.display();
        let absolute = std::fs::canonicalize(path)
            .map_err(|e| database(format!("cannot open database {shown}: {e}")))?;
        let file = absolute
            .to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        let wal = wal_path(&absolute);
        let mut shm = absolute.as_os_str().to_owned();
        shm.push("-shm");
        let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let through_wal = (wal_len > 0 && Path::new(&shm).exists())
            .then(|| Connection::open_with_flags(format!("file:{file}?mode=ro"), flags).ok())
            .flatten()
            .filter(|c| {
                c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                    .is_ok()
            });
        let conn = match through_wal {
            Some(conn) => conn,
            None => Connection::open_with_flags(format!("file:{file}?immutable=1"), flags)
                .map_err(|e| database(format!("cannot open database {shown}: {e}")))?,
        };
        let store = LiteStore {
            conn,
            path: path.to_path_buf(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        let version: usize = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| store.classify(e))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))?;
        if version != latest_version() {
            return Err(database(format!(
                "database {shown} is read-only and at schema version {version}, not {}: \
                 it cannot be read without upgrading it (make it writable once)",
                latest_version()
            )));
        }
        Ok(store)
    }

    /// The query plan of `sql` as one line (for tests that pin index use).
    #[cfg(test)]
    pub(crate) fn explain(&self, sql: &str, params: impl rusqlite::Params) -> String {
        let mut stmt = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let rows = stmt
            .query_map(params, |r| r.get::<_, String>(3))
            .expect("query")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("rows");
        rows.join(" / ")
    }

    /// Keep statement journals in memory, for large batches (`ingest`): a
    /// statement that may change several rows (a resolve cancelling an
    /// issue's pending rows) copies each page it first touches into one,
    /// a temp file otherwise. Only for such batches: it also keeps temp
    /// tables and sort spills in memory, which `report` must not do.
    pub fn statement_journal_in_memory(&self) -> Result<()> {
        self.conn
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| self.classify(e))
    }

    /// A page cache large enough for a batch of ~200,000 new tickets
    /// (`ingest`; a ceiling, not an allocation): a batch is one
    /// transaction, and past the 16 MiB of [`Store::open`] SQLite spills
    /// its dirty pages into the WAL mid-transaction, then reads them back
    /// and writes them again as the batch touches them (100,000 tickets:
    /// twice the page writes, 68,000 reads).
    pub fn batch_cache(&self) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -BATCH_CACHE_KIB)
            .map_err(|e| self.classify(e))
    }

    /// No automatic checkpoint in this process's commits (`ingest`: its
    /// batch commit would copy the whole batch into the file before the
    /// first page goes out, and the delivery records' commit copy much
    /// of it again); the command calls [`Store::checkpoint_and_truncate`]
    /// when it is done.
    pub fn defer_checkpoints(&self) -> Result<()> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| self.classify(e))
    }

    /// Copy the WAL into the database file and empty it, unless another
    /// process is reading or writing it (then as much as can be copied
    /// without waiting for them): after a large batch, the next process
    /// opens an empty WAL instead of reading and checksumming the batch
    /// (see [`CHECKPOINT_FROM`]). The next commit writes and syncs a new
    /// WAL header.
    pub fn checkpoint_and_truncate(&self) -> Result<()> {
        let wal = std::fs::metadata(wal_path(&real_path(&self.path))).map_or(0, |m| m.len());
        if wal <= CHECKPOINT_FROM {
            return Ok(());
        }
        let classify = |e| self.classify(e);
        self.conn.busy_timeout(Duration::ZERO).map_err(classify)?;
        let done = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(classify);
        self.conn
            .busy_timeout(self.busy_timeout)
            .map_err(classify)?;
        done
    }

    /// [`Store::write`] without waiting for another writer: when the lock
    /// is taken, fail at once (busy) instead of after the busy timeout.
    /// For work that may be skipped, such as the report's fold.
    pub fn write_if_free<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        self.conn
            .busy_timeout(Duration::ZERO)
            .map_err(|e| self.classify(e))?;
        let done = self.write(f);
        self.conn
            .busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        done
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn prepare(&mut self, mode: OpenMode) -> Result<()> {
        let shown = self.path.display().to_string();
        let version: usize = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.classify(e))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))?;
        let latest = latest_version();
        if version > latest {
            return Err(database(format!(
                "database {shown} has schema version {version}, newer than this escalate \
                 understands ({latest}); upgrade escalate (the database was not touched)"
            )));
        }
        // Whose file is it? Checked before anything is written (WAL mode
        // included): ours has no tables yet (version 0, a new file) or all
        // of the core ones.
        let (tables, ours): (i64, i64) = self
            .conn
            .query_row(
                "SELECT count(*), coalesce(sum(name IN ('issues', 'events', 'outbox', 'chains')), 0) \
                 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.classify(e))?;
        let foreign = if version == 0 { tables > 0 } else { ours < 4 };
        if foreign {
            return Err(database(format!(
                "{shown} is a SQLite database but not an escalate one (it was not touched)"
            )));
        }
        if version == 0 && mode == OpenMode::Existing {
            return Err(database(format!(
                "database {shown} has no escalate schema (an empty SQLite file); run \
                 `escalate init` to set it up"
            )));
        }
        // WAL lets readers (list, show, report) run beside a check; FULL
        // sync because a committed decision must survive a power cut.
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| self.classify(e))?;
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.classify(e))?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| self.classify(e))?;
        // The WAL is kept between runs; after a checkpoint, a file grown by
        // a large batch (a 100,000-issue check) is cut back to this.
        self.conn
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(|e| self.classify(e))?;
        // `check` checkpoints (see `checkpoint_if_large`), so the command
        // that crosses SQLite's default 1,000 pages is rarely an operator's
        // `ack`; this is the backstop where no check runs.
        self.conn
            .pragma_update(None, "wal_autocheckpoint", AUTO_CHECKPOINT_PAGES)
            .map_err(|e| self.classify(e))?;
        // A 16 MiB page cache (SQLite's default is 2 MiB): a batch of
        // 100,000 ingested tickets or a month's report otherwise spills and
        // re-reads the same pages over and over. It is a ceiling, not an
        // allocation.
        self.conn
            .pragma_update(None, "cache_size", -16384)
            .map_err(|e| self.classify(e))?;
        if version < latest {
            // Two processes may race to migrate a new file: the loser's
            // attempt fails, after which the schema is simply current.
            self.conn
                .set_transaction_behavior(TransactionBehavior::Immediate);
            let result = MIGRATIONS.to_latest(&mut self.conn);
            self.conn
                .set_transaction_behavior(TransactionBehavior::Deferred);
            if let Err(e) = result {
                let now: i64 = self
                    .conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(|e| self.classify(e))?;
                if usize::try_from(now).ok() != Some(latest) {
                    // The migration error quotes whole SQL scripts: one line.
                    let first = e.to_string();
                    let first: String = first
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect();
                    return Err(database(format!(
                        "cannot migrate database {shown}: {first}"
                    )));
                }
            }
        }
        // After the migrations, which keep every CHECK. The schema's CHECKs
        // on status columns (`status IN ('pending', 'sent', 'dead',
        // 'cancelled')`…) make SQLite build a temporary B-tree for each
        // list of more than two values, on every insert or status update:
        // five per ingested ticket, a quarter of a batch's time. Every value escalate writes there comes from a Rust enum
        // (`as_str`) or a literal in this module, so release builds trust
        // that; debug builds (every test) keep the CHECKs, and they still
        // hold for any other program that writes the file.
        if !cfg!(debug_assertions) {
            self.conn
                .pragma_update(None, "ignore_check_constraints", "ON")
                .map_err(|e| self.classify(e))?;
        }
        Ok(())
    }

    /// Run `f` in one write transaction (BEGIN IMMEDIATE): concurrent writers
    /// serialize on it, so two checks never decide the same thing twice.
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let tx = Tx::lite(
            self.conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| classify(&self.path, e))?,
        );
        // The open-issue counts the writes moved are summed in memory and
        // written once, here (`open_counts`); a failed `f` leaves none.
        open_counts::discard();
        let value = f(&tx)
            .and_then(|v| open_counts::flush(&tx).map(|()| v))
            .map_err(|e| {
                open_counts::discard();
                reclassify(&self.path, e)
            })?;
        tx.into_lite()
            .commit()
            .map_err(|e| classify(&self.path, e))?;
        Ok(value)
    }

    /// [`Store::write`] for a record whose loss in a power cut costs only
    /// itself (a check's run record): committed without waiting for the
    /// disk (`synchronous = NORMAL` for this one transaction). It is still
    /// atomic and survives the process being killed; the next command's
    /// synced commit, or a checkpoint, makes it durable. Decisions and
    /// delivery records never go through here: they must be on disk before
    /// anything acts on them.
    pub fn write_unsynced<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        self.set_synchronous("NORMAL")?;
        let result = self.write(f);
        self.set_synchronous("FULL")?;
        result
    }

    fn set_synchronous(&self, level: &str) -> Result<()> {
        self.conn
            .pragma_update(None, "synchronous", level)
            .map_err(|e| self.classify(e))
    }

    /// Copy the WAL into the database file when it holds more than
    /// [`CHECKPOINT_FROM`] bytes (`check` calls this after its run, so cron
    /// pays for checkpoints, not the next operator's command). Passive: it
    /// never waits for readers, and stops where one still needs a page.
    /// The WAL is reused from its start (and cut back to that size) only
    /// by the next commit on this connection: a later process rebuilds the
    /// WAL's index at open and takes every frame for not yet copied, so
    /// commit something after this (`check`'s run record).
    pub fn checkpoint_if_large(&self) -> Result<()> {
        let wal = std::fs::metadata(wal_path(&real_path(&self.path))).map_or(0, |m| m.len());
        if wal <= CHECKPOINT_FROM {
            return Ok(());
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|e| self.classify(e))
    }

    /// Run `f` in a transaction that is always rolled back (dry runs).
    pub fn rehearse<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        // Immediate, like a real run: the rehearsal writes (then rolls
        // back), and upgrading a read transaction under a lock fails at
        // once instead of waiting out the busy timeout.
        let tx = Tx::lite(
            self.conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| classify(&self.path, e))?,
        );
        let value = f(&tx);
        // Nothing it moved is kept.
        open_counts::discard();
        let value = value.map_err(|e| reclassify(&self.path, e))?;
        tx.into_lite()
            .rollback()
            .map_err(|e| classify(&self.path, e))?;
        Ok(value)
    }

    /// Run `f` on a consistent read snapshot.
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let tx = Tx::lite(
            self.conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(|e| classify(&self.path, e))?,
        );
        let value = f(&tx).map_err(|e| reclassify(&self.path, e))?;
        tx.into_lite()
            .finish()
            .map_err(|e| classify(&self.path, e))?;
        Ok(value)
    }

    fn classify(&self, e: rusqlite::Error) -> anyhow::Error {
        classify(&self.path, e)
    }
}

/// The store the commands use: the embedded SQLite file, or a PostgreSQL
/// database when `--db` is a `postgres://` URL. The SQLite-only tuning
/// calls (page cache, checkpoints) do nothing on PostgreSQL, which
/// manages its own.
pub struct Store(Backend);

// One store per process, made once: the SQLite one lives inline (the
// default, and what every test opens), the PostgreSQL one boxed.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Lite(LiteStore),
    Pg(Box<pg::PgStore>),
}

impl Store {
    /// Open (or with `OpenMode::Create`, create) the store `db` names: a
    /// `postgres://` URL, or else a SQLite file. See [`LiteStore::open`]
    /// and [`pg::PgStore::open`].
    pub fn open(db: &Path, mode: OpenMode, busy_timeout: Duration) -> Result<Store> {
        match db.to_str().filter(|d| pg_target::is_url(d)) {
            Some(url) => {
                let pg = pg::PgStore::open(url, mode, busy_timeout)?;
                Ok(Store(Backend::Pg(Box::new(pg))))
            }
            None => Ok(Store(Backend::Lite(LiteStore::open(
                db,
                mode,
                busy_timeout,
            )?))),
        }
    }

    /// A fresh in-memory SQLite database with the real migrations (tests).
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store(Backend::Lite(LiteStore::open_in_memory()?)))
    }

    /// The store as it may be shown: the SQLite path, or the URL without
    /// its password.
    pub fn shown(&self) -> String {
        match &self.0 {
            Backend::Lite(s) => s.path().display().to_string(),
            Backend::Pg(s) => s.shown().to_string(),
        }
    }

    /// The query plan of `sql` on SQLite as one line (tests that pin index
    /// use).
    #[cfg(test)]
    pub(crate) fn explain(&self, sql: &str, params: impl rusqlite::Params) -> String {
        match &self.0 {
            Backend::Lite(s) => s.explain(sql, params),
            Backend::Pg(_) => unreachable!("query plans are pinned on SQLite"),
        }
    }

    /// How many due issues one transaction of `check` decides: all of them
    /// on SQLite (one host; one fsync), batches on PostgreSQL (several
    /// hosts take turns batch by batch; see ARCHITECTURE.md).
    pub fn check_batch(&self) -> Option<usize> {
        match &self.0 {
            Backend::Lite(_) => None,
            Backend::Pg(_) => Some(pg::CHECK_BATCH),
        }
    }

    /// Whether this is the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Backend::Pg(_))
    }

    /// What opening the store found worth telling but not fatal (a
    /// PostgreSQL password file others may read); the command layer
    /// prints them.
    pub fn warnings(&self) -> &[String] {
        match &self.0 {
            Backend::Lite(_) => &[],
            Backend::Pg(s) => s.warnings(),
        }
    }

    /// The schema version of the open database (each store counts its own
    /// migrations).
    pub fn schema_version(&mut self) -> Result<usize> {
        match &mut self.0 {
            Backend::Lite(_) => Ok(latest_version()),
            Backend::Pg(s) => s.schema_version(),
        }
    }

    pub fn write<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        match &mut self.0 {
            Backend::Lite(s) => s.write(f),
            Backend::Pg(s) => s.write(f),
        }
    }

    pub fn write_unsynced<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        match &mut self.0 {
            Backend::Lite(s) => s.write_unsynced(f),
            Backend::Pg(s) => s.write_unsynced(f),
        }
    }

    pub fn write_if_free<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        match &mut self.0 {
            Backend::Lite(s) => s.write_if_free(f),
            Backend::Pg(s) => s.write_if_free(f),
        }
    }

    pub fn rehearse<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        match &mut self.0 {
            Backend::Lite(s) => s.rehearse(f),
            Backend::Pg(s) => s.rehearse(f),
        }
    }

    pub fn read<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        match &mut self.0 {
            Backend::Lite(s) => s.read(f),
            Backend::Pg(s) => s.read(f),
        }
    }

    /// See [`LiteStore::statement_journal_in_memory`].
    pub fn statement_journal_in_memory(&self) -> Result<()> {
        self.lite_only(LiteStore::statement_journal_in_memory)
    }

    /// See [`LiteStore::batch_cache`].
    pub fn batch_cache(&self) -> Result<()> {
        self.lite_only(LiteStore::batch_cache)
    }

    /// See [`LiteStore::defer_checkpoints`].
    pub fn defer_checkpoints(&self) -> Result<()> {
        self.lite_only(LiteStore::defer_checkpoints)
    }

    /// See [`LiteStore::checkpoint_and_truncate`].
    pub fn checkpoint_and_truncate(&self) -> Result<()> {
        self.lite_only(LiteStore::checkpoint_and_truncate)
    }

    /// See [`LiteStore::checkpoint_if_large`].
    pub fn checkpoint_if_large(&self) -> Result<()> {
        self.lite_only(LiteStore::checkpoint_if_large)
    }

    fn lite_only(&self, f: impl FnOnce(&LiteStore) -> Result<()>) -> Result<()> {
        match &self.0 {
            Backend::Lite(s) => f(s),
            Backend::Pg(_) => Ok(()),
        }
    }
}

/// An error from inside a transaction: when SQLite's own error underneath
/// is one of the database conditions [`classify`] knows (locked, read-only,
/// corrupt…), report that, naming the database; anything else unchanged.
fn reclassify(path: &Path, e: anyhow::Error) -> anyhow::Error {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<rusqlite::Error>())
        .and_then(rusqlite::Error::sqlite_error_code);
    match code.and_then(|c| condition(path, c, &e.to_string())) {
        Some(message) => anyhow::Error::new(Error::Database(message)),
        None => e,
    }
}

fn condition(path: &Path, code: rusqlite::ErrorCode, text: &str) -> Option<String> {
    use rusqlite::ErrorCode as E;
    let shown = path.display();
    Some(match code {
        E::DatabaseBusy | E::DatabaseLocked => {
            format!("database {shown} is locked by another process (gave up waiting)")
        }
        E::NotADatabase => format!("{shown} is not a database (file is corrupt or not SQLite)"),
        E::DatabaseCorrupt => format!("database {shown} is corrupt"),
        E::ReadOnly => format!("database {shown} is read-only"),
        E::CannotOpen | E::PermissionDenied => format!("cannot open database {shown}: {text}"),
        E::DiskFull => format!("database {shown}: the disk is full"),
        E::SystemIoFailure => format!("database {shown}: I/O error: {text}"),
        _ => return None,
    })
}

/// Turn SQLite's "busy", "not a database" and the like into one-line errors
/// with the database exit code; other errors keep their text.
pub fn classify(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    let text = e.to_string();
    match e
        .sqlite_error_code()
        .and_then(|c| condition(path, c, &text))
    {
        Some(message) => anyhow::Error::new(Error::Database(message)),
        None => anyhow::Error::new(e).context(format!("database {}", path.display())),
    }
}

/// Bytes a WAL file is cut back to after a checkpoint (`journal_size_limit`):
/// the same as [`CHECKPOINT_FROM`], so a file larger than that holds
/// commits not yet checkpointed (a file left at a big batch's size would
/// make every later `check` checkpoint).
const WAL_SIZE_LIMIT: i64 = CHECKPOINT_FROM as i64;

/// WAL size past which `check` checkpoints (about 250 pages). Every
/// process reads and checksums the whole WAL when it opens the database
/// (SQLite rebuilds the WAL's index in the first connection), ~0.3 ms per
/// MiB: an operator's `ack` pays for what piled up since the last check.
const CHECKPOINT_FROM: u64 = 1 << 20;

/// The page cache of a large batch, in KiB ([`Store::batch_cache`]).
const BATCH_CACHE_KIB: i64 = 256 << 10;

/// Pages after which any commit checkpoints (16 MiB of 4 KiB pages).
const AUTO_CHECKPOINT_PAGES: i64 = 4096;

/// `path` with symlinks resolved (as given when it cannot be).
fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A file's (device, inode), or None when it does not exist: tells a file
/// from one deleted and made again under the same name.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The WAL file beside the database at `path`.
pub fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Flush the directory holding `path` (a file created in it survives a
/// power cut).
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Create the file with mode 0600: it holds issue titles and who was paged.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Milliseconds since the Unix epoch, the storage form of every time.
pub fn ms(t: Ts) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`ms`]; a value out of chrono's range is a corrupt row.
pub fn ts(ms: i64) -> rusqlite::Result<Ts> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("timestamp {ms} out of range").into(),
        )
    })
}

pub fn ts_opt(ms: Option<i64>) -> rusqlite::Result<Option<Ts>> {
    ms.map(ts).transpose()
}

/// Test-only: how much SQLite virtual-machine work the current thread's
/// connections do, for tests that pin how a command's cost grows (the
/// `check` cost guard). Counts progress-handler calls (about one per loop
/// step: a row visited, a record written), only on connections opened by
/// [`Store::open`] inside [`vm_work::measure`].
#[cfg(test)]
pub(crate) mod vm_work {
    use std::cell::Cell;

    thread_local! {
        static STEPS: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// Run `f` and return what it returned and the VM steps it took.
    pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
        STEPS.with(|s| s.set(Some(0)));
        let value = f();
        (value, STEPS.with(Cell::take).unwrap_or(0))
    }

    pub(super) fn install(conn: &rusqlite::Connection) {
        if STEPS.with(Cell::get).is_none() {
            return;
        }
        let count = || {
            STEPS.with(|s| s.set(s.get().map(|n| n + 1)));
            false
        };
        conn.progress_handler(1, Some(count))
            .expect("installing the progress handler");
    }
}

/// Context for errors from queries.
pub(crate) trait SqlContext<T> {
    fn sql(self, what: &str) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn sql(self, what: &str) -> Result<T> {
        self.with_context(|| what.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_numbered() {
        assert!(MIGRATIONS.validate().is_ok());
        assert!(latest_version() >= 1);
        let store = LiteStore::open_in_memory().expect("opens");
        let v: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v as usize, latest_version());
    }
}

#[cfg(test)]
mod wal_tests {
    use super::*;

    /// Create the table `filler` if need be and add `rows` rows of 4,000
    /// random bytes to it.
    fn fill(store: &LiteStore, rows: u32) {
        let mut sql = String::from("CREATE TABLE IF NOT EXISTS filler (b BLOB);");
        if rows > 0 {
            sql.push_str(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
                 INSERT INTO filler SELECT randomblob(4000) FROM n"
            ));
        }
        store.conn.execute_batch(&sql).expect("rows");
    }

    fn wal_len(path: &Path) -> u64 {
        std::fs::metadata(wal_path(path)).map_or(0, |m| m.len())
    }

    /// The rows of `filler` as a new process finds them.
    fn rows_after_reopen(path: &Path) -> i64 {
        let store = LiteStore::open(path, OpenMode::Existing, DEFAULT_BUSY_TIMEOUT).expect("db");
        store
            .conn
            .query_row("SELECT count(*) FROM filler", [], |r| r.get(0))
            .expect("count")
    }

    /// Issue 15: the WAL stays after a clean close, holding the commits
    /// (the file alone is not the database), and `check`'s checkpoint
    /// copies a large WAL into the file; a small one is left alone.
    #[test]
    fn the_wal_outlives_the_process_until_a_large_one_is_checkpointed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("e.db");
        let store = LiteStore::open(&path, OpenMode::Create, DEFAULT_BUSY_TIMEOUT).expect("db");
        fill(&store, 0);
        drop(store);
        assert!(
            wal_len(&path) > 0,
            "the WAL holds the schema after a clean close"
        );
        let db_len = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let store = LiteStore::open(&path, OpenMode::Existing, DEFAULT_BUSY_TIMEOUT).expect("db");
        let before = db_len();
        store.checkpoint_if_large().expect("small: nothing to do");
        assert_eq!(db_len(), before, "a small WAL is left alone");
        fill(&store, 1500);
        assert!(wal_len(&path) > CHECKPOINT_FROM, "{}", wal_len(&path));
        assert_eq!(db_len(), before, "the rows are in the WAL only");
        store.checkpoint_if_large().expect("checkpoint");
        assert!(db_len() > before + 5_000_000, "copied into the file");
    }

    /// A complete checkpoint followed by a commit on the same connection
    /// starts the WAL over and cuts the file back, so the next process
    /// does not read and checksum every old frame when it opens the
    /// database (`check` commits its run record after its checkpoint).
    #[test]
    fn a_commit_after_the_checkpoint_starts_the_wal_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("e.db");
        let mut store = LiteStore::open(&path, OpenMode::Create, DEFAULT_BUSY_TIMEOUT).expect("db");
        fill(&store, 1500);
        assert!(wal_len(&path) > CHECKPOINT_FROM, "{}", wal_len(&path));
        store.checkpoint_if_large().expect("checkpoint");
        store
            .write(|tx| tx.exec("INSERT INTO filler VALUES (x'00')", sql::args![], "filling"))
            .expect("a commit");
        assert!(wal_len(&path) <= CHECKPOINT_FROM, "{}", wal_len(&path));
        drop(store);
        assert_eq!(rows_after_reopen(&path), 1501);
    }

    /// After a large batch (`ingest`), the WAL is copied and emptied, and
    /// the database still holds everything.
    #[test]
    fn a_large_wal_is_checkpointed_and_emptied_after_a_batch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("e.db");
        let store = LiteStore::open(&path, OpenMode::Create, DEFAULT_BUSY_TIMEOUT).expect("db");
        store.defer_checkpoints().expect("no automatic checkpoint");
        fill(&store, 5000);
        assert!(
            wal_len(&path) > 20_000_000,
            "not checkpointed at commit: {}",
            wal_len(&path)
        );
        store.checkpoint_and_truncate().expect("checkpoint");
        assert_eq!(wal_len(&path), 0);
        drop(store);
        assert_eq!(rows_after_reopen(&path), 5000);
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    /// Seed bug B11 (full table scans): the queries `check` runs on every
    /// call use their indexes, so their cost follows due work, not open issues.
    #[test]
    fn b11_check_queries_use_indexes() {
        let store = LiteStore::open_in_memory().expect("opens");
        let plan = |sql: &str| store.explain(sql, []);
        let due = plan(
            "SELECT id FROM issues WHERE next_due_at IS NOT NULL AND next_due_at <= 0 \
             ORDER BY next_due_at, id",
        );
        assert!(due.contains("INDEX issues_due"), "{due}");
        // An issue's outbox rows (resolve cancels them) through the unique
        // key's index, which leads with issue_id (11-outbox dropped the
        // index on issue_id alone).
        let by_issue = plan(
            "UPDATE outbox SET status = 'cancelled' WHERE issue_id = 1 AND status = 'pending'",
        );
        assert!(
            by_issue.contains("sqlite_autoindex_outbox_1 (issue_id=?)"),
            "{by_issue}"
        );
        // status and digest: judged at the moment the command runs, recorded or not: every
        // count reads an index range (the partial indexes of issues in
        // trouble, the running clocks past an instant, or the issues due
        // for a check), never the whole table.
        for sql in [
            digest::AT_RISK_LIVE,
            digest::BREACHED_COUNT_NOW,
            digest::AT_RISK_UNRECORDED,
            digest::BREACHED_UNRECORDED,
        ] {
            let p = store.explain(sql, [0i64]);
            let full_scan = p.split(" / ").any(|step| step.trim() == "SCAN issues");
            assert!(p.contains("INDEX") && !full_scan, "{p}");
        }
        let orphans =
            plan("SELECT count(*) FROM issues WHERE chain = 'x' AND status <> 'resolved'");
        assert!(orphans.contains("issues_open_chain"), "{orphans}");
        // The digest's backlog ages (chain, created_at of unresolved
        // issues) read this index alone (08-digest).
        let aging = plan(
            "SELECT chain, sum(created_at < 1), count(*) FROM issues \
             WHERE status <> 'resolved' GROUP BY chain",
        );
        assert!(aging.contains("issues_open_chain"), "{aging}");
        let columns: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_index_info('issues_open_chain')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("index columns");
        assert_eq!(columns, ["chain", "created_at"]);
        // The digest (09-digest): the at-risk candidates are the issues
        // recorded at risk and those due, each read by rowid; the gap
        // pages drive their join; no full scan of issues or events.
        let risk = store.explain(digest::AT_RISK_CANDIDATES, [0i64]);
        assert!(
            risk.contains("issues_open_at_risk")
                && risk.contains("issues_due")
                && risk.contains("issues USING INTEGER PRIMARY KEY"),
            "{risk}"
        );
        let gaps = store.explain(
            &format!("SELECT count(*) {}", digest::GAP_FILTER),
            rusqlite::params![0i64, 0i64, None::<i64>],
        );
        // A full scan is a step reading a table (or its alias) with no index.
        let scans = |p: &str| {
            p.split(" / ").any(|s| {
                let s = s.trim();
                ["SCAN issues", "SCAN events", "SCAN e", "SCAN i"].contains(&s)
            })
        };
        assert!(
            gaps.starts_with("SEARCH g USING INTEGER PRIMARY KEY") && !scans(&gaps),
            "{gaps}"
        );
        assert!(!scans(&risk), "{risk}");
        // The claim reads rows in the index's order and stops after its
        // batch: no sort of every pending row first.
        let pending = store.explain(
            &outbox::claim_sql(),
            rusqlite::params![0i64, None::<i64>, 0],
        );
        assert!(pending.contains("outbox_pending"), "{pending}");
        assert!(!pending.contains("TEMP B-TREE"), "{pending}");
    }
}
