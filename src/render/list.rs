//! `list` for people: one table row per issue, with its age, next step and
//! SLA state at `now`.

use super::table::table;
use super::time::relative;
use crate::config::Config;
use crate::engine;
use crate::model::sla::{Clocks, State};
use crate::model::time::human;
use crate::model::{Issue, Status, Ts};
use crate::text::one_line;

/// The `list` table ("no issues" when there are none), newline-terminated.
/// Without a config (it may not load) there is no next step and no
/// orphaned mark.
pub fn text(rows: &[Issue], config: Option<&Config>, now: Ts) -> String {
    if rows.is_empty() {
        return "no issues\n".to_string();
    }
    let mut t = table(vec![
        "ID", "STATUS", "CHAIN", "LEVEL", "OWNER", "AGE", "NEXT", "SLA", "TASK", "TITLE",
    ]);
    for i in rows {
        // Cells are user text: one line each, no control characters.
        t.add_row(row(i, config, now).iter().map(|c| one_line(c)));
    }
    format!("{t}\n")
}

fn row(i: &Issue, config: Option<&Config>, now: Ts) -> Vec<String> {
    let chain = config.and_then(|c| c.chain_for(i));
    let orphaned = config.is_some() && chain.is_none();
    let escalation = chain.and_then(|c| engine::next_due(&i.esc, c));
    let pause = i
        .pause
        .as_ref()
        .filter(|_| i.esc.status != Status::Resolved);
    let next = match (i.esc.status, escalation) {
        (Status::Resolved, _) => "-".to_string(),
        _ if orphaned => "orphaned".to_string(),
        _ if pause.is_some() => match pause.and_then(|p| p.until) {
            Some(u) if u > now => format!("paused, resumes {}", relative(u, now)),
            Some(_) => "resumes at next check".to_string(),
            None => "paused".to_string(),
        },
        (_, Some(t)) => relative(t, now),
        (_, None) => "-".to_string(),
    };
    // A resolved issue's age stops at its resolution.
    let age = match i.resolved_at {
        Some(r) => human(r - i.created_at),
        None => human(now - i.created_at),
    };
    let status = match pause {
        Some(p) => format!(
            "{} (paused {})",
            i.esc.status.as_str(),
            human(now - p.since)
        ),
        None => i.esc.status.as_str().to_string(),
    };
    vec![
        i.id.to_string(),
        status,
        i.chain.clone(),
        i.esc.level.to_string(),
        i.owner.clone(),
        age,
        next,
        sla_cell(&i.sla, now),
        i.edge
            .task
            .as_ref()
            .map_or("-".to_string(), |t| format!("{} {}", t.tracker, t.key)),
        i.title.clone(),
    ]
}

/// The SLA column: the worst state, with time left while a clock runs
/// ("at risk, 12m left", "ok, 3h left", "breached", "met"; "-" without
/// targets).
pub fn sla_cell(stored: &Clocks, now: Ts) -> String {
    let clocks = super::issue::live(stored, now);
    // A state reached by now that the stored clock (the last check) lacks.
    let unrecorded = |s: State| {
        [
            (stored.response, clocks.response),
            (stored.resolution, clocks.resolution),
        ]
        .into_iter()
        .any(|(a, b)| b.map(|c| c.state) == Some(s) && a.map(|c| c.state) != Some(s))
    };
    let mark = |s: State| {
        if unrecorded(s) {
            " (not yet recorded)"
        } else {
            ""
        }
    };
    let Some(worst) = clocks.summary() else {
        return "-".to_string();
    };
    // The running clock that ends first is the one to act on.
    let running = [clocks.response, clocks.resolution]
        .into_iter()
        .flatten()
        .filter(|c| !c.state.is_final())
        .min_by_key(|c| c.due_at);
    match (worst, running) {
        (State::Breached, _) => format!("breached{}", mark(State::Breached)),
        (_, Some(c)) => {
            let word = if c.state == State::AtRisk {
                format!("at risk{}", mark(State::AtRisk))
            } else {
                "ok".to_string()
            };
            let left = c.left(now).unwrap_or_default();
            if c.hold.is_some() {
                format!("{word}, {} left (stopped)", human(left))
            } else if left.num_seconds() >= 0 {
                format!("{word}, {} left", human(left))
            } else {
                format!("{word}, {} over", human(-left))
            }
        }
        _ => "met".to_string(),
    }
}
