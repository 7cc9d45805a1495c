//! `POST /slack/actions`: Slack's interactivity endpoint, where the Block
//! Kit buttons of our messages (Ack, Resolve, Snooze; each button's
//! `value` is the same signed token as the matching `/a/TOKEN` link) land.
//!
//! Order, as Slack documents it: the request signature first
//! (`X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret,
//! "v0:" + X-Slack-Request-Timestamp + ":" + raw body))`, compared in
//! constant time, the timestamp within five minutes of the server's now),
//! else 401 and nothing is read further. Then the `payload` form field's
//! JSON (`block_actions`), the token (our own signature, expiry), and the
//! action, through the link's code path ([`actions::act_once`]): once per
//! token, refused for a stale epoch, recorded as the Slack user (the
//! configured person with that `slack_id`, else the Slack username).
//!
//! Slack wants its answer within 3 s, so the answer is an empty 200 once
//! the transaction committed; who acted (or why nothing was done, and who
//! got there first) is then POSTed to the payload's `response_url` off the
//! async threads, bounded by `[delivery] timeout_seconds`. That URL is
//! followed only when it is `https://hooks.slack.com/…`, or on the same
//! origin (scheme, host, port) as a Slack webhook the config already posts
//! to — a relay, or a test's fake Slack — so a request that got past the
//! signature still cannot aim the server at an arbitrary host.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::actions::{self, Via};
use super::App;
use crate::config::{Config, Contact};
use crate::model::link::{self, Refused};
use crate::text::slack_escape;

/// How far Slack's timestamp may be from our clock, either way (Slack's
/// documented replay window).
const TOLERANCE_SECONDS: i64 = 5 * 60;
/// Longest actor name kept from Slack.
const MAX_ACTOR: usize = 80;

/// `POST /slack/actions`.
pub async fn actions(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(why) = verify_request(&app, &headers, &body) {
        // Which check failed goes to the log, never the signature itself.
        eprintln!("escalate serve: /slack/actions refused: {why}");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(click) = Click::parse(&body) else {
        // Signed by Slack but not a button click we sent (another
        // interaction type): acknowledged, ignored.
        return StatusCode::OK.into_response();
    };
    let actor = actor_of(&app.config, &click);
    let reply = match verify_token(&app, &click.token) {
        Err(r) => Reply::Refused(r),
        Ok(l) => {
            let mac = link::fingerprint(&click.token).to_string();
            let who = actor.clone();
            let done = app
                .db(move |app, store| {
                    let now = app.now();
                    store.write(|tx| {
                        Ok(actions::act_once(tx, app, &l, &who, Via::Slack, &mac, now)?
                            .map(|i| (l, i)))
                    })
                })
                .await;
            match done {
                Ok(Ok((l, issue))) => {
                    eprintln!(
                        "escalate serve: {} issue #{} by {} (slack)",
                        l.action.as_str(),
                        issue.id,
                        crate::text::one_line(&actor)
                    );
                    Reply::Done {
                        action: l.action,
                        id: issue.id,
                        title: issue.title,
                    }
                }
                Ok(Err(r)) => Reply::Refused(r.why),
                Err(e) => {
                    eprintln!("escalate serve: slack action failed: {e:#}");
                    Reply::Refused(
                        "The database is busy or unavailable; nothing was changed. Try again in a moment."
                            .to_string(),
                    )
                }
            }
        }
    };
    match response_target(&app.config, &click.response_url) {
        Some(url) => {
            let message = reply.message(&actor);
            let (timeout, link_local) = (
                app.config.delivery.timeout,
                app.config.delivery.allow_link_local,
            );
            // After the answer: Slack's 3 s budget is for us, not for this.
            tokio::spawn(async move {
                let sent = tokio::task::spawn_blocking(move || {
                    respond(&url, &message, timeout, link_local)
                })
                .await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("escalate serve: slack response_url: {e}"),
                    Err(e) => eprintln!("escalate serve: slack response task failed: {e}"),
                }
            });
        }
        None => eprintln!(
            "escalate serve: slack response_url is not on hooks.slack.com nor a configured \
             Slack origin; not followed"
        ),
    }
    StatusCode::OK.into_response()
}

