//! `escalate check`: the cron job. One write transaction brings every due
//! issue to the level its schedule calls for and enqueues its notifications;
//! after commit, the outbox is delivered. Orphaned issues and failed
//! deliveries are reported on stderr with exit code 3.

use anyhow::Result;
use rusqlite::Transaction;

use super::{Ctx, Io};
use crate::config::Config;
use crate::engine::sla::{self, Change};
use crate::engine::{self, human, Page, Ts};
use crate::error::Code;
use crate::notify::{self, message};
use crate::store::{health, issues, outbox, Issue};
use crate::workflow;

/// The fingerprint recorded for a chain missing from the config.
const ORPHANED: &str = "orphaned";

/// Orphan ids listed per chain before "and N more".
const ORPHAN_IDS_SHOWN: usize = 10;

/// What the decision phase of a check did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Decided {
    /// Due issues examined.
    pub examined: usize,
    /// (issue id, title, page) for every page taken.
    pub pages: Vec<(i64, String, Page)>,
    /// (issue id, title, change) for every SLA clock that moved.
    pub sla: Vec<(i64, String, Change)>,
    /// (chain, up to ten ids, count) of unresolved issues on missing chains.
    pub orphans: Vec<(String, Vec<i64>, u64)>,
    /// Issues whose due time was recomputed after a config change.
    pub rescheduled: usize,
}

/// The decision phase, inside the caller's transaction.
pub fn decide(tx: &Transaction, config: &Config, now: Ts) -> Result<Decided> {
    let mut decided = Decided::default();
    // Live config: a chain whose schedule changed gets its open issues'
    // due times recomputed once; a chain that vanished leaves orphans.
    for (name, fingerprint) in issues::chain_fingerprints(tx)? {
        match config.chain(&name) {
            Some(chain) => {
                let current = chain.fingerprint();
                if fingerprint.as_deref() != Some(current.as_str()) {
                    for mut issue in issues::unresolved_in_chain(tx, &name)? {
                        let clocks = sla::rearm(
                            &issue.sla,
                            &chain.sla,
                            issue.created_at,
                            issue.first_acked_at,
                        );
                        let due = workflow::schedule(
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
                let (ids, count) = issues::unresolved_ids(tx, &name, ORPHAN_IDS_SHOWN)?;
                if count > 0 {
                    // Forget the fingerprint: when the chain comes back, its
                    // issues' due times are recomputed (they are parked
                    // below meanwhile).
                    if fingerprint.as_deref() != Some(ORPHANED) {
                        issues::set_fingerprint(tx, &name, ORPHANED)?;
                    }
                    decided.orphans.push((name, ids, count));
                }
            }
        }
    }
    for mut issue in issues::due(tx, now)? {
        let Some(chain) = config.chain(&issue.chain) else {
            // Orphaned: reported above, never lost, never a crash — and
            // parked, so it costs later checks nothing until its chain is
            // back (then the fingerprint mismatch reschedules it).
            issues::set_next_due(tx, issue.id, None)?;
            continue;
        };
        decided.examined += 1;
        let decision = engine::advance(&issue.esc, chain, now);
        let title = issue.title.clone();
        let applied = workflow::apply(tx, config, &mut issue, &decision, now)?;
        for page in applied.pages {
            decided.pages.push((issue.id, title.clone(), page));
        }
        for change in applied.sla {
            decided.sla.push((issue.id, title.clone(), change));
        }
    }
    Ok(decided)
}

pub fn run(ctx: &Ctx, dry_run: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let mut store = ctx.store()?;
    let now = ctx.now;
    let mut attention = false;

    if dry_run {
        let (decided, pending) = store.rehearse(|tx| {
            let pending = outbox::pending(tx, now)?;
            Ok((decide(tx, &config, now)?, pending))
        })?;
        for (id, title, page) in &decided.pages {
            let what = if page.repeat > 0 {
                format!("re-notify level {} (repeat {})", page.level, page.repeat)
            } else {
                format!("escalate to level {}", page.level)
            };
            let late = now - page.due_at;
            let late = if late.num_seconds() >= 60 {
                format!(", {} late", human(late))
            } else {
                String::new()
            };
            writeln!(
                io.out,
                "would {what}: issue #{id} '{title}' -> {} (due {}{late})",
                page.role,
                crate::model::time::rfc3339(page.due_at)
            )?;
        }
        for (id, title, change) in &decided.sla {
            writeln!(
                io.out,
                "would record: issue #{id} '{title}' {}",
                describe_sla(change)
            )?;
        }
        for d in &pending {
            writeln!(io.out, "would deliver: {}", message::line(d, now))?;
        }
        if decided.pages.is_empty() && decided.sla.is_empty() && pending.is_empty() {
            writeln!(io.out, "nothing is due")?;
        }
        attention |= report_orphans(&decided, io);
        return Ok(if attention { Code::Attention } else { Code::Ok });
    }

    let started = std::time::Instant::now();
    let decided = store.write(|tx| decide(tx, &config, now))?;
    let outcome = notify::deliver(&mut store, &config, now, io.out)?;
    // The run log is the dead-man switch behind `escalate status`.
    let record = health::RunRecord {
        started_at: Some(now),
        duration_ms: started.elapsed().as_millis().min(i64::MAX as u128) as i64,
        examined: decided.examined as u64,
        escalations: decided.pages.len() as u64,
        sla_events: decided.sla.len() as u64,
        delivered: u64::from(outcome.sent),
        failed: outcome.retrying.len() as u64,
        dead: outcome.dead.len() as u64,
        orphans: decided.orphans.iter().map(|(_, _, n)| *n).sum(),
    };
    store.write(|tx| health::record_run(tx, now, &record))?;
    for (ids, n, channel, error) in notify::summarize(&outcome.retrying) {
        io.warn(format!(
            "delivery for {} via {channel} failed, will retry: {error}",
            notify::issues_phrase(&ids, n)
        ));
    }
    for (ids, n, channel, error) in notify::summarize(&outcome.dead) {
        io.warn(format!(
            "delivery for {} via {channel} failed for good: {error}",
            notify::issues_phrase(&ids, n)
        ));
    }
    attention |= outcome.failed();
    attention |= report_orphans(&decided, io);
    Ok(if attention { Code::Attention } else { Code::Ok })
}

fn report_orphans(decided: &Decided, io: &mut Io) -> bool {
    for (chain, ids, count) in &decided.orphans {
        let mut list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
        if *count > ids.len() as u64 {
            list.push(format!("and {} more", *count - ids.len() as u64));
        }
        io.warn(format!(
            "{count} open issue(s) on chain `{chain}`, which is not in the config: {} \
             (add the chain back or resolve them)",
            list.join(", ")
        ));
    }
    !decided.orphans.is_empty()
}

/// "response SLA at risk at 2026-…Z (due …)" and the like.
fn describe_sla(change: &Change) -> String {
    let target = change.target().as_str();
    match change {
        Change::AtRisk { at, due_at, .. } => format!(
            "{target} SLA at risk at {} (due {})",
            crate::model::time::rfc3339(*at),
            crate::model::time::rfc3339(*due_at)
        ),
        Change::Breached { at, .. } => {
            format!(
                "{target} SLA breached at {}",
                crate::model::time::rfc3339(*at)
            )
        }
        Change::Met { at, .. } => {
            format!("{target} SLA met at {}", crate::model::time::rfc3339(*at))
        }
    }
}
