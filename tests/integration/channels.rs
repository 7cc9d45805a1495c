//! Delivery channels against real peers on 127.0.0.1: an HTTP server playing
//! Slack and a webhook receiver (counting requests, answering 500/404/429 on
//! demand), driven through the real binary.

use std::time::{Duration, Instant};

use crate::support::peer::Peer;
use crate::support::*;

const SECRET_PATH: &str = "/services/T000/B000/SECRETTOKEN";

/// The starter chains with Slack and a signed webhook on level 1 and 2.
fn config(peer: &Peer) -> String {
    STARTER
        .replace(
            "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
            &format!(
                "[roles.support_agent]\nslack = \"{}\"\nwebhook = {{ env = \"TEST_HOOK_URL\" }}\nwebhook_secret = {{ env = \"TEST_HOOK_SECRET\" }}\n",
                peer.url(SECRET_PATH)
            ),
        )
        .replace(
            "[roles.support_lead]\ndescription = \"Support team lead\"\n",
            &format!("[roles.support_lead]\nslack = \"{}\"\n", peer.url("/lead")),
        )
}

/// An initialised directory with [`config`] and the webhook's variables.
fn env_for(peer: &Peer) -> Env {
    let env = Env::with_config(&config(peer));
    env.set_var("TEST_HOOK_URL", &peer.url("/hook"));
    env.set_var("TEST_HOOK_SECRET", "s3cret");
    env.run(&["init"]).ok();
    env
}

#[test]
fn slack_and_signed_webhook_exactly_once() {
    let peer = Peer::start();
    let env = env_for(&peer);
    let r = env
        .at(
            0,
            &[
                "create",
                "--chain",
                "customer_issue",
                "--title",
                "Login broken",
            ],
        )
        .ok();
    assert!(
        pages(&r.stderr).is_empty(),
        "contacts replace the console: {r:?}"
    );
    assert_eq!(peer.on(SECRET_PATH).len(), 1);
    let hooks = peer.on("/hook");
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    let body: serde_json::Value = serde_json::from_str(&hook.body).expect("json");
    assert_eq!(body["schema"], "escalate.notification.v1");
    assert_eq!(body["notifications"][0]["issue_id"], 1);
    assert_eq!(body["notifications"][0]["level"], 1);
    assert_eq!(
        hook.header("x-escalate-signature"),
        Some(escalate::notify::webhook::sign(b"s3cret", hook.body.as_bytes()).as_str())
    );
    let slack: serde_json::Value =
        serde_json::from_str(&peer.on(SECRET_PATH)[0].body).expect("json");
    assert!(slack["text"]
        .as_str()
        .unwrap_or("")
        .contains("Login broken"));
    assert!(slack["blocks"].is_array());
    // more checks before L2 is due send nothing more
    for m in [5, 60, 120] {
        env.at(m, &["check"]).ok();
    }
    assert_eq!(peer.requests().len(), 2);
    let issue = env.show(1);
    let notified = issue["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "notified")
        .count();
    assert_eq!(notified, 2);
}

#[test]
fn slack_text_is_escaped() {
    let peer = Peer::start();
    let env = env_for(&peer);
    env.at(
        0,
        &[
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "<!channel> @everyone <http://x|click> <!here>",
        ],
    )
    .ok();
    let body = &peer.on(SECRET_PATH)[0].body;
    for bad in ["<!channel>", "<!here>", "<http://x|click>", "@everyone"] {
        assert!(!body.contains(bad), "{bad} survived: {body}");
    }
    assert!(body.contains("&lt;!channel&gt;"), "{body}");
}

#[test]
fn a_storm_to_one_channel_is_one_message() {
    let peer = Peer::start();
    let env = env_for(&peer);
    for i in 0..30 {
        env.create(0, "customer_issue", &format!("issue {i}"));
    }
    env.at(240, &["check"]).ok();
    let lead = peer.on("/lead");
    assert_eq!(lead.len(), 1, "one post for 30 escalations");
    assert!(lead[0].body.contains("30 escalations"), "{}", lead[0].body);
    assert!(lead[0].body.contains("and 10 more"), "{}", lead[0].body);
    // …while each issue's outbox row and event stay exact
    let rows = env
        .run(&["outbox", "--status", "sent", "--limit", "0", "--json"])
        .ok()
        .json();
    let to_lead = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["role"] == "support_lead")
        .count();
    assert_eq!(to_lead, 30);
}

