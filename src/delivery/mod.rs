//! The outbox worker: claim due rows with a lease, send each through its
//! channel (`notify`), record the outcome through `lifecycle` (`notified`
//! only after a send succeeded; `delivery_failed` with the reason
//! otherwise). Temporary failures retry with exponential backoff across
//! runs; exhausted or permanent ones become dead.

mod send;
pub mod subscriptions;
mod tasks;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use chrono::TimeDelta;

use crate::config::{Config, Contact};
use crate::lifecycle::outcome::{self, Failed, Pass, Recorded};
use crate::model::delivery::Links;
use crate::model::link;
use crate::model::{Delivery, Notice, Task, Ts};
use crate::notify::{console, SendError, Senders};
use crate::store::Tx;
use crate::store::{outbox, Store};

/// How long a claimed row is reserved for the process delivering it. A
/// process that dies mid-send releases its rows when the lease runs out.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);
const BATCH: usize = 500;
/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub sent: u32,
    /// Failures that will be retried by a later run.
    pub retrying: Vec<Failed>,
    /// Failures that will not be retried.
    pub dead: Vec<Failed>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        !self.retrying.is_empty() || !self.dead.is_empty()
    }

    /// Add another pass's outcome (a check in batches).
    pub fn absorb(&mut self, other: Outcome) {
        self.sent += other.sent;
        self.retrying.extend(other.retrying);
        self.dead.extend(other.dead);
    }
}

/// Failures of one channel with one error, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    /// The first few issue ids, for the message.
    pub ids: Vec<i64>,
    /// How many issues in all.
    pub count: usize,
    pub channel: String,
    pub error: String,
}

/// Failures grouped by (channel, error) for people: a relay that is down
/// for 10,000 notifications is one line naming a few issues, not 10,000.
pub fn summarize(failures: &[Failed]) -> Vec<FailureGroup> {
    /// Issue ids named per line before "and N more".
    const IDS: usize = 5;
    let mut groups: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for f in failures {
        groups
            .entry((f.channel.clone(), f.error.clone()))
            .or_default()
            .push(f.issue_id);
    }
    groups
        .into_iter()
        .map(|((channel, error), mut ids)| {
            // Outcomes arrive in completion order; name the lowest ids.
            ids.sort_unstable();
            let count = ids.len();
            FailureGroup {
                ids: ids.into_iter().take(IDS).collect(),
                count,
                channel,
                error,
            }
        })
        .collect()
}

/// "issue #3" or "5 issues (#1, #2, #3, #4, #5 and 12 more)".
pub fn issues_phrase(ids: &[i64], n: usize) -> String {
    let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
    if n == 1 {
        format!("issue {}", list.join(""))
    } else if n > ids.len() {
        format!(
            "{n} issues ({} and {} more)",
            list.join(", "),
            n - ids.len()
        )
    } else {
        format!("{n} issues ({})", list.join(", "))
    }
}

impl Outcome {
    /// Every failure, retrying first.
    pub fn failures(&self) -> Vec<Failed> {
        self.retrying.iter().chain(&self.dead).cloned().collect()
    }

    fn add(&mut self, r: Recorded) {
        match r {
            Recorded::NotOurs => {}
            Recorded::Sent => self.sent += 1,
            Recorded::Retrying(f) => self.retrying.push(f),
            Recorded::Dead(f) => self.dead.push(f),
        }
    }
}

/// Find the configured contact behind an outbox row's (channel, target),
/// preferring the row's own role.
fn contact_for(config: &Config, d: &Delivery) -> Option<Contact> {
    let matches = |c: &Contact| c.channel() == d.channel && c.target() == d.target;
    config
        .roles
        .get(&d.role)
        .and_then(|r| r.contacts.iter().find(|c| matches(c)))
        .or_else(|| {
            config
                .roles
                .values()
                .flat_map(|r| r.contacts.iter())
                .find(|c| matches(c))
        })
        // A person's own contacts (the one on call, a member, an assignee).
        .or_else(|| {
            config
                .people
                .values()
                .flat_map(|p| p.contacts.iter())
                .find(|c| matches(c))
        })
        .cloned()
}

