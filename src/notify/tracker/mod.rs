//! Engineering tasks in GitHub Issues, Jira and Linear: when an escalation
//! reaches engineering, escalate opens one task per issue and closes it on
//! resolve.
//!
//! **Once, across crashes and retries.** Every task carries a unique marker
//! (`escalate-42`): [`ensure`] looks the marker up first and creates only
//! when nothing carries it, so a process that died between creating a task
//! and recording it finds that task on its next attempt instead of opening
//! a second one (the same scheme as Alertmanager's Jira integration).
//!
//! | tracker | the marker is | looked up with |
//! |---------|---------------|----------------|
//! | GitHub  | a label, and a last body line `escalate-marker: …` | `GET /repos/{o}/{r}/issues?labels={marker}&state=all` (the issue list reads the primary store; the search API lags behind new issues by up to a minute, which is exactly the crash-and-retry window) |
//! | Jira    | a label | JQL `project = "OPS" AND labels = "…"` through `POST /rest/api/2/search/jql` (Jira Cloud; the old `/rest/api/2/search` answers 410 Gone there), falling back to `POST /rest/api/2/search` when that answers 404/405 (Server and Data Center) |
//! | Linear  | a last description line `escalate-marker: …` | GraphQL `issues(filter: {team, description: {contains}}, includeArchived: true)`, then an exact match on the line (so `escalate-4` never matches `escalate-42`) |
//!
//! Limits of that guarantee: two processes running `ensure` for the same
//! marker at the same moment can both create (no tracker offers a unique
//! constraint); Jira Cloud's search index is eventually consistent, so a
//! retry within seconds of a crash can miss the task it created. GitHub
//! silently drops labels when the token lacks triage/push access: [`create`]
//! detects that and fails permanently (naming the created issue) rather than
//! report success for a task that can never be found again.
//!
//! [`close`] comments, then closes where the tracker allows. The state change
//! is idempotent; the comment is at least once (a retry after a failed close
//! comments again).
//!
//! Errors are [`SendError`]s, classified for the retry policy: connection
//! failures, timeouts, 5xx, 408 and 429 (and GitHub's 403 rate limits,
//! Linear's `RATELIMITED`) are temporary, with the peer's Retry-After (or
//! rate-limit reset) when it gives one; every other answer — 401, 403, 404,
//! 422, GraphQL errors, a response of an unexpected shape — is permanent.
//! Messages name the tracker, the call and a redacted URL, and never contain
//! the token (it is scrubbed even from echoed response bodies).
//!
//! This module holds what the three share: the configuration and task
//! types, the dispatch on [`TrackerKind`], one HTTP exchange with its
//! authentication and error classification, and the title and marker rules.
//! What each API needs, and which endpoints it calls, lives in the private
//! `github`, `jira` and `linear` modules.

mod github;
mod jira;
mod linear;

use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{http, SendError};
use crate::config::{redact_url, TrackerKind};

/// One configured tracker.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// `[trackers.NAME]`
    pub name: String,
    pub kind: TrackerKind,
    /// `https://api.github.com`, `https://acme.atlassian.net`,
    /// `https://api.linear.app` (a Jira Server context path is kept).
    pub base_url: String,
    /// Already resolved from the environment by the caller.
    pub token: String,
    /// GitHub: `owner/repo`; Jira: the project key (`OPS`); Linear: the team id.
    pub project: String,
    /// Jira only: the issue type to create (default `Task`).
    pub issue_type: Option<String>,
    /// Jira Cloud: the user of Basic auth (the token is the API token);
    /// `None` sends the token as a Bearer token (Server/DC personal tokens).
    pub email: Option<String>,
}

impl TrackerConfig {
    /// From a parsed `[trackers.NAME]`, resolving the token (an error names
    /// the unset environment variable, never a value).
    pub fn from_config(t: &crate::config::Tracker) -> Result<TrackerConfig, String> {
        let token = t
            .token
            .resolve()
            .map_err(|e| format!("[trackers.{}] token: {e}", t.name))?;
        Ok(TrackerConfig {
            name: t.name.clone(),
            kind: t.kind,
            base_url: t.url.clone(),
            token,
            project: t.project.clone(),
            issue_type: t.issue_type.clone(),
            email: t.email.clone(),
        })
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// Unique per escalate issue, e.g. `escalate-42`: 1 to 50 ASCII letters,
    /// digits, `-`, `_` or `.` (it must be a valid label everywhere).
    pub marker: String,
    /// One line; newlines are folded and it is cut to 255 characters.
    pub title: String,
    /// Markdown or plain text.
    pub body: String,
}

/// A task in a tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    /// What people say: `#123`, `OPS-7`, `ENG-12`.
    pub key: String,
    /// Where people look.
    pub url: String,
    /// What the API needs to comment and close: the GitHub issue number, the
    /// Jira issue id (stable when the issue moves project), the Linear UUID.
    pub id: String,
}

