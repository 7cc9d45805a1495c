//! Engineering tasks and event subscriptions through the real binary,
//! against HTTP servers on 127.0.0.1 started by each test: a GitHub Issues
//! API (`support::trackers::GithubIssues`: list by label, create, comment,
//! close) and a subscriber.

use crate::support::http::{Action, Server};
use crate::support::trackers::GithubIssues;
use crate::support::*;

fn task_config(url: &str) -> String {
    format!(
        r#"
[chains.eng]
levels = [
  {{ role = "agent", wait_hours = 1 }},
  {{ role = "oncall", wait_hours = 1, create_task = "gh" }},
  {{ role = "em", wait_hours = 1 }},
]
response_hours = 2

[trackers.gh]
kind = "github"
url = "{url}"
token = {{ env = "TEST_GH_TOKEN" }}
project = "acme/app"

[roles.agent]
[roles.oncall]
[roles.em]
"#
    )
}

/// The GitHub fake and an initialised directory whose `eng` chain asks it
/// for a task at level 2.
fn task_env(fail_creates: usize) -> (GithubIssues, Env) {
    let github = GithubIssues::start(fail_creates);
    let env = Env::with_config(&task_config(&github.url()));
    env.set_var("TEST_GH_TOKEN", "ghp_secret_token");
    env.run(&["init"]).ok();
    (github, env)
}

#[test]
fn reaching_engineering_creates_one_task_and_resolving_closes_it() {
    let (github, env) = task_env(0);
    let id = env.create(0, "eng", "Checkout 500s");
    env.at(30, &["check"]).ok();
    assert_eq!(
        github.count("POST", "/repos/acme/app/issues"),
        0,
        "level 1 asks for no task"
    );

    env.at(61, &["check"]).ok();
    env.at(62, &["check"]).ok();
    env.at(125, &["check"]).ok(); // level 3: still the same task
    assert_eq!(github.count("POST", "/repos/acme/app/issues"), 1);
    let created = github.issues()[0].clone();
    let body = created["body"].as_str().unwrap_or("");
    assert!(body.contains("level 2 (oncall) of chain `eng`"), "{body}");
    assert!(body.contains("Level history:"), "{body}");
    assert!(body.contains("SLA response:"), "{body}");
    // The marker names this database's instance and the issue.
    let marker = body
        .lines()
        .find_map(|l| l.strip_prefix("escalate-marker: "))
        .unwrap_or("");
    assert!(
        marker.starts_with("escalate-") && marker.ends_with("-1"),
        "{body}"
    );
    assert_eq!(marker.len(), "escalate-12345678-1".len(), "{marker}");
    assert_eq!(created["title"], "[escalate #1] Checkout 500s");
    let auth = github.server.requests()[0]
        .header("authorization")
        .unwrap_or("")
        .to_string();
    assert_eq!(auth, "Bearer ghp_secret_token");

    let v = env.show(id);
    assert_eq!(v["task"]["tracker"], "gh");
    assert_eq!(v["task"]["key"], "#1");
    assert_eq!(v["task"]["url"], "https://github.test/acme/app/issues/1");
    let listed = env.at(62, &["list"]).ok().stdout;
    assert!(listed.contains("gh #1"), "{listed}");
    let shown = env.run(&["show", &id.to_string()]).ok().stdout;
    assert!(
        shown.contains("task:    gh #1 https://github.test/acme/app/issues/1"),
        "{shown}"
    );

    env.at(130, &["resolve", &id.to_string(), "--note", "rolled back"])
        .ok();
    env.at(131, &["check"]).ok();
    assert_eq!(github.count("PATCH", "/repos/acme/app/issues/1"), 1);
    assert_eq!(github.issues()[0]["state"], "closed");
    let comment = github
        .server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/comments"))
        .expect("a comment");
    assert!(comment.json()["body"]
        .as_str()
        .unwrap_or("")
        .contains("rolled back"));
    let k = env.kinds(id);
    assert_eq!(
        k.iter().filter(|k| *k == "task_created").count(),
        1,
        "{k:?}"
    );
    assert_eq!(k.iter().filter(|k| *k == "task_closed").count(), 1, "{k:?}");

    // The token is in no stored byte.
    let db = env.state();
    assert!(!String::from_utf8_lossy(&db).contains("ghp_secret_token"));
}

#[test]
fn a_create_whose_answer_was_lost_is_found_not_duplicated() {
    let (github, env) = task_env(1);
    let id = env.create(0, "eng", "Lost answer");
    let r = env.at(61, &["check"]).code(3);
    assert!(r.stderr.contains("will retry"), "{r:?}");
    assert!(!r.stderr.contains("ghp_secret_token"), "{r:?}");
    // The retry after the backoff looks the task up by its label first.
    env.at(70, &["check"]).ok();
    assert_eq!(github.issues().len(), 1, "one task in the tracker");
    assert_eq!(env.show(id)["task"]["key"], "#1");
}

