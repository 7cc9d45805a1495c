//! Rendering of notifications into text. Channels share these words so a
//! page reads the same on every medium. Titles are user input: every channel
//! escapes them for its own markup.

use serde_json::{json, Value};

use super::slack::Payload;
use crate::model::sla::State;
use crate::model::time::{human, rfc3339};
use crate::model::{Delivery, Notice, Ts};
use crate::text::one_line;

/// Issues listed in one grouped message before "and N more".
pub const GROUP_CAP: usize = 20;

/// "5m late", or "on time" within a minute of the due time; for SLA
/// warnings (whose due time is the deadline) "1h left" or "breached 5m ago".
pub fn lateness(d: &Delivery, now: Ts) -> String {
    if let Notice::Sla(..) = d.notice {
        let left = d.due_at - now;
        return if left.num_seconds() > 0 {
            format!("{} left", human(left))
        } else {
            format!("deadline passed {} ago", human(-left))
        };
    }
    let late = now - d.due_at;
    if late.num_seconds() < 60 {
        "on time".to_string()
    } else {
        format!("{} late", human(late))
    }
}

fn level_label(d: &Delivery) -> String {
    if let Notice::Sla(target, state) = d.notice {
        let word = if state == State::Breached {
            "BREACHED"
        } else {
            "at risk"
        };
        return format!("SLA {} {word} (level {})", target.as_str(), d.level);
    }
    match d.notice {
        Notice::AckLapsed => return format!("ACK LAPSED: re-notifying level {}", d.level),
        Notice::ChainShortened => {
            return format!("CHAIN SHORTENED: level {} is now the top level", d.level)
        }
        Notice::Assigned => {
            let who = d.person.as_deref().map_or(String::new(), one_line);
            return format!("ASSIGNED to {who} (level {})", d.level);
        }
        _ => {}
    }
    if d.repeat > 0 {
        format!("Level {}, repeat {}", d.level, d.repeat)
    } else {
        format!("Level {}", d.level)
    }
}

