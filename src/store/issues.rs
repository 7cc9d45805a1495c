//! Issue rows: insert, fetch, save, the due-issue query `check` runs on, and
//! the chain bookkeeping behind live config changes and orphan detection.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::{ms, ts, ts_opt, SqlContext};
use crate::engine::{Escalation, Status, Ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// The role of the issue's current level owns it.
    Role,
    /// A person took it (ack) or was given it (assign).
    Person,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Role => "role",
            OwnerKind::Person => "person",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub description: Option<String>,
    pub external_ref: Option<String>,
    pub esc: Escalation,
    pub max_level: u32,
    pub owner: String,
    pub owner_kind: OwnerKind,
    pub created_at: Ts,
    pub acked_by: Option<String>,
    pub resolved_at: Option<Ts>,
    pub resolved_by: Option<String>,
    pub next_due_at: Option<Ts>,
}

pub struct NewIssue<'a> {
    pub chain: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub external_ref: Option<&'a str>,
    pub esc: &'a Escalation,
    pub owner: &'a str,
    pub created_at: Ts,
    pub next_due_at: Option<Ts>,
}

/// Which issues `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueFilter {
    Unresolved,
    Status(Status),
    All,
}

const COLUMNS: &str = "id, chain, title, description, external_ref, status, level, max_level, \
    repeat, epoch, epoch_level, epoch_at, owner, owner_kind, created_at, acked_at, acked_by, \
    resolved_at, resolved_by, next_due_at";

fn from_row(r: &Row) -> rusqlite::Result<Issue> {
    let status: String = r.get(5)?;
    let status = Status::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            rusqlite::types::Type::Text,
            format!("unknown status {status:?}").into(),
        )
    })?;
    let owner_kind: String = r.get(13)?;
    Ok(Issue {
        id: r.get(0)?,
        chain: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        external_ref: r.get(4)?,
        esc: Escalation {
            status,
            level: r.get(6)?,
            repeat: r.get(8)?,
            epoch: r.get(9)?,
            epoch_level: r.get(10)?,
            epoch_at: ts(r.get(11)?)?,
            acked_at: ts_opt(r.get(15)?)?,
        },
        max_level: r.get(7)?,
        owner: r.get(12)?,
        owner_kind: if owner_kind == "person" {
            OwnerKind::Person
        } else {
            OwnerKind::Role
        },
        created_at: ts(r.get(14)?)?,
        acked_by: r.get(16)?,
        resolved_at: ts_opt(r.get(17)?)?,
        resolved_by: r.get(18)?,
        next_due_at: ts_opt(r.get(19)?)?,
    })
}

pub fn insert(tx: &Transaction, new: &NewIssue) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO issues (chain, title, description, external_ref, status, level, max_level, \
         repeat, epoch, epoch_level, epoch_at, owner, owner_kind, created_at, next_due_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, 'role', ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.chain,
            new.title,
            new.description,
            new.external_ref,
            new.esc.status.as_str(),
            new.esc.level,
            new.esc.repeat,
            new.esc.epoch,
            new.esc.epoch_level,
            ms(new.esc.epoch_at),
            new.owner,
            ms(new.created_at),
            new.next_due_at.map(ms),
        ])
    })
    .sql("inserting issue")?;
    Ok(tx.last_insert_rowid())
}

pub fn get(tx: &Transaction, id: i64) -> Result<Option<Issue>> {
    tx.prepare_cached(&format!("SELECT {COLUMNS} FROM issues WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], from_row).optional())
        .sql("reading issue")
}

/// Write back every mutable column of an issue.
pub fn save(tx: &Transaction, issue: &Issue) -> Result<()> {
    tx.prepare_cached(
        "UPDATE issues SET status = ?2, level = ?3, max_level = ?4, repeat = ?5, epoch = ?6, \
         epoch_level = ?7, epoch_at = ?8, owner = ?9, owner_kind = ?10, acked_at = ?11, \
         acked_by = ?12, resolved_at = ?13, resolved_by = ?14, next_due_at = ?15 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            issue.id,
            issue.esc.status.as_str(),
            issue.esc.level,
            issue.max_level,
            issue.esc.repeat,
            issue.esc.epoch,
            issue.esc.epoch_level,
            ms(issue.esc.epoch_at),
            issue.owner,
            issue.owner_kind.as_str(),
            issue.esc.acked_at.map(ms),
            issue.acked_by,
            issue.resolved_at.map(ms),
            issue.resolved_by,
            issue.next_due_at.map(ms),
        ])
    })
    .sql("saving issue")?;
    Ok(())
}

