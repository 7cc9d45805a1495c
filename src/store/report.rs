//! Queries behind `report`: aggregates over a window [since, until). Counts
//! are computed in SQLite and come back a row per chain, per (chain, level)
//! or per group. Durations are different: which clock measures one (wall
//! time, or the open time of a business-hours calendar) depends on the
//! issue's chain and priority through the config, which SQL does not see.
//! So the samples (an ack, a resolution, a completed stay, a breach) are
//! streamed one row at a time, measured by the caller's [`Clocks`], and
//! kept as one `i64` each until their percentiles are picked: memory grows
//! by 8 bytes per sample, never by a row's text.
//!
//! An issue is *involved* in a window when it was open at any moment of it:
//! created before `until` and not resolved before `since` (an issue opened
//! before the window and resolved inside it counts: seed bug B6). Times are
//! the issue's current columns, so an issue resolved and reopened later
//! counts as open through the window.
//!
//! Medians and 90th percentiles are nearest-rank: rank (n+1)/2 and
//! (9n+9)/10 of the n values of a group ordered ascending (integer
//! division), so they are always observed values.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use anyhow::Result;

use super::sql::{args, Row};
use super::{ms, rollups, ts, SqlContext, Tx};
use crate::model::Ts;

/// What a report covers: [since, until), optionally one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub since: Ts,
    pub until: Ts,
    pub chain: Option<&'a str>,
}

/// How the report measures one issue's durations. The caller knows the
/// config: it maps an issue's chain and priority to a clock (an index it
/// defines; wall-clock time or one calendar's open time) and measures an
/// interval on it. Called once per sample, so it must be cheap (a memoised
/// calendar, a cached lookup).
pub trait Clocks {
    /// The clock that governs issues of `chain` with `priority`.
    fn clock(&mut self, chain: &str, priority: Option<&str>) -> usize;
    /// The length of [a, b) in milliseconds on `clock` (a, b: ms since the
    /// epoch; zero when b ≤ a). Never more than the wall clock's b − a (a
    /// calendar's open time is part of the elapsed time):
    /// [`worst_breaches`] skips the breaches whose wall-clock overshoot
    /// already falls short of its list.
    fn measure(&self, clock: usize, a: i64, b: i64) -> i64;
}

/// Every duration in wall-clock time, as clock 0 (no config at hand).
pub struct WallClock;

impl Clocks for WallClock {
    fn clock(&mut self, _: &str, _: Option<&str>) -> usize {
        0
    }

    fn measure(&self, _: usize, a: i64, b: i64) -> i64 {
        (b - a).max(0)
    }
}

/// Spreads of one measure by the clock that measured them.
pub type ByClock = BTreeMap<usize, Spread>;

/// A sample's size, median and 90th percentile, in seconds (None when the
/// sample is empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    pub count: u64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

/// SLA outcomes of one target recorded in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaCount {
    pub met: u64,
    pub breached: u64,
}

/// The per-chain figures: one CSV row, one table row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    pub chain: String,
    /// Open at any moment of the window.
    pub involved: u64,
    /// Created in the window.
    pub opened: u64,
    /// Resolved in the window.
    pub resolved: u64,
    /// Involved and not resolved by `until`.
    pub still_open: u64,
    /// Involved issues paged at level 2 or higher in the window.
    pub escalated: u64,
    /// Issues with an SLA breach recorded in the window.
    pub breached: u64,
    /// Highest level reached (issues.max_level of involved issues) → issues.
    pub highest_level: BTreeMap<u32, u64>,
    /// Created → first acknowledgement, for issues first acknowledged in
    /// the window, by clock.
    pub time_to_ack: ByClock,
    /// Created → resolved, for issues resolved in the window, by clock.
    pub time_to_resolve: ByClock,
    pub response_sla: SlaCount,
    pub resolution_sla: SlaCount,
}

impl ReportRow {
    pub fn new(chain: &str) -> ReportRow {
        ReportRow {
            chain: chain.to_string(),
            ..ReportRow::default()
        }
    }
}

/// How one level of one chain did: where the chain breaks down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelReached {
    pub chain: String,
    pub level: u32,
    /// Issues whose stay at this level began in the window.
    pub reached: u64,
    /// Completed stays (left by escalation higher or resolution) that ended
    /// in the window: how long they lasted, by clock.
    pub stay: ByClock,
    /// Stays ended in the window by escalation to a higher level.
    pub escalated: u64,
    /// Stays ended in the window by resolution.
    pub resolved: u64,
    /// Stays still going on at `until`.
    pub still_there: u64,
}

/// An issue still open at `until`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIssue {
    pub id: i64,
    pub chain: String,
    pub title: String,
    /// The level it was at when the window ended.
    pub level: u32,
    /// The current owner.
    pub owner: String,
    pub created_at: Ts,
    /// Whether someone had acknowledged it by `until`.
    pub acknowledged: bool,
}

/// An SLA target breached in the window, and by how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub id: i64,
    pub chain: String,
    pub title: String,
    /// "response" or "resolution".
    pub target: String,
    pub due_at: Ts,
    /// The acknowledgement (response) or resolution that came late, if it
    /// came before `until`.
    pub settled_at: Option<Ts>,
    /// From the deadline to the settlement, or to `until` when still unmet,
    /// measured on `clock`.
    pub overshoot_seconds: i64,
    /// The clock of the issue ([`Clocks::clock`]).
    pub clock: usize,
}

/// Delivery trouble on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFailures {
    pub channel: String,
    /// Failed delivery attempts (`delivery_failed` events) in the window.
    pub failed_attempts: u64,
    /// Notifications created before `until` that are dead now: never
    /// delivered, waiting for `escalate outbox retry`.
    pub dead: u64,
}

/// Involved issues of the scope; `i` is the issues table's alias. Binds ?1
/// (since), ?2 (until), ?3 (chain or NULL). The unary `+` keeps SQLite off
/// the created_at index (every issue ever filed is created before `until`)
/// and on resolved_at: open issues plus those resolved since `since`.
const INVOLVED: &str = "+i.created_at < ?2 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1) \
                        AND (?3 IS NULL OR i.chain = ?3)";

