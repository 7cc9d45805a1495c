//! Where a destination URL points, judged from the text alone (no DNS): a
//! URL whose host is an IP address written in an obfuscated form
//! (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, percent escapes) is
//! refused, since the form exists only to slip past a reviewer's eye; a
//! link-local address (169.254.0.0/16, home of cloud metadata services,
//! and fe80::/10) is refused unless `[delivery] allow_link_local = true`,
//! because a page or an event POSTed there can read or change the host's
//! credentials (SSRF). Loopback and private addresses stay allowed (local
//! relays and tests use them) and are only noted by `config check`.
//!
//! Host names are not resolved: a name that resolves to a link-local
//! address is not caught here (DNS at load time would make the config
//! check depend on the network and still race with later answers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::secrets::redact_url;
use super::{Config, Contact, Secret};

/// What kind of address a URL's host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClass {
    /// A host name or a public IP address.
    Public,
    Loopback,
    Private,
    LinkLocal,
}

/// The class of a parsed URL's host (`localhost` counts as loopback).
pub fn host_class(url: &reqwest::Url) -> HostClass {
    if let Some(ip) = host_ip(url) {
        return ip_class(ip);
    }
    let d = url
        .host_str()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if d == "localhost" || d.ends_with(".localhost") {
        HostClass::Loopback
    } else {
        HostClass::Public
    }
}

/// The host as an IP address, when the URL parser read it as one (it
/// gives IPv6 in brackets and IPv4 in dotted decimal, whatever was written).
fn host_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

/// Whether `ip` is link-local (169.254.0.0/16, fe80::/10, or the former
/// written as an IPv4-mapped IPv6 address): where cloud metadata lives.
pub fn is_link_local(ip: IpAddr) -> bool {
    ip_class(ip) == HostClass::LinkLocal
}

fn ip_class(ip: IpAddr) -> HostClass {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // ::ffff:169.254.169.254 reaches the IPv4 address.
            Some(v4) => v4_class(v4),
            None => v6_class(v6),
        },
    }
}

fn v4_class(ip: Ipv4Addr) -> HostClass {
    if ip.is_link_local() {
        HostClass::LinkLocal
    } else if ip.is_loopback() {
        HostClass::Loopback
    } else if ip.is_private() {
        HostClass::Private
    } else {
        HostClass::Public
    }
}

fn v6_class(ip: Ipv6Addr) -> HostClass {
    let first = ip.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        HostClass::LinkLocal
    } else if ip.is_loopback() {
        HostClass::Loopback
    } else if first & 0xfe00 == 0xfc00 {
        // fc00::/7, unique local: IPv6's private ranges.
        HostClass::Private
    } else {
        HostClass::Public
    }
}

/// The host exactly as written in `url` (userinfo and port removed), or
/// `None` for a bracketed IPv6 literal, whose spellings are all legitimate.
fn written_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.starts_with('[') {
        return None;
    }
    Some(match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    })
}

/// Refuses an obfuscated IP host and, unless allowed, a link-local one.
/// `url` must already have passed `check_http_url`.
pub(super) fn check_destination(url: &str, allow_link_local: bool) -> Result<(), String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Ok(());
    };
    if let (Some(IpAddr::V4(ip)), Some(written)) = (host_ip(&parsed), written_host(url)) {
        // The URL parser reads every historical IPv4 spelling; only the
        // dotted-decimal one is what a reader sees.
        if !written.eq_ignore_ascii_case(&ip.to_string()) {
            return Err(format!(
                "`{written}` is an obfuscated spelling of the IP address {ip}; write {ip} \
                 (octal, hex, integer and shortened forms are refused)"
            ));
        }
    }
    if host_class(&parsed) == HostClass::LinkLocal && !allow_link_local {
        let host = parsed.host_str().unwrap_or("");
        return Err(format!(
            "`{}` points at the link-local address {host} (cloud metadata and other \
             host-only services live there); set [delivery] allow_link_local = true if \
             that is really meant",
            redact_url(url)
        ));
    }
    Ok(())
}

/// A note for `config check` when `url` points at a loopback or private
/// address: allowed, but worth a second look in production.
pub(super) fn note(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let what = match host_class(&parsed) {
        HostClass::Loopback => "a loopback address (this host only)",
        HostClass::Private => "a private-network address",
        HostClass::LinkLocal => "a link-local address (allowed by [delivery] allow_link_local)",
        HostClass::Public => return None,
    };
    Some(format!("`{}` points at {what}", redact_url(url)))
}

