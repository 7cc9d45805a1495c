//! Who is on call: a role's rotation layers and its overrides at an
//! instant, and the resolved schedule over a span. Pure, like the rest of
//! the engine: overrides come in as data, `at` is a parameter.
//!
//! A layer's members take turns of `shift`, counted in the layer's local
//! wall-clock time from `start`: turn k begins at local `start + k·shift`,
//! so a weekly hand-off at Monday 09:00 stays at 09:00 across a DST change
//! (that week is an hour shorter or longer in real time). A layer with
//! `hours` has nobody outside them. Layers are PagerDuty's: the last layer
//! with someone on call at an instant wins; an override beats every layer.

use chrono::{LocalResult, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::calendar;
use crate::config::{Role, Rotation};
use crate::model::Ts;

/// An override: `person` is on call for `role` in [from, until).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub id: i64,
    pub role: String,
    pub person: String,
    pub from: Ts,
    pub until: Ts,
}

/// Why someone is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The override with this id.
    Override(i64),
    /// The role's rotation layer at this index (0-based).
    Layer(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub person: String,
    pub via: Via,
}

/// The person on call for `role` at `at`, if anyone: an override covering
/// `at` (the earliest-made, should several), else the last layer with
/// someone on call.
pub fn on_call(role: &Role, at: Ts, overrides: &[Override]) -> Option<OnCall> {
    let over = overrides
        .iter()
        .filter(|o| o.role == role.name && o.from <= at && at < o.until)
        .min_by_key(|o| o.id);
    if let Some(o) = over {
        return Some(OnCall {
            person: o.person.clone(),
            via: Via::Override(o.id),
        });
    }
    role.rotations.iter().enumerate().rev().find_map(|(i, r)| {
        layer_person(r, at).map(|p| OnCall {
            person: p.to_string(),
            via: Via::Layer(i),
        })
    })
}

/// Whose turn it is in one layer at `at` (None: before its start, or
/// outside its hours).
pub fn layer_person(r: &Rotation, at: Ts) -> Option<&str> {
    if r.hours.as_ref().is_some_and(|h| !calendar::is_open(h, at)) {
        return None;
    }
    if at < local_to_utc(r.tz, r.start) {
        return None;
    }
    let local = at.with_timezone(&r.tz).naive_local();
    let shift = r.shift.num_milliseconds().max(1);
    let k = (local - r.start).num_milliseconds().div_euclid(shift);
    let n = i64::try_from(r.members.len()).ok().filter(|n| *n > 0)?;
    let i = usize::try_from(k.rem_euclid(n)).ok()?;
    r.members.get(i).map(String::as_str)
}

/// A local wall-clock time as an instant: the first of two in a repeated
/// hour; the end of the gap for a time that does not exist (02:30 on a
/// spring-forward night happens at 03:00).
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Ts {
    let mut t = local;
    // A gap is at most a few hours; step out of it a minute at a time.
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => {
                return x.with_timezone(&chrono::Utc)
            }
            LocalResult::None => t += TimeDelta::minutes(1),
        }
    }
    local.and_utc()
}

/// A stretch of the resolved schedule: who is on call in [from, until).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    pub from: Ts,
    pub until: Ts,
    pub on_call: Option<OnCall>,
}

/// Most instants a schedule examines (a one-minute shift over a month
/// stays within it).
const MAX_BOUNDARIES: usize = 100_000;

/// The schedule of `role` over [from, until): consecutive stretches, each
/// with one person (or nobody: a gap), hand-offs between them.
pub fn schedule(role: &Role, from: Ts, until: Ts, overrides: &[Override]) -> Vec<Stretch> {
    let mut cuts = vec![from, until];
    for r in &role.rotations {
        handoffs(r, from, until, &mut cuts);
        if let Some(h) = &r.hours {
            hour_edges(h, from, until, &mut cuts);
        }
    }
    for o in overrides.iter().filter(|o| o.role == role.name) {
        cuts.extend([o.from, o.until]);
    }
    cuts.retain(|t| *t >= from && *t <= until);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.truncate(MAX_BOUNDARIES);
    let mut out: Vec<Stretch> = Vec::new();
    for w in cuts.windows(2) {
        let who = on_call(role, w[0], overrides);
        match out.last_mut() {
            Some(last) if last.on_call == who => last.until = w[1],
            _ => out.push(Stretch {
                from: w[0],
                until: w[1],
                on_call: who,
            }),
        }
    }
    out
}

/// The layer's hand-off instants within [from, until].
fn handoffs(r: &Rotation, from: Ts, until: Ts, cuts: &mut Vec<Ts>) {
    let shift = r.shift.num_milliseconds().max(1);
    let local = |t: Ts| t.with_timezone(&r.tz).naive_local();
    // One turn of slack either side: local time may run an hour behind.
    let first = (local(from) - r.start).num_milliseconds().div_euclid(shift) - 1;
    let last = (local(until) - r.start)
        .num_milliseconds()
        .div_euclid(shift)
        + 1;
    for k in first.max(0)..=last {
        if cuts.len() >= MAX_BOUNDARIES {
            return;
        }
        let Some(at) = r
            .start
            .checked_add_signed(TimeDelta::milliseconds(k.saturating_mul(shift)))
        else {
            return;
        };
        cuts.push(local_to_utc(r.tz, at));
    }
}

/// Where a layer's hours open and close within [from, until].
fn hour_edges(h: &crate::config::calendars::Calendar, from: Ts, until: Ts, cuts: &mut Vec<Ts>) {
    let first = from.with_timezone(&h.tz).date_naive().pred_opt();
    let last = until.with_timezone(&h.tz).date_naive().succ_opt();
    let (Some(mut day), Some(last)) = (first, last) else {
        return;
    };
    while day <= last && cuts.len() < MAX_BOUNDARIES {
        use chrono::Datelike;
        for range in h.hours(day.weekday()) {
            for minute in [range.start, range.end] {
                let at = day
                    .and_hms_opt(0, 0, 0)
                    .map(|m| m + TimeDelta::minutes(i64::from(minute)));
                if let Some(at) = at {
                    cuts.push(local_to_utc(h.tz, at));
                }
            }
        }
        let Some(next) = day.succ_opt() else { return };
        day = next;
    }
}

#[cfg(test)]
mod tests;
