//! Helpdesk webhooks in the vendors' own shapes → [`TicketEvent`]s, and
//! the checks that a request really came from the vendor. Pure: bytes in,
//! events out; no clock (the caller passes `now`), no config, no I/O. The
//! HTTP server (`escalate serve`, `POST /ingest/zendesk` and
//! `POST /ingest/intercom`) hands the raw body and the signature headers
//! to [`zendesk_request`] or [`intercom_request`] (signature, then the
//! timestamp's age, then the payload; [`Rejected`] says 401 or 422), then
//! applies each event with `lifecycle::ingest::apply` as `ingest` does.
//!
//! Each payload is rewritten into the ingest schema and read by
//! [`ticket::parse_line`], so a webhook means exactly what the same line
//! sent to `escalate ingest` would: statuses and priorities in lower case,
//! `at` with or without seconds, HTML bodies as text, the same text
//! checks, and the event key `id:SOURCE:ID` from the vendor's event id, so
//! a redelivery is recognised and changes nothing.
//!
//! What the results mean for the server:
//! - `Ok(events)`: apply them in order; `Ok(vec![])` is a delivery we
//!   ignore on purpose (a comment, a user event, Intercom's `ping`): answer
//!   2xx so the vendor neither retries nor marks the webhook as failing.
//! - `Err(message)`: the body is not a payload we can read (not JSON, not
//!   the vendor's envelope, a ticket event without its ticket): answer 422
//!   with the message. Neither vendor retries a 422, and the vendor's
//!   delivery log shows why.

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::Sha256;

use super::issue::MAX_TITLE;
use super::ticket::{self, html, Kind, TicketEvent};
use super::Ts;

#[cfg(test)]
mod tests;

/// The `source` of Zendesk's events, and its `[sources.zendesk]` table.
pub const ZENDESK: &str = "zendesk";
/// The `source` of Intercom's events, and its `[sources.intercom]` table.
pub const INTERCOM: &str = "intercom";

/// The header carrying Zendesk's signature (base64 HMAC-SHA256).
pub const ZENDESK_SIGNATURE: &str = "X-Zendesk-Webhook-Signature";
/// The header carrying the timestamp Zendesk signed with the body.
pub const ZENDESK_TIMESTAMP: &str = "X-Zendesk-Webhook-Signature-Timestamp";
/// The header carrying Intercom's signature (`sha1=` hex HMAC-SHA1).
pub const INTERCOM_SIGNATURE: &str = "X-Hub-Signature";

/// How far a Zendesk signature timestamp may be from our clock, either
/// way. Zendesk documents no window; five minutes is Slack's, and covers a
/// retry's delay and ordinary clock skew while making a captured request
/// useless soon after.
pub const ZENDESK_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// Zendesk statuses after which a ticket needs nobody: solved and closed,
/// and deleted, archived or scrubbed (which only follow those or remove
/// the ticket). A change *from* one of them is a reopen, except between
/// two of them (closed → archived).
const ENDED: &[&str] = &["solved", "closed", "deleted", "archived", "scrubbed"];

// ---------------------------------------------------------------- Zendesk

