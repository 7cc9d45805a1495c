//! On-call overrides: add, list, cancel, and the live ones of a role. Rows
//! are never deleted (a cancel stamps who and when), so the table is its
//! own audit trail.

use anyhow::Result;

use super::sql::{args, Row};
use super::{ms, ts, ts_opt, Tx};
use crate::engine::oncall::Override;
use crate::model::Ts;

/// An override row with its audit columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRow {
    pub o: Override,
    pub created_by: String,
    pub created_at: Ts,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<Ts>,
}

/// What [`add`] stores.
pub struct NewOverride<'a> {
    pub role: &'a str,
    pub person: &'a str,
    pub from: Ts,
    pub until: Ts,
    pub by: &'a str,
}

const COLUMNS: &str =
    "id, role, person, from_at, until_at, created_by, created_at, cancelled_by, cancelled_at";

fn from_row(r: &Row) -> Result<OverrideRow> {
    Ok(OverrideRow {
        o: Override {
            id: r.get(0)?,
            role: r.get(1)?,
            person: r.get(2)?,
            from: ts(r.get(3)?)?,
            until: ts(r.get(4)?)?,
        },
        created_by: r.get(5)?,
        created_at: ts(r.get(6)?)?,
        cancelled_by: r.get(7)?,
        cancelled_at: ts_opt(r.get(8)?)?,
    })
}

pub fn add(tx: &Tx, o: &NewOverride, now: Ts) -> Result<i64> {
    tx.one(
        "INSERT INTO oncall_overrides (role, person, from_at, until_at, created_by, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![o.role, o.person, ms(o.from), ms(o.until), o.by, ms(now)],
        "adding an override",
        |r| r.get(0),
    )
}

/// A live override of `role` overlapping [from, until), if any.
pub fn overlapping(tx: &Tx, role: &str, from: Ts, until: Ts) -> Result<Option<OverrideRow>> {
    tx.opt(
        &format!(
            "SELECT {COLUMNS} FROM oncall_overrides WHERE role = ?1 AND cancelled_at IS NULL \
             AND until_at > ?2 AND from_at < ?3 ORDER BY from_at, id LIMIT 1"
        ),
        args![role, ms(from), ms(until)],
        "reading overrides",
        from_row,
    )
}

/// Live overrides (not cancelled) that end after `after`, of one role or
/// all, in start order.
pub fn live(tx: &Tx, role: Option<&str>, after: Ts) -> Result<Vec<Override>> {
    tx.rows(
        &format!(
            "SELECT {COLUMNS} FROM oncall_overrides WHERE cancelled_at IS NULL \
             AND until_at > ?1 AND (?2 IS NULL OR role = ?2) ORDER BY from_at, id"
        ),
        args![ms(after), role],
        "reading overrides",
        |r| from_row(r).map(|r| r.o),
    )
}

/// Every override, newest first (`all`), or only the live ones that have
/// not ended by `now`.
pub fn list(tx: &Tx, all: bool, now: Ts) -> Result<Vec<OverrideRow>> {
    // TRUE, not 1: PostgreSQL wants a boolean.
    let filter = if all {
        "TRUE"
    } else {
        "cancelled_at IS NULL AND until_at > ?1"
    };
    tx.rows(
        &format!(
            "SELECT {COLUMNS} FROM oncall_overrides WHERE {filter} AND ?1 = ?1 \
             ORDER BY from_at DESC, id DESC"
        ),
        args![ms(now)],
        "listing overrides",
        from_row,
    )
}

pub fn get(tx: &Tx, id: i64) -> Result<Option<OverrideRow>> {
    tx.opt(
        &format!("SELECT {COLUMNS} FROM oncall_overrides WHERE id = ?1"),
        args![id],
        "reading an override",
        from_row,
    )
}

pub fn cancel(tx: &Tx, id: i64, by: &str, now: Ts) -> Result<()> {
    tx.exec(
        "UPDATE oncall_overrides SET cancelled_by = ?2, cancelled_at = ?3 WHERE id = ?1",
        args![id, by, ms(now)],
        "cancelling an override",
    )?;
    Ok(())
}