/// What each row's message needs from the config at send time: the Slack
/// member id of its on-call person, for the `<@U…>` in messages to the
/// role's Slack channel (an id changed since the page was decided is the
/// one that reaches them now), and signed action links when `serve` has a
/// public URL.
fn annotate(config: &Config, now: crate::model::Ts, batch: &mut [Delivery]) {
    let server = &config.server;
    let secret = server.secret.as_ref().and_then(|s| s.resolve().ok());
    for d in batch.iter_mut() {
        d.mention = d
            .person
            .as_deref()
            .and_then(|p| config.people.get(p))
            .and_then(|p| p.slack_id.clone());
        d.ticket_url = match (&d.source, &d.external_id) {
            (Some(s), Some(id)) => config.ticket_url(s, id),
            _ => None,
        };
        d.runbook = config.runbook(&d.chain).map(str::to_string);
        if let (Some(url), Some(secret)) = (&server.public_url, &secret) {
            d.links = Some(links(url, secret.as_bytes(), d, now + server.link_ttl));
        }
        d.rendered = template_kind(d.notice)
            .and_then(|kind| config.templates.render(kind, &d.channel, &vars(d, now)));
    }
}

/// The `[templates]` kind a notice is shown with, if any.
fn template_kind(n: Notice) -> Option<&'static str> {
    use crate::model::sla::State;
    match n {
        Notice::Page | Notice::AckLapsed | Notice::ChainShortened => Some("page"),
        Notice::Sla(_, State::Breached) => Some("breach"),
        Notice::Sla(..) => Some("at_risk"),
        _ => None,
    }
}

/// What a template sees of `d`.
fn vars(d: &Delivery, now: Ts) -> crate::config::templates::Vars {
    let target = match d.notice {
        Notice::Sla(t, _) => Some(t.as_str().to_string()),
        _ => None,
    };
    let raised = d.raised_by();
    crate::config::templates::Vars {
        id: d.issue_id,
        title: d.title.clone(),
        chain: d.chain.clone(),
        level: d.level,
        repeat: d.repeat,
        role: d.role.clone(),
        owner: d.person.clone().unwrap_or_else(|| d.role.clone()),
        on_call: d.person.clone(),
        notice: d.notice.as_str().to_string(),
        target,
        due_at: crate::model::time::rfc3339(d.due_at),
        late: crate::notify::message::lateness(d, now),
        open_for: crate::model::time::human(now - d.created_at),
        ticket_url: d.ticket_url.clone(),
        runbook: d.runbook.clone(),
        ack_url: d.links.as_ref().map(|l| l.ack.clone()),
        resolve_url: d.links.as_ref().map(|l| l.resolve.clone()),
        snooze_url: d.links.as_ref().map(|l| l.snooze.clone()),
        paged_by: raised.as_ref().map(|r| r.by.clone()),
        paged_reason: raised.and_then(|r| r.reason),
    }
}

/// Ack, resolve and snooze links for `d`, good until `expires`, recorded
/// as the person (or role) the notification is for.
fn links(base: &str, secret: &[u8], d: &Delivery, expires: crate::model::Ts) -> Links {
    let token = |action| {
        link::sign(
            secret,
            &link::Link {
                issue_id: d.issue_id,
                action,
                epoch: d.issue_epoch,
                expires: expires.timestamp(),
                actor: d.person.clone().unwrap_or_else(|| d.role.clone()),
            },
        )
    };
    let tokens = [
        token(link::Action::Ack),
        token(link::Action::Resolve),
        token(link::Action::Snooze),
    ];
    let url = |t: &str| format!("{base}/a/{t}");
    Links {
        ack: url(&tokens[0]),
        resolve: url(&tokens[1]),
        snooze: url(&tokens[2]),
        tokens,
    }
}

