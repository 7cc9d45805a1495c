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
    let db = env.bytes(&env.db());
    let wal = std::fs::read(env.path("escalation.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!String::from_utf8_lossy(&bytes).contains("SECRETTOKEN"));
    }
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
