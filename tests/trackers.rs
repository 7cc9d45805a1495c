//! Engineering-task trackers against a fake on 127.0.0.1 that speaks the
//! documented GitHub REST, Jira REST v2 and Linear GraphQL shapes, keeps its
//! issues, comments and closes, and fails on demand (500, 429 with
//! Retry-After, 401 echoing the credential, garbage, a hang).

mod support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use escalate::config::TrackerKind;
use escalate::notify::tracker::{self, TaskRef, TaskSpec, TrackerConfig};
use escalate::notify::SendError;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use support::http::{Action, Request, Server};

const TOKEN: &str = "tok-SECRET-123456";
const EMAIL: &str = "ops@acme.test";
/// base64("ops@acme.test:tok-SECRET-123456"), computed outside the crate.
const BASIC: &str = "b3BzQGFjbWUudGVzdDp0b2stU0VDUkVULTEyMzQ1Ng==";
const TEAM: &str = "team-uuid-1";

/// A task as the fake tracker keeps it.
#[derive(Clone, Debug, Default)]
struct Task {
    id: String,
    key: String,
    number: u64,
    title: String,
    body: String,
    labels: Vec<String>,
    issue_type: String,
    state: String,
    state_reason: Option<String>,
    resolution: Option<String>,
    comments: Vec<String>,
}

/// An answer forced on requests whose `METHOD /path` starts with `only` (or
/// whose body contains it: GraphQL has one endpoint).
#[derive(Clone, Debug, Default)]
struct Fail {
    code: u16,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// Put the request's Authorization header in the body, as careless
    /// servers do.
    echo_auth: bool,
    only: Option<&'static str>,
    /// Hold the request unanswered for this long.
    hang: Option<Duration>,
}

impl Fail {
    fn status(code: u16) -> Fail {
        Fail {
            code,
            ..Fail::default()
        }
    }
}

#[derive(Default)]
struct State {
    tasks: Vec<Task>,
    fail: Option<Fail>,
    /// GitHub without push access: labels silently dropped on create.
    drop_labels: bool,
    /// Jira Cloud (`/search/jql`, `/search` is 410) or Server (`/search`,
    /// `/search/jql` is 404).
    jira_cloud: bool,
    /// Cloud's enhanced search answering ids only.
    jira_bare_ids: bool,
    jira_transitions: Vec<Value>,
    linear_states: Vec<Value>,
}

/// The fake on the shared server: its handler answers from `State`.
struct Fake {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl Fake {
    fn start() -> Fake {
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

    fn base(&self) -> String {
        self.server.url("")
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("lock"))
    }

    fn fail(&self, fail: Option<Fail>) {
        self.with(|s| s.fail = fail);
    }

    fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    fn count(&self, route: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.route() == route)
            .count()
    }

    fn tasks(&self) -> Vec<Task> {
        self.with(|s| s.tasks.clone())
    }

    fn config(&self, kind: TrackerKind) -> TrackerConfig {
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

fn client(timeout: Duration) -> Client {
    escalate::notify::install_crypto();
    escalate::notify::http::client(timeout).expect("client")
}

fn spec(marker: &str) -> TaskSpec {
    TaskSpec {
        marker: marker.into(),
        title: "Checkout fails\nfor EU customers".into(),
        body: "Escalated by escalate: customers in the EU cannot pay.".into(),
    }
}

fn assert_clean(e: &SendError) {
    let m = e.message();
    assert!(!m.contains(TOKEN), "token in {m:?}");
    assert!(!m.contains(BASIC), "credentials in {m:?}");
    assert!(!m.contains("/repos/acme"), "unredacted URL in {m:?}");
}

#[test]
fn github_creates_once_finds_it_after_a_crash_and_closes_it() {
    let fake = Fake::start();
    let t = fake.config(TrackerKind::Github);
    let c = client(Duration::from_secs(5));

    assert_eq!(
        tracker::find(&c, &t, "escalate-42"),
        Ok(None),
        "the labelled pull request is not a task"
    );
    let created = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure");
    assert_eq!(
        created,
        TaskRef {
            key: "#100".into(),
            url: "https://github.com/acme/app/issues/100".into(),
            id: "100".into(),
        }
    );
    let tasks = fake.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].labels, vec!["escalate-42", "escalate"]);
    assert_eq!(tasks[0].title, "Checkout fails for EU customers");
    assert!(tasks[0].body.starts_with("Escalated by escalate"));
    assert!(
        tasks[0].body.ends_with("\n\nescalate-marker: escalate-42"),
        "{:?}",
        tasks[0].body
    );

