//! The append-only event log: every state change of an issue, with time,
//! actor and typed details (stored as their JSON form). `show` prints it;
//! reports are computed from it.

use super::sql::{args, Row};
use super::{ms, ts, Tx};
use crate::model::event::{Details, NewEvent};
use crate::model::{Event, EventKind};
use anyhow::Result;

const INSERT: &str = "INSERT INTO events (issue_id, at, kind, level, actor, details, mark, \
    stay_at, stay_level) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Append one event; a level event also records the stay it ends
/// (`stays::mark_of`), for the report.
pub fn append(tx: &Tx, e: &NewEvent) -> Result<()> {
    let kind = e.details.kind().as_str();
    let mark = super::stays::mark_of(tx, e.issue_id, ms(e.at), kind, e.level)?;
    let details = e.details.to_json_string();
    let values = args![
        e.issue_id,
        ms(e.at),
        kind,
        e.level,
        e.actor,
        details.as_str(),
        mark.mark,
        mark.stay_at,
        mark.stay_level
    ];
    // A page that found nobody on call is listed for the digest
    // (migration 09): the only events that write anything more, and the
    // only ones that need their id back (RETURNING costs every other
    // append a result row).
    if matches!(&e.details, Details::Escalated(d) if d.gap) {
        let sql = format!("{INSERT} RETURNING id");
        let id: i64 = tx.one(&sql, values, "appending event", |r| r.get(0))?;
        tx.exec(
            "INSERT INTO gap_pages (event_id) VALUES (?1)",
            args![id],
            "listing an on-call gap",
        )?;
    } else {
        tx.exec(INSERT, values, "appending event")?;
    }
    Ok(())
}

fn from_row(r: &Row) -> Result<Event> {
    let kind: String = r.get(3)?;
    let kind = EventKind::parse(&kind)
        .ok_or_else(|| anyhow::anyhow!("column 3: unknown event kind {kind:?}"))?;
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
    tx.rows(
        "SELECT id, issue_id, at, kind, level, actor, details FROM events \
         WHERE issue_id = ?1 ORDER BY id",
        args![issue_id],
        "reading events",
        from_row,
    )
}

/// When the issue's latest event happened (None: it has none). An
/// aggregate, not [`for_issue`]: a one-commit command (`ack`, `resolve`)
/// needs only this, not every event decoded.
pub fn last_at(tx: &Tx, issue_id: i64) -> Result<Option<crate::model::Ts>> {
    tx.one(
        "SELECT max(at) FROM events WHERE issue_id = ?1",
        args![issue_id],
        "reading the issue's last event",
        |r| Ok(super::ts_opt(r.get(0)?)?),
    )
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
    tx.rows(
        &format!(
            "SELECT id, issue_id, at, kind, level, actor, details FROM events \
             WHERE id > ?1{filter} ORDER BY id LIMIT ?2"
        ),
        args![after, i64::try_from(limit).unwrap_or(i64::MAX)],
        "reading events",
        from_row,
    )
}

/// The highest event id (0 for an empty log).
pub fn max_id(tx: &Tx) -> Result<i64> {
    tx.one(
        "SELECT coalesce(max(id), 0) FROM events",
        args![],
        "reading the last event id",
        |r| r.get(0),
    )
}
