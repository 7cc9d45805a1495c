//! Text shared by every output: user strings (titles, relay replies) made
//! safe to print on one line or on a terminal, escaped for markdown, and
//! cut to the length a peer accepts.

use std::io::{self, Write};

/// Whitespace runs (line breaks included) become one space and other
/// control characters a space: a title or a server's reply never breaks a
/// one-line notification, table row or error.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max_chars` characters (not bytes: peers count characters, and
/// a byte cut could split one), the last one a '…' when something was cut so
/// a reader knows the text goes on.
pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    // Even the '…' does not fit: nothing does.
    let Some(keep) = max_chars.checked_sub(1) else {
        return String::new();
    };
    let mut out: String = s.chars().take(keep).collect();
    out.push('…');
    out
}

/// Text for a terminal: every control character except line feed and tab
/// (C0, DEL, C1 — ESC among them, so no escape sequence can retitle the
/// window, clear the screen or hide text) becomes a space. Lines stay.
pub fn terminal(s: &str) -> String {
    s.chars().map(fold_control).collect()
}

fn fold_control(c: char) -> char {
    if c.is_control() && c != '\n' && c != '\t' {
        ' '
    } else {
        c
    }
}

/// A writer that folds what [`terminal`] folds, for stderr: every warning
/// and delivery message goes through it, whatever peer reply it quotes.
/// Works on bytes, so a C1 control split across two writes is still caught.
pub struct TerminalWriter<W: Write> {
    inner: W,
    /// A 0xC2 lead byte seen at the end of the last write (a C1 control is
    /// 0xC2 0x80..=0x9F in UTF-8).
    pending_c2: bool,
}

impl<W: Write> TerminalWriter<W> {
    pub fn new(inner: W) -> Self {
        TerminalWriter {
            inner,
            pending_c2: false,
        }
    }
}

impl<W: Write> Write for TerminalWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 1);
        for &b in buf {
            if self.pending_c2 {
                self.pending_c2 = false;
                if (0x80..=0x9f).contains(&b) {
                    // Two bytes, one character: one space.
                    out.push(b' ');
                    continue;
                }
                out.push(0xc2);
            }
            match b {
                0xc2 => self.pending_c2 = true,
                b'\n' | b'\t' => out.push(b),
                0..=0x1f | 0x7f => out.push(b' '),
                _ => out.push(b),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.pending_c2) {
            self.inner.write_all(&[0xc2])?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for TerminalWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Serialized JSON with DEL and the C1 controls (which serde_json leaves
/// raw) written as `\u` escapes: the same JSON value, safe on a terminal.
/// They can only occur inside strings, where the escape means the same.
pub fn json_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// User text for one line of CommonMark/GFM (a table cell, a list item):
/// [`one_line`], then [`markdown_escape`].
pub fn markdown_inline(s: &str) -> String {
    markdown_escape(&one_line(s))
}

/// User text for markdown, line breaks kept: nothing in it can become
/// markup. Backslash escapes (valid for any ASCII punctuation in
/// CommonMark) on every character that opens emphasis, code, links,
/// images, raw HTML, entities or a table cell, on the ones that start a
/// block at the start of a line (`#`, `>`, `-`, `+`, `=`, `1.`, `1)`),
/// and on the `:` of `://`, the `.` of `www.` and every `@`, which GFM's
/// extended autolinks look for. `-` or `.` elsewhere stay readable.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for line in s.split_inclusive('\n') {
        markdown_line(line, &mut out);
    }
    out
}

fn markdown_line(line: &str, out: &mut String) {
    let chars: Vec<char> = line.chars().collect();
    // Where the line's first non-blank character is: block markers count
    // only there (and after a run of digits, for ordered lists).
    let start = chars.iter().position(|c| *c != ' ').unwrap_or(0);
    let digits_end = chars[start..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(chars.len(), |n| start + n);
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '<' | '>' | '!' | '|' | '&' | '#' | '@' => {
                true
            }
            '-' | '+' | '=' => i == start,
            '.' | ')' => {
                (i == digits_end && digits_end > start)
                    || (c == '.'
                        && i >= 3
                        && chars[i - 3..i]
                            .iter()
                            .collect::<String>()
                            .eq_ignore_ascii_case("www"))
            }
            ':' => chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/'),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Escape text for Slack: `&`, `<`, `>` as the entities Slack documents
/// (so `<!channel>`, `<!here>` and `<http://x|click>` are shown, not acted
/// on), `@` mentions such as `@everyone` (a word joiner after `@` keeps
/// Slack from linking them), and the mrkdwn markers `*`, `_`, `~` and
/// `` ` ``, which Slack has no escape for: a word joiner (U+2060, zero
/// width) on both sides keeps them from pairing into bold, italics, strike
/// or code, and cannot close a code block. Blocks also carry user text as
/// `plain_text`, which Slack never formats; this covers the top-level
/// `text` (notifications) and the digest's code block.
pub fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{2060}"),
            '*' | '_' | '~' | '`' => {
                out.push('\u{2060}');
                out.push(c);
                out.push('\u{2060}');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds_breaks_and_control_characters() {
        assert_eq!(super::one_line(" a\n\tb\r\n c\u{1b}d  "), "a b c d");
        assert_eq!(super::one_line(""), "");
    }

    #[test]
    fn truncate_counts_characters_and_marks_the_cut() {
        use super::truncate;
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4), "ééé…");
        assert_eq!(truncate(&"x".repeat(300), 255).chars().count(), 255);
        assert_eq!(truncate("ab", 1), "…");
        assert_eq!(truncate("ab", 0), "");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn terminal_folds_every_control_but_lines_and_tabs() {
        assert_eq!(
            super::terminal("a\u{1b}]0;x\u{7}b\r\nc\td\u{7f}\u{9b}2J"),
            "a ]0;x b \nc\td  2J"
        );
    }

    #[test]
    fn the_terminal_writer_folds_c1_split_across_writes() {
        use std::io::Write as _;
        let mut buf = Vec::new();
        {
            let mut w = super::TerminalWriter::new(&mut buf);
            w.write_all(b"a\x1b[2J\xc2").unwrap();
            w.write_all(b"\x9bb").unwrap();
            w.write_all("\u{e9}\n\t".as_bytes()).unwrap();
            w.write_all(b"\xc2").unwrap();
            w.write_all("\u{a9}".as_bytes()[1..].as_ref()).unwrap();
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "a [2J b\u{e9}\n\t\u{a9}");
    }

    #[test]
    fn markdown_escape_defuses_markup_and_keeps_plain_words() {
        use super::markdown_escape as m;
        assert_eq!(m("on-call team"), "on-call team");
        assert_eq!(m("# h"), "\\# h");
        assert_eq!(m("- a\n> b\n12. c\n3) d"), "\\- a\n\\> b\n12\\. c\n3\\) d");
        assert_eq!(m("[x](http://e)"), "\\[x\\](http\\://e)");
        assert_eq!(m("<b>&amp;"), "\\<b\\>\\&amp;");
        assert_eq!(m("a|b\\"), "a\\|b\\\\");
        assert_eq!(m("www.x.org a@b.c"), "www\\.x.org a\\@b.c");
        assert_eq!(m("*_~`!"), "\\*\\_\\~\\`\\!");
    }
}
