//! Issue state transitions inside one transaction: engine decisions and
//! operator actions become issue updates, audit events and outbox rows,
//! written together so a decision and its notifications commit or vanish as
//! one.

use crate::store::Tx;
use anyhow::Result;

use crate::config::{Chain, Config};
use crate::engine::sla::{self};
use crate::engine::{self, Page};
use crate::error::{no_such_issue, usage};
use crate::model::event::{Created, Details, Handover, NewEvent};
use crate::model::issue::text_problem;
use crate::model::{Edge, Issue, Notice, OwnerKind, Ts};
use crate::store::{events, issues, outbox, NewDelivery, NewIssue};

mod act;
mod check;
mod escalate;
pub mod ingest;
pub mod oncall;
pub mod outcome;
mod own;
mod pause;
mod task;

pub use act::{acknowledge, assign, not_before_last_event, reopen, resolve, set_priority};
pub use check::{decide, decide_batch, Decided, Orphans, Paged, Resumed, SlaMoved};
pub use escalate::{apply, apply_stored, Applied};
pub use own::{escalate_now, move_to, note, unacknowledge, Raise, Reroute};
pub use pause::{pause, resume, Hold};
use task::request_task;
pub use task::TRACKER_CHANNEL;

/// The actor recorded for what escalate itself decides.
pub const SYSTEM: &str = "escalate";

/// Fields of a new issue.
#[derive(Default)]
pub struct Filing<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub external_ref: Option<&'a str>,
    /// Source ticket, priority, tags, route.
    pub edge: Edge,
    /// A person who owns it from the start (escalation continues until an
    /// ack, as with `assign`).
    pub owner: Option<&'a str>,
}

/// What [`file`] did.
#[derive(Debug)]
pub enum Filed {
    /// A new issue, level 1 notified.
    New(Issue),
    /// An issue with the same source and reference was open: nothing was
    /// written (a caller retrying a `create` it never heard back from).
    Existing(Issue),
}

impl Filed {
    /// The issue filed or found.
    pub fn issue(&self) -> &Issue {
        match self {
            Filed::New(issue) | Filed::Existing(issue) => issue,
        }
    }
}

/// [`create`], unless the filing names a reference (`--ref`) and an issue
/// with the same source and reference is still open: then that issue. One
/// transaction, so two concurrent filings cannot both miss each other.
pub fn file(
    tx: &Tx,
    config: &Config,
    chain: &Chain,
    filing: &Filing,
    actor: &str,
    now: Ts,
) -> Result<Filed> {
    if let Some(r) = filing.external_ref {
        if let Some(open) = issues::open_by_ref(tx, filing.edge.source.as_deref(), r)? {
            return Ok(Filed::Existing(open));
        }
    }
    create(tx, config, chain, filing, actor, now).map(Filed::New)
}

/// File an issue on `chain`: level 1 owns it and is notified.
pub fn create(
    tx: &Tx,
    config: &Config,
    chain: &Chain,
    filing: &Filing,
    actor: &str,
    now: Ts,
) -> Result<Issue> {
    let id = insert_new(tx, config, chain, filing, actor, now)?;
    let mut issue =
        issues::get(tx, id)?.ok_or_else(|| anyhow::anyhow!("issue {id} vanished after insert"))?;
    if let Some(owner) = filing.owner {
        issue.owner_kind = OwnerKind::Person;
        let handover = Handover {
            owner_from: std::mem::replace(&mut issue.owner, owner.to_string()),
            owner_to: owner.to_string(),
        };
        record(tx, id, now, Some(1), actor, Details::Assigned(handover))?;
        issues::save(tx, &issue)?;
    }
    Ok(issue)
}

/// [`create`] for a caller that needs only the new issue's id (a batch of
/// ingested tickets): without an owner to hand it to, the issue is not
/// read back.
pub fn create_id(
    tx: &Tx,
    config: &Config,
    chain: &Chain,
    filing: &Filing,
    actor: &str,
    now: Ts,
) -> Result<i64> {
    match filing.owner {
        Some(_) => create(tx, config, chain, filing, actor, now).map(|i| i.id),
        None => insert_new(tx, config, chain, filing, actor, now),
    }
}