impl Config {
    /// Every destination URL and the key that names it: Slack and webhook
    /// contacts, subscriptions, trackers.
    fn destinations(&self) -> Vec<(String, Secret)> {
        let mut out = Vec::new();
        for role in self.roles.values() {
            for c in &role.contacts {
                match c {
                    Contact::Slack(url) => {
                        out.push((format!("role `{}` slack", role.name), url.clone()))
                    }
                    Contact::Webhook { url, .. } => {
                        out.push((format!("role `{}` webhook", role.name), url.clone()))
                    }
                    Contact::Console | Contact::Email(_) => {}
                }
            }
        }
        for (i, s) in self.subscriptions.iter().enumerate() {
            out.push((format!("[[subscriptions]] #{} url", i + 1), s.url.clone()));
        }
        for t in self.trackers.values() {
            out.push((
                format!("[trackers.{}] url", t.name),
                Secret::Literal(t.url.clone()),
            ));
        }
        out
    }

    /// URLs from the environment that point where a literal one may not
    /// (checked here because they are only known where pages are sent).
    pub(super) fn destination_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, url) in self.destinations() {
            if let (Secret::Env(_), Ok(value)) = (&url, url.resolve()) {
                let checked = super::check::check_http_url(&value)
                    .and_then(|()| check_destination(&value, self.delivery.allow_link_local));
                if let Err(m) = checked {
                    problems.push(format!("{key} (from the environment): {m}"));
                }
            }
        }
        problems
    }

    /// `config check` notes: destinations on loopback or private addresses
    /// (allowed: local relays and tests use them, but rarely meant in
    /// production). Env URLs are included when the variable is set.
    pub fn destination_notes(&self) -> Vec<String> {
        self.destinations()
            .into_iter()
            .filter_map(|(key, url)| {
                let value = url.resolve().ok()?;
                note(&value).map(|n| format!("note: {key}: {n}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{check_destination, note};

    #[test]
    fn obfuscated_and_link_local_hosts_are_refused_plain_ones_allowed() {
        // (url, refused without the opt-in, refused with it, fragment)
        let cases: &[(&str, bool, bool, &str)] = &[
            (
                "http://169.254.169.254/latest/meta-data/",
                true,
                false,
                "link-local",
            ),
            ("http://169.254.0.1:8080/x", true, false, "link-local"),
            ("https://[fe80::1]/hook", true, false, "link-local"),
            ("https://[febf::1]/hook", true, false, "link-local"),
            (
                "http://[::ffff:169.254.169.254]/",
                true,
                false,
                "link-local",
            ),
            ("http://2130706433/", true, true, "obfuscated"),
            ("http://0x7f.1/", true, true, "obfuscated"),
            ("http://0x7f000001/", true, true, "obfuscated"),
            ("http://0177.0.0.1/", true, true, "obfuscated"),
            ("http://127.1/", true, true, "obfuscated"),
            ("http://127.0.1/", true, true, "obfuscated"),
            ("http://2852039166/", true, true, "obfuscated"),
            ("http://0xA9.0xFE.0xA9.0xFE/", true, true, "obfuscated"),
            ("http://%31%32%37.0.0.1/", true, true, "obfuscated"),
            ("http://user:pw@0x7f.1:8080/", true, true, "obfuscated"),
            ("http://127.0.0.1:9/hook", false, false, ""),
            ("http://10.1.2.3/hook", false, false, ""),
            ("http://192.168.0.10/hook", false, false, ""),
            ("http://[::1]:80/hook", false, false, ""),
            ("https://hooks.slack.com/services/T/B/X", false, false, ""),
            ("https://169.254.example.com/x", false, false, ""),
            ("http://localhost:8080/x", false, false, ""),
            ("https://[fec0::1]/x", false, false, ""),
        ];
        for (url, refused, refused_anyway, fragment) in cases {
            let strict = check_destination(url, false);
            assert_eq!(strict.is_err(), *refused, "{url}: {strict:?}");
            if let Err(m) = strict {
                assert!(m.contains(fragment), "{url}: {m}");
            }
            let allowed = check_destination(url, true);
            assert_eq!(allowed.is_err(), *refused_anyway, "{url}: {allowed:?}");
        }
    }

    #[test]
    fn loopback_and_private_addresses_get_a_note() {
        let cases = [
            ("http://127.0.0.1:9/h", Some("loopback")),
            ("http://localhost/h", Some("loopback")),
            ("http://[::1]/h", Some("loopback")),
            ("http://10.0.0.1/h", Some("private")),
            ("http://172.16.5.4/h", Some("private")),
            ("http://192.168.1.1/h", Some("private")),
            ("http://[fd00::1]/h", Some("private")),
            ("https://example.com/h", None),
            ("http://8.8.8.8/h", None),
        ];
        for (url, want) in cases {
            let got = note(url);
            match want {
                Some(w) => assert!(
                    got.as_deref().is_some_and(|n| n.contains(w)),
                    "{url}: {got:?}"
                ),
                None => assert_eq!(got, None, "{url}"),
            }
            // Notes name the host, never the path (the credential).
            assert!(!got.unwrap_or_default().contains("/h`"), "{url}");
        }
    }
}
