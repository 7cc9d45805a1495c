//! `chains.toml` → a validated [`Config`]: pure (a `&str` in, no DB, network or
//! clock), every error names the file, line and column at fault.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use serde::Deserialize;
use toml::Spanned;

/// Upper bound on a single wait: anything longer is a typo (minutes vs hours),
/// not an escalation policy.
pub const MAX_WAIT_HOURS: f64 = 24.0 * 366.0;
/// Bounded so a single check can never loop for long on one issue.
pub const MAX_REPEAT: u32 = 1000;
pub const MAX_LEVELS: usize = 100;
/// Attempts before a temporarily failing notification is declared dead
/// (`[delivery] max_attempts` overrides it).
pub const MAX_ATTEMPTS: u32 = 40;
/// A config file this large is a mistake (wrong file, generated garbage).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The starter file written by `escalate init` and used by `escalate demo`.
pub const STARTER: &str = include_str!("../../chains.toml");

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub chains: BTreeMap<String, Chain>,
    pub roles: BTreeMap<String, Role>,
    pub email: Option<Email>,
    pub delivery: Delivery,
    pub checker: Checker,
    /// `[[routes]]`, in order: the first match places an incoming issue.
    pub routes: Vec<Route>,
    pub trackers: BTreeMap<String, Tracker>,
    pub subscriptions: Vec<Subscription>,
}

/// A routing rule: which chain (and first owner) an incoming issue gets.
/// Every matcher given must match; a route with none matches everything.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    /// Any of these sources.
    pub source: Vec<String>,
    /// Any of these priorities.
    pub priority: Vec<String>,
    /// All of these tags.
    pub tags: Vec<String>,
    /// A regular expression the title must match.
    pub title: Option<regex::Regex>,
    pub chain: String,
    /// A person who owns new issues of this route (escalation continues
    /// until someone acknowledges, as with `assign`).
    pub owner: Option<String>,
}

/// What routing looks at.
#[derive(Debug, Clone, Default)]
pub struct RouteInput<'a> {
    pub source: &'a str,
    pub priority: Option<&'a str>,
    pub tags: &'a [String],
    pub title: &'a str,
}

impl Route {
    pub fn matches(&self, input: &RouteInput) -> bool {
        (self.source.is_empty() || self.source.iter().any(|s| s == input.source))
            && (self.priority.is_empty()
                || input
                    .priority
                    .is_some_and(|p| self.priority.iter().any(|q| q == p)))
            && self.tags.iter().all(|t| input.tags.contains(t))
            && self.title.as_ref().is_none_or(|r| r.is_match(input.title))
    }

    pub fn is_catch_all(&self) -> bool {
        self.source.is_empty()
            && self.priority.is_empty()
            && self.tags.is_empty()
            && self.title.is_none()
    }
}

/// `[trackers.NAME]`: where engineering tasks are created.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    pub name: String,
    pub kind: TrackerKind,
    pub url: String,
    pub token: Secret,
    /// github: "owner/repo"; jira: project key; linear: team id.
    pub project: String,
    /// jira: the issue type (default "Task").
    pub issue_type: Option<String>,
    /// jira cloud: the account email for basic auth with an API token.
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerKind {
    Github,
    Jira,
    Linear,
}

impl TrackerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerKind::Github => "github",
            TrackerKind::Jira => "jira",
            TrackerKind::Linear => "linear",
        }
    }
}

/// `[[subscriptions]]`: chosen event kinds POSTed to a URL, signed.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub url: Secret,
    pub secret: Option<Secret>,
    /// Event kinds (empty: all).
    pub kinds: Vec<String>,
}

/// `[checker]`: what `status` expects of the cron job.
#[derive(Debug, Clone, PartialEq)]
pub struct Checker {
    /// `status` warns when the last check is older than this.
    pub expected_interval: TimeDelta,
}

impl Default for Checker {
    fn default() -> Self {
        Checker {
            expected_interval: TimeDelta::minutes(15),
        }
    }
}

/// A chain's SLA targets, measured from an issue's creation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sla {
    /// Created → first acknowledgement.
    pub response: Option<TimeDelta>,
    /// Created → resolved.
    pub resolution: Option<TimeDelta>,
    pub at_risk: AtRisk,
    /// Roles told about a breach besides the issue's owner.
    pub breach_notify: Vec<String>,
}

/// When a running SLA clock turns "at risk".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtRisk {
    /// At this fraction of the target (0 < f < 1).
    Fraction(f64),
    /// This long before the target.
    Before(TimeDelta),
}

impl Default for AtRisk {
    fn default() -> Self {
        AtRisk::Fraction(0.8)
    }
}

impl AtRisk {
    /// How long after the clock starts it turns at risk, for a target.
    pub fn offset(self, target: TimeDelta) -> TimeDelta {
        match self {
            AtRisk::Fraction(f) => {
                TimeDelta::milliseconds((target.num_milliseconds() as f64 * f).round() as i64)
            }
            AtRisk::Before(d) => (target - d).max(TimeDelta::zero()),
        }
    }
}

