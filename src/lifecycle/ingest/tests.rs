//! Vendor webhooks applied as ingest applies any event: what each mapped
//! delivery (`model::webhook`, on `tests/fixtures/`) does to its issue, so
//! the mapping is checked against the effects it is meant to have, not
//! only against its own output.

use std::path::Path;

use chrono::{TimeZone, Utc};

use super::{apply, Effect};
use crate::config::{Config, STARTER};
use crate::model::webhook;
use crate::model::{Issue, Status, Ts};
use crate::store::{issues, Store};

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

fn setup() -> (Store, Config, Ts) {
    let text = format!("{STARTER}\n[[routes]]\nname = \"default\"\nchain = \"customer_issue\"\n");
    let config = Config::parse(&text, Path::new("chains.toml")).expect("config");
    let store = Store::open_in_memory().expect("store");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 2, 12, 0, 0)
        .single()
        .expect("time");
    (store, config, now)
}

/// Apply every event of one delivery; the effect of each.
fn deliver(
    store: &mut Store,
    config: &Config,
    now: Ts,
    events: Result<Vec<crate::model::ticket::TicketEvent>, String>,
) -> Vec<Effect> {
    let events = events.expect("a payload we read");
    store
        .write(|tx| {
            let mut effects = Vec::new();
            for ev in &events {
                effects.push(apply(tx, config, ev, now)?.expect("applies"));
            }
            Ok(effects)
        })
        .expect("write")
}

fn issue(store: &mut Store, source: &str, external_id: &str) -> Issue {
    store
        .read(|tx| issues::by_source(tx, source, external_id))
        .expect("read")
        .expect("an issue")
}

#[test]
fn a_zendesk_ticket_lives_through_its_webhooks() {
    let (mut store, config, now) = setup();
    let mut send = |body: &[u8]| deliver(&mut store, &config, now, webhook::zendesk(body));
    let created = send(fixture!("zendesk/events/ticket-created.json"));
    let [Effect::Created(id)] = created[..] else {
        panic!("{created:?}");
    };
    // Zendesk redelivers what it did not see acknowledged.
    assert_eq!(
        send(fixture!("zendesk/events/ticket-created.json")),
        vec![Effect::Duplicate]
    );
    assert_eq!(
        send(fixture!("zendesk/events/ticket-priority-changed.json")),
        vec![Effect::Updated(id)]
    );
    assert_eq!(
        send(fixture!("zendesk/events/ticket-status-pending.json")),
        vec![Effect::Paused(id)]
    );
    assert_eq!(
        send(fixture!("zendesk/events/ticket-status-open.json")),
        vec![Effect::Resumed(id)]
    );
    assert_eq!(
        send(fixture!("zendesk/events/ticket-status-solved.json")),
        vec![Effect::Resolved(id)]
    );
    // Reopened straight into a waiting status: reopened, then paused.
    assert_eq!(
        send(fixture!("zendesk/events/ticket-status-reopened.json")),
        vec![Effect::Reopened(id), Effect::Paused(id)]
    );
    assert_eq!(
        send(fixture!("zendesk/events/ticket-comment-added.json")),
        vec![]
    );
    let issue = issue(&mut store, "zendesk", "4821");
    assert_eq!(issue.id, id);
    assert_eq!(issue.title, "Refund API down for EU customers");
    assert_eq!(issue.edge.priority.as_deref(), Some("high"));
    assert_ne!(issue.esc.status, Status::Resolved);
    assert!(issue.pause.is_some(), "on hold");
}

#[test]
fn a_zendesk_ticket_without_subject_gets_a_title() {
    let (mut store, config, now) = setup();
    let body = fixture!("zendesk/events/ticket-created-no-subject.json");
    deliver(&mut store, &config, now, webhook::zendesk(body));
    let issue = issue(&mut store, "zendesk", "4822");
    assert_eq!(
        issue.title,
        "zendesk #4822: My invoice shows the wrong amount since the…"
    );
}

#[test]
fn an_intercom_chat_lives_through_its_notifications() {
    let (mut store, config, now) = setup();
    let mut send = |body: &[u8]| deliver(&mut store, &config, now, webhook::intercom(body));
    let created = send(fixture!("intercom/conversation-user-created.json"));
    let [Effect::Created(id)] = created[..] else {
        panic!("{created:?}");
    };
    assert_eq!(send(fixture!("intercom/ping.json")), vec![]);
    assert_eq!(
        send(fixture!("intercom/conversation-admin-snoozed.json")),
        vec![Effect::Paused(id)]
    );
    assert_eq!(
        send(fixture!("intercom/conversation-admin-unsnoozed.json")),
        vec![Effect::Resumed(id)]
    );
    assert_eq!(
        send(fixture!("intercom/conversation-admin-closed.json")),
        vec![Effect::Resolved(id)]
    );
    assert_eq!(
        send(fixture!("intercom/conversation-admin-closed.json")),
        vec![Effect::Duplicate]
    );
    let issue = issue(&mut store, "intercom", "123");
    assert_eq!(
        issue.title,
        "intercom #123: Hi, my card was charged twice for the…"
    );
    assert_eq!(issue.esc.status, Status::Resolved);
}

/// Issue 15: events are applied without a savepoint, so an event refused
/// for its own fault must be refused before it writes. A `ticket.updated`
/// that changes the title and would reopen an issue whose chain left the
/// config is refused whole: no title change, no event, still resolved.
#[test]
fn a_refused_reopen_writes_nothing_of_its_event() {
    let (mut store, config, now) = setup();
    let line = |json: &str| {
        crate::model::ticket::parse_line(json)
            .expect("valid")
            .expect("an event")
    };
    let created = line(
        r#"{"type":"ticket.created","source":"zendesk","external_id":"7","title":"Old",
            "chain":"customer_issue","id":"e1"}"#,
    );
    let solved = line(
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"7","status":"solved","id":"e2"}"#,
    );
    deliver(&mut store, &config, now, Ok(vec![created, solved]));
    let before = issue(&mut store, "zendesk", "7");
    assert_eq!(before.esc.status, Status::Resolved);
    let count = |store: &mut Store| {
        store
            .read(|tx| crate::store::events::for_issue(tx, before.id))
            .expect("events")
            .len()
    };
    let logged = count(&mut store);
    let text = STARTER.replace("[chains.customer_issue]", "[chains.renamed]");
    let gone = Config::parse(&text, Path::new("chains.toml")).expect("config");
    let reopen = line(
        r#"{"type":"ticket.updated","source":"zendesk","external_id":"7","title":"New",
            "status":"open","id":"e3"}"#,
    );
    let outcome = store
        .write(|tx| apply(tx, &gone, &reopen, now))
        .expect("no database error");
    let refusal = outcome.expect_err("refused");
    assert!(refusal.contains("not in the config"), "{refusal}");
    let after = issue(&mut store, "zendesk", "7");
    assert_eq!(after.title, "Old");
    assert_eq!(after.esc.status, Status::Resolved);
    assert_eq!(count(&mut store), logged, "no event of the refused update");
}
