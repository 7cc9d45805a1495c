//! `escalate serve` through the real binary on an ephemeral port: signed
//! action links (act once; expired, tampered, used and stale links change
//! nothing), links in messages, `/ingest` with its bearer token, the
//! vendors' signed webhooks, health, metrics parsed by a real Prometheus
//! parser, the rate limit, the body limit, and SIGTERM in the middle of a
//! request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::Duration;

use base64::Engine as _;
use escalate::model::link::{self, Action, Link};
use hmac::{Hmac, Mac};

use crate::support::http::{Action as Reply, Server};
use crate::support::*;

const SECRET: &str = "link-secret";
const TOKEN: &str = "ingest-token";
const ZENDESK_SECRET: &str = "zd-secret";
const INTERCOM_SECRET: &str = "ic-secret";
/// The frozen clock of every command and of the server.
const NOW: &str = "2026-12-07T15:00:00Z";

fn config(hook: &str) -> String {
    format!(
        r#"
[server]
public_url = "https://escalate.example.com/"
secret = "{SECRET}"
ingest_token = {{ env = "TEST_INGEST_TOKEN" }}

[sources.zendesk]
webhook_secret = "{ZENDESK_SECRET}"
ticket_url = "https://acme.zendesk.com/agent/tickets/{{external_id}}"
[sources.intercom]
webhook_secret = "{INTERCOM_SECRET}"

[chains.support]
response_hours = 2
runbook = "https://wiki.example.com/run_book?team=support&x=<1>"
levels = [
  {{ role = "agent", wait_hours = 1 }},
  {{ role = "lead", wait_hours = 4 }},
]

[roles.agent]
webhook = "{hook}"
[roles.lead]

[[routes]]
name = "all"
chain = "support"
"#
    )
}

/// A running `serve`; killed on drop (its stderr printed if the test
/// failed).
struct Served {
    child: Child,
    port: u16,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    fn start(env: &Env) -> Served {
        let mut child = env
            .test()
            .at(NOW)
            .env("TEST_INGEST_TOKEN", TOKEN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .spawn();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = std::sync::Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = String::new();
                let _ = err.read_to_string(&mut buf);
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&buf);
                }
            });
        }
        let port = crate::support::serve::listening_port(&mut child);
        Served {
            child,
            port,
            stderr,
        }
    }

    /// One request; (status, body).
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("write head");
        // The server may answer (a 401) and close before it reads the
        // body: a write that then fails is not the test's failure; the
        // answer is read either way.
        let _ = s.write_all(body);
        read_response(&mut s)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.send("GET", path, &[], b"")
    }

    fn post(&self, path: &str) -> (u16, String) {
        self.send("POST", path, &[], b"")
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            std::thread::sleep(Duration::from_millis(100));
            if let Ok(s) = self.stderr.lock() {
                eprintln!("serve's stderr:\n{s}");
            }
        }
    }
}

fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn token(issue_id: i64, action: Action, epoch: u32, expires: &str, actor: &str) -> String {
    let expires = chrono::DateTime::parse_from_rfc3339(expires)
        .expect("time")
        .timestamp();
    link::sign(
        SECRET.as_bytes(),
        &Link {
            issue_id,
            action,
            epoch,
            expires,
            actor: actor.into(),
        },
    )
}

const LATER: &str = "2026-12-10T00:00:00Z";

