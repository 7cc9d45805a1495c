//! `chains.toml` → a validated [`Config`]: pure (a `&str` in, no DB, network or
//! clock), every error names the file, line and column at fault.
//!
//! This module holds the public types and the entry points ([`Config::load`],
//! [`Config::parse`]). serde reads the file into the shapes in `raw`; then
//! one module per section (`email`, `delivery`, `roles`, `trackers`,
//! `chains` with `sla`, `checker`, `routes`, `subscriptions`, `sources`) turns its raw
//! table into typed values with its own checks; `check` holds the value
//! checks several sections share. `secrets` covers values read from the
//! environment and their redaction; `address` where destination URLs may
//! point (SSRF); `file` the bounded read of the file itself; `error` the
//! `file:line:col` errors.

mod address;
pub mod calendars;
mod chains;
mod check;
mod checker;
mod delivery;
mod email;
mod error;
mod file;
mod people;
mod policies;
mod raw;
mod roles;
mod routes;
mod secrets;
pub mod server;
mod sla;
mod sources;
mod subscriptions;
pub mod templates;
#[cfg(test)]
mod tests;
mod trackers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;

pub use address::{host_class, is_link_local, HostClass};
pub use check::check_http_url;
pub use email::check_smtp_url;
pub use error::ConfigError;
pub use secrets::{redact_url, Secret};
pub use sources::TicketSource;
pub use subscriptions::SubscriptionFrom;

use error::Source;
use raw::RawConfig;

/// Upper bound on a single wait: anything longer is a typo (minutes vs hours),
/// not an escalation policy.
pub const MAX_WAIT_HOURS: f64 = 24.0 * 366.0;
/// Bounded so a single check can never loop for long on one issue.
pub const MAX_REPEAT: u32 = 1000;
pub const MAX_LEVELS: usize = 100;
/// Attempts before a temporarily failing notification is declared dead
/// (`[delivery] max_attempts` overrides it).
pub const MAX_ATTEMPTS: u32 = 40;
/// A config file this large is a mistake (wrong file, generated garbage);
/// the largest real ones are a few hundred lines. No more is ever read.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

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
    pub digest: Digest,
    /// `[server]`: what `escalate serve` needs.
    pub server: server::Server,
    /// `[templates]`: custom notification lines.
    pub templates: templates::Templates,
    /// `[[routes]]`, in order: the first match places an incoming issue.
    pub routes: Vec<Route>,
    pub trackers: BTreeMap<String, Tracker>,
    pub subscriptions: Vec<Subscription>,
    /// By name, `always` included.
    pub calendars: BTreeMap<String, std::sync::Arc<calendars::Calendar>>,
    pub people: BTreeMap<String, Person>,
    /// `[sources.NAME]`: per ticket source settings (webhook secrets).
    pub sources: BTreeMap<String, TicketSource>,
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
                    .is_some_and(|p| self.priority.iter().any(|q| routes::same_value(q, p))))
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
    /// Where its cursor starts the first time it is seen.
    pub from: SubscriptionFrom,
}

/// `[digest]`: what the daily digest flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// Issues paused longer than this are listed (a pause forgotten is an
    /// issue nobody works on).
    pub long_pause: TimeDelta,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            long_pause: TimeDelta::hours(72),
        }
    }
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
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    /// Created → first acknowledgement.
    pub response: Option<TimeDelta>,
    /// Created → resolved.
    pub resolution: Option<TimeDelta>,
    pub at_risk: AtRisk,
    /// Roles told about a breach besides the issue's owner.
    pub breach_notify: Vec<String>,
    /// Counts the targets' hours (the chain's calendar).
    pub calendar: std::sync::Arc<calendars::Calendar>,
    /// The clocks that stop while the issue is paused (default: both).
    pub pause: Vec<crate::model::sla::Target>,
}

impl Sla {
    pub fn pause_is_default(&self) -> bool {
        self.pause == crate::model::sla::Target::ALL
    }
}

/// When a running SLA clock turns "at risk".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtRisk {
    /// At this fraction of the target (0 < f < 1).
    Fraction(f64),
    /// This long before the target.
    Before(TimeDelta),
}

