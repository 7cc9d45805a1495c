//! Subscription cursors: the id of the last event each `[[subscriptions]]`
//! URL has been given (keyed by its secret-free label).

use super::Tx;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::SqlContext;

/// A cursor before every event (ids start at 1): `from = "start"`.
pub const BEFORE_FIRST_EVENT: i64 = 0;

/// The subscription's cursor; None for a subscription never seen.
pub fn cursor(tx: &Tx, sub: &str) -> Result<Option<i64>> {
    tx.db()
        .prepare_cached("SELECT last_event_id FROM subscription_cursors WHERE sub = ?1")
        .and_then(|mut s| s.query_row([sub], |r| r.get(0)).optional())
        .sql("reading a subscription cursor")
}

/// Set (or start) the subscription's cursor.
pub fn set_cursor(tx: &Tx, sub: &str, last_event_id: i64) -> Result<()> {
    tx.db()
        .prepare_cached(
            "INSERT INTO subscription_cursors (sub, last_event_id) VALUES (?1, ?2) \
         ON CONFLICT (sub) DO UPDATE SET last_event_id = excluded.last_event_id",
        )
        .and_then(|mut s| s.execute(params![sub, last_event_id]))
        .sql("moving a subscription cursor")?;
    Ok(())
}
