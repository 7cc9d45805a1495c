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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{http, SendError};
use crate::config::redact_url;

/// Which tracker a `[trackers.NAME]` section talks to: the config's own
/// enum, re-exported so a parsed config needs no conversion.
pub use crate::config::TrackerKind;

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
const MAX_MARKER: usize = 50;
const MAX_TITLE: usize = 255;
const MAX_GITHUB_BODY: usize = 65_000;
const MAX_JIRA_DESCRIPTION: usize = 32_000;
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

    /// A 2xx answer that is not what the API documents.
    fn unexpected(&self, missing: &str, v: &Value) -> SendError {
        self.permanent(&format!(
            "unexpected response (no {missing}): {}",
            snippet(&v.to_string())
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.t.base_url.trim_end_matches('/'))
    }
}

/// Remove every form of the credential from a message.
fn scrub(t: &TrackerConfig, mut msg: String) -> String {
    let mut secrets = vec![t.token.clone(), t.token.trim().to_string()];
    if let Some(email) = &t.email {
        secrets.push(base64(format!("{email}:{}", t.token).as_bytes()));
    }
    for s in secrets {
        if s.len() >= 4 && msg.contains(&s) {
            msg = msg.replace(&s, "[redacted]");
        }
    }
    msg
}

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

/// One line, at most 255 characters (Jira refuses newlines and longer summaries).
fn one_line(title: &str) -> String {
    cut(&crate::text::one_line(title), MAX_TITLE)
}

/// At most `max` characters, marking a cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn with_marker(body: &str, marker: &str, max: usize) -> String {
    let line = format!("{MARKER_LINE}{marker}");
    let room = max.saturating_sub(line.chars().count() + 2);
    let body = cut(body.trim_end(), room);
    if body.is_empty() {
        line
    } else {
        format!("{body}\n\n{line}")
    }
}

/// Percent-encode one URL component (everything but RFC 3986 unreserved).
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (for HTTP Basic auth).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
    let t = cx.t;
    let url = cx.url(path);
    let label = format!("{method} {}", redact_url(&url));
    if t.token.trim().is_empty() {
        return Err(cx.permanent(&format!("{label}: no token configured")));
    }
    let mut req = authorize(t, client.request(method, &url));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().map_err(|e| {
        let (kind, temporary) = if e.is_builder() {
            ("invalid request (check the token and base URL)", false)
        } else if e.is_timeout() {
            ("timed out", true)
        } else if e.is_connect() {
            ("connection failed", true)
        } else {
            ("request failed", true)
        };
        let detail = format!("{label}: {kind}: {}", e.without_url());
        if temporary {
            cx.temporary(&detail, None)
        } else {
            cx.permanent(&detail)
        }
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().map_err(|e| {
        cx.temporary(
            &format!(
                "{label}: HTTP {status}: reading the body failed: {}",
                e.without_url()
            ),
            None,
        )
    })?;
    let remaining_zero = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
    };
    let rate_limited = status == StatusCode::FORBIDDEN
        && (headers.contains_key("retry-after") || remaining_zero("x-ratelimit-remaining"));
    Ok(Reply {
        label,
        status,
        retry_after: retry_after(&headers),
        rate_limited,
        body,
    })
}

fn authorize(t: &TrackerConfig, req: RequestBuilder) -> RequestBuilder {
    let token = t.token.trim();
    match t.kind {
        TrackerKind::Github => req
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(
                "user-agent",
                concat!("escalate/", env!("CARGO_PKG_VERSION")),
            ),
        TrackerKind::Jira => {
            let auth = match t.email.as_deref().map(str::trim) {
                Some(email) if !email.is_empty() => {
                    format!("Basic {}", base64(format!("{email}:{token}").as_bytes()))
                }
                _ => format!("Bearer {token}"),
            };
            req.header("authorization", auth)
                .header("accept", "application/json")
        }
        // Linear API keys are sent as they are.
        TrackerKind::Linear => req
            .header("authorization", token)
            .header("accept", "application/json"),
    }
}

