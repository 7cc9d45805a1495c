//! Delivery of the outbox: claim due rows with a lease, send each through its
//! channel, record the outcome (`notified` only after a send succeeded;
//! `delivery_failed` with the reason otherwise), retry temporary failures with
//! exponential backoff across runs, and mark exhausted or permanent ones dead.

pub mod console;
pub mod email;
pub mod http;
pub mod message;
pub mod slack;
pub mod subscription;
pub mod tracker;
pub mod webhook;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use chrono::TimeDelta;
use serde_json::json;

use crate::config::{Config, Contact};
use crate::engine::Ts;
use crate::lifecycle::SYSTEM;
use crate::model::time::rfc3339;
use crate::store::{events, issues, outbox, Delivery, EventKind, Notice, Store, Task};

/// How long a claimed row is reserved for the process delivering it. A
/// process that dies mid-send releases its rows when the lease runs out.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);
pub use crate::config::MAX_ATTEMPTS;
const BATCH: usize = 500;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying (timeouts, refused connections, 5xx, 429, a closed
    /// stdout), optionally not before the peer's Retry-After.
    Temporary(String, Option<Duration>),
    /// Retrying cannot help (bad address, other 4xx).
    Permanent(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Temporary(m, _) | SendError::Permanent(m) => m,
        }
    }
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub sent: u32,
    /// Failures that will be retried by a later run: (issue, channel, error).
    pub retrying: Vec<(i64, String, String)>,
    /// Failures that will not be retried.
    pub dead: Vec<(i64, String, String)>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        !self.retrying.is_empty() || !self.dead.is_empty()
    }
}

