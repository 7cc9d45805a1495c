//! Checker health (`status`, the dead-man switch) and the daily digest
//! (`digest`): run log, staleness, "since the last digest", exceptions,
//! layout, and mail delivery against a real SMTP server.

use crate::support::peer::Peer;
use crate::support::smtp::SmtpPeer;
use crate::support::*;

const CONFIG: &str = r#"
[chains.support]
levels = [
  { role = "agent", wait_hours = 2 },
  { role = "lead", wait_hours = 8 },
]
response_hours = 1
resolution_hours = 4

[checker]
expected_interval_minutes = 10

[roles.agent]
[roles.lead]
"#;

#[test]
fn status_is_a_dead_man_switch_for_the_checker() {
    let env = Env::init(CONFIG);
    let r = env.at(0, &["status"]).code(3);
    assert!(r.stdout.contains("last check: never"), "{r:?}");
    r.one_line_error("no check has ever run");

    env.create(0, "support", "x");
    env.at(61, &["check"]).ok();
    let r = env.at(65, &["status"]).ok();
    assert!(r.stdout.contains("(4m ago)"), "{r:?}");
    assert!(r.stdout.contains("SLA events 2"), "{r:?}");
    let v = env.at(65, &["status", "--json"]).ok().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["last_run"]["examined"], 1);
    assert_eq!(v["sla_breached"], 1);
    assert_eq!(v["runs_last_24h"], 1);

    // Past the configured 10 minutes: attention, saying how long.
    let r = env.at(75, &["status"]).code(3);
    r.one_line_error("the last check ran 14m ago, more than the expected 10m");
    // --max-age overrides the config.
    env.at(75, &["status", "--max-age", "30"]).ok();
    env.at(75, &["status", "--max-age", "zero"]).code(2);
    // Dry runs are not runs.
    env.at(80, &["check", "--dry-run"]).ok();
    env.at(80, &["status"]).code(3);
}

fn digest_at(env: &Env, minutes: i64) -> serde_json::Value {
    env.at(minutes, &["digest", "--format", "json"]).ok().json()
}

#[test]
fn digest_breaches_are_exactly_those_since_the_last_digest() {
    let env = Env::init(CONFIG);
    let a = env.create(0, "support", "first");
    let first = digest_at(&env, 30);
    assert_eq!(first["first"], true);
    assert_eq!(first["since"], at_minutes(30 - 24 * 60));
    assert_eq!(first["breaches"]["total"], 0);

    // The response breach happens at 60; a check records it at 70.
    env.at(70, &["check"]).ok();
    let second = digest_at(&env, 90);
    assert_eq!(second["first"], false);
    assert_eq!(second["since"], at_minutes(30));
    assert_eq!(second["breaches"]["total"], 1);
    assert_eq!(second["breaches"]["items"][0]["id"], a);
    assert_eq!(second["breaches"]["items"][0]["at"], at_minutes(60));

    // A breach stamped before the last digest but recorded after it (the
    // check ran late) is in the next digest — once — not lost between two.
    let b = env.create(100, "support", "second");
    let third = digest_at(&env, 170);
    assert_eq!(third["breaches"]["total"], 0, "{third}");
    env.at(175, &["check"]).ok(); // records b's response breach at 160
    let fourth = digest_at(&env, 180);
    assert_eq!(fourth["since"], at_minutes(170));
    let ids = |d: &serde_json::Value| -> Vec<i64> {
        d["breaches"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_i64().unwrap_or(0))
            .collect()
    };
    assert_eq!(ids(&fourth), vec![b], "{fourth}");
    assert_eq!(fourth["breaches"]["items"][0]["at"], at_minutes(160));
    assert!(ids(&digest_at(&env, 190)).is_empty());

    // --no-record leaves the period open.
    env.at(200, &["digest", "--no-record"]).ok();
    assert_eq!(digest_at(&env, 210)["since"], at_minutes(190));
}

