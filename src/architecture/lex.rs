//! Lexing for the layering test: just enough of Rust's lexical grammar to
//! tell code from comments and literals, so that a path mentioned in a doc
//! comment or a string never counts as an import.
//!
//! [`lex`] blanks comments and literal contents (keeping every line break,
//! so line numbers survive) and keeps the string literals aside for the SQL
//! rule; [`tokenize`] cuts what is left into idents and punctuation; and
//! [`matching`], [`item_end`] and [`is_cfg_test`] give the scanner the
//! bracket structure it needs to find the extent of `#[cfg(test)]` items.

/// A string literal's text (escapes roughly undone), where it starts in the
/// blanked code, and its first line.
#[derive(Debug, Clone)]
pub(super) struct Lit {
    pub(super) pos: usize,
    pub(super) line: usize,
    pub(super) text: String,
}

/// The source with comments blanked and literals reduced to `"   "` / `' '`
/// (newlines kept), plus the string literals themselves.
pub(super) struct Lexed {
    pub(super) code: String,
    pub(super) lits: Vec<Lit>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// At `i`, the start of a string literal? Returns (chars before the opening
/// quote, the raw-string hash count if raw).
fn string_start(chars: &[char], i: usize) -> Option<(usize, Option<usize>)> {
    let mut j = i;
    if matches!(chars.get(j), Some('b') | Some('c')) {
        j += 1;
    }
    let mut raw = None;
    if chars.get(j) == Some(&'r') {
        j += 1;
        let mut hashes = 0;
        while chars.get(j) == Some(&'#') {
            hashes += 1;
            j += 1;
        }
        raw = Some(hashes);
    }
    (chars.get(j) == Some(&'"')).then_some((j - i, raw))
}

pub(super) fn lex(src: &str) -> Lexed {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        code: String::with_capacity(src.len()),
        lits: Vec::new(),
    };
    while lx.i < lx.chars.len() {
        // Each step consumes what it recognises; plain code is kept as is.
        if !lx.comment() && !lx.string_literal() && !lx.char_literal() {
            lx.keep();
        }
    }
    Lexed {
        code: lx.code,
        lits: lx.lits,
    }
}