/// The body line carrying the marker (GitHub body, Linear description).
pub const MARKER_LINE: &str = "escalate-marker: ";
/// The second label put on every task, to list them all in the tracker.
pub const LABEL: &str = "escalate";
/// GitHub refuses label names over 50 characters.
const MAX_MARKER: usize = 50;
/// Jira refuses a summary over 255 characters and GitHub's API a title over
/// 256; the smallest limit serves all three trackers (Linear included), so a
/// task reads the same wherever it is opened.
const MAX_TITLE: usize = 255;
/// How much of a response body an error message quotes.
const SNIPPET: usize = 200;

/// Look up the task carrying `marker`; `None` when there is none.
pub fn find(
    client: &Client,
    t: &TrackerConfig,
    marker: &str,
) -> Result<Option<TaskRef>, SendError> {
    let cx = Ctx::new(t, "find task");
    check_marker(&cx, marker)?;
    match t.kind {
        TrackerKind::Github => github::find(client, &cx, marker),
        TrackerKind::Jira => jira::find(client, &cx, marker),
        TrackerKind::Linear => linear::find(client, &cx, marker),
    }
}

/// Create a task carrying `spec.marker` (without looking first: see [`ensure`]).
pub fn create(client: &Client, t: &TrackerConfig, spec: &TaskSpec) -> Result<TaskRef, SendError> {
    let cx = Ctx::new(t, "create task");
    check_marker(&cx, &spec.marker)?;
    match t.kind {
        TrackerKind::Github => github::create(client, &cx, spec),
        TrackerKind::Jira => jira::create(client, &cx, spec),
        TrackerKind::Linear => linear::create(client, &cx, spec),
    }
}

/// find, then create if none: safe to repeat after a crash between create and recording.
pub fn ensure(client: &Client, t: &TrackerConfig, spec: &TaskSpec) -> Result<TaskRef, SendError> {
    match find(client, t, &spec.marker)? {
        Some(task) => Ok(task),
        None => create(client, t, spec),
    }
}

/// comment `text` on the task and close it where the tracker allows (GitHub:
/// close the issue with state_reason completed; Jira: comment, then try the
/// transition named like "Done"/"Closed"/"Resolved" (or else one into the
/// done status category) from GET transitions, setting a resolution when the
/// transition screen has one — if none, comment only; Linear: comment, then
/// move to the team's first state of type "completed" if found).
pub fn close(
    client: &Client,
    t: &TrackerConfig,
    task: &TaskRef,
    text: &str,
) -> Result<(), SendError> {
    match t.kind {
        TrackerKind::Github => github::close(client, t, task, text),
        TrackerKind::Jira => jira::close(client, t, task, text),
        TrackerKind::Linear => linear::close(client, t, task, text),
    }
}

// ---------------------------------------------------------------------------
// Shared plumbing: one call, its errors, its classification.

/// A tracker and the call being made, for error messages.
struct Ctx<'a> {
    t: &'a TrackerConfig,
    what: &'static str,
}

