//! Queries behind `report`: every issue open at any moment of a window, with
//! the level it reached and when it reached each level.

use anyhow::Result;
use rusqlite::{params, Transaction};

use super::{ms, ts, ts_opt, SqlContext};
use crate::engine::Ts;

#[derive(Debug, Clone, PartialEq)]
pub struct LevelReached {
    pub level: u32,
    pub at: Ts,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub id: i64,
    pub chain: String,
    pub title: String,
    pub status: String,
    pub level: u32,
    pub max_level: u32,
    pub owner: String,
    pub created_at: Ts,
    pub first_ack_at: Option<Ts>,
    pub resolved_at: Option<Ts>,
    /// First time each level was reached (level 1: creation).
    pub levels: Vec<LevelReached>,
}

/// Issues open at any moment of [start, end]: created by the end and not
/// resolved before the start — including those opened before the window
/// (seed bug B6). Highest level first.
pub fn window(tx: &Transaction, start: Ts, end: Ts) -> Result<Vec<ReportRow>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT i.id, i.chain, i.title, i.status, i.level, i.max_level, i.owner, \
               i.created_at, i.resolved_at, \
               (SELECT min(e.at) FROM events e \
                 WHERE e.issue_id = i.id AND e.kind = 'acknowledged') AS first_ack, \
               (SELECT group_concat(l.level || ':' || l.at, ',') FROM \
                 (SELECT e.level AS level, min(e.at) AS at FROM events e \
                   WHERE e.issue_id = i.id AND e.kind = 'escalated' AND e.level IS NOT NULL \
                   GROUP BY e.level ORDER BY e.level) AS l) AS levels \
             FROM issues i \
             WHERE i.created_at <= ?2 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1) \
             ORDER BY i.max_level DESC, i.created_at, i.id",
        )
        .sql("querying report")?;
    let rows = stmt
        .query_map(params![ms(start), ms(end)], |r| {
            let created_at = ts(r.get(7)?)?;
            let mut levels = vec![LevelReached {
                level: 1,
                at: created_at,
            }];
            let packed: Option<String> = r.get(10)?;
            for pair in packed.as_deref().unwrap_or("").split(',') {
                if let Some((l, at)) = pair.split_once(':') {
                    if let (Ok(l), Ok(at)) = (l.parse::<u32>(), at.parse::<i64>()) {
                        if l > 1 {
                            levels.push(LevelReached {
                                level: l,
                                at: ts(at)?,
                            });
                        }
                    }
                }
            }
            Ok(ReportRow {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
                status: r.get(3)?,
                level: r.get(4)?,
                max_level: r.get(5)?,
                owner: r.get(6)?,
                created_at,
                resolved_at: ts_opt(r.get(8)?)?,
                first_ack_at: ts_opt(r.get(9)?)?,
                levels,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .sql("reading report")?;
    Ok(rows)
}
