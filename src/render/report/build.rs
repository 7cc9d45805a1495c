//! [`build`]: the report's figures, as queried, shaped into a [`Report`].
//! Pure: the window and the config's chains come in as parameters.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    BreachLine, ChainReport, ChainRoles, ChannelLine, Delivery, GroupLine, Grouped, LevelCount,
    LevelLine, OpenLine, PrioritySlaLine, Ranked, Report, SlaView, Totals, Window,
};
use crate::config::Config;
use crate::model::time::rfc3339;
use crate::model::Ts;
use crate::store::report::{
    Breach, ChannelFailures, Data, GroupBy, GroupRow, LevelReached, OpenIssue, ReportRow, Scope,
};

/// Shape the queried figures into a report. `configured` lists the chains
/// of the config that the report covers (all, or the `--chain` one).
pub fn build(scope: &Scope, data: Data, configured: &ChainRoles) -> Report {
    let Data {
        chains: mut rows,
        levels,
        longest_open,
        worst_breaches,
        delivery,
        grouped,
        sla_by_priority,
    } = data;
    // Configured chains show even when nothing happened on them: a quiet
    // week is news too.
    for name in configured.keys() {
        if scope.chain.is_none_or(|c| c == name) && !rows.contains_key(name) {
            rows.insert(name.clone(), ReportRow::new(name));
        }
    }
    let mut by_chain: BTreeMap<String, Vec<LevelReached>> = BTreeMap::new();
    for l in levels {
        by_chain.entry(l.chain.clone()).or_default().push(l);
    }

    let mut totals = Totals::default();
    let mut chains = Vec::with_capacity(rows.len());
    for (name, r) in rows {
        totals.add(&r);
        let found = by_chain.remove(&name).unwrap_or_default();
        let roles = configured.get(&name).map(Vec::as_slice);
        chains.push(chain_report(name, r, roles, found));
    }
    let escalating_most = ranking(&chains);
    Report {
        window: Window {
            since: rfc3339(scope.since),
            until: rfc3339(scope.until),
            seconds: (scope.until - scope.since).num_seconds(),
            chain: scope.chain.map(str::to_string),
        },
        totals,
        chains,
        escalating_most,
        escalating_by: grouped.map(|(by, rows)| grouped_ranking(by, rows)),
        sla_by_priority: sla_by_priority
            .into_iter()
            .map(|p| PrioritySlaLine {
                priority: p.priority,
                response: p.response.into(),
                resolution: p.resolution.into(),
            })
            .collect(),
        longest_open: longest_open
            .into_iter()
            .map(|o| open_line(o, scope.until))
            .collect(),
        worst_breaches: worst_breaches.into_iter().map(breach_line).collect(),
        delivery: delivery_lines(delivery),
    }
}

impl Totals {
    fn add(&mut self, r: &ReportRow) {
        self.involved += r.involved;
        self.opened += r.opened;
        self.resolved += r.resolved;
        self.still_open += r.still_open;
        // Issues belong to one chain, so per-chain distinct counts add up.
        self.escalated += r.escalated;
        self.breached += r.breached;
    }
}

/// One chain's figures; `roles` are its levels' roles in the config (None:
/// the chain is no longer there), `found` its levels as queried.
fn chain_report(
    name: String,
    r: ReportRow,
    roles: Option<&[String]>,
    found: Vec<LevelReached>,
) -> ChainReport {
    let mut found: BTreeMap<u32, LevelReached> = found.into_iter().map(|l| (l.level, l)).collect();
    // Every configured level, reached or not (a level nobody reached is a
    // finding), then any level only the history knows.
    let wanted: BTreeSet<u32> = (1..=roles.map_or(0, <[String]>::len))
        .filter_map(|l| u32::try_from(l).ok())
        .chain(found.keys().copied())
        .chain(r.highest_level.keys().copied())
        .collect();
    let highest_level = wanted
        .iter()
        .map(|&level| LevelCount {
            level,
            issues: r.highest_level.get(&level).copied().unwrap_or(0),
        })
        .collect();
    let levels = wanted
        .into_iter()
        .map(|level| {
            let l = found.remove(&level).unwrap_or_default();
            LevelLine {
                level,
                role: roles
                    .and_then(|r| r.get(usize::try_from(level).ok()?.checked_sub(1)?))
                    .cloned(),
                reached: l.reached,
                stay: l.stay.into(),
                escalated: l.escalated,
                resolved: l.resolved,
                still_there: l.still_there,
            }
        })
        .collect();
    ChainReport {
        configured: roles.is_some(),
        involved: r.involved,
        opened: r.opened,
        resolved: r.resolved,
        still_open: r.still_open,
        escalated: r.escalated,
        escalation_rate: rate(r.escalated, r.involved),
        breached: r.breached,
        highest_level,
        time_to_ack: r.time_to_ack.into(),
        time_to_resolve: r.time_to_resolve.into(),
        sla: SlaView {
            response: r.response_sla.into(),
            resolution: r.resolution_sla.into(),
        },
        levels,
        chain: name,
    }
}

