//! `escalate route test`: which `[[routes]]` entry a sample issue would
//! take, and why each earlier one did not match (Alertmanager's
//! `routes test` is the model).

use anyhow::Result;

use super::{Ctx, Io};
use crate::config::{Route, RouteInput};
use crate::error::{usage, Code};
use crate::model::ticket;

pub fn test(
    ctx: &Ctx,
    source: &str,
    priority: Option<&str>,
    tags: &[String],
    title: &str,
    event: Option<&str>,
    io: &mut Io,
) -> Result<Code> {
    let config = ctx.config()?;
    let parsed = match event {
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
            source,
            priority,
            tags,
            title,
        },
    };
    if config.routes.is_empty() {
        writeln!(
            io.out,
            "no [[routes]] in {}: every issue needs an explicit chain",
            ctx.config_path.display()
        )?;
        return Ok(Code::IssueConflict);
    }
    for (i, route) in config.routes.iter().enumerate() {
        let why = mismatch(route, &input);
        match why {
            None => {
                let owner = route
                    .owner
                    .as_deref()
                    .map(|o| format!(", owner {o}"))
                    .unwrap_or_default();
                writeln!(
                    io.out,
                    "{}. {}: MATCH -> chain {}{owner}",
                    i + 1,
                    route.name,
                    route.chain
                )?;
                return Ok(Code::Ok);
            }
            Some(reason) => writeln!(io.out, "{}. {}: no ({reason})", i + 1, route.name)?,
        }
    }
    writeln!(io.out, "no route matches; add a catch-all route last")?;
    Ok(Code::IssueConflict)
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
            .is_some_and(|p| route.priority.iter().any(|q| q == p))
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
