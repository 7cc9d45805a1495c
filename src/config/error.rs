//! [`ConfigError`]: `file:line:col: message`, always one line. Sections
//! report problems against byte spans of the text; [`Source`] turns those
//! into positions, and rewords toml's own errors to name the key at fault.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A configuration error: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub pos: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages quote what the user wrote (escaped when they are made,
        // and again here for any made elsewhere): always one line.
        let message = one_line(&self.message);
        match self.pos {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {message}", self.path.display()),
            None => write!(f, "{}: {message}", self.path.display()),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A bad chains.toml is a configuration error (exit 2); the message already
/// names the file and position.
impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e.to_string())
    }
}

/// The text being parsed and the file it came from (the path only appears
/// in messages).
pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Source<'_> {
    /// An error at the value whose bytes are `span`.
    pub(super) fn at(&self, span: Range<usize>, message: impl AsRef<str>) -> ConfigError {
        self.error(Some(span), message.as_ref())
    }

    fn error(&self, span: Option<Range<usize>>, message: &str) -> ConfigError {
        ConfigError {
            path: self.path.to_path_buf(),
            pos: span.map(|s| line_col(self.text, s.start)),
            message: one_line(message),
        }
    }

    /// toml's error, reworded where toml's own words would leave the user
    /// guessing which key is wrong.
    pub(super) fn toml(&self, e: &toml::de::Error) -> ConfigError {
        let text = self.text;
        let mut message = e.message().trim().replace('\n', " ");
        // toml says only "duplicate key"; name it.
        if let Some(key) = e.span().and_then(|s| text.get(s)) {
            if message == "duplicate key" && !key.is_empty() && key.len() < 80 {
                message = format!("duplicate key `{}`", key.trim_matches('"'));
            }
        }
        // Type errors name no key ("invalid type: string, expected
        // f64"); name the key the value belongs to.
        // serde's untagged-enum failure names our type, not the key.
        if message.contains("untagged enum") {
            let key = e.span().and_then(|s| key_before(text, s.start));
            message = match key {
                Some(k) => format!("`{k}`: expected one value or a list of values"),
                None => "expected one value or a list of values".to_string(),
            };
        }
        if message.starts_with("invalid ") {
            if let Some(key) = e.span().and_then(|s| key_before(text, s.start)) {
                message = format!("`{key}`: {message}");
            }
        }
        self.error(e.span(), &message)
    }
}

/// The key whose value starts at `offset`, read back from the text: the
/// last bare word before the `=` that precedes the value on its line.
fn key_before(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..floor_char_boundary(text, offset))?;
    let line = before.rsplit('\n').next()?;
    let line = line.trim_end().strip_suffix('=')?.trim_end();
    let key: String = line
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!key.is_empty()).then_some(key)
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Control characters shown escaped (`\n`, `\r`, `\u{1b}`), so a message
/// stays one line whatever it quotes.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}