/// Zendesk's event-subscribed ticket webhooks (`"type":
/// "zen:event-type:ticket.…"`, the ticket under `detail`, the change under
/// `event`), as events for `source = "zendesk"`, `external_id` the ticket
/// id, `at` the event's `time`:
///
/// | type | events |
/// |---|---|
/// | `ticket.created` | created (title from the subject, else the first words of the description); none when it is created already solved or closed, which nobody needs to be paged for |
/// | `ticket.status_changed` | resolved when it becomes solved or closed (or deleted, archived); from one of those to another status: reopened, then updated with the new status; else updated with the status (`pending`/`hold` pause, `open`/`new` resume) |
/// | `ticket.priority_changed`, `subject_changed`, `description_changed`, `tags_changed` | updated with that field (tags: the ticket's whole list) |
/// | `ticket.agent_assignment_changed`, `group_assignment_changed` | updated: `assignee_id` or `group_id` in the issue's details (Zendesk ids are not escalate people, so the owner is left alone) |
/// | `ticket.soft_deleted`, `permanently_deleted`, `marked_as_spam` | resolved, with a note saying why |
/// | `ticket.undeleted` | reopened, unless it comes back solved or closed |
/// | any other `zen:event-type:…` (comments, users, organizations) | none: ignored |
pub fn zendesk(body: &[u8]) -> Result<Vec<TicketEvent>, String> {
    let obj = object(body)?;
    let Some(kind) = text(&obj, "type")? else {
        return Err(
            "not a Zendesk event: no `type` (a trigger's JSON body of placeholders \
             goes through `escalate ingest` and jq; subscribe this webhook to ticket events)"
                .to_string(),
        );
    };
    let Some(name) = kind.strip_prefix("zen:event-type:") else {
        return Err(format!(
            "not a Zendesk event type: `{}` (expected zen:event-type:…)",
            short(&kind)
        ));
    };
    let action = name.strip_prefix("ticket.").unwrap_or_default();
    if !ZENDESK_FOLLOWED.contains(&action) {
        // Users, organizations, comments, custom fields: nothing an
        // escalation follows, whatever else the payload holds.
        return Ok(Vec::new());
    }
    let kind = short(&kind);
    let id = required_id(&obj, "id", "event `id`")?;
    let detail = match obj.get("detail") {
        Some(Value::Object(d)) => d,
        _ => return Err(format!("{kind}: no `detail` object (the ticket)")),
    };
    let ticket = required_id(detail, "id", "`detail.id` (the ticket id)")?;
    let change = match obj.get("event") {
        Some(Value::Object(e)) => Some(e),
        _ => None,
    };
    // What the event says the field became, else the ticket as it is now.
    let current = |field: &str| -> Result<Option<String>, String> {
        match change.map(|e| e.get("current")) {
            Some(Some(Value::String(s))) => Ok(Some(s.clone())),
            _ => text(detail, field).map_err(|e| format!("`detail`: {e}")),
        }
    };
    let at = match text(&obj, "time")? {
        Some(t) => Some(t),
        None => text(detail, "updated_at")?,
    };
    let zd = Line {
        source: ZENDESK,
        external_id: &ticket,
        id: &id,
        at: at.as_deref(),
    };
    match action {
        "created" => {
            let status = text(detail, "status")?;
            if status.as_deref().is_some_and(ended) {
                return Ok(Vec::new());
            }
            let mut m = zd.start(Kind::Created);
            put(&mut m, "title", text(detail, "subject")?.map(|s| title(&s)));
            put(&mut m, "description", text(detail, "description")?);
            put(&mut m, "priority", text(detail, "priority")?);
            put(&mut m, "status", status);
            if let Some(tags) = string_list(detail, "tags")? {
                m.insert("tags".into(), Value::from(tags));
            }
            put(
                &mut m,
                "ticket_type",
                text(detail, "type")?.map(|t| t.to_lowercase()),
            );
            let channel = match detail.get("via") {
                Some(Value::Object(via)) => text(via, "channel")?,
                _ => None,
            };
            put(&mut m, "channel", channel);
            for key in ["requester_id", "organization_id", "group_id", "assignee_id"] {
                put(&mut m, key, id_of(detail, key)?);
            }
            Ok(vec![created(m)?])
        }
        "status_changed" => {
            let Some(status) = current("status")? else {
                return Err(format!(
                    "{kind}: no new status (`event.current` or `detail.status`)"
                ));
            };
            let previous = match change.and_then(|e| e.get("previous")) {
                Some(Value::String(s)) => Some(s.as_str()),
                _ => None,
            };
            if ended(&status) {
                let mut m = zd.start(Kind::Resolved);
                put(&mut m, "status", Some(status));
                return Ok(vec![finish(m)?]);
            }
            let mut m = zd.start(Kind::Updated);
            put(&mut m, "status", Some(status));
            let update = finish(m)?;
            if previous.is_some_and(ended) {
                // Updated alone would not reopen a resolved issue into a
                // waiting status (`pending`): reopen first, then apply it.
                let reopen_id = format!("{id}:reopened");
                let reopen = Line {
                    id: &reopen_id,
                    ..zd
                };
                return Ok(vec![finish(reopen.start(Kind::Reopened))?, update]);
            }
            Ok(vec![update])
        }
        "priority_changed" | "subject_changed" | "description_changed" => {
            let (field, key) = match action {
                "priority_changed" => ("priority", "priority"),
                "subject_changed" => ("subject", "title"),
                _ => ("description", "description"),
            };
            let mut m = zd.start(Kind::Updated);
            let value = current(field)?;
            put(
                &mut m,
                key,
                if key == "title" {
                    value.map(|s| title(&s))
                } else {
                    value
                },
            );
            Ok(vec![finish(m)?])
        }
        "tags_changed" => {
            // The event lists what was added and removed; the ticket's own
            // list is the result, and ingest replaces tags whole.
            let Some(tags) = string_list(detail, "tags")? else {
                return Err(format!("{kind}: no `detail.tags` (the ticket's tags)"));
            };
            let mut m = zd.start(Kind::Updated);
            m.insert("tags".into(), Value::from(tags));
            Ok(vec![finish(m)?])
        }
        "agent_assignment_changed" | "group_assignment_changed" => {
            let key = if action.starts_with("agent") {
                "assignee_id"
            } else {
                "group_id"
            };
            let value = match change.and_then(|e| e.get("current")) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => id_of(detail, key)?,
            };
            let mut m = zd.start(Kind::Updated);
            put(&mut m, key, value);
            Ok(vec![finish(m)?])
        }
        "soft_deleted" | "permanently_deleted" | "marked_as_spam" => {
            let mut m = zd.start(Kind::Resolved);
            let why = if action == "marked_as_spam" {
                "marked as spam in Zendesk"
            } else {
                "deleted in Zendesk"
            };
            put(&mut m, "note", Some(why.to_string()));
            Ok(vec![finish(m)?])
        }
        "undeleted" => {
            // A ticket comes back with the status it had: one deleted
            // after it was solved still needs nobody.
            if text(detail, "status")?.as_deref().is_some_and(ended) {
                return Ok(Vec::new());
            }
            Ok(vec![finish(zd.start(Kind::Reopened))?])
        }
        // Not in ZENDESK_FOLLOWED: returned above.
        _ => Ok(Vec::new()),
    }
}

