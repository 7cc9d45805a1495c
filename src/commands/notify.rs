//! `escalate notify test ROLE`: a clearly marked test message to every
//! contact of a role, each result reported — find a broken webhook before a
//! page is due, not at page time.

use anyhow::Result;
use serde::Serialize;

use super::{Ctx, Io};
use crate::config::Contact;
use crate::error::{usage, Code};
use crate::model::{Delivery, Notice};
use crate::notify::{console, SendError, Senders};

/// `notify test --json`: one entry per contact of the role.
#[derive(Serialize)]
struct Report<'a> {
    role: &'a str,
    failed: usize,
    results: Vec<ContactResult>,
}

#[derive(Serialize)]
struct ContactResult {
    channel: String,
    target: String,
    ok: bool,
    error: Option<String>,
}

pub fn test(ctx: &Ctx, role: &str, json: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let Some(r) = config.roles.get(role) else {
        let known: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        return Err(usage(format!(
            "unknown role `{role}` (roles: {})",
            known.join(", ")
        )));
    };
    let sample = Delivery {
        id: 0,
        issue_id: 0,
        notice: Notice::Page,
        epoch: 0,
        level: 1,
        repeat: 0,
        role: role.to_string(),
        channel: String::new(),
        target: String::new(),
        due_at: ctx.now,
        attempts: 0,
        title: "TEST notification from escalate: nothing is wrong".to_string(),
        chain: "test".to_string(),
        created_at: ctx.now,
        payload: None,
        task: None,
        person: None,
        mention: None,
        issue_epoch: 0,
        links: None,
        source: None,
        external_id: None,
        ticket_url: None,
        runbook: None,
        rendered: None,
    };
    let senders = Senders::new(&config);
    let mut failed = 0;
    let mut results = Vec::new();
    for contact in &r.contacts {
        let mut d = sample.clone();
        d.channel = contact.channel().to_string();
        d.target = contact.target();
        // With --json stdout carries only the JSON: the console "message"
        // goes to stderr instead.
        let console_out: &mut dyn std::io::Write = if json { io.err } else { io.out };
        let result = match contact {
            Contact::Console => {
                console::send(&d, ctx.now, console_out).and_then(|()| console::flush(console_out))
            }
            other => senders.send(&config, other, &[&d], ctx.now, true),
        };
        let error = match result {
            Ok(()) => None,
            Err(SendError::Temporary(e, _) | SendError::Permanent(e)) => {
                failed += 1;
                Some(e.to_string())
            }
        };
        if !json {
            match &error {
                None => writeln!(io.out, "ok      {} {}", d.channel, d.target)?,
                Some(e) => writeln!(io.out, "FAILED  {} {}: {e}", d.channel, d.target)?,
            }
        }
        results.push(ContactResult {
            ok: error.is_none(),
            channel: d.channel,
            target: d.target,
            error,
        });
    }
    if json {
        let report = Report {
            role,
            failed,
            results,
        };
        writeln!(io.out, "{}", serde_json::to_string_pretty(&report)?)?;
    }
    if failed > 0 {
        io.warn(format!(
            "{failed} of {} contacts of role `{role}` could not be reached",
            r.contacts.len()
        ));
        return Ok(Code::Attention);
    }
    Ok(Code::Ok)
}
