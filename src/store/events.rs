//! The append-only event log: every state change of an issue, with time,
//! actor and typed details (stored as their JSON form). `show` prints it;
//! reports are computed from it.

use super::Tx;
use super::{ms, ts, SqlContext};
use crate::model::event::{Details, NewEvent};
use crate::model::{Event, EventKind};
use anyhow::Result;
use rusqlite::params;

/// Append one event; a level event also records the stay it ends
/// (`stays::mark_of`), for the report.
pub fn append(tx: &Tx, e: &NewEvent) -> Result<()> {
    let kind = e.details.kind().as_str();
    let mark = super::stays::mark_of(tx, e.issue_id, ms(e.at), kind, e.level)?;
    tx.db()
        .prepare_cached(
            "INSERT INTO events (issue_id, at, kind, level, actor, details, mark, stay_at, \
         stay_level) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                e.issue_id,
                ms(e.at),
                kind,
                e.level,
                e.actor,
                e.details.to_json_string(),
                mark.mark,
                mark.stay_at,
                mark.stay_level
            ])
        })
        .sql("appending event")?;
    // A page that found nobody on call is listed for the digest
    // (migration 09): the only events that write anything more.
    if matches!(&e.details, Details::Escalated(d) if d.gap) {
        tx.db()
            .prepare_cached("INSERT INTO gap_pages (event_id) VALUES (?1)")
            .and_then(|mut s| s.execute([tx.db().last_insert_rowid()]))
            .sql("listing an on-call gap")?;
    }
    Ok(())
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    let kind: String = r.get(3)?;
    let kind = EventKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown event kind {kind:?}").into(),
        )
    })?;
    let details: String = r.get(6)?;
    let details = serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details));
    Ok(Event {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        at: ts(r.get(2)?)?,
        level: r.get(4)?,
        actor: r.get(5)?,
        details: Details::from_json(kind, details),
    })
}

pub fn for_issue(tx: &Tx, issue_id: i64) -> Result<Vec<Event>> {
    let mut stmt = tx
        .db()
        .prepare_cached(
            "SELECT id, issue_id, at, kind, level, actor, details FROM events \
             WHERE issue_id = ?1 ORDER BY id",
        )
        .sql("querying events")?;
    let rows = stmt
        .query_map([issue_id], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading events")?;
    Ok(rows)
}

/// When the issue's latest event happened (None: it has none). An
/// aggregate, not [`for_issue`]: a one-commit command (`ack`, `resolve`)
/// needs only this, not every event decoded.
pub fn last_at(tx: &Tx, issue_id: i64) -> Result<Option<crate::model::Ts>> {
    let at: Option<i64> = tx
        .db()
        .prepare_cached("SELECT max(at) FROM events WHERE issue_id = ?1")
        .and_then(|mut s| s.query_row([issue_id], |r| r.get(0)))
        .sql("reading the issue's last event")?;
    at.map(ts).transpose().sql("reading the issue's last event")
}

/// Events with an id above `after`, oldest first, at most `limit`, only of
/// `kinds` when given. Ids are a safe cursor: writers are serialized, so an
/// event with a lower id never commits after one with a higher id.
pub fn after(tx: &Tx, after: i64, kinds: &[EventKind], limit: usize) -> Result<Vec<Event>> {
    // The kinds are a closed set of static names: inline them rather than
    // binding a variable-length list.
    let filter = if kinds.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
        format!(" AND kind IN ({})", names.join(", "))
    };
    let mut stmt = tx
        .db()
        .prepare_cached(&format!(
            "SELECT id, issue_id, at, kind, level, actor, details FROM events \
             WHERE id > ?1{filter} ORDER BY id LIMIT ?2"
        ))
        .sql("querying events")?;
    let rows = stmt
        .query_map(params![after, limit as i64], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading events")?;
    Ok(rows)
}

/// The highest event id (0 for an empty log).
pub fn max_id(tx: &Tx) -> Result<i64> {
    tx.db()
        .prepare_cached("SELECT coalesce(max(id), 0) FROM events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .sql("reading the last event id")
}
