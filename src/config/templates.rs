//! `[templates]` → [`Templates`]: optional minijinja templates for the line
//! a notification shows, per notice kind (`page`, `at_risk`, `breach`,
//! `digest_line`) and channel (`console`, `email`, `slack`; `markdown` for
//! the digest). Every variable is escaped for its channel by the
//! environment's formatter, which ignores `|safe`: a template can never
//! put outside text (a title, a name) into a message unescaped. Each
//! template is rendered against a sample at load, so a typo in a variable
//! name or a bad filter is a config error with `file:line:col`, not a
//! silent gap at 3 a.m.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;
use toml::Spanned;

use super::error::{ConfigError, Source};
use crate::text::{markdown_inline, one_line, slack_escape};

/// Notice kinds a template may be given for.
pub const KINDS: [&str; 4] = ["page", "at_risk", "breach", "digest_line"];
/// Channels per kind.
const CHANNELS: [&str; 3] = ["console", "email", "slack"];
const DIGEST_CHANNELS: [&str; 1] = ["markdown"];

/// Longest template accepted (a line, not a document).
const MAX_TEMPLATE: usize = 4096;

/// What a notification template sees. Times are RFC 3339 UTC; durations
/// in words (`2h 5m`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Vars {
    pub id: i64,
    pub title: String,
    pub chain: String,
    pub level: u32,
    pub repeat: u32,
    pub role: String,
    /// The person on call (or the role) the notification is for.
    pub owner: String,
    pub on_call: Option<String>,
    /// `page`, `ack_lapsed`, `response_at_risk`, …
    pub notice: String,
    /// SLA notices: `response` or `resolution`.
    pub target: Option<String>,
    pub due_at: String,
    /// How late the page is, or time left for an SLA warning.
    pub late: String,
    pub open_for: String,
    pub ticket_url: Option<String>,
    pub runbook: Option<String>,
    pub ack_url: Option<String>,
    pub resolve_url: Option<String>,
    pub snooze_url: Option<String>,
    /// Who paged by hand (`escalate escalate`, `move`), and why.
    pub paged_by: Option<String>,
    pub paged_reason: Option<String>,
}

/// Compiled templates, one environment per channel (each with its own
/// escaping).
#[derive(Debug, Default)]
pub struct Templates {
    envs: BTreeMap<&'static str, Environment<'static>>,
}

impl Clone for Templates {
    fn clone(&self) -> Self {
        Templates {
            envs: self.envs.clone(),
        }
    }
}

impl PartialEq for Templates {
    fn eq(&self, other: &Templates) -> bool {
        self.names() == other.names()
    }
}

impl Templates {
    /// `kind.channel` of every template given.
    pub fn names(&self) -> Vec<String> {
        self.envs
            .iter()
            .flat_map(|(ch, env)| env.templates().map(move |(k, _)| format!("{k}.{ch}")))
            .collect()
    }

    /// The line for `kind` on `channel`, if a template is given (a render
    /// error, which the sample at load makes unlikely, gives None: the
    /// built-in line is used).
    pub fn render(&self, kind: &str, channel: &str, vars: &Vars) -> Option<String> {
        let env = self.envs.get(channel)?;
        let t = env.get_template(kind).ok()?;
        t.render(Value::from_serialize(vars)).ok()
    }
}

fn escape_for(channel: &str) -> fn(&str) -> String {
    match channel {
        "slack" => |s| slack_escape(&one_line(s)),
        "markdown" => markdown_inline,
        _ => one_line,
    }
}

fn environment(channel: &'static str) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let esc = escape_for(channel);
    // Every `{{ … }}` is escaped, safe-marked or not.
    env.set_formatter(move |out, _state, value| {
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        out.write_str(&esc(&text))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
    });
    env
}

/// `[templates]`: a table per kind of channel → template text.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
    src: &Source,
) -> Result<Templates, ConfigError> {
    let mut out = Templates::default();
    for (kind, table) in raw {
        let span = table.span();
        let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
            return Err(src.at(
                span,
                format!(
                    "[templates.{kind}]: no such notice kind (kinds: {})",
                    KINDS.join(", ")
                ),
            ));
        };
        let channels: &[&'static str] = if *kind == "digest_line" {
            &DIGEST_CHANNELS
        } else {
            &CHANNELS
        };
        for (channel, text) in table.into_inner() {
            let Some(channel) = channels.iter().find(|c| **c == channel) else {
                return Err(src.at(
                    text.span(),
                    format!(
                        "[templates.{kind}] {channel}: no such channel here (channels: {})",
                        channels.join(", ")
                    ),
                ));
            };
            let t_span = text.span();
            let body = text.into_inner();
            if body.len() > MAX_TEMPLATE {
                return Err(src.at(
                    t_span,
                    format!("[templates.{kind}] {channel}: longer than {MAX_TEMPLATE} bytes"),
                ));
            }
            let env = out
                .envs
                .entry(channel)
                .or_insert_with(|| environment(channel));
            env.add_template_owned(kind.to_string(), body)
                .map_err(|e| src.at(t_span.clone(), problem(kind, channel, &e)))?;
            // Rendered against a sample now: a typo is refused at load.
            if let Ok(t) = env.get_template(kind) {
                t.render(Value::from_serialize(sample()))
                    .map_err(|e| src.at(t_span.clone(), problem(kind, channel, &e)))?;
            }
        }
    }
    Ok(out)
}

fn problem(kind: &str, channel: &str, e: &minijinja::Error) -> String {
    let at = e
        .line()
        .map_or(String::new(), |l| format!(" (template line {l})"));
    format!(
        "[templates.{kind}] {channel}{at}: {}",
        e.detail().unwrap_or(&e.to_string())
    )
}

/// The issue templates are tried on at load.
fn sample() -> Vars {
    Vars {
        id: 42,
        title: "Checkout fails for <EU> customers & @here".into(),
        chain: "customer_issue".into(),
        level: 2,
        role: "support_lead".into(),
        owner: "ann".into(),
        on_call: Some("ann".into()),
        notice: "page".into(),
        target: Some("response".into()),
        due_at: "2026-12-07T15:00:00Z".into(),
        late: "on time".into(),
        open_for: "4h".into(),
        ticket_url: Some("https://acme.zendesk.com/agent/tickets/42".into()),
        runbook: Some("https://wiki.example.com/runbook".into()),
        ack_url: Some("https://escalate.example.com/a/TOKEN".into()),
        resolve_url: Some("https://escalate.example.com/a/TOKEN".into()),
        snooze_url: Some("https://escalate.example.com/a/TOKEN".into()),
        paged_by: Some("carol".into()),
        paged_reason: Some("key account *churning*".into()),
        repeat: 0,
    }
}
