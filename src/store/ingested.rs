//! Ingested event keys: an event applied once is never applied again.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Transaction};

use super::{ms, SqlContext};
use crate::model::Ts;

/// Apply an ingested event once. None: the event with this key was applied
/// before, and `apply` is not called. Otherwise `apply` runs under a
/// savepoint: its `Ok(Ok(_))` is kept and the key remembered; anything else
/// (the event's own fault, `Ok(Err(_))`, or a database error) rolls back
/// all it wrote.
pub fn once<T>(
    tx: &Transaction,
    key: &str,
    now: Ts,
    apply: impl FnOnce() -> Result<Result<T, String>>,
) -> Result<Option<Result<T, String>>> {
    let seen: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM ingested WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .sql("looking up an ingested event")?;
    if seen.is_some() {
        return Ok(None);
    }
    // Cached statements: a batch of 100,000 events would otherwise parse
    // and plan these three times per event.
    tx.prepare_cached("SAVEPOINT ingest_event")
        .and_then(|mut s| s.execute([]))
        .sql("opening a savepoint")?;
    match apply() {
        Ok(Ok(effect)) => {
            tx.prepare_cached("INSERT INTO ingested (key, at) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![key, ms(now)]))
                .sql("remembering an ingested event")?;
            release(tx)?;
            Ok(Some(Ok(effect)))
        }
        other => {
            tx.prepare_cached("ROLLBACK TO ingest_event")
                .and_then(|mut s| s.execute([]))
                .sql("rolling back an event")?;
            release(tx)?;
            other.map(Some)
        }
    }
}

fn release(tx: &Transaction) -> Result<()> {
    tx.prepare_cached("RELEASE ingest_event")
        .and_then(|mut s| s.execute([]))
        .sql("releasing a savepoint")?;
    Ok(())
}
