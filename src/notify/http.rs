//! HTTP shared by the Slack, webhook, subscription and tracker channels,
//! with the outcome classified for the retry policy. Error texts never
//! include the URL (its path is the credential).
//!
//! Three limits hold for every exchange, whatever the peer does:
//! - **one deadline** (`delivery.timeout`) for the whole request, the body
//!   of the answer included: a peer that drips one byte at a time cannot
//!   stretch it (reqwest's blocking timeout restarts on every read; the
//!   inner client's total timeout does not);
//! - **bounded reads**: at most what is kept of an answer is read
//!   ([`KEEP`] of an error body, [`KEEP_JSON`] of a tracker's JSON);
//! - **no redirects**: a 3xx is a failure naming where it pointed
//!   ([`redirected`]), never a re-POST of the body and its signature to
//!   another host, nor a body-less GET recorded as sent.
//!
//! And one for where it goes: a host name is resolved by [`Guarded`], which
//! drops link-local answers unless `[delivery] allow_link_local` (the
//! config refuses link-local IP literals; a name such as
//! `metadata.google.internal` resolves there too).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::SendError;

/// How much of an error body is read (an excerpt of it is quoted).
pub const KEEP: usize = 64 * 1024;
/// How much of a tracker's JSON answer is read: search results and issue
/// records are a few KiB; anything past this is not an answer we can use.
pub const KEEP_JSON: usize = 4 * 1024 * 1024;
/// How much of a peer's error body a message quotes, in characters.
pub const EXCERPT: usize = 200;

pub fn client(timeout: Duration, allow_link_local: bool) -> Result<Client, String> {
    super::install_crypto();
    // The async builder's timeout is a total deadline, body included; the
    // blocking one's applies per phase and restarts on every body read.
    let total = reqwest::Client::builder().timeout(timeout);
    reqwest::blocking::ClientBuilder::from(total)
        .dns_resolver(Arc::new(Guarded { allow_link_local }))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("escalate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
}

/// POST `body` as JSON; `label` (a redacted URL) names the peer in errors.
pub fn post(
    client: &Client,
    url: &str,
    label: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> Result<(), SendError> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        let refused = refused_link_local(&e);
        let detail = format!("{label}: {kind}: {}", e.without_url());
        if refused {
            SendError::Permanent(detail)
        } else {
            SendError::Temporary(detail, None)
        }
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        return Err(redirected(label, url, status, resp.headers()));
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // A body cut short by the deadline or a reset still says something.
    let (text, _) = read_capped(resp, KEEP);
    let msg = status_message(label, status, &excerpt(&scrub_url(&text, url)));
    if is_temporary(status) {
        Err(SendError::Temporary(msg, retry_after))
    } else {
        Err(SendError::Permanent(msg))
    }
}

/// Read at most `cap` bytes of a body, as (lossy) text, and whether the
/// read ended in an error (a timeout, a reset) rather than at the end or
/// the cap. The rest of the body is never read: the connection is dropped.
pub fn read_capped(resp: Response, cap: usize) -> (String, Option<std::io::Error>) {
    let mut buf = Vec::with_capacity(cap.min(16 * 1024));
    let err = resp.take(cap as u64).read_to_end(&mut buf).err();
    (String::from_utf8_lossy(&buf).into_owned(), err)
}

/// Remove the URL, and its path (the credential of Slack and most webhook
/// URLs), from a peer's text before anything of it is cut or shown: a
/// secret that straddles the cut must not leave half of itself behind.
fn scrub_url(text: &str, url: &str) -> String {
    let mut out = text.replace(url, "[redacted]");
    if let Ok(u) = reqwest::Url::parse(url) {
        let path = u.path();
        // A short path ("/", "/hook") is no secret and would scrub words.
        if path.len() >= 8 {
            out = out.replace(path, "[redacted]");
        }
        if let Some(q) = u.query().filter(|q| q.len() >= 8) {
            out = out.replace(q, "[redacted]");
        }
    }
    out
}

/// A peer's text fit to quote: control characters dropped, at most
/// [`EXCERPT`] characters. Cut only after secrets were removed.
pub fn excerpt(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT)
        .collect()
}

/// A 3xx answer, not followed: `LABEL: HTTP 307 …: redirected to HOST (not
/// followed)`. Only the host is named (the rest of a Location may carry a
/// token). 301 and 308 say the address moved for good: permanent (fix the
/// URL, then `outbox retry`). 302, 303 and 307 say "elsewhere for now":
/// temporary, retried with backoff, dead after `max_attempts`.
pub fn redirected(label: &str, url: &str, status: StatusCode, headers: &HeaderMap) -> SendError {
    let host = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| reqwest::Url::parse(url).ok()?.join(loc.trim()).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    let to = match host {
        Some(h) => format!("redirected to {} (not followed)", excerpt(&h)),
        None => "redirected (not followed)".to_string(),
    };
    let msg = status_message(label, status, &to);
    if matches!(
        status,
        StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
    ) || !status.is_redirection()
    {
        SendError::Permanent(msg)
    } else {
        SendError::Temporary(msg, None)
    }
}

