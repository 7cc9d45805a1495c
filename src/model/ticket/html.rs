//! HTML bodies as plain text: Intercom (and Zendesk's rich comments) send
//! descriptions as HTML, which would otherwise reach `show`, mail and chat
//! as markup.
//!
//! Our own small function rather than a crate: we need tags dropped, a few
//! entities decoded and line breaks kept, not a layout engine, and the
//! crates that do this (html2text, html5ever) bring a DOM and dozens of
//! dependencies to the ingest edge. It is total (never fails, never panics
//! on any input), linear, and tested below on the shapes vendors send.

/// Elements that end a line: `<br>` and the block elements around it.
const BREAKS: &[&str] = &[
    "br",
    "p",
    "div",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "table",
    "hr",
];

/// Elements whose content is not text.
const HIDDEN: &[&str] = &["script", "style", "head", "title"];

/// `s` as text when it holds HTML markup (a `<` starting a tag or a
/// comment); any other text is returned as it is, so a plain description
/// (`a < b`, `AT&T`, its own line breaks) is never touched.
pub fn to_text(s: &str) -> String {
    if !has_markup(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<' && starts_tag(rest) {
            rest = tag(rest, &mut out);
        } else if c == '&' {
            let (decoded, used) = entity(rest);
            push_text(&mut out, &decoded);
            rest = &rest[used..];
        } else {
            let mut buf = [0u8; 4];
            push_text(&mut out, c.encode_utf8(&mut buf));
            rest = &rest[c.len_utf8()..];
        }
    }
    tidy(&out)
}

fn has_markup(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| starts_tag(&s[i..]))
}

/// `<a`, `</a` or `<!`, with a `>` somewhere after it, or a comment
/// (which, unterminated, hides the rest as a browser does).
fn starts_tag(s: &str) -> bool {
    if s.starts_with("<!--") {
        return true;
    }
    let b = s.as_bytes();
    let opens = match b.get(1) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'!' => true,
        Some(b'/') => b.get(2).is_some_and(u8::is_ascii_alphabetic),
        _ => false,
    };
    opens && s.contains('>')
}

/// Consumes the tag at the start of `s`, writing the line break it stands
/// for; returns what follows it (and, for a hidden element, its content).
fn tag<'a>(s: &'a str, out: &mut String) -> &'a str {
    if let Some(comment) = s.strip_prefix("<!--") {
        return comment.find("-->").map_or("", |i| &comment[i + 3..]);
    }
    let end = s.find('>').map_or(s.len(), |i| i + 1);
    let inner = s[1..end].trim_end_matches('>');
    let closing = inner.starts_with('/');
    let name: String = inner
        .trim_start_matches('/')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let rest = &s[end..];
    if BREAKS.contains(&name.as_str()) {
        out.push('\n');
    }
    if !closing && HIDDEN.contains(&name.as_str()) {
        // Skip to the matching close tag (or the end: nothing of it shows).
        let close = format!("</{name}");
        let lower = rest.to_ascii_lowercase();
        return match lower.find(&close) {
            Some(i) => rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]),
            None => "",
        };
    }
    rest
}

/// The entity at the start of `s` (which starts with `&`) and how many
/// bytes it took; an unknown or malformed one is a literal `&`.
fn entity(s: &str) -> (std::borrow::Cow<'static, str>, usize) {
    let literal = (std::borrow::Cow::Borrowed("&"), 1);
    // The longest we decode is `&#x10FFFF;`.
    let Some(end) = s
        .char_indices()
        .take(12)
        .find(|(_, c)| *c == ';')
        .map(|(i, _)| i)
    else {
        return literal;
    };
    let body = &s[1..end];
    let named = match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => None,
    };
    let numeric = || {
        let num = body.strip_prefix('#')?;
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        // NUL and other controls but tab and newline are not text.
        char::from_u32(code).filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
    };
    match named.or_else(numeric) {
        Some(c) => (std::borrow::Cow::Owned(c.to_string()), end + 1),
        None => literal,
    }
}

/// Text as HTML lays it out: any run of blanks is one space.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.ends_with([' ', '\n']) && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// Lines trimmed, at most one blank line in a row, none at either end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 1 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn vendor_html_becomes_text_with_its_line_breaks() {
        let cases = [
            ("<p>Hi there</p>", "Hi there"),
            ("<p>Hi</p><p>I cannot log in</p>", "Hi\nI cannot log in"),
            (
                "line one<br>line two<BR/>three<br />four",
                "line one\nline two\nthree\nfour",
            ),
            ("<p>a</p>\n\n<p></p><p></p><p>b</p>", "a\n\nb"),
            (
                "<div><b>Bold</b>   and\n <i>italic</i></div>",
                "Bold and italic",
            ),
            (
                "<p>Tom &amp; Jerry &lt;3 &quot;x&quot; &#39;y&#39; &#x263A; caf&eacute;</p>",
                "Tom & Jerry <3 \"x\" 'y' ☺ caf&eacute;",
            ),
            (
                "<p>a&nbsp;b &#0; &#xD800; &#99999999; &amp</p>",
                "a b &#0; &#xD800; &#99999999; &amp",
            ),
            (
                "<style>p{color:red}</style><p>shown</p><script>alert(1)</script>",
                "shown",
            ),
            ("<!-- hidden --><p>seen</p><!-- unterminated", "seen"),
            ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
            ("<p>x < y and a <3 b</p>", "x < y and a <3 b"),
            ("<p>unterminated <b", "unterminated <b"),
            ("<P CLASS=\"x\">Upper</P>", "Upper"),
            ("<p>ünïcödé 日本</p>", "ünïcödé 日本"),
            ("<img src=\"x.png\">", ""),
        ];
        for (html, text) in cases {
            assert_eq!(to_text(html), text, "{html}");
        }
    }

    #[test]
    fn plain_text_is_left_alone() {
        for s in [
            "a < b and c > d",
            "AT&T &amp; co",
            "two\n\nparagraphs\n  indented",
            "<3",
            "",
            "<",
        ] {
            assert_eq!(to_text(s), s);
        }
    }

    #[test]
    fn any_input_is_handled_without_panicking() {
        // Every prefix of tricky markup: tags, entities and multi-byte
        // characters cut anywhere.
        let tricky = "<p a='>'>é&#x263A;&am<br/<!--x-->&#;</scr<script>日</script>&";
        for (i, _) in tricky.char_indices() {
            let _ = to_text(&tricky[..i]);
            let _ = to_text(&tricky[i..]);
        }
    }
}
