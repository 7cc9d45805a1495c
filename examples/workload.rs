//! Workload generator for whole-process benchmarks (`scripts/bench.sh`).
//!
//! ```sh
//! cargo run --release --example workload -- --db PATH --open N --resolved M \
//!     [--due-fraction F] [--now RFC3339] [--seed S] [--config chains.toml] [--outbox] [--force]
//! ```
//!
//! Builds a fresh database with N open and M resolved issues spread across the
//! chains of a config (default: the repository's `chains.toml`), of which
//! `round(F·N)` open issues are due at `--now` (default
//! 2026-11-02T09:00:00Z). The schema is the real one: the file is created and
//! migrated by `escalate::store::Store::open`; rows are then bulk-loaded with
//! rusqlite (one transaction, no journal, indexes dropped during the load and
//! recreated from their own `CREATE INDEX` text; the report's kept stays are
//! then rebuilt from the event log), and the database is left in
//! WAL mode as the application expects. The `chains` table holds each chain's
//! current fingerprint, so `check` reschedules nothing.
//!
//! # Business-hours calendars
//!
//! A chain with a `calendar` (see `scripts/bench-business.toml`: the starter
//! chains on mon-fri 09:00-17:00 America/New_York with holidays) gets the
//! same workload in that calendar's time: everything below is drawn in
//! *open time* (ms of open time since an anchor two years before `--now`)
//! and each instant is mapped to the wall clock with
//! `engine::calendar::add` as it is written. So a step due `w` after
//! creation is due when the engine says it is (`add(created, w)`), ages
//! and ack windows are open time (30 days of open time is about four
//! months of office hours), and issues are filed, acknowledged and resolved
//! while the office is open. `--now` must fall in open hours for the due
//! issues to have come due in the last 5 minutes (e.g.
//! 2026-11-02T15:00:00Z, Monday 10:00 in New York); a chain on `always` is
//! generated exactly as before.
//!
//! # The model
//!
//! Every issue follows the engine's schedule (epoch 0, anchored at its
//! creation, every check on time so `late_seconds` is 0). A chain's *steps*
//! are (1, 0), (2, 0), …, (n, 0), (n, 1) … (n, repeat); step (L, r) is due
//! `wait(1) + … + wait(L-1) + r·wait(n)` after creation. An issue at a step has
//! `level = L`, `max_level = L`, `repeat = r`, `owner` = the role of L. The
//! step is drawn with weight 0.3^k (most issues never get far: ~3 events per
//! issue on the starter config).
//!
//! - **Open, not due** (status `open`): the age is drawn inside the step's
//!   window, so the step is reached and the next one is still in the future;
//!   on the last step (no next one) the age is up to 30 days.
//!   `next_due_at` = min(next step, next SLA instant), or NULL.
//! - **Acknowledged** (10 % of the open, not-due issues): acknowledged by a
//!   person during the step's window; escalation stopped there.
//!   `next_due_at` = min(ack expiry, next resolution-SLA instant): with an
//!   `ack_timeout_hours`, the ack is younger than the timeout.
//! - **Open, due**: the next step fell due during the last 5 minutes (since
//!   the previous check, which left the issue as stored): `next_due_at` is in
//!   (now − 5 min, now], so `check` will escalate each of them once.
//! - **Resolved**: created up to 60 days before `--now`, resolved at the step
//!   it reached (half of them acknowledged first; with an ack timeout, resolved
//!   before the ack would lapse). `next_due_at` NULL.
//!
//! SLA clocks (only when the chain sets `response_hours` / `resolution_hours`;
//! NULL otherwise, as with the starter config) follow `engine::sla`: risk and
//! due instants from creation, states as of the stored state's instant,
//! settled by the acknowledgement (response) or the resolution (both), with
//! `at_risk` / `breached` / `sla_met` events at the instants they happened
//! (at risk and breached also notify the level's role, and `breach_notify`).
//!
//! Events per issue, in time order: `created` (level 1), `notified` for the
//! level-1 page, then per step reached `escalated` + `notified`, then
//! `acknowledged`, `resolved` and the SLA events, with the details the
//! application writes. With `--outbox`, each page also gets its `sent` outbox
//! row(s), one per contact of the role. One `runs` row records the previous
//! check, 5 minutes before `--now`, so `status` finds a live checker.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Parser;
use rusqlite::{params, Connection};