/// What a grouped message holds, by kind, only the kinds present: "2
/// escalations, 1 SLA warning". An SLA warning or an ack lapse is not an
/// escalation.
pub fn counts(items: &[&Delivery]) -> String {
    const KINDS: [(&str, &str); 5] = [
        ("escalation", "escalations"),
        ("ack lapse", "ack lapses"),
        ("shortened chain", "shortened chains"),
        ("SLA warning", "SLA warnings"),
        ("notification", "notifications"),
    ];
    let mut n = [0usize; KINDS.len()];
    for d in items {
        n[match d.notice {
            Notice::Page => 0,
            Notice::AckLapsed => 1,
            Notice::ChainShortened => 2,
            Notice::Sla(..) => 3,
            Notice::Event | Notice::TaskCreate | Notice::TaskClose | Notice::Assigned => 4,
        }] += 1;
    }
    KINDS
        .iter()
        .zip(n)
        .filter(|&(_, n)| n > 0)
        .map(|(&(one, many), n)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-line form, as the seed printed it, with the context a pager
/// needs: chain, how long the issue has been open, how late this page is.
pub fn line(d: &Delivery, now: Ts) -> String {
    if let Some(r) = &d.rendered {
        return r.clone();
    }
    let label = match d.notice {
        Notice::Page => format!("ESCALATION {}", level_label(d)),
        Notice::Sla(..) | Notice::AckLapsed | Notice::ChainShortened | Notice::Assigned => {
            level_label(d)
        }
        Notice::Event => "EVENT".to_string(),
        Notice::TaskCreate => "TASK create".to_string(),
        Notice::TaskClose => "TASK close".to_string(),
    };
    format!(
        "[{label}] Issue #{}: '{}' -> {} ({}) [{}, open {}, {}]{}",
        d.issue_id,
        one_line(&d.title),
        owner_of(d),
        d.target,
        d.chain,
        human(now - d.created_at),
        lateness(d, now),
        raised_note(d).map_or(String::new(), |n| format!(" {n}"))
    )
}

/// `paged by carol: "the customer is churning"` for a page someone
/// raised by hand (one line; escaped by the channel like the title).
pub fn raised_note(d: &Delivery) -> Option<String> {
    let r = d.raised_by()?;
    Some(match r.reason {
        Some(why) => format!("paged by {}: \"{}\"", one_line(&r.by), one_line(&why)),
        None => format!("paged by {}", one_line(&r.by)),
    })
}

/// Who the notification is for: the role, or the person on call for it
/// (`carol, on call for support_agent`).
pub fn owner_of(d: &Delivery) -> String {
    match &d.person {
        Some(p) => format!("{}, on call for {}", one_line(p), d.role),
        None => d.role.clone(),
    }
}

/// The next action, in one line.
pub fn next_action(d: &Delivery) -> String {
    format!(
        "take it: `escalate ack {} --by <you>`, or resolve it: `escalate resolve {}`",
        d.issue_id, d.issue_id
    )
}

/// Plain-text line for email and Slack summaries (no escaping).
fn summary(d: &Delivery, now: Ts) -> String {
    format!(
        "#{} {} — {}, {}, owner {} since {}, open {}, {}{}",
        d.issue_id,
        one_line(&d.title),
        d.chain,
        level_label(d),
        owner_of(d),
        rfc3339(d.due_at),
        human(now - d.created_at),
        lateness(d, now),
        raised_note(d).map_or(String::new(), |n| format!(", {n}"))
    )
}

/// An email's subject and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// Email subject and plain-text body for a group of notifications to one
/// address.
pub fn email(items: &[&Delivery], now: Ts, test: bool) -> Email {
    let tag = if test {
        "[escalate TEST]"
    } else {
        "[escalate]"
    };
    let mut body = String::new();
    if test {
        body.push_str("This is a test message from `escalate notify test`. Nothing is wrong.\n\n");
    }
    let subject = match items {
        [one] => format!(
            "{tag} {}: issue #{} {}",
            level_label(one),
            one.issue_id,
            one_line(&one.title)
        ),
        many => format!("{tag} {} for {}", counts(many), many[0].role),
    };
    for d in items.iter().take(GROUP_CAP) {
        if let Some(r) = &d.rendered {
            body.push_str(&format!("{r}\n"));
        } else {
            body.push_str(&format!(
            "Issue #{}: {}\n  chain {}, {}, owner {} since {}\n  open {}, {} (due {})\n{}  next: {}\n\n",
            d.issue_id,
            one_line(&d.title),
            d.chain,
            level_label(d),
            owner_of(d),
            rfc3339(d.due_at),
            human(now - d.created_at),
            lateness(d, now),
            rfc3339(d.due_at),
            raised_note(d).map_or(String::new(), |n| format!("  {n}\n")),
            next_action(d)
        ));
        }
        for (what, url) in [("ticket", &d.ticket_url), ("runbook", &d.runbook)] {
            if let Some(url) = url {
                body.push_str(&format!("  {what}: {url}\n"));
            }
        }
        if let Some(l) = &d.links {
            body.push_str(&format!(
                "  acknowledge: {}\n  resolve: {}\n  snooze 1 h: {}\n\n",
                l.ack, l.resolve, l.snooze
            ));
        }
    }
    if items.len() > GROUP_CAP {
        body.push_str(&format!("and {} more\n", items.len() - GROUP_CAP));
    }
    body.push_str("-- \nsent by escalate\n");
    Email { subject, body }
}

/// Slack incoming-webhook payload: `text` (notifications, fallbacks) and
/// `blocks`. Every user string goes through [`slack_escape`].
pub fn slack(items: &[&Delivery], now: Ts, test: bool) -> Value {
    slack_payload(items, now, test).to_json()
}

/// Slack's documented limits for a message (Block Kit reference): blocks
/// per message, characters in a section's text, in a header, and in the
/// top-level `text`.
pub const SLACK_MAX_BLOCKS: usize = 50;
pub const SLACK_MAX_SECTION: usize = 3000;
pub const SLACK_MAX_HEADER: usize = 150;
pub const SLACK_MAX_TEXT: usize = 40_000;

/// Room kept for the "and N more" line (in a section and in `text`).
const MORE_ROOM: usize = 32;

/// The payload behind [`slack`], for [`super::slack::post`]. User text goes
/// in `plain_text` objects (header and item sections), which Slack never
/// formats: no bold, links or mentions whatever the title holds. Items are
/// packed whole into sections within Slack's limits; the ones that do not
/// fit (or pass [`GROUP_CAP`]) become "and N more".
pub fn slack_payload(items: &[&Delivery], now: Ts, test: bool) -> Payload {
    let prefix = if test { "TEST from escalate: " } else { "" };
    let header = match items {
        [one] => format!(
            "{prefix}{}: issue #{} {}",
            level_label(one),
            one.issue_id,
            one_line(&one.title)
        ),
        many => format!("{prefix}{} for {}", counts(many), many[0].role),
    };
    let header = slack_fit(&header, SLACK_MAX_HEADER);
    let next = match items {
        [one] => slack_escape(&next_action(one)),
        _ => "take each: `escalate ack ID --by <you>`".to_string(),
    };
    let next = format!("Next: {next}");
    let packed = pack(
        items,
        now,
        header.chars().count() + next.chars().count() + 2,
    );
    let text = format!("{header}\n{}\n{next}", packed.lines.join("\n"));
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": header, "emoji": false } }),
    ];
    // The one mention escalate emits: the on-call person, by the member id
    // the config validated (letters and digits only).
    let mentions: Vec<String> = items
        .iter()
        .filter_map(|d| d.mention.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|id| format!("<@{id}>"))
        .collect();
    let text = if mentions.is_empty() {
        text
    } else {
        let who = mentions.join(" ");
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("{who}: you are on call") } }));
        format!("{who}: you are on call\n{text}")
    };
    blocks.extend(packed.sections.into_iter().map(|t| {
        json!({ "type": "section", "text": { "type": "plain_text", "text": t, "emoji": false } })
    }));
    blocks.extend(deep_links(items));
    blocks.extend(buttons(items));
    blocks.push(json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": next } ] }));
    Payload::text(text).blocks(blocks).no_media_previews()
}

