//! The shapes serde reads from `chains.toml`, before any check. Every table
//! denies unknown fields (a misspelt key is an error, not a silent default),
//! and values a check may reject keep their [`Spanned`] position so the
//! error can point at them.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) chains: BTreeMap<String, Spanned<RawChain>>,
    #[serde(default)]
    pub(super) roles: BTreeMap<String, Spanned<RawRole>>,
    pub(super) email: Option<RawEmail>,
    pub(super) delivery: Option<RawDelivery>,
    pub(super) checker: Option<RawChecker>,
    pub(super) digest: Option<RawDigest>,
    pub(super) server: Option<RawServer>,
    #[serde(default)]
    pub(super) templates: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    pub(super) trackers: BTreeMap<String, Spanned<RawTracker>>,
    #[serde(default)]
    pub(super) subscriptions: Vec<Spanned<RawSubscription>>,
    #[serde(default)]
    pub(super) calendars: BTreeMap<String, Spanned<RawCalendar>>,
    #[serde(default)]
    pub(super) people: BTreeMap<String, Spanned<RawPerson>>,
    #[serde(default)]
    pub(super) sources: BTreeMap<String, Spanned<RawSource>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub(super) email: Option<Spanned<String>>,
    /// A Slack member id (`U…`): mentioned in the role's Slack messages.
    pub(super) slack_id: Option<Spanned<String>>,
    /// A personal Slack incoming webhook.
    pub(super) slack: Option<Spanned<RawSecret>>,
    pub(super) webhook: Option<Spanned<RawSecret>>,
    pub(super) timezone: Option<Spanned<String>>,
}

/// `[[roles.NAME.rotations]]`: one on-call layer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRotation {
    pub(super) name: Option<String>,
    pub(super) members: Spanned<Vec<Spanned<String>>>,
    /// Local date and time of the first hand-off (`2026-12-07T09:00`).
    pub(super) start: Spanned<String>,
    pub(super) timezone: Spanned<String>,
    /// `1d`, `1w`, `12h`: each member's turn.
    pub(super) shift: Spanned<String>,
    /// The part of the week this layer covers (as a calendar's `hours`).
    #[serde(default)]
    pub(super) hours: BTreeMap<String, Spanned<OneOrMany<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) timezone: Spanned<String>,
    /// Day key (`mon`, `mon-fri`) → `"09:00-17:00"`, a list of ranges, or `"24h"`.
    #[serde(default)]
    pub(super) hours: BTreeMap<String, Spanned<OneOrMany<String>>>,
    #[serde(default)]
    pub(super) holidays: Vec<Spanned<String>>,
    pub(super) holidays_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChecker {
    pub(super) expected_interval_minutes: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) secret: Option<Spanned<RawSecret>>,
    pub(super) slack_signing_secret: Option<Spanned<RawSecret>>,
    pub(super) ingest_token: Option<Spanned<RawSecret>>,
    pub(super) check_every: Option<Spanned<String>>,
    pub(super) link_ttl_hours: Option<Spanned<f64>>,
    pub(super) trusted_proxies: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub(super) long_pause_hours: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    pub(super) from: Spanned<String>,
    pub(super) smtp: Spanned<RawSecret>,
    pub(super) tls: Option<Spanned<String>>,
    pub(super) username: Option<Spanned<RawSecret>>,
    pub(super) password: Option<Spanned<RawSecret>>,
    pub(super) ca_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) timeout_seconds: Option<Spanned<f64>>,
    pub(super) concurrency: Option<Spanned<u32>>,
    pub(super) max_attempts: Option<Spanned<u32>>,
    pub(super) allow_link_local: Option<bool>,
}

/// `"literal"` or `{ env = "VAR" }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawSecret {
    Literal(String),
    Env(EnvRef),
}

/// `{ env = "VAR" }`: read from a table and nothing else. A derived
/// `Deserialize` would also accept a one-element array (serde lets a
/// struct be read from a sequence of its fields), so inside the untagged
/// [`RawSecret`] a list of one URL, `slack = ["https://…"]`, was read as
/// the name of an environment variable: nothing was sent and the URL, a
/// credential, was printed as `$https://…` wherever the target is shown.
pub(super) struct EnvRef {
    pub(super) env: String,
}

impl<'de> Deserialize<'de> for EnvRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvRefVisitor)
    }
}