    // The process died before recording `created`: the retry finds it.
    let again = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure again");
    assert_eq!(again, created);
    assert_eq!(
        fake.count("POST /repos/acme/app/issues"),
        1,
        "no second create"
    );

    tracker::close(&c, &t, &created, "Resolved: the payment provider fixed it.").expect("close");
    let task = &fake.tasks()[0];
    assert_eq!(
        task.comments,
        vec!["Resolved: the payment provider fixed it."]
    );
    assert_eq!(task.state, "closed");
    assert_eq!(task.state_reason.as_deref(), Some("completed"));

    let requests = fake.requests();
    assert_eq!(requests.len(), 6, "{requests:#?}");
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{r:?}"
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("escalate/")));
    }
    assert!(requests[0]
        .path
        .starts_with("/repos/acme/app/issues?labels=escalate-42&state=all"));
}

#[test]
fn github_dropping_the_labels_is_a_permanent_error_naming_the_issue() {
    let fake = Fake::start();
    fake.with(|s| s.drop_labels = true);
    let t = fake.config(TrackerKind::Github);
    let e = tracker::ensure(&c(), &t, &spec("escalate-7")).expect_err("labels dropped");
    assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
    assert!(
        e.message().contains("#100") && e.message().contains("triage or write access"),
        "{e:?}"
    );
    assert_clean(&e);
}

fn c() -> Client {
    client(Duration::from_secs(5))
}

#[test]
fn jira_cloud_basic_auth_creates_once_and_transitions_to_done_with_a_resolution() {
    let fake = Fake::start();
    fake.with(|s| {
        s.jira_cloud = true;
        s.jira_bare_ids = true;
        s.jira_transitions = vec![
            json!({ "id": "11", "name": "Start Progress", "to": { "name": "In Progress", "statusCategory": { "key": "indeterminate" } } }),
            json!({ "id": "31", "name": "Done", "to": { "name": "Done", "statusCategory": { "key": "done" } },
                    "fields": { "resolution": { "required": true, "allowedValues": [
                        { "id": "10", "name": "Won't Do" }, { "id": "12", "name": "Done" } ] } } }),
        ];
    });
    let t = fake.config(TrackerKind::Jira);
    let c = c();
    let created = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure");
    assert_eq!(
        created,
        TaskRef {
            key: "OPS-1".into(),
            url: format!("{}/browse/OPS-1", fake.base()),
            id: "10001".into(),
        }
    );
    let again = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure again");
    assert_eq!(again, created);
    assert_eq!(fake.count("POST /rest/api/2/issue"), 1, "no second create");
    assert_eq!(fake.count("POST /rest/api/2/search/jql"), 2);
    assert_eq!(
        fake.count("GET /rest/api/2/issue/10001"),
        1,
        "the key of a bare id"
    );
    assert_eq!(
        fake.count("POST /rest/api/2/search"),
        0,
        "the removed endpoint is not called on Cloud"
    );
    let task = &fake.tasks()[0];
    assert_eq!(task.labels, vec!["escalate-42", "escalate"]);
    assert_eq!(task.issue_type, "Task");
    assert_eq!(task.title, "Checkout fails for EU customers");

    tracker::close(&c, &t, &created, "Resolved.").expect("close");
    let task = &fake.tasks()[0];
    assert_eq!(task.comments, vec!["Resolved."]);
    assert_eq!(task.state, "Done");
    assert_eq!(task.resolution.as_deref(), Some("12"));

    for r in fake.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Basic {BASIC}").as_str()),
            "{r:?}"
        );
    }
}