/// When to try again: Retry-After (seconds or an HTTP date), else GitHub's
/// `x-ratelimit-reset` (epoch seconds) or Linear's
/// `x-ratelimit-requests-reset` (epoch milliseconds) once exhausted.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let until = |epoch_secs: f64| Some(Duration::from_secs_f64((epoch_secs - now).max(0.0).ceil()));
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
                snippet(&reply.body)
            ))
        });
    }
    let msg = http::status_message(&reply.label, status, &snippet(reply.body.trim()));
    if http::is_temporary(status) || reply.rate_limited {
        Err(cx.temporary(&msg, reply.retry_after))
    } else {
        Err(cx.permanent(&msg))
    }
}

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

fn need(cx: &Ctx, v: &Value, pointer: &str) -> Result<String, SendError> {
    text_at(v, pointer).ok_or_else(|| cx.unexpected(pointer, v))
}

// ---------------------------------------------------------------------------

mod github {
    use super::*;

    /// `owner/repo`, validated (it goes into URL paths).
    fn repo(cx: &Ctx) -> Result<String, SendError> {
        let p = cx.t.project.trim();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        match p.split_once('/') {
            Some((o, r)) if valid(o) && valid(r) => Ok(format!("{o}/{r}")),
            _ => Err(cx.permanent(&format!(
                "project must be \"owner/repo\", not {:?}",
                snippet(p)
            ))),
        }
    }

    fn number(cx: &Ctx, task: &TaskRef) -> Result<String, SendError> {
        let n = task.id.trim().trim_start_matches('#');
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            Ok(n.to_string())
        } else {
            Err(cx.permanent(&format!(
                "not a GitHub issue number: {:?}",
                snippet(&task.id)
            )))
        }
    }

    fn label_names(issue: &Value) -> Option<Vec<&str>> {
        issue.get("labels")?.as_array().map(|labels| {
            labels
                .iter()
                .filter_map(|l| l.get("name").and_then(Value::as_str).or_else(|| l.as_str()))
                .collect()
        })
    }

    fn task(cx: &Ctx, issue: &Value) -> Result<TaskRef, SendError> {
        let n = need(cx, issue, "/number")?;
        Ok(TaskRef {
            key: format!("#{n}"),
            url: need(cx, issue, "/html_url")?,
            id: n,
        })
    }

    pub(super) fn find(
        client: &Client,
        cx: &Ctx,
        marker: &str,
    ) -> Result<Option<TaskRef>, SendError> {
        let cx = cx.call("find issue");
        let repo = repo(&cx)?;
        let path = format!(
            "/repos/{repo}/issues?labels={}&state=all&per_page=100",
            pct(marker)
        );
        let v = request(client, &cx, Method::GET, &path, None)?;
        let issues = v
            .as_array()
            .ok_or_else(|| cx.unexpected("issue array", &v))?;
        // Pull requests are issues to this endpoint; a duplicate (a label
        // added by hand) resolves to the oldest.
        let oldest = issues
            .iter()
            .filter(|i| i.get("pull_request").is_none())
            .filter(|i| label_names(i).is_some_and(|ls| ls.contains(&marker)))
            .min_by_key(|i| i.get("number").and_then(Value::as_u64).unwrap_or(u64::MAX));
        oldest.map(|i| task(&cx, i)).transpose()
    }

    pub(super) fn create(client: &Client, cx: &Ctx, spec: &TaskSpec) -> Result<TaskRef, SendError> {
        let cx = cx.call("create issue");
        let repo = repo(&cx)?;
        let body = json!({
            "title": one_line(&spec.title),
            "body": with_marker(&spec.body, &spec.marker, MAX_GITHUB_BODY),
            "labels": [spec.marker, LABEL],
        });
        let v = request(
            client,
            &cx,
            Method::POST,
            &format!("/repos/{repo}/issues"),
            Some(&body),
        )?;
        let task = task(&cx, &v)?;
        if label_names(&v).is_some_and(|ls| !ls.contains(&spec.marker.as_str())) {
            return Err(cx.permanent(&format!(
                "created {} ({}) but GitHub dropped its labels, so it cannot be found again: \
                 the token needs triage or write access to the repository",
                task.key, task.url
            )));
        }
        Ok(task)
    }

    pub(super) fn close(
        client: &Client,
        t: &TrackerConfig,
        task: &TaskRef,
        text: &str,
    ) -> Result<(), SendError> {
        let cx = Ctx::new(t, "comment on issue");
        let repo = repo(&cx)?;
        let n = number(&cx, task)?;
        let path = format!("/repos/{repo}/issues/{n}");
        request(
            client,
            &cx,
            Method::POST,
            &format!("{path}/comments"),
            Some(&json!({ "body": text })),
        )?;
        let cx = cx.call("close issue");
        request(
            client,
            &cx,
            Method::PATCH,
            &path,
            Some(&json!({ "state": "closed", "state_reason": "completed" })),
        )?;
        Ok(())
    }
}

