//! Network sends of one batch: one message per destination, sent
//! `delivery.concurrency` destinations at a time on scoped threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::Config;
use crate::model::{Delivery, Notice, Ts};
use crate::notify::{subscription, SendError, Senders};

use super::{contact_for, Sent};

/// Send each group (indexes into `batch`, one destination per group); every
/// row of a group shares its group's result.
pub(super) fn groups(
    config: &Config,
    senders: &Senders,
    batch: &[Delivery],
    groups: Vec<Vec<usize>>,
    now: Ts,
) -> Vec<Sent> {
    let done = Mutex::new(Vec::with_capacity(batch.len()));
    let next = AtomicUsize::new(0);
    let workers = config.delivery.concurrency.min(groups.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(g) else { break };
                let items: Vec<&Delivery> = group.iter().map(|&i| &batch[i]).collect();
                let result = send_one(config, senders, &items, now);
                if let Ok(mut done) = done.lock() {
                    done.extend(group.iter().map(|&i| (i, result.clone())));
                }
            });
        }
    });
    done.into_inner().unwrap_or_default()
}

/// One message to one destination listing `items` (never empty).
fn send_one(
    config: &Config,
    senders: &Senders,
    items: &[&Delivery],
    now: Ts,
) -> Result<(), SendError> {
    let first = items[0];
    if first.notice == Notice::Event {
        return match (subscription::find(config, &first.target), &senders.http) {
            (Some(sub), Some(client)) => subscription::send(client, sub, items, now),
            (Some(_), None) => Err(SendError::Temporary(
                "the HTTP client could not be built".into(),
                None,
            )),
            (None, _) => Err(SendError::Permanent(format!(
                "subscription {} is no longer in the config",
                first.target
            ))),
        };
    }
    match contact_for(config, first) {
        Some(contact) => senders.send(config, &contact, items, now, false),
        None => Err(SendError::Permanent(format!(
            "{} contact {} is no longer in the config",
            first.channel, first.target
        ))),
    }
}
