//! Jira (Cloud, Server and Data Center) through REST API v2, whose plain
//! text descriptions and comments work on all three (v3 wants ADF and is
//! Cloud only).
//!
//! The marker is a label. Lookup is the JQL
//! `project = "OPS" AND labels = "…"` through `POST /rest/api/2/search/jql`
//! (Jira Cloud, where the old `/rest/api/2/search` answers 410 Gone),
//! falling back to `POST /rest/api/2/search` when that answers 404/405
//! (Server and Data Center); `GET /rest/api/2/issue/{id}` fills in a key
//! the enhanced search left out. Create is `POST /rest/api/2/issue`. Close
//! comments (`POST …/issue/{id}/comment`), reads
//! `GET …/transitions?expand=transitions.fields` to find a closing
//! transition and its resolution field, and posts it to `…/transitions`.

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{
    classify, encode, exchange, need, request, snippet, text_at, title, Ctx, SendError, TaskRef,
    TaskSpec, TrackerConfig, LABEL,
};

/// Jira's text fields hold 32,767 characters by default; a margin below.
const MAX_DESCRIPTION: usize = 32_000;

/// The project key, validated: it goes into JQL between quotes.
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

/// Where people open an issue.
fn browse(cx: &Ctx, key: &str) -> String {
    cx.url(&format!("/browse/{}", encode(key)))
}

pub(super) fn find(client: &Client, cx: &Ctx, marker: &str) -> Result<Option<TaskRef>, SendError> {
    let cx = cx.call("search issues");
    let project = project(&cx)?;
    // The marker's characters are checked, so it cannot end the quotes.
    let body = json!({
        "jql": format!("project = \"{project}\" AND labels = \"{marker}\" ORDER BY created ASC"),
        "maxResults": 1,
        "fields": ["key"],
    });
    let v = search(client, &cx, &body)?;
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
        None => key_of(client, &cx, &id)?,
    };
    Ok(Some(TaskRef {
        url: browse(&cx, &key),
        id,
        key,
    }))
}

/// Run a JQL search on whichever endpoint this Jira has.
fn search(client: &Client, cx: &Ctx, body: &Value) -> Result<Value, SendError> {
    // Jira Cloud removed /search (410 Gone) for /search/jql, which
    // Server and Data Center do not have (404).
    let reply = exchange(
        client,
        cx,
        Method::POST,
        "/rest/api/2/search/jql",
        Some(body),
    )?;
    let reply = if matches!(
        reply.status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        exchange(client, cx, Method::POST, "/rest/api/2/search", Some(body))?
    } else {
        reply
    };
    classify(cx, reply)
}

/// The key of an issue known by id: Cloud's enhanced search may return
/// bare ids.
fn key_of(client: &Client, cx: &Ctx, id: &str) -> Result<String, SendError> {
    let cx = cx.call("get issue key");
    let path = format!("/rest/api/2/issue/{}?fields=summary", encode(id));
    let v = request(client, &cx, Method::GET, &path, None)?;
    need(&cx, &v, "/key")
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
            "summary": title(&spec.title),
            "description": crate::text::truncate(&spec.body, MAX_DESCRIPTION),
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
    // The id survives a move to another project; a task stored without one
    // (the column is nullable) has only its key, which the API takes too.
    let id = if task.id.trim().is_empty() {
        &task.key
    } else {
        &task.id
    };
    let path = format!("/rest/api/2/issue/{}", encode(id.trim()));
    let comment = json!({ "body": text });
    let comments = format!("{path}/comment");
    request(client, &cx, Method::POST, &comments, Some(&comment))?;
    transition_to_done(client, &cx, &path)
}

/// Take the closing transition if the workflow offers one from here.
fn transition_to_done(client: &Client, cx: &Ctx, path: &str) -> Result<(), SendError> {
    let cx = cx.call("list transitions");
    let list = format!("{path}/transitions?expand=transitions.fields");
    let v = request(client, &cx, Method::GET, &list, None)?;
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
    let post = format!("{path}/transitions");
    request(client, &cx, Method::POST, &post, Some(&body))?;
    Ok(())
}