/// Chains with issues, highest escalation rate first (ties: more escalated
/// issues first, then by name, so the order is stable).
fn ranking(chains: &[ChainReport]) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = chains
        .iter()
        .filter_map(|c| {
            Some(Ranked {
                chain: c.chain.clone(),
                escalation_rate: c.escalation_rate?,
                escalated: c.escalated,
                involved: c.involved,
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.escalation_rate
            .total_cmp(&a.escalation_rate)
            .then(b.escalated.cmp(&a.escalated))
            .then(a.chain.cmp(&b.chain))
    });
    ranked
}

/// Groups with involved issues, highest escalation rate first (then most
/// escalated, then by name), as for chains.
fn grouped_ranking(by: GroupBy, rows: Vec<GroupRow>) -> Grouped {
    let mut lines: Vec<GroupLine> = rows
        .into_iter()
        .filter(|r| r.involved > 0)
        .map(|r| GroupLine {
            escalation_rate: rate(r.escalated, r.involved).unwrap_or(0.0),
            group: r.group,
            escalated: r.escalated,
            involved: r.involved,
        })
        .collect();
    lines.sort_by(|a, b| {
        b.escalation_rate
            .total_cmp(&a.escalation_rate)
            .then(b.escalated.cmp(&a.escalated))
            .then(a.group.cmp(&b.group))
    });
    Grouped {
        by: by.as_str(),
        rows: lines,
    }
}

fn open_line(o: OpenIssue, until: Ts) -> OpenLine {
    OpenLine {
        age_seconds: (until - o.created_at).num_seconds(),
        id: o.id,
        chain: o.chain,
        title: o.title,
        level: o.level,
        owner: o.owner,
        acknowledged: o.acknowledged,
        created_at: rfc3339(o.created_at),
    }
}

fn breach_line(b: Breach) -> BreachLine {
    BreachLine {
        id: b.id,
        chain: b.chain,
        title: b.title,
        target: b.target,
        due_at: rfc3339(b.due_at),
        settled_at: b.settled_at.map(rfc3339),
        overshoot_seconds: b.overshoot_seconds,
    }
}

fn delivery_lines(channels: Vec<ChannelFailures>) -> Delivery {
    let by_channel: Vec<ChannelLine> = channels
        .into_iter()
        .map(|c| ChannelLine {
            channel: c.channel,
            failed_attempts: c.failed_attempts,
            dead: c.dead,
        })
        .collect();
    Delivery {
        failed_attempts: by_channel.iter().map(|c| c.failed_attempts).sum(),
        dead: by_channel.iter().map(|c| c.dead).sum(),
        by_channel,
    }
}

/// The chains a report covers from the config (all, or the `--chain` one),
/// with their levels' roles; empty without a config (the report then
/// lists only chains with history).
pub fn chain_roles(config: Option<&Config>, chain: Option<&str>) -> ChainRoles {
    let Some(config) = config else {
        return ChainRoles::new();
    };
    config
        .chains
        .iter()
        .filter(|(name, _)| chain.is_none_or(|f| f == name.as_str()))
        .map(|(name, ch)| {
            let roles = ch.levels.iter().map(|l| l.role.clone()).collect();
            (name.clone(), roles)
        })
        .collect()
}

/// The subject of the mailed report: its chain (if one) and its days.
pub fn subject(scope: &Scope) -> String {
    let (since, until) = (day(scope.since), day(scope.until));
    match scope.chain {
        Some(c) => format!("[escalate] report ({c}): {since} to {until}"),
        None => format!("[escalate] report: {since} to {until}"),
    }
}

fn day(t: Ts) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

/// `x` rounded to `decimals` places: figures meant for reading and diffing
/// (0.6667, 33.3), not float noise.
pub(super) fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::report::SlaLine;
    use crate::store::report::SlaCount;

    #[test]
    fn sla_percent_and_rates_round() {
        let l: SlaLine = SlaCount {
            met: 1,
            breached: 2,
        }
        .into();
        assert_eq!(l.met_percent, Some(33.3));
        let none: SlaLine = SlaCount::default().into();
        assert_eq!(none.met_percent, None);
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
    }
}