impl<'a> Ctx<'a> {
    fn new(t: &'a TrackerConfig, what: &'static str) -> Ctx<'a> {
        Ctx { t, what }
    }

    fn call(&self, what: &'static str) -> Ctx<'a> {
        Ctx { t: self.t, what }
    }

    fn message(&self, detail: &str) -> String {
        let msg = format!(
            "{} tracker {:?}: {}: {detail}",
            self.t.kind.as_str(),
            self.t.name,
            self.what
        );
        scrub(self.t, msg)
    }

    fn temporary(&self, detail: &str, after: Option<Duration>) -> SendError {
        SendError::Temporary(self.message(detail), after)
    }

    fn permanent(&self, detail: &str) -> SendError {
        SendError::Permanent(self.message(detail))
    }

    /// A peer's text fit to quote: secrets removed first, then cut (a
    /// token straddling the cut must not leave a part of itself behind).
    fn quote(&self, text: &str) -> String {
        snippet(&scrub(self.t, text.to_string()))
    }

    /// A 2xx answer that is not what the API documents.
    fn unexpected(&self, missing: &str, v: &Value) -> SendError {
        self.permanent(&format!(
            "unexpected response (no {missing}): {}",
            self.quote(&v.to_string())
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.t.base_url.trim_end_matches('/'))
    }
}

/// Remove every form of the credential from a message: a peer that refuses
/// a login may echo the Authorization header back in its body.
fn scrub(t: &TrackerConfig, mut msg: String) -> String {
    let mut secrets = vec![t.token.clone(), t.token.trim().to_string()];
    if let Some(email) = &t.email {
        // What Basic auth puts on the wire for `email:token`.
        let basic = format!("{email}:{}", t.token);
        secrets.push(base64::engine::general_purpose::STANDARD.encode(basic));
    }
    for s in secrets {
        // A token of a few characters would scrub ordinary words.
        if s.len() >= 4 && msg.contains(&s) {
            msg = msg.replace(&s, "[redacted]");
        }
    }
    msg
}

/// A response body fit to quote in an error: one line, at most
/// [`SNIPPET`] characters and a '…'.
fn snippet(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET + 1)
        .collect();
    if s.chars().count() > SNIPPET {
        format!("{}…", s.chars().take(SNIPPET).collect::<String>())
    } else {
        s
    }
}

fn check_marker(cx: &Ctx, marker: &str) -> Result<(), SendError> {
    let ok = !marker.is_empty()
        && marker.len() <= MAX_MARKER
        && marker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(cx.permanent(&format!(
            "invalid marker {:?}: use 1 to {MAX_MARKER} ASCII letters, digits, '-', '_' or '.'",
            snippet(marker)
        )))
    }
}

/// One line, at most [`MAX_TITLE`] characters (Jira refuses newlines in a
/// summary).
fn title(title: &str) -> String {
    crate::text::truncate(&crate::text::one_line(title), MAX_TITLE)
}

/// `body`, cut to leave room for the marker line, then the marker line last
/// (where [`find`] on GitHub and Linear, and people, look for it).
fn with_marker(body: &str, marker: &str, max: usize) -> String {
    let line = format!("{MARKER_LINE}{marker}");
    let room = max.saturating_sub(line.chars().count() + 2);
    let body = crate::text::truncate(body.trim_end(), room);
    if body.is_empty() {
        line
    } else {
        format!("{body}\n\n{line}")
    }
}

/// Everything but RFC 3986's unreserved characters is escaped, so a value
/// can never end a path segment or start another query parameter.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode one URL path segment or query value.
fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The raw outcome of one HTTP exchange.
struct Reply {
    label: String,
    status: StatusCode,
    retry_after: Option<Duration>,
    /// A rate limit signalled other than by 429 (GitHub answers 403).
    rate_limited: bool,
    body: String,
}