fn bind<'a>(s: &'a Scope) -> (i64, i64, Option<&'a str>) {
    (ms(s.since), ms(s.until), s.chain)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn level(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Nearest-rank median and p90 of millisecond samples, in seconds.
fn spread(mut v: Vec<i64>) -> Spread {
    v.sort_unstable();
    let n = v.len();
    let pick = |rank: usize| v.get(rank.checked_sub(1)?).map(|x| x.div_euclid(1000));
    Spread {
        count: n as u64,
        median: pick(n.div_ceil(2)),
        p90: pick((9 * n).div_ceil(10)),
    }
}

/// Samples per (key, clock), turned into spreads at the end.
type Samples<K> = BTreeMap<(K, usize), Vec<i64>>;

/// Whether any issue was ever filed on `chain` (for telling a chain that
/// left the config from a typo).
pub fn chain_has_issues(tx: &Tx, chain: &str) -> Result<bool> {
    let what = "looking up chain";
    let known = tx.opt(
        "SELECT 1 FROM chains WHERE name = ?1",
        args![chain],
        what,
        |r| r.get::<i64>(0),
    )?;
    if known.is_some() {
        return Ok(true);
    }
    tx.one(
        "SELECT EXISTS (SELECT 1 FROM issues WHERE chain = ?1)",
        args![chain],
        what,
        |r| r.get(0),
    )
}

fn row(rows: &mut BTreeMap<String, ReportRow>, name: String) -> &mut ReportRow {
    rows.entry(name).or_insert_with_key(|k| ReportRow::new(k))
}

/// Per-chain figures for every chain with involved issues or SLA outcomes in
/// the window, by chain name.
pub fn chains(
    tx: &Tx,
    scope: &Scope,
    clocks: &mut dyn Clocks,
) -> Result<BTreeMap<String, ReportRow>> {
    let sla = sla_groups(tx, scope)?;
    let mut rows: BTreeMap<String, ReportRow> = BTreeMap::new();
    involved(tx, scope, &mut rows)?;
    chains_rest(tx, scope, clocks, &sla, &mut rows)?;
    Ok(rows)
}

/// The per-chain figures [`involved`] does not count.
fn chains_rest(
    tx: &Tx,
    scope: &Scope,
    clocks: &mut dyn Clocks,
    sla: &[SlaGroup],
    rows: &mut BTreeMap<String, ReportRow>,
) -> Result<()> {
    escalations(tx, scope, rows)?;
    sla_outcomes(sla, rows);
    durations(tx, scope, clocks, rows)
}

/// Unresolved involved issues by (chain, current level), from [`involved`].
type OpenLevels = BTreeMap<(String, u32), u64>;

/// Involved issues of one (chain, max_level, current level if
/// unresolved): how many, and how many opened, resolved, still open.
struct InvolvedGroup {
    chain: String,
    top: u32,
    now: Option<u32>,
    counts: [u64; 4],
}

/// Per chain how many issues were involved, opened, resolved and still
/// open, and how many reached each highest level (`issues.max_level`,
/// kept by every escalation, so no event scan); and the unresolved ones by
/// current level, for [`levels`]. The unresolved ones come from the
/// rollups when they are current, else from one pass over the issues.
fn involved(tx: &Tx, scope: &Scope, rows: &mut BTreeMap<String, ReportRow>) -> Result<OpenLevels> {
    let groups = if rollups::current(tx)? {
        let mut groups = involved_resolved(tx, scope)?;
        open_rolled(tx, scope, &mut groups)?;
        groups
    } else {
        involved_from_log(tx, scope)?
    };
    let mut open = OpenLevels::new();
    for g in groups {
        let [n, opened, resolved, still_open] = g.counts;
        if let Some(l) = g.now {
            *open.entry((g.chain.clone(), l)).or_default() += n;
        }
        let c = row(rows, g.chain);
        c.involved += n;
        c.opened += opened;
        c.resolved += resolved;
        c.still_open += still_open;
        *c.highest_level.entry(g.top).or_default() += n;
    }
    Ok(open)
}

/// The groups of involved issues in one pass over them. Opened and
/// resolved issues are always involved (created ≤ resolved), so one pass
/// counts them all.
fn involved_from_log(tx: &Tx, scope: &Scope) -> Result<Vec<InvolvedGroup>> {
    involved_groups(tx, scope, INVOLVED)
}

/// The involved issues that are resolved (since `since`), through the
/// resolved_at index: the unresolved ones are in the rollups.
fn involved_resolved(tx: &Tx, scope: &Scope) -> Result<Vec<InvolvedGroup>> {
    involved_groups(
        tx,
        scope,
        "i.resolved_at >= ?1 AND +i.created_at < ?2 AND (?3 IS NULL OR i.chain = ?3)",
    )
}

/// [`InvolvedGroup`]s of the issues `filter` keeps (binds ?1 since, ?2
/// until, ?3 chain), one row per issue grouped here: a GROUP BY sorted
/// every row in a temporary b-tree first, by the chain's text (two
/// thirds of the query's instructions), for a handful of groups.
fn involved_groups(tx: &Tx, scope: &Scope, filter: &str) -> Result<Vec<InvolvedGroup>> {
    let (since, until, chain) = bind(scope);
    let sql = format!(
        "SELECT i.chain, i.max_level, CASE WHEN i.resolved_at IS NULL THEN i.level END, \
           i.created_at >= ?1, i.resolved_at IS NOT NULL AND i.resolved_at < ?2 \
         FROM issues i WHERE {filter}"
    );
    let mut groups: Vec<InvolvedGroup> = Vec::new();
    tx.each(&sql, args![since, until, chain], "counting issues", |r| {
        let name: String = r.get(0)?;
        let top = level(r.get(1)?);
        let now = r.get::<Option<i64>>(2)?.map(level);
        let (opened, resolved): (bool, bool) = (r.get(3)?, r.get(4)?);
        let same = |g: &InvolvedGroup| g.top == top && g.now == now && g.chain == name;
        let i = match groups.iter().position(same) {
            Some(i) => i,
            None => {
                groups.push(InvolvedGroup {
                    chain: name,
                    top,
                    now,
                    counts: [0; 4],
                });
                groups.len() - 1
            }
        };
        if let Some(g) = groups.get_mut(i) {
            g.add(opened, resolved);
        }
        Ok(())
    })?;
    Ok(groups)
}

impl InvolvedGroup {
    /// One more issue: opened in the window, resolved in it.
    fn add(&mut self, opened: bool, resolved: bool) {
        let [n, o, res, still] = &mut self.counts;
        *n += 1;
        *o += u64::from(opened);
        *res += u64::from(resolved);
        // Still open: not resolved by `until`.
        *still += u64::from(!resolved);
    }
}

/// The unresolved involved issues (created before `until`) from the open
/// issues' rollups: all of them still open, none resolved.
fn open_rolled(tx: &Tx, scope: &Scope, into: &mut Vec<InvolvedGroup>) -> Result<()> {
    let (since, until, chain) = bind(scope);
    for ((name, top, now), (n, opened)) in rollups::open_counts(tx, since, until, chain)? {
        into.push(InvolvedGroup {
            chain: name,
            top: level(top),
            now: Some(level(now)),
            counts: [n, opened, 0, n],
        });
    }
    Ok(())
}

/// Issues escalated above level 1, and breached, in the window: from the
/// rollups for its whole hours when they are current, else from the log.
fn escalations(tx: &Tx, scope: &Scope, rows: &mut BTreeMap<String, ReportRow>) -> Result<()> {
    let counts = match rolled_hours(tx, scope)? {
        Some(hours) => paged_rolled(tx, scope, hours)?,
        None => paged_from_log(tx, scope)?,
    };
    for (name, (escalated, breached)) in counts {
        let c = row(rows, name);
        c.escalated = escalated;
        c.breached = breached;
    }
    Ok(())
}

/// Distinct issues escalated above level 1 and breached in the window, by
/// chain (a chain with neither is absent).
type PagedCounts = BTreeMap<String, (u64, u64)>;

/// [`PagedCounts`] from the event log.
fn paged_from_log(tx: &Tx, scope: &Scope) -> Result<PagedCounts> {
    let (since, until, chain) = bind(scope);
    // Escalated and breached: distinct issues with such an event in the
    // window, found through the (kind, at) index. Any page at level ≥ 2
    // counts, repeats included: someone above level 1 was pulled in.
    let sql = format!(
        "SELECT i.chain, \
           count(DISTINCT CASE WHEN e.kind = 'escalated' THEN e.issue_id END), \
           count(DISTINCT CASE WHEN e.kind = 'breached' THEN e.issue_id END) \
         FROM events e JOIN issues i ON i.id = e.issue_id \
         WHERE ((e.kind = 'escalated' AND e.level >= 2) OR e.kind = 'breached') \
           AND e.at >= ?1 AND e.at < ?2 AND {INVOLVED} \
         GROUP BY i.chain"
    );
    let mut out = PagedCounts::new();
    tx.each(
        &sql,
        args![since, until, chain],
        "counting escalations",
        |r| {
            out.insert(r.get(0)?, (count(r.get(1)?), count(r.get(2)?)));
            Ok(())
        },
    )?;
    Ok(out)
}

/// [`PagedCounts`] from the rollups of the window's whole `hours` and the
/// log's events of its partial hours. The rollups keep every issue paged
/// in an hour; those not involved in the window (created after it, or
/// resolved before it, by their columns now) are left out here, as the
/// log's query leaves them out.
fn paged_rolled(tx: &Tx, scope: &Scope, hours: (i64, i64)) -> Result<PagedCounts> {
    let mut sets = rollups::Paged::new();
    rollups::paged(tx, hours, scope.chain, &mut sets)?;
    for edge in edges(scope, hours)? {
        paged_ids(tx, &edge, &mut sets)?;
    }
    let outside = not_involved(tx, scope)?;
    let mut out = PagedCounts::new();
    for (name, [escalated, breached]) in sets {
        let mut either = escalated.clone();
        breached.iter().for_each(|id| either.insert(id));
        if either.count_without(&outside) > 0 {
            let counts = (
                escalated.count_without(&outside),
                breached.count_without(&outside),
            );
            out.insert(name, counts);
        }
    }
    Ok(out)
}

/// The issues paged above level 1 or breached in `scope` (any, involved
/// or not), from the log, added into `into`.
fn paged_ids(tx: &Tx, scope: &Scope, into: &mut rollups::Paged) -> Result<()> {
    let (since, until, chain) = bind(scope);
    tx.each(
        "SELECT DISTINCT i.chain, e.kind = 'breached', e.issue_id \
         FROM events e JOIN issues i ON i.id = e.issue_id \
         WHERE ((e.kind = 'escalated' AND e.level >= 2) OR e.kind = 'breached') \
           AND e.at >= ?1 AND e.at < ?2 AND (?3 IS NULL OR i.chain = ?3)",
        args![since, until, chain],
        "reading paged issues",
        |r| {
            let breached: bool = r.get(1)?;
            into.entry(r.get(0)?).or_default()[usize::from(breached)].insert(r.get(2)?);
            Ok(())
        },
    )
}

/// Issues not involved in the window: resolved before it or created after
/// it (through the resolved_at and created_at indexes).
fn not_involved(tx: &Tx, scope: &Scope) -> Result<rollups::IdSet> {
    let (since, until, _) = bind(scope);
    let mut out = rollups::IdSet::default();
    tx.each(
        "SELECT id FROM issues WHERE resolved_at < ?1 \
         UNION ALL SELECT id FROM issues WHERE created_at >= ?2",
        args![since, until],
        "reading involved issues",
        |r| {
            out.insert(r.get(0)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// The whole hours of the window, when the rollups are current (else the
/// report reads the log).
fn rolled_hours(tx: &Tx, scope: &Scope) -> Result<Option<(i64, i64)>> {
    let (since, until, _) = bind(scope);
    match rollups::whole_hours(since, until) {
        Some(hours) if rollups::current(tx)? => Ok(Some(hours)),
        _ => Ok(None),
    }
}

/// The partial hours of the window around its whole `hours`.
fn edges<'a>(scope: &Scope<'a>, (first, end): (i64, i64)) -> Result<Vec<Scope<'a>>> {
    let (since, until, _) = bind(scope);
    let (from, to) = (first * super::HOUR_MS, end * super::HOUR_MS);
    let mut out = Vec::new();
    for (a, b) in [(since, from), (to, until)] {
        if a < b {
            out.push(Scope {
                since: ts(a).sql("window edge")?,
                until: ts(b).sql("window edge")?,
                chain: scope.chain,
            });
        }
    }
    Ok(out)
}

/// What the rollups give a report, for comparing them with the log: SLA
/// outcomes per (chain, priority, target; None for a target escalate does
/// not know) and distinct escalated and breached issues per chain.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCounts {
    pub sla: BTreeMap<rollups::SlaKey, (u64, u64)>,
    pub paged: BTreeMap<String, (u64, u64)>,
    /// The per-chain counts of the involved issues (involved, opened,
    /// resolved, still open, by highest level), and the unresolved ones
    /// by (chain, current level).
    pub involved: BTreeMap<String, ReportRow>,
    pub open: BTreeMap<(String, u32), u64>,
}

/// [`WindowCounts`] as the report reads them (rollups when current).
pub fn window_counts(tx: &Tx, scope: &Scope) -> Result<WindowCounts> {
    let sla = sla_groups(tx, scope)?;
    let paged = match rolled_hours(tx, scope)? {
        Some(hours) => paged_rolled(tx, scope, hours)?,
        None => paged_from_log(tx, scope)?,
    };
    let mut involved_rows = BTreeMap::new();
    let open = involved(tx, scope, &mut involved_rows)?;
    Ok(WindowCounts {
        sla: sla_sums(sla),
        paged,
        involved: involved_rows,
        open,
    })
}

/// [`WindowCounts`] from the event log alone.
pub fn window_counts_from_log(tx: &Tx, scope: &Scope) -> Result<WindowCounts> {
    let mut involved_rows = BTreeMap::new();
    let mut open = OpenLevels::new();
    for g in involved_from_log(tx, scope)? {
        let [n, opened, resolved, still_open] = g.counts;
        if let Some(l) = g.now {
            *open.entry((g.chain.clone(), l)).or_default() += n;
        }
        let c = row(&mut involved_rows, g.chain);
        c.involved += n;
        c.opened += opened;
        c.resolved += resolved;
        c.still_open += still_open;
        *c.highest_level.entry(g.top).or_default() += n;
    }
    Ok(WindowCounts {
        sla: sla_sums(sla_groups_from_log(tx, scope)?),
        paged: paged_from_log(tx, scope)?,
        involved: involved_rows,
        open,
    })
}

/// SLA groups summed per key, unknown targets as None.
fn sla_sums(groups: Vec<SlaGroup>) -> BTreeMap<rollups::SlaKey, (u64, u64)> {
    let mut out: BTreeMap<rollups::SlaKey, (u64, u64)> = BTreeMap::new();
    for g in groups {
        let target = g.target.filter(|t| t == "response" || t == "resolution");
        let slot = out.entry((g.chain, g.priority, target)).or_default();
        slot.0 += g.outcome.met;
        slot.1 += g.outcome.breached;
    }
    out
}

/// SLA outcomes recorded in the window for one (chain, priority, target).
#[derive(Debug, Clone)]
struct SlaGroup {
    chain: String,
    /// As [`GroupBy::Priority`] groups it.
    priority: String,
    target: Option<String>,
    outcome: SlaCount,
}

/// SLA outcomes recorded in the window per (chain, priority, target): the
/// per-chain and per-priority figures are both sums of these. From the
/// rollups for the window's whole hours when they are current (a target
/// escalate does not know comes back as None: it only makes its group
/// appear), else from the log.
fn sla_groups(tx: &Tx, scope: &Scope) -> Result<Vec<SlaGroup>> {
    let Some(hours) = rolled_hours(tx, scope)? else {
        return sla_groups_from_log(tx, scope);
    };
    let mut sums = BTreeMap::new();
    rollups::sla(tx, hours, scope.chain, &mut sums)?;
    for edge in edges(scope, hours)? {
        for (key, (met, breached)) in sla_sums(sla_groups_from_log(tx, &edge)?) {
            let slot = sums.entry(key).or_default();
            slot.0 += met;
            slot.1 += breached;
        }
    }
    Ok(sums
        .into_iter()
        .map(|((chain, priority, target), (met, breached))| SlaGroup {
            chain,
            priority,
            target,
            outcome: SlaCount { met, breached },
        })
        .collect())
}

/// [`sla_groups`] in one pass over the window's `sla_met` and `breached`
/// events. `breached` is stamped at the deadline and `sla_met` at the ack
/// or resolution, so each outcome falls in exactly one window.
fn sla_groups_from_log(tx: &Tx, scope: &Scope) -> Result<Vec<SlaGroup>> {
    let (since, until, chain) = bind(scope);
    let (group, _) = GroupBy::Priority.sql();
    let sql = format!(
        "SELECT i.chain, {group} AS p, json_extract(e.details, '$.target') AS target, \
           coalesce(sum(e.kind = 'sla_met'), 0), coalesce(sum(e.kind = 'breached'), 0) \
         FROM events e JOIN issues i ON i.id = e.issue_id \
         WHERE e.kind IN ('sla_met', 'breached') AND e.at >= ?1 AND e.at < ?2 \
           AND (?3 IS NULL OR i.chain = ?3) AND json_valid(e.details) \
         GROUP BY i.chain, p, target"
    );
    tx.rows(
        &sql,
        args![since, until, chain],
        "counting SLA outcomes",
        |r| {
            Ok(SlaGroup {
                chain: r.get(0)?,
                priority: r.get(1)?,
                target: r.get(2)?,
                outcome: SlaCount {
                    met: count(r.get(3)?),
                    breached: count(r.get(4)?),
                },
            })
        },
    )
}

impl SlaCount {
    fn add(&mut self, o: SlaCount) {
        self.met += o.met;
        self.breached += o.breached;
    }
}

/// SLA outcomes per chain and target.
fn sla_outcomes(groups: &[SlaGroup], rows: &mut BTreeMap<String, ReportRow>) {
    for g in groups {
        let c = row(rows, g.chain.clone());
        match g.target.as_deref() {
            Some("response") => c.response_sla.add(g.outcome),
            Some("resolution") => c.resolution_sla.add(g.outcome),
            // An event from a newer escalate with another target: not ours
            // to interpret.
            _ => {}
        }
    }
}

/// Time to first acknowledgement and to resolution, one row per sample
/// (through the first_acked_at and resolved_at indexes), each measured on
/// its issue's clock.
fn durations(
    tx: &Tx,
    scope: &Scope,
    clocks: &mut dyn Clocks,
    rows: &mut BTreeMap<String, ReportRow>,
) -> Result<()> {
    let (since, until, chain) = bind(scope);
    let (mut ack, mut resolve): (Samples<String>, Samples<String>) = Default::default();
    tx.each(
        "SELECT chain, priority, 0, created_at, first_acked_at FROM issues \
          WHERE first_acked_at >= ?1 AND first_acked_at < ?2 AND (?3 IS NULL OR chain = ?3) \
         UNION ALL \
         SELECT chain, priority, 1, created_at, resolved_at FROM issues \
          WHERE resolved_at >= ?1 AND resolved_at < ?2 AND (?3 IS NULL OR chain = ?3)",
        args![since, until, chain],
        "measuring durations",
        |r| {
            let name: String = r.get(0)?;
            let priority: Option<String> = r.get(1)?;
            let clock = clocks.clock(&name, priority.as_deref());
            let v = clocks.measure(clock, r.get(3)?, r.get(4)?);
            let into = if r.get::<i64>(2)? == 0 {
                &mut ack
            } else {
                &mut resolve
            };
            into.entry((name, clock)).or_default().push(v);
            Ok(())
        },
    )?;
    for ((name, clock), v) in ack {
        row(rows, name).time_to_ack.insert(clock, spread(v));
    }
    for ((name, clock), v) in resolve {
        row(rows, name).time_to_resolve.insert(clock, spread(v));
    }
    Ok(())
}

/// Per (chain, level): reach, stays and how they ended, from the marks
/// the event log keeps (see [`levels_from_log`] for what a stay is, and
/// `store::stays`). Chain and priority are the issue's own now, as before.
///
/// - The marks in the window (index `events_kind_at`) give the stays that
///   ended in it, with their starts (escalated, resolved, durations), and
///   the stays that began in it (reached: once per issue and level).
/// - Still there at `until`: for an issue with a mark at or after
///   `until`, the stay its first such mark ended; for any other
///   unresolved issue, the stay at its current level (`issues.level`,
///   which every level event sets: its last mark's level).
pub fn levels(tx: &Tx, scope: &Scope, clocks: &mut dyn Clocks) -> Result<Vec<LevelReached>> {
    let open = involved(tx, scope, &mut BTreeMap::new())?;
    levels_with(tx, scope, clocks, &open)
}

/// [`levels`], given the unresolved involved issues by current level.
fn levels_with(
    tx: &Tx,
    scope: &Scope,
    clocks: &mut dyn Clocks,
    open: &OpenLevels,
) -> Result<Vec<LevelReached>> {
    let mut tally = StayTally::default();
    match rolled_hours(tx, scope)? {
        Some(hours) => {
            tally.rolled_marks(tx, scope, hours, clocks)?;
            for edge in edges(scope, hours)? {
                tally.window_marks(tx, &edge, clocks)?;
            }
        }
        None => tally.window_marks(tx, scope, clocks)?,
    }
    let later = tally.marks_after(tx, scope)?;
    tally.unresolved(open, &later);
    Ok(tally.finish())
}

/// The level events `levels` reads (a mark's kind is one of these).
const MARK_KINDS: &str = "('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved')";

/// A level mark as [`StayTally::window_marks`] reads it: the issue's chain
/// and priority now, the event, and the stay it ended (if any).
struct Mark {
    chain: String,
    priority: Option<String>,
    issue: i64,
    at: i64,
    kind: String,
    /// The level the event put the issue at.
    level: Option<i64>,
    stay_at: Option<i64>,
    stay_level: Option<i64>,
}

impl Mark {
    fn read(r: &Row<'_>) -> Result<Mark> {
        Ok(Mark {
            chain: r.get(0)?,
            priority: r.get(1)?,
            issue: r.get(2)?,
            at: r.get(3)?,
            kind: r.get(4)?,
            level: r.get(5)?,
            stay_at: r.get(6)?,
            stay_level: r.get(7)?,
        })
    }
}

/// What [`levels`] adds up.
#[derive(Default)]
struct StayTally {
    found: BTreeMap<(String, u32), LevelReached>,
    stays: Samples<(String, u32)>,
    /// (issue, level) of the stays that began in the window: reached once.
    began: Began,
}

/// A set of (issue, level) pairs: a bitmap of issue ids per level (ids
/// are dense row ids, so a million issues take 122 KiB a level where a
/// hash set took tens of MiB), and a hash set for any id outside it.
#[derive(Default)]
struct Began {
    bits: BTreeMap<u32, Vec<u64>>,
    other: std::collections::HashSet<(i64, u32)>,
}

impl Began {
    /// Ids up to this go in the bitmap (32 MiB a level at most).
    const DENSE: i64 = 1 << 28;

    /// Add (issue, level); whether it was new.
    fn insert(&mut self, issue: i64, level: u32) -> bool {
        let Some(id) = usize::try_from(issue).ok().filter(|_| issue < Self::DENSE) else {
            return self.other.insert((issue, level));
        };
        let words = self.bits.entry(level).or_default();
        let (word, bit) = (id / 64, 1u64 << (id % 64));
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        match words.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

impl StayTally {
    fn line(&mut self, chain: &str, level: u32) -> &mut LevelReached {
        self.found
            .entry((chain.to_string(), level))
            .or_insert_with(|| LevelReached {
                chain: chain.to_string(),
                level,
                ..LevelReached::default()
            })
    }

    /// The stays the rollups hold for the window's whole `hours`: what
    /// [`StayTally::window_marks`] adds up from their marks. The rollups
    /// keep every issue's marks; the log's query keeps the involved
    /// issues' only, which are the same marks: an issue's marks fall
    /// between its creation and its resolution (`ingest` records a late
    /// resolution no earlier than the last mark), so one with a mark in
    /// the window was open in it.
    fn rolled_marks(
        &mut self,
        tx: &Tx,
        scope: &Scope,
        hours: (i64, i64),
        clocks: &mut dyn Clocks,
    ) -> Result<()> {
        rollups::stays(tx, hours, scope.chain, |row| {
            let l = level(row.level);
            if row.ended > 0 {
                let line = self.line(&row.chain, l);
                line.escalated += row.escalated;
                line.resolved += row.resolved;
            }
            if !row.spans.is_empty() {
                let clock = clocks.clock(&row.chain, row.priority.as_deref());
                let samples = self
                    .stays
                    .entry(((row.chain.clone(), l), clock))
                    .or_default();
                rollups::each_span(&row.spans, |a, b| samples.push(clocks.measure(clock, a, b)))?;
            }
            if !row.began.is_empty() {
                let mut first = 0;
                let began = &mut self.began;
                rollups::each_id(&row.began, |id| first += u64::from(began.insert(id, l)))?;
                self.line(&row.chain, l).reached += first;
            }
            Ok(())
        })
    }

    /// The marks of involved issues in [since, until).
    fn window_marks(&mut self, tx: &Tx, scope: &Scope, clocks: &mut dyn Clocks) -> Result<()> {
        let (since, until, chain) = bind(scope);
        let sql = format!(
            "SELECT i.chain, i.priority, e.issue_id, e.at, e.kind, e.level, e.stay_at, \
               e.stay_level \
             FROM events e JOIN issues i ON i.id = e.issue_id \
             WHERE e.kind IN {MARK_KINDS} AND e.at >= ?1 AND e.at < ?2 AND e.mark IS NOT NULL \
               AND {INVOLVED}"
        );
        tx.each(
            &sql,
            args![since, until, chain],
            "reading level stays",
            |r| {
                self.mark(&Mark::read(r)?, clocks);
                Ok(())
            },
        )
    }

    /// One mark of the window: the stay it ended, the one it began.
    fn mark(&mut self, m: &Mark, clocks: &mut dyn Clocks) {
        if let (Some(start), Some(from)) = (m.stay_at, m.stay_level) {
            let how = super::stays::ended(&m.kind, m.level, from);
            let line = self.line(&m.chain, level(from));
            match how {
                1 => line.escalated += 1,
                2 => line.resolved += 1,
                _ => {}
            }
            if how != 0 {
                let clock = clocks.clock(&m.chain, m.priority.as_deref());
                let v = clocks.measure(clock, start, m.at);
                self.stays
                    .entry(((m.chain.clone(), level(from)), clock))
                    .or_default()
                    .push(v);
            }
        }
        if let (Some(l), true) = (m.level, m.kind != "resolved") {
            let first = self.began.insert(m.issue, level(l));
            self.line(&m.chain, level(l)).reached += u64::from(first);
        }
    }

    /// For each involved issue with a mark at or after `until`: the stay
    /// its first such mark ended counts as still there when it began
    /// before `until`. Returns the unresolved ones among those issues by
    /// (chain, current level): their current stay is not the one of
    /// `until` (none when `until` is now).
    fn marks_after(&mut self, tx: &Tx, scope: &Scope) -> Result<Vec<(String, u32)>> {
        let (since, until, chain) = bind(scope);
        let sql = format!(
            "SELECT e.issue_id, i.chain, e.stay_at, e.stay_level, \
               CASE WHEN i.resolved_at IS NULL THEN i.level END \
             FROM events e JOIN issues i ON i.id = e.issue_id \
             WHERE e.kind IN {MARK_KINDS} AND e.at >= ?2 AND e.mark IS NOT NULL AND {INVOLVED} \
             ORDER BY e.issue_id, e.at, e.id"
        );
        let mut last: Option<i64> = None;
        let mut unresolved = Vec::new();
        tx.each(
            &sql,
            args![since, until, chain],
            "reading later stays",
            |r| {
                let issue: i64 = r.get(0)?;
                // Rows come by issue: only its first mark from `until` on counts.
                if last.replace(issue) == Some(issue) {
                    return Ok(());
                }
                let name: String = r.get(1)?;
                let start: Option<i64> = r.get(2)?;
                let from: Option<i64> = r.get(3)?;
                if let (Some(start), Some(from)) = (start, from) {
                    if start < until {
                        self.line(&name, level(from)).still_there += 1;
                    }
                }
                if let Some(l) = r.get::<Option<i64>>(4)? {
                    unresolved.push((name, level(l)));
                }
                Ok(())
            },
        )?;
        Ok(unresolved)
    }

    /// Unresolved involved issues without a mark from `until` on: their
    /// stay at their current level was going on at `until`.
    fn unresolved(&mut self, open: &OpenLevels, later: &[(String, u32)]) {
        let mut open = open.clone();
        for key in later {
            if let Some(n) = open.get_mut(key) {
                *n = n.saturating_sub(1);
            }
        }
        for ((name, l), n) in open {
            if n > 0 {
                self.line(&name, l).still_there += n;
            }
        }
    }

    fn finish(mut self) -> Vec<LevelReached> {
        for ((key, clock), v) in std::mem::take(&mut self.stays) {
            if let Some(line) = self.found.get_mut(&key) {
                line.stay.insert(clock, spread(v));
            }
        }
        self.found.into_values().collect()
    }
}

/// [`levels`] recomputed from the event log, as the report did before the
/// stays were kept (`stays`): the reference the kept stays are tested
/// against, and a check on a database whose stays are in doubt.
///
/// A *stay* at a level begins with `created`, `reopened` or `moved` (level
/// 1 of its chain; a moved issue counts under the chain it is on now), an
/// `escalated` event to a level other than the one before (a page at the
/// same level is a repeat, not a new stay) or a `capped` event; it ends at
/// the next such event or at `resolved`. It is *completed* when it ended by
/// escalation to a higher level or by resolution. Events are read up to
/// `until` only, so a stay that ended later is still going on at `until`;
/// stays that began before `since` are followed so that their end can count.
/// CROSS JOIN fixes the join order: involved issues first (few), then their
/// events by the (issue_id, id) index — not every level event ever recorded.
///
/// One row per stay comes back (the stays of the involved issues, not of
/// every issue), so each completed one is measured on its issue's clock.
/// `first` marks the first stay of an issue at a level that began in the
/// window, so an issue reopened at level 1 is reached once.
pub fn levels_from_log(
    tx: &Tx,
    scope: &Scope,
    clocks: &mut dyn Clocks,
) -> Result<Vec<LevelReached>> {
    let (since, until, chain) = bind(scope);
    let sql = format!(
        "WITH ev AS ( \
           SELECT e.issue_id, i.chain, i.priority, e.id, e.at, e.kind, e.level, \
             lag(e.level) OVER (PARTITION BY e.issue_id ORDER BY e.at, e.id) AS prev_level \
           FROM issues i CROSS JOIN events e ON e.issue_id = i.id \
           WHERE {INVOLVED} AND e.at < ?2 \
             AND e.kind IN ('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved')), \
         marks AS ( \
           SELECT * FROM ev WHERE NOT (kind = 'escalated' AND level IS prev_level)), \
         bounds AS ( \
           SELECT issue_id, chain, priority, id, kind, level, at AS start_at, \
             lead(kind) OVER w AS next_kind, lead(level) OVER w AS next_level, \
             lead(at) OVER w AS end_at \
           FROM marks WINDOW w AS (PARTITION BY issue_id ORDER BY at, id)), \
         stays AS ( \
           SELECT chain, priority, level, start_at, end_at, \
             CASE WHEN end_at >= ?1 AND next_kind = 'resolved' THEN 2 \
                  WHEN end_at >= ?1 AND next_kind = 'escalated' AND next_level > level THEN 1 \
                  ELSE 0 END AS ended, \
             CASE WHEN start_at >= ?1 THEN row_number() OVER ( \
                    PARTITION BY issue_id, level, start_at >= ?1 ORDER BY start_at, id) END AS nth \
           FROM bounds WHERE kind <> 'resolved' AND level IS NOT NULL) \
         SELECT chain, priority, level, nth IS 1, start_at, end_at, ended FROM stays"
    );
    let mut found: BTreeMap<(String, u32), LevelReached> = BTreeMap::new();
    let mut stays: Samples<(String, u32)> = BTreeMap::new();
    tx.each(
        &sql,
        args![since, until, chain],
        "reading level stays",
        |r| {
            let priority: Option<String> = r.get(1)?;
            let first: bool = r.get(3)?;
            let start: i64 = r.get(4)?;
            let end: Option<i64> = r.get(5)?;
            let ended: i64 = r.get(6)?;
            let key = (r.get::<String>(0)?, level(r.get(2)?));
            let line = found
                .entry(key.clone())
                .or_insert_with_key(|(chain, level)| LevelReached {
                    chain: chain.clone(),
                    level: *level,
                    ..LevelReached::default()
                });
            line.reached += u64::from(first);
            match (ended, end) {
                (1, _) => line.escalated += 1,
                (2, _) => line.resolved += 1,
                (_, None) => line.still_there += 1,
                _ => {}
            }
            if let (1 | 2, Some(end)) = (ended, end) {
                let clock = clocks.clock(&key.0, priority.as_deref());
                let v = clocks.measure(clock, start, end);
                stays.entry((key, clock)).or_default().push(v);
            }
            Ok(())
        },
    )?;
    for ((key, clock), v) in stays {
        if let Some(line) = found.get_mut(&key) {
            line.stay.insert(clock, spread(v));
        }
    }
    Ok(found.into_values().collect())
}

/// The issues open longest at `until`, oldest first (at most `limit`).
pub fn longest_open(tx: &Tx, scope: &Scope, limit: u32) -> Result<Vec<OpenIssue>> {
    if rollups::current(tx)? {
        let ids = rollups::oldest_open(tx, ms(scope.until), scope.chain, limit)?;
        longest_open_among(tx, scope, limit, Some(&ids))
    } else {
        longest_open_among(tx, scope, limit, None)
    }
}

/// [`longest_open`] from a pass over every issue (the reference the
/// rollups' candidates are tested against).
pub fn longest_open_from_log(tx: &Tx, scope: &Scope, limit: u32) -> Result<Vec<OpenIssue>> {
    longest_open_among(tx, scope, limit, None)
}

/// [`longest_open`] over every issue, or only over `ids` (the candidates
/// the rollups give, as a JSON array): the same filters and order either
/// way.
fn longest_open_among(
    tx: &Tx,
    scope: &Scope,
    limit: u32,
    ids: Option<&str>,
) -> Result<Vec<OpenIssue>> {
    let (_, until, chain) = bind(scope);
    let among = match ids {
        Some(_) if tx.is_pg() => {
            "i.id IN (SELECT value::bigint FROM json_array_elements_text(CAST(?4 AS json))) AND"
        }
        Some(_) => "i.id IN (SELECT value FROM json_each(?4)) AND",
        None => "CAST(?4 AS TEXT) IS NULL AND",
    };
    let sql = format!(
        "SELECT i.id, i.chain, i.title, i.owner, i.created_at, \
           i.first_acked_at IS NOT NULL AND i.first_acked_at < ?1, \
           coalesce((SELECT e.level FROM events e WHERE e.issue_id = i.id \
               AND e.kind IN ('created', 'escalated', 'reopened', 'capped', 'moved') AND e.at < ?1 \
               ORDER BY e.at DESC, e.id DESC LIMIT 1), i.level) \
         FROM issues i \
         WHERE {among} +i.created_at < ?1 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1) \
           AND (?2 IS NULL OR i.chain = ?2) \
         ORDER BY +i.created_at, i.id LIMIT ?3"
    );
    tx.rows(
        &sql,
        args![until, chain, limit, ids],
        "reading longest open",
        |r| {
            Ok(OpenIssue {
                id: r.get(0)?,
                chain: r.get(1)?,
                title: r.get(2)?,
                owner: r.get(3)?,
                created_at: ts(r.get(4)?)?,
                acknowledged: r.get(5)?,
                level: level(r.get(6)?),
            })
        },
    )
}

/// SLA targets breached in the window, largest overshoot first (at most
/// `limit`; ties by id, then target). The overshoot runs from the deadline
/// to the late ack or resolution, or to `until` when it had not come by
/// then, measured on the issue's clock.
///
/// Bounded: the window's breaches come from the `events_breached` index
/// with their deadlines and settlements from the issue rows (no JSON is
/// parsed, no text read), in a heap by their overshoot in wall-clock time.
/// No clock measures more than the wall clock ([`Clocks::measure`]), so
/// once `limit` breaches are measured, a candidate whose wall-clock
/// overshoot is below the last kept one's cannot enter, nor can any after
/// it: only the candidates that could place are measured on their issue's
/// clock, and titles are read for the ones kept. The same list as
/// [`worst_breaches_from_log`], which measures every breach.
pub fn worst_breaches(
    tx: &Tx,
    scope: &Scope,
    limit: u32,
    clocks: &mut dyn Clocks,
) -> Result<Vec<Breach>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut top: Vec<Breach> = Vec::new();
    if limit == 0 {
        return Ok(top);
    }
    let mut candidates = breach_candidates(tx, scope)?;
    // (issue, response?) measured: a later breach of the same target
    // comes out of the heap after its first one, which is the one that
    // counts (see `Candidate::rank`).
    let mut measured_targets = std::collections::HashSet::new();
    while let Some(c) = candidates.pop() {
        let last = top.last().filter(|_| top.len() >= limit);
        if last.is_some_and(|b| c.wall().div_euclid(1000) < b.overshoot_seconds) {
            break;
        }
        if !measured_targets.insert((c.id, c.response)) {
            continue;
        }
        let b = measured(tx, &c, clocks)?;
        let at = top.partition_point(|x| breach_order(x, &b).is_lt());
        if at < limit {
            top.insert(at, b);
            top.truncate(limit);
        }
    }
    titles(tx, &mut top)?;
    Ok(top)
}

/// The titles of the breaches kept (only theirs are read).
fn titles(tx: &Tx, top: &mut [Breach]) -> Result<()> {
    for b in top {
        b.title = tx.one(
            "SELECT title FROM issues WHERE id = ?1",
            args![b.id],
            "reading worst breaches' titles",
            |r| r.get(0),
        )?;
    }
    Ok(())
}

/// The report's order of breaches: largest overshoot first, then by id,
/// then by target.
fn breach_order(a: &Breach, b: &Breach) -> std::cmp::Ordering {
    b.overshoot_seconds
        .cmp(&a.overshoot_seconds)
        .then(a.id.cmp(&b.id))
        .then(a.target.cmp(&b.target))
}

/// One breach of an SLA target in the window, before it is measured on
/// the issue's clock. Compared by [`Candidate::rank`]. 32 bytes: a
/// million-issue window holds a quarter of a million of them.
#[derive(Debug)]
struct Candidate {
    id: i64,
    /// The target's deadline, or the breach's time when the issue has
    /// none now.
    due: i64,
    /// Where the overshoot ends: the settlement, or `until`.
    end: i64,
    /// The response target (else the resolution one).
    response: bool,
    /// Whether `end` is the settlement (an ack or resolution before
    /// `until`).
    settled: bool,
}

impl Candidate {
    /// The overshoot in wall-clock milliseconds: an upper bound of the
    /// measured one.
    fn wall(&self) -> i64 {
        (self.end - self.due).max(0)
    }

    /// Largest first out of the heap: by wall-clock overshoot, then as the
    /// report breaks ties (smaller id, "resolution" before "response"),
    /// then the earlier due time. Of several breaches of one target, the
    /// first is the one that counts: when the issue has a deadline they
    /// are alike, else the first one's time is the due time, the earliest
    /// (and its overshoot the largest), so it comes out first either way.
    fn rank(&self) -> (i64, Reverse<i64>, Reverse<bool>, Reverse<i64>) {
        (
            self.wall(),
            Reverse(self.id),
            Reverse(self.response),
            Reverse(self.due),
        )
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The window's breaches of the targets escalate knows, with their
/// issues' deadlines and settlements (binds ?1 since, ?2 until, ?3 chain
/// or NULL). The events come from `events_breached` alone: the target is
/// its indexed expression, written the same way so SQLite reads it from
/// the index (details that are not JSON give NULL, as `json_valid`
/// filtered them out before). The CROSS JOIN keeps the breaches the
/// outer loop, each issue found by its id.
const BREACHES: &str = "SELECT e.issue_id, \
       CASE WHEN json_valid(e.details) THEN json_extract(e.details, '$.target') END \
         = 'response', \
       e.at, i.response_due_at, i.resolution_due_at, i.first_acked_at, i.resolved_at \
     FROM events e INDEXED BY events_breached CROSS JOIN issues i ON i.id = e.issue_id \
     WHERE e.kind = 'breached' AND e.at >= ?1 AND e.at < ?2 \
       AND CASE WHEN json_valid(e.details) THEN json_extract(e.details, '$.target') END \
         IN ('response', 'resolution') \
       AND (?3 IS NULL OR i.chain = ?3)";

/// Every breach of the window, in a heap (built in linear time: only the
/// few that can place are taken out of it).
fn breach_candidates(tx: &Tx, scope: &Scope) -> Result<BinaryHeap<Candidate>> {
    let (since, until, chain) = bind(scope);
    let mut out = Vec::new();
    tx.each(
        BREACHES,
        args![since, until, chain],
        "reading worst breaches",
        |r| {
            out.push(candidate(r, until)?);
            Ok(())
        },
    )?;
    Ok(BinaryHeap::from(out))
}

/// One row of [`BREACHES`].
fn candidate(r: &Row<'_>, until: i64) -> Result<Candidate> {
    let response: bool = r.get(1)?;
    let breached_at: i64 = r.get(2)?;
    let (deadline, done): (Option<i64>, Option<i64>) = if response {
        let acked: Option<i64> = r.get(5)?;
        (r.get(3)?, acked.or(r.get(6)?))
    } else {
        (r.get(4)?, r.get(6)?)
    };
    let settled = done.filter(|&d| d < until);
    Ok(Candidate {
        id: r.get(0)?,
        due: deadline.unwrap_or(breached_at),
        end: settled.unwrap_or(until),
        response,
        settled: settled.is_some(),
    })
}

/// A candidate measured on its issue's clock (title read later, for the
/// ones kept).
fn measured(tx: &Tx, c: &Candidate, clocks: &mut dyn Clocks) -> Result<Breach> {
    let (chain, priority): (String, Option<String>) = tx.one(
        "SELECT chain, priority FROM issues WHERE id = ?1",
        args![c.id],
        "reading worst breaches",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let clock = clocks.clock(&chain, priority.as_deref());
    Ok(Breach {
        id: c.id,
        chain,
        title: String::new(),
        target: if c.response { "response" } else { "resolution" }.to_string(),
        due_at: ts(c.due)?,
        settled_at: c.settled.then_some(c.end).map(ts).transpose()?,
        overshoot_seconds: clocks.measure(clock, c.due, c.end).div_euclid(1000),
        clock,
    })
}

/// [`worst_breaches`] measuring every breach of the window (what the
/// report did before the `events_breached` index): the reference the
/// bounded search is tested against.
pub fn worst_breaches_from_log(
    tx: &Tx,
    scope: &Scope,
    limit: u32,
    clocks: &mut dyn Clocks,
) -> Result<Vec<Breach>> {
    let (since, until, chain) = bind(scope);
    let mut all = tx.rows(
        "WITH b AS ( \
           SELECT e.issue_id, json_extract(e.details, '$.target') AS target, \
             min(e.at) AS breached_at \
           FROM events e \
           WHERE e.kind = 'breached' AND e.at >= ?1 AND e.at < ?2 AND json_valid(e.details) \
           GROUP BY e.issue_id, target), \
         t AS ( \
           SELECT i.id, i.chain, i.priority, i.title, b.target, \
             coalesce(CASE b.target WHEN 'response' THEN i.response_due_at \
                      ELSE i.resolution_due_at END, b.breached_at) AS due, \
             CASE b.target WHEN 'response' THEN coalesce(i.first_acked_at, i.resolved_at) \
               ELSE i.resolved_at END AS done \
           FROM b JOIN issues i ON i.id = b.issue_id \
           WHERE b.target IN ('response', 'resolution') AND (?3 IS NULL OR i.chain = ?3)) \
         SELECT id, chain, priority, title, target, due, CASE WHEN done < ?2 THEN done END \
         FROM t",
        args![since, until, chain],
        "reading breaches",
        |r| {
            let name: String = r.get(1)?;
            let priority: Option<String> = r.get(2)?;
            let due: i64 = r.get(5)?;
            let settled: Option<i64> = r.get(6)?;
            let clock = clocks.clock(&name, priority.as_deref());
            let over = clocks.measure(clock, due, settled.unwrap_or(until));
            Ok(Breach {
                id: r.get(0)?,
                chain: name,
                title: r.get(3)?,
                target: r.get(4)?,
                due_at: ts(due)?,
                settled_at: settled.map(ts).transpose()?,
                overshoot_seconds: over.div_euclid(1000),
                clock,
            })
        },
    )?;
    all.sort_by(breach_order);
    all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(all)
}

/// Failed delivery attempts in the window and dead notifications, by channel.
pub fn delivery(tx: &Tx, scope: &Scope) -> Result<Vec<ChannelFailures>> {
    let (since, until, chain) = bind(scope);
    tx.rows(
        "SELECT channel, sum(failed), sum(dead) FROM ( \
           SELECT coalesce(json_extract(e.details, '$.channel'), 'unknown') AS channel, \
             1 AS failed, 0 AS dead \
           FROM events e JOIN issues i ON i.id = e.issue_id \
           WHERE e.kind = 'delivery_failed' AND e.at >= ?1 AND e.at < ?2 \
             AND json_valid(e.details) AND (?3 IS NULL OR i.chain = ?3) \
           UNION ALL \
           SELECT o.channel, 0, 1 FROM outbox o JOIN issues i ON i.id = o.issue_id \
           WHERE o.status = 'dead' AND o.created_at < ?2 AND (?3 IS NULL OR i.chain = ?3)) \
           AS failures \
         GROUP BY channel ORDER BY channel",
        args![since, until, chain],
        "reading delivery failures",
        |r| {
            Ok(ChannelFailures {
                channel: r.get(0)?,
                failed_attempts: count(r.get(1)?),
                dead: count(r.get(2)?),
            })
        },
    )
}

/// What `report --by` groups the "escalate most" table by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    #[default]
    Chain,
    Priority,
    Source,
    /// An issue counts under each of its tags (and `(no tag)` without one).
    Tag,
    Route,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Chain => "chain",
            GroupBy::Priority => "priority",
            GroupBy::Source => "source",
            GroupBy::Tag => "tag",
            GroupBy::Route => "route",
        }
    }

    /// The group of issue `i` (and the join that yields it, for tags).
    /// Priorities compare without case, as policies match them.
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            GroupBy::Chain => ("i.chain", ""),
            GroupBy::Priority => (
                "coalesce(lower(nullif(trim(i.priority), '')), '(none)')",
                "",
            ),
            GroupBy::Source => ("coalesce(i.source, '(none)')", ""),
            GroupBy::Route => ("coalesce(i.route, '(none)')", ""),
            GroupBy::Tag => (
                "coalesce(t.value, '(no tag)')",
                "LEFT JOIN json_each(CASE WHEN json_valid(i.tags) THEN i.tags ELSE '[]' END) t",
            ),
        }
    }
}

/// One group of involved issues and how many of them escalated (were
/// paged at level 2 or higher in the window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub group: String,
    pub involved: u64,
    pub escalated: u64,
}

/// Involved issues and escalations per group, by group name. The unary
/// `+` keeps each issue's look-up on `events_issue` (its own few events):
/// on `events_kind_at` it read every escalation of the window once per
/// involved issue (more than 7 minutes for 56 k involved issues).
pub fn escalation_by(tx: &Tx, scope: &Scope, by: GroupBy) -> Result<Vec<GroupRow>> {
    let (since, until, chain) = bind(scope);
    let (group, join) = by.sql();
    // PostgreSQL: a JSON array's elements, and a lateral join needs ON.
    let join = match by {
        GroupBy::Tag if tx.is_pg() => {
            "LEFT JOIN json_array_elements_text(CAST(CASE WHEN json_valid(i.tags) THEN i.tags \
             ELSE '[]' END AS json)) AS t(value) ON TRUE"
        }
        _ => join,
    };
    let sql = format!(
        "SELECT g, count(DISTINCT id), count(DISTINCT CASE WHEN esc THEN id END) FROM ( \
           SELECT i.id AS id, {group} AS g, EXISTS (SELECT 1 FROM events e \
             WHERE e.issue_id = i.id AND +e.kind = 'escalated' AND e.level >= 2 \
               AND e.at >= ?1 AND e.at < ?2) AS esc \
           FROM issues i {join} WHERE {INVOLVED}) AS grouped \
         GROUP BY g ORDER BY g"
    );
    let what = "reading grouped escalations";
    tx.rows(&sql, args![since, until, chain], what, |r| {
        Ok(GroupRow {
            group: r.get::<Option<String>>(0)?.unwrap_or_default(),
            involved: count(r.get(1)?),
            escalated: count(r.get(2)?),
        })
    })
}

/// SLA outcomes recorded in the window for issues of one priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrioritySla {
    /// Lower-case; `(none)` for issues without one.
    pub priority: String,
    pub response: SlaCount,
    pub resolution: SlaCount,
}

