//! Ingested event keys: an event applied once is never applied again.

use anyhow::{anyhow, Result};

use super::sql::args;
use super::{ms, Tx};
use crate::model::Ts;

/// Apply an ingested event once. None: the event with this key was applied
/// before, and `apply` is not called. Otherwise its `Ok(Ok(_))` is kept and
/// the key remembered. `apply` finds an event's own fault (`Ok(Err(_))`:
/// unknown ticket, no route) before it writes anything, so nothing needs
/// undoing and no savepoint is opened: one per event made SQLite copy every
/// page the event touched into a statement journal, most of a large batch's
/// time. Should an event be refused after it wrote, the batch fails
/// (nothing of it commits) rather than keep half an event. A database error
/// propagates, and every caller then rolls the whole transaction back.
pub fn once<T>(
    tx: &Tx,
    key: &str,
    now: Ts,
    apply: impl FnOnce() -> Result<Result<T, String>>,
) -> Result<Option<Result<T, String>>> {
    let seen: Option<i64> = tx.opt(
        "SELECT 1 FROM ingested WHERE key = ?1",
        args![key],
        "looking up an ingested event",
        |r| r.get(0),
    )?;
    if seen.is_some() {
        return Ok(None);
    }
    let before = tx.total_changes();
    match apply()? {
        Ok(effect) => {
            tx.exec(
                "INSERT INTO ingested (key, at) VALUES (?1, ?2)",
                args![key, ms(now)],
                "remembering an ingested event",
            )?;
            Ok(Some(Ok(effect)))
        }
        Err(refused) if tx.total_changes() == before => Ok(Some(Err(refused))),
        Err(refused) => Err(anyhow!(
            "ingested event {key} was refused after it had written ({refused}); \
             nothing of the batch was committed"
        )),
    }
}