impl Default for Sla {
    fn default() -> Self {
        Sla {
            response: None,
            resolution: None,
            at_risk: AtRisk::default(),
            breach_notify: Vec::new(),
            calendar: Default::default(),
            pause: crate::model::sla::Target::ALL.to_vec(),
        }
    }
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
    /// Counts the waits, the acknowledgement timeout and the SLA targets.
    pub calendar: std::sync::Arc<calendars::Calendar>,
    /// `[[chains.NAME.sla]]` in order: the first whose priorities match an
    /// issue's gives its SLA and calendar ([`Chain::for_priority`]).
    pub policies: Vec<Policy>,
    /// For a policy's effective chain: its 1-based position.
    pub policy: Option<u32>,
    /// `runbook`: a URL shown in messages, the board and `show`.
    pub runbook: Option<String>,
}

/// An SLA policy: the issues it covers and the chain they escalate on (the
/// chain's levels with the policy's targets, pause rule and calendar).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Lower-case priorities; empty: any issue, with or without one.
    pub priorities: Vec<String>,
    pub effective: std::sync::Arc<Chain>,
}

impl Policy {
    pub fn matches(&self, priority: Option<&str>) -> bool {
        self.priorities.is_empty()
            || priority.is_some_and(|p| {
                self.priorities
                    .iter()
                    .any(|q| q.eq_ignore_ascii_case(p.trim()))
            })
    }
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
    /// People told of every page, besides the contacts.
    pub members: Vec<String>,
    /// On-call layers, in order: a later layer wins where it has someone.
    pub rotations: Vec<Rotation>,
}

/// `[people.NAME]`: someone a page, an assignment or an SLA notice can
/// reach.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub name: String,
    /// A Slack member id (`U…`), mentioned in the role's Slack messages.
    pub slack_id: Option<String>,
    /// Email, a personal Slack webhook, a webhook.
    pub contacts: Vec<Contact>,
    pub timezone: Option<chrono_tz::Tz>,
}

/// One on-call layer of a role: members take turns of `shift` from `start`
/// (local wall-clock time in `tz`, so hand-offs keep their local hour
/// across DST changes), within `hours` when given.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub name: String,
    pub members: Vec<String>,
    pub start: chrono::NaiveDateTime,
    pub tz: chrono_tz::Tz,
    pub shift: TimeDelta,
    /// The part of the week the layer covers (None: all of it).
    pub hours: Option<std::sync::Arc<calendars::Calendar>>,
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

    /// Who a message to this contact reaches: the target, except that an
    /// email address is compared without its display name and case, so
    /// `Ann <ANN@x.io>` on a role and `ann@x.io` on its person get one mail.
    pub fn destination(&self) -> String {
        match self {
            Contact::Email(address) => address
                .parse::<lettre::message::Mailbox>()
                .map_or_else(|_| address.clone(), |m| m.email.to_string())
                .to_lowercase(),
            other => other.target(),
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
    /// Destinations may be link-local addresses (169.254.0.0/16,
    /// fe80::/10): off by default, since cloud metadata lives there.
    pub allow_link_local: bool,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            timeout: std::time::Duration::from_secs(10),
            concurrency: 16,
            max_attempts: MAX_ATTEMPTS,
            allow_link_local: false,
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
        use std::fmt::Write;
        // Written into one string (every new issue computes it, so an
        // ingested batch did 10 k instructions of `format!` per ticket);
        // writing to a String cannot fail.
        let mut s = String::with_capacity(128);
        for l in &self.levels {
            let _ = write!(s, "{}:{};", l.role, l.wait.num_milliseconds());
        }
        let _ = write!(
            s,
            "r{};a{}",
            self.repeat,
            self.ack_timeout.map_or(-1, |d| d.num_milliseconds())
        );
        // SLA deadlines are scheduled instants too.
        let ms = |d: Option<TimeDelta>| d.map_or(-1, |d| d.num_milliseconds());
        let _ = write!(
            s,
            ";s{},{},{:?}",
            ms(self.sla.response),
            ms(self.sla.resolution),
            self.sla.at_risk
        );
        // The calendar decides every due instant; `always` adds nothing, so
        // fingerprints stored before calendars existed still match.
        if !self.calendar.is_always() {
            let _ = write!(s, ";c{}", self.calendar.digest());
        }
        if !self.sla.pause_is_default() {
            let _ = write!(s, ";z{:?}", self.sla.pause);
        }
        for p in &self.policies {
            let _ = write!(
                s,
                ";P{}={}",
                p.priorities.join(","),
                p.effective.fingerprint()
            );
        }
        s
    }

    /// The chain an issue of `priority` escalates on: the first matching
    /// policy's, else this one.
    pub fn for_priority(&self, priority: Option<&str>) -> &Chain {
        self.policies
            .iter()
            .find(|p| p.matches(priority))
            .map_or(self, |p| &p.effective)
    }

    pub fn level(&self, n: u32) -> Option<&Level> {
        self.levels.get((n as usize).checked_sub(1)?)
    }
}