/// Item lines, and the same lines grouped into sections.
struct Packed {
    lines: Vec<String>,
    sections: Vec<String>,
}

/// A context block of deep links (ticket, runbook) per item that has any.
/// The URLs come from the config, the ticket id percent-encoded into its
/// URL; they are escaped for mrkdwn and cannot carry a `|` label.
fn deep_links(items: &[&Delivery]) -> Vec<Value> {
    items
        .iter()
        .take(BUTTON_ROWS)
        .filter_map(|d| {
            let links: Vec<String> = [("ticket", &d.ticket_url), ("runbook", &d.runbook)]
                .into_iter()
                .filter_map(|(label, url)| {
                    // Slack's three entities only: the mrkdwn markers are
                    // literal inside a link, and a word joiner would break it.
                    let url = url
                        .as_ref()?
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('|', "%7C");
                    Some(format!("<{url}|{label} #{}>", d.issue_id))
                })
                .collect();
            (!links.is_empty()).then(|| {
                json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": links.join(" · ") } ] })
            })
        })
        .collect()
}

/// Most items of one message that get their own row of buttons.
const BUTTON_ROWS: usize = 5;

/// Block Kit buttons per item (`escalate serve` with a public URL): Ack,
/// Resolve, Snooze 1 h. Each opens the item's signed link (a confirmation
/// page); its `value` is the token, so a Slack app whose interactivity URL
/// is `/slack/actions` acts in place. Labels are ours; the issue id is a
/// number, so nothing from outside goes into these blocks.
fn buttons(items: &[&Delivery]) -> Vec<Value> {
    items
        .iter()
        .take(BUTTON_ROWS)
        .filter_map(|d| {
            let l = d.links.as_ref()?;
            let urls = [&l.ack, &l.resolve, &l.snooze];
            let elements: Vec<Value> = crate::model::link::Action::ALL
                .iter()
                .zip(urls)
                .zip(&l.tokens)
                .map(|((a, url), token)| {
                    json!({
                        "type": "button",
                        "action_id": format!("{}-{}", a.as_str(), d.id),
                        "text": { "type": "plain_text", "text": format!("{} #{}", a.label(), d.issue_id) },
                        "url": url,
                        "value": token,
                    })
                })
                .collect();
            Some(json!({ "type": "actions", "elements": elements }))
        })
        .collect()
}

