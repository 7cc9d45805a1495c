//! The unresolved issues counted as they change (migration `09-digest`):
//! per (chain, status, owner, level, repeat) in `open_issues`, per (chain,
//! hour of creation) in `open_hours`. The digest reads these few hundred
//! rows instead of every open issue.
//!
//! Every write of an issue row in `store::issues` tells [`moved`] where
//! the issue was counted before and where it is counted now; the moves of
//! a transaction are summed here, in memory, and written by [`flush`] just
//! before [`super::Store::write`] commits. So `check`, whose escalations
//! move each issue from one owner and level to the next, writes a handful
//! of counter rows per run, not two per escalation (a trigger would, and
//! cost several percent of a large check). The pending sums live in a
//! thread-local: a transaction runs on the thread that opened it.

use std::cell::RefCell;

use anyhow::Result;
use rusqlite::Connection;

use super::sql::args;
use super::{ms, SqlContext, Tx, HOUR_MS};
use crate::model::{Issue, Status};

/// Where an unresolved issue is counted; `None` for a resolved one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place<'a> {
    pub chain: &'a str,
    pub status: &'a str,
    pub owner_kind: &'a str,
    pub owner: &'a str,
    pub level: u32,
    pub repeat: u32,
    /// `created_at / HOUR_MS`, as the migration computes it.
    pub hour: i64,
}

impl<'a> Place<'a> {
    /// Where `issue` is counted, if it is unresolved.
    pub fn of(issue: &'a Issue) -> Option<Place<'a>> {
        (issue.esc.status != Status::Resolved).then(|| Place {
            chain: &issue.chain,
            status: issue.esc.status.as_str(),
            owner_kind: issue.owner_kind.as_str(),
            owner: &issue.owner,
            level: issue.esc.level,
            repeat: issue.esc.repeat,
            hour: ms(issue.created_at) / HOUR_MS,
        })
    }
}

/// A place as stored (the owned form, for a pre-read row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    chain: String,
    status: String,
    owner_kind: String,
    owner: String,
    level: u32,
    repeat: u32,
    hour: i64,
}

impl Stored {
    pub fn place(&self) -> Option<Place<'_>> {
        (self.status != Status::Resolved.as_str()).then_some(Place {
            chain: &self.chain,
            status: &self.status,
            owner_kind: &self.owner_kind,
            owner: &self.owner,
            level: self.level,
            repeat: self.repeat,
            hour: self.hour,
        })
    }
}

/// Where issue `id` is counted now, read before a write that does not
/// know the row it replaces (`issues::save`, `issues::set_chain`).
pub fn stored(tx: &Tx, id: i64) -> Result<Option<Stored>> {
    tx.opt(
        "SELECT chain, status, owner_kind, owner, level, repeat, created_at FROM issues \
         WHERE id = ?1",
        args![id],
        "reading where an issue is counted",
        |r| {
            Ok(Stored {
                chain: r.get(0)?,
                status: r.get(1)?,
                owner_kind: r.get(2)?,
                owner: r.get(3)?,
                level: r.get(4)?,
                repeat: r.get(5)?,
                hour: r.get::<i64>(6)? / HOUR_MS,
            })
        },
    )
}

/// One `open_issues` row's pending change.
#[derive(Debug)]
struct IssueDelta {
    chain: String,
    status: String,
    owner_kind: String,
    owner: String,
    level: u32,
    repeat: u32,
    n: i64,
}

/// The moves of the running transaction, summed. Vectors searched
/// linearly: a transaction touches few distinct places (a check of
/// 10,000 escalations, a dozen), and finding one compares borrowed
/// fields, so a move allocates nothing once its places are known.
#[derive(Debug, Default)]
struct Pending {
    issues: Vec<IssueDelta>,
    hours: Vec<(String, i64, i64)>,
}

