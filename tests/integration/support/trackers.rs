//! Tracker fakes on the shared HTTP server.
//!
//! [`Fake`] speaks the documented GitHub REST, Jira REST v2 and Linear
//! GraphQL shapes, keeps its issues, comments and closes, and fails on
//! demand (500, 429 with Retry-After, 401 echoing the credential, garbage,
//! a hang): the tracker clients are driven against it directly.
//! [`GithubIssues`] is the GitHub Issues API of one repository, for the
//! binary's engineering tasks end to end.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use escalate::config::TrackerKind;
use escalate::notify::tracker::TrackerConfig;
use serde_json::{json, Value};

use super::http::{Action, Request, Server};

pub const TOKEN: &str = "tok-SECRET-123456";
pub const EMAIL: &str = "ops@acme.test";
/// base64("ops@acme.test:tok-SECRET-123456"), computed outside the crate.
pub const BASIC: &str = "b3BzQGFjbWUudGVzdDp0b2stU0VDUkVULTEyMzQ1Ng==";
pub const TEAM: &str = "team-uuid-1";

/// A task as the fake tracker keeps it.
#[derive(Clone, Debug, Default)]
pub struct Task {
    pub id: String,
    pub key: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub issue_type: String,
    pub state: String,
    pub state_reason: Option<String>,
    pub resolution: Option<String>,
    pub comments: Vec<String>,
}

/// An answer forced on requests whose `METHOD /path` starts with `only` (or
/// whose body contains it: GraphQL has one endpoint).
#[derive(Clone, Debug, Default)]
pub struct Fail {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Put the request's Authorization header in the body, as careless
    /// servers do.
    pub echo_auth: bool,
    pub only: Option<&'static str>,
    /// Hold the request unanswered for this long.
    pub hang: Option<Duration>,
}

impl Fail {
    pub fn status(code: u16) -> Fail {
        Fail {
            code,
            ..Fail::default()
        }
    }
}

#[derive(Default)]
pub struct State {
    pub tasks: Vec<Task>,
    pub fail: Option<Fail>,
    /// GitHub without push access: labels silently dropped on create.
    pub drop_labels: bool,
    /// Jira Cloud (`/search/jql`, `/search` is 410) or Server (`/search`,
    /// `/search/jql` is 404).
    pub jira_cloud: bool,
    /// Cloud's enhanced search answering ids only.
    pub jira_bare_ids: bool,
    pub jira_transitions: Vec<Value>,
    pub linear_states: Vec<Value>,
}

/// The fake on the shared server: its handler answers from `State`.
pub struct Fake {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn start() -> Fake {
        // Bound first: Jira's answers carry the fake's own URL.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let server = Server::on(listener, move |req| {
            answer(&mut shared.lock().expect("lock"), req, port)
        });
        Fake { server, state }
    }

    pub fn base(&self) -> String {
        self.server.url("")
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("lock"))
    }

    pub fn fail(&self, fail: Option<Fail>) {
        self.with(|s| s.fail = fail);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    pub fn count(&self, route: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.route() == route)
            .count()
    }

    pub fn tasks(&self) -> Vec<Task> {
        self.with(|s| s.tasks.clone())
    }

    pub fn config(&self, kind: TrackerKind) -> TrackerConfig {
        TrackerConfig {
            name: "eng".into(),
            kind,
            base_url: format!("{}/", self.base()),
            token: TOKEN.into(),
            project: match kind {
                TrackerKind::Github => "acme/app".into(),
                TrackerKind::Jira => "OPS".into(),
                TrackerKind::Linear => TEAM.into(),
            },
            issue_type: None,
            email: (kind == TrackerKind::Jira).then(|| EMAIL.to_string()),
        }
    }
}