/// Failures grouped by (channel, error) for people: a relay that is down
/// for 10,000 notifications is one line naming a few issues, not 10,000.
/// Each item: (issue ids shown, how many issues, channel, error).
pub fn summarize(failures: &[(i64, String, String)]) -> Vec<(Vec<i64>, usize, String, String)> {
    /// Issue ids named per line before "and N more".
    const IDS: usize = 5;
    let mut groups: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for (id, channel, error) in failures {
        groups
            .entry((channel.clone(), error.clone()))
            .or_default()
            .push(*id);
    }
    groups
        .into_iter()
        .map(|((channel, error), ids)| {
            let n = ids.len();
            (ids.into_iter().take(IDS).collect(), n, channel, error)
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

/// Backoff before attempt `attempts + 1`: 30 s, 1 min, 2 min … capped at 1 h.
pub fn backoff(attempts: u32) -> TimeDelta {
    let exp = attempts.saturating_sub(1).min(7);
    TimeDelta::seconds((30_i64 << exp).min(3600))
}

/// rustls needs a process-wide crypto provider; ring is the one built in.
pub fn install_crypto() {
    // Err means one is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The network senders, built once per delivery pass.
pub struct Senders {
    http: Option<reqwest::blocking::Client>,
    smtp: Option<Result<lettre::SmtpTransport, String>>,
}

impl Senders {
    pub fn new(config: &Config) -> Senders {
        Senders {
            http: http::client(config.delivery.timeout).ok(),
            smtp: config
                .email
                .as_ref()
                .map(|e| email::transport(e, config.delivery.timeout)),
        }
    }

    /// Send one message about `items` to `contact` (not the console).
    pub fn send(
        &self,
        config: &Config,
        contact: &Contact,
        items: &[&Delivery],
        now: Ts,
        test: bool,
    ) -> Result<(), SendError> {
        let no_http = || SendError::Temporary("the HTTP client could not be built".into(), None);
        match contact {
            Contact::Console => Err(SendError::Permanent(
                "console messages are written by the caller".into(),
            )),
            Contact::Slack(url) => slack::send(
                self.http.as_ref().ok_or_else(no_http)?,
                url,
                items,
                now,
                test,
            ),
            Contact::Webhook { url, secret } => webhook::send(
                self.http.as_ref().ok_or_else(no_http)?,
                url,
                secret.as_ref(),
                items,
                now,
                test,
            ),
            Contact::Email(to) => match (&self.smtp, &config.email) {
                (Some(Ok(t)), Some(cfg)) => email::send(t, cfg, to, items, now, test),
                (Some(Err(e)), _) => Err(SendError::Temporary(e.clone(), None)),
                _ => Err(SendError::Permanent(
                    "no [email] section in the config".into(),
                )),
            },
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
        .cloned()
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
    // Leases guard real processes against each other: they count the real
    // time this pass has taken on top of `now` (which may be simulated),
    // and the owner name is unique to this pass.
    let started = std::time::Instant::now();
    let owner = format!(
        "pid-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let elapsed = || TimeDelta::from_std(started.elapsed()).unwrap_or(TimeDelta::zero());
    let mut outcome = Outcome::default();
    let mut senders: Option<Senders> = None;
    if !config.subscriptions.is_empty() {
        store.write(|tx| subscription::enqueue_new(tx, config, now))?;
    }
    loop {
        let batch = store
            .write(|tx| outbox::claim(tx, now, now + elapsed() + LEASE, &owner, BATCH, only))?;
        if batch.is_empty() {
            break;
        }
        let mut results: Vec<(usize, Result<(), SendError>)> = Vec::with_capacity(batch.len());
        // Group network rows by destination: a storm of escalations to one
        // channel is one message, not hundreds.
        let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        let mut tasks: Vec<usize> = Vec::new();
        for (i, d) in batch.iter().enumerate() {
            if d.channel == "console" {
                results.push((i, console::send(d, now, console)));
            } else if matches!(d.notice, Notice::TaskCreate | Notice::TaskClose) {
                tasks.push(i);
            } else {
                groups
                    .entry((d.channel.clone(), d.target.clone()))
                    .or_default()
                    .push(i);
            }
        }
        // A batch that can take longer than the lease (many slow
        // destinations, task work) keeps its rows for as long as it may need.
        let rounds =
            groups.len().div_ceil(config.delivery.concurrency.max(1)) + 4 * tasks.len() + 1;
        let needed = TimeDelta::from_std(config.delivery.timeout * rounds as u32)
            .unwrap_or(TimeDelta::hours(24));
        if needed > LEASE {
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            let until = now + elapsed() + needed + LEASE;
            store.write(|tx| outbox::extend_lease(tx, &ids, &owner, until))?;
        }
        if !groups.is_empty() {
            let senders = senders.get_or_insert_with(|| Senders::new(config));
            let groups: Vec<Vec<usize>> = groups.into_values().collect();
            let done = Mutex::new(Vec::with_capacity(batch.len()));
            let next = AtomicUsize::new(0);
            let workers = config.delivery.concurrency.min(groups.len()).max(1);
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(|| loop {
                        let g = next.fetch_add(1, Ordering::Relaxed);
                        let Some(group) = groups.get(g) else { break };
                        let items: Vec<&Delivery> = group.iter().map(|&i| &batch[i]).collect();
                        let result = if items[0].notice == Notice::Event {
                            match (subscription::find(config, &items[0].target), &senders.http) {
                                (Some(sub), Some(client)) => {
                                    subscription::send(client, sub, &items, now)
                                }
                                (Some(_), None) => Err(SendError::Temporary(
                                    "the HTTP client could not be built".into(),
                                    None,
                                )),
                                (None, _) => Err(SendError::Permanent(format!(
                                    "subscription {} is no longer in the config",
                                    items[0].target
                                ))),
                            }
                        } else {
                            match contact_for(config, items[0]) {
                                Some(contact) => senders.send(config, &contact, &items, now, false),
                                None => Err(SendError::Permanent(format!(
                                    "{} contact {} is no longer in the config",
                                    items[0].channel, items[0].target
                                ))),
                            }
                        };
                        if let Ok(mut done) = done.lock() {
                            done.extend(group.iter().map(|&i| (i, result.clone())));
                        }
                    });
                }
            });
            results.extend(done.into_inner().unwrap_or_default());
        }
        // Task work is rare and each row is its own conversation with the
        // tracker (look up, create, comment, close): one at a time.
        // Creates before closes, and a close may use a task made in this very
        // pass (a resolve right after the escalation that asked for it).
        tasks.sort_by_key(|&i| batch[i].notice != Notice::TaskCreate);
        let mut made: BTreeMap<usize, tracker::TaskRef> = BTreeMap::new();
        for &i in &tasks {
            let senders = senders.get_or_insert_with(|| Senders::new(config));
            let fresh = made
                .iter()
                .find(|(&j, _)| batch[j].issue_id == batch[i].issue_id)
                .map(|(_, t)| t.clone());
            match task_work(config, senders, &batch[i], fresh) {
                Ok(Some(task)) => {
                    made.insert(i, task);
                    results.push((i, Ok(())));
                }
                Ok(None) => results.push((i, Ok(()))),
                Err(e) => results.push((i, Err(e))),
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let pass = Pass {
            owner: &owner,
            now,
            max_attempts: config.delivery.max_attempts,
        };
        store.write(|tx| {
            for (i, r) in &results {
                record(tx, &batch[*i], r, made.get(i), &pass, &mut outcome)?;
            }
            Ok(())
        })?;
    }
    Ok(outcome)
}

/// Create (look up first) or close the engineering task of an outbox row.
fn task_work(
    config: &Config,
    senders: &Senders,
    d: &Delivery,
    made_now: Option<tracker::TaskRef>,
) -> Result<Option<tracker::TaskRef>, SendError> {
    let Some(t) = config.trackers.get(&d.target) else {
        return Err(SendError::Permanent(format!(
            "tracker `{}` is no longer in the config",
            d.target
        )));
    };
    // An unset token is a fixable setup problem: keep retrying.
    let tc = tracker::TrackerConfig::from_config(t).map_err(|e| SendError::Temporary(e, None))?;
    let client = senders
        .http
        .as_ref()
        .ok_or_else(|| SendError::Temporary("the HTTP client could not be built".into(), None))?;
    let payload: serde_json::Value = d
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let text = |k: &str| {
        payload
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    match d.notice {
        Notice::TaskCreate => {
            let spec = tracker::TaskSpec {
                marker: text("marker"),
                title: text("title"),
                body: text("body"),
            };
            tracker::ensure(client, &tc, &spec).map(Some)
        }
        _ => {
            let known = d.task.as_ref().map(|t| tracker::TaskRef {
                key: t.key.clone(),
                url: t.url.clone(),
                id: t.id.clone(),
            });
            let Some(task) = known.or(made_now) else {
                return Err(SendError::Temporary(
                    format!("the {} task is not created yet", d.target),
                    None,
                ));
            };
            tracker::close(client, &tc, &task, &text("comment")).map(|()| None)
        }
    }
}

/// What every row of one delivery pass is recorded with.
struct Pass<'a> {
    /// The lease owner name of this pass.
    owner: &'a str,
    now: Ts,
    max_attempts: u32,
}

fn record(
    tx: &rusqlite::Transaction,
    d: &Delivery,
    result: &Result<(), SendError>,
    task: Option<&tracker::TaskRef>,
    pass: &Pass,
    outcome: &mut Outcome,
) -> Result<()> {
    let (owner, now, max_attempts) = (pass.owner, pass.now, pass.max_attempts);
    let base = json!({
        "notice": d.notice.as_str(),
        "channel": d.channel,
        "target": d.target,
        "role": d.role,
        "epoch": d.epoch,
        "repeat": d.repeat,
        "attempt": d.attempts + 1,
    });
    // Deliveries to subscribers are not issue history (and logging them
    // would feed a subscription to `notified` with its own deliveries).
    let log = d.notice != Notice::Event;
    match result {
        Ok(()) => {
            if !outbox::mark_sent(tx, d.id, owner, now)? {
                // Another deliverer took the row over when our lease ran
                // out; it records the row, not us.
                return Ok(());
            }
            outcome.sent += 1;
            if !log {
                return Ok(());
            }
            if let (Notice::TaskCreate, Some(t)) = (d.notice, task) {
                let task = Task {
                    tracker: d.target.clone(),
                    key: t.key.clone(),
                    url: t.url.clone(),
                    id: t.id.clone(),
                };
                issues::set_task(tx, d.issue_id, &task)?;
                let details = json!({ "tracker": d.target, "key": t.key, "url": t.url });
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::TaskCreated,
                    (d.level > 0).then_some(d.level),
                    SYSTEM,
                    &details,
                )?;
                return Ok(());
            }
            if d.notice == Notice::TaskClose {
                let key = d.task.as_ref().map(|t| t.key.clone());
                let details = json!({ "tracker": d.target, "key": key });
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::TaskClosed,
                    None,
                    SYSTEM,
                    &details,
                )?;
                return Ok(());
            }
            let mut details = base;
            details["late_seconds"] = json!((now - d.due_at).num_seconds());
            events::append(
                tx,
                d.issue_id,
                now,
                EventKind::Notified,
                (d.level > 0).then_some(d.level),
                SYSTEM,
                &details,
            )?;
        }
        Err(e) => {
            let attempts = d.attempts + 1;
            let (reason, retry_at) = match e {
                SendError::Temporary(m, after) if attempts < max_attempts => {
                    let mut wait = backoff(attempts);
                    if let Some(after) = after.and_then(|a| TimeDelta::from_std(a).ok()) {
                        wait = wait.max(after.min(TimeDelta::hours(6)));
                    }
                    (m.clone(), Some(now + wait))
                }
                SendError::Temporary(m, _) => {
                    (format!("{m} (gave up after {attempts} attempts)"), None)
                }
                SendError::Permanent(m) => (m.clone(), None),
            };
            if !outbox::mark_failed(tx, d.id, owner, &reason, retry_at)? {
                return Ok(());
            }
            if log {
                let mut details = base;
                details["error"] = json!(reason);
                details["retry_at"] = json!(retry_at.map(rfc3339));
                details["dead"] = json!(retry_at.is_none());
                events::append(
                    tx,
                    d.issue_id,
                    now,
                    EventKind::DeliveryFailed,
                    (d.level > 0).then_some(d.level),
                    SYSTEM,
                    &details,
                )?;
            }
            let entry = (d.issue_id, format!("{} {}", d.channel, d.target), reason);
            if retry_at.is_some() {
                outcome.retrying.push(entry);
            } else {
                outcome.dead.push(entry);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn failures_are_summarised_per_channel_and_error() {
        let f = |id: i64, ch: &str| (id, ch.to_string(), "down".to_string());
        let mut failures: Vec<_> = (1..=12).map(|i| f(i, "webhook a")).collect();
        failures.push(f(99, "slack b"));
        let lines = super::summarize(&failures);
        assert_eq!(lines.len(), 2);
        let (ids, n, channel, _) = &lines[1];
        assert_eq!((ids.len(), *n, channel.as_str()), (5, 12, "webhook a"));
        assert_eq!(
            super::issues_phrase(ids, *n),
            "12 issues (#1, #2, #3, #4, #5 and 7 more)"
        );
        assert_eq!(super::issues_phrase(&[99], 1), "issue #99");
        assert_eq!(super::issues_phrase(&[1, 2], 2), "2 issues (#1, #2)");
    }

    use super::*;

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
    use crate::lifecycle::{self, Filing};
    use crate::store::{events, issues};
    use chrono::TimeZone;

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
            .map(|e| e.kind)
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
        for _ in 0..MAX_ATTEMPTS {
            let o = deliver(&mut store, &config, now, &mut Broken).expect("deliver");
            dead += o.dead.len();
            now += TimeDelta::hours(2);
        }
        assert_eq!(dead, 1);
        let n = store
            .read(|tx| outbox::count(tx, crate::store::OutboxStatus::Dead))
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
            .read(|tx| outbox::count(tx, crate::store::OutboxStatus::Cancelled))
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
        let (_, page) = crate::engine::start(chain, issue.created_at, 0);
        let again = store
            .write(|tx| lifecycle::enqueue_page(tx, &config, id, &page, now))
            .expect("enqueue");
        assert_eq!(again, 0, "the unique key refuses a second row");
    }

    #[test]
    fn a_leased_row_is_not_claimed_by_a_second_deliverer() {
        let (mut store, config, now) = setup();
        file(&mut store, &config, now);
        let first = store
            .write(|tx| outbox::claim(tx, now, now + LEASE, "a", 10, None))
            .expect("claim");
        assert_eq!(first.len(), 1);
        let second = store
            .write(|tx| outbox::claim(tx, now, now + LEASE, "b", 10, None))
            .expect("claim");
        assert!(second.is_empty());
        // a deliverer that died releases its rows when the lease runs out
        let later = store
            .write(|tx| outbox::claim(tx, now + LEASE, now + LEASE * 2, "b", 10, None))
            .expect("claim");
        assert_eq!(later.len(), 1);
    }
}