/// An escalation chain: ordered levels, a repeat count for the last level and
/// an optional acknowledgement timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    pub description: Option<String>,
    pub levels: Vec<Level>,
    /// How many times the last level is re-notified, one wait apart.
    pub repeat: u32,
    /// After this long an acknowledgement lapses and escalation resumes.
    pub ack_timeout: Option<TimeDelta>,
    pub sla: Sla,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub role: String,
    /// How long the issue stays at this level before the next one is due
    /// (for the last level: the repeat interval).
    pub wait: TimeDelta,
    /// Reaching this level creates an engineering task in this tracker.
    pub create_task: Option<String>,
}

/// A role and the contacts that hear about its pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub description: Option<String>,
    pub contacts: Vec<Contact>,
}

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

/// Where a notification goes. Roles with no contacts print to the console.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    Console,
    Email(String),
    Slack(Secret),
    Webhook { url: Secret, secret: Option<Secret> },
}

impl Contact {
    /// The channel name stored in the outbox.
    pub fn channel(&self) -> &'static str {
        match self {
            Contact::Console => "console",
            Contact::Email(_) => "email",
            Contact::Slack(_) => "slack",
            Contact::Webhook { .. } => "webhook",
        }
    }

    /// A stable, secret-free identifier of the destination (part of the
    /// outbox's unique key; safe to store and print).
    pub fn target(&self) -> String {
        match self {
            Contact::Console => "console".to_string(),
            Contact::Email(address) => address.clone(),
            Contact::Slack(url) => url.label(),
            Contact::Webhook { url, .. } => url.label(),
        }
    }
}

/// SMTP settings (`[email]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub from: String,
    /// `smtp://host[:port]` or `smtps://host[:port]`, maybe with user:pass@.
    pub smtp: Secret,
    pub tls: TlsMode,
    pub username: Option<Secret>,
    pub password: Option<Secret>,
    /// An extra CA certificate (PEM) to trust, for internal relays.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Default for smtp://: upgrade with STARTTLS, refuse if unavailable.
    Starttls,
    /// TLS from the first byte (smtps://, port 465).
    Wrapper,
    /// Plain text, for a relay on localhost.
    None,
}

/// Delivery settings (`[delivery]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Attempts before a temporarily failing notification is dead.
    pub max_attempts: u32,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            timeout: std::time::Duration::from_secs(10),
            concurrency: 16,
            max_attempts: MAX_ATTEMPTS,
        }
    }
}

impl Chain {
    /// Time from the start of the chain until each level is due.
    pub fn offsets(&self) -> Vec<TimeDelta> {
        let mut at = TimeDelta::zero();
        self.levels
            .iter()
            .map(|l| {
                let this = at;
                at += l.wait;
                this
            })
            .collect()
    }

    /// A canonical rendering of everything that affects schedules. When it
    /// changes, `check` recomputes the due times of this chain's open issues.
    pub fn fingerprint(&self) -> String {
        let mut s = String::new();
        for l in &self.levels {
            s.push_str(&format!("{}:{};", l.role, l.wait.num_milliseconds()));
        }
        s.push_str(&format!(
            "r{};a{}",
            self.repeat,
            self.ack_timeout.map_or(-1, |d| d.num_milliseconds())
        ));
        // SLA deadlines are scheduled instants too.
        let ms = |d: Option<TimeDelta>| d.map_or(-1, |d| d.num_milliseconds());
        s.push_str(&format!(
            ";s{},{},{:?}",
            ms(self.sla.response),
            ms(self.sla.resolution),
            self.sla.at_risk
        ));
        s
    }

    pub fn level(&self, n: u32) -> Option<&Level> {
        self.levels.get((n as usize).checked_sub(1)?)
    }
}