/// SLA outcomes per priority (empty when no issue with an outcome in the
/// window has a priority: the per-chain figures say it all then).
pub fn sla_by_priority(tx: &Tx, scope: &Scope) -> Result<Vec<PrioritySla>> {
    Ok(priority_lines(&sla_groups(tx, scope)?))
}

/// [`sla_by_priority`] from the window's SLA outcomes, by priority.
fn priority_lines(groups: &[SlaGroup]) -> Vec<PrioritySla> {
    let mut by: BTreeMap<&str, PrioritySla> = BTreeMap::new();
    for g in groups {
        let line = by.entry(&g.priority).or_insert_with(|| PrioritySla {
            priority: g.priority.clone(),
            response: SlaCount::default(),
            resolution: SlaCount::default(),
        });
        match g.target.as_deref() {
            Some("response") => line.response.add(g.outcome),
            Some("resolution") => line.resolution.add(g.outcome),
            _ => {}
        }
    }
    if by.keys().all(|p| *p == "(none)") {
        return Vec::new();
    }
    by.into_values().collect()
}

/// Everything a report shows, read in one snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Data {
    pub chains: BTreeMap<String, ReportRow>,
    pub levels: Vec<LevelReached>,
    pub longest_open: Vec<OpenIssue>,
    pub worst_breaches: Vec<Breach>,
    pub delivery: Vec<ChannelFailures>,
    /// `report --by` other than chain: the grouped escalation figures.
    pub grouped: Option<(GroupBy, Vec<GroupRow>)>,
    pub sla_by_priority: Vec<PrioritySla>,
}

