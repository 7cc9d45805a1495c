//! Text shared by every output: user strings (titles, relay replies) made
//! safe to print on one line.

/// Whitespace runs (line breaks included) become one space and other
/// control characters a space: a title or a server's reply never breaks a
/// one-line notification, table row or error.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds_breaks_and_control_characters() {
        assert_eq!(super::one_line(" a\n\tb\r\n c\u{1b}d  "), "a b c d");
        assert_eq!(super::one_line(""), "");
    }
}
