//! Text shared by every output: user strings (titles, relay replies) made
//! safe to print on one line, and cut to the length a peer accepts.

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
}