/// Send one request with the tracker's headers; only transport failures are
/// errors here.
fn exchange(
    client: &Client,
    cx: &Ctx,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, SendError> {
    let url = cx.url(path);
    let label = format!("{method} {}", redact_url(&url));
    if cx.t.token.trim().is_empty() {
        return Err(cx.permanent(&format!("{label}: no token configured")));
    }
    let mut req = authorize(cx.t, client.request(method, &url));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().map_err(|e| send_error(cx, &label, e))?;
    let status = resp.status();
    if status.is_redirection() {
        // Not followed: a redirect would carry the token to another host.
        return Err(
            match http::redirected(&label, &url, status, resp.headers()) {
                SendError::Permanent(m) => cx.permanent(&m),
                SendError::Temporary(m, _) => cx.temporary(&m, None),
            },
        );
    }
    let headers = resp.headers().clone();
    // Bounded: an endless answer must not grow memory. A 2xx is parsed
    // (so it is read up to a large cap, and refused past it); an error
    // body is only quoted.
    let cap = if status.is_success() {
        http::KEEP_JSON
    } else {
        http::KEEP
    };
    let (body, err) = http::read_capped(resp, cap + 1);
    if let Some(e) = err.filter(|_| status.is_success()) {
        let kind = if e.kind() == std::io::ErrorKind::TimedOut || is_timeout(&e) {
            "timed out reading the body"
        } else {
            "reading the body failed"
        };
        return Err(cx.temporary(&format!("{label}: HTTP {status}: {kind}: {e}"), None));
    }
    if status.is_success() && body.len() > cap {
        return Err(cx.permanent(&format!(
            "{label}: HTTP {status}: unexpected response (larger than {} MiB)",
            cap / (1024 * 1024)
        )));
    }
    Ok(Reply {
        label,
        status,
        retry_after: retry_after(&headers),
        rate_limited: rate_limited(status, &headers),
        body,
    })
}

/// Whether an I/O error from reading a body is reqwest's deadline.
fn is_timeout(e: &std::io::Error) -> bool {
    http::any_cause(e.get_ref().map(|r| r as _), |s| {
        s.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    })
}

/// A request that got no answer: worth retrying unless it could not even
/// be built (a token or URL that is not a valid header or URL).
fn send_error(cx: &Ctx, label: &str, e: reqwest::Error) -> SendError {
    let (kind, temporary) = if e.is_builder() {
        ("invalid request (check the token and base URL)", false)
    } else if http::refused_link_local(&e) {
        ("refused", false)
    } else if e.is_timeout() {
        ("timed out", true)
    } else if e.is_connect() {
        ("connection failed", true)
    } else {
        ("request failed", true)
    };
    // without_url: the URL may carry what the message must not.
    let detail = format!("{label}: {kind}: {}", e.without_url());
    if temporary {
        cx.temporary(&detail, None)
    } else {
        cx.permanent(&detail)
    }
}

/// GitHub signals an exhausted rate limit with 403 rather than 429; either
/// header tells it from a 403 for missing access.
fn rate_limited(status: StatusCode, headers: &HeaderMap) -> bool {
    let remaining_zero = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    status == StatusCode::FORBIDDEN && (headers.contains_key("retry-after") || remaining_zero)
}

/// The tracker's credentials and the headers its API asks for. reqwest's
/// `bearer_auth`/`basic_auth` mark the header sensitive, keeping it out of
/// debug output.
fn authorize(t: &TrackerConfig, req: RequestBuilder) -> RequestBuilder {
    let token = t.token.trim();
    match t.kind {
        TrackerKind::Github => req
            .bearer_auth(token)
            .header("accept", "application/vnd.github+json")
            // Pinned so a new API version cannot change the shapes read here.
            .header("x-github-api-version", "2022-11-28")
            // GitHub refuses requests without a User-Agent.
            .header(
                "user-agent",
                concat!("escalate/", env!("CARGO_PKG_VERSION")),
            ),
        TrackerKind::Jira => {
            let req = match t.email.as_deref().map(str::trim) {
                // Jira Cloud: the account email and an API token.
                Some(email) if !email.is_empty() => req.basic_auth(email, Some(token)),
                // Server and Data Center: a personal access token.
                _ => req.bearer_auth(token),
            };
            req.header("accept", "application/json")
        }
        // Linear API keys are sent as they are, without "Bearer" (which
        // Linear reserves for OAuth tokens).
        TrackerKind::Linear => req
            .header("authorization", token)
            .header("accept", "application/json"),
    }
}

/// When to try again: Retry-After (seconds or an HTTP date), else GitHub's
/// `x-ratelimit-reset` (epoch seconds) or Linear's
/// `x-ratelimit-requests-reset` (epoch milliseconds) once exhausted.
///
/// Absolute times are measured against the reply's own `Date` header, as
/// RFC 9110 intends: the delay is then right even when this host's clock
/// (or a simulated `--now`) differs from the tracker's. Without a `Date`
/// an absolute time is ignored and the usual backoff applies.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let date = get("date")
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.timestamp() as f64);
    let until = |epoch_secs: f64| {
        date.map(|now| Duration::from_secs_f64((epoch_secs - now).max(0.0).ceil()))
    };
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            return until(at.timestamp() as f64);
        }
    }
    if get("x-ratelimit-remaining") == Some("0") {
        if let Some(reset) = get("x-ratelimit-reset").and_then(|v| v.parse::<f64>().ok()) {
            return until(reset);
        }
    }
    if get("x-ratelimit-requests-remaining") == Some("0") {
        if let Some(reset) = get("x-ratelimit-requests-reset").and_then(|v| v.parse::<f64>().ok()) {
            // milliseconds, though tolerate seconds
            return until(if reset > 1e11 { reset / 1000.0 } else { reset });
        }
    }
    None
}

