//! PostgreSQL storage: connecting, the schema's own migrations
//! (migrations/postgres/), and transactions with the same guarantees the
//! SQLite store gives the layers above.
//!
//! Writers serialize, as SQLite's `BEGIN IMMEDIATE` makes them: each write
//! transaction first takes one transaction-scoped advisory lock, so two
//! checks (on one host or several) never decide the same thing twice, and
//! waits for it no longer than the busy timeout (`lock_timeout`). Readers
//! take a REPEATABLE READ snapshot and never wait. Deliveries are claimed
//! with leases in the outbox, as on SQLite, so any number of checkers can
//! send; a checker that dies leaves its claims to expire.
//!
//! Every error that means "this database cannot be used now" (refused,
//! bad password, connection lost, server shutting down, lock wait over)
//! becomes one line naming the redacted URL, with exit code 5.

use std::cell::RefCell;
use std::time::Duration;

use anyhow::Result;

use super::pg_target::{one_line, Target};
use super::pg_watch::Watch;
use super::sql_pg::{Cache, PgTx};
use super::{OpenMode, MIGRATIONS_DIR};
use crate::error::{database, Error};

/// The advisory lock every write transaction holds (any constant: it only
/// has to be the same for every escalate on this database).
pub(in crate::store) const WRITE_LOCK: i64 = 0x6573_6361_6c61_7465; // "escalate"

/// Due issues one transaction of `check` decides on PostgreSQL: small
/// enough that a host holds the write lock for tens of milliseconds, so
/// several checkers interleave; large enough that the per-transaction
/// round trips do not dominate.
pub const CHECK_BATCH: usize = 200;

/// How a write transaction goes (see [`PgStore::write_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// Committed, waiting for the disk (`synchronous_commit` on).
    Synced,
    /// Committed without waiting for the disk (a check's run record).
    Unsynced,
    /// Committed; fails at once when another writer holds the lock.
    IfFree,
    /// Rolled back (dry runs).
    Rehearsal,
}

/// The migrations for PostgreSQL, in order: `migrations/postgres/NN-name/up.sql`.
fn migrations() -> Vec<(&'static str, &'static str)> {
    MIGRATIONS_DIR
        .get_dir("postgres")
        .map(super::steps)
        .unwrap_or_default()
}

/// Bring the schema from `version` to the latest inside `tx` (creating
/// the version table on a new database).
pub(in crate::store) fn install_schema(
    tx: &mut postgres::Transaction<'_>,
    shown: &str,
    version: usize,
) -> Result<()> {
    let latest = latest_version();
    if version > latest {
        return Err(database(format!(
            "database {shown} has schema version {version}, newer than this escalate \
             understands ({latest}); upgrade escalate (the database was not touched)"
        )));
    }
    if version == latest {
        return Ok(());
    }
    if version == 0 {
        tx.batch_execute("CREATE TABLE IF NOT EXISTS escalate_schema (version BIGINT NOT NULL)")
            .map_err(|e| lost(shown, e))?;
    }
    for (i, (name, up)) in migrations().into_iter().enumerate().skip(version) {
        tx.batch_execute(up).map_err(|e| {
            database(format!(
                "cannot migrate database {shown} ({name}): {}",
                one_line(&e)
            ))
        })?;
        let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute("DELETE FROM escalate_schema", &[])
            .and_then(|_| tx.execute("INSERT INTO escalate_schema (version) VALUES ($1)", &[&v]))
            .map_err(|e| lost(shown, e))?;
    }
    Ok(())
}

/// The database's escalate schema version: 0 for an empty database; an
/// error for one holding other tables (not escalate's), before anything
/// is written to it.
pub(in crate::store) fn schema_state(
    tx: &mut postgres::Transaction<'_>,
    shown: &str,
) -> Result<usize> {
    let versioned: bool = tx
        .query_one("SELECT to_regclass('escalate_schema') IS NOT NULL", &[])
        .map_err(|e| lost(shown, e))?
        .get(0);
    if versioned {
        let v: i64 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM escalate_schema", &[])
            .map_err(|e| lost(shown, e))?
            .get(0);
        return Ok(usize::try_from(v).unwrap_or(usize::MAX));
    }
    let tables: i64 = tx
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .map_err(|e| lost(shown, e))?
        .get(0);
    if tables > 0 {
        return Err(database(format!(
            "{shown} is not empty: it holds {tables} tables that are not escalate's (no \
             escalate_schema); it was not touched"
        )));
    }
    Ok(0)
}

/// The PostgreSQL schema version this build writes.
pub fn latest_version() -> usize {
    migrations().len()
}

pub struct PgStore {
    /// Always Some until dropped (see the `Drop` impl).
    client: Option<postgres::Client>,
    target: Target,
    busy_timeout: Duration,
    cache: RefCell<Cache>,
    /// Every call that waits on the server runs under it (`pg_watch`);
    /// but not a schema upgrade, which may rightly take long.
    watch: Watch,
}