/// The route an input matched.
#[derive(Debug, Clone, Copy)]
pub struct RouteMatch<'a> {
    /// 1-based, as `route` prints it.
    pub position: usize,
    pub route: &'a Route,
}

impl Config {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.get(name)
    }

    /// The chain `issue` escalates on: its chain, narrowed to the SLA policy
    /// its priority matches.
    pub fn chain_for(&self, issue: &crate::model::Issue) -> Option<&Chain> {
        self.chain(&issue.chain)
            .map(|c| c.for_priority(issue.edge.priority.as_deref()))
    }

    /// The first route matching `input`.
    pub fn route(&self, input: &RouteInput) -> Option<RouteMatch<'_>> {
        self.routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(input))
            .map(|(i, route)| RouteMatch {
                position: i + 1,
                route,
            })
    }

    /// Contacts to notify for a role (console when it lists none).
    pub fn contacts(&self, role: &str) -> Vec<Contact> {
        match self.roles.get(role) {
            Some(r) if !r.contacts.is_empty() => r.contacts.clone(),
            _ => vec![Contact::Console],
        }
    }

    /// Whether anything is sent beyond the console: a role's or person's
    /// Slack, email or webhook, a subscription, a tracker.
    pub fn sends_over_network(&self) -> bool {
        let remote = |c: &Contact| !matches!(c, Contact::Console);
        self.roles.values().any(|r| r.contacts.iter().any(remote))
            || self.people.values().any(|p| p.contacts.iter().any(remote))
            || !self.subscriptions.is_empty()
            || !self.trackers.is_empty()
    }

    /// Read (bounded: [`MAX_FILE_BYTES`], regular files only) and
    /// validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = file::read(path)?;
        Config::parse(&text, path)
    }

    /// Parse and validate TOML text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let src = Source { text, path };
        let raw: RawConfig = toml::from_str(text).map_err(|e| src.toml(&e))?;
        // Sections are checked in a fixed order, so the error reported for
        // a file with several is always the same one; a section comes after
        // those it refers to (roles need [email], chains name roles and
        // trackers, routes name chains).
        let email = email::convert(raw.email, &src)?;
        let delivery = delivery::convert(raw.delivery, &src)?;
        let links = delivery.allow_link_local;
        let people = people::convert(raw.people, email.is_some(), links, &src)?;
        let roles = roles::convert(raw.roles, &people, email.is_some(), links, &src)?;
        let trackers = trackers::convert(raw.trackers, links, &src)?;
        let calendar_spans: BTreeMap<String, std::ops::Range<usize>> = raw
            .calendars
            .iter()
            .map(|(name, c)| (name.clone(), c.span()))
            .collect();
        let calendars = calendars::convert(raw.calendars, &calendars::base_dir(path), &src)?;
        let known = chains::Known {
            roles: &roles,
            trackers: &trackers,
            calendars: &calendars,
        };
        let chains = chains::convert(raw.chains, &known, &src)?;
        for (name, span) in calendar_spans {
            let uses = |c: &Chain| c.calendar.name == name;
            if !chains
                .values()
                .any(|c| uses(c) || c.policies.iter().any(|p| uses(&p.effective)))
            {
                return Err(src.at(
                    span,
                    format!("calendar `{name}` is not used by any chain (remove it or name it with `calendar = \"{name}\"`)"),
                ));
            }
        }
        let checker = checker::convert(raw.checker, &src)?;
        let digest = checker::digest(raw.digest, &src)?;
        let server = server::convert(raw.server, &src)?;
        let templates = templates::convert(raw.templates, &src)?;
        let routes = routes::convert(raw.routes, &chains, &src)?;
        let subscriptions = subscriptions::convert(raw.subscriptions, links, &src)?;
        let sources = sources::convert(raw.sources, &src)?;
        Ok(Config {
            chains,
            roles,
            email,
            delivery,
            checker,
            digest,
            server,
            templates,
            routes,
            trackers,
            subscriptions,
            calendars,
            people,
            sources,
        })
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
