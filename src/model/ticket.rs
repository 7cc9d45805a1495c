//! Ingest: ticket events from a helpdesk or a script, as JSON lines.
//!
//! ```json
//! {"type": "ticket.created", "source": "zendesk", "external_id": "4821",
//!  "at": "2026-11-02T09:00:00Z", "title": "Cannot log in", "priority": "high",
//!  "tags": ["vip"], "assignee": "dana", "plan": "enterprise"}
//! ```
//!
//! Kinds: `ticket.created`, `ticket.updated` (priority, tags, title,
//! description, assignee, status), `ticket.resolved`, `ticket.reopened`.
//! `at` is when it happened at the source (default: now, never later than
//! now): escalation and SLA clocks start from it, so a backfill escalates
//! as if it had arrived live. Fields escalate does not know are kept in the
//! issue's details.
//!
//! Idempotent: an event is identified by its `id` field when it has one,
//! else by a hash of its content; the same event twice changes nothing. One
//! open issue per (source, external_id): a repeat `ticket.created` while it
//! is open updates it and is counted (a dedup key, as PagerDuty's).
//!
//! Parsing is pure ([`parse_line`]); `lifecycle::ingest` applies one event
//! inside the caller's transaction, under a savepoint so a rejected event
//! leaves no trace.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::issue::{text_problem, MAX_TITLE};
use super::Ts;

// Also read by `webhook`, whose subjects (Intercom's) are HTML too.
pub(super) mod html;

/// Longest source or external id.
const MAX_ID: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Created,
    Updated,
    Resolved,
    Reopened,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "ticket.created",
            Kind::Updated => "ticket.updated",
            Kind::Resolved => "ticket.resolved",
            Kind::Reopened => "ticket.reopened",
        }
    }
}

/// One parsed ticket event.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketEvent {
    pub kind: Kind,
    pub source: String,
    pub external_id: String,
    pub at: Option<Ts>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
    pub assignee: Option<String>,
    pub status: Option<String>,
    /// An explicit chain (skips routing).
    pub chain: Option<String>,
    /// Who did it at the source (resolve, reopen).
    pub by: Option<String>,
    pub note: Option<String>,
    /// Unknown fields, kept in the issue's details.
    pub extra: Map<String, Value>,
    /// What makes the same event recognisable when it comes again.
    pub key: String,
}

const KNOWN: &[&str] = &[
    "type",
    "source",
    "external_id",
    "at",
    "id",
    "title",
    "description",
    "priority",
    "tags",
    "assignee",
    "status",
    "chain",
    "by",
    "note",
];