impl Config {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.get(name)
    }

    /// The first route matching `input`, with its 1-based position.
    pub fn route(&self, input: &RouteInput) -> Option<(usize, &Route)> {
        self.routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(input))
            .map(|(i, r)| (i + 1, r))
    }

    /// Contacts to notify for a role (console when it lists none).
    pub fn contacts(&self, role: &str) -> Vec<Contact> {
        match self.roles.get(role) {
            Some(r) if !r.contacts.is_empty() => r.contacts.clone(),
            _ => vec![Contact::Console],
        }
    }

    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            pos: None,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "no such file (run `escalate init` to write a starter, or pass --config)"
                        .to_string()
                }
                _ => format!("cannot read: {e}"),
            },
        })?;
        if text.len() > MAX_FILE_BYTES {
            return Err(ConfigError {
                path: path.to_path_buf(),
                pos: None,
                message: format!(
                    "file is {} bytes; a chains file over {} bytes is refused",
                    text.len(),
                    MAX_FILE_BYTES
                ),
            });
        }
        let text = String::from_utf8(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            pos: Some(line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            )),
            message: "file is not valid UTF-8".to_string(),
        })?;
        Config::parse(&text, path)
    }

    /// Parse and validate TOML text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            path: path.to_path_buf(),
            pos: span.map(|s| line_col(text, s.start)),
            message: one_line(&message),
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let mut message = e.message().trim().replace('\n', " ");
            // toml says only "duplicate key"; name it.
            if let Some(key) = e.span().and_then(|s| text.get(s)) {
                if message == "duplicate key" && !key.is_empty() && key.len() < 80 {
                    message = format!("duplicate key `{}`", key.trim_matches('"'));
                }
            }
            // Type errors name no key ("invalid type: string, expected
            // f64"); name the key the value belongs to.
            // serde's untagged-enum failure names our type, not the key.
            if message.contains("untagged enum") {
                let key = e.span().and_then(|s| key_before(text, s.start));
                message = match key {
                    Some(k) => format!("`{k}`: expected one value or a list of values"),
                    None => "expected one value or a list of values".to_string(),
                };
            }
            if message.starts_with("invalid ") {
                if let Some(key) = e.span().and_then(|s| key_before(text, s.start)) {
                    message = format!("`{key}`: {message}");
                }
            }
            err(e.span(), message)
        })?;

        let email = match raw.email {
            None => None,
            Some(e) => {
                check_address(e.from.get_ref())
                    .map_err(|m| err(Some(e.from.span()), format!("[email] from: {m}")))?;
                let smtp = secret(e.smtp);
                let mut tls = TlsMode::Starttls;
                if let Secret::Literal(url) = &smtp.value {
                    tls = check_smtp_url(url).map_err(|m| err(Some(smtp.span.clone()), m))?;
                }
                if let Some(mode) = &e.tls {
                    tls = match mode.get_ref().as_str() {
                        "starttls" => TlsMode::Starttls,
                        "wrapper" | "tls" => TlsMode::Wrapper,
                        "none" => TlsMode::None,
                        other => {
                            return Err(err(
                                Some(mode.span()),
                                format!(
                                    "[email] tls = \"{other}\": expected \"starttls\", \"tls\" or \"none\""
                                ),
                            ))
                        }
                    };
                }
                Some(Email {
                    from: e.from.into_inner(),
                    smtp: smtp.value,
                    tls,
                    username: e.username.map(|s| secret(s).value),
                    password: e.password.map(|s| secret(s).value),
                    ca_file: e.ca_file.map(PathBuf::from),
                })
            }
        };

        let mut delivery = Delivery::default();
        if let Some(d) = raw.delivery {
            if let Some(t) = d.timeout_seconds {
                let v = *t.get_ref();
                if !(v.is_finite() && v > 0.0 && v <= 300.0) {
                    return Err(err(
                        Some(t.span()),
                        "[delivery] timeout_seconds must be between 0 and 300".to_string(),
                    ));
                }
                delivery.timeout = std::time::Duration::from_secs_f64(v);
            }
            if let Some(c) = d.concurrency {
                if !(1..=256).contains(c.get_ref()) {
                    return Err(err(
                        Some(c.span()),
                        "[delivery] concurrency must be between 1 and 256".to_string(),
                    ));
                }
                delivery.concurrency = *c.get_ref() as usize;
            }
            if let Some(a) = d.max_attempts {
                if !(1..=100).contains(a.get_ref()) {
                    return Err(err(
                        Some(a.span()),
                        "[delivery] max_attempts must be between 1 and 100".to_string(),
                    ));
                }
                delivery.max_attempts = *a.get_ref();
            }
        }

        let mut roles = BTreeMap::new();
        for (name, role) in raw.roles {
            let span = role.span();
            check_name("role", &name).map_err(|m| err(Some(span.clone()), m))?;
            let role = role.into_inner();
            let mut contacts = Vec::new();
            for (address, span) in spread(role.email) {
                check_address(&address)
                    .map_err(|m| err(Some(span.clone()), format!("role `{name}` email: {m}")))?;
                if email.is_none() {
                    return Err(err(
                        Some(span),
                        format!(
                            "role `{name}` has email contacts but there is no [email] section \
                             (set from and smtp)"
                        ),
                    ));
                }
                contacts.push(Contact::Email(address));
            }
            for (url, span) in spread(role.slack) {
                let url = secret(Spanned::new(span, url));
                check_literal_url(&url).map_err(|m| {
                    err(Some(url.span.clone()), format!("role `{name}` slack: {m}"))
                })?;
                contacts.push(Contact::Slack(url.value));
            }
            let hook_secret = role.webhook_secret.map(|s| secret(s).value);
            for (url, span) in spread(role.webhook) {
                let url = secret(Spanned::new(span, url));
                check_literal_url(&url).map_err(|m| {
                    err(
                        Some(url.span.clone()),
                        format!("role `{name}` webhook: {m}"),
                    )
                })?;
                contacts.push(Contact::Webhook {
                    url: url.value,
                    secret: hook_secret.clone(),
                });
            }
            if role.console == Some(true) || contacts.is_empty() {
                contacts.insert(0, Contact::Console);
            }
            let mut seen = std::collections::HashSet::new();
            contacts.retain(|c| seen.insert((c.channel(), c.target())));
            roles.insert(
                name.clone(),
                Role {
                    name,
                    description: role.description,
                    contacts,
                },
            );
        }

        let mut trackers = BTreeMap::new();
        for (name, t) in raw.trackers {
            let span = t.span();
            check_name("tracker", &name).map_err(|m| err(Some(span.clone()), m))?;
            let t = t.into_inner();
            let kind = match t.kind.get_ref().as_str() {
                "github" => TrackerKind::Github,
                "jira" => TrackerKind::Jira,
                "linear" => TrackerKind::Linear,
                other => {
                    return Err(err(
                        Some(t.kind.span()),
                        format!(
                            "[trackers.{name}] kind = \"{other}\": expected \"github\", \"jira\" or \"linear\""
                        ),
                    ))
                }
            };
            check_http_url(t.url.get_ref())
                .map_err(|m| err(Some(t.url.span()), format!("[trackers.{name}] url: {m}")))?;
            if t.project.get_ref().trim().is_empty()
                || (kind == TrackerKind::Github && !t.project.get_ref().contains('/'))
            {
                return Err(err(
                    Some(t.project.span()),
                    format!(
                        "[trackers.{name}] project: expected {}",
                        match kind {
                            TrackerKind::Github => "\"owner/repo\"",
                            TrackerKind::Jira => "a project key such as \"OPS\"",
                            TrackerKind::Linear => "a team id",
                        }
                    ),
                ));
            }
            let token = secret(t.token);
            if let Secret::Env(var) = &token.value {
                if var.trim().is_empty() {
                    return Err(err(
                        Some(token.span),
                        format!("[trackers.{name}] token: env = \"\" names no variable"),
                    ));
                }
            }
            trackers.insert(
                name.clone(),
                Tracker {
                    name,
                    kind,
                    url: t.url.into_inner().trim_end_matches('/').to_string(),
                    token: token.value,
                    project: t.project.into_inner(),
                    issue_type: t.issue_type,
                    email: t.email,
                },
            );
        }

        let mut chains = BTreeMap::new();
        for (name, chain) in raw.chains {
            let span = chain.span();
            check_name("chain", &name).map_err(|m| err(Some(span.clone()), m))?;
            let chain = chain.into_inner();
            if chain.levels.is_empty() {
                return Err(err(
                    Some(span),
                    format!("chain `{name}` has no levels; give it at least one"),
                ));
            }
            if chain.levels.len() > MAX_LEVELS {
                return Err(err(
                    Some(span),
                    format!("chain `{name}` has more than {MAX_LEVELS} levels"),
                ));
            }
            let mut levels = Vec::with_capacity(chain.levels.len());
            for (i, level) in chain.levels.iter().enumerate() {
                let position = i + 1;
                if let Some(n) = &level.level {
                    if *n.get_ref() != position as i64 {
                        return Err(err(
                            Some(n.span()),
                            format!(
                                "chain `{name}`: level {} is listed in position {position}; \
                                 levels must be numbered 1, 2, 3… in order",
                                n.get_ref()
                            ),
                        ));
                    }
                }
                let role = level.role.get_ref();
                if !roles.contains_key(role) {
                    return Err(err(
                        Some(level.role.span()),
                        format!(
                            "chain `{name}` level {position}: unknown role `{role}` \
                             (add a [roles.{role}] table)"
                        ),
                    ));
                }
                let wait = hours(
                    *level.wait_hours.get_ref(),
                    &format!("chain `{name}` level {position}: wait_hours"),
                )
                .map_err(|m| err(Some(level.wait_hours.span()), m))?;
                let create_task = match &level.create_task {
                    Some(t) if !trackers.contains_key(t.get_ref()) => {
                        return Err(err(
                            Some(t.span()),
                            format!(
                                "chain `{name}` level {position}: create_task names unknown \
                                 tracker `{}` (add a [trackers.{}] table)",
                                t.get_ref(),
                                t.get_ref()
                            ),
                        ))
                    }
                    Some(t) => Some(t.get_ref().clone()),
                    None => None,
                };
                levels.push(Level {
                    role: role.clone(),
                    wait,
                    create_task,
                });
            }
            let repeat = match &chain.repeat {
                Some(r) => {
                    if *r.get_ref() > MAX_REPEAT {
                        return Err(err(
                            Some(r.span()),
                            format!("chain `{name}`: repeat must be at most {MAX_REPEAT}"),
                        ));
                    }
                    if *r.get_ref() > 0 && levels.last().is_some_and(|l| l.wait.is_zero()) {
                        return Err(err(
                            Some(r.span()),
                            format!(
                                "chain `{name}`: repeat needs a last level with wait_hours > 0 \
                                 (it is the repeat interval)"
                            ),
                        ));
                    }
                    *r.get_ref()
                }
                None => 0,
            };
            let ack_timeout = match &chain.ack_timeout_hours {
                Some(h) => {
                    let d = hours(*h.get_ref(), &format!("chain `{name}`: ack_timeout_hours"))
                        .map_err(|m| err(Some(h.span()), m))?;
                    if d.is_zero() {
                        return Err(err(
                            Some(h.span()),
                            format!("chain `{name}`: ack_timeout_hours must be greater than 0"),
                        ));
                    }
                    Some(d)
                }
                None => None,
            };
            let sla = sla(&name, &chain, &roles).map_err(|(span, m)| err(Some(span), m))?;
            chains.insert(
                name.clone(),
                Chain {
                    name,
                    description: chain.description,
                    levels,
                    repeat,
                    ack_timeout,
                    sla,
                },
            );
        }
        let checker = match raw.checker {
            Some(c) => match c.expected_interval_minutes {
                Some(m) => {
                    let v = *m.get_ref();
                    if !v.is_finite() || v <= 0.0 || v > MAX_WAIT_HOURS * 60.0 {
                        return Err(err(
                            Some(m.span()),
                            format!(
                                "[checker] expected_interval_minutes must be more than 0 and \
                                 at most a year (got {v})"
                            ),
                        ));
                    }
                    Checker {
                        expected_interval: TimeDelta::milliseconds((v * 60_000.0).round() as i64),
                    }
                }
                None => Checker::default(),
            },
            None => Checker::default(),
        };
        let mut routes: Vec<Route> = Vec::new();
        for (i, r) in raw.routes.into_iter().enumerate() {
            let span = r.span();
            let r = r.into_inner();
            let name = r.name.unwrap_or_else(|| format!("route {}", i + 1));
            if !chains.contains_key(r.chain.get_ref()) {
                return Err(err(
                    Some(r.chain.span()),
                    format!("{name}: unknown chain `{}`", r.chain.get_ref()),
                ));
            }
            let title = match &r.title {
                Some(t) => Some(regex::Regex::new(t.get_ref()).map_err(|e| {
                    let first = e.to_string();
                    let first = first.lines().last().unwrap_or("").trim().to_string();
                    err(
                        Some(t.span()),
                        format!("{name}: title is not a valid regular expression: {first}"),
                    )
                })?),
                None => None,
            };
            if let Some(prev) = routes.iter().find(|p| p.is_catch_all()) {
                return Err(err(
                    Some(span),
                    format!(
                        "{name} can never match: `{}` before it matches everything \
                         (put the catch-all route last)",
                        prev.name
                    ),
                ));
            }
            routes.push(Route {
                name,
                source: r.source.map(OneOrMany::into_vec).unwrap_or_default(),
                priority: r.priority.map(OneOrMany::into_vec).unwrap_or_default(),
                tags: r.tags.map(OneOrMany::into_vec).unwrap_or_default(),
                title,
                chain: r.chain.into_inner(),
                owner: r.owner.filter(|o| !o.trim().is_empty()),
            });
        }

        let mut subscriptions = Vec::new();
        for s in raw.subscriptions {
            let s = s.into_inner();
            let url = secret(s.url);
            check_literal_url(&url).map_err(|m| {
                err(
                    Some(url.span.clone()),
                    format!("[[subscriptions]] url: {m}"),
                )
            })?;
            let mut kinds = Vec::new();
            for k in s.kinds.unwrap_or_default() {
                let known = crate::model::EventKind::ALL
                    .iter()
                    .any(|e| e.as_str() == k.get_ref());
                if !known {
                    let all: Vec<&str> = crate::model::EventKind::ALL
                        .iter()
                        .map(|e| e.as_str())
                        .collect();
                    return Err(err(
                        Some(k.span()),
                        format!(
                            "[[subscriptions]] kinds: unknown event kind `{}` (kinds: {})",
                            k.get_ref(),
                            all.join(", ")
                        ),
                    ));
                }
                kinds.push(k.into_inner());
            }
            // The URL's label keys the subscription's cursor: two entries
            // with one URL would share it and starve each other.
            if subscriptions
                .iter()
                .any(|other: &Subscription| other.url.label() == url.value.label())
            {
                return Err(err(
                    Some(url.span.clone()),
                    format!(
                        "[[subscriptions]] url `{}` is listed twice; give one entry all the kinds it wants",
                        url.value.label()
                    ),
                ));
            }
            subscriptions.push(Subscription {
                url: url.value,
                secret: s.secret.map(|x| secret(x).value),
                kinds,
            });
        }

        Ok(Config {
            chains,
            roles,
            email,
            delivery,
            checker,
            routes,
            trackers,
            subscriptions,
        })
    }

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
        if let Some(e) = &self.email {
            if let Secret::Env(_) = &e.smtp {
                if let Ok(url) = e.smtp.resolve() {
                    if let Err(m) = check_smtp_url(&url) {
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

    /// Roles that no chain uses (worth a warning in `config check`).
    pub fn unused_roles(&self) -> Vec<&str> {
        self.roles
            .keys()
            .filter(|r| {
                !self.chains.values().any(|c| {
                    c.levels.iter().any(|l| &l.role == *r) || c.sla.breach_notify.contains(r)
                })
            })
            .map(String::as_str)
            .collect()
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name `{name}` must be 1–64 characters of letters, digits, `_`, `-` or `.`"
        ))
    }
}

/// Hours (fractions allowed) → a duration in whole milliseconds.
type SpanError = (std::ops::Range<usize>, String);

/// A chain's SLA keys: targets > 0, one way of saying "at risk", and
/// breach_notify roles that exist.
fn sla(name: &str, chain: &RawChain, roles: &BTreeMap<String, Role>) -> Result<Sla, SpanError> {
    let target = |h: &Option<Spanned<f64>>, key: &str| -> Result<Option<TimeDelta>, SpanError> {
        let Some(h) = h else { return Ok(None) };
        let d =
            hours(*h.get_ref(), &format!("chain `{name}`: {key}")).map_err(|m| (h.span(), m))?;
        if d.is_zero() {
            return Err((
                h.span(),
                format!("chain `{name}`: {key} must be greater than 0"),
            ));
        }
        Ok(Some(d))
    };
    let response = target(&chain.response_hours, "response_hours")?;
    let resolution = target(&chain.resolution_hours, "resolution_hours")?;
    let at_risk = match (&chain.at_risk, &chain.at_risk_hours) {
        (Some(_), Some(h)) => {
            return Err((
                h.span(),
                format!("chain `{name}`: set at_risk (a fraction) or at_risk_hours, not both"),
            ))
        }
        (Some(f), None) => {
            let v = *f.get_ref();
            if !(v > 0.0 && v < 1.0) {
                return Err((
                    f.span(),
                    format!(
                        "chain `{name}`: at_risk is a fraction of the target between 0 and 1 \
                         (got {v}; use at_risk_hours for a time before the target)"
                    ),
                ));
            }
            AtRisk::Fraction(v)
        }
        (None, Some(h)) => {
            let d = target(&Some(h.clone()), "at_risk_hours")?.unwrap_or_default();
            let shortest = [response, resolution].into_iter().flatten().min();
            if let Some(t) = shortest {
                if d >= t {
                    return Err((
                        h.span(),
                        format!(
                            "chain `{name}`: at_risk_hours must be less than the shortest SLA \
                             target ({})",
                            crate::model::time::human(t)
                        ),
                    ));
                }
            }
            AtRisk::Before(d)
        }
        (None, None) => AtRisk::default(),
    };
    if (chain.at_risk.is_some() || chain.at_risk_hours.is_some())
        && response.is_none()
        && resolution.is_none()
    {
        let span = chain
            .at_risk
            .as_ref()
            .map(Spanned::span)
            .or_else(|| chain.at_risk_hours.as_ref().map(Spanned::span))
            .unwrap_or_default();
        return Err((
            span,
            format!("chain `{name}`: at_risk needs a target (response_hours or resolution_hours)"),
        ));
    }
    let mut breach_notify = Vec::new();
    for role in chain.breach_notify.iter().flatten() {
        if !roles.contains_key(role.get_ref()) {
            return Err((
                role.span(),
                format!(
                    "chain `{name}`: breach_notify names unknown role `{}`",
                    role.get_ref()
                ),
            ));
        }
        breach_notify.push(role.get_ref().clone());
    }
    if !breach_notify.is_empty() && response.is_none() && resolution.is_none() {
        let span = chain
            .breach_notify
            .iter()
            .flatten()
            .next()
            .map(Spanned::span)
            .unwrap_or_default();
        return Err((
            span,
            format!(
                "chain `{name}`: breach_notify needs a target (response_hours or resolution_hours)"
            ),
        ));
    }
    Ok(Sla {
        response,
        resolution,
        at_risk,
        breach_notify,
    })
}

fn hours(h: f64, what: &str) -> Result<TimeDelta, String> {
    if !h.is_finite() {
        return Err(format!("{what} must be a finite number of hours, not {h}"));
    }
    if h < 0.0 {
        return Err(format!("{what} must not be negative (got {h})"));
    }
    if h > MAX_WAIT_HOURS {
        return Err(format!(
            "{what} of {h} hours is over a year; that is almost certainly a mistake"
        ));
    }
    Ok(TimeDelta::milliseconds((h * 3_600_000.0).round() as i64))
}

/// The key whose value starts at `offset`, read back from the text: the
/// last bare word before the `=` that precedes the value on its line.
fn key_before(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..floor_char_boundary(text, offset))?;
    let line = before.rsplit('\n').next()?;
    let line = line.trim_end().strip_suffix('=')?.trim_end();
    let key: String = line
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!key.is_empty()).then_some(key)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A configuration error: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub pos: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages quote what the user wrote (escaped when they are made,
        // and again here for any made elsewhere): always one line.
        let message = one_line(&self.message);
        match self.pos {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {message}", self.path.display()),
            None => write!(f, "{}: {message}", self.path.display()),
        }
    }
}