/// The lexer's cursor: `chars[i]` is next, `code` is the blanked output so
/// far, `line` counts the newlines consumed (for literals' line numbers).
struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    code: String,
    lits: Vec<Lit>,
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    /// Blank one source char, keeping newlines so line numbers survive.
    fn blank(&mut self, c: char) {
        if c == '\n' {
            self.line += 1;
            self.code.push('\n');
        } else {
            self.code.push(' ');
        }
    }

    /// Blank the next char and step past it.
    fn blank_next(&mut self) {
        self.blank(self.chars[self.i]);
        self.i += 1;
    }

    /// Copy the next char of plain code.
    fn keep(&mut self) {
        let c = self.chars[self.i];
        if c == '\n' {
            self.line += 1;
        }
        self.code.push(c);
        self.i += 1;
    }

    /// A line comment (doc comments included) or a block comment, blanked.
    fn comment(&mut self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (Some('/'), Some('/')) => self.line_comment(),
            (Some('/'), Some('*')) => self.block_comment(),
            _ => return false,
        }
        true
    }

    fn line_comment(&mut self) {
        // The newline itself is left to the main loop.
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.code.push(' ');
            self.i += 1;
        }
    }

    /// Block comments nest, so count depth rather than stop at the first
    /// `*/`.
    fn block_comment(&mut self) {
        let mut depth = 0;
        while self.i < self.chars.len() {
            match (self.peek(0), self.peek(1)) {
                (Some('/'), Some('*')) => {
                    depth += 1;
                    self.code.push_str("  ");
                    self.i += 2;
                }
                (Some('*'), Some('/')) => {
                    depth -= 1;
                    self.code.push_str("  ");
                    self.i += 2;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.blank_next(),
            }
        }
    }

    /// String literals: `"…"`, `b"…"`, `c"…"`, `r#"…"#`, `br"…"`, `cr"…"`.
    /// The code keeps both quotes (so the tokenizer sees one `Str` token at
    /// `pos`); the contents go to `lits`.
    fn string_literal(&mut self) -> bool {
        // A prefix must start a token: the `b` or `r` ending an identifier
        // is not one.
        let at_token_start = self.i == 0 || !is_ident_char(self.chars[self.i - 1]);
        if !at_token_start {
            return false;
        }
        let Some((prefix, raw)) = string_start(&self.chars, self.i) else {
            return false;
        };
        self.code.extend(std::iter::repeat_n(' ', prefix));
        self.i += prefix;
        let line = self.line;
        let pos = self.code.len();
        self.code.push('"');
        self.i += 1;
        let text = match raw {
            Some(hashes) => self.raw_body(hashes),
            None => self.cooked_body(),
        };
        self.lits.push(Lit { pos, line, text });
        true
    }

    /// A raw string's body up to `"` and its hashes: no escapes.
    fn raw_body(&mut self, hashes: usize) -> String {
        let mut text = String::new();
        while let Some(ch) = self.peek(0) {
            if ch == '"' && (1..=hashes).all(|k| self.peek(k) == Some('#')) {
                self.code.push('"');
                self.code.extend(std::iter::repeat_n(' ', hashes));
                self.i += 1 + hashes;
                break;
            }
            text.push(ch);
            self.blank_next();
        }
        text
    }

    /// An ordinary string's body up to its closing `"`, escapes undone.
    fn cooked_body(&mut self) -> String {
        let mut text = String::new();
        while let Some(ch) = self.peek(0) {
            if ch == '"' {
                self.code.push('"');
                self.i += 1;
                break;
            }
            if ch == '\\' {
                self.escape(&mut text);
                continue;
            }
            text.push(ch);
            self.blank_next();
        }
        text
    }

    /// A backslash escape, blanked in the code and roughly undone in the
    /// text: close enough for the SQL heuristic, which only looks at words.
    fn escape(&mut self, text: &mut String) {
        self.blank_next();
        let Some(esc) = self.peek(0) else { return };
        self.blank_next();
        match esc {
            // A line continuation eats the newline and the indentation
            // after it.
            '\n' => {
                while self.peek(0).is_some_and(char::is_whitespace) {
                    self.blank_next();
                }
                text.push(' ');
            }
            'n' => text.push('\n'),
            't' | 'r' => text.push(' '),
            '"' | '\\' | '\'' => text.push(esc),
            other => {
                text.push('\\');
                text.push(other);
            }
        }
    }

    /// A char literal (`'x'`, `'\n'`, `'\u{1F600}'`, `'"'`) becomes `' '`;
    /// a lifetime (`'a`) is left to the main loop as code.
    fn char_literal(&mut self) -> bool {
        if self.peek(0) != Some('\'') {
            return false;
        }
        let (i, n) = (self.i, self.chars.len());
        let next = self.peek(1);
        let end = if next == Some('\\') {
            (i + 2..n).find(|&k| self.chars[k] == '\'' && k > i + 2)
        } else if self.peek(2) == Some('\'') && next != Some('\n') {
            Some(i + 2)
        } else {
            None
        };
        let Some(end) = end else { return false };
        self.code.push_str("' '");
        self.i = end + 1;
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Ident,
    Punct,
    /// A string literal: `pos` finds it in `Lexed::lits`.
    Str,
    Char,
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub(super) kind: Kind,
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) pos: usize,
}

impl Tok {
    pub(super) fn is(&self, s: &str) -> bool {
        self.kind != Kind::Str && self.text == s
    }
    pub(super) fn ident(&self) -> Option<&str> {
        (self.kind == Kind::Ident).then_some(self.text.as_str())
    }
}

