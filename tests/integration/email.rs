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
    let db = env.bytes(&env.db());
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
