//! The Slack channel: an incoming-webhook POST of one [`Payload`]. Notices
//! (text and Block Kit blocks, [`super::message::slack`]) and the digest
//! (text in a code block) are built as payloads here and posted by [`post`],
//! so a Slack message has one shape and one way out.

use reqwest::blocking::Client;
use serde_json::{Map, Value};

use super::{http, message, SendError};
use crate::config::Secret;
use crate::model::Delivery;
use crate::model::Ts;

/// An incoming-webhook payload. Link previews are always off: titles are
/// user input, and a link in one must not unfold into someone's preview.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// Shown in notifications, and as the message when there are no blocks.
    text: String,
    /// Block Kit blocks (none: a plain-text message).
    blocks: Vec<Value>,
    /// `unfurl_media`, when set: notices turn media previews off too; the
    /// digest (a code block, no media) never sent the field.
    unfurl_media: Option<bool>,
}

impl Payload {
    /// A plain-text message. `text` must already be escaped for mrkdwn
    /// ([`message::slack_escape`]) where it carries user input.
    pub fn text(text: impl Into<String>) -> Payload {
        Payload {
            text: text.into(),
            blocks: Vec::new(),
            unfurl_media: None,
        }
    }

    /// With Block Kit blocks, shown instead of the text.
    pub fn blocks(mut self, blocks: Vec<Value>) -> Payload {
        self.blocks = blocks;
        self
    }

    /// With media previews turned off as well as link previews.
    pub fn no_media_previews(mut self) -> Payload {
        self.unfurl_media = Some(false);
        self
    }

    /// The JSON body. Keys go in in sorted order, the order serde_json's map
    /// keeps them in, so the bytes are the same whichever map it uses.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.blocks.is_empty() {
            m.insert("blocks".into(), Value::Array(self.blocks.clone()));
        }
        m.insert("text".into(), Value::String(self.text.clone()));
        m.insert("unfurl_links".into(), Value::Bool(false));
        if let Some(media) = self.unfurl_media {
            m.insert("unfurl_media".into(), Value::Bool(media));
        }
        Value::Object(m)
    }
}

/// POST `payload` to the webhook `url`; errors name it as `slack <label>`
/// (the URL is a secret: only its redacted label is shown).
pub fn post(client: &Client, url: &Secret, payload: &Payload) -> Result<(), SendError> {
    let label = url.label();
    let resolved = url
        .resolve()
        .map_err(|e| SendError::Temporary(format!("slack {label}: {e}"), None))?;
    let body = payload.to_json().to_string();
    http::post(
        client,
        &resolved,
        &format!("slack {label}"),
        body.as_bytes(),
        &[],
    )
}

/// One notification message about `items`.
pub fn send(
    client: &Client,
    url: &Secret,
    items: &[&Delivery],
    now: Ts,
    test: bool,
) -> Result<(), SendError> {
    post(client, url, &message::slack_payload(items, now, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_payloads_carry_text_and_no_link_previews() {
        let p = Payload::text("```\nhi\n```");
        assert_eq!(
            p.to_json().to_string(),
            r#"{"text":"```\nhi\n```","unfurl_links":false}"#
        );
    }

    #[test]
    fn block_payloads_turn_media_previews_off_too() {
        let p = Payload::text("t")
            .blocks(vec![serde_json::json!({"type": "divider"})])
            .no_media_previews();
        assert_eq!(
            p.to_json().to_string(),
            r#"{"blocks":[{"type":"divider"}],"text":"t","unfurl_links":false,"unfurl_media":false}"#
        );
    }
}
