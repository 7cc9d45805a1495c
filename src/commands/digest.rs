//! `escalate digest`: the daily digest (see src/digest.rs), printed, mailed
//! (`--mail-to`) or posted to a role's Slack contacts (`--slack`). It
//! remembers when it went out, so the next one's "since the last digest" is
//! exact; a digest that fails to send is not remembered.

use anyhow::Result;
use chrono::TimeDelta;

use super::{Ctx, Io};
use crate::cli::{DigestArgs, DigestFormat};
use crate::config::{Config, Contact};
use crate::digest::{
    self, AgingLine, BreachLine, Checker, DeadLine, Digest, Exceptions, ExhaustedLine, Listing,
    RiskLine, SHOWN,
};
use crate::error::{fail, usage, Code};
use crate::model::time::rfc3339;
use crate::notify::{self, message};
use crate::store::{digest as q, events, health};

pub fn run(ctx: &Ctx, args: &DigestArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    // Check where it goes before doing any work.
    let email = match &args.mail_to {
        Some(_) => Some(config.email.as_ref().ok_or_else(|| {
            usage("--mail-to needs an [email] section (from, smtp) in the config")
        })?),
        None => None,
    };
    let slack: Vec<&Contact> = match &args.slack {
        Some(role) => {
            let r = config.roles.get(role).ok_or_else(|| {
                usage(format!(
                    "unknown role `{role}` (roles: {})",
                    config.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            let hooks: Vec<&Contact> = r
                .contacts
                .iter()
                .filter(|c| matches!(c, Contact::Slack(_)))
                .collect();
            if hooks.is_empty() {
                return Err(usage(format!("role `{role}` has no slack contact")));
            }
            hooks
        }
        None => Vec::new(),
    };

    let mut store = ctx.store()?;
    let now = ctx.now;
    let (d, since) = store.read(|tx| build(tx, &config, now))?;
    let text = match args.format {
        DigestFormat::Markdown => digest::markdown(&d),
        DigestFormat::Json => format!("{}\n", serde_json::to_string_pretty(&d)?),
    };
    let subject = format!(
        "[escalate] digest: {} at risk, {} breached since the last digest",
        d.at_risk.total, d.breaches.total
    );

    let sent_to = if let (Some(to), Some(email)) = (&args.mail_to, email) {
        notify::email::send_text(email, config.delivery.timeout, to, &subject, &text)
            .map_err(|e| fail(Code::Runtime, format!("digest not sent: {e}")))?;
        writeln!(io.err, "digest mailed to {to}")?;
        format!("mail:{to}")
    } else if let Some(role) = &args.slack {
        notify::install_crypto();
        let client = notify::http::client(config.delivery.timeout)
            .map_err(|e| fail(Code::Runtime, format!("digest not sent: {e}")))?;
        // Slack shows markdown tables poorly: send the digest as a code
        // block, escaped (titles are user input).
        let body = serde_json::json!({
            "text": format!("```\n{}\n```", message::slack_escape(&text)),
            "unfurl_links": false,
        })
        .to_string();
        for contact in &slack {
            if let Contact::Slack(url) = contact {
                let label = url.label();
                let resolved = url.resolve().map_err(|e| {
                    fail(
                        Code::Runtime,
                        format!("digest not sent: slack {label}: {e}"),
                    )
                })?;
                notify::http::post(
                    &client,
                    &resolved,
                    &format!("slack {label}"),
                    body.as_bytes(),
                    &[],
                )
                .map_err(|e| fail(Code::Runtime, format!("digest not sent: {}", e.message())))?;
            }
        }
        writeln!(io.err, "digest posted to the Slack contacts of {role}")?;
        format!("slack:{role}")
    } else {
        write!(io.out, "{text}")?;
        "stdout".to_string()
    };
    if !args.no_record {
        store.write(|tx| health::record_digest(tx, now, since, &sent_to, d.last_event_id))?;
    }
    Ok(Code::Ok)
}

/// The digest, and the start of its period (recorded when it goes out).
fn build(
    tx: &rusqlite::Transaction,
    config: &Config,
    now: crate::engine::Ts,
) -> Result<(Digest, crate::engine::Ts)> {
    let last = health::last_digest(tx)?;
    let since = last
        .map(|(t, _)| t)
        .filter(|t| *t <= now)
        .unwrap_or(now - TimeDelta::hours(24));
    let upto = events::max_id(tx)?;
    let (open, _, _) = q::sla_counts(tx)?;
    let (risk, risk_total) = q::at_risk(tx, now, SHOWN)?;
    let (breaches, breach_total) = match last {
        Some((_, after)) => q::breaches(tx, after, upto, None, SHOWN)?,
        None => q::breaches(tx, 0, upto, Some(since), SHOWN)?,
    };
    let aging = q::aging(tx, now)?;
    let (dead, dead_total) = q::dead(tx, 5)?;
    let mut exhausted = Vec::new();
    let mut exhausted_total = 0;
    for chain in config.chains.values() {
        let levels = chain.levels.len() as u32;
        let left = SHOWN.saturating_sub(exhausted.len());
        let (rows, n) = q::exhausted(tx, &chain.name, levels, chain.repeat, left)?;
        exhausted.extend(rows);
        exhausted_total += n;
    }
    let mut orphaned: Vec<(String, u64)> = Vec::new();
    let mut unreachable: Vec<(String, u64)> = Vec::new();
    for (chain, kind, owner, n) in q::owners(tx)? {
        if config.chain(&chain).is_none() {
            match orphaned.iter_mut().find(|(c, _)| *c == chain) {
                Some((_, m)) => *m += n,
                None => orphaned.push((chain.clone(), n)),
            }
            continue;
        }
        let lost = owner.is_empty() || (kind == "role" && !config.roles.contains_key(&owner));
        if lost {
            match unreachable.iter_mut().find(|(o, _)| *o == owner) {
                Some((_, m)) => *m += n,
                None => unreachable.push((owner, n)),
            }
        }
    }
    orphaned.sort();
    unreachable.sort();
    let last_run = health::last_run(tx)?;
    let age = last_run
        .as_ref()
        .and_then(|r| r.started_at)
        .map(|t| now - t);
    let (runs, failing) = health::runs_between(tx, since, now + TimeDelta::milliseconds(1))?;
    let expected = config.checker.expected_interval;
    let digest = Digest {
        generated_at: rfc3339(now),
        since: rfc3339(since),
        first: last.is_none(),
        last_event_id: upto,
        open_issues: open,
        at_risk: Listing {
            total: risk_total,
            items: risk
                .into_iter()
                .map(|r| RiskLine {
                    left_seconds: (r.due_at - now).num_seconds(),
                    due_at: rfc3339(r.due_at),
                    id: r.id,
                    chain: r.chain,
                    title: r.title,
                    owner: r.owner,
                    target: r.target,
                })
                .collect(),
        },
        breaches: Listing {
            total: breach_total,
            items: breaches
                .into_iter()
                .map(|b| BreachLine {
                    id: b.id,
                    chain: b.chain,
                    title: b.title,
                    target: b.target,
                    at: rfc3339(b.at),
                    resolved: b.resolved,
                })
                .collect(),
        },
        aging: aging
            .into_iter()
            .map(|(chain, [a, b, c, d])| AgingLine {
                chain,
                under_4h: a,
                from_4h_to_24h: b,
                from_1d_to_3d: c,
                over_3d: d,
            })
            .collect(),
        exceptions: Exceptions {
            dead_deliveries: Listing {
                total: dead_total,
                items: dead
                    .into_iter()
                    .map(|(issue_id, channel, target, error)| DeadLine {
                        issue_id,
                        channel,
                        target,
                        error,
                    })
                    .collect(),
            },
            orphaned,
            unreachable_owners: unreachable,
            exhausted: Listing {
                total: exhausted_total,
                items: exhausted
                    .into_iter()
                    .map(|(id, chain, title)| ExhaustedLine { id, chain, title })
                    .collect(),
            },
        },
        checker: Checker {
            last_run_at: last_run.and_then(|r| r.started_at).map(rfc3339),
            last_run_age_seconds: age.map(|a| a.num_seconds()),
            expected_interval_seconds: expected.num_seconds(),
            stale: age.is_none_or(|a| a > expected),
            runs_since: runs,
            runs_with_failures_since: failing,
        },
    };
    Ok((digest, since))
}
