//! `escalate digest`: the daily digest (see [`crate::render::digest`]),
//! printed, mailed (`--mail-to`) or posted to a role's Slack contacts
//! (`--slack`). It remembers when it went out, so the next one's "since the
//! last digest" is exact; a digest that fails to send is not remembered.

use anyhow::Result;

use super::{Ctx, Io};
use crate::cli::{DigestArgs, DigestFormat};
use crate::config::{Config, Contact, Secret};
use crate::error::{not_sent, usage, Code};
use crate::notify;
use crate::render::{self, digest};
use crate::store::{digest as q, health};

pub fn run(ctx: &Ctx, args: &DigestArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    // Check where it goes before doing any work.
    if args.mail_to.is_some() && config.email.is_none() {
        return Err(usage(
            "--mail-to needs an [email] section (from, smtp) in the config",
        ));
    }
    let hooks = match &args.slack {
        Some(role) => slack_hooks(&config, role)?,
        None => Vec::new(),
    };

    let mut store = ctx.store()?;
    let now = ctx.now;
    let chains = digest::chain_ends(&config);
    let data =
        store.read(|tx| q::collect(tx, now, &chains, digest::limits(config.digest.long_pause)))?;
    let since = data.since;
    let d = digest::build(data, &config, now);
    let text = match args.format {
        DigestFormat::Markdown => digest::markdown(&d),
        DigestFormat::Json => render::json(&d)?,
    };

    let sent_to = if let (Some(to), Some(email)) = (&args.mail_to, &config.email) {
        let subject = digest::subject(&d);
        notify::email::send_text(email, config.delivery.timeout, to, &subject, &text)
            .map_err(|e| not_sent("digest", e))?;
        writeln!(io.err, "digest mailed to {to}")?;
        format!("mail:{to}")
    } else if let Some(role) = &args.slack {
        // In a code block markdown escapes would show; Slack's own escaping
        // (in `digest::slack`) is what keeps it inert there.
        let body = match args.format {
            DigestFormat::Markdown => digest::code_block_text(&d),
            DigestFormat::Json => text.clone(),
        };
        post(&config, &hooks, &digest::slack(&body))?;
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

/// The Slack webhooks of `role`: a usage error when the role is unknown or
/// has none.
fn slack_hooks<'c>(config: &'c Config, role: &str) -> Result<Vec<&'c Secret>> {
    let r = config.roles.get(role).ok_or_else(|| {
        usage(format!(
            "unknown role `{role}` (roles: {})",
            config.roles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let hooks: Vec<&Secret> = r
        .contacts
        .iter()
        .filter_map(|c| match c {
            Contact::Slack(url) => Some(url),
            _ => None,
        })
        .collect();
    if hooks.is_empty() {
        return Err(usage(format!("role `{role}` has no slack contact")));
    }
    Ok(hooks)
}

/// Post to every hook, stopping at the first failure (the digest is then
/// not recorded, so the next one covers the same period).
fn post(config: &Config, hooks: &[&Secret], payload: &notify::slack::Payload) -> Result<()> {
    notify::install_crypto();
    let client = notify::http::client(config.delivery.timeout, config.delivery.allow_link_local)
        .map_err(|e| not_sent("digest", e))?;
    for url in hooks {
        notify::slack::post(&client, url, payload).map_err(|e| not_sent("digest", e.message()))?;
    }
    Ok(())
}
