//! The email channel against a real SMTP server on 127.0.0.1 started by the
//! test: plain relay, STARTTLS verified against a private CA with AUTH, a
//! rejected recipient becoming dead, and an unreachable server retried.

use crate::support::smtp::SmtpPeer;
use crate::support::*;

const PASSWORD: &str = "s3cret-smtp-pass";

/// The starter config with `[email]` pointing at `smtp` and two addresses
/// on the level-1 role of customer_issue.
fn config(email_section: &str) -> String {
    let roles = STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        "[roles.support_agent]\nemail = [\"agent@example.com\", \"shift@example.com\"]\n",
    );
    format!("{email_section}\n{roles}")
}

fn plain_env(peer: &SmtpPeer) -> Env {
    let env = Env::init(&config(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\ntls = \"none\"\n",
        peer.url()
    )));
    env
}

#[test]
fn plain_relay_gets_one_mail_per_address_exactly_once() {
    let peer = SmtpPeer::plain();
    let env = plain_env(&peer);
    let id = env.create(0, "customer_issue", "Refund stuck for ACME");
    // create delivers level 1 right away; later checks send nothing more.
    env.at(1, &["check"]).ok();
    env.at(2, &["check"]).ok();
    let mails = peer.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["agent@example.com", "shift@example.com"]);
    for m in &mails {
        assert_eq!(m.from, "escalate@example.com");
        assert!(!m.tls);
        let subject = m.subject();
        assert!(subject.contains(&format!("#{id}")), "{subject}");
        assert!(subject.contains("Level 1"), "{subject}");
        assert!(m.data.contains("Refund stuck for ACME"), "{}", m.data);
        assert!(m.data.contains("customer_issue"), "{}", m.data);
    }
    let events = env.show(id)["events"].clone();
    let notified = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "notified")
        .count();
    assert_eq!(notified, 2, "{events}");
}

#[test]
fn starttls_with_private_ca_and_auth_from_env_never_leaks_the_password() {
    let peer = SmtpPeer::starttls();
    let ca = tempfile::NamedTempFile::new().expect("ca file");
    peer.write_ca(ca.path());
    let env = Env::with_config(&config(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\nusername = {{ env = \"TEST_SMTP_USER\" }}\npassword = {{ env = \"TEST_SMTP_PASS\" }}\nca_file = \"{}\"\n",
        peer.url(),
        ca.path().display()
    )));
    env.set_var("TEST_SMTP_USER", "ops");
    env.set_var("TEST_SMTP_PASS", PASSWORD);
    env.run(&["init"]).ok();
    env.run(&["config", "check"]).ok();
    let id = env.create(0, "customer_issue", "Invoices missing");
    // Escalate to level 2 (console) and beyond so the log has more rows.
    env.at(4 * 60, &["check"]).ok();

    let mails = peer.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    for m in &mails {
        assert!(m.tls, "mail went over STARTTLS");
        assert_eq!(m.auth, Some(("ops".to_string(), PASSWORD.to_string())));
    }
    // The password is nowhere: database, outbox listing, show, stderr.
    let db = env.state();
    assert!(!String::from_utf8_lossy(&db).contains(PASSWORD));
    let outbox = env.run(&["outbox", "--status", "all", "--json"]).ok();
    assert!(!outbox.stdout.contains(PASSWORD));
    let show = env.run(&["show", &id.to_string(), "--json"]).ok();
    assert!(!show.stdout.contains(PASSWORD));
}

#[test]
fn starttls_against_an_untrusted_certificate_is_refused_and_kept() {
    let peer = SmtpPeer::starttls();
    // No ca_file: the private CA is not trusted, so nothing may be sent.
    let env = Env::init(&config(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\n",
        peer.url()
    )));
    let r = env
        .at(0, &["create", "--chain", "customer_issue", "--title", "x"])
        .code(3);
    assert!(peer.mails().is_empty());
    assert!(r.stderr.contains("agent@example.com"), "{r:?}");
    let pending = env.run(&["outbox", "--status", "pending", "--json"]).ok();
    assert_eq!(
        pending.json().as_array().expect("rows").len(),
        2,
        "{pending:?}"
    );
}

#[test]
fn rejected_recipient_is_dead_reported_and_the_other_delivered() {
    let peer = SmtpPeer::plain();
    peer.reject("shift@example.com");
    let env = plain_env(&peer);
    let r = env
        .at(
            0,
            &[
                "create",
                "--chain",
                "customer_issue",
                "--title",
                "Login loop",
            ],
        )
        .code(3);
    assert!(r.stderr.contains("shift@example.com"), "{r:?}");
    assert!(r.stderr.contains("550"), "{r:?}");
    let mails = peer.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["agent@example.com"]);

    // A permanent failure is not retried by later checks.
    env.at(5, &["check"]).ok();
    env.at(60, &["check"]).ok();
    assert_eq!(
        peer.rcpts()
            .iter()
            .filter(|r| *r == "shift@example.com")
            .count(),
        1
    );
    let dead = env
        .run(&["outbox", "--status", "dead", "--json"])
        .ok()
        .json();
    let dead = dead.as_array().expect("rows");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["target"], "shift@example.com");
}