use escalate::config::calendars::Calendar;
use escalate::config::{Chain, Config};
use escalate::store::{OpenMode, Store};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Open issues are created within this long before `--now`.
const OPEN_SPAN: i64 = 30 * DAY;
/// Resolved issues are resolved within this long before `--now`.
const RESOLVED_SPAN: i64 = 60 * DAY;
/// Cron cadence: due issues became due since the previous check, this long ago.
const CHECK_CADENCE: i64 = 5 * MINUTE;
/// Window used for the last step (which has no next step) when a person
/// acks or resolves during it.
const LAST_STEP_WINDOW: i64 = DAY;
/// Weight of step k is STEP_DECAY^k.
const STEP_DECAY: f64 = 0.3;
/// Share of open, not-due issues that are acknowledged.
const ACKED_SHARE: f64 = 0.10;
/// Share of resolved issues acknowledged before resolution.
const RESOLVED_ACKED_SHARE: f64 = 0.5;
/// Share of issues filed by a person (the rest by `escalate`, i.e. scripts).
const FILED_BY_PERSON: f64 = 0.5;
/// Share of issues with an external reference.
const WITH_REF: f64 = 0.7;

const SYSTEM: &str = "escalate";
const USERS: [&str; 8] = ["dana", "lee", "sam", "kim", "alex", "jo", "pat", "max"];
const TITLES: [&str; 12] = [
    "Customer cannot log in",
    "Checkout returns 500 for EU cards",
    "Invoice PDF is blank",
    "Password reset email never arrives",
    "API latency above 2 s",
    "Webhook deliveries failing",
    "Search returns stale results",
    "Mobile app crashes on launch",
    "Refund stuck in pending",
    "SSO redirect loop",
    "Export times out",
    "Dashboard shows wrong totals",
];

#[derive(Parser, Debug)]
#[command(about = "Build a benchmark database for escalate")]
struct Args {
    /// Database file to create.
    #[arg(long)]
    db: PathBuf,
    /// Open (unresolved) issues.
    #[arg(long, default_value_t = 0)]
    open: u64,
    /// Resolved issues.
    #[arg(long, default_value_t = 0)]
    resolved: u64,
    /// Fraction of the open issues due at --now (0..=1).
    #[arg(long, default_value_t = 0.0)]
    due_fraction: f64,
    /// The instant the database is "as of" (RFC 3339).
    #[arg(long, default_value = "2026-11-02T09:00:00Z")]
    now: String,
    /// PRNG seed (same seed, same database).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Chains file (default: the repository's chains.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also write the `sent` outbox row of every page.
    #[arg(long)]
    outbox: bool,
    /// Replace an existing database file.
    #[arg(long)]
    force: bool,
}

/// splitmix64: tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n) (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [lo, hi) (lo when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One step of a chain's schedule: level, repeat, offset from creation (ms).
#[derive(Debug, Clone, Copy)]
struct Step {
    level: u32,
    repeat: u32,
    at: i64,
}