#[test]
fn a_link_acts_once_and_a_get_changes_nothing() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let id = env.create(NOW, "support", "Export <b>fails</b>");
    let served = Served::start(&env);
    let t = token(id, Action::Ack, 0, LATER, "ann");
    let (code, page) = served.get(&format!("/a/{t}"));
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Acknowledge issue #1?"), "{page}");
    assert!(
        page.contains("Export &lt;b&gt;fails&lt;/b&gt;"),
        "escaped: {page}"
    );
    assert_eq!(
        env.at(NOW, &["show", "1", "--json"]).json()["status"],
        "open"
    );
    let (code, page) = served.post(&format!("/a/{t}"));
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Done: acknowledged #1"), "{page}");
    let v = env.at(NOW, &["show", "1", "--json"]).json();
    assert_eq!(v["status"], "acknowledged");
    assert_eq!(v["acked_by"], "ann");
    let (code, page) = served.post(&format!("/a/{t}"));
    assert_eq!(code, 409, "{page}");
    assert!(page.contains("already used"), "{page}");
    assert!(page.contains("Nothing was changed"), "{page}");
    // The log names the action, never the token or a secret.
    let mut served = served;
    served.terminate();
    std::thread::sleep(Duration::from_millis(200));
    let log = served.stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(log.contains("ack issue #1 by ann"), "{log}");
    assert!(
        !log.contains(&t) && !log.contains(link::fingerprint(&t)),
        "{log}"
    );
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn expired_tampered_and_stale_links_change_nothing() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let id = env.create(NOW, "support", "Export fails");
    let served = Served::start(&env);
    let expired = token(id, Action::Resolve, 0, "2026-12-07T14:59:59Z", "ann");
    let (code, page) = served.post(&format!("/a/{expired}"));
    assert_eq!((code, page.contains("has expired")), (410, true), "{page}");
    let good = token(id, Action::Resolve, 0, LATER, "ann");
    let tampered = good.replacen(".resolve.", ".ack.", 1);
    let (code, page) = served.post(&format!("/a/{tampered}"));
    assert_eq!((code, page.contains("not valid")), (400, true), "{page}");
    let (code, _) = served.post("/a/not-a-token");
    assert_eq!(code, 400);
    // Resolved and reopened: the issue is in epoch 1, the link in 0.
    env.at(NOW, &["resolve", "1"]).ok();
    env.at(NOW, &["reopen", "1"]).ok();
    let (code, page) = served.post(&format!("/a/{good}"));
    assert_eq!(
        (code, page.contains("earlier round")),
        (409, true),
        "{page}"
    );
    assert_eq!(
        env.at(NOW, &["show", "1", "--json"]).json()["status"],
        "open"
    );
    // An action the issue's state refuses is told, not done.
    let fresh = token(id, Action::Ack, 1, LATER, "ann");
    env.at(NOW, &["ack", "1", "--by", "bob"]).ok();
    let (code, page) = served.post(&format!("/a/{fresh}"));
    assert_eq!(code, 409, "{page}");
    assert!(page.contains("already acknowledged by bob"), "{page}");
}

#[test]
fn messages_carry_signed_links_that_the_server_accepts() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    env.create(NOW, "support", "Export fails");
    let sent = hook.requests();
    let body = sent.first().expect("a webhook").json();
    let links = &body["notifications"][0]["links"];
    let snooze = links["snooze"].as_str().expect("snooze link");
    let prefix = "https://escalate.example.com/a/";
    assert!(snooze.starts_with(prefix), "{links}");
    let served = Served::start(&env);
    let (code, page) = served.post(&format!("/a/{}", &snooze[prefix.len()..]));
    assert_eq!(code, 200, "{page}");
    let v = env.at(NOW, &["show", "1", "--json"]).json();
    assert_eq!(v["pause"]["until"], "2026-12-07T16:00:00Z", "{v}");
    assert_eq!(v["pause"]["by"], "agent", "the role the webhook was for");
}

#[test]
fn ingest_takes_one_event_or_an_array_behind_its_bearer_token() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    let one = br#"{"type":"ticket.created","source":"zendesk","external_id":"7","title":"Login fails","id":"e1"}"#;
    let auth = format!("Bearer {TOKEN}");
    let (code, _) = served.send("POST", "/ingest", &[], one);
    assert_eq!(code, 401);
    let (code, _) = served.send("POST", "/ingest", &[("Authorization", "Bearer nope")], one);
    assert_eq!(code, 401);
    assert_eq!(
        env.at(NOW, &["list", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let (code, body) = served.send("POST", "/ingest", &[("Authorization", &auth)], one);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"created\":1"), "{body}");
    // The same event again changes nothing; an array mixes good and bad.
    let batch = br#"[{"type":"ticket.created","source":"zendesk","external_id":"7","title":"Login fails","id":"e1"},
                     {"type":"ticket.updated","source":"zendesk","external_id":"7","status":"pending","id":"e2"},
                     {"type":"ticket.bogus"}]"#;
    let (code, body) = served.send("POST", "/ingest", &[("Authorization", &auth)], batch);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("\"duplicate\":1"), "{body}");
    assert!(body.contains("\"paused\":1"), "{body}");
    assert!(body.contains("\"index\":2"), "{body}");
    let (code, _) = served.send("POST", "/ingest", &[("Authorization", &auth)], b"not json");
    assert_eq!(code, 422);
    // Over the body limit: refused before anything is read into memory.
    let big = vec![b' '; 5 << 20];
    let (code, _) = served.send("POST", "/ingest", &[("Authorization", &auth)], &big);
    assert_eq!(code, 413);
}

