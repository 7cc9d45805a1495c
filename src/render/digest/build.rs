//! [`build`]: the digest's figures, as queried, shaped into a [`Digest`]
//! and checked against the config (orphaned chains, unknown owners).

use super::{
    AgingLine, BreachLine, Checker, DeadLine, Digest, Exceptions, ExhaustedLine, GapLine, Listing,
    PauseLine, RiskLine,
};
use crate::config::Config;
use crate::model::time::rfc3339;
use crate::model::{Listed, Ts};
use crate::store::digest::{ChainEnd, Data, OwnerCount};

/// The digest at `now` from [`crate::store::digest::collect`]'s figures.
pub fn build(data: Data, config: &Config, now: Ts) -> Digest {
    let (orphaned, unreachable_owners) = owners(&data.owners, config);
    let age = data.last_run_at.map(|t| now - t);
    let expected = config.checker.expected_interval;
    Digest {
        generated_at: rfc3339(now),
        since: rfc3339(data.since),
        first: data.last.is_none(),
        last_event_id: data.upto,
        open_issues: data.open,
        at_risk: listing(data.at_risk, |r| RiskLine {
            rendered: config.templates.render(
                "digest_line",
                "markdown",
                &crate::config::templates::Vars {
                    id: r.id,
                    title: r.title.clone(),
                    chain: r.chain.clone(),
                    owner: r.owner.clone(),
                    target: Some(r.target.clone()),
                    due_at: rfc3339(r.due_at),
                    late: crate::model::time::human(r.due_at - now),
                    notice: format!("{}_at_risk", r.target),
                    ..Default::default()
                },
            ),
            left_seconds: (r.due_at - now).num_seconds(),
            due_at: rfc3339(r.due_at),
            id: r.id,
            chain: r.chain,
            title: r.title,
            owner: r.owner,
            target: r.target,
        }),
        breaches: listing(data.breaches, |b| BreachLine {
            id: b.id,
            chain: b.chain,
            title: b.title,
            target: b.target,
            at: rfc3339(b.at),
            resolved: b.resolved,
        }),
        aging: data
            .aging
            .into_iter()
            .map(|a| AgingLine {
                chain: a.chain,
                under_4h: a.under_4h,
                from_4h_to_24h: a.from_4h_to_24h,
                from_1d_to_3d: a.from_1d_to_3d,
                over_3d: a.over_3d,
            })
            .collect(),
        exceptions: Exceptions {
            dead_deliveries: listing(data.dead, |d| DeadLine {
                issue_id: d.issue_id,
                channel: d.channel,
                target: d.target,
                error: d.error,
            }),
            orphaned,
            unreachable_owners,
            exhausted: listing(data.exhausted, |e| ExhaustedLine {
                id: e.id,
                chain: e.chain,
                title: e.title,
            }),
            long_pauses: listing(data.long_pauses, |p| PauseLine {
                id: p.id,
                chain: p.chain,
                title: p.title,
                since: rfc3339(p.since),
                paused_seconds: (now - p.since).num_seconds(),
                until: p.until.map(rfc3339),
                reason: p.reason,
                by: p.by,
            }),
            long_pause_seconds: config.digest.long_pause.num_seconds(),
            oncall_gaps: listing(data.gaps, |g| GapLine {
                issue_id: g.issue_id,
                title: g.title,
                role: g.role,
                at: rfc3339(g.at),
            }),
        },
        checker: Checker {
            last_run_at: data.last_run_at.map(rfc3339),
            last_run_age_seconds: age.map(|a| a.num_seconds()),
            expected_interval_seconds: expected.num_seconds(),
            // Never run at all is the stalest a checker gets.
            stale: age.is_none_or(|a| a > expected),
            runs_since: data.runs,
            runs_with_failures_since: data.runs_failing,
        },
    }
}

fn listing<T, U>(l: Listed<T>, line: impl FnMut(T) -> U) -> Listing<U> {
    Listing {
        total: l.total,
        items: l.rows.into_iter().map(line).collect(),
    }
}

/// (name, issues) pairs.
type Counts = Vec<(String, u64)>;

/// (orphaned chains, unreachable owners), each (name, issues) sorted by
/// name, from the unresolved issues per (chain, owner kind, owner). An
/// issue on a chain missing from the config counts as orphaned only: that
/// is the first thing to fix.
fn owners(rows: &[OwnerCount], config: &Config) -> (Counts, Counts) {
    let mut orphaned = Counts::new();
    let mut unreachable = Counts::new();
    for r in rows {
        if config.chain(&r.chain).is_none() {
            add(&mut orphaned, &r.chain, r.open);
            continue;
        }
        // A person owner the config cannot reach (once it lists people at
        // all): nobody is told about the issue.
        let unknown_person = r.owner_kind == "person"
            && !config.people.is_empty()
            && !config.people.contains_key(&r.owner)
            && !config.roles.contains_key(&r.owner);
        let lost = r.owner.is_empty()
            || (r.owner_kind == "role" && !config.roles.contains_key(&r.owner))
            || unknown_person;
        if lost {
            add(&mut unreachable, &r.owner, r.open);
        }
    }
    orphaned.sort();
    unreachable.sort();
    (orphaned, unreachable)
}

fn add(counts: &mut Counts, name: &str, n: u64) {
    match counts.iter_mut().find(|(c, _)| c == name) {
        Some((_, m)) => *m += n,
        None => counts.push((name.to_string(), n)),
    }
}

/// The configured chains' tops, for the exhausted-issue query.
pub fn chain_ends(config: &Config) -> Vec<ChainEnd<'_>> {
    config
        .chains
        .values()
        .map(|c| ChainEnd {
            chain: &c.name,
            levels: u32::try_from(c.levels.len()).unwrap_or(u32::MAX),
            repeat: c.repeat,
        })
        .collect()
}

/// The subject of the mailed digest: the two counts to act on.
pub fn subject(d: &Digest) -> String {
    format!(
        "[escalate] digest: {} at risk, {} breached since the last digest",
        d.at_risk.total, d.breaches.total
    )
}