/// Whole items into sections of at most [`SLACK_MAX_SECTION`] characters,
/// at most [`SLACK_MAX_BLOCKS`] blocks in all (header and context take
/// two), `text` within [`SLACK_MAX_TEXT`] (`used` is already taken); an
/// "and N more" line for the rest.
fn pack(items: &[&Delivery], now: Ts, used: usize) -> Packed {
    let max_sections = SLACK_MAX_BLOCKS - 2;
    let mut p = Packed {
        lines: Vec::new(),
        sections: Vec::new(),
    };
    let mut text_len = used;
    let mut shown = 0;
    for d in items.iter().take(GROUP_CAP) {
        let room = SLACK_MAX_SECTION - MORE_ROOM - 2;
        // A template's line is escaped already (variable by variable).
        let text = match &d.rendered {
            Some(r) => crate::text::truncate(r, room),
            None => slack_fit(&summary(d, now), room),
        };
        let line = format!("• {text}");
        let len = line.chars().count();
        if text_len + len + 1 + MORE_ROOM > SLACK_MAX_TEXT {
            break;
        }
        let fits_last = p
            .sections
            .last()
            .is_some_and(|s| s.chars().count() + 1 + len + MORE_ROOM <= SLACK_MAX_SECTION);
        if fits_last {
            let last = p.sections.last_mut().expect("a section");
            last.push('\n');
            last.push_str(&line);
        } else if p.sections.len() < max_sections {
            p.sections.push(line.clone());
        } else {
            break;
        }
        text_len += len + 1;
        p.lines.push(line);
        shown += 1;
    }
    if items.len() > shown {
        // MORE_ROOM was kept in the last section and in `text`.
        let more = format!("and {} more", items.len() - shown);
        match p.sections.last_mut() {
            Some(last) => {
                last.push('\n');
                last.push_str(&more);
            }
            None => p.sections.push(more.clone()),
        }
        p.lines.push(more);
    }
    p
}

/// [`slack_escape`] of `s`, at most `max` characters: whole characters and
/// whole escapes only (never half an `&lt;`), '…' where it was cut.
pub fn slack_fit(s: &str, max: usize) -> String {
    let escaped = slack_escape(s);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut len = 0;
    for c in s.chars() {
        let piece = slack_escape(c.encode_utf8(&mut [0; 4]));
        let n = piece.chars().count();
        if len + n + 1 > max {
            break;
        }
        out.push_str(&piece);
        len += n;
    }
    out.push('…');
    out
}