#[test]
fn endpoint_down_for_a_day_then_back_loses_nothing() {
    let peer = Peer::start();
    let env = env_for(&peer);
    peer.answer(500);
    let r = env.at(0, &["create", "--chain", "customer_issue", "--title", "A"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("HTTP 500"), "{r:?}");
    let mut attention = 0;
    for m in (1..=24 * 12).map(|i| i * 5) {
        let r = env.at(m, &["check"]);
        assert!(r.code == 0 || r.code == 3, "{r:?}");
        attention += usize::from(r.code == 3);
        assert!(!r.stderr.contains("SECRETTOKEN"), "secret in stderr: {r:?}");
    }
    assert!(attention > 0);
    let attempts = peer.requests().len();
    assert!(attempts < 4 * 40, "retries bounded by backoff: {attempts}");
    peer.answer(200);
    let before = peer.requests().len();
    env.at(24 * 60 + 120, &["check"]).ok();
    let pending = env.run(&["outbox", "--json"]).ok().json();
    assert_eq!(
        pending.as_array().map(Vec::len),
        Some(0),
        "all delivered: {pending}"
    );
    assert!(peer.requests().len() > before);
    let dead = env
        .run(&["outbox", "--status", "dead", "--json"])
        .ok()
        .json();
    assert_eq!(dead.as_array().map(Vec::len), Some(0));
    // the secret path never reached the database
    assert!(!String::from_utf8_lossy(&env.state()).contains("SECRETTOKEN"));
}

#[test]
fn permanent_failure_is_dead_reported_and_retryable() {
    let peer = Peer::start();
    let env = env_for(&peer);
    peer.answer(404);
    let r = env.at(0, &["create", "--chain", "customer_issue", "--title", "A"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("404"), "{r:?}");
    let dead = env
        .run(&["outbox", "--status", "dead", "--json"])
        .ok()
        .json();
    assert_eq!(
        dead.as_array().map(Vec::len),
        Some(2),
        "slack and webhook: {dead}"
    );
    let before = peer.requests().len();
    env.at(60, &["check"]).ok();
    assert_eq!(peer.requests().len(), before, "dead rows are not retried");
    peer.answer(200);
    env.at(61, &["outbox", "retry", "--all-dead"]).ok();
    env.at(62, &["check"]).ok();
    assert_eq!(peer.requests().len(), before + 2);
    env.run(&["outbox", "retry", "9999"])
        .code(4)
        .one_line_error("delivery 9999 does not exist");
}

#[test]
fn rate_limited_retries_honour_retry_after() {
    let peer = Peer::start();
    let env = env_for(&peer);
    peer.answer_retry_after(429, 600);
    env.at(0, &["create", "--chain", "customer_issue", "--title", "A"])
        .code(3);
    peer.answer(200);
    let n = peer.requests().len();
    env.at(5, &["check"]).ok();
    assert_eq!(peer.requests().len(), n, "not before Retry-After");
    env.at(10, &["check"]).ok();
    assert_eq!(peer.requests().len(), n + 2);
}

#[test]
fn concurrent_checks_deliver_each_row_once() {
    let peer = Peer::start();
    let env = env_for(&peer);
    for i in 0..20 {
        env.create(0, "customer_issue", &format!("issue {i}"));
    }
    let children: Vec<_> = (0..8)
        .map(|_| env.test().at("+4h").args(["check"]).spawn())
        .collect();
    for c in children {
        let r = Run::wait(c);
        assert_eq!(r.code, 0, "{r:?}");
    }
    let sent = env
        .run(&["outbox", "--status", "sent", "--limit", "0", "--json"])
        .ok()
        .json();
    let to_lead = sent
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["role"] == "support_lead")
        .count();
    assert_eq!(to_lead, 20);
    let events: usize = (1..=20)
        .map(|id| {
            env.events(id)
                .iter()
                .filter(|e| e["kind"] == "notified" && e["level"] == 2)
                .count()
        })
        .sum();
    assert_eq!(
        events, 20,
        "each level-2 notification recorded exactly once"
    );
    let listed: usize = peer
        .on("/lead")
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            body["text"].as_str().unwrap_or("").matches("• #").count()
        })
        .sum();
    assert_eq!(listed, 20, "each issue listed once across all posts");
}