/// The ticket events [`zendesk`] maps (after `zen:event-type:ticket.`).
const ZENDESK_FOLLOWED: &[&str] = &[
    "created",
    "status_changed",
    "priority_changed",
    "subject_changed",
    "description_changed",
    "tags_changed",
    "agent_assignment_changed",
    "group_assignment_changed",
    "soft_deleted",
    "permanently_deleted",
    "marked_as_spam",
    "undeleted",
];

/// Whether a Zendesk status (any case) means the ticket needs nobody.
fn ended(status: &str) -> bool {
    let s = status.trim().to_lowercase();
    ENDED.contains(&s.as_str())
}

// --------------------------------------------------------------- Intercom

/// Intercom's webhook notifications (`"type": "notification_event"`, a
/// `topic`, the conversation under `data.item`), as events for
/// `source = "intercom"`, `external_id` the conversation id, `at` the
/// notification's `created_at` (Unix seconds):
///
/// | topic | events |
/// |---|---|
/// | `conversation.user.created` | created: title from the conversation's title or the source's subject (HTML as text), else (a chat) the first words of its body; priority `high` when marked priority |
/// | `conversation.admin.closed` | resolved, by the admin who closed it, with the closing note |
/// | `conversation.admin.opened`, `conversation.admin.unsnoozed` | updated, status `open`: reopens a resolved issue, resumes a paused one |
/// | `conversation.admin.snoozed` | updated, status `pending`: pauses it |
/// | `conversation.user.replied` | updated with the conversation's state (a reply reopens or unsnoozes it in Intercom) |
/// | `conversation.priority.updated` | updated: priority `high` when marked priority |
/// | `conversation.deleted` | resolved, with a note saying why |
/// | `ping` and any other topic | none: ignored |
pub fn intercom(body: &[u8]) -> Result<Vec<TicketEvent>, String> {
    let obj = object(body)?;
    match text(&obj, "type")?.as_deref() {
        Some("notification_event") => {}
        Some(other) => {
            return Err(format!(
                "not an Intercom notification: `type` is `{}` (expected notification_event)",
                short(other)
            ))
        }
        None => return Err("not an Intercom notification: no `type`".to_string()),
    }
    let Some(topic) = text(&obj, "topic")? else {
        return Err("Intercom notification without a `topic`".to_string());
    };
    let handled = [
        "conversation.user.created",
        "conversation.admin.closed",
        "conversation.admin.opened",
        "conversation.admin.unsnoozed",
        "conversation.admin.snoozed",
        "conversation.user.replied",
        "conversation.priority.updated",
        "conversation.deleted",
    ];
    if !handled.contains(&topic.as_str()) {
        // `ping` (sent when the webhook is saved), contacts, admin replies
        // and notes, assignments: nothing an escalation follows.
        return Ok(Vec::new());
    }
    let id = required_id(&obj, "id", "notification `id`")?;
    let item = match obj.get("data") {
        Some(Value::Object(data)) => match data.get("item") {
            Some(Value::Object(item)) => item,
            _ => return Err(format!("{topic}: no `data.item` (the conversation)")),
        },
        _ => return Err(format!("{topic}: no `data` object")),
    };
    let conversation = required_id(item, "id", "`data.item.id` (the conversation id)")?;
    let at = [
        unix(&obj, "created_at")?,
        unix(item, "updated_at")?,
        unix(item, "created_at")?,
    ]
    .into_iter()
    .flatten()
    .next();
    let at = at.map(|t| t.to_rfc3339());
    let ic = Line {
        source: INTERCOM,
        external_id: &conversation,
        id: &id,
        at: at.as_deref(),
    };
    let source = match item.get("source") {
        Some(Value::Object(s)) => Some(s),
        _ => None,
    };
    match topic.as_str() {
        "conversation.user.created" => {
            let mut m = ic.start(Kind::Created);
            let named = text(item, "title")?.map(|t| title(&html::to_text(&t)));
            let subject = match source {
                Some(s) => text(s, "subject")?.map(|t| title(&html::to_text(&t))),
                None => None,
            };
            put(&mut m, "title", named.filter(|t| !t.is_empty()).or(subject));
            if let Some(s) = source {
                put(&mut m, "description", text(s, "body")?);
            }
            put(&mut m, "priority", intercom_priority(item)?);
            put(&mut m, "status", intercom_status(item)?);
            m.insert("tags".into(), Value::from(intercom_tags(item)?));
            Ok(vec![created(m)?])
        }
        "conversation.admin.closed" => {
            let mut m = ic.start(Kind::Resolved);
            let (by, note) = closing_part(item)?;
            put(&mut m, "by", by);
            put(&mut m, "note", note);
            Ok(vec![finish(m)?])
        }
        "conversation.admin.opened" | "conversation.admin.unsnoozed" => {
            let mut m = ic.start(Kind::Updated);
            put(&mut m, "status", Some("open".to_string()));
            Ok(vec![finish(m)?])
        }
        "conversation.admin.snoozed" => {
            let mut m = ic.start(Kind::Updated);
            put(&mut m, "status", Some("pending".to_string()));
            Ok(vec![finish(m)?])
        }
        "conversation.deleted" => {
            // Its payload identifies the conversation and nothing more.
            let mut m = ic.start(Kind::Resolved);
            put(&mut m, "note", Some("deleted in Intercom".to_string()));
            Ok(vec![finish(m)?])
        }
        "conversation.user.replied" => {
            let mut m = ic.start(Kind::Updated);
            put(&mut m, "status", intercom_status(item)?);
            Ok(vec![finish(m)?])
        }
        _ => {
            // conversation.priority.updated
            let mut m = ic.start(Kind::Updated);
            put(&mut m, "priority", intercom_priority(item)?);
            Ok(vec![finish(m)?])
        }
    }
}