/// A helpdesk waits for its events to be stored, not for our receivers:
/// with the pages' receiver hanging, `/ingest` still answers every ticket
/// at once, and the pages are sent (attempted) afterwards.
#[test]
fn ingest_answers_once_stored_without_waiting_for_the_pages() {
    let hook = Server::start(|_| Reply::Hang(Duration::from_secs(30)));
    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    let auth = format!("Bearer {TOKEN}");
    // One after the other: a hanging delivery of the first holds neither
    // its answer nor the next ticket's commit.
    for n in 0..4 {
        let one = format!(
            r#"{{"type":"ticket.created","source":"zendesk","external_id":"8{n}","title":"Slow receiver","id":"e8{n}"}}"#
        );
        let started = std::time::Instant::now();
        let (code, body) = served.send(
            "POST",
            "/ingest",
            &[("Authorization", &auth)],
            one.as_bytes(),
        );
        let took = started.elapsed();
        assert_eq!(code, 200, "{body}");
        assert!(
            took < Duration::from_secs(3),
            "ticket {n} answered after {took:?}"
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the page was never sent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn zendesk_signature(ts: &str, body: &[u8]) -> String {
    let mut m =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(ZENDESK_SECRET.as_bytes()).expect("key");
    m.update(ts.as_bytes());
    m.update(body);
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

#[test]
fn vendor_webhooks_need_their_signatures() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/zendesk/events/ticket-created.json"),
    )
    .expect("fixture");
    let ts = NOW;
    let good = zendesk_signature(ts, &body);
    let headers = |sig: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("X-Zendesk-Webhook-Signature-Timestamp", ts.to_string()),
            ("X-Zendesk-Webhook-Signature", sig.to_string()),
        ]
    };
    let forged = headers("AAAA");
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _) = served.send("POST", "/ingest/zendesk", &forged, &body);
    assert_eq!(code, 401);
    assert_eq!(
        env.at(NOW, &["list", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let ok = [
        ("X-Zendesk-Webhook-Signature-Timestamp", ts),
        ("X-Zendesk-Webhook-Signature", good.as_str()),
    ];
    let (code, answer) = served.send("POST", "/ingest/zendesk", &ok, &body);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        env.at(NOW, &["list", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Replayed: the same delivery again is a duplicate, nothing new.
    let (code, answer) = served.send("POST", "/ingest/zendesk", &ok, &body);
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("duplicate"), "{answer}");
    // Signed long ago: refused.
    let old = "2026-12-07T14:00:00Z";
    let old_sig = zendesk_signature(old, &body);
    let stale = [
        ("X-Zendesk-Webhook-Signature-Timestamp", old),
        ("X-Zendesk-Webhook-Signature", old_sig.as_str()),
    ];
    let (code, _) = served.send("POST", "/ingest/zendesk", &stale, &body);
    assert_eq!(code, 401);
    let (code, _) = served.send(
        "POST",
        "/ingest/intercom",
        &[("X-Hub-Signature", "sha1=00")],
        b"{}",
    );
    assert_eq!(code, 401);
}

#[test]
fn health_follows_the_checker_and_metrics_parse() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    env.create(NOW, "support", "Export \"fails\"\nbadly");
    let served = Served::start(&env);
    let (code, body) = served.get("/healthz");
    assert_eq!((code, body.trim()), (503, "no check has ever run"));
    env.at(NOW, &["check"]).ok();
    let (code, body) = served.get("/healthz");
    assert_eq!((code, body.trim()), (200, "ok"));
    let (code, text) = served.get("/metrics");
    assert_eq!(code, 200);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(value("escalate_open_issues"), Some(1.0), "{text}");
    assert_eq!(value("escalate_outbox_dead"), Some(0.0));
    assert_eq!(value("escalate_seconds_since_last_check"), Some(0.0));
    assert_eq!(
        value("escalate_notifications_sent_total"),
        Some(1.0),
        "{text}"
    );
}

/// Failed deliveries recorded without a channel (events not written by
/// this version) come first in the exposition on both stores, as SQLite
/// sorts a NULL: PostgreSQL puts NULLs last unless the query says
/// `NULLS FIRST` (store::metrics).
#[test]
fn failed_deliveries_without_a_channel_come_first_on_both_stores() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let id = env.create(NOW, "support", "Export fails");
    let insert = "INSERT INTO events (issue_id, at, kind, level, actor, details) \
                  VALUES ($1, 0, 'delivery_failed', 1, 'system', $2)";
    let details = [r#"{"channel":"slack","error":"x"}"#, r#"{"error":"x"}"#];
    match &env.pg {
        Some(db) => {
            let mut c = db.client();
            for d in details {
                c.execute(insert, &[&id, &d]).expect("insert event");
            }
        }
        None => {
            let c = rusqlite::Connection::open(env.db()).expect("open");
            for d in details {
                c.execute(&insert.replace('$', "?"), rusqlite::params![id, d])
                    .expect("insert event");
            }
        }
    }
    let served = Served::start(&env);
    let (code, text) = served.get("/metrics");
    assert_eq!(code, 200);
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("escalate_notifications_failed_total{"))
        .collect();
    assert_eq!(
        failed,
        [
            "escalate_notifications_failed_total{channel=\"\"} 1",
            "escalate_notifications_failed_total{channel=\"slack\"} 1",
        ],
        "{text}"
    );
}

#[test]
fn one_client_clicking_too_fast_is_slowed_down() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    let codes: Vec<u16> = (0..30).map(|_| served.get("/a/junk").0).collect();
    assert!(codes.contains(&429), "{codes:?}");
    assert_eq!(codes[0], 400);
    // Health and metrics are never limited.
    assert_ne!(served.get("/healthz").0, 429);
}