#[test]
fn jira_server_bearer_falls_back_to_search_and_only_comments_without_a_closing_transition() {
    let fake = Fake::start();
    fake.with(|s| {
        s.jira_cloud = false;
        s.jira_transitions =
            vec![json!({ "id": "5", "name": "Start Progress", "to": { "name": "In Progress" } })];
    });
    let mut t = fake.config(TrackerKind::Jira);
    t.email = None;
    t.issue_type = Some("Incident".into());
    let c = c();
    let created = tracker::ensure(&c, &t, &spec("escalate-9")).expect("ensure");
    assert_eq!(created.key, "OPS-1");
    assert_eq!(
        tracker::ensure(&c, &t, &spec("escalate-9")).expect("again"),
        created
    );
    assert_eq!(fake.count("POST /rest/api/2/issue"), 1);
    assert_eq!(
        fake.count("POST /rest/api/2/search"),
        2,
        "Server search is used"
    );
    assert_eq!(fake.tasks()[0].issue_type, "Incident");

    tracker::close(&c, &t, &created, "Fixed in 4.2.1").expect("close");
    let task = &fake.tasks()[0];
    assert_eq!(task.comments, vec!["Fixed in 4.2.1"]);
    assert_eq!(task.state, "To Do", "no way to Done: comment only");
    assert_eq!(fake.count("POST /rest/api/2/issue/10001/transitions"), 0);
    for r in fake.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{r:?}"
        );
    }
}

#[test]
fn linear_creates_once_matches_whole_markers_and_completes() {
    let fake = Fake::start();
    fake.with(|s| {
        s.linear_states = vec![
            json!({ "id": "s-backlog", "name": "Backlog", "type": "backlog", "position": 0.0 }),
            json!({ "id": "s-shipped", "name": "Shipped", "type": "completed", "position": 5.0 }),
            json!({ "id": "s-done", "name": "Done", "type": "completed", "position": 3.0 }),
            json!({ "id": "s-cancel", "name": "Canceled", "type": "canceled", "position": 4.0 }),
        ];
    });
    let t = fake.config(TrackerKind::Linear);
    let c = c();
    let created = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure");
    assert_eq!(
        created,
        TaskRef {
            key: "ENG-1".into(),
            url: "https://linear.app/acme/issue/ENG-1".into(),
            id: "0000-uuid-1".into(),
        }
    );
    assert!(fake.tasks()[0]
        .body
        .ends_with("\n\nescalate-marker: escalate-42"));
    // crash after create, then the retry: found, not created again
    assert_eq!(
        tracker::ensure(&c, &t, &spec("escalate-42")).expect("again"),
        created
    );
    // "escalate-4" is a prefix of ENG-1's marker, not its marker
    let other = tracker::ensure(&c, &t, &spec("escalate-4")).expect("other");
    assert_eq!(other.key, "ENG-2");
    assert_eq!(fake.tasks().len(), 2);

    tracker::close(&c, &t, &created, "Resolved.").expect("close");
    let task = &fake.tasks()[0];
    assert_eq!(task.comments, vec!["Resolved."]);
    assert_eq!(
        task.state, "Done",
        "the first completed state in workflow order"
    );

    for r in fake.requests() {
        assert_eq!(r.route(), "POST /graphql");
        assert_eq!(
            r.header("authorization"),
            Some(TOKEN),
            "API keys are sent raw"
        );
        assert!(r.json()["query"].is_string());
    }
}