/// The issue row, its `created` event and level 1's pages; the new id.
fn insert_new(
    tx: &Tx,
    config: &Config,
    chain: &Chain,
    filing: &Filing,
    actor: &str,
    now: Ts,
) -> Result<i64> {
    // The one check every new issue passes, whether from `create` or
    // ingest: text that would mislead a reader is refused, not stored.
    let problem = text_problem("title", filing.title, true).or_else(|| {
        filing
            .description
            .and_then(|d| text_problem("description", d, false))
    });
    if let Some(p) = problem {
        return Err(usage(p));
    }
    // The SLA policy the priority picks (targets and calendar); the chain's
    // name and fingerprint stay the chain's own.
    let fingerprint = chain.fingerprint();
    let chain = chain.for_priority(filing.edge.priority.as_deref());
    let engine::Started { state: esc, page } = engine::start(chain, now, 0);
    let clocks = sla::start(&chain.sla, now);
    let next_due = earliest(engine::next_due(&esc, chain), sla::next_due(&clocks));
    issues::ensure_chain(tx, &chain.name, &fingerprint)?;
    // Level 1's person on call owns it from the start, when it has one.
    let reach = oncall::reach(tx, config, &page.role, now)?;
    let (owner, owner_kind) = match &reach.person {
        Some(p) => (p.as_str(), OwnerKind::Person),
        None => (page.role.as_str(), OwnerKind::Role),
    };
    let id = issues::insert(
        tx,
        &NewIssue {
            chain: &chain.name,
            title: filing.title,
            description: filing.description,
            external_ref: filing.external_ref,
            esc: &esc,
            owner,
            owner_kind,
            created_at: now,
            next_due_at: next_due,
            sla: &clocks,
            edge: &filing.edge,
        },
    )?;
    let created = Created {
        chain: chain.name.clone(),
        title: filing.title.to_string(),
        external_ref: filing.external_ref.map(str::to_string),
        owner: owner.to_string(),
        source: filing.edge.source.clone(),
        external_id: filing.edge.external_id.clone(),
        route: filing.edge.route.clone(),
        on_call: reach.person.clone(),
    };
    record(tx, id, now, Some(1), actor, Details::Created(created))?;
    enqueue_page(tx, config, id, &page, &reach, now)?;
    Ok(id)
}

/// When an issue next needs a check: its next escalation step, the next
/// instant one of its SLA clocks changes, or the end of its pause,
/// whichever comes first.
pub fn schedule(issue: &Issue, chain: Option<&Chain>) -> Option<Ts> {
    let due = earliest(
        chain.and_then(|c| engine::next_due(&issue.esc, c)),
        sla::next_due(&issue.sla),
    );
    earliest(due, pause_end(issue))
}

/// When the issue's pause ends on its own, if it does.
fn pause_end(issue: &Issue) -> Option<Ts> {
    issue.pause.as_ref().and_then(|p| p.until)
}

pub(super) fn earliest(a: Option<Ts>, b: Option<Ts>) -> Option<Ts> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Enqueue one outbox row per contact of the page's role (its own
/// contacts, its members, and the person on call, `reach`); returns how
/// many were new (a page decided twice enqueues nothing the second time).
pub fn enqueue_page(
    tx: &Tx,
    config: &Config,
    issue_id: i64,
    page: &Page,
    reach: &oncall::Reach,
    now: Ts,
) -> Result<u32> {
    enqueue(tx, config, issue_id, Notice::Page, page, reach, now)
}

/// [`enqueue_page`] for a page someone raised by hand: the rows carry who
/// and why, for the message.
pub fn enqueue_raised_page(
    tx: &Tx,
    config: &Config,
    issue_id: i64,
    page: &Page,
    reach: &oncall::Reach,
    raised: &crate::model::RaisedBy,
    now: Ts,
) -> Result<u32> {
    let payload = raised.to_payload();
    let note = Note {
        notice: Notice::Page,
        payload: Some(&payload),
    };
    enqueue(tx, config, issue_id, note, page, reach, now)
}

/// A notice and what its rows carry besides (most carry nothing).
pub(super) struct Note<'a> {
    notice: Notice,
    payload: Option<&'a str>,
}

impl From<Notice> for Note<'_> {
    fn from(notice: Notice) -> Self {
        Note {
            notice,
            payload: None,
        }
    }
}

pub(super) fn enqueue<'a>(
    tx: &Tx,
    config: &Config,
    issue_id: i64,
    note: impl Into<Note<'a>>,
    page: &Page,
    reach: &oncall::Reach,
    now: Ts,
) -> Result<u32> {
    let Note { notice, payload } = note.into();
    let person = reach.person.as_deref();
    let mut contacts = config.contacts(&page.role);
    let members = config.roles.get(&page.role).map(|r| r.members.as_slice());
    for name in members
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .chain(person)
    {
        if let Some(p) = config.people.get(name) {
            contacts.extend(p.contacts.iter().cloned());
        }
    }
    // One message per destination, whoever else it also stands for.
    let mut seen = std::collections::HashSet::new();
    contacts.retain(|c| seen.insert((c.channel(), c.destination())));
    let mut n = 0;
    for contact in contacts {
        let target = contact.target();
        let fresh = outbox::enqueue(
            tx,
            &NewDelivery {
                issue_id,
                notice,
                payload,
                epoch: page.epoch,
                level: page.level,
                repeat: page.repeat,
                role: &page.role,
                channel: contact.channel(),
                target: &target,
                due_at: page.due_at,
                person,
            },
            now,
        )?;
        n += u32::from(fresh);
    }
    Ok(n)
}

pub(super) fn role_at(config: &Config, chain: &str, level: u32) -> String {
    config
        .chain(chain)
        .and_then(|c| c.level(level))
        .map(|l| l.role.clone())
        .unwrap_or_default()
}

/// Append one event to the issue's audit trail.
pub fn record(
    tx: &Tx,
    issue_id: i64,
    at: Ts,
    level: Option<u32>,
    actor: &str,
    details: Details,
) -> Result<()> {
    events::append(
        tx,
        &NewEvent {
            issue_id,
            at,
            level,
            actor,
            details,
        },
    )
}

/// Fetch an issue or fail with "unknown issue" (exit 4).
pub fn existing(tx: &Tx, id: i64) -> Result<Issue> {
    issues::get(tx, id)?.ok_or_else(|| no_such_issue(format!("issue #{id} does not exist")))
}
