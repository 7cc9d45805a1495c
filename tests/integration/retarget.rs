//! `outbox retry` re-resolves a dead delivery's contact from the current
//! config: a wrong webhook fixed in chains.toml gets the retry.

use crate::support::http::{Action, Server};
use crate::support::*;

/// The starter chains with the first level's role posting to `hook`.
fn config(hook: &str) -> String {
    STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        &format!("[roles.support_agent]\nwebhook = \"{hook}\"\n"),
    )
}

/// A receiver that knows only `/right` (404 for anything else: dead at once).
fn receiver() -> Server {
    Server::start(|r| {
        if r.path == "/right" {
            Action::json(200, "{}")
        } else {
            Action::reply(404, "no such hook")
        }
    })
}

#[test]
fn a_fixed_webhook_gets_the_dead_delivery_once() {
    let server = receiver();
    let env = Env::init(&config(&server.url("/wrong")));
    env.at(0, &["create", "--chain", "customer_issue", "--title", "A"])
        .code(3);
    let dead = env.outbox("dead");
    assert_eq!(dead.len(), 1, "{dead:?}");
    let old_target = dead[0]["target"].as_str().unwrap_or("").to_string();

    env.write_config(&config(&server.url("/right")));
    let r = env.at(10, &["outbox", "retry", "--all-dead"]).ok();
    assert!(
        r.stdout
            .contains("requeued 1 dead deliveries (1 re-targeted)"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("role `support_agent` webhook now goes to"),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains("/right"),
        "targets are secret-free labels: {r:?}"
    );
    env.at(11, &["check"]).ok();
    env.at(12, &["check"]).ok();

    let right: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|q| q.path == "/right")
        .collect();
    assert_eq!(right.len(), 1, "delivered to the new URL once");
    let sent = env.outbox("sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_ne!(sent[0]["target"].as_str(), Some(old_target.as_str()));
    assert!(env.outbox("dead").is_empty());
}

#[test]
fn a_role_or_channel_that_is_gone_is_named_and_left_dead() {
    let server = receiver();
    let env = Env::init(&config(&server.url("/wrong")));
    env.at(0, &["create", "--chain", "customer_issue", "--title", "A"])
        .code(3);
    let id = env.outbox("dead")[0]["id"]
        .as_i64()
        .expect("id")
        .to_string();

    // The role keeps no webhook: the console is not a webhook.
    env.write_config(STARTER);
    let r = env.at(10, &["outbox", "retry", &id]).code(3);
    assert_eq!(
        r.stdout.trim(),
        format!("delivery {id} left dead: role `support_agent` has no webhook contact any more")
    );
    let r = env.at(11, &["outbox", "retry", "--all-dead"]).code(3);
    assert!(r.stdout.contains("requeued 0 dead deliveries"), "{r:?}");
    assert_eq!(env.outbox("dead").len(), 1);

    // The role itself is gone.
    env.write_config(
        &STARTER
            .replace("role = \"support_agent\"", "role = \"support_lead\"")
            .replace(
                "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
                "",
            ),
    );
    let r = env.at(12, &["outbox", "retry", "--all-dead"]).code(3);
    assert!(
        r.stdout.contains(&format!(
            "delivery {id} left dead: role `support_agent` is no longer in the config"
        )),
        "{r:?}"
    );
    env.at(13, &["check"]).no_panic();
    assert_eq!(env.outbox("dead").len(), 1);
    assert!(server.requests().iter().all(|q| q.path == "/wrong"));
}
