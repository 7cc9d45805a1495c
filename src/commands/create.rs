//! `escalate create`: file an issue, print its id, notify level 1. With
//! `--ref`, a retry while the issue is open finds it instead of filing
//! another.

use anyhow::Result;

use super::{default_actor, Ctx, Io};
use crate::cli::CreateArgs;
use crate::config::{Config, RouteInput};
use crate::delivery;
use crate::error::{usage, Code};
use crate::lifecycle::{self, Filed, Filing};
use crate::model::issue::MAX_TITLE;
use crate::model::{Edge, Issue};
use crate::render::issue::IssueView;

pub fn run(ctx: &Ctx, args: &CreateArgs, io: &mut Io) -> Result<Code> {
    // Everything is checked before the database is opened: a bad request
    // stores nothing (seed bug B4).
    let config = ctx.config()?;
    let title = args.title.trim();
    let (chain, route) = match &args.chain {
        Some(name) => (
            config
                .chain(name)
                .ok_or_else(|| unknown_chain(&config, name, &ctx.config_path))?,
            None,
        ),
        None => {
            let input = RouteInput {
                source: &args.source,
                priority: args.priority.as_deref(),
                tags: &args.tags,
                title,
            };
            let route = config.route(&input).map(|m| m.route).ok_or_else(|| {
                if config.routes.is_empty() {
                    usage("--chain is required (or add [[routes]] to the config)")
                } else {
                    usage(format!(
                        "no --chain, and no route matches (source {}, priority {}, tags [{}]); \
                         pass --chain or add a catch-all route",
                        args.source,
                        args.priority.as_deref().unwrap_or("none"),
                        args.tags.join(", ")
                    ))
                }
            })?;
            let chain = config
                .chain(&route.chain)
                .ok_or_else(|| unknown_chain(&config, &route.chain, &ctx.config_path))?;
            (chain, Some(route))
        }
    };
    let title = args.title.trim();
    if title.is_empty() {
        return Err(usage("--title must not be empty"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(usage(format!(
            "--title is longer than {MAX_TITLE} characters; put the detail in --description"
        )));
    }
    let actor = default_actor(None)?;
    let mut store = ctx.store()?;
    let filing = Filing {
        title,
        description: args.description.as_deref(),
        external_ref: args.external_ref.as_deref(),
        edge: Edge {
            source: (args.source != "cli" || route.is_some()).then(|| args.source.clone()),
            priority: args.priority.clone(),
            tags: args.tags.clone(),
            route: route.map(|r| r.name.clone()),
            ..Edge::default()
        },
        owner: route.and_then(|r| r.owner.as_deref()),
    };
    // The filing and the lease on its console lines commit together (one
    // fsync); the lines are printed after commit.
    let (filed, run, first) = store.write(|tx| {
        let filed = lifecycle::file(tx, &config, chain, &filing, &actor, ctx.now)?;
        let run = delivery::Run::new(&config, ctx.now, Some(filed.issue().id));
        let first = run.claim_console(tx, &config)?;
        Ok((filed, run, first))
    })?;
    let issue = match filed {
        Filed::New(issue) => issue,
        Filed::Existing(issue) => {
            io.warn(format!(
                "issue #{} ({} ref {}) is already open; not filing another",
                issue.id,
                args.source,
                args.external_ref.as_deref().unwrap_or_default()
            ));
            issue
        }
    };
    // The id goes out as soon as the issue is committed, before any
    // delivery: a caller whose wrapper times out during a slow send still
    // learns it (and a retry with --ref finds it instead of filing twice).
    // A closed stdout does not stop the delivery; its error comes after.
    let printed = print(io, args.json, &issue, &config, ctx);
    // stdout carries the id alone, so console pages go to stderr here.
    let outcome = run.deliver(&mut store, &config, io.err, first)?;
    printed?;
    if outcome.failed() {
        for g in delivery::summarize(&outcome.failures()) {
            io.warn(format!(
                "{} filed, but notifying level 1 via {} failed: {}",
                delivery::issues_phrase(&g.ids, g.count),
                g.channel,
                g.error
            ));
        }
        return Ok(Code::Attention);
    }
    Ok(Code::Ok)
}

/// The id (or the issue as JSON) on stdout, flushed.
fn print(io: &mut Io, json: bool, issue: &Issue, config: &Config, ctx: &Ctx) -> Result<()> {
    if json {
        let view = IssueView::new(issue, Some(config), ctx.now);
        writeln!(io.out, "{}", serde_json::to_string_pretty(&view)?)?;
    } else {
        writeln!(io.out, "{}", issue.id)?;
    }
    io.out.flush()?;
    Ok(())
}

pub fn unknown_chain(config: &Config, name: &str, path: &std::path::Path) -> anyhow::Error {
    let known: Vec<&str> = config.chains.keys().map(String::as_str).collect();
    usage(format!(
        "unknown chain `{name}` (chains in {}: {})",
        path.display(),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}