mod jira {
    use super::*;

    fn project(cx: &Ctx) -> Result<String, SendError> {
        let p = cx.t.project.trim();
        if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            Ok(p.to_string())
        } else {
            Err(cx.permanent(&format!(
                "project must be a project key like OPS, not {:?}",
                snippet(p)
            )))
        }
    }

    fn browse(cx: &Ctx, key: &str) -> String {
        cx.url(&format!("/browse/{}", pct(key)))
    }

    pub(super) fn find(
        client: &Client,
        cx: &Ctx,
        marker: &str,
    ) -> Result<Option<TaskRef>, SendError> {
        let cx = cx.call("search issues");
        let project = project(&cx)?;
        let body = json!({
            "jql": format!("project = \"{project}\" AND labels = \"{marker}\" ORDER BY created ASC"),
            "maxResults": 1,
            "fields": ["key"],
        });
        // Jira Cloud removed /search (410 Gone) for /search/jql, which
        // Server and Data Center do not have (404).
        let reply = exchange(
            client,
            &cx,
            Method::POST,
            "/rest/api/2/search/jql",
            Some(&body),
        )?;
        let reply = if matches!(
            reply.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            exchange(client, &cx, Method::POST, "/rest/api/2/search", Some(&body))?
        } else {
            reply
        };
        let v = classify(&cx, reply)?;
        let issues = v
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| cx.unexpected("issues", &v))?;
        let Some(issue) = issues.first() else {
            return Ok(None);
        };
        let id = need(&cx, issue, "/id")?;
        let key = match text_at(issue, "/key") {
            Some(key) => key,
            // Cloud's enhanced search may return bare ids.
            None => {
                let cx = cx.call("get issue key");
                let path = format!("/rest/api/2/issue/{}?fields=summary", pct(&id));
                let v = request(client, &cx, Method::GET, &path, None)?;
                need(&cx, &v, "/key")?
            }
        };
        Ok(Some(TaskRef {
            url: browse(&cx, &key),
            id,
            key,
        }))
    }

    pub(super) fn create(client: &Client, cx: &Ctx, spec: &TaskSpec) -> Result<TaskRef, SendError> {
        let cx = cx.call("create issue");
        let project = project(&cx)?;
        let issue_type =
            cx.t.issue_type
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("Task");
        let body = json!({
            "fields": {
                "project": { "key": project },
                "summary": one_line(&spec.title),
                "description": cut(&spec.body, MAX_JIRA_DESCRIPTION),
                "issuetype": { "name": issue_type },
                "labels": [spec.marker, LABEL],
            }
        });
        let v = request(client, &cx, Method::POST, "/rest/api/2/issue", Some(&body))?;
        let key = need(&cx, &v, "/key")?;
        Ok(TaskRef {
            url: browse(&cx, &key),
            id: need(&cx, &v, "/id")?,
            key,
        })
    }

    /// The transition that closes: by name first, else any into the done
    /// status category.
    fn closing(transitions: &[Value]) -> Option<&Value> {
        const NAMES: [&str; 9] = [
            "done",
            "resolved",
            "closed",
            "resolve issue",
            "close issue",
            "resolve",
            "close",
            "complete",
            "completed",
        ];
        let name = |t: &Value| {
            t.get("name")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_default()
        };
        NAMES
            .iter()
            .find_map(|n| transitions.iter().find(|t| name(t) == *n))
            .or_else(|| {
                transitions.iter().find(|t| {
                    t.pointer("/to/statusCategory/key").and_then(Value::as_str) == Some("done")
                })
            })
    }

    /// `fields` for the transition: a resolution when its screen has one.
    fn resolution(transition: &Value) -> Option<Value> {
        let field = transition.pointer("/fields/resolution")?;
        let allowed = field
            .get("allowedValues")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let pick = ["done", "fixed", "resolved"]
            .iter()
            .find_map(|want| {
                allowed.iter().find(|v| {
                    v.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(want))
                })
            })
            .or_else(|| allowed.first());
        match pick.and_then(|v| text_at(v, "/id")) {
            Some(id) => Some(json!({ "resolution": { "id": id } })),
            None if field.get("required").and_then(Value::as_bool) == Some(true) => {
                Some(json!({ "resolution": { "name": "Done" } }))
            }
            None => None,
        }
    }

    pub(super) fn close(
        client: &Client,
        t: &TrackerConfig,
        task: &TaskRef,
        text: &str,
    ) -> Result<(), SendError> {
        let cx = Ctx::new(t, "comment on issue");
        let id = if task.id.trim().is_empty() {
            &task.key
        } else {
            &task.id
        };
        let path = format!("/rest/api/2/issue/{}", pct(id.trim()));
        request(
            client,
            &cx,
            Method::POST,
            &format!("{path}/comment"),
            Some(&json!({ "body": text })),
        )?;
        let cx = cx.call("list transitions");
        let v = request(
            client,
            &cx,
            Method::GET,
            &format!("{path}/transitions?expand=transitions.fields"),
            None,
        )?;
        let transitions = v
            .get("transitions")
            .and_then(Value::as_array)
            .ok_or_else(|| cx.unexpected("transitions", &v))?;
        let Some(transition) = closing(transitions) else {
            // Already closed, or a workflow without a way there: the
            // comment is all we can do.
            return Ok(());
        };
        let cx = cx.call("transition issue");
        let tid = need(&cx, transition, "/id")?;
        let mut body = json!({ "transition": { "id": tid } });
        if let Some(fields) = resolution(transition) {
            body["fields"] = fields;
        }
        request(
            client,
            &cx,
            Method::POST,
            &format!("{path}/transitions"),
            Some(&body),
        )?;
        Ok(())
    }
}