/// Behind a trusted proxy each client has its own bucket (named by
/// `X-Forwarded-For`); without `trusted_proxies` the header is ignored, so
/// a client cannot escape its bucket by inventing addresses.
#[test]
fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let clicks = |served: &Served, from: &str| -> Vec<u16> {
        (0..25)
            .map(|_| {
                served
                    .send("GET", "/a/junk", &[("X-Forwarded-For", from)], b"")
                    .0
            })
            .collect()
    };
    let proxied = config(&hook.url("/agent")).replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
    );
    let env = Env::init(&proxied);
    let served = Served::start(&env);
    assert!(clicks(&served, "203.0.113.5").contains(&429));
    let other = clicks(&served, "1.2.3.4, 203.0.113.6");
    assert_eq!(other[0], 400, "another client starts with a full bucket");
    drop(served);

    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    assert!(clicks(&served, "203.0.113.5").contains(&429));
    assert_eq!(
        clicks(&served, "203.0.113.6")[0],
        429,
        "an untrusted peer's header is ignored"
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_stops() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let mut served = Served::start(&env);
    let body = br#"{"type":"ticket.created","source":"zendesk","external_id":"9","title":"Half sent","id":"e9"}"#;
    let mut s = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&body[..20]).expect("half the body");
    std::thread::sleep(Duration::from_millis(300));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&body[20..]).expect("the rest");
    let (code, answer) = read_response(&mut s);
    assert_eq!(code, 200, "{answer}");
    let status = served.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        env.at(NOW, &["list", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1),
        "the request finished, its transaction whole"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", served.port)).is_err(),
        "stopped listening"
    );
}

