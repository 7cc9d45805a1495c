//! Action links already used (`escalate serve`): one row per link, keyed by
//! its MAC, so a link acts once.

use anyhow::Result;

use super::sql::args;
use super::{ms, ts, Tx};
use crate::model::Ts;

/// Who used a link, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub actor: String,
    pub at: Ts,
}

pub fn used(tx: &Tx, mac: &str) -> Result<Option<Used>> {
    tx.opt(
        "SELECT actor, used_at FROM used_links WHERE mac = ?1",
        args![mac],
        "reading used links",
        |r| {
            Ok(Used {
                actor: r.get(0)?,
                at: ts(r.get(1)?)?,
            })
        },
    )
}

pub fn mark(tx: &Tx, mac: &str, issue_id: i64, action: &str, actor: &str, now: Ts) -> Result<()> {
    tx.exec(
        "INSERT INTO used_links (mac, issue_id, action, actor, used_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![mac, issue_id, action, actor, ms(now)],
        "recording a used link",
    )?;
    Ok(())
}