/// Slack's v0 signature and timestamp, as Slack documents them.
fn verify_request(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let secret = app
        .config
        .server
        .slack_signing_secret
        .as_ref()
        .ok_or("no [server] slack_signing_secret configured")?
        .resolve()
        .map_err(|_| "[server] slack_signing_secret cannot be read")?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ts = header("x-slack-request-timestamp").ok_or("no X-Slack-Request-Timestamp")?;
    let sig = header("x-slack-signature").ok_or("no X-Slack-Signature")?;
    check_signature(secret.as_bytes(), ts, sig, body, app.now().timestamp())
}

/// Slack's v0 scheme on its own (pure, so Slack's published example is a
/// unit test): `sig` is `v0=` + hex HMAC-SHA256 of `v0:TS:BODY`, and `ts`
/// within [`TOLERANCE_SECONDS`] of `now` (Unix seconds).
fn check_signature(
    secret: &[u8],
    ts: &str,
    sig: &str,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let when: i64 = ts
        .trim()
        .parse()
        .map_err(|_| "X-Slack-Request-Timestamp is not Unix seconds")?;
    // The signature first: an unsigned request learns nothing about our
    // clock from which check failed.
    let tag = sig
        .strip_prefix("v0=")
        .and_then(hex)
        .ok_or("X-Slack-Signature is not v0=HEX")?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| "HMAC key rejected")?;
    mac.update(b"v0:");
    mac.update(ts.as_bytes());
    mac.update(b":");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&tag)
        .map_err(|_| "X-Slack-Signature does not match")?;
    if (now - when).abs() > TOLERANCE_SECONDS {
        return Err("X-Slack-Request-Timestamp is more than 5 minutes from now");
    }
    Ok(())
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let d = |b: u8| (b as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

/// One button click, from the `payload` field.
struct Click {
    token: String,
    user_id: String,
    username: String,
    response_url: String,
}

impl Click {
    fn parse(body: &[u8]) -> Option<Click> {
        let body = std::str::from_utf8(body).ok()?;
        let payload = form_field(body, "payload")?;
        let v: Value = serde_json::from_str(&payload).ok()?;
        if v.get("type")?.as_str()? != "block_actions" {
            return None;
        }
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        let user = v.get("user");
        Some(Click {
            token: s(v.get("actions")?.get(0)?.get("value")),
            user_id: s(user.and_then(|u| u.get("id"))),
            // Slack sends `username`; older payloads `name`.
            username: s(user.and_then(|u| u.get("username").or_else(|| u.get("name")))),
            response_url: s(v.get("response_url")),
        })
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body.
fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k)? == name).then(|| decode(v)).flatten()
    })
}

fn decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Who clicked: the configured person with that Slack member id, else the
/// Slack username (else the member id), on one bounded line.
fn actor_of(config: &Config, click: &Click) -> String {
    let person = config
        .people
        .values()
        .find(|p| !click.user_id.is_empty() && p.slack_id.as_deref() == Some(&click.user_id));
    let name = match person {
        Some(p) => p.name.clone(),
        None if !click.username.trim().is_empty() => click.username.clone(),
        None if !click.user_id.trim().is_empty() => format!("slack:{}", click.user_id),
        None => "a Slack user".to_string(),
    };
    crate::text::truncate(&crate::text::one_line(name.trim()), MAX_ACTOR)
}

/// The link in `token`, or why not, in words for Slack.
fn verify_token(app: &App, token: &str) -> Result<link::Link, String> {
    let secret = app
        .config
        .server
        .secret
        .as_ref()
        .and_then(|s| s.resolve().ok())
        .ok_or("This server has no [server] secret, so it accepts no buttons.")?;
    link::verify(secret.as_bytes(), token, app.now()).map_err(|r| {
        match r {
            Refused::Tampered => "This button is not valid (changed, or signed by another server).",
            Refused::Expired => "This button has expired; use a newer message or the command line.",
        }
        .to_string()
    })
}