/// Parse one line. Blank lines and lines starting with `#` are `None`.
pub fn parse_line(line: &str) -> Result<Option<TicketEvent>, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err("expected a JSON object".to_string());
    };
    let string = |obj: &Map<String, Value>, k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if k == "external_id" || k == "id" => Ok(Some(n.to_string())),
            Some(other) => Err(format!("`{k}` must be a string, not {}", type_name(other))),
        }
    };
    let kind = match string(&obj, "type")?.as_deref() {
        Some("ticket.created") => Kind::Created,
        Some("ticket.updated") => Kind::Updated,
        Some("ticket.resolved") => Kind::Resolved,
        Some("ticket.reopened") => Kind::Reopened,
        Some(other) => {
            return Err(format!(
                "unknown type `{other}` (expected ticket.created, ticket.updated, \
                 ticket.resolved or ticket.reopened)"
            ))
        }
        None => return Err("missing `type`".to_string()),
    };
    let required = |obj: &Map<String, Value>, k: &str| -> Result<String, String> {
        let v = string(obj, k)?.unwrap_or_default();
        let v = v.trim().to_string();
        if v.is_empty() {
            return Err(format!("missing `{k}`"));
        }
        if v.chars().count() > MAX_ID {
            return Err(format!("`{k}` is longer than {MAX_ID} characters"));
        }
        Ok(v)
    };
    let source = required(&obj, "source")?;
    let external_id = required(&obj, "external_id")?;
    let at = match string(&obj, "at")? {
        Some(s) => Some(parse_at(&s)?),
        None => None,
    };
    // An empty title is none: updates need none, and a ticket that opens
    // an issue without one (an Intercom chat) is named by
    // [`fallback_title`] when it is applied.
    let title = string(&obj, "title")?
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if title
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TITLE)
    {
        return Err(format!("`title` is longer than {MAX_TITLE} characters"));
    }
    let tags = match obj.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|t| match t {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "`tags` must hold strings, not {}",
                        type_name(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(format!(
                "`tags` must be a list of strings, not {}",
                type_name(other)
            ))
        }
    };
    let key = match string(&obj, "id")? {
        Some(id) => format!("id:{source}:{id}"),
        None => {
            // serde_json's map is ordered by key, so equal events hash equal
            // whatever their field order.
            let canonical = Value::Object(obj.clone()).to_string();
            let digest = Sha256::digest(canonical.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    };
    let event = TicketEvent {
        kind,
        description: string(&obj, "description")?.map(|d| html::to_text(&d)),
        priority: string(&obj, "priority")?.and_then(lowered),
        assignee: string(&obj, "assignee")?.filter(|a| !a.trim().is_empty()),
        status: string(&obj, "status")?.and_then(lowered),
        chain: string(&obj, "chain")?,
        by: string(&obj, "by")?.filter(|a| !a.trim().is_empty()),
        note: string(&obj, "note")?.map(|d| html::to_text(&d)),
        source,
        external_id,
        at,
        title,
        tags,
        extra: Map::new(),
        key,
    };
    for k in KNOWN {
        obj.remove(*k);
    }
    if let Some(p) = misleading(&event) {
        return Err(p);
    }
    Ok(Some(TicketEvent {
        extra: obj,
        ..event
    }))
}

/// The check every new issue passes ([`text_problem`]), applied to every
/// line, updates too: a line with misleading text is malformed, reported
/// and skipped like any other.
fn misleading(ev: &TicketEvent) -> Option<String> {
    let title = ev
        .title
        .as_deref()
        .and_then(|t| text_problem("`title`", t, true));
    title.or_else(|| {
        ev.description
            .as_deref()
            .and_then(|d| text_problem("`description`", d, false))
    })
}

/// Words of the description a fallback title takes.
const FALLBACK_WORDS: usize = 8;

/// Characters of them at most (a "word" may be a long URL).
const FALLBACK_CHARS: usize = 80;

/// The title of an issue opened by a ticket with none: its source, its id
/// and the first words of its description (`intercom #123: my card was
/// charged twice…`), or None when there is no description to name it by.
pub fn fallback_title(ev: &TicketEvent) -> Option<String> {
    let text = ev.description.as_deref().unwrap_or_default();
    let mut words = text.split_whitespace();
    let mut first: String = words
        .by_ref()
        .take(FALLBACK_WORDS)
        .collect::<Vec<_>>()
        .join(" ");
    if first.is_empty() {
        return None;
    }
    let mut cut = words.next().is_some();
    if first.chars().count() > FALLBACK_CHARS {
        first = first.chars().take(FALLBACK_CHARS).collect();
        cut = true;
    }
    let ellipsis = if cut { "…" } else { "" };
    Some(format!(
        "{} #{}: {first}{ellipsis}",
        ev.source, ev.external_id
    ))
}

/// `at`: RFC 3339, also without seconds (`2026-11-02T09:00Z`,
/// `…T09:00+02:00`), as some helpdesk exports write it.
fn parse_at(s: &str) -> Result<Ts, String> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|e| match with_seconds(s) {
            Some(full) => DateTime::parse_from_rfc3339(&full),
            None => Err(e),
        })
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`at` is not an RFC 3339 time ({s:?}): {e}"))
}

