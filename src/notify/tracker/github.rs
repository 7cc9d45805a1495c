//! GitHub Issues through the REST API (`/repos/{owner}/{repo}/issues…`).
//!
//! The marker is both a label and the last body line. Lookup uses
//! `GET /repos/{o}/{r}/issues?labels={marker}&state=all`: the issue list
//! reads the primary store, whereas the search API lags behind new issues
//! by up to a minute — exactly the crash-and-retry window [`super::ensure`]
//! guards. Create is `POST /repos/{o}/{r}/issues`; close comments with
//! `POST …/issues/{n}/comments`, then `PATCH …/issues/{n}` to closed as
//! completed.

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

use crate::text::markdown_escape;

use super::{
    encode, need, request, snippet, title, with_marker, Ctx, SendError, TaskRef, TaskSpec,
    TrackerConfig, LABEL,
};

/// GitHub refuses an issue body over 65,536 characters; the margin leaves
/// room for the marker line whatever the body.
const MAX_BODY: usize = 65_000;

/// `owner/repo`, validated (it goes into URL paths as it is).
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

/// The issue number out of a task id (`123` or `#123`), digits only since
/// it goes into URL paths.
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

/// The label names of an issue (objects with a name, or plain strings).
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

pub(super) fn find(client: &Client, cx: &Ctx, marker: &str) -> Result<Option<TaskRef>, SendError> {
    let cx = cx.call("find issue");
    let repo = repo(&cx)?;
    let path = format!(
        "/repos/{repo}/issues?labels={}&state=all&per_page=100",
        encode(marker)
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
        "title": title(&spec.title),
        "body": with_marker(&spec.body, &spec.marker, MAX_BODY),
        "labels": [spec.marker, LABEL],
    });
    let path = format!("/repos/{repo}/issues");
    let v = request(client, &cx, Method::POST, &path, Some(&body))?;
    let task = task(&cx, &v)?;
    // Without triage or push access GitHub creates the issue but silently
    // drops its labels: find could never see it, and ensure would open
    // another on every retry.
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
    // The comment holds user text (who resolved it, the note): escaped so
    // GitHub shows it as written, never as mentions, links or markup.
    let comment = json!({ "body": markdown_escape(text) });
    request(
        client,
        &cx,
        Method::POST,
        &format!("{path}/comments"),
        Some(&comment),
    )?;
    let cx = cx.call("close issue");
    let state = json!({ "state": "closed", "state_reason": "completed" });
    request(client, &cx, Method::PATCH, &path, Some(&state))?;
    Ok(())
}