/// Deliver every pending notification that is ready at `now`: console lines
/// to `console` one per notification; every other contact gets one message
/// per run listing its notifications, sent `concurrency` at a time.
pub fn deliver(
    store: &mut Store,
    config: &Config,
    now: Ts,
    console: &mut dyn Write,
) -> Result<Outcome> {
    deliver_only(store, config, now, console, None)
}

/// [`deliver`], limited to one issue's rows when `only` is given: `create`
/// and `reopen` send what they decided and leave the rest to `check` (whose
/// failures are not theirs to report).
pub fn deliver_only(
    store: &mut Store,
    config: &Config,
    now: Ts,
    console: &mut dyn Write,
    only: Option<i64>,
) -> Result<Outcome> {
    let run = Run::new(config, now, only);
    let first = store.write(|tx| run.claim_console(tx, config))?;
    run.deliver(store, config, console, first)
}

/// One delivery pass, in two steps so that a command can take the first
/// inside its own write transaction: [`Run::claim_console`] leases the
/// console rows there (the decision and the lease commit together, one
/// fsync instead of two), [`Run::deliver`] sends after commit.
pub struct Run {
    owner: String,
    now: Ts,
    only: Option<i64>,
    /// Claim console rows only (the network's are another pass's).
    console_only: bool,
    max_attempts: u32,
    /// Leases guard real processes against each other: they count the real
    /// time this pass has taken on top of `now` (which may be simulated).
    started: std::time::Instant,
}

impl Run {
    /// A pass at `now`, over every ready row or (`only`) one issue's.
    pub fn new(config: &Config, now: Ts, only: Option<i64>) -> Run {
        Run {
            owner: lease_owner(),
            now,
            only,
            console_only: false,
            max_attempts: config.delivery.max_attempts,
            started: std::time::Instant::now(),
        }
    }

    /// This pass sends console lines only: another pass (with a
    /// connection of its own) takes the rows that go over the network.
    pub fn console_only(mut self) -> Run {
        self.console_only = true;
        self
    }

    fn lease_until(&self) -> Ts {
        let elapsed = TimeDelta::from_std(self.started.elapsed()).unwrap_or(TimeDelta::zero());
        self.now + elapsed + LEASE
    }

    /// In the caller's write transaction: enqueue what subscribers are owed,
    /// then lease every console row ready now, all at once (a console line
    /// cannot be slow, so no batch limit is needed to keep leases short).
    pub fn claim_console(&self, tx: &Tx, config: &Config) -> Result<Vec<Delivery>> {
        if !config.subscriptions.is_empty() {
            subscriptions::enqueue_new(tx, config, self.now)?;
        }
        let claim = outbox::Claim {
            now: self.now,
            lease_until: self.lease_until(),
            owner: &self.owner,
            limit: usize::MAX,
            only: self.only,
            console_only: true,
        };
        outbox::claim(tx, &claim)
    }

    /// Deliver `first` (claimed by [`Run::claim_console`], committed), then
    /// every other pending row ready at `now`: console lines to `console`,
    /// flushed once per batch; every other contact gets one message per run
    /// listing its notifications, sent `concurrency` at a time.
    pub fn deliver(
        self,
        store: &mut Store,
        config: &Config,
        console: &mut dyn Write,
        first: Vec<Delivery>,
    ) -> Result<Outcome> {
        let pass = Pass {
            owner: &self.owner,
            now: self.now,
            max_attempts: self.max_attempts,
        };
        let mut outcome = Outcome::default();
        let mut senders: Option<Senders> = None;
        let mut batch = first;
        loop {
            if batch.is_empty() {
                let claim = outbox::Claim {
                    now: self.now,
                    lease_until: self.lease_until(),
                    owner: &self.owner,
                    limit: BATCH,
                    only: self.only,
                    console_only: self.console_only,
                };
                batch = store.write(|tx| outbox::claim(tx, &claim))?;
                if batch.is_empty() {
                    break;
                }
            }
            annotate(config, self.now, &mut batch);
            self.batch(
                store,
                config,
                console,
                &batch,
                &pass,
                &mut senders,
                &mut outcome,
            )?;
            batch.clear();
        }
        Ok(outcome)
    }

