//! Engineering-task trackers (the library's GitHub, Jira and Linear
//! clients) against the fake in `support::trackers` on 127.0.0.1: it speaks
//! the documented GitHub REST, Jira REST v2 and Linear GraphQL shapes,
//! keeps its issues, comments and closes, and fails on demand (500, 429
//! with Retry-After, 401 echoing the credential, garbage, a hang).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use escalate::config::TrackerKind;
use escalate::notify::tracker::{self, TaskRef, TaskSpec, TrackerConfig};
use escalate::notify::SendError;
use reqwest::blocking::Client;
use serde_json::json;

use crate::support::closed_port;
use crate::support::trackers::{Fail, Fake, BASIC, EMAIL, TOKEN};

fn client(timeout: Duration) -> Client {
    escalate::notify::install_crypto();
    escalate::notify::http::client(timeout, false).expect("client")
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
    let port = closed_port();
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

#[test]
fn github_and_linear_close_comments_show_the_note_as_written() {
    use escalate::text::markdown_escape;
    let note = "Resolved in escalate by @ann at 2026-11-02T09:00:00Z: \
                see [docs](http://evil.example) **now** <b>hi</b> @everyone\n# not a heading";
    for kind in [TrackerKind::Github, TrackerKind::Linear] {
        let fake = Fake::start();
        if kind == TrackerKind::Linear {
            fake.with(|s| {
                s.linear_states = vec![
                    json!({ "id": "s-done", "name": "Done", "type": "completed", "position": 1.0 }),
                ];
            });
        }
        let t = fake.config(kind);
        let c = c();
        let created = tracker::ensure(&c, &t, &spec("escalate-7")).expect("ensure");
        tracker::close(&c, &t, &created, note).expect("close");
        let comments = &fake.tasks()[0].comments;
        assert_eq!(comments, &vec![markdown_escape(note)], "{kind:?}");
        let comment = &comments[0];
        for live in ["[docs](", "**now**", "<b>", "\n# ", "http://"] {
            assert!(
                !comment.contains(live),
                "{kind:?}: {live} live in {comment}"
            );
        }
        // every mention, link and markup character is backslash-escaped
        let chars: Vec<char> = comment.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if matches!(c, '@' | '[' | ']' | '*' | '<' | '>' | '#') {
                assert_eq!(chars[i - 1], '\\', "{kind:?}: bare {c} in {comment}");
            }
        }
        // the words are all still there
        assert!(comment.contains("Resolved in escalate by"), "{comment}");
        assert!(comment.contains("2026-11-02T09:00:00Z"), "{comment}");
    }
}