/// Webhook body: a stable, versioned schema.
pub fn webhook(items: &[&Delivery], now: Ts, test: bool) -> Value {
    json!({
        "schema": "escalate.notification.v1",
        "test": test,
        "sent_at": rfc3339(now),
        "role": items.first().map(|d| d.role.clone()),
        "count": items.len(),
        "notifications": items.iter().map(|d| json!({
            "delivery_id": d.id,
            "issue_id": d.issue_id,
            // "page", "ack_lapsed" (a re-page after an acknowledgement lapsed),
            // "chain_shortened" (the new top level of a shortened chain), or an
            // SLA warning: "response_at_risk", "resolution_breached", …
            "notice": d.notice.as_str(),
            "title": d.title,
            "chain": d.chain,
            "level": d.level,
            "repeat": d.repeat,
            "role": d.role,
            // The person on call the page went to (null: the role's own).
            "on_call": d.person,
            // Who paged by hand (`escalate escalate`, `move`) and why, or null.
            "paged_by": d.raised_by().map(|r| json!({ "by": r.by, "reason": r.reason })),
            "created_at": rfc3339(d.created_at),
            "due_at": rfc3339(d.due_at),
            "late_seconds": (now - d.due_at).num_seconds(),
            // Deep links from the config, or null.
            "ticket_url": d.ticket_url,
            "runbook": d.runbook,
            // Signed action links (`escalate serve` with a public_url), or null.
            "links": d.links.as_ref().map(|l| json!({
                "ack": l.ack, "resolve": l.resolve, "snooze": l.snooze,
            })),
        })).collect::<Vec<_>>(),
    })
}