#[test]
fn digest_shows_risk_aging_and_exceptions() {
    let env = Env::init(CONFIG);
    let young = env.create(0, "support", "young");
    env.create(-5 * 60, "support", "five hours");
    env.create(-2 * 24 * 60, "support", "two days");
    env.create(-4 * 24 * 60, "support", "four days");
    // "young" is at risk at 48 minutes (response, 80 % of 1 h).
    let d = digest_at(&env, 50);
    assert_eq!(d["at_risk"]["total"], 1, "{d}");
    assert_eq!(d["at_risk"]["items"][0]["id"], young);
    assert_eq!(d["at_risk"]["items"][0]["left_seconds"], 600);
    let aging = &d["aging"][0];
    assert_eq!(
        (
            &aging["under_4h"],
            &aging["from_4h_to_24h"],
            &aging["from_1d_to_3d"],
            &aging["over_3d"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    assert_eq!(d["checker"]["stale"], true);
    // The older issues sit at the top of their 2-level chain, unacked:
    // nobody is left to escalate to (though their SLA clocks still run).
    env.at(50, &["check"]).ok();
    let d = digest_at(&env, 51);
    assert_eq!(d["exceptions"]["exhausted"]["total"], 3, "{d}");

    // Exceptions: remove the chain (orphans) — the digest says so.
    env.write_config(
        "[chains.other]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\n[roles.agent]\n",
    );
    let md = env.at(60, &["digest"]).ok().stdout;
    assert!(
        md.contains("4 open issue(s) on chain `support`, which is not in the config"),
        "{md}"
    );
    assert!(md.contains("Last check"), "{md}");
}

#[test]
fn digest_markdown_layout() {
    let env = Env::init(CONFIG);
    env.create(0, "support", "Checkout fails");
    env.at(70, &["check"]).ok();
    let md = env.at(72, &["digest"]).ok().stdout;
    let expected = format!(
        "# escalate daily digest — {now}

1 open issue(s); 0 SLA clock(s) at risk now; 1 breach(es) in the last 24 hours (first digest).

## At risk now

Nothing is at risk.

## Breaches in the last 24 hours (first digest)

- #1 Checkout fails — support response SLA breached at {breach} (still open)

## Backlog aging (open issues by age)

| chain | 0–4 h | 4–24 h | 1–3 d | > 3 d |
|---|---:|---:|---:|---:|
| support | 1 | 0 | 0 | 0 |

## Exceptions

None.

## Checker health

Last check {check} (2m ago).
1 check run(s) in the last 24 hours (first digest), 0 with delivery failures.

-- 
escalate digest; `escalate list --at-risk` for the live view
",
        now = at_minutes(72),
        breach = at_minutes(60),
        check = at_minutes(70)
    );
    assert_eq!(md, expected);
}

#[test]
fn digest_by_mail_and_its_errors() {
    let peer = SmtpPeer::plain();
    let env = Env::init(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\ntls = \"none\"\n{CONFIG}",
        peer.url()
    ));
    env.create(0, "support", "x");
    let r = env.at(10, &["digest", "--mail-to", "ops@example.com"]).ok();
    assert!(r.stdout.is_empty(), "{r:?}");
    let mails = peer.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ops@example.com"]);
    assert!(mails[0].subject().contains("digest"), "{:?}", mails[0]);
    assert!(mails[0].data.contains("Backlog aging"), "{:?}", mails[0]);

    env.at(10, &["digest", "--mail-to", "not an address"])
        .code(1)
        .one_line_error("not a valid email address");
    env.at(10, &["digest", "--slack", "ghost"])
        .code(2)
        .one_line_error("unknown role `ghost`");
    env.at(10, &["digest", "--slack", "agent"])
        .code(2)
        .one_line_error("has no slack contact");
    // A failed send is not remembered: the next digest covers the period.
    assert_eq!(digest_at(&env, 20)["since"], at_minutes(10));

    let without_email = Env::init(CONFIG);
    without_email
        .at(0, &["digest", "--mail-to", "ops@example.com"])
        .code(2)
        .one_line_error("needs an [email] section");
}

#[test]
fn digest_to_slack_posts_an_escaped_code_block_and_fails_loudly() {
    let server = Peer::start();
    let env = Env::init(&CONFIG.replace(
        "[roles.lead]\n",
        &format!(
            "[roles.lead]\nslack = \"{}\"\n",
            server.url("/services/T/B/X")
        ),
    ));
    env.create(0, "support", "<!channel> checkout & login");
    // At 50 minutes the response clock is at risk: the title is listed.
    let r = env.at(50, &["digest", "--slack", "lead"]).ok();
    assert!(r.stdout.is_empty(), "{r:?}");
    let posts = server.requests();
    assert_eq!(posts.len(), 1);
    let text = posts[0].json()["text"].as_str().unwrap_or("").to_string();
    assert!(text.starts_with("```\n# escalate daily digest"), "{text}");
    assert!(
        text.contains("&lt;!channel&gt; checkout &amp; login"),
        "{text}"
    );
    assert!(!text.contains("<!channel>"), "{text}");

    // A failing post is an error, and the digest is not remembered.
    server.answer(500);
    env.at(55, &["digest", "--slack", "lead"])
        .code(1)
        .one_line_error("digest not sent");
    assert_eq!(digest_at(&env, 58)["since"], at_minutes(50));
}

#[test]
fn a_run_dated_in_the_future_cannot_silence_the_dead_man_switch() {
    let env = Env::init(CONFIG);
    env.create(0, "support", "x");
    env.at(5, &["check"]).ok();
    // A what-if run against this database, or a clock that jumped a week.
    env.at(7 * 24 * 60, &["check"]).ok();
    // Back at the real time, the checker has been silent for 55 minutes:
    // the future run does not count, and it is named.
    let r = env.at(60, &["status"]).code(3);
    assert!(r.stdout.contains("(55m ago)"), "{r:?}");
    assert!(
        r.stderr.contains("1 check run(s) are dated in the future"),
        "{r:?}"
    );
    assert!(r.stderr.contains("the last check ran 55m ago"), "{r:?}");
    let v = env.at(60, &["status", "--json"]).code(3).json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["runs_dated_in_the_future"], 1);
    // A run within a minute of now (two hosts' clocks) still counts.
    env.at(61, &["check"]).ok();
    env.at(60, &["status"]).ok();
}

/// Two hosts run `check` against one database (issue 16): `status` lists
/// both; when one stops while the other carries on, it is named, with
/// the attention exit code; a host silent for a day is forgotten.
#[test]
fn status_names_a_host_that_stopped_while_the_others_carry_on() {
    let env = Env::init(CONFIG);
    let check = |host: &str, minutes: i64| {
        env.test()
            .at(minutes)
            .env("ESCALATE_HOSTNAME", host)
            .args(["check"])
            .any_code()
            .run();
    };
    for m in [0, 1, 2] {
        check("alpha", m);
    }
    check("beta\u{1b}[31m", 3);
    // Someone ran one check from a laptop: not a checker host.
    check("laptop", 4);
    let r = env.at(5, &["status"]).code(0);
    assert!(r.stdout.contains("host alpha: last check"), "{r:?}");
    // A name from outside reaches the terminal escaped.
    assert!(!r.stdout.contains('\u{1b}'), "{r:?}");
    let json = env.at(5, &["status", "--json"]).code(0).json();
    assert_eq!(json["hosts"].as_array().map(Vec::len), Some(3), "{json}");
    assert_eq!(json["hosts"][0]["host"], "alpha");
    // beta carries on; alpha stopped 25 minutes ago (expected: 10).
    for m in [10, 20] {
        check("beta\u{1b}[31m", m);
    }
    let r = env.at(25, &["status"]).code(3);
    assert!(r.stdout.contains("STOPPED"), "{r:?}");
    // Named once: alpha, not the laptop.
    r.one_line_error("host alpha stopped checking");
    let json = env.at(25, &["status", "--json"]).code(3).json();
    assert_eq!(json["hosts"][0]["ok"], false, "{json}");
    assert_eq!(json["hosts"][1]["ok"], true, "{json}");
    // The laptop's one run is old too, but it is not a checker host.
    assert_eq!(json["hosts"][2]["ok"], true, "{json}");
    assert_eq!(
        json["stopped_hosts"],
        serde_json::json!(["alpha"]),
        "{json}"
    );
    // A day later alpha is forgotten: beta alone is fine.
    check("beta\u{1b}[31m", 24 * 60 + 30);
    env.at(24 * 60 + 31, &["status"]).code(0);
    // Both stopped: the dead-man switch itself, as with one host.
    env.at(24 * 60 + 90, &["status"])
        .code(3)
        .one_line_error("is the cron job running");
}