/// `YYYY-MM-DDTHH:MM` directly followed by its zone, with `:00` seconds
/// put in; None for any other shape (the caller keeps the first error).
fn with_seconds(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let minute_then_zone = b.len() > 16
        && b[10].eq_ignore_ascii_case(&b'T')
        && b[13] == b':'
        && matches!(b[16], b'Z' | b'z' | b'+' | b'-');
    // Index 16 is an ASCII byte here, so slicing there is on a char boundary.
    minute_then_zone.then(|| format!("{}:00{}", &s[..16], &s[16..]))
}

/// A status or priority as compared everywhere: helpdesks send `Urgent`,
/// `SOLVED` or `open` for the same values, so they are kept trimmed and in
/// lower case; an empty one (a Zendesk ticket with no priority renders
/// `""`) is absent.
fn lowered(s: String) -> Option<String> {
    let v = s.trim().to_lowercase();
    (!v.is_empty()).then_some(v)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_fields_and_keeps_the_rest() {
        let ev = parse_line(
            r#"{"type":"ticket.created","source":"zendesk","external_id":4821,"title":" Hi ","tags":["vip"],"plan":"enterprise","at":"2026-11-02T09:00:00Z"}"#,
        )
        .expect("valid")
        .expect("an event");
        assert_eq!(ev.kind, Kind::Created);
        assert_eq!(ev.external_id, "4821");
        assert_eq!(ev.title.as_deref(), Some("Hi"));
        assert_eq!(ev.tags, Some(vec!["vip".to_string()]));
        assert_eq!(ev.extra.get("plan"), Some(&serde_json::json!("enterprise")));
        assert!(ev.key.starts_with("sha256:"));
        assert_eq!(parse_line("  "), Ok(None));
        assert_eq!(parse_line("# a comment"), Ok(None));
    }

    #[test]
    fn the_same_event_has_the_same_key_whatever_the_field_order() {
        let a = parse_line(r#"{"type":"ticket.resolved","source":"s","external_id":"1"}"#);
        let b = parse_line(r#"{"external_id":"1","source":"s","type":"ticket.resolved"}"#);
        assert_eq!(a.expect("a").expect("a").key, b.expect("b").expect("b").key);
        let c =
            parse_line(r#"{"type":"ticket.resolved","source":"s","external_id":"1","id":"ev-9"}"#);
        assert_eq!(c.expect("c").expect("c").key, "id:s:ev-9");
    }

    fn one(line: &str) -> TicketEvent {
        parse_line(line).expect(line).expect(line)
    }

    #[test]
    fn times_may_omit_seconds_in_any_zone() {
        let base = r#"{"type":"ticket.updated","source":"s","external_id":"1","at":"AT"}"#;
        let utc = |s: &str| s.parse::<DateTime<Utc>>().expect(s);
        let cases = [
            ("2026-11-02T09:00Z", "2026-11-02T09:00:00Z"),
            ("2026-11-02t09:00z", "2026-11-02T09:00:00Z"),
            ("2026-11-02T09:00+02:00", "2026-11-02T07:00:00Z"),
            ("2026-11-02T09:00-05:30", "2026-11-02T14:30:00Z"),
            ("2026-11-02T09:00:07Z", "2026-11-02T09:00:07Z"),
            ("2026-11-02T09:00:07.5+01:00", "2026-11-02T08:00:07.5Z"),
            (" 2026-11-02T09:00Z ", "2026-11-02T09:00:00Z"),
        ];
        for (given, want) in cases {
            let ev = one(&base.replace("AT", given));
            assert_eq!(ev.at, Some(utc(want)), "{given}");
        }
        for bad in [
            "2026-11-02T09Z",
            "2026-11-02T09:00",
            "2026-11-02T25:00Z",
            "2026-11-02T09:60+02:00",
            "2026-11-02 09:00:00",
            "2026-11-02T09:00+2",
            "2026-11-02T09:00Zjunk",
            "2026-11-02T09:00é",
        ] {
            let e = parse_line(&base.replace("AT", bad)).expect_err(bad);
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn status_and_priority_are_compared_in_lower_case() {
        let ev = one(
            r#"{"type":"ticket.updated","source":"s","external_id":"1","status":" SOLVED ","priority":"Urgent"}"#,
        );
        assert_eq!(ev.status.as_deref(), Some("solved"));
        assert_eq!(ev.priority.as_deref(), Some("urgent"));
        // Non-ASCII values fold too; empty ones are absent.
        let ev = one(
            r#"{"type":"ticket.updated","source":"s","external_id":"1","status":"","priority":"ÉLEVÉE"}"#,
        );
        assert_eq!(ev.status, None);
        assert_eq!(ev.priority.as_deref(), Some("élevée"));
    }

    #[test]
    fn titles_may_be_missing_and_bodies_become_text() {
        for title in [
            r#""#,
            r#","title":"""#,
            r#","title":"  ""#,
            r#","title":null"#,
        ] {
            for kind in ["created", "updated", "resolved", "reopened"] {
                let line =
                    format!(r#"{{"type":"ticket.{kind}","source":"s","external_id":"1"{title}}}"#);
                assert_eq!(one(&line).title, None, "{line}");
            }
        }
        let ev = one(
            r#"{"type":"ticket.resolved","source":"s","external_id":"1","description":"<p>a &amp; b</p><p>c</p>","note":"done<br>really"}"#,
        );
        assert_eq!(ev.description.as_deref(), Some("a & b\nc"));
        assert_eq!(ev.note.as_deref(), Some("done\nreally"));
    }

    #[test]
    fn a_fallback_title_names_source_id_and_first_words() {
        let with = |description: &str| {
            let line = serde_json::json!({
                "type": "ticket.created", "source": "intercom", "external_id": 123,
                "description": description,
            });
            fallback_title(&one(&line.to_string()))
        };
        let cases = [
            (
                "<p>Hi, my card was charged twice for the same order yesterday</p>",
                Some("intercom #123: Hi, my card was charged twice for the…"),
            ),
            (
                "one two  three\nfour five six seven eight",
                Some("intercom #123: one two three four five six seven eight"),
            ),
            ("Help", Some("intercom #123: Help")),
            ("", None),
            ("  <p> </p> ", None),
            ("<img src=\"screenshot.png\">", None),
        ];
        for (description, want) in cases {
            assert_eq!(with(description).as_deref(), want, "{description}");
        }
        let long = with(&"é".repeat(500)).expect("a title");
        assert_eq!(
            long,
            format!("intercom #123: {}…", "é".repeat(FALLBACK_CHARS))
        );
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let cases = [
            ("{", "not JSON"),
            ("[1]", "expected a JSON object"),
            (r#"{"source":"s","external_id":"1"}"#, "missing `type`"),
            (
                r#"{"type":"ticket.exploded","source":"s","external_id":"1"}"#,
                "unknown type",
            ),
            (
                r#"{"type":"ticket.created","external_id":"1","title":"t"}"#,
                "missing `source`",
            ),
            (
                r#"{"type":"ticket.created","source":"s","title":"t"}"#,
                "missing `external_id`",
            ),
            (
                r#"{"type":"ticket.created","source":"s","external_id":"1","title":1}"#,
                "`title` must be a string",
            ),
            (
                r#"{"type":"ticket.updated","source":"s","external_id":"1","at":"yesterday"}"#,
                "RFC 3339",
            ),
            (
                r#"{"type":"ticket.updated","source":"s","external_id":"1","tags":"vip"}"#,
                "list of strings",
            ),
            (
                r#"{"type":"ticket.updated","source":"s","external_id":"1","tags":[1]}"#,
                "hold strings",
            ),
            (
                r#"{"type":"ticket.updated","source":"s","external_id":{"a":1}}"#,
                "must be a string",
            ),
            (
                r#"{"type":"ticket.updated","source":"s","external_id":"1","priority":3}"#,
                "`priority` must be a string",
            ),
        ];
        for (line, fragment) in cases {
            let e = parse_line(line).expect_err(line);
            assert!(e.contains(fragment), "{line}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
