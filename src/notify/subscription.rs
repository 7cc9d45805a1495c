//! `[[subscriptions]]` on the wire: a group of events POSTed to a URL,
//! signed like webhooks. What to send is decided by
//! `delivery::subscriptions` from the event log.

use anyhow::Result;
use reqwest::blocking::Client;
use serde_json::{json, Value};

use super::{http, webhook, SendError};
use crate::config::{Config, Subscription};
use crate::model::time::rfc3339;
use crate::model::{Delivery, Ts};

/// The outbox channel of subscription rows.
pub const CHANNEL: &str = "subscription";

/// A subscription's stable, secret-free name: its redacted URL label.
pub fn key(sub: &Subscription) -> String {
    sub.url.label()
}

pub fn find<'a>(config: &'a Config, key_: &str) -> Option<&'a Subscription> {
    config.subscriptions.iter().find(|s| key(s) == key_)
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
        // The same two signatures as webhooks: timestamped (replay-safe)
        // and the deprecated body-only one.
        headers.push((
            "x-escalate-signature-v1",
            webhook::sign_timestamped(k.as_bytes(), now.timestamp(), body.as_bytes()),
        ));
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