/// Intercom marks a conversation `priority` or `not_priority`; ingest's
/// convention (the README's jq mapping) reads the first as `high`.
fn intercom_priority(item: &Map<String, Value>) -> Result<Option<String>, String> {
    Ok(match text(item, "priority")? {
        Some(p) if p.trim().eq_ignore_ascii_case("priority") => Some("high".to_string()),
        _ => None,
    })
}

/// Intercom's `state` in ingest's words: `snoozed` is a wait on the
/// customer (`pending` pauses), `open` and `closed` mean what they say.
fn intercom_status(item: &Map<String, Value>) -> Result<Option<String>, String> {
    Ok(text(item, "state")?.map(|s| {
        if s.trim().eq_ignore_ascii_case("snoozed") {
            "pending".to_string()
        } else {
            s
        }
    }))
}

fn intercom_tags(item: &Map<String, Value>) -> Result<Vec<String>, String> {
    let list = match item.get("tags") {
        Some(Value::Object(t)) => t.get("tags"),
        _ => None,
    };
    let Some(Value::Array(tags)) = list else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for t in tags {
        if let Value::Object(tag) = t {
            if let Some(name) = text(tag, "name")? {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// Who closed the conversation and what they wrote: the last `close`
/// part's author and body, when the notification lists its parts.
fn closing_part(item: &Map<String, Value>) -> Result<(Option<String>, Option<String>), String> {
    let parts = match item.get("conversation_parts") {
        Some(Value::Object(p)) => p.get("conversation_parts"),
        _ => None,
    };
    let Some(Value::Array(parts)) = parts else {
        return Ok((None, None));
    };
    let close = parts.iter().rev().find_map(|p| match p {
        Value::Object(part) if part.get("part_type") == Some(&Value::from("close")) => Some(part),
        _ => None,
    });
    let Some(part) = close else {
        return Ok((None, None));
    };
    let by = match part.get("author") {
        Some(Value::Object(a)) => text(a, "name")?
            .filter(|n| !n.trim().is_empty())
            .or(text(a, "email")?),
        _ => None,
    };
    Ok((by, text(part, "body")?))
}

// ---------------------------------------------------------------- requests

/// Why a webhook request is turned away, and so what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// 401, nothing stored: no signature, one that does not verify, or
    /// (Zendesk) a timestamp outside the tolerance. The reason is for the
    /// server's log; it names no secret and no expected value.
    Unauthorized(&'static str),
    /// 422, nothing stored: signed by the vendor, but not a payload we can
    /// read (the message says why).
    Unreadable(String),
}

/// One `POST /ingest/zendesk`, checked and read: the signature over the
/// timestamp and the raw body first (so an unsigned request learns nothing
/// more), then the timestamp's freshness (within [`ZENDESK_TOLERANCE`] of
/// `now`), then the payload. `timestamp` and `signature` are the
/// [`ZENDESK_TIMESTAMP`] and [`ZENDESK_SIGNATURE`] headers, None when
/// absent. A replay within the tolerance carries the same event id, so
/// ingest takes it as the duplicate it is.
pub fn zendesk_request(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Ts,
) -> Result<Vec<TicketEvent>, Rejected> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Rejected::Unauthorized("no signature or timestamp"));
    };
    if !verify_zendesk(secret, timestamp, body, signature) {
        return Err(Rejected::Unauthorized("bad signature"));
    }
    if !fresh(timestamp, now, ZENDESK_TOLERANCE) {
        return Err(Rejected::Unauthorized("stale or unreadable timestamp"));
    }
    zendesk(body).map_err(Rejected::Unreadable)
}

/// One `POST /ingest/intercom`, checked and read: the [`INTERCOM_SIGNATURE`]
/// header (None when absent) over the raw body, then the payload. Intercom
/// signs no timestamp, so a replay cannot be told by its age; it carries
/// the notification's id, and ingest takes it as a duplicate.
pub fn intercom_request(
    secret: &[u8],
    signature: Option<&str>,
    body: &[u8],
) -> Result<Vec<TicketEvent>, Rejected> {
    let Some(signature) = signature else {
        return Err(Rejected::Unauthorized("no signature"));
    };
    if !verify_intercom(secret, body, signature) {
        return Err(Rejected::Unauthorized("bad signature"));
    }
    intercom(body).map_err(Rejected::Unreadable)
}

// ------------------------------------------------------------- signatures

/// Zendesk's `X-Zendesk-Webhook-Signature`: base64 of HMAC-SHA256 keyed by
/// the webhook's signing secret over the `X-Zendesk-Webhook-Signature-
/// Timestamp` value followed directly by the raw body. Compared in constant
/// time. An empty secret verifies nothing (anyone can compute an HMAC with
/// an empty key), nor does a signature that is not base64.
pub fn verify_zendesk(secret: &[u8], timestamp: &str, body: &[u8], signature_b64: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

/// Intercom's `X-Hub-Signature: sha1=HEX`: hex HMAC-SHA1 keyed by the
/// app's client secret over the raw body. Intercom signs with SHA-1 only;
/// as an HMAC it is still unforgeable without the key. Compared in
/// constant time; an empty secret or a header of another shape verifies
/// nothing.
pub fn verify_intercom(secret: &[u8], body: &[u8], header: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(hex) = header.trim().strip_prefix("sha1=") else {
        return false;
    };
    let Some(tag) = unhex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

/// Whether a signature timestamp (RFC 3339, as Zendesk sends it; seconds
/// optional) lies within `tolerance` of `now`, before or after: a signed
/// request replayed later, or from a clock far off, is refused. An
/// unreadable timestamp is not fresh.
pub fn fresh(timestamp: &str, now: Ts, tolerance: TimeDelta) -> bool {
    let Some(at) = rfc3339(timestamp) else {
        return false;
    };
    (now - at).abs() <= tolerance
}

fn rfc3339(s: &str) -> Option<Ts> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // `2026-11-02T09:00Z`: insert the seconds, as ingest does for `at`.
    let b = s.as_bytes();
    let minute_then_zone = b.len() > 16
        && b[10].eq_ignore_ascii_case(&b'T')
        && b[13] == b':'
        && matches!(b[16], b'Z' | b'z' | b'+' | b'-');
    if !minute_then_zone {
        return None;
    }
    // Index 16 is an ASCII byte here, so slicing there is on a char boundary.
    let full = format!("{}:00{}", &s[..16], &s[16..]);
    DateTime::parse_from_rfc3339(&full)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Lower- or upper-case hex → bytes; None for anything else.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

// ---------------------------------------------------------------- helpers

/// What every event of one delivery shares.
#[derive(Clone, Copy)]
struct Line<'a> {
    source: &'a str,
    external_id: &'a str,
    id: &'a str,
    at: Option<&'a str>,
}

impl Line<'_> {
    /// An ingest line of this kind, as a JSON object.
    fn start(&self, kind: Kind) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(kind.as_str()));
        m.insert("source".into(), Value::from(self.source));
        m.insert("external_id".into(), Value::from(self.external_id));
        m.insert("id".into(), Value::from(self.id));
        if let Some(at) = self.at {
            m.insert("at".into(), Value::from(at));
        }
        m
    }
}

