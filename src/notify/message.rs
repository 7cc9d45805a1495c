//! Rendering of notifications into text. Channels share these words so a
//! page reads the same on every medium. Titles are user input: every channel
//! escapes them for its own markup.

use serde_json::{json, Value};

use super::slack::Payload;
use crate::model::sla::State;
use crate::model::time::human;
use crate::model::time::rfc3339;
use crate::model::Ts;
use crate::model::{Delivery, Notice};
use crate::text::{self, one_line};

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
    if d.repeat > 0 {
        format!("Level {}, repeat {}", d.level, d.repeat)
    } else {
        format!("Level {}", d.level)
    }
}

/// The one-line form, as the seed printed it, with the context a pager
/// needs: chain, how long the issue has been open, how late this page is.
pub fn line(d: &Delivery, now: Ts) -> String {
    let label = match d.notice {
        Notice::Page => format!("ESCALATION {}", level_label(d)),
        Notice::Sla(..) => level_label(d),
        Notice::Event => "EVENT".to_string(),
        Notice::TaskCreate => "TASK create".to_string(),
        Notice::TaskClose => "TASK close".to_string(),
    };
    format!(
        "[{label}] Issue #{}: '{}' -> {} ({}) [{}, open {}, {}]",
        d.issue_id,
        one_line(&d.title),
        d.role,
        d.target,
        d.chain,
        human(now - d.created_at),
        lateness(d, now)
    )
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
        "#{} {} — {}, {}, owner {}, open {}, {}",
        d.issue_id,
        one_line(&d.title),
        d.chain,
        level_label(d),
        d.role,
        human(now - d.created_at),
        lateness(d, now)
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
        many => format!("{tag} {} escalations for {}", many.len(), many[0].role),
    };
    for d in items.iter().take(GROUP_CAP) {
        body.push_str(&format!(
            "Issue #{}: {}\n  chain {}, {}, owner {}\n  open {}, {} (due {})\n  next: {}\n\n",
            d.issue_id,
            one_line(&d.title),
            d.chain,
            level_label(d),
            d.role,
            human(now - d.created_at),
            lateness(d, now),
            rfc3339(d.due_at),
            next_action(d)
        ));
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

/// The payload behind [`slack`], for [`super::slack::post`].
pub fn slack_payload(items: &[&Delivery], now: Ts, test: bool) -> Payload {
    let prefix = if test { "TEST from escalate: " } else { "" };
    let header = match items {
        [one] => format!(
            "{prefix}{}: issue #{} {}",
            level_label(one),
            one.issue_id,
            slack_escape(&one_line(&one.title))
        ),
        many => format!(
            "{prefix}{} escalations for {}",
            many.len(),
            slack_escape(&many[0].role)
        ),
    };
    let mut lines: Vec<String> = items
        .iter()
        .take(GROUP_CAP)
        .map(|d| format!("• {}", slack_escape(&summary(d, now))))
        .collect();
    if items.len() > GROUP_CAP {
        lines.push(format!("and {} more", items.len() - GROUP_CAP));
    }
    let next = match items {
        [one] => slack_escape(&next_action(one)),
        _ => "take each: `escalate ack ID --by <you>`".to_string(),
    };
    Payload::text(format!("{header}\n{}\nNext: {next}", lines.join("\n")))
        .blocks(vec![
            json!({ "type": "header", "text": { "type": "plain_text", "text": text::truncate(&header, 150) } }),
            json!({ "type": "section", "text": { "type": "mrkdwn", "text": text::truncate(&lines.join("\n"), 2900) } }),
            json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Next: {next}") } ] }),
        ])
        .no_media_previews()
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
            // "page", or an SLA warning: "response_at_risk", "resolution_breached", …
            "notice": d.notice.as_str(),
            "title": d.title,
            "chain": d.chain,
            "level": d.level,
            "repeat": d.repeat,
            "role": d.role,
            "created_at": rfc3339(d.created_at),
            "due_at": rfc3339(d.due_at),
            "late_seconds": (now - d.due_at).num_seconds(),
        })).collect::<Vec<_>>(),
    })
}

/// Escape text for Slack mrkdwn: `&`, `<`, `>` (so `<!channel>`, `<!here>`
/// and `<http://x|click>` are shown, not acted on) and `@` mentions such as
/// `@everyone` (a word joiner after `@` keeps Slack from linking them).
pub fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{2060}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escaping_defuses_mentions_and_links() {
        let cases = [
            ("<!channel> down", "&lt;!channel&gt; down"),
            ("<!here>", "&lt;!here&gt;"),
            ("@everyone look", "@\u{2060}everyone look"),
            ("<http://x|click>", "&lt;http://x|click&gt;"),
            ("a & b", "a &amp; b"),
        ];
        for (input, want) in cases {
            assert_eq!(slack_escape(input), want);
        }
    }
}
