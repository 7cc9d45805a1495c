//! `POST /slack/actions` against a fake Slack: the fake receives our
//! messages (incoming webhook, Block Kit buttons whose `value` is a signed
//! link token), clicks are sent to `serve` signed exactly as Slack
//! documents (`v0=hex(HMAC-SHA256(signing secret, "v0:TS:BODY"))`), and the
//! fake's `response_url` records what `serve` says back.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::http::{Action, Request, Server};
use crate::support::{t0, Env};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn config(slack: &str) -> String {
    format!(
        r#"
[server]
public_url = "https://escalate.example"
secret = "link-secret-for-tests-0123456789"
slack_signing_secret = "{SIGNING_SECRET}"

[people.ann]
slack_id = "U0ANN"

[chains.ops]
levels = [{{ level = 1, role = "oncall", wait_hours = 1 }}]

[roles.oncall]
slack = "{slack}"
"#
    )
}

/// `serve` on an ephemeral port with its clock frozen at t0 + 10 min.
pub struct Serve {
    child: Child,
    pub base: String,
}

impl Serve {
    pub fn start(env: &Env) -> Serve {
        let mut child = env
            .test()
            .at(10)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        let base = line
            .trim()
            .strip_prefix("escalate serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Serve { child, base }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SIGTERM first (the graceful path, as a supervisor stops it), then
        // SIGKILL if it is still there after 5 s, so a test never hangs
        // here or leaves a server behind.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client (rustls needs the crate's crypto provider).
pub fn client() -> reqwest::blocking::Client {
    escalate::notify::install_crypto();
    reqwest::blocking::Client::new()
}

/// A Slack workspace: the incoming webhook and every `response_url`.
fn fake_slack() -> Server {
    Server::start(|_| Action::reply(200, "ok"))
}

/// The `action` button's token for issue `id`, from what Slack received.
fn token(slack: &Server, id: i64, action: &str) -> String {
    let prefix = format!("v1.{id}.{action}.");
    for r in slack.requests() {
        for block in r.json()["blocks"].as_array().into_iter().flatten() {
            for e in block["elements"].as_array().into_iter().flatten() {
                if let Some(v) = e["value"].as_str().filter(|v| v.starts_with(&prefix)) {
                    return v.to_string();
                }
            }
        }
    }
    panic!("no {action} button for #{id} in {:#?}", slack.requests());
}

/// The form body Slack posts for a click on the button holding `token`.
fn click_body(token: &str, user_id: &str, username: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user_id, "username": username, "name": username, "team_id": "T1" },
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": "1.2.3",
        "team": { "id": "T1", "domain": "acme" },
        "response_url": response_url,
        "actions": [{
            "type": "button",
            "action_id": "ack-1",
            "block_id": "b1",
            "value": token,
            "action_ts": "1700000000.000100"
        }]
    });
    let encoded = percent_encoding::utf8_percent_encode(
        &payload.to_string(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    format!("payload={encoded}")
}

/// Slack's v0 signature of `body` sent at `ts`.
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

/// The server's frozen now, in Unix seconds.
fn now_ts() -> i64 {
    (t0() + TimeDelta::minutes(10)).timestamp()
}

fn post_click(serve: &Serve, ts: i64, signature: &str, body: &str) -> (u16, String) {
    let client = client();
    let resp = client
        .post(format!("{}/slack/actions", serve.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(body.to_string())
        .send()
        .expect("post to serve");
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}

/// A click signed as Slack signs it, now.
fn click(serve: &Serve, body: &str) -> (u16, String) {
    let ts = now_ts();
    post_click(serve, ts, &sign(SIGNING_SECRET, ts, body), body)
}

/// What arrived at `path` on the fake, waiting up to 10 s for `n` of them.
fn responses(slack: &Server, path: &str, n: usize) -> Vec<Request> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got: Vec<Request> = slack
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_of(env: &Env, id: i64) -> (String, Value) {
    let v = env.show(id);
    (v["status"].as_str().unwrap_or("").to_string(), v)
}

fn setup() -> (Server, Env, i64) {
    let slack = fake_slack();
    let env = Env::init(&config(&slack.url("/hook")));
    let id = env.create(0, "ops", "Disk full on db-1");
    (slack, env, id)
}

#[test]
fn a_signed_click_acks_as_the_configured_person_and_slack_is_told_who() {
    let (slack, env, id) = setup();
    let serve = Serve::start(&env);
    let body = click_body(
        &token(&slack, id, "ack"),
        "U0ANN",
        "ann.slack",
        &slack.url("/response/1"),
    );
    let (status, text) = click(&serve, &body);
    assert_eq!((status, text.as_str()), (200, ""), "an empty 200 for Slack");
    let (state, show) = status_of(&env, id);
    assert_eq!(state, "acknowledged", "{show:#}");
    assert_eq!(show["acked_by"], "ann", "the person with that slack_id");
    let got = responses(&slack, "/response/1", 1);
    assert_eq!(got.len(), 1, "response_url got one message");
    let msg = got[0].json();
    assert_eq!(msg["replace_original"], true, "{msg:#}");
    let text = msg["text"].as_str().unwrap_or("");
    assert!(text.contains("acknowledged by ann"), "{text}");
    assert!(text.contains(&format!("#{id}")), "{text}");
}

#[test]
fn an_unknown_slack_user_acts_under_their_slack_username() {
    let (slack, env, id) = setup();
    let serve = Serve::start(&env);
    let body = click_body(
        &token(&slack, id, "resolve"),
        "U0BOB",
        "bob",
        &slack.url("/response/1"),
    );
    assert_eq!(click(&serve, &body).0, 200);
    let (state, show) = status_of(&env, id);
    assert_eq!(state, "resolved", "{show:#}");
    assert_eq!(show["resolved_by"], "bob", "{show:#}");
    let events = Value::Array(env.events(id)).to_string();
    assert!(events.contains("resolved from Slack"), "{events}");
    let got = responses(&slack, "/response/1", 1);
    let text = got[0].json()["text"].as_str().unwrap_or("").to_string();
    assert!(text.contains("resolved by bob"), "{text}");
}

#[test]
fn forged_and_stale_requests_get_401_and_change_nothing() {
    let (slack, env, id) = setup();
    let serve = Serve::start(&env);
    let body = click_body(
        &token(&slack, id, "ack"),
        "U0ANN",
        "ann",
        &slack.url("/response/1"),
    );
    let ts = now_ts();
    // Signed with another secret.
    let forged = sign("not-the-signing-secret", ts, &body);
    assert_eq!(post_click(&serve, ts, &forged, &body).0, 401);
    // Right secret, body changed after signing.
    let other = body.replace("U0ANN", "U0EVE");
    assert_eq!(
        post_click(&serve, ts, &sign(SIGNING_SECRET, ts, &body), &other).0,
        401
    );
    // No signature at all, and a malformed one.
    assert_eq!(post_click(&serve, ts, "", &body).0, 401);
    assert_eq!(post_click(&serve, ts, "v0=zz", &body).0, 401);
    // Correctly signed, but more than 5 minutes old (a replay), and from
    // more than 5 minutes ahead.
    for ts in [now_ts() - 301, now_ts() + 301] {
        assert_eq!(
            post_click(&serve, ts, &sign(SIGNING_SECRET, ts, &body), &body).0,
            401
        );
    }
    // Within the window is fine: 4 min 59 s old.
    let (state, _) = status_of(&env, id);
    assert_eq!(state, "open", "nothing acted on a refused request");
    assert_eq!(responses(&slack, "/response/1", 0).len(), 0);
    let ts = now_ts() - 299;
    assert_eq!(
        post_click(&serve, ts, &sign(SIGNING_SECRET, ts, &body), &body).0,
        200
    );
    assert_eq!(status_of(&env, id).0, "acknowledged");
}

#[test]
fn a_replayed_click_and_a_tampered_token_are_refused_with_a_reason() {
    let (slack, env, id) = setup();
    let serve = Serve::start(&env);
    let ack = token(&slack, id, "ack");
    let first = click_body(&ack, "U0ANN", "ann", &slack.url("/response/1"));
    assert_eq!(click(&serve, &first).0, 200);
    let events = env.events(id).len();

    // The same button again (a fresh, correctly signed request).
    let again = click_body(&ack, "U0BOB", "bob", &slack.url("/response/2"));
    assert_eq!(click(&serve, &again).0, 200);
    let got = responses(&slack, "/response/2", 1);
    let msg = got[0].json();
    assert_eq!(msg["replace_original"], false, "{msg:#}");
    assert_eq!(msg["response_type"], "ephemeral", "{msg:#}");
    let text = msg["text"].as_str().unwrap_or("");
    assert!(text.contains("ann used it"), "{text}");
    assert_eq!(env.show(id)["acked_by"], "ann");
    assert_eq!(env.events(id).len(), events, "nothing recorded");

    // A resolve token of another issue with its issue id changed: signed by
    // Slack, but not by us.
    let other = env.create(1, "ops", "Queue backlog");
    let resolve = token(&slack, other, "resolve");
    let tampered = resolve.replacen(&format!("v1.{other}."), &format!("v1.{id}."), 1);
    let body = click_body(&tampered, "U0ANN", "ann", &slack.url("/response/3"));
    assert_eq!(click(&serve, &body).0, 200);
    let got = responses(&slack, "/response/3", 1);
    let text = got[0].json()["text"].as_str().unwrap_or("").to_string();
    assert!(text.contains("not valid"), "{text}");
    assert_eq!(status_of(&env, id).0, "acknowledged");
    assert_eq!(status_of(&env, other).0, "open");
}

#[test]
fn a_response_url_off_slack_and_the_config_is_not_followed() {
    let (slack, env, id) = setup();
    let elsewhere = fake_slack();
    let serve = Serve::start(&env);
    let body = click_body(
        &token(&slack, id, "ack"),
        "U0ANN",
        "ann",
        &elsewhere.url("/steal"),
    );
    assert_eq!(click(&serve, &body).0, 200);
    assert_eq!(
        status_of(&env, id).0,
        "acknowledged",
        "the click itself counts"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(elsewhere.count(), 0, "nothing POSTed to an unknown host");
}

#[test]
fn a_link_and_a_slack_click_race_exactly_one_wins_and_the_other_is_told_who() {
    for round in 0..3 {
        let (slack, env, id) = setup();
        let serve = Serve::start(&env);
        let ack = token(&slack, id, "ack");
        let body = click_body(&ack, "U0ANN", "ann", &slack.url("/response/1"));
        let link = format!("{}/a/{ack}", serve.base);
        let barrier = std::sync::Barrier::new(2);
        let (page, slack_status) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                barrier.wait();
                let resp = client().post(&link).send().expect("link post");
                (resp.status().as_u16(), resp.text().unwrap_or_default())
            });
            let b = s.spawn(|| {
                barrier.wait();
                click(&serve, &body).0
            });
            (a.join().expect("link"), b.join().expect("slack"))
        });
        assert_eq!(slack_status, 200);
        let msg = responses(&slack, "/response/1", 1)[0].json();
        let slack_won = msg["replace_original"] == true;
        let link_won = page.0 == 200;
        assert!(
            slack_won != link_won,
            "round {round}: exactly one wins: link {page:?}, slack {msg:#}"
        );
        let show = env.show(id);
        assert_eq!(show["status"], "acknowledged");
        let text = msg["text"].as_str().unwrap_or("").to_string();
        if slack_won {
            assert_eq!(show["acked_by"], "ann");
            assert_eq!(page.0, 409, "{page:?}");
            assert!(page.1.contains("ann used it"), "{}", page.1);
        } else {
            // The link acts as the role it was sent to.
            assert_eq!(show["acked_by"], "oncall");
            assert!(text.contains("oncall used it"), "{text}");
        }
        let acks = env
            .kinds(id)
            .iter()
            .filter(|k| k.as_str() == "acknowledged")
            .count();
        assert_eq!(acks, 1, "one ack recorded: {:?}", env.kinds(id));
    }
}

/// Slack's `response_url` is a network exchange like any other: a peer
/// there that hangs, drips, streams forever, dies, answers 500 or
/// redirects never delays the click's answer (Slack wants it within 3 s),
/// never undoes the action, and never stops the server from serving the
/// next click, whose message update still arrives.
#[test]
fn a_hostile_response_url_never_delays_the_click_nor_the_next_one() {
    let slack = Server::start(|r| match r.path.as_str() {
        "/response/hang" => Action::Hang(Duration::from_secs(60)),
        "/response/drip" => Action::Drip {
            status: 200,
            every: Duration::from_millis(300),
        },
        "/response/endless" => Action::Endless { status: 200 },
        "/response/close" => Action::Close,
        "/response/500" => Action::reply(500, "oops"),
        "/response/redirect" => {
            Action::reply(307, "").header("location", "http://127.0.0.1:9/elsewhere")
        }
        _ => Action::reply(200, "ok"),
    });
    let env = Env::init(&format!(
        "{}\n[delivery]\ntimeout_seconds = 2\n",
        config(&slack.url("/hook"))
    ));
    let peers = ["hang", "drip", "endless", "close", "500", "redirect", "ok"];
    let ids: Vec<i64> = peers
        .iter()
        .map(|p| env.create(0, "ops", &format!("Peer {p}")))
        .collect();
    let serve = Serve::start(&env);
    for (peer, id) in peers.iter().zip(&ids) {
        let body = click_body(
            &token(&slack, *id, "ack"),
            "U0ANN",
            "ann",
            &slack.url(&format!("/response/{peer}")),
        );
        let started = Instant::now();
        assert_eq!(click(&serve, &body).0, 200, "{peer}");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "{peer}: answered in {took:?}"
        );
        assert_eq!(status_of(&env, *id).0, "acknowledged", "{peer}");
    }
    let got = responses(&slack, "/response/ok", 1);
    assert_eq!(got.len(), 1, "the healthy peer's update arrived");
    let text = got[0].json()["text"].as_str().unwrap_or("").to_string();
    assert!(text.contains("ann"), "{text}");
}
