//! `[[subscriptions]]`: chosen event kinds POSTed to a URL, signed like
//! webhooks, through the outbox (so they retry, back off and go dead like
//! any delivery). Each subscription keeps a cursor into the event log;
//! before a delivery pass, events written since are enqueued — one outbox
//! row per (subscription, event), unique — and the cursor moves, in one
//! transaction. A new subscription starts at the end of the log (no replay
//! of history; `escalate events` serves that).
//!
//! Deliveries to subscribers write no events themselves, so a subscription
//! to `notified` cannot feed itself.

use anyhow::Result;
use reqwest::blocking::Client;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Value};

use super::{http, webhook, SendError};
use crate::config::{Config, Subscription};
use crate::engine::Ts;
use crate::model::time::rfc3339;
use crate::store::{events, outbox, Delivery, EventKind, NewDelivery, Notice};

/// The outbox channel of subscription rows.
pub const CHANNEL: &str = "subscription";
/// Events enqueued per query.
const BATCH: usize = 1000;

/// A subscription's stable, secret-free name: its redacted URL label.
pub fn key(sub: &Subscription) -> String {
    sub.url.label()
}

pub fn find<'a>(config: &'a Config, key_: &str) -> Option<&'a Subscription> {
    config.subscriptions.iter().find(|s| key(s) == key_)
}

/// Enqueue every event written since each subscription's cursor; returns
/// how many rows were added.
pub fn enqueue_new(tx: &Transaction, config: &Config, now: Ts) -> Result<u64> {
    let mut added = 0;
    for sub in &config.subscriptions {
        let name = key(sub);
        let kinds: Vec<EventKind> = EventKind::ALL
            .into_iter()
            .filter(|k| sub.kinds.is_empty() || sub.kinds.iter().any(|s| s == k.as_str()))
            .collect();
        let cursor: Option<i64> = tx
            .prepare_cached("SELECT last_event_id FROM subscription_cursors WHERE sub = ?1")
            .and_then(|mut s| s.query_row([&name], |r| r.get(0)).optional())?;
        let top = events::max_id(tx)?;
        let Some(mut cursor) = cursor else {
            tx.prepare_cached(
                "INSERT INTO subscription_cursors (sub, last_event_id) VALUES (?1, ?2)",
            )
            .and_then(|mut s| s.execute(params![name, top]))?;
            continue;
        };
        loop {
            let batch = events::after(tx, cursor, &kinds, BATCH)?;
            for e in &batch {
                let payload = e.to_json().to_string();
                // The unique key is (issue, notice, epoch, level, repeat,
                // role, channel, target): the event id, split over epoch and
                // repeat, makes it one row per (subscription, event).
                let fresh = outbox::enqueue(
                    tx,
                    &NewDelivery {
                        issue_id: e.issue_id,
                        notice: Notice::Event,
                        payload: Some(&payload),
                        epoch: (e.id >> 32) as u32,
                        level: e.level.unwrap_or(0),
                        repeat: (e.id & 0xffff_ffff) as u32,
                        role: CHANNEL,
                        channel: CHANNEL,
                        target: &name,
                        due_at: e.at,
                    },
                    now,
                )?;
                added += u64::from(fresh);
            }
            if batch.len() < BATCH {
                cursor = cursor.max(top);
                break;
            }
            cursor = batch.last().map_or(cursor, |e| e.id);
        }
        tx.prepare_cached("UPDATE subscription_cursors SET last_event_id = ?2 WHERE sub = ?1")
            .and_then(|mut s| s.execute(params![name, cursor]))?;
    }
    Ok(added)
}

/// POST a group of events to one subscriber:
/// `{"schema": "escalate.events.v1", "sent_at", "events": [...]}`, signed
/// with `X-Escalate-Signature` when the subscription has a secret.
pub fn send(
    client: &Client,
    sub: &Subscription,
    items: &[&Delivery],
    now: Ts,
) -> Result<(), SendError> {
    let label = key(sub);
    let url = sub
        .url
        .resolve()
        .map_err(|e| SendError::Temporary(format!("subscription {label}: {e}"), None))?;
    let events: Vec<Value> = items
        .iter()
        .map(|d| {
            d.payload
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null)
        })
        .collect();
    let body = json!({
        "schema": "escalate.events.v1",
        "sent_at": rfc3339(now),
        "events": events,
    })
    .to_string();
    let ids: Vec<String> = items.iter().map(|d| d.id.to_string()).collect();
    let mut headers = vec![("x-escalate-delivery", ids.join(","))];
    if let Some(secret) = &sub.secret {
        let k = secret
            .resolve()
            .map_err(|e| SendError::Temporary(format!("subscription {label}: {e}"), None))?;
        headers.push((
            "x-escalate-signature",
            webhook::sign(k.as_bytes(), body.as_bytes()),
        ));
    }
    http::post(
        client,
        &url,
        &format!("subscription {label}"),
        body.as_bytes(),
        &headers,
    )
}
