//! [`build`]: the report's figures, as queried, shaped into a [`Report`].
//! Pure: the window and the config's chains come in as parameters.

use std::collections::{BTreeMap, BTreeSet};

use super::clocks::{Basis, ReportClocks};
use super::{
    BreachLine, ChainReport, ChainRoles, ChannelLine, ClockDurations, ClockStay, Delivery,
    GroupLine, Grouped, LevelCount, LevelLine, OpenLine, PrioritySlaLine, Ranked, Report, SlaView,
    SpreadView, Totals, Window,
};
use crate::config::Config;
use crate::model::time::rfc3339;
use crate::model::Ts;
use crate::store::report::{
    Breach, ByClock, ChannelFailures, Data, GroupBy, GroupRow, LevelReached, OpenIssue, ReportRow,
    Scope, Spread,
};

/// Shape the queried figures into a report. `configured` lists the chains
/// of the config that the report covers (all, or the `--chain` one);
/// `clocks` are the ones the figures were measured with.
pub fn build(
    scope: &Scope,
    data: Data,
    configured: &ChainRoles,
    clocks: &mut ReportClocks,
) -> Report {
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
        chains.push(chain_report(name, r, roles, found, clocks));
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
        worst_breaches: worst_breaches
            .into_iter()
            .map(|b| breach_line(b, clocks))
            .collect(),
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
    clocks: &mut ReportClocks,
) -> ChainReport {
    // What a chain (or level) without samples is labelled with.
    let own = clocks.default_of(&name);
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
                stay: summary(&l.stay, own, clocks),
                stay_by_calendar: stays_by_calendar(&l.stay, clocks),
                level,
                role: roles
                    .and_then(|r| r.get(usize::try_from(level).ok()?.checked_sub(1)?))
                    .cloned(),
                reached: l.reached,
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
        time_to_ack: summary(&r.time_to_ack, own, clocks),
        time_to_resolve: summary(&r.time_to_resolve, own, clocks),
        by_calendar: by_calendar(&r.time_to_ack, &r.time_to_resolve, own, clocks),
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

/// One clock's spread, labelled.
fn view(s: &Spread, b: &Basis) -> SpreadView {
    SpreadView {
        count: s.count,
        median_seconds: s.median,
        p90_seconds: s.p90,
        basis: b.basis,
        calendar: b.calendar.clone(),
    }
}

/// A measure's figures when one clock measured all of it (or `own`'s empty
/// figures without samples); `mixed`, with the count only, when several
/// did: pooling open hours of one calendar with wall time (or another
/// calendar's hours) would make a median of nothing real.
fn summary(by: &ByClock, own: usize, clocks: &ReportClocks) -> SpreadView {
    let mut it = by.iter();
    match (it.next(), it.next()) {
        (None, _) => view(&Spread::default(), clocks.basis(own)),
        (Some((&clock, s)), None) => view(s, clocks.basis(clock)),
        (Some(_), Some(_)) => SpreadView {
            count: by.values().map(|s| s.count).sum(),
            median_seconds: None,
            p90_seconds: None,
            basis: "mixed",
            calendar: None,
        },
    }
}

/// Times to ack and to resolve per clock that measured either (`own`
/// alone when neither has samples).
fn by_calendar(
    ack: &ByClock,
    resolve: &ByClock,
    own: usize,
    clocks: &ReportClocks,
) -> Vec<ClockDurations> {
    let mut keys: BTreeSet<usize> = ack.keys().chain(resolve.keys()).copied().collect();
    if keys.is_empty() {
        keys.insert(own);
    }
    let mut out: Vec<ClockDurations> = keys
        .into_iter()
        .map(|clock| {
            let b = clocks.basis(clock);
            let get = |m: &ByClock| view(&m.get(&clock).copied().unwrap_or_default(), b);
            ClockDurations {
                basis: b.basis,
                calendar: b.calendar.clone(),
                timezone: b.timezone.clone(),
                time_to_ack: get(ack),
                time_to_resolve: get(resolve),
            }
        })
        .collect();
    // Clock numbers follow the order samples came in; names are stable.
    out.sort_by(|a, b| a.calendar.cmp(&b.calendar));
    out
}

/// A level's completed stays per clock, by calendar name.
fn stays_by_calendar(stay: &ByClock, clocks: &ReportClocks) -> Vec<ClockStay> {
    let mut out: Vec<ClockStay> = stay
        .iter()
        .map(|(&clock, s)| {
            let b = clocks.basis(clock);
            ClockStay {
                basis: b.basis,
                calendar: b.calendar.clone(),
                timezone: b.timezone.clone(),
                stay: view(s, b),
            }
        })
        .collect();
    out.sort_by(|a, b| a.calendar.cmp(&b.calendar));
    out
}

fn breach_line(b: Breach, clocks: &ReportClocks) -> BreachLine {
    let basis = clocks.basis(b.clock);
    BreachLine {
        basis: basis.basis,
        calendar: basis.calendar.clone(),
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