/// 2xx → the JSON body (`null` when empty); otherwise the classified error.
fn classify(cx: &Ctx, reply: Reply) -> Result<Value, SendError> {
    let status = reply.status;
    if status.is_success() {
        if reply.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(&reply.body).map_err(|_| {
            cx.permanent(&format!(
                "{}: unexpected response (not JSON): {}",
                reply.label,
                cx.quote(&reply.body)
            ))
        });
    }
    let msg = http::status_message(&reply.label, status, &cx.quote(reply.body.trim()));
    if http::is_temporary(status) || reply.rate_limited {
        Err(cx.temporary(&msg, reply.retry_after))
    } else {
        Err(cx.permanent(&msg))
    }
}

/// One call, its answer classified: the JSON of a 2xx, else the error.
fn request(
    client: &Client,
    cx: &Ctx,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, SendError> {
    let reply = exchange(client, cx, method, path, body)?;
    classify(cx, reply)
}

/// A string or number at a JSON pointer, as text.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// [`text_at`], or a permanent error naming what the answer lacked.
fn need(cx: &Ctx, v: &Value, pointer: &str) -> Result<String, SendError> {
    text_at(v, pointer).ok_or_else(|| cx.unexpected(pointer, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(title("a\nb\t c "), "a b c");
        let long = "x".repeat(300);
        assert_eq!(title(&long).chars().count(), MAX_TITLE);
    }

    #[test]
    fn url_components_escape_all_but_unreserved() {
        assert_eq!(encode("escalate-4.2_x~"), "escalate-4.2_x~");
        assert_eq!(encode("a b/c?d&e=f#g%"), "a%20b%2Fc%3Fd%26e%3Df%23g%25");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn basic_credentials_are_scrubbed() {
        let t = TrackerConfig {
            name: "jira".into(),
            kind: TrackerKind::Jira,
            base_url: "https://jira.test".into(),
            token: "tok-SECRET-123456".into(),
            project: "OPS".into(),
            issue_type: None,
            email: Some("ops@acme.test".into()),
        };
        // base64("ops@acme.test:tok-SECRET-123456"), as reqwest sends it.
        let basic = "b3BzQGFjbWUudGVzdDp0b2stU0VDUkVULTEyMzQ1Ng==";
        let msg = scrub(&t, format!("bad credentials: Basic {basic}"));
        assert_eq!(msg, "bad credentials: Basic [redacted]");
    }

    #[test]
    fn a_token_straddling_the_cut_is_redacted_before_it() {
        let t = TrackerConfig {
            name: "gh".into(),
            kind: TrackerKind::Github,
            base_url: "https://api.github.test".into(),
            token: "ghp_SECRETSECRETSECRET0123456789".into(),
            project: "o/r".into(),
            issue_type: None,
            email: None,
        };
        let cx = Ctx::new(&t, "find task");
        // every position where the token crosses the SNIPPET boundary
        for pad in SNIPPET - t.token.len()..SNIPPET + 1 {
            let body = format!("{}{} was refused", "x".repeat(pad), t.token);
            let shown = cx.quote(&body);
            assert!(!shown.contains("ghp_"), "pad {pad}: {shown}");
            assert!(!shown.contains("SECRETSEC"), "pad {pad}: {shown}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_rate_limit_resets() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let mut h = HeaderMap::new();
        h.insert("retry-after", date.parse().expect("header"));
        // No Date to measure against: the usual backoff applies.
        assert_eq!(retry_after(&h), None);
        h.insert(
            "date",
            "Sun, 06 Nov 1994 08:48:37 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
        let mut h = HeaderMap::new();
        // 1994-11-06T08:49:37Z
        let now = 784_111_777;
        h.insert("date", date.parse().expect("header"));
        h.insert("x-ratelimit-remaining", "0".parse().expect("header"));
        h.insert(
            "x-ratelimit-reset",
            (now + 60).to_string().parse().expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
        // A reset already past waits no longer.
        h.insert(
            "x-ratelimit-reset",
            (now - 5).to_string().parse().expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