/// Read the line as `escalate ingest` would.
fn finish(m: Map<String, Value>) -> Result<TicketEvent, String> {
    match ticket::parse_line(&Value::Object(m).to_string())? {
        Some(ev) => Ok(ev),
        // A serialized object is never blank nor a comment.
        None => Err("empty event".to_string()),
    }
}

/// A created event, named after its description when it has no title
/// (an Intercom chat, a Zendesk ticket with an empty subject), so the
/// event carries the title the issue will have. With no description
/// either it stays untitled, and applying it says so.
fn created(m: Map<String, Value>) -> Result<TicketEvent, String> {
    let mut ev = finish(m)?;
    if ev.title.is_none() {
        ev.title = ticket::fallback_title(&ev);
    }
    Ok(ev)
}

/// Put a value when there is one; blank ones are left out, as ingest would
/// read them as absent anyway.
fn put(m: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        m.insert(key.into(), Value::from(v));
    }
}

/// A subject as a title: one line (a subject with line breaks, or HTML
/// made text, has them), and cut to the longest title an issue may have
/// rather than refused: the sender cannot shorten it.
fn title(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= MAX_TITLE {
        return one;
    }
    let mut cut: String = one.chars().take(MAX_TITLE - 1).collect();
    cut.push('…');
    cut
}

fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("expected a JSON object".to_string()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// A string field; absent or null is None, another type an error.
fn text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// An id: vendors send them as strings (Zendesk's event payloads) or
/// numbers (older APIs); both are kept as text.
fn id_of(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("`{key}` must be a string or a number")),
    }
}

fn required_id(obj: &Map<String, Value>, key: &str, what: &str) -> Result<String, String> {
    id_of(obj, key)?.ok_or_else(|| format!("missing {what}"))
}

fn string_list(obj: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.clone()),
                _ => Err(format!("`{key}` must hold strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("`{key}` must be a list of strings")),
    }
}

/// Unix seconds (a number, or digits in a string) as an instant.
fn unix(obj: &Map<String, Value>, key: &str) -> Result<Option<Ts>, String> {
    let secs = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match secs {
        // 0 is Intercom's "not yet" (`delivered_at: 0`), never a real time.
        Some(0) => Ok(None),
        Some(s) => DateTime::from_timestamp(s, 0)
            .map(Some)
            .ok_or_else(|| format!("`{key}` is out of range")),
        None => Err(format!("`{key}` must be Unix seconds")),
    }
}

/// A vendor's value quoted in a message: bounded and on one line (control
/// characters escaped), whatever was sent.
fn short(s: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = s
        .chars()
        .take(MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}