#[test]
fn messages_and_show_carry_the_ticket_and_the_runbook() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let path = env.path("one.jsonl");
    std::fs::write(
        &path,
        r#"{"type":"ticket.created","source":"zendesk","external_id":"4/2 x","title":"Login fails"}"#,
    )
    .expect("write");
    env.at(NOW, &["ingest", path.to_str().expect("path")]).ok();
    let body = hook.requests().first().expect("a webhook").json();
    let n = &body["notifications"][0];
    assert_eq!(
        n["ticket_url"], "https://acme.zendesk.com/agent/tickets/4%2F2%20x",
        "{n}"
    );
    assert_eq!(
        n["runbook"],
        "https://wiki.example.com/run_book?team=support&x=<1>"
    );
    let v = env.at(NOW, &["show", "1", "--json"]).json();
    assert_eq!(v["ticket_url"], n["ticket_url"]);
    let text = env.at(NOW, &["show", "1"]).ok().stdout;
    assert!(
        text.contains("ticket:  https://acme.zendesk.com/agent/tickets/4%2F2%20x"),
        "{text}"
    );
    assert!(
        text.contains("runbook: https://wiki.example.com/run_book"),
        "{text}"
    );
}

#[test]
fn check_every_runs_the_check_in_process() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&format!(
        "{}\n",
        config(&hook.url("/agent")).replace(
            "ingest_token = { env = \"TEST_INGEST_TOKEN\" }",
            "ingest_token = { env = \"TEST_INGEST_TOKEN\" }\ncheck_every = \"10s\""
        )
    ));
    let served = Served::start(&env);
    // The first tick is at once: the checker is healthy within moments.
    let mut code = 0;
    for _ in 0..50 {
        code = served.get("/healthz").0;
        if code == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(code, 200);
    let status = env.at(NOW, &["status", "--json"]).json();
    assert_eq!(status["runs_last_24h"], 1, "{status}");
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let served = Served::start(&env);
    let mut slow = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("half the headers");
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(20), "held for {waited:?}");
    assert!(waited >= Duration::from_secs(5), "cut at once: {waited:?}");
    // Meanwhile others were served.
    assert_eq!(served.get("/healthz").0, 503);
}

#[test]
fn the_board_links_the_ticket_and_the_runbook() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let path = env.path("one.jsonl");
    std::fs::write(
        &path,
        r#"{"type":"ticket.created","source":"zendesk","external_id":"77","title":"Login fails"}"#,
    )
    .expect("write");
    env.at(NOW, &["ingest", path.to_str().expect("path")]).ok();
    let served = Served::start(&env);
    let (code, page) = served.get("/");
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("href=\"https://acme.zendesk.com/agent/tickets/77\""),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://wiki.example.com/run_book?team=support&amp;x=&lt;1&gt;\""),
        "escaped: {page}"
    );
}

/// A client that asks for answers and never reads them holds a connection
/// (and the answer's buffers) only until the write deadline: pipelined
/// board requests whose answers far outgrow the socket buffers, unread for
/// longer than the deadline, end in a closed connection, not a stuck one.
#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let hook = Server::start(|_| Reply::reply(200, "ok"));
    let env = Env::init(&config(&hook.url("/agent")));
    let path = env.path("many.jsonl");
    let long = "x".repeat(400);
    let lines: Vec<String> = (0..600)
        .map(|n| {
            format!(
                r#"{{"type":"ticket.created","source":"zendesk","external_id":"{n}","title":"Ticket {n} {long}"}}"#
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).expect("write");
    env.at(NOW, &["ingest", path.to_str().expect("path")]).ok();
    let served = Served::start(&env);
    let (code, board) = served.get("/");
    assert_eq!(code, 200);
    let requests = 200;
    let asked = board.len() * requests;
    assert!(
        asked > 64 << 20,
        "answers of {asked} bytes would fit the buffers"
    );

    let mut reader = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    reader
        .write_all(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                .repeat(requests)
                .as_bytes(),
        )
        .expect("pipelined requests");
    // Longer than the server's 10 s write deadline, without reading.
    std::thread::sleep(Duration::from_secs(13));
    // Others are served meanwhile.
    assert_eq!(served.get("/healthz").0, 503);
    reader
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut got = Vec::new();
    let end = reader.read_to_end(&mut got);
    if let Err(e) = &end {
        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "still open");
        assert_ne!(e.kind(), std::io::ErrorKind::TimedOut, "still open");
    }
    assert!(
        got.len() < asked / 4,
        "received {} of {asked} bytes: the connection was not cut",
        got.len()
    );
}