#[test]
fn notify_test_reports_each_contact() {
    let peer = Peer::start();
    let env = env_for(&peer);
    let r = env.run(&["notify", "test", "support_agent"]).ok();
    assert_eq!(
        r.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        2,
        "{r:?}"
    );
    let hook = &peer.on("/hook")[0];
    assert!(hook.body.contains("\"test\":true"), "{}", hook.body);
    peer.answer(500);
    let r = env.run(&["notify", "test", "support_lead"]).code(3);
    assert!(r.stdout.contains("FAILED"), "{r:?}");
    env.run(&["notify", "test", "nobody"])
        .code(2)
        .one_line_error("unknown role `nobody`");
}

#[test]
fn config_check_reports_unset_env_and_bad_contacts() {
    let peer = Peer::start();
    let text = config(&peer).replace("TEST_HOOK_URL", "ESCALATE_TEST_UNSET_VAR");
    Test::new()
        .no_db()
        .config(&text)
        .args(["config", "check"])
        .code(2)
        .stderr_has("ESCALATE_TEST_UNSET_VAR is not set")
        .run();
    let cto = |contact: &str| {
        STARTER.replace(
            "[roles.cto]\ndescription = \"CTO\"\n",
            &format!("[roles.cto]\n{contact}\n"),
        )
    };
    Test::new()
        .no_db()
        .config(&cto("slack = \"not a url\""))
        .args(["config", "check"])
        .code(2)
        .one_line_error("role `cto` slack: malformed URL")
        .run();
    Test::new()
        .no_db()
        .config(&cto("email = \"cto-at-example\""))
        .args(["config", "check"])
        .code(2)
        .one_line_error("not an email address")
        .run();
}

#[test]
fn a_deliverer_killed_mid_send_loses_nothing_and_repeats_only_that_send() {
    let peer = Peer::start();
    let env = env_for(&peer);
    env.create(0, "customer_issue", "before the crash");
    env.create(1, "customer_issue", "crash victim");
    // Both issues reach level 2 at 240/241 minutes; the lead's endpoint hangs.
    peer.hang();
    let mut child = env.test().at(245).args(["check"]).spawn_silent();
    let deadline = Instant::now() + Duration::from_secs(20);
    while peer.on("/lead").is_empty() {
        assert!(Instant::now() < deadline, "no send started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    // Committed but unsent: the rows are still owed. Within the lease
    // nobody else takes them; after it the next check sends them.
    peer.answer(200);
    env.at(246, &["check"]).ok();
    assert_eq!(
        peer.on("/lead").len(),
        1,
        "the lease holds the in-flight rows"
    );
    env.at(251, &["check"]).ok();
    let posts = peer.on("/lead");
    assert_eq!(posts.len(), 2, "the interrupted send repeated once");
    for post in &posts {
        assert!(post.body.contains("#1 before the crash"), "{post:?}");
        assert!(post.body.contains("#2 crash victim"), "{post:?}");
    }
    for id in 1..=2 {
        let notified = env
            .events(id)
            .iter()
            .filter(|e| e["kind"] == "notified" && e["level"] == 2)
            .count();
        assert_eq!(notified, 1, "issue {id}");
    }
    env.at(300, &["check"]).ok();
    assert_eq!(peer.on("/lead").len(), 2, "nothing more");
}

#[test]
fn nothing_decided_before_a_resolve_is_sent_after_a_reopen() {
    let peer = Peer::start();
    let env = env_for(&peer);
    peer.answer(500);
    // Level 1 fails and waits for a retry; then the issue is resolved and
    // reopened (a new escalation, paging level 1 afresh).
    env.at(0, &["create", "--chain", "customer_issue", "--title", "A"])
        .code(3);
    env.at(1, &["resolve", "1"]).ok();
    peer.answer(200);
    env.at(2, &["reopen", "1"]).ok();
    env.at(10, &["check"]).ok();
    // One Slack and one webhook message per attempt; only the reopen's went
    // out after the failures (the first escalation's rows were cancelled).
    let ok_posts = peer.requests().len() - 2;
    assert_eq!(ok_posts, 2, "{:?}", peer.requests());
    let cancelled = env
        .run(&["outbox", "--status", "all", "--json"])
        .ok()
        .json();
    let mut statuses: Vec<String> = cancelled
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("").to_string())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "cancelled", "sent", "sent"]);
}