/// Control characters shown escaped (`\n`, `\r`, `\u{1b}`), so a message
/// stays one line whatever it quotes.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    chains: BTreeMap<String, Spanned<RawChain>>,
    #[serde(default)]
    roles: BTreeMap<String, Spanned<RawRole>>,
    email: Option<RawEmail>,
    delivery: Option<RawDelivery>,
    checker: Option<RawChecker>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    trackers: BTreeMap<String, Spanned<RawTracker>>,
    #[serde(default)]
    subscriptions: Vec<Spanned<RawSubscription>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecker {
    expected_interval_minutes: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    from: Spanned<String>,
    smtp: Spanned<RawSecret>,
    tls: Option<Spanned<String>>,
    username: Option<Spanned<RawSecret>>,
    password: Option<Spanned<RawSecret>>,
    ca_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    timeout_seconds: Option<Spanned<f64>>,
    concurrency: Option<Spanned<u32>>,
    max_attempts: Option<Spanned<u32>>,
}

/// `"literal"` or `{ env = "VAR" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSecret {
    Literal(String),
    Env(EnvRef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvRef {
    env: String,
}

/// A single value or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Each value of a one-or-many field, with the field's span.
fn spread<T>(field: Option<Spanned<OneOrMany<T>>>) -> Vec<(T, std::ops::Range<usize>)> {
    match field {
        None => Vec::new(),
        Some(f) => {
            let span = f.span();
            f.into_inner()
                .into_vec()
                .into_iter()
                .map(|v| (v, span.clone()))
                .collect()
        }
    }
}

struct SpannedSecret {
    value: Secret,
    span: std::ops::Range<usize>,
}

fn secret(raw: Spanned<RawSecret>) -> SpannedSecret {
    let span = raw.span();
    let value = match raw.into_inner() {
        RawSecret::Literal(s) => Secret::Literal(s),
        RawSecret::Env(e) => Secret::Env(e.env),
    };
    SpannedSecret { value, span }
}

fn check_address(a: &str) -> Result<(), String> {
    a.parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| format!("`{a}` is not an email address ({e})"))
}