/// Whether a failed HTTP status is worth retrying: 429, 408 and 5xx.
pub fn is_temporary(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// `LABEL: HTTP 503 Service Unavailable: <body excerpt>`.
pub fn status_message(label: &str, status: StatusCode, excerpt: &str) -> String {
    if excerpt.is_empty() {
        format!("{label}: HTTP {status}")
    } else {
        format!("{label}: HTTP {status}: {excerpt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_straddling_the_cut_is_redacted_whole() {
        let url = "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXX";
        for pad in 150..EXCERPT {
            let body = format!("{}{url} is not a valid hook", "x".repeat(pad));
            let shown = excerpt(&scrub_url(&body, url));
            assert!(!shown.contains("XXXXXXXX"), "pad {pad}: {shown}");
            assert!(!shown.contains("services/T000"), "pad {pad}: {shown}");
        }
        // the path alone, echoed without the host
        let body = format!(
            "{}/services/T000/B000/XXXXXXXXXXXXXXXXXXXX",
            "y".repeat(190)
        );
        assert!(!excerpt(&scrub_url(&body, url)).contains("/services/T0"));
    }

    #[test]
    fn redirects_name_the_host_only_and_classify_by_status() {
        let mut h = HeaderMap::new();
        h.insert(
            "location",
            "https://evil.example:8443/steal?token=s3cr3t"
                .parse()
                .expect("value"),
        );
        let url = "https://hooks.example.com/x";
        for (code, permanent) in [
            (301, true),
            (302, false),
            (303, false),
            (307, false),
            (308, true),
        ] {
            let status = StatusCode::from_u16(code).expect("status");
            let e = redirected("webhook w", url, status, &h);
            assert!(
                e.message()
                    .ends_with("redirected to evil.example (not followed)"),
                "{e:?}"
            );
            assert!(!e.message().contains("s3cr3t"));
            assert_eq!(matches!(e, SendError::Permanent(_)), permanent, "{code}");
        }
        let e = redirected("w", url, StatusCode::FOUND, &HeaderMap::new());
        assert!(e.message().ends_with("redirected (not followed)"));
        // a relative Location names the same host
        let mut rel = HeaderMap::new();
        rel.insert("location", "/elsewhere".parse().expect("value"));
        let e = redirected("w", url, StatusCode::FOUND, &rel);
        assert!(e.message().contains("redirected to hooks.example.com"));
    }
}

/// The system resolver, minus link-local answers unless they are allowed.
/// A name that resolves only there is refused with [`LinkLocal`].
struct Guarded {
    allow_link_local: bool,
}

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_link_local;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = keep_reachable(&host, found, allow)?;
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses a request may use: all of them when link-local is
/// allowed, else the others; none left is an error naming the host.
fn keep_reachable(
    host: &str,
    found: Vec<SocketAddr>,
    allow_link_local: bool,
) -> Result<Vec<SocketAddr>, LinkLocal> {
    if allow_link_local {
        return Ok(found);
    }
    let any = !found.is_empty();
    let kept: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| !crate::config::is_link_local(a.ip()))
        .collect();
    if any && kept.is_empty() {
        return Err(LinkLocal(host.to_string()));
    }
    Ok(kept)
}

/// A host name that resolves only to link-local addresses.
#[derive(Debug)]
pub struct LinkLocal(String);

impl std::fmt::Display for LinkLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to link-local addresses (cloud metadata and other host-only \
             services live there); set [delivery] allow_link_local = true if that is really meant",
            self.0
        )
    }
}

impl std::error::Error for LinkLocal {}

/// Whether a failed request was [`Guarded`] refusing the host: permanent,
/// the config must change.
pub fn refused_link_local(e: &reqwest::Error) -> bool {
    any_cause(Some(e), |s| s.is::<LinkLocal>())
}

/// Whether `e` or any error behind it (its `source` chain) is `wanted`:
/// reqwest wraps the cause of a failure in layers of its own.
pub fn any_cause(
    e: Option<&(dyn std::error::Error + 'static)>,
    wanted: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    std::iter::successors(e, |s| s.source()).any(wanted)
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().filter_map(|a| a.parse().ok()).collect()
    }

    #[test]
    fn link_local_answers_are_dropped_unless_allowed() {
        let mixed = addrs(&["169.254.169.254:0", "10.0.0.5:0", "[fe80::1]:0"]);
        assert_eq!(
            keep_reachable("h", mixed.clone(), false).ok(),
            Some(addrs(&["10.0.0.5:0"]))
        );
        assert_eq!(keep_reachable("h", mixed.clone(), true).ok(), Some(mixed));
        let only = addrs(&["169.254.169.254:0", "[::ffff:169.254.1.1]:0"]);
        let err = keep_reachable("metadata.google.internal", only, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("metadata.google.internal resolves only to link-local"));
        assert_eq!(
            keep_reachable("h", Vec::new(), false).ok(),
            Some(Vec::new())
        );
    }
}