/// Tokens of blanked code (the output of [`lex`]): idents, `::`, single
/// punctuation chars, and one token per literal.
pub(super) fn tokenize(code: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let (end, token) = token_at(&chars, i);
        if let Some((kind, text)) = token {
            let pos = chars[i].0;
            toks.push(Tok {
                kind,
                text,
                line,
                pos,
            });
        }
        // Only whitespace and (blanked) string literals span newlines.
        line += chars[i..end.min(chars.len())]
            .iter()
            .filter(|&&(_, c)| c == '\n')
            .count();
        i = end;
    }
    toks
}

/// The token starting at `chars[i]`, `None` for whitespace, and the index
/// just past it.
fn token_at(chars: &[(usize, char)], i: usize) -> (usize, Option<(Kind, String)>) {
    let at = |k: usize| chars.get(i + k).map(|&(_, c)| c);
    let c = chars[i].1;
    let run_end = |from: usize, stop: &dyn Fn(char) -> bool| {
        (from..chars.len())
            .find(|&j| stop(chars[j].1))
            .unwrap_or(chars.len())
    };
    if c.is_whitespace() {
        (i + 1, None)
    } else if c == '"' {
        // Contents are blanked: the next quote closes it.
        let close = run_end(i + 1, &|c| c == '"');
        (close + 1, Some((Kind::Str, String::new())))
    } else if c == '\'' && at(1) == Some(' ') && at(2) == Some('\'') {
        (i + 3, Some((Kind::Char, String::new())))
    } else if is_ident_char(c) {
        let end = run_end(i, &|c| !is_ident_char(c));
        let text = chars[i..end].iter().map(|&(_, c)| c).collect();
        (end, Some((Kind::Ident, text)))
    } else if c == ':' && at(1) == Some(':') {
        (i + 2, Some((Kind::Punct, "::".into())))
    } else {
        (i + 1, Some((Kind::Punct, c.to_string())))
    }
}

/// For every opening bracket token, the index of its closing one.
pub(super) fn matching(toks: &[Tok]) -> Vec<Option<usize>> {
    let mut close = vec![None; toks.len()];
    let mut stack = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.is("{") || t.is("(") || t.is("[") {
            stack.push(i);
        } else if t.is("}") || t.is(")") || t.is("]") {
            if let Some(open) = stack.pop() {
                close[open] = Some(i);
            }
        }
    }
    close
}

/// The last token of the item (or statement) starting at `k`: its `;`, or
/// the `}` closing its body. `use`, `const`, `static`, `let` and `type`
/// items run to their `;` whatever braces they contain.
pub(super) fn item_end(toks: &[Tok], close: &[Option<usize>], k: usize) -> usize {
    let mut to_semicolon = false;
    let mut j = k;
    while j < toks.len() {
        let t = &toks[j];
        if matches!(t.ident(), Some("use" | "const" | "static" | "let" | "type")) {
            to_semicolon = true;
        }
        if t.is(";") {
            return j;
        }
        if t.is("}") || t.is(")") || t.is("]") {
            // The enclosing block ends: so does the item (a tail expression).
            return j.saturating_sub(1).max(k);
        }
        if t.is("{") || t.is("(") || t.is("[") {
            let Some(end) = close[j] else {
                return toks.len() - 1;
            };
            if t.is("{") && !to_semicolon {
                return end;
            }
            j = end + 1;
            continue;
        }
        j += 1;
    }
    toks.len().saturating_sub(1)
}

/// Is the attribute in `toks[open..=close]` (`[` … `]`) a `cfg(test)`?
/// `cfg(test)` and `cfg(all(test, …))`; never `cfg(not(test))`.
pub(super) fn is_cfg_test(toks: &[Tok]) -> bool {
    let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    matches!(words.as_slice(), ["[", "cfg", "(", "test", ")", "]"])
        || words.starts_with(&["[", "cfg", "(", "all", "(", "test"])
}