impl PgStore {
    /// Connect and bring the schema up to date (under the write lock, so
    /// two first runs do not both create it). A database with a newer
    /// escalate schema, or tables that are not escalate's, is refused
    /// before anything is written.
    pub fn open(url: &str, mode: OpenMode, busy_timeout: Duration) -> Result<PgStore> {
        let target = Target::parse(url)?;
        let watch = Watch::new(target.shown(), busy_timeout);
        let client = Some(target.connect(&watch)?);
        let mut store = PgStore {
            client,
            target,
            busy_timeout,
            cache: RefCell::new(Cache::new()),
            watch,
        };
        store.prepare(mode)?;
        Ok(store)
    }

    /// The URL as it may be shown (no password).
    pub fn shown(&self) -> &str {
        self.target.shown()
    }

    /// See [`Target::warnings`].
    pub fn warnings(&self) -> &[String] {
        self.target.warnings()
    }

    fn lost(&self, e: postgres::Error) -> anyhow::Error {
        lost(self.target.shown(), e)
    }

    /// The connection (gone only while the store is being dropped).
    fn conn(&mut self) -> Result<&mut postgres::Client> {
        let shown = self.target.shown().to_string();
        self.client
            .as_mut()
            .ok_or_else(|| database(format!("database {shown}: the connection is closed")))
    }

    /// Check the schema, and bring it up to date when it is behind. The
    /// write lock only then: a current schema (every open but the first
    /// after an upgrade) is read without waiting for a writer.
    fn prepare(&mut self, mode: OpenMode) -> Result<()> {
        let shown = self.target.shown().to_string();
        let ms = self.busy_ms();
        let watch = self.watch.clone();
        let mut waiting = Some(watch.during());
        let mut tx = self.conn()?.transaction().map_err(|e| lost(&shown, e))?;
        let mut version = schema_state(&mut tx, &shown)?;
        if version != latest_version() {
            tx.batch_execute(&format!("SET LOCAL lock_timeout = {ms}"))
                .and_then(|()| tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]))
                .map_err(|e| lost(&shown, e))?;
            // Another process may have migrated it while we waited.
            version = schema_state(&mut tx, &shown)?;
        }
        if version == 0 && mode != OpenMode::Create {
            return Err(database(format!(
                "database {shown} has no escalate schema; run `escalate --db URL init` to set it up"
            )));
        }
        if version != latest_version() {
            // Creating indexes over a big history may rightly take long.
            drop(waiting.take());
        }
        install_schema(&mut tx, &shown, version)?;
        tx.commit().map_err(|e| lost(&shown, e))
    }

    /// The schema version of the database.
    pub fn schema_version(&mut self) -> Result<usize> {
        let watch = self.watch.clone();
        let _waiting = watch.during();
        let v: i64 = self
            .conn()?
            .query_one("SELECT coalesce(max(version), 0) FROM escalate_schema", &[])
            .map_err(|e| self.lost(e))?
            .get(0);
        Ok(usize::try_from(v).unwrap_or(0))
    }

    /// A write transaction: the write lock, waited for at most the busy
    /// timeout; READ COMMITTED under it (every writer holds the lock, so
    /// what this one reads cannot change until it commits).
    fn begin_write(&mut self, synced: bool, wait: bool) -> Result<postgres::Transaction<'_>> {
        let shown = self.target.shown().to_string();
        let ms = self.busy_ms();
        let watch = self.watch.clone();
        let _waiting = watch.during();
        let mut tx = self.conn()?.transaction().map_err(|e| lost(&shown, e))?;
        let setup = format!(
            "SET LOCAL lock_timeout = {ms}; SET LOCAL synchronous_commit = {}",
            if synced { "on" } else { "off" }
        );
        tx.batch_execute(&setup).map_err(|e| lost(&shown, e))?;
        if wait {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                .map_err(|e| lost(&shown, e))?;
        } else {
            let got: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&WRITE_LOCK])
                .map_err(|e| lost(&shown, e))?
                .get(0);
            if !got {
                return Err(busy(&shown));
            }
        }
        Ok(tx)
    }

    pub fn write<T>(&mut self, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        self.write_as(Writing::Synced, f)
    }

    pub fn write_unsynced<T>(&mut self, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        self.write_as(Writing::Unsynced, f)
    }

    pub fn write_if_free<T>(&mut self, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        self.write_as(Writing::IfFree, f)
    }

    /// A write transaction that is always rolled back (dry runs).
    pub fn rehearse<T>(&mut self, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        self.write_as(Writing::Rehearsal, f)
    }

    fn write_as<T>(&mut self, how: Writing, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        let shown = self.target.shown().to_string();
        let keep = how != Writing::Rehearsal;
        // The cache is borrowed by the transaction; take it out for the
        // transaction's life so `self.client` can be borrowed mutably.
        let cache = RefCell::new(self.cache.take());
        let watch = self.watch.clone();
        let result = (|| {
            let tx = self.begin_write(how != Writing::Unsynced, how != Writing::IfFree)?;
            let tx = super::Tx::pg(PgTx::new(tx, &cache, watch.clone()));
            // The open-issue counts the writes moved are written once,
            // before commit (`open_counts`); a rehearsal or a failure keeps
            // none.
            super::open_counts::discard();
            let value = f(&tx).and_then(|v| match keep {
                true => super::open_counts::flush(&tx).map(|()| v),
                false => Ok(v),
            });
            if !keep || value.is_err() {
                super::open_counts::discard();
            }
            let (tx, value) = settle(tx.into_pg().into_inner(), value, &watch, &shown)?;
            match keep {
                true => {
                    let _waiting = watch.during_commit();
                    tx.commit()
                }
                false => {
                    let _waiting = watch.during();
                    tx.rollback()
                }
            }
            .map_err(|e| lost(&shown, e))?;
            Ok(value)
        })();
        *self.cache.borrow_mut() = cache.into_inner();
        result
    }

    /// A consistent read-only snapshot; never waits for writers.
    pub fn read<T>(&mut self, f: impl FnOnce(&super::Tx) -> Result<T>) -> Result<T> {
        let shown = self.target.shown().to_string();
        let cache = RefCell::new(self.cache.take());
        let watch = self.watch.clone();
        let result = (|| {
            let waiting = watch.during();
            let tx = self
                .conn()?
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| lost(&shown, e))?;
            drop(waiting);
            let tx = super::Tx::pg(PgTx::new(tx, &cache, watch.clone()));
            let value = f(&tx);
            let (tx, value) = settle(tx.into_pg().into_inner(), value, &watch, &shown)?;
            let _waiting = watch.during();
            tx.commit().map_err(|e| lost(&shown, e))?;
            Ok(value)
        })();
        *self.cache.borrow_mut() = cache.into_inner();
        result
    }

    /// The busy timeout in milliseconds, for `lock_timeout` (0 would
    /// mean "wait forever" to PostgreSQL, so at least 1).
    fn busy_ms(&self) -> u64 {
        u64::try_from(self.busy_timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

impl Drop for PgStore {
    /// The sync driver closes its connection by running its own small
    /// runtime, which may not start on a thread that is driving another
    /// (a `serve` worker dropping the last handle): closed on a thread of
    /// its own then.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Closing waits on the server too (the goodbye is sent).
            let _waiting = self.watch.during();
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(client)).join();
            } else {
                drop(client);
            }
        }
    }
}