    /// Send one claimed batch and record each outcome.
    #[allow(clippy::too_many_arguments)]
    fn batch(
        &self,
        store: &mut Store,
        config: &Config,
        console: &mut dyn Write,
        batch: &[Delivery],
        pass: &Pass,
        senders: &mut Option<Senders>,
        outcome: &mut Outcome,
    ) -> Result<()> {
        let plan = Plan::of(batch, self.now, console);
        // A batch that can take longer than the lease (many slow
        // destinations, task work) keeps its rows for as long as it may need.
        let rounds = plan
            .groups
            .len()
            .div_ceil(config.delivery.concurrency.max(1))
            + 4 * plan.tasks.len()
            + 1;
        let needed = TimeDelta::from_std(config.delivery.timeout * rounds as u32)
            .unwrap_or(TimeDelta::hours(24));
        if needed > LEASE {
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            let until = self.lease_until() + needed;
            store.write(|tx| outbox::extend_lease(tx, &ids, pass.owner, until))?;
        }
        let mut rec = Recorder {
            store,
            pass,
            batch,
            outcome,
        };
        // Each outcome is recorded as soon as it is known, in its own short
        // transaction: a process killed mid-batch repeats only the sends
        // that were in flight, never the ones already done.
        // Console lines were written a moment ago, together: one
        // transaction (a commit per line would cost an fsync per line).
        rec.each(&plan.results)?;
        if !plan.groups.is_empty() {
            let senders = senders.get_or_insert_with(|| Senders::new(config));
            send::groups(
                config,
                senders,
                batch,
                &plan.groups,
                self.now,
                &mut |rows, r| rec.rows(rows, r, None),
            )?;
        }
        if !plan.tasks.is_empty() {
            let senders = senders.get_or_insert_with(|| Senders::new(config));
            tasks::work(config, senders, batch, plan.tasks, &mut |i, r, made| {
                let task = made.map(|t| tasks::task_of(&batch[i], t));
                rec.rows(&[i], r, task.as_ref())
            })?;
        }
        Ok(())
    }
}

/// A lease owner name unique to this pass among all processes: the pid
/// tells live processes apart, a per-process random key and a counter tell
/// passes apart (a pid can be reused after a crash). No clock read.
fn lease_owner() -> String {
    use std::hash::{BuildHasher, Hasher};
    static PASSES: AtomicUsize = AtomicUsize::new(0);
    let key = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let n = PASSES.fetch_add(1, Ordering::Relaxed);
    format!("pid-{}-{key:016x}-{n}", std::process::id())
}

/// Records outcomes of one claimed batch as they come in.
struct Recorder<'a, 'p> {
    store: &'a mut Store,
    pass: &'a Pass<'p>,
    batch: &'a [Delivery],
    outcome: &'a mut Outcome,
}

impl Recorder<'_, '_> {
    /// Record one send (the rows it covered, indexes into the batch) in one
    /// write transaction, and count it.
    fn rows(
        &mut self,
        rows: &[usize],
        result: &Result<(), SendError>,
        task: Option<&Task>,
    ) -> Result<()> {
        let (batch, pass) = (self.batch, self.pass);
        let recorded = self.store.write(|tx| {
            rows.iter()
                .map(|&i| outcome::record(tx, &batch[i], result, task, pass))
                .collect::<Result<Vec<_>>>()
        })?;
        self.count(recorded);
        Ok(())
    }

