//! What a check decides: every due issue brought to the level its schedule
//! calls for, SLA clocks moved, chains whose schedule changed re-anchored
//! once, and issues on vanished chains reported (and parked) as orphans.

use std::collections::HashSet;

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::sla::{self};
use crate::engine::{self, Page};
use crate::model::sla::Change;
use crate::model::{Issue, Listed, Ts};
use crate::store::issues;

/// A page a check took.
#[derive(Debug)]
pub struct Paged {
    pub issue_id: i64,
    pub title: String,
    pub page: Page,
}

/// An SLA clock a check moved.
#[derive(Debug)]
pub struct SlaMoved {
    pub issue_id: i64,
    pub title: String,
    pub change: Change,
}

/// A pause a check ended because its `--until` passed.
#[derive(Debug)]
pub struct Resumed {
    pub issue_id: i64,
    pub title: String,
    /// The pause's end (the instant recorded).
    pub at: Ts,
}

/// Unresolved issues on a chain that is not in the config.
#[derive(Debug)]
pub struct Orphans {
    pub chain: String,
    /// The first few ids, for the message.
    pub ids: Vec<i64>,
    pub count: u64,
}

/// The fingerprint recorded for a chain missing from the config.
const ORPHANED: &str = "orphaned";

/// Orphan ids listed per chain before "and N more".
const ORPHAN_IDS_SHOWN: usize = 10;

/// What the decision phase of a check did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Decided {
    /// Due issues examined.
    pub examined: usize,
    /// Every page taken.
    pub pages: Vec<Paged>,
    /// Every SLA clock that moved.
    pub sla: Vec<SlaMoved>,
    /// Unresolved issues on chains missing from the config.
    pub orphans: Vec<Orphans>,
    /// Issues whose due time was recomputed after a config change.
    pub rescheduled: usize,
    /// Pauses that ended on their own.
    pub resumed: Vec<Resumed>,
    /// A batch stopped at its limit: more issues may be due.
    pub more: bool,
}

impl Decided {
    /// Add a later batch's decisions.
    pub fn absorb(&mut self, other: Decided) {
        self.examined += other.examined;
        self.pages.extend(other.pages);
        self.sla.extend(other.sla);
        self.orphans.extend(other.orphans);
        self.rescheduled += other.rescheduled;
        self.resumed.extend(other.resumed);
        self.more = other.more;
    }
}

/// The decision phase, inside the caller's transaction: every due issue.
pub fn decide(tx: &Tx, config: &Config, now: Ts) -> Result<Decided> {
    let mut decided = decide_chains(tx, config)?;
    decide_due(tx, config, now, usize::MAX, None, &mut decided)?;
    Ok(decided)
}

/// One batch of a check that several hosts may run at once (PostgreSQL):
/// the chains' pass on the first batch only (`seen` empty), then at most
/// `limit` due issues, each batch its own transaction so the hosts take
/// turns. An issue this run already decided (in `seen`) is not decided
/// again: a batch of only those ends the run (`more` false), so the loop
/// ends even if a decision ever left an issue due.
pub fn decide_batch(
    tx: &Tx,
    config: &Config,
    now: Ts,
    limit: usize,
    seen: &mut HashSet<i64>,
) -> Result<Decided> {
    let mut decided = if seen.is_empty() {
        decide_chains(tx, config)?
    } else {
        Decided::default()
    };
    decide_due(tx, config, now, limit, Some(seen), &mut decided)?;
    Ok(decided)
}

/// Chains whose schedule changed get their open issues' due times
/// recomputed; chains that vanished are reported with their orphans.
fn decide_chains(tx: &Tx, config: &Config) -> Result<Decided> {
    let mut decided = Decided::default();
    // Live config: a chain whose schedule changed gets its open issues'
    // due times recomputed once; a chain that vanished leaves orphans.
    for issues::ChainRecord { name, fingerprint } in issues::chain_fingerprints(tx)? {
        match config.chain(&name) {
            Some(chain) => {
                let current = chain.fingerprint();
                if fingerprint.as_deref() != Some(current.as_str()) {
                    for mut issue in issues::unresolved_in_chain(tx, &name)? {
                        let chain = chain.for_priority(issue.edge.priority.as_deref());
                        let clocks = sla::rearm(
                            &issue.sla,
                            &chain.sla,
                            issue.created_at,
                            issue.first_acked_at,
                        );
                        let due = super::schedule(
                            &Issue {
                                sla: clocks,
                                ..issue.clone()
                            },
                            Some(chain),
                        );
                        if due != issue.next_due_at || clocks != issue.sla {
                            issue.sla = clocks;
                            issue.next_due_at = due;
                            issues::save(tx, &issue)?;
                            decided.rescheduled += 1;
                        }
                    }
                    issues::set_fingerprint(tx, &name, &current)?;
                }
            }
            None => {
                let Listed {
                    rows: ids,
                    total: count,
                } = issues::unresolved_ids(tx, &name, ORPHAN_IDS_SHOWN)?;
                if count > 0 {
                    // Forget the fingerprint: when the chain comes back, its
                    // issues' due times are recomputed (they are parked
                    // below meanwhile).
                    if fingerprint.as_deref() != Some(ORPHANED) {
                        issues::set_fingerprint(tx, &name, ORPHANED)?;
                    }
                    decided.orphans.push(Orphans {
                        chain: name,
                        ids,
                        count,
                    });
                }
            }
        }
    }
    Ok(decided)
}

/// Up to `limit` due issues brought to the level their schedule calls for.
fn decide_due(
    tx: &Tx,
    config: &Config,
    now: Ts,
    limit: usize,
    mut seen: Option<&mut HashSet<i64>>,
    decided: &mut Decided,
) -> Result<()> {
    let due = issues::due_upto(tx, now, limit)?;
    let full = due.len() == limit;
    let mut new = false;
    for mut issue in due {
        if let Some(seen) = seen.as_deref_mut() {
            if !seen.insert(issue.id) {
                continue;
            }
        }
        new = true;
        let Some(chain) = config.chain_for(&issue) else {
            // Orphaned: reported above, never lost, never a crash — and
            // parked, so it costs later checks nothing until its chain is
            // back (then the fingerprint mismatch reschedules it).
            issues::set_next_due(tx, issue.id, None)?;
            continue;
        };
        decided.examined += 1;
        let before = issue.clone();
        // A pause whose end passed is over since that instant: the steps
        // due after it are taken from there, as if a check had run then.
        let title = issue.title.clone();
        let mut applied = super::Applied::default();
        if let Some((at, owed)) = super::pause::expire(tx, config, &mut issue, now)? {
            decided.resumed.push(Resumed {
                issue_id: issue.id,
                title: title.clone(),
                at,
            });
            // Pages the resume took (owed from before the pause) count
            // as this check's, like any other.
            applied = owed;
        }
        let decision = engine::advance(&issue.esc, chain, now);
        let more = super::apply_stored(tx, config, &before, &mut issue, &decision, now)?;
        applied.pages.extend(more.pages);
        applied.sla.extend(more.sla);
        for page in applied.pages {
            decided.pages.push(Paged {
                issue_id: issue.id,
                title: title.clone(),
                page,
            });
        }
        for change in applied.sla {
            decided.sla.push(SlaMoved {
                issue_id: issue.id,
                title: title.clone(),
                change,
            });
        }
    }
    decided.more = full && new;
    Ok(())
}