/// The work's value with its transaction, still to be ended; or, when the
/// work failed, the transaction rolled back under the watch (the driver's
/// own rollback, when a transaction is dropped, waits on the server
/// unwatched) and the error.
fn settle<'c, T>(
    tx: postgres::Transaction<'c>,
    value: Result<T>,
    watch: &Watch,
    shown: &str,
) -> Result<(postgres::Transaction<'c>, T)> {
    match value {
        Ok(v) => Ok((tx, v)),
        Err(e) => {
            let _waiting = watch.during();
            let _ = tx.rollback();
            Err(relabel(shown, e))
        }
    }
}

fn busy(shown: &str) -> anyhow::Error {
    database(format!(
        "database {shown} is locked by another process (gave up waiting)"
    ))
}

/// Whether a driver error means the database cannot be used now (the
/// connection, the server, the lock wait), rather than a bug in a query.
fn unusable(e: &postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            let c = code.code();
            // 08: connection exception; 57P0x: shutdown, crash, cannot
            // connect now; 53: out of resources; 28: bad credentials;
            // 3D000: no such database; 25006: read-only (a standby).
            c.starts_with("08")
                || c.starts_with("57P")
                || c.starts_with("53")
                || c.starts_with("28")
                || c == "3D000"
                || c == "25006"
        }
        None => true,
    }
}

/// A driver error as this store reports it: a lock wait that ran out is
/// "locked"; an unusable database one line with exit 5; anything else
/// (a query the server rejected) keeps its text, exit 1.
pub(in crate::store) fn lost(shown: &str, e: postgres::Error) -> anyhow::Error {
    if e.code().map(postgres::error::SqlState::code) == Some("55P03") {
        return busy(shown);
    }
    if unusable(&e) || e.is_closed() {
        return database(format!("database {shown}: {}", one_line(&e)));
    }
    anyhow::anyhow!("database {shown}: {}", one_line(&e))
}

/// An error from inside a transaction: when a driver error underneath says
/// the database cannot be used, report that; anything else unchanged.
fn relabel(shown: &str, e: anyhow::Error) -> anyhow::Error {
    if e.chain().any(|c| c.downcast_ref::<Error>().is_some()) {
        return e;
    }
    match e.chain().find_map(|c| c.downcast_ref::<postgres::Error>()) {
        Some(pe) if pe.code().map(postgres::error::SqlState::code) == Some("55P03") => busy(shown),
        Some(pe) if unusable(pe) || pe.is_closed() => {
            database(format!("database {shown}: {}", one_line(pe)))
        }
        _ => e,
    }
}