    /// Record console lines, each with its own result, in one transaction,
    /// committed without waiting for the disk ([`Store::write_unsynced`]):
    /// the line is out already, and the record protects only against
    /// printing it twice. A power cut that loses the record leaves the row
    /// leased, so its line is printed again once the lease runs out, as
    /// after a kill between the print and the record; a kill alone loses
    /// nothing. The next synced commit (any decision, a network send's
    /// record) or checkpoint makes it durable. Network sends keep synced
    /// records: a repeat there reaches a person's phone or a tracker.
    fn each(&mut self, results: &[Sent]) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        let (batch, pass) = (self.batch, self.pass);
        let recorded = self.store.write_unsynced(|tx| {
            results
                .iter()
                .map(|(i, r)| outcome::record(tx, &batch[*i], r, None, pass))
                .collect::<Result<Vec<_>>>()
        })?;
        self.count(recorded);
        Ok(())
    }

    fn count(&mut self, recorded: Vec<Recorded>) {
        for r in recorded {
            self.outcome.add(r);
        }
    }
}

/// What one send did: `Ok` or why not.
pub(crate) type SendResult = Result<(), SendError>;

/// Index of a row in its batch, and the result of sending it.
pub(crate) type Sent = (usize, Result<(), SendError>);

/// How one claimed batch is delivered: console rows right away, network
/// rows grouped by destination (a storm of escalations to one channel is
/// one message, not hundreds), task work one row at a time.
struct Plan {
    results: Vec<Sent>,
    groups: Vec<Vec<usize>>,
    tasks: Vec<usize>,
}

impl Plan {
    fn of(batch: &[Delivery], now: Ts, console: &mut dyn Write) -> Plan {
        let mut results = Vec::with_capacity(batch.len());
        let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        let mut tasks = Vec::new();
        for (i, d) in batch.iter().enumerate() {
            if d.channel == "console" {
                results.push((i, console::send(d, now, console)));
            } else if matches!(d.notice, Notice::TaskCreate | Notice::TaskClose) {
                tasks.push(i);
            } else {
                groups.entry((&d.channel, &d.target)).or_default().push(i);
            }
        }
        // One flush for the batch's lines (not one write per line); a line
        // is sent once it is out of our buffer, so a failed flush fails
        // every line of the batch that had not failed already.
        if !results.is_empty() {
            if let Err(e) = console::flush(console) {
                for (_, r) in results.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *r = Err(e.clone());
                }
            }
        }
        Plan {
            results,
            groups: groups.into_values().collect(),
            tasks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::outcome::backoff;

    #[test]
    fn failures_are_summarised_per_channel_and_error() {
        let f = |id: i64, ch: &str| Failed {
            issue_id: id,
            channel: ch.to_string(),
            error: "down".to_string(),
        };
        let mut failures: Vec<_> = (1..=12).map(|i| f(i, "webhook a")).collect();
        failures.push(f(99, "slack b"));
        let lines = super::summarize(&failures);
        assert_eq!(lines.len(), 2);
        let g = &lines[1];
        assert_eq!(
            (g.ids.len(), g.count, g.channel.as_str()),
            (5, 12, "webhook a")
        );
        assert_eq!(
            super::issues_phrase(&g.ids, g.count),
            "12 issues (#1, #2, #3, #4, #5 and 7 more)"
        );
        assert_eq!(super::issues_phrase(&[99], 1), "issue #99");
        assert_eq!(super::issues_phrase(&[1, 2], 2), "2 issues (#1, #2)");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let secs: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(
            secs,
            vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
        );
    }
}

#[cfg(test)]
mod delivery_tests {
    //! Seed bugs B9 and B13 at the delivery boundary, on an in-memory store
    //! with the real migrations.

    use super::*;
    use crate::config::{Config, STARTER};
    use crate::lifecycle::outcome::backoff;
    use crate::lifecycle::{self, Filing};
    use crate::store::{events, issues};
    use chrono::TimeZone;