#[test]
fn linear_graphql_errors_are_permanent_unless_rate_limited() {
    let fake = Fake::start();
    let mut t = fake.config(TrackerKind::Linear);
    let c = c();
    t.project = "no-such-team".into();
    let e = tracker::create(&c, &t, &spec("escalate-1")).expect_err("graphql error");
    assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
    assert!(e.message().contains("Entity not found: Team"), "{e:?}");

    let reset_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 30_000;
    fake.fail(Some(Fail {
        code: 400,
        headers: vec![
            ("x-ratelimit-requests-remaining".into(), "0".into()),
            ("x-ratelimit-requests-reset".into(), reset_ms.to_string()),
            // The reset is measured against the reply's own clock.
            ("date".into(), chrono::Utc::now().to_rfc2822()),
        ],
        body: Some(
            json!({ "errors": [{ "message": "Rate limit exceeded", "extensions": { "code": "RATELIMITED" } }] })
                .to_string(),
        ),
        ..Fail::default()
    }));
    let e = tracker::find(&c, &t, "escalate-1").expect_err("rate limited");
    match &e {
        SendError::Temporary(_, Some(after)) => {
            assert!((28..=31).contains(&after.as_secs()), "{e:?}")
        }
        _ => panic!("rate limits are temporary with the reset: {e:?}"),
    }
    assert_clean(&e);
}

#[test]
fn failures_are_classified_and_never_carry_the_token() {
    for kind in [TrackerKind::Github, TrackerKind::Jira, TrackerKind::Linear] {
        let fake = Fake::start();
        fake.with(|s| {
            s.jira_cloud = true;
            s.linear_states = vec![json!({ "id": "s-done", "name": "Done", "type": "completed" })];
            s.jira_transitions =
                vec![json!({ "id": "31", "name": "Done", "to": { "name": "Done" } })];
        });
        let t = fake.config(kind);
        let c = c();
        let name = format!("{} tracker \"eng\"", kind.as_str());

        fake.fail(Some(Fail::status(500)));
        let e = tracker::ensure(&c, &t, &spec("escalate-42")).expect_err("500");
        assert!(
            matches!(e, SendError::Temporary(_, None)),
            "{kind:?}: {e:?}"
        );
        assert!(
            e.message().starts_with(&name) && e.message().contains("500"),
            "{e:?}"
        );
        assert_clean(&e);

        fake.fail(Some(Fail {
            code: 429,
            headers: vec![("retry-after".into(), "7".into())],
            ..Fail::default()
        }));
        let e = tracker::ensure(&c, &t, &spec("escalate-42")).expect_err("429");
        assert_eq!(
            e,
            SendError::Temporary(e.message().to_string(), Some(Duration::from_secs(7))),
            "{kind:?}"
        );
        assert_clean(&e);

        fake.fail(Some(Fail {
            code: 401,
            echo_auth: true,
            ..Fail::default()
        }));
        let e = tracker::ensure(&c, &t, &spec("escalate-42")).expect_err("401");
        assert!(matches!(e, SendError::Permanent(_)), "{kind:?}: {e:?}");
        assert!(
            e.message().contains("401") && e.message().contains("bad credentials"),
            "{e:?}"
        );
        assert!(
            e.message().contains("[redacted]"),
            "the echoed credential is scrubbed: {e:?}"
        );
        assert_clean(&e);

        // the comment went through, the close did not: temporary, retried
        fake.fail(None);
        let task = tracker::ensure(&c, &t, &spec("escalate-42")).expect("ensure");
        let closing = match kind {
            TrackerKind::Github => "PATCH /repos/",
            TrackerKind::Jira => "GET /rest/api/2/issue/",
            TrackerKind::Linear => "issueUpdate",
        };
        fake.fail(Some(Fail {
            only: Some(closing),
            ..Fail::status(503)
        }));
        let e = tracker::close(&c, &t, &task, "Resolved.").expect_err("503");
        assert!(
            matches!(e, SendError::Temporary(_, None)),
            "{kind:?}: {e:?}"
        );
        assert_eq!(fake.tasks()[0].comments, vec!["Resolved."], "{kind:?}");
        assert_clean(&e);
        fake.fail(None);
        tracker::close(&c, &t, &task, "Resolved.").expect("retried close");
        let closed = &fake.tasks()[0];
        assert!(
            closed.state == "closed" || closed.state == "Done",
            "{kind:?}: {closed:?}"
        );
    }
}

