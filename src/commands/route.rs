//! `escalate route test`: which `[[routes]]` entry a sample issue would
//! take, and why each earlier one did not match (Alertmanager's
//! `routes test` is the model).

use anyhow::Result;
use serde::Serialize;

use super::{Ctx, Io};
use crate::config::{Route, RouteInput};
use crate::error::{usage, Code};
use crate::model::ticket;

/// The sample issue of `route test`: flags, or one ticket event.
pub struct Sample<'a> {
    pub source: &'a str,
    pub priority: Option<&'a str>,
    pub tags: &'a [String],
    pub title: &'a str,
    pub event: Option<&'a str>,
}

/// `route test --json`: the verdict and every route examined, in order.
#[derive(Serialize)]
struct Verdict {
    matched: bool,
    route: Option<String>,
    chain: Option<String>,
    owner: Option<String>,
    checked: Vec<Checked>,
}

#[derive(Serialize)]
struct Checked {
    index: usize,
    name: String,
    matched: bool,
    reason: Option<String>,
}

pub fn test(ctx: &Ctx, sample: &Sample, json: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let parsed = match sample.event {
        Some(text) => Some(
            ticket::parse_line(text)
                .map_err(|e| usage(format!("--event: {e}")))?
                .ok_or_else(|| usage("--event is empty"))?,
        ),
        None => None,
    };
    let owned_tags;
    let input = match &parsed {
        Some(ev) => {
            owned_tags = ev.tags.clone().unwrap_or_default();
            RouteInput {
                source: &ev.source,
                priority: ev.priority.as_deref(),
                tags: &owned_tags,
                title: ev.title.as_deref().unwrap_or(""),
            }
        }
        None => RouteInput {
            source: sample.source,
            priority: sample.priority,
            tags: sample.tags,
            title: sample.title,
        },
    };
    let verdict = judge(&config.routes, &input);
    if json {
        writeln!(io.out, "{}", serde_json::to_string_pretty(&verdict)?)?;
    } else {
        print_text(ctx, &verdict, io)?;
    }
    Ok(if verdict.matched {
        Code::Ok
    } else {
        Code::IssueConflict
    })
}

/// Every route up to the first match, with why each earlier one missed.
fn judge(routes: &[Route], input: &RouteInput) -> Verdict {
    let mut verdict = Verdict {
        matched: false,
        route: None,
        chain: None,
        owner: None,
        checked: Vec::new(),
    };
    for (i, route) in routes.iter().enumerate() {
        let reason = mismatch(route, input);
        let matched = reason.is_none();
        verdict.checked.push(Checked {
            index: i + 1,
            name: route.name.clone(),
            matched,
            reason,
        });
        if matched {
            verdict.matched = true;
            verdict.route = Some(route.name.clone());
            verdict.chain = Some(route.chain.clone());
            verdict.owner = route.owner.clone();
            break;
        }
    }
    verdict
}

fn print_text(ctx: &Ctx, verdict: &Verdict, io: &mut Io) -> Result<()> {
    if verdict.checked.is_empty() {
        writeln!(
            io.out,
            "no [[routes]] in {}: every issue needs an explicit chain",
            ctx.config_path.display()
        )?;
        return Ok(());
    }
    for c in &verdict.checked {
        match &c.reason {
            None => {
                let owner = verdict
                    .owner
                    .as_deref()
                    .map(|o| format!(", owner {o}"))
                    .unwrap_or_default();
                writeln!(
                    io.out,
                    "{}. {}: MATCH -> chain {}{owner}",
                    c.index,
                    c.name,
                    verdict.chain.as_deref().unwrap_or("")
                )?;
            }
            Some(reason) => writeln!(io.out, "{}. {}: no ({reason})", c.index, c.name)?,
        }
    }
    if !verdict.matched {
        writeln!(io.out, "no route matches; add a catch-all route last")?;
    }
    Ok(())
}

/// Why a route does not match, or None when it does.
fn mismatch(route: &Route, input: &RouteInput) -> Option<String> {
    if !route.source.is_empty() && !route.source.iter().any(|s| s == input.source) {
        return Some(format!(
            "source {} is not {}",
            input.source,
            route.source.join(" or ")
        ));
    }
    if !route.priority.is_empty()
        && !input
            .priority
            .is_some_and(|p| route.priority.iter().any(|q| q.eq_ignore_ascii_case(p)))
    {
        return Some(format!(
            "priority {} is not {}",
            input.priority.unwrap_or("(none)"),
            route.priority.join(" or ")
        ));
    }
    let missing: Vec<&str> = route
        .tags
        .iter()
        .filter(|t| !input.tags.contains(t))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Some(format!("missing tag(s) {}", missing.join(", ")));
    }
    if let Some(re) = &route.title {
        if !re.is_match(input.title) {
            return Some(format!("title does not match /{}/", re.as_str()));
        }
    }
    debug_assert!(route.matches(input));
    None
}
