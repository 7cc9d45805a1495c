//! Action links already used (`escalate serve`): one row per link, keyed by
//! its MAC, so a link acts once.

use super::Tx;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::{ms, ts, SqlContext};
use crate::model::Ts;

/// Who used a link, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub actor: String,
    pub at: Ts,
}

pub fn used(tx: &Tx, mac: &str) -> Result<Option<Used>> {
    tx.db()
        .prepare_cached("SELECT actor, used_at FROM used_links WHERE mac = ?1")
        .and_then(|mut s| {
            s.query_row([mac], |r| {
                Ok(Used {
                    actor: r.get(0)?,
                    at: ts(r.get(1)?)?,
                })
            })
            .optional()
        })
        .sql("reading used links")
}

pub fn mark(tx: &Tx, mac: &str, issue_id: i64, action: &str, actor: &str, now: Ts) -> Result<()> {
    tx.db().prepare_cached(
        "INSERT INTO used_links (mac, issue_id, action, actor, used_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![mac, issue_id, action, actor, ms(now)]))
    .sql("recording a used link")?;
    Ok(())
}
