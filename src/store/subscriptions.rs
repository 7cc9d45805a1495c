//! Subscription cursors: the id of the last event each `[[subscriptions]]`
//! URL has been given (keyed by its secret-free label).

use anyhow::Result;

use super::sql::args;
use super::Tx;

/// A cursor before every event (ids start at 1): `from = "start"`.
pub const BEFORE_FIRST_EVENT: i64 = 0;

/// The subscription's cursor; None for a subscription never seen.
pub fn cursor(tx: &Tx, sub: &str) -> Result<Option<i64>> {
    tx.opt(
        "SELECT last_event_id FROM subscription_cursors WHERE sub = ?1",
        args![sub],
        "reading a subscription cursor",
        |r| r.get(0),
    )
}

/// Set (or start) the subscription's cursor.
pub fn set_cursor(tx: &Tx, sub: &str, last_event_id: i64) -> Result<()> {
    tx.exec(
        "INSERT INTO subscription_cursors (sub, last_event_id) VALUES (?1, ?2) \
         ON CONFLICT (sub) DO UPDATE SET last_event_id = excluded.last_event_id",
        args![sub, last_event_id],
        "moving a subscription cursor",
    )?;
    Ok(())
}
