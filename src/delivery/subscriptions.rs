//! Which events each `[[subscriptions]]` URL is sent, through the outbox
//! (so they retry, back off and go dead like any delivery). Each
//! subscription keeps a cursor into the event log; before a delivery pass,
//! events written since are enqueued — one outbox row per (subscription,
//! event), unique — and the cursor moves, in one transaction. A new
//! subscription starts where its `from` says: `now` (the default) at the
//! end of the log, `start` at its beginning (the whole history is enqueued,
//! a batch at a time, then everything new).
//!
//! Deliveries to subscribers write no events themselves, so a subscription
//! to `notified` cannot feed itself.

use crate::store::Tx;
use anyhow::Result;

use crate::config::{Config, SubscriptionFrom};
use crate::model::{EventKind, Notice, Ts};
use crate::notify::subscription::{key, CHANNEL};
use crate::store::{events, outbox, subscriptions, NewDelivery};

/// Events enqueued per query.
const BATCH: usize = 1000;

/// Enqueue every event written since each subscription's cursor; returns
/// how many rows were added.
pub fn enqueue_new(tx: &Tx, config: &Config, now: Ts) -> Result<u64> {
    let mut added = 0;
    for sub in &config.subscriptions {
        let name = key(sub);
        let kinds: Vec<EventKind> = EventKind::ALL
            .into_iter()
            .filter(|k| sub.kinds.is_empty() || sub.kinds.iter().any(|s| s == k.as_str()))
            .collect();
        let top = events::max_id(tx)?;
        let mut cursor = match (subscriptions::cursor(tx, &name)?, sub.from) {
            (Some(cursor), _) => cursor,
            (None, SubscriptionFrom::Now) => {
                subscriptions::set_cursor(tx, &name, top)?;
                continue;
            }
            (None, SubscriptionFrom::Start) => subscriptions::BEFORE_FIRST_EVENT,
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
                        person: None,
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
        subscriptions::set_cursor(tx, &name, cursor)?;
    }
    Ok(added)
}
