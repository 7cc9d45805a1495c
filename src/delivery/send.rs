//! Network sends of one batch: one message per destination, sent
//! `delivery.concurrency` destinations at a time on scoped threads. Each
//! result goes back to the calling thread as soon as its send ends, and is
//! recorded there at once (the store stays on one thread).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Result;

use crate::config::Config;
use crate::model::{Delivery, Notice, Ts};
use crate::notify::{subscription, SendError, Senders};

use super::{contact_for, SendResult};

/// Send each group (indexes into `batch`, one destination per group) and
/// hand every result to `record` with its group's rows, in the order the
/// sends finish. When `record` fails no further send starts; the error is
/// returned once the sends in flight have ended.
pub(super) fn groups(
    config: &Config,
    senders: &Senders,
    batch: &[Delivery],
    groups: &[Vec<usize>],
    now: Ts,
    record: &mut dyn FnMut(&[usize], &SendResult) -> Result<()>,
) -> Result<()> {
    // Each result travels with an acknowledgement the worker waits for
    // before it starts another send: at any moment at most `concurrency`
    // sends are unrecorded (on the wire, or done and being recorded), so a
    // kill repeats at most that many.
    let (done, results) = mpsc::channel::<(usize, SendResult, mpsc::Sender<()>)>();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let workers = config.delivery.concurrency.min(groups.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (done, next, stop) = (done.clone(), &next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    let Some(group) = groups.get(g) else { break };
                    let items: Vec<&Delivery> = group.iter().map(|&i| &batch[i]).collect();
                    let result = send_one(config, senders, &items, now);
                    let (ack, recorded) = mpsc::channel();
                    if done.send((g, result, ack)).is_err() || recorded.recv().is_err() {
                        break;
                    }
                }
            });
        }
        // The workers hold the only senders now: the loop ends with them.
        drop(done);
        let mut outcome = Ok(());
        for (g, result, ack) in results {
            if outcome.is_ok() {
                outcome = record(&groups[g], &result);
                if outcome.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            // A worker whose result could not be recorded stops (the
            // dropped acknowledgement ends its wait with an error).
            if outcome.is_ok() {
                let _ = ack.send(());
            }
        }
        outcome
    })
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