enum Reply {
    Done {
        action: link::Action,
        id: i64,
        title: String,
    },
    /// Why nothing was done (who acted first, where known).
    Refused(String),
}

impl Reply {
    /// The JSON for `response_url`: the original message replaced by who
    /// acted, or a note only the clicker sees saying why nothing was done.
    fn message(&self, actor: &str) -> Value {
        match self {
            Reply::Done { action, id, title } => {
                let text = format!(
                    "Issue #{} {}: {} by {}.",
                    id,
                    slack_escape(title),
                    actions::past(*action),
                    slack_escape(actor)
                );
                serde_json::json!({ "replace_original": true, "text": text })
            }
            Reply::Refused(why) => serde_json::json!({
                "response_type": "ephemeral",
                "replace_original": false,
                "text": format!("Nothing was changed. {}", slack_escape(why)),
            }),
        }
    }
}

/// `url` if we may POST to it: Slack's own host over https, or the origin
/// of a Slack webhook in the config.
fn response_target(config: &Config, url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    let slack = parsed.scheme() == "https"
        && parsed.host_str() == Some("hooks.slack.com")
        && parsed.port().is_none();
    if slack || configured_origin(config, &parsed) {
        Some(url.to_string())
    } else {
        None
    }
}

/// Whether `url` shares its origin with a Slack webhook in the config.
fn configured_origin(config: &Config, url: &reqwest::Url) -> bool {
    let role_contacts = config.roles.values().flat_map(|r| r.contacts.iter());
    let people_contacts = config.people.values().flat_map(|p| p.contacts.iter());
    role_contacts
        .chain(people_contacts)
        .filter_map(|c| match c {
            Contact::Slack(s) => s.resolve().ok(),
            _ => None,
        })
        .filter_map(|u| reqwest::Url::parse(&u).ok())
        .any(|u| u.origin() == url.origin())
}

/// POST `message` to `url` with the project's HTTP client (no redirects,
/// one deadline). Errors never carry the URL (it is a credential).
fn respond(
    url: &str,
    message: &Value,
    timeout: std::time::Duration,
    allow_link_local: bool,
) -> Result<(), String> {
    let client = crate::notify::http::client(timeout, allow_link_local)?;
    let body = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    crate::notify::http::post(&client, url, "response_url", &body, &[])
        .map_err(|e| e.message().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in Slack's "Verifying requests from Slack".
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow\
        &channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner\
        &command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands\
        %2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN\
        &trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_example_verifies_within_five_minutes_only() {
        let body = BODY.as_bytes();
        let t = 1_531_420_618;
        assert_eq!(check_signature(SECRET, TS, SIG, body, t), Ok(()));
        assert_eq!(check_signature(SECRET, TS, SIG, body, t + 300), Ok(()));
        assert_eq!(check_signature(SECRET, TS, SIG, body, t - 300), Ok(()));
        assert!(check_signature(SECRET, TS, SIG, body, t + 301).is_err());
        assert!(check_signature(SECRET, TS, SIG, body, t - 301).is_err());
        let upper = SIG.to_uppercase().replacen("V0=", "v0=", 1);
        assert_eq!(check_signature(SECRET, TS, &upper, body, t), Ok(()));
        assert!(check_signature(b"other", TS, SIG, body, t).is_err());
        assert!(check_signature(SECRET, "1531420619", SIG, body, t).is_err());
        assert!(check_signature(SECRET, TS, SIG, &body[1..], t).is_err());
        assert!(check_signature(SECRET, TS, &SIG[..SIG.len() - 2], body, t).is_err());
        assert!(check_signature(SECRET, TS, "v1=00", body, t).is_err());
    }

    #[test]
    fn the_payload_field_is_form_decoded() {
        let body = "a=1&payload=%7B%22type%22%3A+%22x%22%7D&payload=second";
        assert_eq!(
            form_field(body, "payload").as_deref(),
            Some("{\"type\": \"x\"}")
        );
        assert_eq!(form_field(body, "missing"), None);
        assert_eq!(hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex("0g"), None);
        assert_eq!(hex("abc"), None);
    }
}