#[test]
fn unexpected_answers_are_permanent_and_name_the_tracker_and_call() {
    for kind in [TrackerKind::Github, TrackerKind::Jira, TrackerKind::Linear] {
        let fake = Fake::start();
        let t = fake.config(kind);
        let c = c();
        for body in [r#"{"unexpected": true}"#, "<html>proxy login</html>"] {
            fake.fail(Some(Fail {
                body: Some(body.into()),
                ..Fail::status(200)
            }));
            let e = tracker::find(&c, &t, "escalate-42").expect_err("garbage");
            assert!(matches!(e, SendError::Permanent(_)), "{kind:?}: {e:?}");
            let m = e.message();
            assert!(
                m.starts_with(&format!("{} tracker \"eng\": ", kind.as_str())),
                "{m}"
            );
            assert!(m.contains("unexpected response"), "{m}");
            assert!(
                m.contains("find issue") || m.contains("search issues"),
                "{m}"
            );
            assert_clean(&e);
        }
    }
}

#[test]
fn unreachable_and_hanging_trackers_are_temporary() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut t = Fake::start().config(TrackerKind::Github);
    t.base_url = format!("http://127.0.0.1:{port}");
    let e = tracker::ensure(&c(), &t, &spec("escalate-1")).expect_err("refused");
    assert!(matches!(e, SendError::Temporary(_, None)), "{e:?}");
    assert!(e.message().contains("connection failed"), "{e:?}");
    assert_clean(&e);

    let fake = Fake::start();
    fake.fail(Some(Fail {
        hang: Some(Duration::from_secs(3)),
        ..Fail::default()
    }));
    let t = fake.config(TrackerKind::Jira);
    let started = std::time::Instant::now();
    let e = tracker::ensure(&client(Duration::from_millis(300)), &t, &spec("escalate-1"))
        .expect_err("hang");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(e, SendError::Temporary(_, None)), "{e:?}");
    assert!(e.message().contains("timed out"), "{e:?}");
    assert_clean(&e);
}

#[test]
fn bad_markers_and_missing_tokens_fail_before_any_request() {
    let fake = Fake::start();
    let c = c();
    for kind in [TrackerKind::Github, TrackerKind::Jira, TrackerKind::Linear] {
        let mut t = fake.config(kind);
        for marker in ["", "escalate 42", "escalate,42", "x\"y", &"m".repeat(51)] {
            let e = tracker::ensure(&c, &t, &spec(marker)).expect_err("bad marker");
            assert!(
                matches!(e, SendError::Permanent(_)),
                "{kind:?} {marker:?}: {e:?}"
            );
        }
        t.token = " ".into();
        let e = tracker::ensure(&c, &t, &spec("escalate-1")).expect_err("no token");
        assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
        assert!(e.message().contains("no token"), "{e:?}");
    }
    let mut t = fake.config(TrackerKind::Github);
    t.project = "not a repo".into();
    let e = tracker::ensure(&c, &t, &spec("escalate-1")).expect_err("bad repo");
    assert!(e.message().contains("owner/repo"), "{e:?}");
    assert!(fake.requests().is_empty());
}

#[test]
fn a_parsed_tracker_section_resolves_its_token() {
    use escalate::config::{Secret, Tracker};
    let mut section = Tracker {
        name: "eng".into(),
        kind: TrackerKind::Jira,
        url: "https://acme.atlassian.net".into(),
        token: Secret::Literal(TOKEN.into()),
        project: "OPS".into(),
        issue_type: Some("Bug".into()),
        email: Some(EMAIL.into()),
    };
    let t = TrackerConfig::from_config(&section).expect("literal");
    assert_eq!(t.token, TOKEN);
    assert_eq!(
        (t.kind, t.base_url.as_str()),
        (TrackerKind::Jira, "https://acme.atlassian.net")
    );
    assert_eq!(
        (t.issue_type.as_deref(), t.email.as_deref()),
        (Some("Bug"), Some(EMAIL))
    );
    section.token = Secret::Env("ESCALATE_TEST_TRACKER_TOKEN_NEVER_SET".into());
    let e = TrackerConfig::from_config(&section).expect_err("unset");
    assert!(
        e.contains("[trackers.eng] token") && e.contains("ESCALATE_TEST_TRACKER_TOKEN_NEVER_SET"),
        "{e}"
    );
}
