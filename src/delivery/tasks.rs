//! Task work in trackers: create (look up first) or close the issue's
//! engineering task, one outbox row at a time.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::config::Config;
use crate::model::delivery::TaskWork;
use crate::model::{Delivery, Notice, Task};
use crate::notify::{tracker, SendError, Senders};

use super::SendResult;

/// Records one task row's result, with the task it made.
pub(super) type RecordTask<'a> =
    dyn FnMut(usize, &SendResult, Option<&tracker::TaskRef>) -> Result<()> + 'a;

/// Do the task rows of a batch (indexes into `batch`), handing each result
/// (and the task it made) to `record` as soon as it is known. Task work is
/// rare and each row is its own conversation with the tracker (look up,
/// create, comment, close): one at a time. Creates go before closes, and a
/// close may use a task made in this very pass (a resolve right after the
/// escalation that asked for it).
pub(super) fn work(
    config: &Config,
    senders: &Senders,
    batch: &[Delivery],
    mut rows: Vec<usize>,
    record: &mut RecordTask<'_>,
) -> Result<()> {
    rows.sort_by_key(|&i| batch[i].notice != Notice::TaskCreate);
    let mut made: BTreeMap<usize, tracker::TaskRef> = BTreeMap::new();
    for i in rows {
        let fresh = made
            .iter()
            .find(|(&j, _)| batch[j].issue_id == batch[i].issue_id)
            .map(|(_, t)| t.clone());
        match task_work(config, senders, &batch[i], fresh) {
            Ok(Some(task)) => {
                record(i, &Ok(()), Some(&task))?;
                made.insert(i, task);
            }
            Ok(None) => record(i, &Ok(()), None)?,
            Err(e) => record(i, &Err(e), None)?,
        }
    }
    Ok(())
}

/// The issue's task as a tracker made it for an outbox row.
pub(super) fn task_of(d: &Delivery, t: &tracker::TaskRef) -> Task {
    Task {
        tracker: d.target.clone(),
        key: t.key.clone(),
        url: t.url.clone(),
        id: t.id.clone(),
    }
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
    let work = TaskWork::from_payload(d.payload.as_deref());
    match d.notice {
        Notice::TaskCreate => {
            let spec = tracker::TaskSpec {
                marker: work.marker,
                title: work.title,
                body: work.body,
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
            tracker::close(client, &tc, &task, &work.comment).map(|()| None)
        }
    }
}