pub use crate::text::slack_escape;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn delivery(id: i64, title: String) -> Delivery {
        let t = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        Delivery {
            id,
            issue_id: id,
            notice: Notice::Page,
            epoch: 0,
            level: 2,
            repeat: 0,
            role: "lead".into(),
            channel: "slack".into(),
            target: "hook".into(),
            due_at: t,
            attempts: 0,
            title,
            chain: "ops".into(),
            created_at: t,
            payload: None,
            task: None,
            person: None,
            mention: None,
            issue_epoch: 0,
            links: None,
            source: None,
            external_id: None,
            ticket_url: None,
            runbook: None,
            rendered: None,
        }
    }

    /// Every `&` starts one of the three entities: none was cut.
    fn assert_whole_entities(s: &str) {
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "cut entity at {i}: {:?}",
                rest.chars().take(8).collect::<String>()
            );
        }
    }

    #[test]
    fn slack_storms_fit_every_limit_by_whole_items() {
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
        let units = ["<", "&", "<!channel>", "*_~`", "a", "é@"];
        for count in [1, 2, 7, 20, 21, 60] {
            for len in [10, 149, 150, 600, 1000] {
                for unit in units {
                    let items: Vec<Delivery> = (0..count)
                        .map(|i| delivery(i + 1, unit.repeat(len).chars().take(len).collect()))
                        .collect();
                    let refs: Vec<&Delivery> = items.iter().collect();
                    let v = slack(&refs, now, false);
                    let text = v["text"].as_str().unwrap();
                    assert!(text.chars().count() <= SLACK_MAX_TEXT);
                    assert_whole_entities(text);
                    let blocks = v["blocks"].as_array().unwrap();
                    assert!(blocks.len() <= SLACK_MAX_BLOCKS);
                    let header = blocks[0]["text"]["text"].as_str().unwrap();
                    assert!(header.chars().count() <= SLACK_MAX_HEADER, "{header}");
                    assert_whole_entities(header);
                    let mut shown = 0;
                    let mut more = 0;
                    for b in &blocks[1..blocks.len() - 1] {
                        assert_eq!(b["text"]["type"], "plain_text");
                        let t = b["text"]["text"].as_str().unwrap();
                        assert!(t.chars().count() <= SLACK_MAX_SECTION, "{}", t.len());
                        assert_whole_entities(t);
                        shown += t.lines().filter(|l| l.starts_with("• #")).count();
                        if let Some(m) = t.lines().find_map(|l| l.strip_prefix("and ")) {
                            more = m.trim_end_matches(" more").parse::<usize>().unwrap();
                        }
                    }
                    // Whole items: each shown, or counted in "and N more".
                    assert!(shown >= 1);
                    assert_eq!(shown + more, count as usize, "{count} × {len} {unit:?}");
                }
            }
        }
    }

    fn of(notice: Notice, id: i64) -> Delivery {
        Delivery {
            notice,
            ..delivery(id, format!("issue {id}"))
        }
    }

    #[test]
    fn grouped_headers_count_sla_warnings_apart_from_escalations() {
        use crate::model::sla::{State, Target};
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
        let at_risk = Notice::Sla(Target::Response, State::AtRisk);
        let cases: Vec<(Vec<Notice>, &str)> = vec![
            (
                vec![Notice::Page, Notice::Page, at_risk],
                "2 escalations, 1 SLA warning",
            ),
            (
                vec![Notice::Page, at_risk, at_risk],
                "1 escalation, 2 SLA warnings",
            ),
            (vec![at_risk, at_risk], "2 SLA warnings"),
            (vec![Notice::Page, Notice::Page], "2 escalations"),
            (
                vec![Notice::Page, Notice::AckLapsed, Notice::ChainShortened],
                "1 escalation, 1 ack lapse, 1 shortened chain",
            ),
        ];
        for (notices, want) in cases {
            let items: Vec<Delivery> = notices
                .iter()
                .enumerate()
                .map(|(i, &n)| of(n, i as i64 + 1))
                .collect();
            let refs: Vec<&Delivery> = items.iter().collect();
            assert_eq!(counts(&refs), want);
            let header = format!("{want} for lead");
            let v = slack(&refs, now, false);
            assert_eq!(v["blocks"][0]["text"]["text"], header.as_str());
            assert!(v["text"].as_str().unwrap().starts_with(&header));
            let e = email(&refs, now, false);
            assert_eq!(e.subject, format!("[escalate] {header}"));
        }
    }

    #[test]
    fn an_ack_lapse_and_a_shortened_chain_are_not_called_escalations() {
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
        let lapse = of(Notice::AckLapsed, 1);
        let l = line(&lapse, now);
        assert!(
            l.starts_with("[ACK LAPSED: re-notifying level 2] Issue #1"),
            "{l}"
        );
        let e = email(&[&lapse], now, false);
        assert!(
            e.subject.contains("ACK LAPSED: re-notifying level 2"),
            "{}",
            e.subject
        );
        assert!(!e.subject.contains("ESCALATION"), "{}", e.subject);
        let v = slack(&[&lapse], now, false);
        let header = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            header.starts_with("ACK LAPSED: re-notifying level 2"),
            "{header}"
        );
        assert_eq!(
            webhook(&[&lapse], now, false)["notifications"][0]["notice"],
            "ack_lapsed"
        );
        let capped = of(Notice::ChainShortened, 2);
        let l = line(&capped, now);
        assert!(
            l.starts_with("[CHAIN SHORTENED: level 2 is now the top level] Issue #2"),
            "{l}"
        );
        let page = line(&of(Notice::Page, 3), now);
        assert!(page.starts_with("[ESCALATION Level 2] Issue #3"), "{page}");
    }

    #[test]
    fn slack_escaping_defuses_mentions_and_links() {
        let cases = [
            ("<!channel> down", "&lt;!channel&gt; down"),
            ("<!here>", "&lt;!here&gt;"),
            ("@everyone look", "@\u{2060}everyone look"),
            ("<http://x|click>", "&lt;http://x|click&gt;"),
            ("a & b", "a &amp; b"),
            (
                "*b* _i_",
                "\u{2060}*\u{2060}b\u{2060}*\u{2060} \u{2060}_\u{2060}i\u{2060}_\u{2060}",
            ),
            (
                "~s~ `c`",
                "\u{2060}~\u{2060}s\u{2060}~\u{2060} \u{2060}`\u{2060}c\u{2060}`\u{2060}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(slack_escape(input), want);
        }
    }
}
