//! Values that may be secrets: written in the file or named as environment
//! variables and read only when used (so a config can be checked in without
//! credentials), labelled without revealing them, and checked against the
//! environment by `config check`.

use std::ops::Range;

use toml::Spanned;

use super::address::check_destination;
use super::check::check_http_url;
use super::email::{check_plaintext_login, check_smtp_url};
use super::raw::RawSecret;
use super::{Config, Contact};

/// A value that may be a secret: written in the file, or named as an
/// environment variable (`{ env = "VAR" }`) read only when it is used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Secret {
    Literal(String),
    Env(String),
}

impl Secret {
    /// The value; for an env var, an error naming the variable when unset.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            Secret::Literal(s) => Ok(s.clone()),
            Secret::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(v),
                _ => Err(format!("environment variable {var} is not set")),
            },
        }
    }

    /// A stable, secret-free name for a URL-valued secret: `$VAR` for an env
    /// var; scheme, host and a short hash for a literal URL (the path of a
    /// Slack or webhook URL is the credential).
    pub fn label(&self) -> String {
        match self {
            Secret::Env(var) => format!("${var}"),
            Secret::Literal(url) => redact_url(url),
        }
    }
}

/// `https://hooks.slack.com/…#1a2b3c4d`: enough to tell URLs apart, nothing
/// that would let a reader post to them.
pub fn redact_url(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(url.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    format!("{scheme}://{host}/…#{short}")
}

/// A secret with the span of what the file said, for errors about it.
pub(super) struct SpannedSecret {
    pub(super) value: Secret,
    pub(super) span: Range<usize>,
}

pub(super) fn secret(raw: Spanned<RawSecret>) -> SpannedSecret {
    let span = raw.span();
    let value = match raw.into_inner() {
        RawSecret::Literal(s) => Secret::Literal(s),
        RawSecret::Env(e) => Secret::Env(e.env),
    };
    SpannedSecret { value, span }
}

/// Literal URLs are checked at load time (well-formed, and not a
/// link-local or obfuscated address unless allowed); env ones by
/// `config check`.
pub(super) fn check_literal_url(s: &SpannedSecret, allow_link_local: bool) -> Result<(), String> {
    match &s.value {
        Secret::Literal(url) => {
            check_http_url(url)?;
            check_destination(url, allow_link_local)
        }
        Secret::Env(var) if var.trim().is_empty() => {
            Err("env = \"\" names no variable".to_string())
        }
        Secret::Env(_) => Ok(()),
    }
}

impl Config {
    /// Problems that only show outside the file: unset environment
    /// variables, unreadable CA files. `config check` reports them before any
    /// page is due.
    pub fn environment_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |what: String, s: &Secret| {
            if let Err(e) = s.resolve() {
                problems.push(format!("{what}: {e}"));
            }
        };
        if let Some(e) = &self.email {
            check("[email] smtp".to_string(), &e.smtp);
            if let Some(u) = &e.username {
                check("[email] username".to_string(), u);
            }
            if let Some(p) = &e.password {
                check("[email] password".to_string(), p);
            }
        }
        for t in self.trackers.values() {
            check(format!("[trackers.{}] token", t.name), &t.token);
        }
        for (i, s) in self.subscriptions.iter().enumerate() {
            check(format!("[[subscriptions]] #{} url", i + 1), &s.url);
            if let Some(secret) = &s.secret {
                check(format!("[[subscriptions]] #{} secret", i + 1), secret);
            }
        }
        for s in self.sources.values() {
            if let Some(secret) = &s.webhook_secret {
                check(format!("[sources.{}] webhook_secret", s.name), secret);
            }
        }
        for role in self.roles.values() {
            for c in &role.contacts {
                match c {
                    Contact::Slack(url) => check(format!("role `{}` slack", role.name), url),
                    Contact::Webhook { url, secret } => {
                        check(format!("role `{}` webhook", role.name), url);
                        if let Some(s) = secret {
                            check(format!("role `{}` webhook_secret", role.name), s);
                        }
                    }
                    _ => {}
                }
            }
        }
        problems.extend(self.destination_problems());
        if let Some(e) = &self.email {
            if let Secret::Env(_) = &e.smtp {
                if let Ok(url) = e.smtp.resolve() {
                    let creds = e.username.is_some() || e.password.is_some();
                    let checked = check_smtp_url(&url)
                        .and_then(|_| check_plaintext_login(&url, e.tls, creds));
                    if let Err(m) = checked {
                        problems.push(format!("[email] smtp (from the environment): {m}"));
                    }
                }
            }
            if let Some(ca) = &e.ca_file {
                if let Err(io) = std::fs::read(ca) {
                    problems.push(format!("[email] ca_file {}: {io}", ca.display()));
                }
            }
        }
        problems
    }
}