/// Literal URLs are checked at load time; env ones by `config check`.
fn check_literal_url(s: &SpannedSecret) -> Result<(), String> {
    match &s.value {
        Secret::Literal(url) => check_http_url(url),
        Secret::Env(var) if var.trim().is_empty() => {
            Err("env = \"\" names no variable".to_string())
        }
        Secret::Env(_) => Ok(()),
    }
}

pub fn check_http_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => Ok(()),
        Ok(_) => Err(format!("`{}` is not an http(s) URL", redact_url(url))),
        Err(e) => Err(format!("malformed URL `{}`: {e}", redact_url(url))),
    }
}

/// `smtp://` (STARTTLS unless tls = "none") or `smtps://` (TLS wrapper).
pub fn check_smtp_url(url: &str) -> Result<TlsMode, String> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| format!("[email] smtp: malformed URL `{}`: {e}", redact_url(url)))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err("[email] smtp: the URL has no host".to_string());
    }
    match u.scheme() {
        "smtp" => Ok(TlsMode::Starttls),
        "smtps" => Ok(TlsMode::Wrapper),
        other => Err(format!(
            "[email] smtp: scheme `{other}` is not smtp:// or smtps://"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    description: Option<String>,
    levels: Vec<RawLevel>,
    repeat: Option<Spanned<u32>>,
    ack_timeout_hours: Option<Spanned<f64>>,
    response_hours: Option<Spanned<f64>>,
    resolution_hours: Option<Spanned<f64>>,
    at_risk: Option<Spanned<f64>>,
    at_risk_hours: Option<Spanned<f64>>,
    breach_notify: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    level: Option<Spanned<i64>>,
    role: Spanned<String>,
    wait_hours: Spanned<f64>,
    create_task: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Option<String>,
    source: Option<OneOrMany<String>>,
    priority: Option<OneOrMany<String>>,
    tags: Option<OneOrMany<String>>,
    title: Option<Spanned<String>>,
    chain: Spanned<String>,
    owner: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTracker {
    kind: Spanned<String>,
    url: Spanned<String>,
    token: Spanned<RawSecret>,
    project: Spanned<String>,
    issue_type: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscription {
    url: Spanned<RawSecret>,
    secret: Option<Spanned<RawSecret>>,
    kinds: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    description: Option<String>,
    email: Option<Spanned<OneOrMany<String>>>,
    slack: Option<Spanned<OneOrMany<RawSecret>>>,
    webhook: Option<Spanned<OneOrMany<RawSecret>>>,
    webhook_secret: Option<Spanned<RawSecret>>,
    /// Also print on the console (the default when a role has no contacts).
    console: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, Path::new("t.toml"))
    }

    const ROLES: &str = "[roles.a]\n[roles.b]\n";

    #[test]
    fn starter_file_parses_with_seed_chains() {
        let c = Config::parse(STARTER, Path::new("chains.toml")).expect("starter parses");
        let ci = c.chain("customer_issue").expect("customer_issue");
        let hours: Vec<f64> = ci
            .offsets()
            .iter()
            .map(|d| d.num_milliseconds() as f64 / 3.6e6)
            .collect();
        assert_eq!(hours, vec![0.0, 4.0, 12.0, 36.0]);
        let so = c.chain("system_outage").expect("system_outage");
        assert_eq!(so.levels[0].wait, TimeDelta::minutes(15));
        assert_eq!(so.levels.len(), 3);
    }

    #[test]
    fn fractional_and_integer_waits() {
        let c = parse(&format!(
            "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 0.25 }}, {{ role = \"b\", wait_hours = 2 }}]\n"
        ))
        .expect("parses");
        let x = c.chain("x").expect("x");
        assert_eq!(x.levels[0].wait, TimeDelta::minutes(15));
        assert_eq!(x.levels[1].wait, TimeDelta::hours(2));
    }

    #[test]
    fn errors_name_line_and_column() {
        // (input, expected position, fragment of the message)
        type Case<'a> = (&'a str, Option<(usize, usize)>, &'a str);
        let cases: &[Case] = &[
            ("[chains.x]\nlevels = []\n", Some((1, 1)), "has no levels"),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"zz\", wait_hours = 1 }]\n",
                Some((3, 20)),
                "unknown role `zz`",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = -1 }]\n",
                Some((3, 38)),
                "must not be negative",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = nan }]\n",
                Some((3, 38)),
                "finite",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = inf }]\n",
                Some((3, 38)),
                "finite",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 1, colour = 1 }]\n",
                Some((3, 41)),
                "unknown field `colour`",
            ),
            ("[roles.a]\nbogus = 1\n", Some((2, 1)), "unknown field `bogus`"),
            ("[roles.a]\n[roles.a]\n", Some((2, 8)), "duplicate key `a`"),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ level = 2, role = \"a\", wait_hours = 1 }]\n",
                Some((3, 21)),
                "position 1",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 100000 }]\n",
                Some((3, 38)),
                "over a year",
            ),
            (
                "[roles.a]\n[chains.x]\nrepeat = 2\nlevels = [{ role = \"a\", wait_hours = 0 }]\n",
                Some((3, 10)),
                "repeat interval",
            ),
            (
                "[roles.a]\n[chains.x]\nack_timeout_hours = 0\nlevels = [{ role = \"a\", wait_hours = 1 }]\n",
                Some((3, 21)),
                "greater than 0",
            ),
            (
                "[roles.a]\n[chains.x]\nrepeat = -1\nlevels = [{ role = \"a\", wait_hours = 1 }]\n",
                Some((3, 10)),
                "",
            ),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = \"4\" }]\n",
                Some((3, 38)),
                "",
            ),
            ("[roles.a\n", Some((1, 9)), ""),
            ("[roles.\"a b\"]\n", Some((1, 1)), "must be 1–64 characters"),
            (
                "[roles.a]\n[chains.x]\nlevels = [{ wait_hours = 1 }]\n",
                Some((3, 11)),
                "missing field `role`",
            ),
        ];
        for (input, pos, fragment) in cases {
            let e = parse(input).expect_err(input);
            assert_eq!(e.pos, *pos, "position for {input:?}: {e}");
            assert!(
                e.message.contains(fragment),
                "message for {input:?} lacks {fragment:?}: {e}"
            );
            assert!(!e.to_string().contains('\n'), "one line: {e}");
            assert!(e.to_string().starts_with("t.toml:"), "{e}");
        }
    }

    #[test]
    fn fingerprint_tracks_schedule_changes_only() {
        let a = parse(&format!(
            "{ROLES}[chains.x]\ndescription = \"one\"\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
        ))
        .expect("a");
        let b = parse(&format!(
            "{ROLES}[chains.x]\ndescription = \"two\"\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
        ))
        .expect("b");
        let c = parse(&format!(
            "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 2 }}]\n"
        ))
        .expect("c");
        let fp = |c: &Config| c.chain("x").map(Chain::fingerprint);
        assert_eq!(fp(&a), fp(&b));
        assert_ne!(fp(&a), fp(&c));
    }

    #[test]
    fn unused_roles_are_listed() {
        let c = parse(&format!(
            "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
        ))
        .expect("c");
        assert_eq!(c.unused_roles(), vec!["b"]);
    }
}