/// Run every report query; `top` bounds the two lists, `clocks` measures
/// the durations.
pub fn collect(tx: &Tx, scope: &Scope, top: u32, clocks: &mut dyn Clocks) -> Result<Data> {
    collect_by(tx, scope, top, GroupBy::Chain, clocks)
}

/// [`collect`], with the "escalate most" table grouped by `by`.
pub fn collect_by(
    tx: &Tx,
    scope: &Scope,
    top: u32,
    by: GroupBy,
    clocks: &mut dyn Clocks,
) -> Result<Data> {
    let grouped = match by {
        GroupBy::Chain => None,
        other => Some((other, escalation_by(tx, scope, other)?)),
    };
    // One pass over the window's SLA events feeds both SLA tables.
    let sla = sla_groups(tx, scope)?;
    // One pass over the involved issues feeds the per-chain counts and
    // the levels' still-there.
    let mut chains = BTreeMap::new();
    let open = involved(tx, scope, &mut chains)?;
    chains_rest(tx, scope, clocks, &sla, &mut chains)?;
    Ok(Data {
        grouped,
        sla_by_priority: priority_lines(&sla),
        chains,
        levels: levels_with(tx, scope, clocks, &open)?,
        longest_open: longest_open(tx, scope, top)?,
        worst_breaches: worst_breaches(tx, scope, top, clocks)?,
        delivery: delivery(tx, scope)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn t(minutes: i64) -> Ts {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("time")
            + TimeDelta::minutes(minutes)
    }

    fn m(minutes: i64) -> i64 {
        ms(t(minutes))
    }

    /// An issue row and its level-changing events, written directly.
    fn issue(
        tx: &Tx,
        id: i64,
        chain: &str,
        created: i64,
        resolved: Option<i64>,
        events: &[(i64, &str, u32)],
    ) {
        let max = events.iter().map(|e| e.2).max().unwrap_or(1);
        // The row's level is its last level event's, as lifecycle keeps it.
        let now = events.last().map_or(1, |e| e.2);
        let status = if resolved.is_some() {
            "resolved"
        } else {
            "open"
        };
        tx.exec(
            "INSERT INTO issues (id, chain, title, status, level, max_level, epoch_at, owner, \
               owner_kind, created_at, resolved_at) \
             VALUES (?1, ?2, 'x', ?3, ?7, ?4, ?5, 'r', 'role', ?5, ?6)",
            args![id, chain, status, max, m(created), resolved.map(m), now],
            "issue",
        )
        .expect("issue");
        for (at, kind, level) in events {
            tx.exec(
                "INSERT INTO events (issue_id, at, kind, level, actor) VALUES (?1, ?2, ?3, ?4, 'x')",
                args![id, m(*at), *kind, *level],
                "event",
            )
            .expect("event");
        }
    }

    /// The level marks of rows written directly. `stays::rebuild` takes
    /// the connection (it runs a migration's backfill script).
    fn marks(tx: &Tx) {
        crate::store::stays::rebuild(tx.sqlite().expect("SQLite")).expect("stays");
    }

    /// A move ends the stay at the old chain's level and starts one at the
    /// new chain's level 1 (the issue counts under the chain it is on now).
    #[test]
    fn a_move_ends_a_stay_and_starts_one_at_level_one() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .write(|tx| {
                issue(
                    tx,
                    1,
                    "b",
                    0,
                    None,
                    &[(0, "created", 1), (10, "escalated", 2), (30, "moved", 1)],
                );
                marks(tx);
                Ok(())
            })
            .expect("fixture");
        let scope = Scope {
            since: t(0),
            until: t(100),
            chain: None,
        };
        let levels = store
            .read(|tx| levels(tx, &scope, &mut WallClock))
            .expect("levels");
        let (l1, l2) = (&levels[0], &levels[1]);
        // L1 from 0 to 10 (escalated), and again from 30 on.
        assert_eq!((l1.level, l1.escalated, l1.still_there), (1, 1, 1));
        // L2 from 10 to 30: ended by the move, neither escalated nor resolved.
        assert_eq!(
            (l2.level, l2.escalated, l2.resolved, l2.still_there),
            (2, 0, 0, 0)
        );
    }

    #[test]
    fn stays_skip_repeats_and_percentiles_are_nearest_rank() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .write(|tx| {
                // L1 for 10, L2 for 50 (a repeat page at 30 does not split
                // the stay), resolved there.
                issue(
                    tx,
                    1,
                    "a",
                    0,
                    Some(60),
                    &[
                        (0, "created", 1),
                        (10, "escalated", 2),
                        (30, "escalated", 2),
                        (60, "resolved", 2),
                    ],
                );
                // L1 for 20 then still at L2 at the end of the window (its
                // resolution at 200 is after it).
                issue(
                    tx,
                    2,
                    "a",
                    0,
                    Some(200),
                    &[
                        (0, "created", 1),
                        (20, "escalated", 2),
                        (200, "resolved", 2),
                    ],
                );
                // L1 for 40, resolved, reopened: a second L1 stay of 5.
                issue(
                    tx,
                    3,
                    "a",
                    0,
                    None,
                    &[
                        (0, "created", 1),
                        (40, "resolved", 1),
                        (50, "reopened", 1),
                        (55, "escalated", 2),
                    ],
                );
                marks(tx);
                Ok(())
            })
            .expect("fixture");
        let scope = Scope {
            since: t(0),
            until: t(100),
            chain: None,
        };
        let levels = store
            .read(|tx| levels(tx, &scope, &mut WallClock))
            .expect("levels");
        let l1 = &levels[0];
        assert_eq!((l1.level, l1.reached), (1, 3));
        // stays 5, 10, 20, 40 minutes: median rank 2 (10), p90 rank 4 (40)
        assert_eq!(
            l1.stay[&0],
            Spread {
                count: 4,
                median: Some(600),
                p90: Some(2400)
            }
        );
        assert_eq!((l1.escalated, l1.resolved, l1.still_there), (3, 1, 0));
        let l2 = &levels[1];
        assert_eq!((l2.level, l2.reached), (2, 3));
        assert_eq!(
            l2.stay[&0],
            Spread {
                count: 1,
                median: Some(3000),
                p90: Some(3000)
            }
        );
        assert_eq!((l2.escalated, l2.resolved, l2.still_there), (0, 1, 2));

        let rows = store
            .read(|tx| chains(tx, &scope, &mut WallClock))
            .expect("chains");
        let a = &rows["a"];
        assert_eq!(
            (a.involved, a.opened, a.resolved, a.still_open, a.escalated),
            (3, 3, 1, 2, 3)
        );
        assert_eq!(
            a.time_to_resolve[&0],
            Spread {
                count: 1,
                median: Some(3600),
                p90: Some(3600)
            }
        );
        assert!(a.time_to_ack.is_empty());
    }

    /// Clock 1 for urgent issues, counting half of every interval.
    struct Halves;

    impl Clocks for Halves {
        fn clock(&mut self, _: &str, priority: Option<&str>) -> usize {
            usize::from(priority == Some("urgent"))
        }

        fn measure(&self, clock: usize, a: i64, b: i64) -> i64 {
            if clock == 1 {
                (b - a) / 2
            } else {
                b - a
            }
        }
    }

    /// Each sample is measured on its issue's clock and kept apart from
    /// the other clock's: no spread pools two clocks.
    #[test]
    fn durations_and_stays_are_measured_and_kept_per_clock() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .write(|tx| {
                for (id, resolved) in [(1, 60), (2, 40)] {
                    issue(
                        tx,
                        id,
                        "a",
                        0,
                        Some(resolved),
                        &[(0, "created", 1), (resolved, "resolved", 1)],
                    );
                }
                tx.exec(
                    "UPDATE issues SET priority = 'urgent' WHERE id = 2",
                    args![],
                    "priority",
                )
                .expect("priority");
                marks(tx);
                Ok(())
            })
            .expect("fixture");
        let scope = Scope {
            since: t(0),
            until: t(100),
            chain: None,
        };
        let rows = store
            .read(|tx| chains(tx, &scope, &mut Halves))
            .expect("chains");
        let resolve = &rows["a"].time_to_resolve;
        let one = |secs| Spread {
            count: 1,
            median: Some(secs),
            p90: Some(secs),
        };
        assert_eq!(resolve.get(&0), Some(&one(3600)));
        assert_eq!(resolve.get(&1), Some(&one(1200)));
        let levels = store
            .read(|tx| levels(tx, &scope, &mut Halves))
            .expect("levels");
        assert_eq!(levels[0].stay.get(&0), Some(&one(3600)));
        assert_eq!(levels[0].stay.get(&1), Some(&one(1200)));
        assert_eq!((levels[0].reached, levels[0].resolved), (2, 2));
    }

    /// Reached once per (issue, level), for dense and sparse ids alike.
    #[test]
    fn began_counts_each_issue_and_level_once() {
        let mut b = Began::default();
        for (issue, level, new) in [
            (1, 1, true),
            (1, 1, false),
            (1, 2, true),
            (64, 1, true),
            (1 << 40, 1, true),
            (1 << 40, 1, false),
            (-3, 1, true),
            (-3, 1, false),
        ] {
            assert_eq!(b.insert(issue, level), new, "{issue} L{level}");
        }
    }

    /// Clock 1: open 09:00–17:00 UTC every day (a business calendar's
    /// shape); clock 2: a third of the elapsed time; clock 0: wall time.
    struct Office;

    impl Office {
        const DAY: i64 = 86_400_000;
        const HOUR: i64 = 3_600_000;

        /// Open milliseconds from the epoch to `t`.
        fn open_until(t: i64) -> i64 {
            let rem = t.rem_euclid(Self::DAY);
            t.div_euclid(Self::DAY) * 8 * Self::HOUR
                + (rem - 9 * Self::HOUR).clamp(0, 8 * Self::HOUR)
        }
    }

    impl Clocks for Office {
        fn clock(&mut self, chain: &str, priority: Option<&str>) -> usize {
            match (chain, priority) {
                ("b", _) => 1,
                (_, Some("urgent")) => 2,
                _ => 0,
            }
        }

        fn measure(&self, clock: usize, a: i64, b: i64) -> i64 {
            let wall = (b - a).max(0);
            match clock {
                1 => (Self::open_until(b) - Self::open_until(a)).max(0),
                2 => wall / 3,
                _ => wall,
            }
        }
    }

    /// One random issue for the breaches' property: its SLA columns (ms
    /// offsets from the window's start; None: not set) and its breached
    /// events (offset, details).
    #[derive(Debug, Clone)]
    struct Breached {
        chain: &'static str,
        priority: Option<&'static str>,
        response_due: Option<i64>,
        resolution_due: Option<i64>,
        acked: Option<i64>,
        resolved: Option<i64>,
        paused: Option<i64>,
        breaches: Vec<(i64, &'static str)>,
    }

    fn breached() -> impl proptest::strategy::Strategy<Value = Breached> {
        use proptest::prelude::*;
        // Half hours with a few odd milliseconds: overshoots often tie in
        // seconds (the order then goes by id), and in milliseconds.
        let at = || (-100i64..500, 0i64..3).prop_map(|(half, ms)| half * 1_800_000 + ms * 400);
        let opt = move || prop::option::of(at());
        let details = prop::sample::select(vec![
            r#"{"target":"response"}"#,
            r#"{"target":"resolution"}"#,
            r#"{"target":"resolution","level":2}"#,
            r#"{"target":"other"}"#,
            "{}",
            "not json",
        ]);
        (
            prop::sample::select(vec!["a", "b", "c"]),
            prop::sample::select(vec![None, Some("urgent"), Some("low")]),
            (opt(), opt(), opt(), opt(), opt()),
            prop::collection::vec((at(), details), 0..4),
        )
            .prop_map(
                |(chain, priority, (rd, sd, ack, res, paused), breaches)| Breached {
                    chain,
                    priority,
                    response_due: rd,
                    resolution_due: sd,
                    acked: ack,
                    resolved: res,
                    paused,
                    breaches,
                },
            )
    }

    /// The random issues, written directly from `base` (ms).
    fn write_breached(tx: &Tx, issues: &[Breached], base: i64) -> Result<()> {
        let off = |v: Option<i64>| v.map(|v| base + v);
        for (n, b) in issues.iter().enumerate() {
            let id = i64::try_from(n)? + 1;
            tx.exec(
                "INSERT INTO issues (id, chain, title, status, level, max_level, epoch_at, \
                   owner, owner_kind, created_at, priority, response_due_at, \
                   resolution_due_at, first_acked_at, resolved_at, paused_at) \
                 VALUES (?1, ?2, 'title ' || ?1, 'open', 1, 1, ?3, 'r', 'role', ?3, ?4, ?5, \
                   ?6, ?7, ?8, ?9)",
                args![
                    id,
                    b.chain,
                    base - 4_000 * 60_000,
                    b.priority,
                    off(b.response_due),
                    off(b.resolution_due),
                    off(b.acked),
                    off(b.resolved),
                    off(b.paused)
                ],
                "issue",
            )?;
            for &(at, details) in &b.breaches {
                tx.exec(
                    "INSERT INTO events (issue_id, at, kind, actor, details) \
                     VALUES (?1, ?2, 'breached', 'x', ?3)",
                    args![id, base + at, details],
                    "breach",
                )?;
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// The bounded search keeps exactly the list that measuring every
        /// breach gives: any limit, any chain, wall and calendar clocks,
        /// deadlines missing (a pause holds them) or settled early, repeated
        /// and foreign breaches.
        #[test]
        fn worst_breaches_bounded_equal_every_breach_measured(
            issues in proptest::collection::vec(breached(), 0..40),
            limit in 0u32..6,
            one_chain in proptest::bool::ANY,
            hours in 1i64..200,
        ) {
            let mut store = Store::open_in_memory().expect("store");
            store.write(|tx| write_breached(tx, &issues, m(0))).expect("fixture");
            let scope = Scope {
                since: t(0),
                until: t(hours * 60),
                chain: one_chain.then_some("b"),
            };
            let (bounded, every) = store
                .read(|tx| {
                    Ok((
                        worst_breaches(tx, &scope, limit, &mut Office)?,
                        worst_breaches_from_log(tx, &scope, limit, &mut Office)?,
                    ))
                })
                .expect("reads");
            proptest::prop_assert_eq!(bounded, every);
        }
    }

    /// A tie in seconds goes to the smaller id, also when its wall-clock
    /// overshoot is a few milliseconds shorter than the one measured
    /// before it: the bound compares whole seconds.
    #[test]
    fn worst_breaches_break_ties_in_seconds_by_id() {
        let mut store = Store::open_in_memory().expect("store");
        let issue = |deadline: i64| Breached {
            chain: "a",
            priority: None,
            response_due: Some(deadline),
            resolution_due: None,
            acked: None,
            resolved: None,
            paused: None,
            breaches: vec![(0, r#"{"target":"response"}"#)],
        };
        // Overshoots at `until` (60 minutes): 3,600.0 s and 3,600.4 s.
        let issues = [issue(0), issue(-400)];
        store
            .write(|tx| write_breached(tx, &issues, m(0)))
            .expect("fixture");
        let scope = Scope {
            since: t(0),
            until: t(60),
            chain: None,
        };
        let top = store
            .read(|tx| worst_breaches(tx, &scope, 1, &mut WallClock))
            .expect("reads");
        let got: Vec<(i64, i64)> = top.iter().map(|b| (b.id, b.overshoot_seconds)).collect();
        assert_eq!(got, [(1, 3600)]);
    }

    /// The worst breaches read the partial index alone (named, so a plan
    /// without it is an error), the issue found by id for each.
    #[test]
    fn worst_breaches_read_their_index() {
        let store = Store::open_in_memory().expect("store");
        let plan = store.explain(BREACHES, rusqlite::params![0, 1, "a"]);
        assert!(plan.contains("COVERING INDEX events_breached"), "{plan}");
        assert!(plan.contains("INTEGER PRIMARY KEY"), "{plan}");
    }

    /// The report's cost follows the window: its entry points use the
    /// time indexes rather than scanning every event.
    #[test]
    fn window_queries_use_time_indexes() {
        let store = Store::open_in_memory().expect("store");
        let plan = |sql: &str| store.explain(sql, rusqlite::params![0, 1, "a"]);
        let events = plan(
            "SELECT count(*) FROM events e WHERE e.kind = 'breached' AND e.at >= ?1 \
             AND e.at < ?2 AND ?3 IS NOT NULL",
        );
        // `events_breached` (12-breaches) is on (kind, at) too.
        assert!(
            events.contains("events_kind_at")
                || events.contains("events_breached (kind=? AND at>?"),
            "{events}"
        );
        let involved = plan(&format!("SELECT count(*) FROM issues i WHERE {INVOLVED}"));
        assert!(
            involved.contains("issues_resolved_at") && !involved.contains("SCAN"),
            "{involved}"
        );
        let acks = plan(
            "SELECT count(*) FROM issues WHERE first_acked_at >= ?1 AND first_acked_at < ?2 \
             AND (?3 IS NULL OR chain = ?3)",
        );
        assert!(acks.contains("issues_first_acked_at"), "{acks}");
    }
}