#[test]
fn create_sends_only_its_own_issue_and_reports_only_its_own_failures() {
    let peer = Peer::start();
    let env = env_for(&peer);
    peer.answer(500);
    env.at(0, &["create", "--chain", "customer_issue", "--title", "A"])
        .code(3);
    let failed_posts = peer.requests().len();
    // The relay is still down for #1's retry, but #2's create neither
    // retries #1 nor blames itself for it.
    peer.answer(200);
    let r = env
        .at(0, &["create", "--chain", "customer_issue", "--title", "B"])
        .ok();
    assert!(r.stderr.is_empty(), "{r:?}");
    let after: Vec<String> = peer.requests()[failed_posts..]
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert!(
        after
            .iter()
            .all(|b| !b.contains("#1 ") && !b.contains("\"issue_id\":1")),
        "{after:?}"
    );
    assert_eq!(after.len(), 2, "Slack and webhook for #2 only");
}

// ------------------------------------------------- hostile and slow peers

/// Level 1 posts to Slack on `good` and to a webhook on `bad`; `timeout`
/// is `[delivery] timeout_seconds`.
fn two_peers(good: &str, bad: &str, timeout: u32) -> Env {
    let config = STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        &format!(
            "[roles.support_agent]\nslack = \"{good}\"\nwebhook = {{ env = \"TEST_BAD_HOOK\" }}\n"
        ),
    );
    let config = format!("{config}\n[delivery]\ntimeout_seconds = {timeout}\n");
    let env = Env::with_config(&config);
    env.set_var("TEST_BAD_HOOK", bad);
    env.run(&["init"]).ok();
    env
}

/// `create` at minute 0 and how long it took.
fn timed_create(env: &Env) -> (Run, Duration) {
    let started = Instant::now();
    let r = env.at(
        0,
        &[
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "Login broken",
        ],
    );
    (r, started.elapsed())
}