#[test]
fn task_config_errors_are_one_line() {
    let base = "[roles.a]\n[chains.c]\nlevels = [{ role = \"a\", wait_hours = 1, create_task = \"gh\" }]\n";
    let cases = [
        ("", "unknown tracker `gh`"),
        ("[trackers.gh]\nkind = \"trello\"\nurl = \"https://x\"\ntoken = \"t\"\nproject = \"a/b\"\n", "expected \"github\", \"jira\" or \"linear\""),
        ("[trackers.gh]\nkind = \"github\"\nurl = \"ftp://x\"\ntoken = \"t\"\nproject = \"a/b\"\n", "[trackers.gh] url"),
        ("[trackers.gh]\nkind = \"github\"\nurl = \"https://x\"\ntoken = \"t\"\nproject = \"norepo\"\n", "owner/repo"),
    ];
    for (tracker, fragment) in cases {
        Test::new()
            .no_db()
            .config(&format!("{base}{tracker}"))
            .args(["config", "check"])
            .code(2)
            .one_line_error(fragment)
            .run();
    }
    // An unset token is reported by config check, before any page is due.
    Test::new()
        .no_db()
        .config(&format!(
            "{base}[trackers.gh]\nkind = \"github\"\nurl = \"https://x\"\ntoken = {{ env = \"TEST_UNSET_GH\" }}\nproject = \"a/b\"\n"
        ))
        .args(["config", "check"])
        .code(2)
        .stderr_has("[trackers.gh] token")
        .stderr_has("TEST_UNSET_GH")
        .run();
}

#[test]
fn subscriptions_post_chosen_kinds_signed_exactly_once() {
    let server = Server::start(|_| Action::json(200, "{}"));
    let config = format!(
        "{}\n[[subscriptions]]\nurl = \"{}/hook\"\nsecret = {{ env = \"TEST_SUB_SECRET\" }}\nkinds = [\"created\", \"escalated\", \"resolved\"]\n",
        STARTER,
        server.url("")
    );
    let env = Env::with_config(&config);
    env.set_var("TEST_SUB_SECRET", "s3cret");
    env.run(&["init"]).ok();
    // The first delivery pass places the cursor at the end of the log.
    env.at(0, &["check"]).ok();
    let id = env.create(1, "customer_issue", "Subscribed");
    env.at(2, &["check"]).ok();
    env.at(241, &["check"]).ok(); // level 2
    env.at(242, &["resolve", &id.to_string()]).ok();
    env.at(243, &["check"]).ok();
    env.at(244, &["check"]).ok();

    let posts = server.requests();
    let mut seen = Vec::new();
    for p in &posts {
        assert_eq!(p.path, "/hook");
        let body = p.json();
        assert_eq!(body["schema"], "escalate.events.v1");
        // Receivers verify the signature over the exact body.
        let sig = p.header("x-escalate-signature").unwrap_or("");
        assert!(sig.starts_with("sha256="), "{sig}");
        // The replay-safe signature signs the run's time with the body.
        let v1 = p.header("x-escalate-signature-v1").unwrap_or("");
        let t: i64 = v1
            .strip_prefix("t=")
            .and_then(|r| r.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("t=");
        let sent_at = chrono::DateTime::parse_from_rfc3339(body["sent_at"].as_str().unwrap_or(""))
            .expect("sent_at");
        assert_eq!(t, sent_at.timestamp(), "{v1}");
        for e in body["events"].as_array().expect("events") {
            seen.push((
                e["kind"].as_str().unwrap_or("").to_string(),
                e["id"].as_i64().unwrap_or(0),
            ));
            assert_eq!(e["issue_id"], id);
        }
    }
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["created", "escalated", "resolved"], "{posts:?}");
    let ids: Vec<i64> = seen.iter().map(|(_, i)| *i).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "each event once, in order"
    );
    // Deliveries to subscribers are not logged as issue events.
    assert!(!env.kinds(id).contains(&"delivery_failed".to_string()));
}

/// The issue ids of the `created` events a subscription receives when it
/// is added after two issues exist, with `from` as given (None: unset).
fn created_events_seen(from: Option<&str>) -> (Vec<i64>, Vec<i64>) {
    let server = Server::start(|_| Action::json(200, "{}"));
    let env = Env::init(STARTER);
    let old = vec![
        env.create(0, "customer_issue", "Before the subscription"),
        env.create(1, "customer_issue", "Also before"),
    ];
    let from = from
        .map(|f| format!("from = \"{f}\"\n"))
        .unwrap_or_default();
    env.write_config(&format!(
        "{STARTER}\n[[subscriptions]]\nurl = \"{}\"\nkinds = [\"created\"]\n{from}",
        server.url("/hook")
    ));
    env.at(2, &["check"]).ok();
    let new = env.create(3, "customer_issue", "After the subscription");
    env.at(4, &["check"]).ok();
    env.at(5, &["check"]).ok();
    let mut seen = Vec::new();
    for p in server.requests() {
        for e in p.json()["events"].as_array().cloned().unwrap_or_default() {
            assert_eq!(e["kind"], "created");
            seen.push(e["issue_id"].as_i64().unwrap_or(0));
        }
    }
    let mut all = old;
    all.push(new);
    (seen, all)
}

#[test]
fn subscription_from_start_and_by_default_receives_the_history_once_then_new_events() {
    for from in [Some("start"), None] {
        let (seen, all) = created_events_seen(from);
        assert_eq!(
            seen, all,
            "from = {from:?}: history in order, each event once"
        );
    }
}

#[test]
fn subscription_from_now_receives_only_new_events() {
    let (seen, all) = created_events_seen(Some("now"));
    assert_eq!(seen, all[2..]);
}