    /// `outbox::claim` of any channel.
    fn claim(
        tx: &Tx,
        now: Ts,
        lease_until: Ts,
        owner: &str,
        limit: usize,
        only: Option<i64>,
    ) -> Result<Vec<Delivery>> {
        let c = outbox::Claim {
            now,
            lease_until,
            owner,
            limit,
            only,
            console_only: false,
        };
        outbox::claim(tx, &c)
    }

    fn setup() -> (Store, Config, Ts) {
        let config = Config::parse(STARTER, std::path::Path::new("chains.toml")).expect("starter");
        let store = Store::open_in_memory().expect("store");
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("time");
        (store, config, t)
    }

    fn file(store: &mut Store, config: &Config, now: Ts) -> i64 {
        let chain = config.chain("customer_issue").expect("chain").clone();
        store
            .write(|tx| {
                lifecycle::create(
                    tx,
                    config,
                    &chain,
                    &Filing {
                        title: "t",
                        ..Filing::default()
                    },
                    "test",
                    now,
                )
            })
            .expect("create")
            .id
    }

    fn kinds(store: &mut Store, id: i64) -> Vec<String> {
        store
            .read(|tx| events::for_issue(tx, id))
            .expect("events")
            .into_iter()
            .map(|e| e.kind().as_str().to_string())
            .collect()
    }

    /// A writer that always fails, like a closed stdout.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn b13_notified_is_logged_only_after_a_delivery() {
        let (mut store, config, now) = setup();
        let id = file(&mut store, &config, now);
        // decided and committed, not yet delivered (a crash here loses nothing)
        assert_eq!(kinds(&mut store, id), vec!["created"]);
        // delivery fails: recorded as such, retried later, never "notified"
        let failed = deliver(&mut store, &config, now, &mut Broken).expect("deliver");
        assert_eq!(failed.retrying.len(), 1);
        assert_eq!(kinds(&mut store, id), vec!["created", "delivery_failed"]);
        // not retried before its backoff…
        let mut out = Vec::new();
        assert_eq!(
            deliver(&mut store, &config, now, &mut out)
                .expect("deliver")
                .sent,
            0
        );
        // …and delivered once after it
        let later = now + backoff(1);
        assert_eq!(
            deliver(&mut store, &config, later, &mut out)
                .expect("deliver")
                .sent,
            1
        );
        assert_eq!(
            kinds(&mut store, id),
            vec!["created", "delivery_failed", "notified"]
        );
        assert_eq!(
            deliver(&mut store, &config, later, &mut out)
                .expect("deliver")
                .sent,
            0
        );
        assert_eq!(String::from_utf8_lossy(&out).lines().count(), 1);
    }

    #[test]
    fn temporary_failures_become_dead_after_the_last_attempt() {
        let (mut store, config, mut now) = setup();
        file(&mut store, &config, now);
        let mut dead = 0;
        for _ in 0..crate::config::MAX_ATTEMPTS {
            let o = deliver(&mut store, &config, now, &mut Broken).expect("deliver");
            dead += o.dead.len();
            now += TimeDelta::hours(2);
        }
        assert_eq!(dead, 1);
        let n = store
            .read(|tx| outbox::count(tx, crate::model::OutboxStatus::Dead))
            .expect("count");
        assert_eq!(n, 1);
    }

    #[test]
    fn b9_an_issue_resolved_before_delivery_is_not_paged() {
        let (mut store, config, now) = setup();
        let id = file(&mut store, &config, now);
        store
            .write(|tx| lifecycle::resolve(tx, id, "ann", None, now))
            .expect("resolve");
        let mut out = Vec::new();
        let o = deliver(&mut store, &config, now, &mut out).expect("deliver");
        assert_eq!(o.sent, 0);
        assert!(out.is_empty());
        let cancelled = store
            .read(|tx| outbox::count(tx, crate::model::OutboxStatus::Cancelled))
            .expect("count");
        assert_eq!(cancelled, 1);
    }