/// The webhook row's `last_error` and status.
fn hook_row(env: &Env) -> (String, String) {
    let rows = env.outbox("all");
    let row = rows
        .iter()
        .find(|r| r["channel"] == "webhook")
        .unwrap_or_else(|| panic!("a webhook row: {rows:?}"));
    (
        row["last_error"].as_str().unwrap_or("").to_string(),
        row["status"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_peer_dripping_its_answer_cannot_stretch_the_deadline() {
    use crate::support::peer::Body;
    for status in [503, 400, 200] {
        let good = Peer::start();
        let bad = Peer::start();
        bad.answer_with(status, Body::Drip);
        let env = two_peers(&good.url("/slack"), &bad.url("/hook"), 1);
        let (r, took) = timed_create(&env);
        r.no_panic();
        assert!(
            took < Duration::from_secs(6),
            "HTTP {status}: one byte per 200 ms kept create running for {took:?}: {r:?}"
        );
        // the other send of the run is recorded
        assert_eq!(good.count(), 1, "HTTP {status}");
        let rows = env.outbox("all");
        let slack = rows
            .iter()
            .find(|r| r["channel"] == "slack")
            .expect("slack row");
        assert_eq!(slack["status"], "sent", "HTTP {status}: {rows:?}");
        let (error, row_status) = hook_row(&env);
        match status {
            // a 2xx is a delivery: its body is never waited for
            200 => assert_eq!(row_status, "sent", "{r:?}"),
            // the error body is quoted as far as it came before the deadline
            503 => {
                assert_eq!(row_status, "pending", "retried: {error}");
                assert!(error.contains("HTTP 503"), "{error}");
            }
            _ => {
                assert_eq!(row_status, "dead", "{error}");
                assert!(error.contains("HTTP 400"), "{error}");
            }
        }
    }
}

#[test]
fn an_endless_error_body_is_read_only_as_far_as_it_is_kept() {
    use crate::support::peer::Body;
    let good = Peer::start();
    let bad = Peer::start();
    bad.answer_with(500, Body::Endless);
    // A deadline far away: only a bounded read ends the send quickly.
    let env = two_peers(&good.url("/slack"), &bad.url("/hook"), 30);
    let (r, took) = timed_create(&env);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(took < Duration::from_secs(10), "read for {took:?}");
    let (error, status) = hook_row(&env);
    assert_eq!(status, "pending");
    assert!(error.contains("HTTP 500"), "{error}");
    // the quoted excerpt is cut to 200 characters
    let excerpt = error.rsplit(": ").next().unwrap_or("");
    assert!(excerpt.chars().count() <= 200, "{error}");
    assert!(r.stderr.len() < 2000, "{r:?}");
    assert_eq!(good.count(), 1);
}

#[test]
fn redirects_are_failures_never_followed() {
    use crate::support::http::{Action, Server};
    let evil = Server::start(|_| Action::reply(200, "thanks"));
    for (code, location, host, status) in [
        (302, evil.url("/steal?key=s3cr3t"), "127.0.0.1", "pending"),
        (307, evil.url("/steal"), "127.0.0.1", "pending"),
        (
            307,
            "https://evil.example:8443/x?t=s3cr3t".to_string(),
            "evil.example",
            "pending",
        ),
        (301, "/moved".to_string(), "127.0.0.1", "dead"),
        (308, evil.url("/moved"), "127.0.0.1", "dead"),
    ] {
        let redirecting = {
            let location = location.clone();
            Server::start(move |_| Action::reply(code, "").header("location", &location))
        };
        let good = Peer::start();
        let env = two_peers(&good.url("/slack"), &redirecting.url("/hook/SECRET"), 2);
        let (r, _) = timed_create(&env);
        assert_eq!(r.code, 3, "HTTP {code}: {r:?}");
        let (error, row_status) = hook_row(&env);
        assert!(
            error.contains(&format!("HTTP {code}"))
                && error.contains(&format!("redirected to {host} (not followed)")),
            "HTTP {code}: {error}"
        );
        assert!(
            !error.contains("s3cr3t") && !error.contains("/steal"),
            "{error}"
        );
        assert_eq!(row_status, status, "HTTP {code}: {error}");
        assert!(r.stderr.contains("(not followed)"), "{r:?}");
        assert_eq!(
            redirecting.count(),
            1,
            "HTTP {code}: one POST, no retry in the run"
        );
        assert_eq!(good.count(), 1);
    }
    assert_eq!(evil.count(), 0, "nothing ever reached the Location");
}

#[test]
fn a_page_sent_while_the_issue_is_resolved_is_logged_as_notified() {
    let good = Peer::start();
    good.delay(Duration::from_secs(2));
    let slow = Peer::start();
    slow.delay(Duration::from_secs(2));
    let env = two_peers(&good.url("/slack"), &slow.url("/hook"), 10);
    let child = env
        .test()
        .at(0)
        .args([
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "Login broken",
        ])
        .spawn_silent();
    let deadline = Instant::now() + Duration::from_secs(20);
    while slow.count() + good.count() < 2 {
        assert!(Instant::now() < deadline, "the pages never left");
        std::thread::sleep(Duration::from_millis(5));
    }
    // both pages are on the wire: resolve now
    env.at(1, &["resolve", "1", "--note", "fixed"]).ok();
    let r = Run::wait(child);
    r.no_panic();
    let kinds = env.kinds(1);
    let notified = kinds.iter().filter(|k| *k == "notified").count();
    assert_eq!(notified, 2, "what was sent is logged: {kinds:?}");
    assert!(kinds.contains(&"resolved".to_string()), "{kinds:?}");
    let rows = env.outbox("all");
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{rows:?}");
    // and nothing goes out again
    env.at(120, &["check"]).ok();
    assert_eq!(slow.count() + good.count(), 2);
}

#[test]
fn create_prints_the_id_before_delivering() {
    use std::io::BufRead;
    let good = Peer::start();
    let stuck = Peer::start();
    stuck.hang();
    let env = two_peers(&good.url("/slack"), &stuck.url("/hook"), 5);
    let mut child = env
        .test()
        .at(0)
        .args([
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "Login broken",
        ])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read");
    let waited = started.elapsed();
    assert_eq!(line.trim(), "1");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the id came while the stuck send was still going ({waited:?})"
    );
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn create_with_an_open_source_and_ref_returns_that_issue() {
    let env = Env::new();
    let create = |source: &str, r: &str| {
        let mut args = vec![
            "create",
            "--chain",
            "customer_issue",
            "--title",
            "Login broken",
        ];
        if !source.is_empty() {
            args.extend(["--source", source]);
        }
        if !r.is_empty() {
            args.extend(["--ref", r]);
        }
        env.test().at(0).args(args).run()
    };
    let first = create("zendesk", "T-1");
    assert_eq!(first.stdout.trim(), "1");
    let again = create("zendesk", "T-1");
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout.trim(), "1", "the open issue, not another");
    assert!(again.stderr.contains("already open"), "{again:?}");
    // one issue, one page
    assert_eq!(env.kinds(1).iter().filter(|k| *k == "created").count(), 1);
    // another ref, another source, no ref: new issues
    assert_eq!(create("zendesk", "T-2").stdout.trim(), "2");
    assert_eq!(create("intercom", "T-1").stdout.trim(), "3");
    assert_eq!(create("", "").stdout.trim(), "4");
    assert_eq!(create("", "").stdout.trim(), "5");
    // a plain CLI filing with a ref is a key too
    assert_eq!(create("", "R-9").stdout.trim(), "6");
    assert_eq!(create("", "R-9").stdout.trim(), "6");
    // once resolved, the same source and ref opens a new issue
    env.at(1, &["resolve", "1"]).ok();
    assert_eq!(create("zendesk", "T-1").stdout.trim(), "7");
    let list = env
        .run(&["list", "--status", "all", "--limit", "0", "--json"])
        .ok()
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(7));
}

/// A tracker whose every answer is `action`, as GitHub.
fn tracker_at(
    action: crate::support::http::Action,
) -> (
    crate::support::http::Server,
    escalate::notify::tracker::TrackerConfig,
) {
    use crate::support::http::Server;
    let server = Server::start(move |_| action.clone());
    let mut t =
        crate::support::trackers::Fake::start().config(escalate::config::TrackerKind::Github);
    t.base_url = server.url("");
    (server, t)
}

#[test]
fn trackers_keep_one_deadline_read_bounded_and_follow_no_redirect() {
    use crate::support::http::Action;
    use escalate::notify::{tracker, SendError};
    escalate::notify::install_crypto();
    // a 2xx whose JSON drips one byte per 200 ms: one deadline, temporary
    let (_drip, t) = tracker_at(Action::Drip {
        status: 200,
        every: Duration::from_millis(200),
    });
    let c = escalate::notify::http::client(Duration::from_secs(1), false).expect("client");
    let started = Instant::now();
    let e = tracker::find(&c, &t, "escalate-1").expect_err("a drip is no answer");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(e, SendError::Temporary(..)), "{e:?}");
    assert!(e.message().contains("timed out"), "{e:?}");
    // an endless 2xx body: read up to the cap, then refused (quickly, with
    // a deadline far away)
    let (_endless, t) = tracker_at(Action::Endless { status: 200 });
    let c = escalate::notify::http::client(Duration::from_secs(60), false).expect("client");
    let started = Instant::now();
    let e = tracker::find(&c, &t, "escalate-1").expect_err("endless");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(e, SendError::Permanent(_)), "{e:?}");
    assert!(e.message().contains("larger than 4 MiB"), "{e:?}");
    // an endless error body: quoted, 200 characters at most
    let (_endless, t) = tracker_at(Action::Endless { status: 500 });
    let e = tracker::find(&c, &t, "escalate-1").expect_err("500");
    assert!(matches!(e, SendError::Temporary(..)), "{e:?}");
    assert!(e.message().len() < 600, "{e:?}");
    // a redirect carrying the token elsewhere: not followed
    let evil = crate::support::http::Server::start(|_| Action::json(200, "[]"));
    let (server, t) =
        tracker_at(Action::reply(307, "").header("location", &evil.url("/repos/acme/app/issues")));
    let e = tracker::find(&c, &t, "escalate-1").expect_err("307");
    assert!(
        e.message()
            .contains("redirected to 127.0.0.1 (not followed)"),
        "{e:?}"
    );
    assert_eq!((server.count(), evil.count()), (1, 0));
}

/// A URL with a host name goes through escalate's resolver (which drops
/// link-local answers): a name of this host still gets its page.
#[test]
fn a_host_name_is_resolved_and_delivered() {
    let peer = Peer::start();
    let env = Env::with_config(&config(&peer).replace("127.0.0.1", "localhost"));
    env.set_var(
        "TEST_HOOK_URL",
        &peer.url("/hook").replace("127.0.0.1", "localhost"),
    );
    env.set_var("TEST_HOOK_SECRET", "s3cret");
    env.run(&["init"]).ok();
    env.create(0, "customer_issue", "Login broken");
    assert_eq!(peer.on("/hook").len(), 1);
    assert_eq!(peer.on(SECRET_PATH).len(), 1);
}
