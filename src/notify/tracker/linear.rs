//! Linear through its GraphQL API (`POST /graphql`, the only endpoint).
//!
//! The marker is the last description line. Lookup is
//! `issues(filter: {team, description: {contains}}, includeArchived: true)`
//! — archived too: Linear archives closed issues after a while, and an
//! archived task still exists and must not be made twice — then an exact
//! match on the line, so `escalate-4` never matches `escalate-42`. Create is `issueCreate`;
//! close is `commentCreate`, then `issueUpdate` into the team's first
//! workflow state of type `completed`, read with `team { states }`.

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::text::markdown_escape;

use super::{
    classify, exchange, need, title, with_marker, Ctx, Reply, SendError, TaskRef, TaskSpec,
    TrackerConfig, MARKER_LINE,
};

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
fn graphql(client: &Client, cx: &Ctx, query: &str, variables: Value) -> Result<Value, SendError> {
    let body = json!({ "query": query, "variables": variables });
    let reply = exchange(client, cx, Method::POST, "/graphql", Some(&body))?;
    let status = reply.status;
    // These say nothing about the operation: the shared classification
    // makes them temporary.
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return classify(cx, reply).map(|_| Value::Null);
    }
    if let Some(e) = graphql_error(cx, &reply) {
        return Err(e);
    }
    let label = reply.label.clone();
    let v = classify(cx, reply)?;
    match v.get("data") {
        Some(data) if data.is_object() => Ok(data.clone()),
        _ => Err(cx.permanent(&format!(
            "{label}: unexpected response (no data): {}",
            cx.quote(&v.to_string())
        ))),
    }
}

/// The `errors` of a GraphQL answer as one error; temporary only when
/// Linear says it is rate limiting (it answers 400 with `RATELIMITED`).
fn graphql_error(cx: &Ctx, reply: &Reply) -> Option<SendError> {
    let parsed: Value = serde_json::from_str(&reply.body).ok()?;
    let errors = parsed
        .get("errors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())?;
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
        "{}: HTTP {}: GraphQL error: {}",
        reply.label,
        reply.status,
        cx.quote(&messages.join("; "))
    );
    Some(if limited {
        cx.temporary(&msg, reply.retry_after)
    } else {
        cx.permanent(&msg)
    })
}

/// `escalate-marker: {marker}` not followed by more marker characters.
/// (`description: {contains}` is a substring match: this makes it whole.)
fn has_marker(text: &str, marker: &str) -> bool {
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

/// A mutation's `success` flag, checked as well as `errors`.
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

pub(super) fn find(client: &Client, cx: &Ctx, marker: &str) -> Result<Option<TaskRef>, SendError> {
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
        "title": title(&spec.title),
        // Not cut: unlike GitHub and Jira, no limit is applied for Linear.
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
    // The comment holds user text (who resolved it, the note): escaped so
    // Linear shows it as written, never as mentions, links or markup.
    let body = markdown_escape(text);
    let input = json!({ "input": { "issueId": task.id, "body": body } });
    let data = graphql(client, &cx, COMMENT, input)?;
    succeeded(&cx, &data, "commentCreate")?;
    let cx = cx.call("list workflow states");
    let data = graphql(client, &cx, STATES, json!({ "id": team(&cx)? }))?;
    let states = data
        .pointer("/team/states/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.unexpected("team.states.nodes", &data))?;
    let Some(done) = completed_state(states) else {
        // A team without a completed state: the comment is all we can do.
        return Ok(());
    };
    let cx = cx.call("move issue to a completed state");
    let state_id = need(&cx, done, "/id")?;
    let update = json!({ "id": task.id, "input": { "stateId": state_id } });
    let data = graphql(client, &cx, UPDATE, update)?;
    succeeded(&cx, &data, "issueUpdate")
}

/// The first completed state in workflow order ("Done" before any custom
/// ones), in listed order when positions are missing.
fn completed_state(states: &[Value]) -> Option<&Value> {
    let pos = |s: &Value| {
        s.get("position")
            .and_then(Value::as_f64)
            .unwrap_or(f64::MAX)
    };
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("completed"))
        .min_by(|(i, a), (j, b)| pos(a).total_cmp(&pos(b)).then(i.cmp(j)))
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_match_whole() {
        let d = "text\n\nescalate-marker: escalate-42";
        assert!(has_marker(d, "escalate-42"));
        assert!(!has_marker(d, "escalate-4"));
        assert!(has_marker(
            "escalate-marker: escalate-4\nmore",
            "escalate-4"
        ));
    }

    #[test]
    fn the_first_completed_state_in_workflow_order() {
        let states = [
            json!({ "id": "a", "type": "started", "position": 0.0 }),
            json!({ "id": "b", "type": "completed", "position": 3.0 }),
            json!({ "id": "c", "type": "completed", "position": 2.0 }),
        ];
        assert_eq!(
            completed_state(&states).map(|s| &s["id"]),
            Some(&json!("c"))
        );
        let unordered = [
            json!({ "id": "x", "type": "completed" }),
            json!({ "id": "y", "type": "completed" }),
        ];
        assert_eq!(
            completed_state(&unordered).map(|s| &s["id"]),
            Some(&json!("x"))
        );
        assert!(completed_state(&states[..1]).is_none());
    }
}