struct EnvRefVisitor;

impl<'de> serde::de::Visitor<'de> for EnvRefVisitor {
    type Value = EnvRef;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a table { env = \"VAR\" }")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<EnvRef, A::Error> {
        use serde::de::Error;
        let mut env = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "env" {
                return Err(A::Error::unknown_field(&key, &["env"]));
            }
            if env.is_some() {
                return Err(A::Error::duplicate_field("env"));
            }
            env = Some(map.next_value::<String>()?);
        }
        env.map(|env| EnvRef { env })
            .ok_or_else(|| A::Error::missing_field("env"))
    }
}

/// A single value or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub(super) fn items(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }

    pub(super) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Each value of a one-or-many field, with the field's span.
pub(super) fn spread<T>(field: Option<Spanned<OneOrMany<T>>>) -> Vec<(T, Range<usize>)> {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChain {
    pub(super) description: Option<String>,
    pub(super) levels: Vec<RawLevel>,
    pub(super) repeat: Option<Spanned<u32>>,
    pub(super) ack_timeout_hours: Option<Spanned<f64>>,
    pub(super) response_hours: Option<Spanned<f64>>,
    pub(super) resolution_hours: Option<Spanned<f64>>,
    pub(super) at_risk: Option<Spanned<f64>>,
    pub(super) at_risk_hours: Option<Spanned<f64>>,
    pub(super) breach_notify: Option<Vec<Spanned<String>>>,
    pub(super) calendar: Option<Spanned<String>>,
    /// A URL shown in messages, the board and `show`: what to do.
    pub(super) runbook: Option<Spanned<String>>,
    /// `[[chains.NAME.sla]]`: SLA policies by priority, first match wins.
    #[serde(default)]
    pub(super) sla: Vec<Spanned<RawPolicy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) priority: Option<Spanned<OneOrMany<String>>>,
    pub(super) response_hours: Option<Spanned<f64>>,
    pub(super) resolution_hours: Option<Spanned<f64>>,
    pub(super) at_risk: Option<Spanned<f64>>,
    pub(super) at_risk_hours: Option<Spanned<f64>>,
    pub(super) calendar: Option<Spanned<String>>,
    /// Which clocks stop while the issue is paused (default: both).
    pub(super) pause: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLevel {
    pub(super) level: Option<Spanned<i64>>,
    pub(super) role: Spanned<String>,
    pub(super) wait_hours: Spanned<f64>,
    pub(super) create_task: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) name: Option<String>,
    pub(super) source: Option<OneOrMany<String>>,
    pub(super) priority: Option<OneOrMany<String>>,
    pub(super) tags: Option<OneOrMany<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) chain: Spanned<String>,
    pub(super) owner: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTracker {
    pub(super) kind: Spanned<String>,
    pub(super) url: Spanned<String>,
    pub(super) token: Spanned<RawSecret>,
    pub(super) project: Spanned<String>,
    pub(super) issue_type: Option<String>,
    pub(super) email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubscription {
    pub(super) url: Spanned<RawSecret>,
    pub(super) secret: Option<Spanned<RawSecret>>,
    pub(super) kinds: Option<Vec<Spanned<String>>>,
    /// `"start"` or `"now"`: where a new subscription's cursor begins.
    pub(super) from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    pub(super) description: Option<String>,
    pub(super) email: Option<Spanned<OneOrMany<String>>>,
    pub(super) slack: Option<Spanned<OneOrMany<RawSecret>>>,
    pub(super) webhook: Option<Spanned<OneOrMany<RawSecret>>>,
    pub(super) webhook_secret: Option<Spanned<RawSecret>>,
    /// Also print on the console (the default when a role has no contacts).
    pub(super) console: Option<bool>,
    /// People told of every page of this role.
    pub(super) members: Option<Spanned<Vec<Spanned<String>>>>,
    /// On-call layers: a later layer wins where it has someone on call.
    #[serde(default)]
    pub(super) rotations: Vec<Spanned<RawRotation>>,
}

/// `[sources.NAME]`: settings of one ticket source.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) webhook_secret: Option<Spanned<RawSecret>>,
    /// `https://acme.zendesk.com/agent/tickets/{external_id}`.
    pub(super) ticket_url: Option<Spanned<String>>,
}
