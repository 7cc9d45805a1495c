//! Strict peers and hostile input at the config edge (issue 14): URL lists
//! of one and two for every channel kind, the config file read bounded and
//! by type, link-local and obfuscated addresses refused, and webhook
//! signatures a receiver can check for replay.

use crate::support::peer::Peer;
use crate::support::smtp::SmtpPeer;
use crate::support::*;

/// The starter config with `support_agent`'s table replaced by `contacts`.
fn agent(contacts: &str) -> String {
    STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        &format!("[roles.support_agent]\n{contacts}\n"),
    )
}

/// A TOML list of these strings.
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

#[test]
fn url_lists_of_one_and_two_are_urls_for_every_channel() {
    for n in [1, 2] {
        let peer = Peer::start();
        let paths: Vec<String> = (0..n)
            .flat_map(|i| {
                [
                    format!("/services/T0/SLACKSECRET{i}"),
                    format!("/hook/HOOKSECRET{i}"),
                ]
            })
            .collect();
        let urls = |prefix: &str| -> Vec<String> {
            paths
                .iter()
                .filter(|p| p.starts_with(prefix))
                .map(|p| peer.url(p))
                .collect()
        };
        let (slack, hooks) = (urls("/services"), urls("/hook"));
        let smtp = SmtpPeer::plain();
        let emails: Vec<String> = (0..n).map(|i| format!("agent{i}@example.com")).collect();
        let config = format!(
            "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\ntls = \"none\"\n{}",
            smtp.url(),
            agent(&format!(
                "slack = {}\nwebhook = {}\nemail = {}",
                list(&slack),
                list(&hooks),
                list(&emails)
            ))
        );
        let env = Env::init(&config);
        let check = env.run(&["config", "check"]).ok();
        let created = env
            .at(
                0,
                &["create", "--chain", "customer_issue", "--title", "Lists"],
            )
            .ok();
        for path in &paths {
            assert_eq!(peer.on(path).len(), 1, "n = {n}: {path}: {created:?}");
        }
        let mut to: Vec<String> = smtp.mails().iter().flat_map(|m| m.to.clone()).collect();
        to.sort();
        assert_eq!(to, emails, "n = {n}");
        // No URL secret anywhere a person or a backup could read it.
        let outbox = env.run(&["outbox", "--status", "all", "--json"]).ok();
        let show = env.run(&["show", "1", "--json"]).ok();
        let db = String::from_utf8_lossy(&env.state()).into_owned();
        for secret in ["SLACKSECRET", "HOOKSECRET"] {
            for (what, text) in [
                ("config check stdout", &check.stdout),
                ("config check stderr", &check.stderr),
                ("create stderr", &created.stderr),
                ("outbox", &outbox.stdout),
                ("show", &show.stdout),
                ("database", &db),
            ] {
                assert!(
                    !text.contains(secret),
                    "n = {n}: {secret} in {what}: {text}"
                );
            }
        }
    }
}

#[test]
fn a_fifo_or_a_device_as_the_config_is_refused_by_type_not_read() {
    let env = Env::empty();
    let fifo = env.path("fifo.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let cases = [
        (fifo.display().to_string(), "FIFO"),
        ("/dev/zero".to_string(), "character device"),
        (env.dir.path().display().to_string(), "directory"),
    ];
    for (path, kind) in cases {
        let start = std::time::Instant::now();
        env.test()
            .args(["--config", &path, "config", "check"])
            .code(2)
            .one_line_error(kind)
            .stderr_has(&path)
            .run();
        assert!(start.elapsed().as_secs() < 10, "{path}: refused at once");
    }
}

#[test]
fn an_oversized_config_is_refused_in_one_line_without_reading_it_all() {
    let env = Env::empty();
    // Valid TOML comments, one byte over the cap.
    let line = format!("#{}\n", "x".repeat(1022));
    let text = line.repeat(1024) + "#";
    std::fs::write(env.path("chains.toml"), &text).expect("write");
    env.test()
        .args(["config", "check"])
        .code(2)
        .one_line_error("a chains file over 1048576 bytes is refused")
        .run();
    // Exactly the cap is fine.
    std::fs::write(env.path("chains.toml"), &text[..text.len() - 1]).expect("write");
    env.test().args(["config", "check"]).run();
}

/// Every key that takes a destination URL, as a config with `URL` in it.
fn url_keys() -> Vec<(&'static str, String)> {
    let role = |c: &str| agent(c);
    vec![
        ("role `support_agent` slack", role("slack = \"URL\"")),
        ("role `support_agent` slack", role("slack = [\"URL\"]")),
        ("role `support_agent` webhook", role("webhook = \"URL\"")),
        (
            "role `support_agent` webhook",
            role("webhook = [\"https://ok.example.com/h\", \"URL\"]"),
        ),
        (
            "[[subscriptions]]",
            format!("{STARTER}\n[[subscriptions]]\nurl = \"URL\"\n"),
        ),
        (
            "[trackers.gh] url",
            format!(
                "{STARTER}\n[trackers.gh]\nkind = \"github\"\nurl = \"URL\"\ntoken = \"t\"\nproject = \"a/b\"\n"
            ),
        ),
    ]
}

