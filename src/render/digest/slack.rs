//! The digest for Slack: Slack shows markdown tables poorly, so the digest
//! goes as the text it was rendered to, in a code block, escaped (titles
//! are user input).

use crate::notify::message::slack_escape;
use crate::notify::slack::Payload;

/// The Slack payload for a rendered digest (`body`: its markdown, or its
/// JSON with `--format json`).
pub fn slack(body: &str) -> Payload {
    Payload::text(format!("```\n{}\n```", slack_escape(body)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_digest_goes_escaped_in_a_code_block() {
        let json = super::slack("# digest\n- #1 <!channel> & co\n").to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "text": "```\n# digest\n- #1 &lt;!channel&gt; &amp; co\n\n```",
                "unfurl_links": false,
            })
        );
    }

    /// `slack_escape` puts word joiners around markup characters, so a
    /// title's backticks cannot close the code block.
    #[test]
    fn a_title_cannot_close_the_code_block() {
        let json = super::slack("- #1 x ``` *bold* `y`\n").to_json();
        let text = json["text"].as_str().unwrap_or_default();
        let inner = &text[3..text.len() - 3];
        assert!(!inner.contains("``"), "{text:?}");
        assert!(!inner.contains("*bold*"), "{text:?}");
    }
}