    #[test]
    fn b9_a_decision_cannot_be_enqueued_twice() {
        let (mut store, config, now) = setup();
        let id = file(&mut store, &config, now);
        let issue = store
            .read(|tx| issues::get(tx, id))
            .expect("get")
            .expect("exists");
        let chain = config.chain("customer_issue").expect("chain");
        let crate::engine::Started { page, .. } = crate::engine::start(chain, issue.created_at, 0);
        let again = store
            .write(|tx| lifecycle::enqueue_page(tx, &config, id, &page, &Default::default(), now))
            .expect("enqueue");
        assert_eq!(again, 0, "the unique key refuses a second row");
    }

    #[test]
    fn a_page_sent_while_its_issue_was_resolved_is_logged_as_notified() {
        let (mut store, config, now) = setup();
        let id = file(&mut store, &config, now);
        let claimed = store
            .write(|tx| claim(tx, now, now + LEASE, "a", 10, None))
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        // resolved while the page is on the wire
        store
            .write(|tx| lifecycle::resolve(tx, id, "ann", None, now))
            .expect("resolve");
        let pass = Pass {
            owner: "a",
            now,
            max_attempts: 3,
        };
        let recorded = store
            .write(|tx| outcome::record(tx, &claimed[0], &Ok(()), None, &pass))
            .expect("record");
        assert_eq!(recorded, Recorded::Sent);
        let k = kinds(&mut store, id);
        assert_eq!(k.last().map(String::as_str), Some("notified"), "{k:?}");
        assert!(k.contains(&"resolved".to_string()), "{k:?}");
        let sent = store
            .read(|tx| outbox::count(tx, crate::model::OutboxStatus::Sent))
            .expect("count");
        assert_eq!(sent, 1);
        // another pass's stale claim cannot record it, and a failure of
        // the cancelled send leaves it cancelled
        let other = Pass { owner: "b", ..pass };
        let again = store
            .write(|tx| outcome::record(tx, &claimed[0], &Ok(()), None, &other))
            .expect("record");
        assert_eq!(again, Recorded::NotOurs);
    }

    #[test]
    fn a_failed_send_of_a_cancelled_row_leaves_it_cancelled() {
        let (mut store, config, now) = setup();
        let id = file(&mut store, &config, now);
        let claimed = store
            .write(|tx| claim(tx, now, now + LEASE, "a", 10, None))
            .expect("claim");
        store
            .write(|tx| lifecycle::resolve(tx, id, "ann", None, now))
            .expect("resolve");
        let pass = Pass {
            owner: "a",
            now,
            max_attempts: 3,
        };
        let failed = Err(SendError::Temporary("down".into(), None));
        let recorded = store
            .write(|tx| outcome::record(tx, &claimed[0], &failed, None, &pass))
            .expect("record");
        assert_eq!(recorded, Recorded::NotOurs);
        let k = kinds(&mut store, id);
        assert!(
            !k.iter().any(|e| e == "notified" || e == "delivery_failed"),
            "{k:?}"
        );
        let cancelled = store
            .read(|tx| outbox::count(tx, crate::model::OutboxStatus::Cancelled))
            .expect("count");
        assert_eq!(cancelled, 1);
    }

    #[test]
    fn a_leased_row_is_not_claimed_by_a_second_deliverer() {
        let (mut store, config, now) = setup();
        file(&mut store, &config, now);
        let first = store
            .write(|tx| claim(tx, now, now + LEASE, "a", 10, None))
            .expect("claim");
        assert_eq!(first.len(), 1);
        let second = store
            .write(|tx| claim(tx, now, now + LEASE, "b", 10, None))
            .expect("claim");
        assert!(second.is_empty());
        // a deliverer that died releases its rows when the lease runs out
        let later = store
            .write(|tx| claim(tx, now + LEASE, now + LEASE * 2, "b", 10, None))
            .expect("claim");
        assert_eq!(later.len(), 1);
    }
}