impl Pending {
    fn add(&mut self, p: &Place, n: i64) {
        let found = self.issues.iter_mut().find(|d| {
            d.level == p.level
                && d.repeat == p.repeat
                && d.owner == p.owner
                && d.chain == p.chain
                && d.status == p.status
                && d.owner_kind == p.owner_kind
        });
        match found {
            Some(d) => d.n += n,
            None => self.issues.push(IssueDelta {
                chain: p.chain.to_string(),
                status: p.status.to_string(),
                owner_kind: p.owner_kind.to_string(),
                owner: p.owner.to_string(),
                level: p.level,
                repeat: p.repeat,
                n,
            }),
        }
    }

    fn add_hour(&mut self, p: &Place, n: i64) {
        let found = self
            .hours
            .iter_mut()
            .find(|(c, h, _)| *h == p.hour && c == p.chain);
        match found {
            Some((_, _, m)) => *m += n,
            None => self.hours.push((p.chain.to_string(), p.hour, n)),
        }
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// An issue row went from `before` to `after` (`None`: absent or
/// resolved). Costs two comparisons when nothing counted changed.
pub fn moved(before: Option<Place>, after: Option<Place>) {
    if before == after {
        return;
    }
    let hour_moved = match (&before, &after) {
        (Some(b), Some(a)) => b.hour != a.hour || b.chain != a.chain,
        _ => true,
    };
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        for (place, n) in [(before, -1), (after, 1)] {
            if let Some(place) = place {
                p.add(&place, n);
                if hour_moved {
                    p.add_hour(&place, n);
                }
            }
        }
    });
}

/// Forget the pending moves (a transaction begins, or was rolled back).
pub fn discard() {
    PENDING.with(|p| *p.borrow_mut() = Pending::default());
}

/// Write the pending moves into the counter tables, in the transaction
/// they belong to, and forget them.
pub fn flush(tx: &Tx) -> Result<()> {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for d in pending.issues.iter().filter(|d| d.n != 0) {
        // The conflict target named and `n` qualified: PostgreSQL needs
        // both (SQLite takes either way).
        tx.exec(
            "INSERT INTO open_issues (chain, status, owner_kind, owner, level, repeat, n) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (chain, status, owner_kind, owner, level, repeat) \
             DO UPDATE SET n = open_issues.n + excluded.n",
            args![
                d.chain.as_str(),
                d.status.as_str(),
                d.owner_kind.as_str(),
                d.owner.as_str(),
                d.level,
                d.repeat,
                d.n
            ],
            "counting open issues",
        )?;
        tx.exec(
            "DELETE FROM open_issues WHERE chain = ?1 AND status = ?2 AND owner_kind = ?3 \
             AND owner = ?4 AND level = ?5 AND repeat = ?6 AND n = 0",
            args![
                d.chain.as_str(),
                d.status.as_str(),
                d.owner_kind.as_str(),
                d.owner.as_str(),
                d.level,
                d.repeat
            ],
            "counting open issues",
        )?;
    }
    for (chain, hour, n) in pending.hours.iter().filter(|h| h.2 != 0) {
        tx.exec(
            "INSERT INTO open_hours (chain, hour, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT (chain, hour) DO UPDATE SET n = open_hours.n + excluded.n",
            args![chain.as_str(), *hour, *n],
            "counting open issues by hour",
        )?;
        tx.exec(
            "DELETE FROM open_hours WHERE chain = ?1 AND hour = ?2 AND n = 0",
            args![chain.as_str(), *hour],
            "counting open issues by hour",
        )?;
    }
    Ok(())
}

/// Recount both tables from the issues (what the migration does): after
/// rows were written behind the store's back, such as a bulk load.
pub fn rebuild(conn: &Connection) -> Result<()> {
    let script = include_str!("../../migrations/09-digest/up.sql");
    // What follows the marker's line is the backfill.
    let body = script
        .split_once("-- backfill")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, body)| body)
        .filter(|body| !body.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("migrations/09-digest has no `-- backfill` section"))?;
    conn.execute_batch(body).sql("recounting open issues")?;
    Ok(())
}