mod linear {
    use super::*;

    const FIND: &str = "query($filter: IssueFilter) { issues(filter: $filter, first: 20, includeArchived: true) { nodes { id identifier url description } } }";
    const CREATE: &str = "mutation($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier url } } }";
    const COMMENT: &str =
        "mutation($input: CommentCreateInput!) { commentCreate(input: $input) { success } }";
    const STATES: &str =
        "query($id: String!) { team(id: $id) { states { nodes { id name type position } } } }";
    const UPDATE: &str = "mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }";

    fn team(cx: &Ctx) -> Result<String, SendError> {
        let p = cx.t.project.trim();
        if p.is_empty() {
            Err(cx.permanent("project (the Linear team id) is empty"))
        } else {
            Ok(p.to_string())
        }
    }

    /// POST a GraphQL operation; `data` on success. GraphQL errors arrive
    /// with HTTP 200 (or 400): permanent unless rate limited.
    fn graphql(
        client: &Client,
        cx: &Ctx,
        query: &str,
        variables: Value,
    ) -> Result<Value, SendError> {
        let body = json!({ "query": query, "variables": variables });
        let reply = exchange(client, cx, Method::POST, "/graphql", Some(&body))?;
        let status = reply.status;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return classify(cx, reply).map(|_| Value::Null);
        }
        let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
        let errors = parsed
            .as_ref()
            .and_then(|v| v.get("errors"))
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty());
        if let Some(errors) = errors {
            let limited = errors.iter().any(|e| {
                e.pointer("/extensions/code").and_then(Value::as_str) == Some("RATELIMITED")
                    || e.get("message")
                        .and_then(Value::as_str)
                        .is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"))
            });
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            let msg = format!(
                "{}: HTTP {status}: GraphQL error: {}",
                reply.label,
                snippet(&messages.join("; "))
            );
            return Err(if limited {
                cx.temporary(&msg, reply.retry_after)
            } else {
                cx.permanent(&msg)
            });
        }
        let label = reply.label.clone();
        let v = classify(cx, reply)?;
        match v.get("data") {
            Some(data) if data.is_object() => Ok(data.clone()),
            _ => Err(cx.permanent(&format!(
                "{label}: unexpected response (no data): {}",
                snippet(&v.to_string())
            ))),
        }
    }

    /// `escalate-marker: {marker}` not followed by more marker characters.
    pub(super) fn has_marker(text: &str, marker: &str) -> bool {
        let needle = format!("{MARKER_LINE}{marker}");
        text.match_indices(&needle).any(|(i, _)| {
            text[i + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        })
    }

    fn task(cx: &Ctx, issue: &Value) -> Result<TaskRef, SendError> {
        Ok(TaskRef {
            key: need(cx, issue, "/identifier")?,
            url: need(cx, issue, "/url")?,
            id: need(cx, issue, "/id")?,
        })
    }

    fn succeeded(cx: &Ctx, v: &Value, op: &str) -> Result<(), SendError> {
        match v
            .pointer(&format!("/{op}/success"))
            .and_then(Value::as_bool)
        {
            Some(true) => Ok(()),
            Some(false) => Err(cx.permanent(&format!("{op} reported success: false"))),
            None => Err(cx.unexpected(&format!("{op}.success"), v)),
        }
    }

    pub(super) fn find(
        client: &Client,
        cx: &Ctx,
        marker: &str,
    ) -> Result<Option<TaskRef>, SendError> {
        let cx = cx.call("find issue");
        let team = team(&cx)?;
        let filter = json!({
            "team": { "id": { "eq": team } },
            "description": { "contains": format!("{MARKER_LINE}{marker}") },
        });
        let data = graphql(client, &cx, FIND, json!({ "filter": filter }))?;
        let nodes = data
            .pointer("/issues/nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| cx.unexpected("issues.nodes", &data))?;
        nodes
            .iter()
            .find(|n| {
                n.get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| has_marker(d, marker))
            })
            .map(|n| task(&cx, n))
            .transpose()
    }

    pub(super) fn create(client: &Client, cx: &Ctx, spec: &TaskSpec) -> Result<TaskRef, SendError> {
        let cx = cx.call("create issue");
        let input = json!({
            "teamId": team(&cx)?,
            "title": one_line(&spec.title),
            "description": with_marker(&spec.body, &spec.marker, usize::MAX),
        });
        let data = graphql(client, &cx, CREATE, json!({ "input": input }))?;
        succeeded(&cx, &data, "issueCreate")?;
        let issue = data
            .pointer("/issueCreate/issue")
            .ok_or_else(|| cx.unexpected("issueCreate.issue", &data))?;
        task(&cx, issue)
    }

    pub(super) fn close(
        client: &Client,
        t: &TrackerConfig,
        task: &TaskRef,
        text: &str,
    ) -> Result<(), SendError> {
        let cx = Ctx::new(t, "comment on issue");
        let data = graphql(
            client,
            &cx,
            COMMENT,
            json!({ "input": { "issueId": task.id, "body": text } }),
        )?;
        succeeded(&cx, &data, "commentCreate")?;
        let cx = cx.call("list workflow states");
        let data = graphql(client, &cx, STATES, json!({ "id": team(&cx)? }))?;
        let states = data
            .pointer("/team/states/nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| cx.unexpected("team.states.nodes", &data))?;
        // The first completed state in workflow order ("Done" before any
        // custom ones), in listed order when positions are missing.
        let done = states
            .iter()
            .enumerate()
            .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("completed"))
            .min_by(|(i, a), (j, b)| {
                let pos = |s: &Value| {
                    s.get("position")
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::MAX)
                };
                pos(a).total_cmp(&pos(b)).then(i.cmp(j))
            })
            .map(|(_, s)| s);
        let Some(done) = done else {
            return Ok(());
        };
        let cx = cx.call("move issue to a completed state");
        let state_id = need(&cx, done, "/id")?;
        let data = graphql(
            client,
            &cx,
            UPDATE,
            json!({ "id": task.id, "input": { "stateId": state_id } }),
        )?;
        succeeded(&cx, &data, "issueUpdate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn markers_match_whole() {
        let d = "text\n\nescalate-marker: escalate-42";
        assert!(linear::has_marker(d, "escalate-42"));
        assert!(!linear::has_marker(d, "escalate-4"));
        assert!(linear::has_marker(
            "escalate-marker: escalate-4\nmore",
            "escalate-4"
        ));
    }

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(one_line("a\nb\t c "), "a b c");
        let long = "x".repeat(300);
        assert_eq!(one_line(&long).chars().count(), MAX_TITLE);
    }

    #[test]
    fn retry_after_reads_seconds_and_rate_limit_resets() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let mut h = HeaderMap::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        h.insert("x-ratelimit-remaining", "0".parse().expect("header"));
        h.insert(
            "x-ratelimit-reset",
            (now + 60).to_string().parse().expect("header"),
        );
        let d = retry_after(&h).expect("delay");
        assert!((58..=61).contains(&d.as_secs()), "{d:?}");
    }
}