/// A role's contacts as (channel, target, target as JSON).
type Contacts = Vec<(&'static str, String, String)>;

/// An SLA target: at-risk and due offsets from creation (ms).
#[derive(Debug, Clone, Copy)]
struct Target {
    name: &'static str,
    risk: i64,
    due: i64,
}

/// Open time ↔ wall clock for one chain: identity on a 24/7 calendar;
/// otherwise open-time ms since `anchor` (a wall instant) are mapped with
/// the engine's own calendar arithmetic, so due instants agree with it.
struct Timeline {
    cal: Option<std::sync::Arc<Calendar>>,
    /// Wall ms; open-time coordinates count from here (o = anchor here).
    anchor: i64,
}

impl Timeline {
    fn new(cal: &std::sync::Arc<Calendar>, now: i64) -> Timeline {
        Timeline {
            cal: (!cal.is_always()).then(|| std::sync::Arc::clone(cal)),
            // Two years back: further than any drawn age (at most ~70 days
            // of open time) reaches, within the engine's search horizon.
            anchor: now - 730 * DAY,
        }
    }

    /// The open-time coordinate of wall instant `t` (≥ anchor).
    fn open(&self, t: i64) -> i64 {
        let Some(cal) = &self.cal else {
            return t;
        };
        let (Some(a), Some(b)) = (
            DateTime::<Utc>::from_timestamp_millis(self.anchor),
            DateTime::<Utc>::from_timestamp_millis(t),
        ) else {
            return t;
        };
        self.anchor + escalate::engine::calendar::open_between(cal, a, b).num_milliseconds()
    }

    /// The wall instant at which open-time coordinate `o` is reached.
    fn wall(&self, o: i64) -> i64 {
        let Some(cal) = &self.cal else {
            return o;
        };
        DateTime::<Utc>::from_timestamp_millis(self.anchor)
            .and_then(|a| {
                escalate::engine::calendar::add(
                    cal,
                    a,
                    chrono::TimeDelta::milliseconds(o - self.anchor),
                )
            })
            .map_or(o, |t| t.timestamp_millis())
    }
}

/// A chain, precomputed for generation.
struct Model {
    timeline: Timeline,
    /// `--now` in the timeline's open time: what the draws count back from.
    now: i64,
    name: String,
    name_json: String,
    fingerprint: String,
    steps: Vec<Step>,
    /// Per level (index level-1): the role, its JSON form, and its contacts as
    /// (channel, target, target as JSON).
    roles: Vec<String>,
    roles_json: Vec<String>,
    contacts: Vec<Contacts>,
    /// The breach_notify roles and their contacts.
    breach_contacts: Vec<(String, Contacts)>,
    response: Option<Target>,
    resolution: Option<Target>,
    ack_timeout: Option<i64>,
    /// Cumulative weights over steps where an issue can sit (non-empty window).
    sit: Vec<(usize, f64)>,
    /// Cumulative weights over steps whose next step can fall due.
    due: Vec<(usize, f64)>,
}

impl Model {
    fn new(chain: &Chain, config: &Config, now: i64) -> Model {
        let mut steps = Vec::new();
        let mut at = 0i64;
        for (i, level) in chain.levels.iter().enumerate() {
            steps.push(Step {
                level: i as u32 + 1,
                repeat: 0,
                at,
            });
            if i + 1 < chain.levels.len() {
                at += level.wait.num_milliseconds();
            }
        }
        let last_wait = chain.levels.last().map_or(0, |l| l.wait.num_milliseconds());
        for r in 1..=chain.repeat {
            steps.push(Step {
                level: chain.levels.len() as u32,
                repeat: r,
                at: at + i64::from(r) * last_wait,
            });
        }
        let target = |name: &'static str, t: Option<chrono::TimeDelta>| {
            t.map(|t| Target {
                name,
                risk: chain.sla.at_risk.offset(t).num_milliseconds(),
                due: t.num_milliseconds(),
            })
        };
        let mut sit = Vec::new();
        let mut due = Vec::new();
        let (mut sit_total, mut due_total) = (0.0, 0.0);
        for k in 0..steps.len() {
            let weight = STEP_DECAY.powi(k as i32);
            let next = steps.get(k + 1).map(|s| s.at);
            if next.is_none_or(|n| n > steps[k].at) {
                sit_total += weight;
                sit.push((k, sit_total));
            }
            if next.is_some_and(|n| n > steps[k].at) {
                due_total += weight;
                due.push((k, due_total));
            }
        }
        let roles: Vec<String> = chain.levels.iter().map(|l| l.role.clone()).collect();
        let contacts = |role: &str| -> Contacts {
            config
                .contacts(role)
                .iter()
                .map(|c| (c.channel(), c.target(), json_str(&c.target())))
                .collect()
        };
        let timeline = Timeline::new(&chain.calendar, now);
        Model {
            now: timeline.open(now),
            timeline,
            name: chain.name.clone(),
            name_json: json_str(&chain.name),
            fingerprint: chain.fingerprint(),
            roles_json: roles.iter().map(|r| json_str(r)).collect(),
            contacts: roles.iter().map(|r| contacts(r)).collect(),
            breach_contacts: chain
                .sla
                .breach_notify
                .iter()
                .map(|r| (r.clone(), contacts(r)))
                .collect(),
            roles,
            steps,
            response: target("response", chain.sla.response),
            resolution: target("resolution", chain.sla.resolution),
            ack_timeout: chain.ack_timeout.map(|d| d.num_milliseconds()),
            sit,
            due,
        }
    }

    /// Draw a step from cumulative weights.
    fn pick(table: &[(usize, f64)], rng: &mut Rng) -> usize {
        let total = table.last().map_or(0.0, |t| t.1);
        let x = rng.unit() * total;
        table
            .iter()
            .find(|t| x < t.1)
            .or(table.last())
            .map_or(0, |t| t.0)
    }

    /// Offset of the step after `k`, if any.
    fn next_at(&self, k: usize) -> Option<i64> {
        self.steps.get(k + 1).map(|s| s.at)
    }

    /// How long an issue can sit at step `k` (for acks and resolutions).
    fn window(&self, k: usize) -> i64 {
        self.next_at(k)
            .map_or(LAST_STEP_WINDOW, |n| n - self.steps[k].at)
    }

    /// The level an issue created at `created` and stopped at step `k` is at
    /// at `t`.
    fn level_at(&self, k: usize, created: i64, t: i64) -> u32 {
        self.steps[..=k]
            .iter()
            .rev()
            .find(|s| created + s.at <= t)
            .map_or(1, |s| s.level)
    }

    fn role(&self, level: u32) -> &str {
        &self.roles[level as usize - 1]
    }

    fn role_json(&self, level: u32) -> &str {
        &self.roles_json[level as usize - 1]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open,
    Due,
    Acked,
    Resolved,
}

/// What is drawn for one issue; rows and events are derived from it.
#[derive(Debug, Clone, Copy)]
struct Plan {
    created: i64,
    /// The instant the stored state is as of: `--now`, or for a due issue
    /// the previous check.
    state_at: i64,
    acked: Option<i64>,
    resolved: Option<i64>,
    kind: Kind,
    chain: u16,
    step: u16,
    /// 0: `escalate`; i: USERS[i-1].
    creator: u8,
    person: u8,
    title: u8,
    with_ref: bool,
}

fn draw_open(models: &[Model], due_chains: &[usize], due: bool, rng: &mut Rng) -> Plan {
    let (creator, person, title) = (
        if rng.chance(FILED_BY_PERSON) {
            1 + rng.below(USERS.len() as u64) as u8
        } else {
            0
        },
        rng.below(USERS.len() as u64) as u8,
        rng.below(TITLES.len() as u64) as u8,
    );
    let with_ref = rng.chance(WITH_REF);
    if due {
        let c = due_chains[rng.below(due_chains.len() as u64) as usize];
        let m = &models[c];
        let k = Model::pick(&m.due, rng);
        let window = m.window(k);
        // The next step came due `late` ago, after the previous check.
        let late = rng.range(0, CHECK_CADENCE.min(window));
        let next = m.now - late;
        let created = next - m.next_at(k).unwrap_or(0);
        return Plan {
            created,
            state_at: next - 1,
            acked: None,
            resolved: None,
            kind: Kind::Due,
            chain: c as u16,
            step: k as u16,
            creator,
            person,
            title,
            with_ref,
        };
    }
    let c = rng.below(models.len() as u64) as usize;
    let m = &models[c];
    let k = Model::pick(&m.sit, rng);
    let start = m.steps[k].at;
    if rng.chance(ACKED_SHARE) {
        // Acked `into` the step's window, `age` ago.
        let into = start + (rng.unit() * m.window(k) as f64) as i64;
        let age = match m.ack_timeout {
            Some(t) => rng.range(0, t),
            None => rng.range(0, (OPEN_SPAN - into).max(1)),
        };
        let acked = m.now - age;
        return Plan {
            created: acked - into,
            state_at: m.now,
            acked: Some(acked),
            resolved: None,
            kind: Kind::Acked,
            chain: c as u16,
            step: k as u16,
            creator,
            person,
            title,
            with_ref,
        };
    }
    let end = m.next_at(k).unwrap_or(OPEN_SPAN.max(start + 1));
    let age = rng.range(start, end);
    Plan {
        created: m.now - age,
        state_at: m.now,
        acked: None,
        resolved: None,
        kind: Kind::Open,
        chain: c as u16,
        step: k as u16,
        creator,
        person,
        title,
        with_ref,
    }
}

fn draw_resolved(models: &[Model], rng: &mut Rng) -> Plan {
    let c = rng.below(models.len() as u64) as usize;
    let m = &models[c];
    let k = Model::pick(&m.sit, rng);
    let into = m.steps[k].at + (rng.unit() * m.window(k) as f64) as i64;
    let (acked_after, resolved_after) = if rng.chance(RESOLVED_ACKED_SHARE) {
        let limit = m.ack_timeout.unwrap_or(2 * DAY).min(2 * DAY);
        (Some(into), into + rng.range(0, limit))
    } else {
        (None, into)
    };
    let age = resolved_after + rng.range(0, RESOLVED_SPAN);
    let created = m.now - age;
    Plan {
        created,
        state_at: m.now,
        acked: acked_after.map(|a| created + a),
        resolved: Some(created + resolved_after),
        kind: Kind::Resolved,
        chain: c as u16,
        step: k as u16,
        creator: if rng.chance(FILED_BY_PERSON) {
            1 + rng.below(USERS.len() as u64) as u8
        } else {
            0
        },
        person: rng.below(USERS.len() as u64) as u8,
        title: rng.below(TITLES.len() as u64) as u8,
        with_ref: rng.chance(WITH_REF),
    }
}

/// One event to write.
struct Ev {
    at: i64,
    /// Within one instant: decisions (0) before deliveries (1), as a check
    /// commits its decisions before it delivers.
    phase: u8,
    kind: &'static str,
    level: u32,
    actor: &'static str,
    details: String,
}

/// An SLA clock's columns.
#[derive(Default)]
struct Clock {
    risk: Option<i64>,
    due: Option<i64>,
    state: Option<&'static str>,
    settled: Option<i64>,
    /// The next instant it changes on its own (running clocks).
    next: Option<i64>,
}

/// A change of an SLA clock (`engine::sla::Change`).
struct Change {
    kind: &'static str,
    target: &'static str,
    at: i64,
    /// The clock's deadline.
    due: i64,
    /// Recorded when a person acted (met), not by a check (at risk, breached).
    by_person: bool,
}

/// Walk one SLA clock like `engine::sla`: settled at `settle` (ack/resolve:
/// an instant equal to it has not happened yet), else ticked to `as_of` (an
/// instant equal to it has happened). Checks run on time, so at-risk and
/// breach instants before the settlement were recorded by a check at the
/// instant itself.
fn clock(
    t: Option<Target>,
    created: i64,
    settle: Option<i64>,
    as_of: i64,
    changes: &mut Vec<Change>,
) -> Clock {
    let Some(t) = t else {
        return Clock::default();
    };
    let (risk, due) = (created + t.risk, created + t.due);
    let mut change = |kind, at, by_person| {
        changes.push(Change {
            kind,
            target: t.name,
            at,
            due,
            by_person,
        })
    };
    let passed = |x: i64| match settle {
        Some(s) => x < s,
        None => x <= as_of,
    };
    let mut c = Clock {
        risk: Some(risk),
        due: Some(due),
        state: Some("pending"),
        settled: None,
        next: None,
    };
    if passed(risk) {
        c.state = Some("at_risk");
        change("at_risk", risk, false);
        if passed(due) {
            c.state = Some("breached");
            c.settled = Some(due);
            change("breached", due, false);
        }
    }
    match (c.state, settle) {
        (Some("breached"), _) => {}
        (_, Some(s)) => {
            c.state = Some("met");
            c.settled = Some(s);
            change("sla_met", s, true);
        }
        (Some("pending"), None) => c.next = Some(risk),
        (_, None) => c.next = Some(due),
    }
    c
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(escalate::model::time::rfc3339)
        .unwrap_or_default()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

fn actor(i: u8) -> &'static str {
    if i == 0 {
        SYSTEM
    } else {
        USERS[i as usize - 1]
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct Counts {
    issues: u64,
    events: u64,
    outbox: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.due_fraction) {
        bail!("--due-fraction must be between 0 and 1");
    }
    let now = DateTime::parse_from_rfc3339(&args.now)
        .with_context(|| format!("invalid --now `{}`", args.now))?
        .with_timezone(&Utc)
        .timestamp_millis();
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("chains.toml"));
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let models: Vec<Model> = config
        .chains
        .values()
        .map(|c| Model::new(c, &config, now))
        .collect();
    if models.is_empty() {
        bail!("{} has no chains", config_path.display());
    }
    let due_chains: Vec<usize> = (0..models.len())
        .filter(|&i| !models[i].due.is_empty())
        .collect();
    let due_count = (args.open as f64 * args.due_fraction).round() as u64;
    if due_count > 0 && due_chains.is_empty() {
        bail!("no chain in the config has a next step that can fall due");
    }

    if args.db.exists() {
        if !args.force {
            bail!("{} exists (pass --force to replace it)", args.db.display());
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = args.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }

    let started = Instant::now();
    // The real schema, created and migrated by the application's own code.
    drop(Store::open(
        &args.db,
        OpenMode::Create,
        Duration::from_secs(10),
    )?);

    let mut rng = Rng(args.seed);
    let mut plans = Vec::with_capacity((args.open + args.resolved) as usize);
    for i in 0..args.open {
        plans.push(draw_open(&models, &due_chains, i < due_count, &mut rng));
    }
    for _ in 0..args.resolved {
        plans.push(draw_resolved(&models, &mut rng));
    }
    // Ids follow creation time, as they would in a real database.
    plans.sort_by_key(|p| models[p.chain as usize].timeline.wall(p.created));

    let mut conn = Connection::open(&args.db)?;
    let counts = load(&mut conn, &models, &plans, now, args.outbox)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    drop(conn);

    let secs = started.elapsed().as_secs_f64();
    println!(
        "workload: {} issues ({} open, {} due, {} resolved), {} events, {} outbox rows \
         in {secs:.1} s -> {}",
        counts.issues,
        args.open,
        due_count,
        args.resolved,
        counts.events,
        counts.outbox,
        args.db.display()
    );
    Ok(())
}

fn load(
    conn: &mut Connection,
    models: &[Model],
    plans: &[Plan],
    now: i64,
    outbox: bool,
) -> Result<Counts> {
    // A throwaway bulk load: no journal, no fsync, a big cache.
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;

    let tx = conn.transaction()?;
    // Indexes are rebuilt after the load from their own definitions.
    let indexes: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('issues', 'events', 'outbox')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    {
        let mut chains = tx.prepare(
            "INSERT INTO chains (name, fingerprint) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
        )?;
        for m in models {
            chains.execute(params![m.name, m.fingerprint])?;
        }
    }
    // The previous check, one cadence ago (it left the due issues as
    // stored), so `status` sees a live checker.
    let has_runs: bool = tx.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
        [],
        |r| r.get(0),
    )?;
    if has_runs {
        tx.execute(
            "INSERT INTO runs (started_at, duration_ms, examined, escalations, sla_events, \
             delivered, failed, dead, orphans) VALUES (?1, 40, 0, 0, 0, 0, 0, 0, 0)",
            [now - CHECK_CADENCE],
        )?;
    }
    let mut counts = Counts {
        issues: 0,
        events: 0,
        outbox: 0,
    };
    {
        let mut issue = tx.prepare(
            "INSERT INTO issues (id, chain, title, description, external_ref, status, level, \
             max_level, repeat, epoch, epoch_level, epoch_at, owner, owner_kind, created_at, \
             acked_at, acked_by, resolved_at, resolved_by, next_due_at, \
             response_risk_at, response_due_at, response_state, response_settled_at, \
             resolution_risk_at, resolution_due_at, resolution_state, resolution_settled_at, \
             first_acked_at) \
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?6, ?7, 0, 1, ?8, ?9, ?10, ?8, \
             ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?11)",
        )?;
        let mut event = tx.prepare(
            "INSERT INTO events (issue_id, at, kind, level, actor, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        // Every page and SLA notice delivered on time: (notice, level,
        // repeat, role, channel, target, due_at, sent_at).
        let mut sent = tx.prepare(
            "INSERT INTO outbox (issue_id, notice, epoch, level, repeat, role, channel, target, \
             due_at, created_at, status, attempts, next_attempt_at, sent_at) \
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'sent', 1, ?9, ?9)",
        )?;
        type Row<'a> = (
            &'static str,
            u32,
            u32,
            &'a str,
            &'static str,
            &'a str,
            i64,
            i64,
        );
        let mut rows: Vec<Row> = Vec::new();
        let mut evs: Vec<Ev> = Vec::with_capacity(32);
        let titles_json: Vec<String> = TITLES.iter().map(|t| json_str(t)).collect();
        for (i, p) in plans.iter().enumerate() {
            let id = i as i64 + 1;
            let m = &models[p.chain as usize];
            // Everything below is open time of the chain's calendar; `w`
            // maps an instant to the wall clock as it is written.
            let w = |o: i64| m.timeline.wall(o);
            let k = p.step as usize;
            let step = m.steps[k];
            let person = USERS[p.person as usize];
            let ext_ref = p.with_ref.then(|| format!("ZD-{}", 100_000 + id));
            evs.clear();
            rows.clear();

            // Pages: creation (level 1), then every step reached; one
            // `notified` per contact, as the deliverer writes them.
            let notified = |s: &Step, at: i64, evs: &mut Vec<Ev>| {
                for (channel, _, target_json) in &m.contacts[s.level as usize - 1] {
                    evs.push(Ev {
                        at,
                        phase: 1,
                        kind: "notified",
                        level: s.level,
                        actor: SYSTEM,
                        details: format!(
                            r#"{{"channel":"{channel}","target":{target_json},"role":{},"epoch":0,"repeat":{},"attempt":1,"late_seconds":0}}"#,
                            m.role_json(s.level),
                            s.repeat
                        ),
                    });
                }
            };
            evs.push(Ev {
                at: p.created,
                phase: 0,
                kind: "created",
                level: 1,
                actor: actor(p.creator),
                details: format!(
                    r#"{{"chain":{},"title":{},"ref":{},"owner":{}}}"#,
                    m.name_json,
                    titles_json[p.title as usize],
                    ext_ref.as_deref().map_or("null".to_string(), json_str),
                    m.role_json(1)
                ),
            });
            notified(&m.steps[0], p.created, &mut evs);
            for j in 1..=k {
                let (prev, s) = (m.steps[j - 1], m.steps[j]);
                let at = p.created + s.at;
                evs.push(Ev {
                    at,
                    phase: 0,
                kind: "escalated",
                    level: s.level,
                    actor: SYSTEM,
                    details: format!(
                        r#"{{"role":{},"repeat":{},"epoch":0,"due_at":"{}","late_seconds":0,"owner_from":{},"owner_to":{}}}"#,
                        m.role_json(s.level),
                        s.repeat,
                        rfc3339(w(at)),
                        m.role_json(prev.level),
                        m.role_json(s.level)
                    ),
                });
                notified(&s, at, &mut evs);
            }
            if outbox {
                for s in &m.steps[..=k] {
                    for (channel, target, _) in &m.contacts[s.level as usize - 1] {
                        let at = p.created + s.at;
                        rows.push((
                            "page",
                            s.level,
                            s.repeat,
                            m.role(s.level),
                            channel,
                            target,
                            at,
                            at,
                        ));
                    }
                }
            }
            let mut owner = m.role(step.level).to_string();
            let mut owner_kind = "role";
            if let Some(acked) = p.acked {
                let expires = m.ack_timeout.map(|t| acked + t);
                evs.push(Ev {
                    at: acked,
                    phase: 0,
                    kind: "acknowledged",
                    level: step.level,
                    actor: person,
                    details: format!(
                        r#"{{"owner_from":{},"owner_to":{},"ack_expires_at":{}}}"#,
                        m.role_json(step.level),
                        json_str(person),
                        expires.map_or("null".to_string(), |e| format!("\"{}\"", rfc3339(w(e))))
                    ),
                });
                owner = person.to_string();
                owner_kind = "person";
            }
            if let Some(resolved) = p.resolved {
                evs.push(Ev {
                    at: resolved,
                    phase: 0,
                    kind: "resolved",
                    level: step.level,
                    actor: person,
                    details: format!(r#"{{"note":null,"owner":{}}}"#, json_str(&owner)),
                });
            }
            let mut changes = Vec::new();
            let response = clock(
                m.response,
                p.created,
                p.acked.or(p.resolved),
                p.state_at,
                &mut changes,
            );
            let resolution = clock(
                m.resolution,
                p.created,
                p.resolved,
                p.state_at,
                &mut changes,
            );
            for c in &changes {
                let level = if c.by_person {
                    step.level
                } else {
                    m.level_at(k, p.created, c.at)
                };
                let owner_json = match p.acked {
                    Some(a) if a <= c.at => json_str(person),
                    _ => m.role_json(level).to_string(),
                };
                evs.push(Ev {
                    at: c.at,
                    phase: 0,
                    kind: c.kind,
                    level,
                    actor: SYSTEM,
                    details: format!(
                        r#"{{"target":"{}","due_at":"{}","left_seconds":{},"owner":{},"recorded_at":"{}"}}"#,
                        c.target,
                        rfc3339(w(c.due)),
                        (w(c.due) - w(c.at)) / 1000,
                        owner_json,
                        rfc3339(w(c.at))
                    ),
                });
                if c.by_person {
                    continue;
                }
                // The check that recorded it told the level's role (and, of a
                // breach, the breach_notify roles): one row per contact.
                let notice = match (c.target, c.kind) {
                    ("response", "breached") => "response_breached",
                    ("response", _) => "response_at_risk",
                    (_, "breached") => "resolution_breached",
                    _ => "resolution_at_risk",
                };
                let mut roles: Vec<(&str, &Contacts)> =
                    vec![(m.role(level), &m.contacts[level as usize - 1])];
                if c.kind == "breached" {
                    for (r, cs) in &m.breach_contacts {
                        if roles.iter().all(|(x, _)| x != r) {
                            roles.push((r, cs));
                        }
                    }
                }
                // The outbox key is per (notice, channel, target): a contact
                // shared by two roles hears once.
                let mut told: Vec<(&str, &str)> = Vec::new();
                for (role, contacts) in roles {
                    for (channel, target, target_json) in contacts {
                        if told.contains(&(channel, target.as_str())) {
                            continue;
                        }
                        told.push((channel, target));
                        evs.push(Ev {
                            at: c.at,
                            phase: 1,
                            kind: "notified",
                            level,
                            actor: SYSTEM,
                            details: format!(
                                r#"{{"channel":"{channel}","target":{target_json},"role":{},"epoch":0,"repeat":0,"attempt":1,"late_seconds":{}}}"#,
                                json_str(role),
                                (w(c.at) - w(c.due)) / 1000
                            ),
                        });
                        if outbox {
                            rows.push((notice, level, 0, role, channel, target, c.due, c.at));
                        }
                    }
                }
            }
            let sla_next = min_opt(response.next, resolution.next);
            let next_due = match p.kind {
                Kind::Resolved => None,
                Kind::Acked => {
                    min_opt(m.ack_timeout.and_then(|t| p.acked.map(|a| a + t)), sla_next)
                }
                Kind::Open | Kind::Due => min_opt(m.next_at(k).map(|n| p.created + n), sla_next),
            };
            let status = match p.kind {
                Kind::Resolved => "resolved",
                Kind::Acked => "acknowledged",
                Kind::Open | Kind::Due => "open",
            };
            issue.execute(params![
                id,
                m.name,
                TITLES[p.title as usize],
                ext_ref,
                status,
                step.level,
                step.repeat,
                w(p.created),
                owner,
                owner_kind,
                p.acked.map(w),
                p.acked.map(|_| person),
                p.resolved.map(w),
                p.resolved.map(|_| person),
                next_due.map(w),
                response.risk.map(w),
                response.due.map(w),
                response.state,
                response.settled.map(w),
                resolution.risk.map(w),
                resolution.due.map(w),
                resolution.state,
                resolution.settled.map(w),
            ])?;
            counts.issues += 1;
            for r in &rows {
                sent.execute(params![id, r.0, r.1, r.2, r.3, r.4, r.5, w(r.6), w(r.7)])?;
            }
            counts.outbox += rows.len() as u64;
            // Time order; ties keep the order they were decided in.
            evs.sort_by_key(|e| (e.at, e.phase));
            for e in &evs {
                event.execute(params![id, w(e.at), e.kind, e.level, e.actor, e.details])?;
            }
            counts.events += evs.len() as u64;
        }
    }
    for (_, sql) in &indexes {
        tx.execute_batch(sql)?;
    }
    // The rows went in behind the store's back: the stays it keeps as
    // events are appended are computed from the log, as the migration does.
    escalate::store::stays::rebuild(&tx)?;
    // Likewise the digest's open-issue counts (migration 09).
    escalate::store::open_counts::rebuild(&tx)?;
    // Likewise the report's hourly rollups (else the first report folds
    // the whole log).
    escalate::store::rollups::rebuild(&tx)?;
    tx.commit()?;
    Ok(counts)
}