/// The forced failure when one matches the request, else the tracker's
/// answer.
fn answer(s: &mut State, req: &Request, port: u16) -> Action {
    let forced = s.fail.clone().filter(|f| {
        f.only
            .is_none_or(|o| req.route().starts_with(o) || req.body.contains(o))
    });
    let Some(f) = forced else {
        let (code, body) = route(s, req, port);
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        return Action::json(code, body);
    };
    if let Some(hang) = f.hang {
        return Action::Hang(hang);
    }
    let body = if f.echo_auth {
        json!({ "message": format!(
            "bad credentials: {}",
            req.header("authorization").unwrap_or("")
        )})
        .to_string()
    } else {
        f.body.clone().unwrap_or_default()
    };
    f.headers
        .iter()
        .fold(Action::json(f.code, body), |a, (k, v)| a.header(k, v))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

/// `labels = "x"` → `x` out of a JQL string.
fn jql_value(jql: &str, field: &str) -> Option<String> {
    let rest = &jql[jql.find(&format!("{field} = \""))? + field.len() + 4..];
    Some(rest[..rest.find('"')?].to_string())
}

fn route(s: &mut State, req: &Request, port: u16) -> (u16, Value) {
    let route = req.route();
    let body = req.json();
    let web = format!("http://127.0.0.1:{port}");
    if route.starts_with("GET /repos/acme/app/issues")
        || route.starts_with("POST /repos/")
        || route.starts_with("PATCH /repos/")
    {
        github(s, req, &route, &body)
    } else if route.starts_with("POST /graphql") {
        linear(s, &body)
    } else if route.contains("/rest/api/2/") {
        jira(s, &route, &body, &web)
    } else {
        (404, json!({ "message": "Not Found" }))
    }
}

fn github(s: &mut State, req: &Request, route: &str, body: &Value) -> (u16, Value) {
    let issue_json = |t: &Task| {
        json!({
            "id": 9_000_000 + t.number,
            "number": t.number,
            "html_url": format!("https://github.com/acme/app/issues/{}", t.number),
            "title": t.title,
            "state": t.state,
            "labels": t.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        })
    };
    let number = |s: &str| -> u64 {
        s.trim_start_matches("/repos/acme/app/issues/")
            .split('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    match route {
        "GET /repos/acme/app/issues" => {
            let label = query_param(&req.path, "labels").unwrap_or_default();
            assert_eq!(query_param(&req.path, "state").as_deref(), Some("all"));
            // A pull request with the same label: the issues API lists them too.
            let mut out = vec![json!({
                "number": 1,
                "html_url": "https://github.com/acme/app/pull/1",
                "pull_request": { "url": "…" },
                "labels": [{ "name": label }],
            })];
            out.extend(
                s.tasks
                    .iter()
                    .filter(|t| t.labels.contains(&label))
                    .map(issue_json),
            );
            (200, json!(out))
        }
        "POST /repos/acme/app/issues" => {
            let number = 100 + s.tasks.len() as u64;
            let labels = if s.drop_labels {
                Vec::new()
            } else {
                body["labels"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|l| l.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let t = Task {
                id: number.to_string(),
                key: format!("#{number}"),
                number,
                title: body["title"].as_str().unwrap_or("").into(),
                body: body["body"].as_str().unwrap_or("").into(),
                labels,
                state: "open".into(),
                ..Task::default()
            };
            let out = issue_json(&t);
            s.tasks.push(t);
            (201, out)
        }
        r if r.starts_with("POST /repos/acme/app/issues/") && r.ends_with("/comments") => {
            let n = number(r.trim_start_matches("POST "));
            match s.tasks.iter_mut().find(|t| t.number == n) {
                Some(t) => {
                    t.comments.push(body["body"].as_str().unwrap_or("").into());
                    (201, json!({ "id": 1, "body": body["body"] }))
                }
                None => (404, json!({ "message": "Not Found" })),
            }
        }
        r if r.starts_with("PATCH /repos/acme/app/issues/") => {
            let n = number(r.trim_start_matches("PATCH "));
            match s.tasks.iter_mut().find(|t| t.number == n) {
                Some(t) => {
                    t.state = body["state"].as_str().unwrap_or("").into();
                    t.state_reason = body["state_reason"].as_str().map(String::from);
                    (200, issue_json(t))
                }
                None => (404, json!({ "message": "Not Found" })),
            }
        }
        _ => (404, json!({ "message": "Not Found" })),
    }
}

fn jira(s: &mut State, route: &str, body: &Value, web: &str) -> (u16, Value) {
    let search = |s: &State| {
        let jql = body["jql"].as_str().unwrap_or("");
        let label = jql_value(jql, "labels").unwrap_or_default();
        assert_eq!(jql_value(jql, "project").as_deref(), Some("OPS"), "{jql}");
        let hits: Vec<Value> = s
            .tasks
            .iter()
            .filter(|t| t.labels.contains(&label))
            .take(body["maxResults"].as_u64().unwrap_or(50) as usize)
            .map(|t| json!({ "id": t.id, "key": t.key, "self": format!("{web}/rest/api/2/issue/{}", t.id) }))
            .collect();
        hits
    };
    let gone = json!({ "errorMessages": ["The requested API has been removed."] });
    match route {
        "POST /rest/api/2/search/jql" if s.jira_cloud => {
            let mut issues = search(s);
            if s.jira_bare_ids {
                for i in &mut issues {
                    *i = json!({ "id": i["id"] });
                }
            }
            (200, json!({ "issues": issues, "isLast": true }))
        }
        "POST /rest/api/2/search/jql" => (404, Value::Null),
        "POST /rest/api/2/search" if s.jira_cloud => (410, gone),
        "POST /rest/api/2/search" => {
            let issues = search(s);
            (
                200,
                json!({ "startAt": 0, "maxResults": 1, "total": issues.len(), "issues": issues }),
            )
        }
        "POST /rest/api/2/issue" => {
            let f = &body["fields"];
            let n = s.tasks.len() as u64 + 1;
            let t = Task {
                id: (10_000 + n).to_string(),
                key: format!("{}-{n}", f["project"]["key"].as_str().unwrap_or("?")),
                number: n,
                title: f["summary"].as_str().unwrap_or("").into(),
                body: f["description"].as_str().unwrap_or("").into(),
                labels: f["labels"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|l| l.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                issue_type: f["issuetype"]["name"].as_str().unwrap_or("").into(),
                state: "To Do".into(),
                ..Task::default()
            };
            let out = json!({ "id": t.id, "key": t.key, "self": format!("{web}/rest/api/2/issue/{}", t.id) });
            s.tasks.push(t);
            (201, out)
        }
        r => {
            let rest = r
                .split_once("/rest/api/2/issue/")
                .map(|(_, rest)| rest)
                .unwrap_or("");
            let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
            let transitions = s.jira_transitions.clone();
            let Some(t) = s.tasks.iter_mut().find(|t| t.id == id || t.key == id) else {
                return (404, json!({ "errorMessages": ["Issue does not exist"] }));
            };
            match (r.split(' ').next().unwrap_or(""), action) {
                ("POST", "comment") => {
                    t.comments.push(body["body"].as_str().unwrap_or("").into());
                    (201, json!({ "id": "1", "body": body["body"] }))
                }
                ("GET", "transitions") => (200, json!({ "transitions": transitions })),
                ("GET", "") => (
                    200,
                    json!({ "id": t.id, "key": t.key, "fields": { "summary": t.title } }),
                ),
                ("POST", "transitions") => {
                    let tid = body["transition"]["id"].as_str().unwrap_or("");
                    match transitions.iter().find(|x| x["id"] == tid) {
                        Some(x) => {
                            if x.pointer("/fields/resolution/required") == Some(&json!(true))
                                && body.pointer("/fields/resolution").is_none()
                            {
                                return (
                                    400,
                                    json!({ "errors": { "resolution": "Resolution is required." } }),
                                );
                            }
                            t.state = x["to"]["name"].as_str().unwrap_or("").into();
                            t.resolution = body
                                .pointer("/fields/resolution/id")
                                .and_then(Value::as_str)
                                .map(String::from);
                            (204, Value::Null)
                        }
                        None => (400, json!({ "errorMessages": ["no such transition"] })),
                    }
                }
                _ => (404, Value::Null),
            }
        }
    }
}

fn linear(s: &mut State, body: &Value) -> (u16, Value) {
    let q = body["query"].as_str().unwrap_or("");
    let vars = &body["variables"];
    let node = |t: &Task| {
        json!({
            "id": t.id,
            "identifier": t.key,
            "url": format!("https://linear.app/acme/issue/{}", t.key),
            "description": t.body,
        })
    };
    let data = if q.contains("issueCreate") {
        let input = &vars["input"];
        if input["teamId"] != TEAM {
            return (
                200,
                json!({ "errors": [{ "message": "Entity not found: Team", "extensions": { "code": "INVALID_INPUT" } }], "data": null }),
            );
        }
        let n = s.tasks.len() as u64 + 1;
        let t = Task {
            id: format!("0000-uuid-{n}"),
            key: format!("ENG-{n}"),
            number: n,
            title: input["title"].as_str().unwrap_or("").into(),
            body: input["description"].as_str().unwrap_or("").into(),
            state: "Todo".into(),
            ..Task::default()
        };
        let out = json!({ "issueCreate": { "success": true, "issue": node(&t) } });
        s.tasks.push(t);
        out
    } else if q.contains("commentCreate") {
        let input = &vars["input"];
        match s.tasks.iter_mut().find(|t| input["issueId"] == t.id) {
            Some(t) => {
                t.comments.push(input["body"].as_str().unwrap_or("").into());
                json!({ "commentCreate": { "success": true } })
            }
            None => {
                return (
                    200,
                    json!({ "errors": [{ "message": "Entity not found: Issue" }], "data": null }),
                )
            }
        }
    } else if q.contains("issueUpdate") {
        let states = s.linear_states.clone();
        let state = states
            .iter()
            .find(|st| st["id"] == vars["input"]["stateId"]);
        match (s.tasks.iter_mut().find(|t| vars["id"] == t.id), state) {
            (Some(t), Some(st)) => {
                t.state = st["name"].as_str().unwrap_or("").into();
                json!({ "issueUpdate": { "success": true } })
            }
            _ => {
                return (
                    200,
                    json!({ "errors": [{ "message": "Entity not found" }], "data": null }),
                )
            }
        }
    } else if q.contains("team(") {
        assert_eq!(vars["id"], TEAM);
        json!({ "team": { "states": { "nodes": s.linear_states } } })
    } else if q.contains("issues(") {
        let filter = &vars["filter"];
        assert_eq!(filter["team"]["id"]["eq"], TEAM);
        let needle = filter["description"]["contains"]
            .as_str()
            .unwrap_or("\u{0}");
        // substring matching, as Linear does: the client must check the line
        let nodes: Vec<Value> = s
            .tasks
            .iter()
            .filter(|t| t.body.contains(needle))
            .map(node)
            .collect();
        json!({ "issues": { "nodes": nodes } })
    } else {
        return (
            400,
            json!({ "errors": [{ "message": "unknown operation" }] }),
        );
    };
    (200, json!({ "data": data }))
}

/// The GitHub Issues API of one repository (`acme/app`), keeping its
/// issues in memory (numbered from 1, `https://github.test/…` URLs): list
/// by label, create, comment, close.
pub struct GithubIssues {
    pub server: Server,
    issues: Arc<Mutex<Vec<Value>>>,
}

impl GithubIssues {
    /// Answers the first `fail_creates` creates with 502 *after* storing
    /// the issue: a create that happened but whose answer was lost.
    pub fn start(fail_creates: usize) -> GithubIssues {
        let issues: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(fail_creates));
        let store = Arc::clone(&issues);
        let server = Server::start(move |r: &Request| {
            let mut issues = store.lock().expect("lock");
            let base = "/repos/acme/app/issues";
            if r.method == "GET" && r.path.starts_with(&format!("{base}?")) {
                let label = r
                    .path
                    .split("labels=")
                    .nth(1)
                    .and_then(|s| s.split('&').next())
                    .unwrap_or("")
                    .to_string();
                let found: Vec<Value> = issues
                    .iter()
                    .filter(|i| {
                        i["labels"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|l| l["name"] == label.as_str()))
                    })
                    .cloned()
                    .collect();
                return Action::json(200, Value::Array(found).to_string());
            }
            if r.method == "POST" && r.path == base {
                let body = r.json();
                let n = issues.len() + 1;
                let issue = json!({
                    "number": n,
                    "html_url": format!("https://github.test/acme/app/issues/{n}"),
                    "title": body["title"],
                    "body": body["body"],
                    "state": "open",
                    "labels": body["labels"].as_array().map(|ls| ls.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()),
                });
                issues.push(issue.clone());
                let mut left = failures.lock().expect("lock");
                if *left > 0 {
                    *left -= 1;
                    return Action::json(502, "{\"message\":\"bad gateway\"}");
                }
                return Action::json(201, issue.to_string());
            }
            if r.method == "POST" && r.path.ends_with("/comments") {
                return Action::json(201, json!({"id": 1, "body": r.json()["body"]}).to_string());
            }
            if r.method == "PATCH" && r.path.starts_with(&format!("{base}/")) {
                let n: usize = r
                    .path
                    .rsplit('/')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if let Some(issue) = issues.get_mut(n.wrapping_sub(1)) {
                    issue["state"] = r.json()["state"].clone();
                    return Action::json(200, issue.to_string());
                }
                return Action::json(404, "{}");
            }
            Action::json(404, "{\"message\":\"Not Found\"}")
        });
        GithubIssues { server, issues }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// The issues as stored.
    pub fn issues(&self) -> Vec<Value> {
        self.issues.lock().expect("lock").clone()
    }

    /// How many requests came with `method` and a path starting with
    /// `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }
}