/// Issues whose next escalation step is due at or before `now`: an index
/// range scan, so the cost follows the due issues, not the open ones.
pub fn due(tx: &Transaction, now: Ts) -> Result<Vec<Issue>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM issues WHERE next_due_at IS NOT NULL AND next_due_at <= ?1 \
             ORDER BY next_due_at, id"
        ))
        .sql("querying due issues")?;
    let rows = stmt
        .query_map([ms(now)], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading due issues")?;
    Ok(rows)
}

/// Unresolved issues of one chain (to recompute due times after a config
/// change).
pub fn unresolved_in_chain(tx: &Transaction, chain: &str) -> Result<Vec<Issue>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM issues WHERE chain = ?1 AND status <> 'resolved' ORDER BY id"
        ))
        .sql("querying chain issues")?;
    let rows = stmt
        .query_map([chain], from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading chain issues")?;
    Ok(rows)
}

pub fn set_next_due(tx: &Transaction, id: i64, next_due: Option<Ts>) -> Result<()> {
    tx.prepare_cached("UPDATE issues SET next_due_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, next_due.map(ms)]))
        .sql("updating due time")?;
    Ok(())
}

/// Every chain name any issue has used, with the schedule fingerprint its
/// issues were last computed with.
pub fn chain_fingerprints(tx: &Transaction) -> Result<Vec<(String, Option<String>)>> {
    let mut stmt = tx
        .prepare_cached("SELECT name, fingerprint FROM chains ORDER BY name")
        .sql("reading chains")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading chains")?;
    Ok(rows)
}

/// Remember a chain the first time an issue uses it, with the fingerprint
/// of the config its first issue was scheduled with.
pub fn ensure_chain(tx: &Transaction, chain: &str, fingerprint: &str) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO chains (name, fingerprint) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute([chain, fingerprint]))
        .sql("recording chain")?;
    Ok(())
}

pub fn set_fingerprint(tx: &Transaction, chain: &str, fingerprint: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO chains (name, fingerprint) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
    )
    .and_then(|mut s| s.execute([chain, fingerprint]))
    .sql("recording chain fingerprint")?;
    Ok(())
}

/// Ids of unresolved issues on a chain (for orphan reports), at most `limit`,
/// and their total count.
pub fn unresolved_ids(tx: &Transaction, chain: &str, limit: usize) -> Result<(Vec<i64>, u64)> {
    let count: u64 = tx
        .prepare_cached("SELECT count(*) FROM issues WHERE chain = ?1 AND status <> 'resolved'")
        .and_then(|mut s| s.query_row([chain], |r| r.get::<_, i64>(0)))
        .map(|n| n.max(0) as u64)
        .sql("counting chain issues")?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT id FROM issues WHERE chain = ?1 AND status <> 'resolved' ORDER BY id LIMIT ?2",
        )
        .sql("querying chain issues")?;
    let ids = stmt
        .query_map(params![chain, limit as i64], |r| r.get(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
        .sql("reading chain issues")?;
    Ok((ids, count))
}

/// Issues for `list`, newest last, at most `limit` (0: all), and the total
/// number matching.
pub fn list(
    tx: &Transaction,
    filter: IssueFilter,
    chain: Option<&str>,
    limit: u64,
) -> Result<(Vec<Issue>, u64)> {
    let (status_sql, status_arg) = match filter {
        IssueFilter::Unresolved => ("status <> 'resolved'", None),
        IssueFilter::Status(s) => ("status = ?1", Some(s.as_str())),
        IssueFilter::All => ("1", None),
    };
    let chain_sql = if chain.is_some() { "chain = ?2" } else { "1" };
    let where_sql = format!("WHERE {status_sql} AND {chain_sql}");
    let args = params![status_arg, chain];
    let total: u64 = tx
        .prepare(&format!(
            "SELECT count(*) FROM issues {where_sql} AND (?1 IS NULL OR 1) AND (?2 IS NULL OR 1)"
        ))
        .and_then(|mut s| s.query_row(args, |r| r.get::<_, i64>(0)))
        .map(|n| n.max(0) as u64)
        .sql("counting issues")?;
    let limit_sql = if limit == 0 {
        String::new()
    } else {
        format!(" LIMIT {limit}")
    };
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {COLUMNS} FROM issues {where_sql} AND (?1 IS NULL OR 1) AND (?2 IS NULL OR 1) \
             ORDER BY id{limit_sql}"
        ))
        .sql("querying issues")?;
    let rows = stmt
        .query_map(args, from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading issues")?;
    Ok((rows, total))
}
