//! `[server]` → [`Server`]: what `escalate serve` needs — the public URL its
//! action links point at, the secrets that sign and check requests, an
//! in-process check interval, and how long a link lives.

use chrono::TimeDelta;
use toml::Spanned;

use super::check::check_http_url;
use super::error::{ConfigError, Source};
use super::raw::{RawSecret, RawServer};
use super::secrets::secret;
use super::Secret;

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Server {
    /// Where people reach `serve` (no trailing slash); links need it.
    pub public_url: Option<String>,
    /// Signs action links.
    pub secret: Option<Secret>,
    /// Checks Slack's request signatures (`/slack/actions`).
    pub slack_signing_secret: Option<Secret>,
    /// The bearer token `/ingest` requires.
    pub ingest_token: Option<Secret>,
    /// Run `check` in-process this often (None: cron does it).
    pub check_every: Option<TimeDelta>,
    /// How long an action link is good for.
    pub link_ttl: TimeDelta,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the
    /// per-client rate limit); empty: the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Default link lifetime: a long weekend.
const DEFAULT_LINK_TTL_HOURS: f64 = 72.0;

pub(super) fn convert(raw: Option<RawServer>, src: &Source) -> Result<Server, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Server {
            link_ttl: hours(DEFAULT_LINK_TTL_HOURS),
            ..Server::default()
        });
    };
    let public_span = raw.public_url.as_ref().map(|u| u.span()).unwrap_or(0..0);
    let public_url = match raw.public_url {
        Some(u) => {
            let url = u.get_ref().trim().trim_end_matches('/').to_string();
            check_http_url(&url)
                .map_err(|m| src.at(u.span(), format!("[server] public_url: {m}")))?;
            Some(url)
        }
        None => None,
    };
    let sec = |s: Option<Spanned<RawSecret>>| s.map(|s| secret(s).value);
    let link_secret = sec(raw.secret);
    if public_url.is_some() && link_secret.is_none() {
        return Err(src.at(
            public_span,
            "[server] public_url needs `secret` (it signs the action links)",
        ));
    }
    let check_every = match raw.check_every {
        Some(c) => Some(interval(c.get_ref()).map_err(|m| src.at(c.span(), m))?),
        None => None,
    };
    let ttl = match raw.link_ttl_hours {
        Some(h) => {
            let v = *h.get_ref();
            if !v.is_finite() || v <= 0.0 || v > 24.0 * 90.0 {
                return Err(src.at(
                    h.span(),
                    format!(
                        "[server] link_ttl_hours must be more than 0 and at most 90 days (got {v})"
                    ),
                ));
            }
            hours(v)
        }
        None => hours(DEFAULT_LINK_TTL_HOURS),
    };
    Ok(Server {
        public_url,
        secret: link_secret,
        slack_signing_secret: sec(raw.slack_signing_secret),
        ingest_token: sec(raw.ingest_token),
        check_every,
        link_ttl: ttl,
        trusted_proxies: proxies(raw.trusted_proxies.unwrap_or_default(), src)?,
    })
}

/// `trusted_proxies`: addresses (`10.0.0.7`, `::1`) or ranges
/// (`10.0.0.0/8`).
fn proxies(raw: Vec<Spanned<String>>, src: &Source) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.into_iter()
        .map(|p| {
            let text = p.get_ref().trim();
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    src.at(
                        p.span(),
                        format!(
                            "[server] trusted_proxies: `{text}` is not an IP address or a range \
                             such as 10.0.0.0/8"
                        ),
                    )
                })
        })
        .collect()
}

fn hours(h: f64) -> TimeDelta {
    TimeDelta::milliseconds((h * 3_600_000.0).round() as i64)
}

/// `check_every`: 10 seconds to a day.
fn interval(s: &str) -> Result<TimeDelta, String> {
    let bad = || format!("[server] check_every `{s}` is not a duration from 10s to 1d (e.g. 5m)");
    let d = humantime::parse_duration(s.trim()).map_err(|_| bad())?;
    let d = TimeDelta::from_std(d).map_err(|_| bad())?;
    if d < TimeDelta::seconds(10) || d > TimeDelta::days(1) {
        return Err(bad());
    }
    Ok(d)
}