#[test]
fn link_local_and_obfuscated_destinations_are_config_errors_naming_the_key() {
    // (url, refused even with allow_link_local, fragment)
    let refused: &[(&str, bool, &str)] = &[
        (
            "http://169.254.169.254/latest/meta-data/",
            false,
            "link-local",
        ),
        ("http://169.254.1.1:8080/hook", false, "link-local"),
        ("http://[fe80::1]/hook", false, "link-local"),
        ("http://[::ffff:169.254.169.254]/", false, "link-local"),
        ("http://2130706433/", true, "obfuscated"),
        ("http://0x7f.1/", true, "obfuscated"),
        ("http://0177.0.0.1/", true, "obfuscated"),
        ("http://127.1/", true, "obfuscated"),
        ("http://0xa9fea9fe/", true, "obfuscated"),
    ];
    for (key, config) in url_keys() {
        for (url, always, fragment) in refused {
            let text = config.replace("URL", url);
            Test::new()
                .no_db()
                .config(&text)
                .args(["config", "check"])
                .code(2)
                .one_line_error(fragment)
                .stderr_has(key)
                .stderr_has("chains.toml:")
                .run();
            let allowed = format!("[delivery]\nallow_link_local = true\n{text}");
            let t = Test::new()
                .no_db()
                .config(&allowed)
                .args(["config", "check"]);
            if *always {
                t.code(2).one_line_error(fragment).run();
            } else {
                t.stderr_has("link-local").run();
            }
        }
    }
}

#[test]
fn loopback_and_private_destinations_are_allowed_with_a_note() {
    let cases = [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://172.20.0.4/hook", "private"),
    ];
    for (key, config) in url_keys() {
        for (url, class) in cases {
            Test::new()
                .no_db()
                .config(&config.replace("URL", url))
                .args(["config", "check"])
                .stderr_has(&format!("note: {key}"))
                .stderr_has(class)
                .run();
        }
        Test::new()
            .no_db()
            .config(&config.replace("URL", "https://hooks.example.com/x"))
            .args(["config", "check"])
            .stderr_lacks("note:")
            .run();
    }
}

#[test]
fn a_link_local_url_from_the_environment_is_reported_by_config_check() {
    let config = agent("webhook = { env = \"TEST_HOOK\" }");
    Test::new()
        .no_db()
        .config(&config)
        .env("TEST_HOOK", "http://169.254.169.254/latest")
        .args(["config", "check"])
        .code(2)
        .stderr_has("role `support_agent` webhook (from the environment)")
        .stderr_has("link-local")
        .run();
}

/// What a receiver does with `X-Escalate-Signature-V1`: parse `t` and
/// `v1`, refuse a timestamp outside the tolerance, recompute the HMAC of
/// `"t.body"` and compare.
fn receiver_accepts(header: &str, body: &str, secret: &[u8], now: i64, tolerance: i64) -> bool {
    use hmac::{Hmac, Mac};
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance {
        return false;
    }
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(format!("{t}.{body}").as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sigs.contains(&want)
}

#[test]
fn webhook_signatures_carry_the_callers_time_and_resist_replay() {
    let peer = Peer::start();
    let env = Env::init(&agent(&format!(
        "webhook = \"{}\"\nwebhook_secret = {{ env = \"TEST_HOOK_SECRET\" }}",
        peer.url("/hook")
    )));
    env.set_var("TEST_HOOK_SECRET", "s3cret");
    for (i, when) in [0i64, 7 * 24 * 60].into_iter().enumerate() {
        env.create(when, "customer_issue", &format!("Signed {i}"));
        let hooks = peer.on("/hook");
        let hook = &hooks[i];
        let header = hook.header("x-escalate-signature-v1").expect("signature");
        // The signed time is the command's `--now`, not the wall clock.
        let now = (t0() + chrono::TimeDelta::minutes(when)).timestamp();
        assert!(header.starts_with(&format!("t={now},v1=")), "{header}");
        assert!(receiver_accepts(header, &hook.body, b"s3cret", now, 300));
        assert!(receiver_accepts(
            header,
            &hook.body,
            b"s3cret",
            now + 299,
            300
        ));
        // Replayed later than the tolerance, tampered with, or re-signed
        // with another time: refused.
        assert!(!receiver_accepts(
            header,
            &hook.body,
            b"s3cret",
            now + 301,
            300
        ));
        assert!(!receiver_accepts(
            header,
            &format!("{} ", hook.body),
            b"s3cret",
            now,
            300
        ));
        assert!(!receiver_accepts(header, &hook.body, b"other", now, 300));
        let moved = header.replacen(&format!("t={now}"), &format!("t={}", now + 60), 1);
        assert!(!receiver_accepts(
            &moved,
            &hook.body,
            b"s3cret",
            now + 60,
            300
        ));
        // The deprecated body-only signature is still sent.
        assert_eq!(
            hook.header("x-escalate-signature"),
            Some(escalate::notify::webhook::sign(b"s3cret", hook.body.as_bytes()).as_str())
        );
        // Every field the README documents is in the body.
        let body: serde_json::Value = serde_json::from_str(&hook.body).expect("json");
        for key in [
            "schema",
            "test",
            "sent_at",
            "role",
            "count",
            "notifications",
        ] {
            assert!(body.get(key).is_some(), "{key}: {body}");
        }
        for key in [
            "delivery_id",
            "issue_id",
            "notice",
            "title",
            "chain",
            "level",
            "repeat",
            "role",
            "created_at",
            "due_at",
            "late_seconds",
        ] {
            assert!(body["notifications"][0].get(key).is_some(), "{key}: {body}");
        }
    }
}