#[test]
fn unreachable_server_is_retried_until_it_answers() {
    // Reserve a port, then close it: connections are refused.
    let port = closed_port();
    let env = Env::init(&config(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n"
    )));
    let r = env
        .at(0, &["create", "--chain", "customer_issue", "--title", "x"])
        .code(3);
    assert!(r.stderr.contains("agent@example.com"), "{r:?}");
    let pending = env
        .run(&["outbox", "--status", "pending", "--json"])
        .ok()
        .json();
    assert_eq!(pending.as_array().expect("rows").len(), 2);

    // The server comes back on the same port: the next check after the
    // backoff delivers both, and a later one sends nothing more.
    let peer = SmtpPeer::plain_on(port);
    env.at(10, &["check"]).ok();
    env.at(20, &["check"]).ok();
    assert_eq!(peer.mails().len(), 2);
    let pending = env
        .run(&["outbox", "--status", "pending", "--json"])
        .ok()
        .json();
    assert!(pending.as_array().expect("rows").is_empty());
}

/// The plain relay config with `[delivery] timeout_seconds` and the level-1
/// role's contacts replaced by `contacts`.
fn strict_config(smtp: &str, from: &str, contacts: &str, timeout: f64) -> String {
    let roles = STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        &format!("[roles.support_agent]\n{contacts}\n"),
    );
    format!(
        "[email]\nfrom = \"{from}\"\nsmtp = \"{smtp}\"\ntls = \"none\"\n\n\
         [delivery]\ntimeout_seconds = {timeout}\n\n{roles}"
    )
}

#[test]
fn every_mail_has_date_message_id_and_mime_version_and_no_line_over_998_octets() {
    let titles = [
        "x".repeat(1000),
        "é".repeat(1000),
        "Ω≈ç√∫".repeat(200),
        format!("{} {}", "a".repeat(500), "b".repeat(499)),
        "word ".repeat(199) + "end",
        "Refund stuck for ACME".to_string(),
        format!("{}=?utf-8?b?QUJD?= {}", "=".repeat(300), ".".repeat(600)),
    ];
    let peer = SmtpPeer::plain();
    let env = Env::init(&strict_config(
        &peer.url(),
        "escalate@example.com",
        "email = \"agent@example.com\"",
        10.0,
    ));
    for (i, title) in titles.iter().enumerate() {
        let id = env.create(i as i64, "customer_issue", title);
        assert_eq!(peer.too_long(), 0, "title {i} made a line over 998 octets");
        assert!(
            peer.missing_headers().is_empty(),
            "{:?}",
            peer.missing_headers()
        );
        let mails = peer.mails();
        assert_eq!(mails.len(), i + 1, "title {i} was not accepted");
        let m = &mails[i];
        for line in m.data.split("\r\n") {
            assert!(
                line.len() <= 998,
                "title {i}: a line of {} octets",
                line.len()
            );
        }
        // The subject and body carry the whole title, however encoded.
        let subject = m.subject();
        assert!(subject.contains(&format!("#{id}")), "{subject}");
        assert!(subject.contains(title.as_str()), "title {i}: {subject}");
        assert!(m.body().contains(title.as_str()), "title {i}: {}", m.body());
        // Date is the command's `--now`, not the wall clock.
        let date = m.header("Date").expect("Date");
        let parsed = chrono::DateTime::parse_from_rfc2822(&date).expect("RFC 2822 date");
        assert_eq!(
            parsed,
            t0() + chrono::TimeDelta::minutes(i as i64),
            "{date}"
        );
        let message_id = m.header("Message-ID").expect("Message-ID");
        assert!(
            message_id.starts_with('<') && message_id.ends_with("@example.com>"),
            "{message_id}"
        );
        assert_eq!(m.header("MIME-Version").as_deref(), Some("1.0"));
    }
    let ids: std::collections::HashSet<String> = peer
        .mails()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), titles.len(), "every Message-ID differs");
}

#[test]
fn display_names_are_accepted_in_from_and_in_contacts() {
    let peer = SmtpPeer::plain();
    let env = Env::init(&strict_config(
        &peer.url(),
        "Escalate Bot <escalate@example.com>",
        "email = [\"Agent Smith <agent@example.com>\", \"\\\"Lead, Support\\\" <lead@example.com>\", \"plain@example.com\"]",
        10.0,
    ));
    env.run(&["config", "check"]).ok();
    env.create(0, "customer_issue", "Display names");
    let mails = peer.mails();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["agent@example.com", "lead@example.com", "plain@example.com"]
    );
    for m in &mails {
        assert_eq!(m.from, "escalate@example.com");
        let from = m.header("From").expect("From");
        assert!(from.contains("Escalate Bot"), "{from}");
    }
    // A display name around a bad address is still refused, in one line.
    Test::new()
        .no_db()
        .config(&strict_config(
            &peer.url(),
            "Escalate <not-an-address>",
            "",
            10.0,
        ))
        .args(["config", "check"])
        .code(2)
        .one_line_error("chains.toml:2:")
        .run();
}

#[test]
fn plain_text_credentials_to_a_remote_host_are_a_config_error() {
    let creds = "username = \"ops\"\npassword = \"pw\"\n";
    // (smtp URL, extra keys, refused)
    let cases: &[(&str, &str, bool)] = &[
        ("smtp://relay.example.com:25", creds, true),
        ("smtp://ops:pw@relay.example.com:25", "", true),
        ("smtp://10.0.0.5:25", "password = \"pw\"\n", true),
        ("smtp://relay.example.com:25", "", false),
        ("smtp://127.0.0.1:25", creds, false),
        ("smtp://localhost:25", creds, false),
        ("smtp://[::1]:25", creds, false),
    ];
    for (url, extra, refused) in cases {
        let config =
            format!("[email]\nfrom = \"e@example.com\"\nsmtp = \"{url}\"\ntls = \"none\"\n{extra}");
        let t = Test::new()
            .no_db()
            .config(&config)
            .args(["config", "check"]);
        if *refused {
            t.code(2)
                .one_line_error("chains.toml:4:")
                .stderr_has("tls = \"none\"")
                .stderr_lacks("pw")
                .run();
        } else {
            t.run();
        }
    }
    // From the environment: `config check` reports it.
    Test::new()
        .no_db()
        .config(&format!(
            "[email]\nfrom = \"e@example.com\"\nsmtp = {{ env = \"TEST_SMTP_URL\" }}\ntls = \"none\"\n{creds}"
        ))
        .env("TEST_SMTP_URL", "smtp://relay.example.com:25")
        .args(["config", "check"])
        .code(2)
        .stderr_has("clear text")
        .run();
}

#[test]
fn smtp_timeouts_are_reported_in_words() {
    // Accepts connections (the kernel's backlog) but never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let env = Env::init(&strict_config(
        &format!("smtp://127.0.0.1:{port}"),
        "escalate@example.com",
        "email = \"agent@example.com\"",
        1.0,
    ));
    let r = env
        .at(0, &["create", "--chain", "customer_issue", "--title", "x"])
        .code(3);
    assert!(r.stderr.contains("timed out after 1 s"), "{r:?}");
    assert!(r.stderr.contains(&format!("127.0.0.1:{port}")), "{r:?}");
    assert!(!r.stderr.contains("os error"), "{r:?}");
    assert_eq!(env.outbox("pending").len(), 1, "retried later");
    drop(silent);
}

#[test]
fn a_dripping_greeting_cannot_hold_check_past_the_deadline() {
    let smtp = SmtpPeer::dripping(std::time::Duration::from_millis(50));
    let hook = crate::support::peer::Peer::start();
    let env = Env::init(&strict_config(
        &smtp.url(),
        "escalate@example.com",
        &format!(
            "email = \"agent@example.com\"\nwebhook = \"{}\"",
            hook.url("/hook")
        ),
        1.0,
    ));
    let start = std::time::Instant::now();
    let r = env
        .at(
            0,
            &["create", "--chain", "customer_issue", "--title", "Drip"],
        )
        .code(3);
    let took = start.elapsed();
    assert!(took.as_secs() < 8, "create took {took:?}: {r:?}");
    assert!(r.stderr.contains("timed out after 1 s"), "{r:?}");
    // The email is retryable; the webhook in the same run was recorded.
    let pending = env.outbox("pending");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["channel"], "email");
    assert_eq!(hook.on("/hook").len(), 1);
    let kinds = env.kinds(1);
    assert!(kinds.contains(&"notified".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"delivery_failed".to_string()), "{kinds:?}");
    // A later check gives up just as fast.
    let start = std::time::Instant::now();
    env.at(30, &["check"]).code(3);
    assert!(start.elapsed().as_secs() < 8);
    assert!(smtp.mails().is_empty());
}

/// A role's address with a display name and a member's bare address in
/// another case are one mailbox: one mail, not two.
#[test]
fn one_mailbox_named_twice_gets_one_mail() {
    let peer = SmtpPeer::plain();
    let roles = STARTER.replace(
        "[roles.support_agent]\ndescription = \"Support agents on shift\"\n",
        "[people.ann]\nemail = \"ann@example.com\"\n\n[roles.support_agent]\n\
         email = [\"Ann Lee <ANN@example.com>\"]\nmembers = [\"ann\"]\n",
    );
    let env = Env::init(&format!(
        "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"{}\"\ntls = \"none\"\n\n{roles}",
        peer.url()
    ));
    env.create(0, "customer_issue", "Refund stuck for ACME");
    let mails = peer.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
}
