//! The layering test: the rules of ARCHITECTURE.md, checked against the
//! source under `src/` with nothing but std (no syn, no cargo-modules).
//!
//! A small lexer blanks comments and the insides of string and char
//! literals (keeping line breaks, so line numbers survive), marks the code
//! under `#[cfg(test)]` (attributed items, test modules inline or in their own
//! file), and then reads three things from what is left:
//!
//! - crate-internal paths: `use crate::…` trees (grouped, nested, `self`,
//!   `as`, globs), `crate::a::b` in expressions, and `self::`/`super::`
//!   resolved against the module the code sits in (file path plus inline
//!   `mod x { … }` blocks);
//! - string literals, for SQL;
//! - `X::now` tokens, for the clock.
//!
//! Test code is exempt from every rule: tests may build fixtures any way they
//! like. The rules are about the program that ships.
//!
//! Run: `cargo test --locked --lib architecture`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::fs;
use std::path::Path;

// ---------------------------------------------------------------------------
// The placement table and the rules
// ---------------------------------------------------------------------------

/// Layers, bottom up. A module may import its own layer and the layers below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// model, text, error: domain types and helpers everyone shares.
    Base,
    /// chains.toml → validated Config.
    Config,
    /// Pure schedule and SLA math.
    Engine,
    /// store (the only SQL) and notify (transports only): siblings.
    Io,
    /// lifecycle (every state transition) and delivery (the outbox worker).
    Lifecycle,
    /// Everything a user reads: tables, markdown, Slack text.
    Render,
    /// commands and cli: parse, load, call, print.
    App,
}

/// Every top-level module of the crate and its layer. A new top-level module
/// fails the test until it has a row here (and a line in ARCHITECTURE.md).
const PLACEMENT: &[(&str, Layer)] = &[
    ("model", Layer::Base),
    ("text", Layer::Base),
    ("error", Layer::Base),
    ("config", Layer::Config),
    ("engine", Layer::Engine),
    ("store", Layer::Io),
    ("notify", Layer::Io),
    ("lifecycle", Layer::Lifecycle),
    ("delivery", Layer::Lifecycle),
    ("render", Layer::Render),
    // Moving under src/render/; rendering either way.
    ("digest", Layer::Render),
    ("report", Layer::Render),
    ("commands", Layer::App),
    // clap structs; commands read them (commands → cli), cli reads only
    // error's exit-code table.
    ("cli", Layer::App),
    // This file: entirely #[cfg(test)], so no rule ever sees its fixtures.
    ("architecture", Layer::App),
];

/// Imports between modules of the same layer that are forbidden (any other
/// same-layer import is allowed, as long as it makes no cycle).
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "store",
        "notify",
        "store and notify are siblings: SQL never sends a message",
    ),
    (
        "notify",
        "store",
        "store and notify are siblings: transports never touch the database",
    ),
    (
        "lifecycle",
        "delivery",
        "delivery records outcomes through lifecycle, never the other way round",
    ),
];

/// Clock reads: `<type>::now`.
const CLOCKS: &[&str] = &["Utc", "Local", "SystemTime", "Instant"];

/// Clock reads allowed outside `src/commands/` and `main.rs`: only
/// `Instant::now`, only to measure a duration (a timeout, a lease), never to
/// learn what time it is. One entry per file, each with its reason.
const CLOCK_ALLOWED: &[(&str, &str, &str)] = &[(
    "src/delivery/mod.rs",
    "Instant",
    "the lease: a pass adds the real time it has taken to the (possibly \
     simulated) `now` so a slow pass does not outlive its claim; a duration, \
     not a timestamp",
)];

/// Files that write events: calls to these paths (or imports of them).
const EVENT_WRITERS: &[&[&str]] = &[
    &["events", "append"],
    &["lifecycle", "record"],
    &["outcome", "record"],
];

fn layer_of(module: &str) -> Option<Layer> {
    PLACEMENT
        .iter()
        .find(|(name, _)| *name == module)
        .map(|&(_, layer)| layer)
}

// ---------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------

/// A string literal's text (escapes roughly undone), where it starts in the
/// blanked code, and its first line.
#[derive(Debug, Clone)]
struct Lit {
    pos: usize,
    line: usize,
    text: String,
}

/// The source with comments blanked and literals reduced to `"   "` / `' '`
/// (newlines kept), plus the string literals themselves.
struct Lexed {
    code: String,
    lits: Vec<Lit>,
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

fn lex(src: &str) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    let mut code = String::with_capacity(src.len());
    let mut lits = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Blank one source char, keeping newlines.
    let blank = |c: char, code: &mut String, line: &mut usize| {
        if c == '\n' {
            *line += 1;
            code.push('\n');
        } else {
            code.push(' ');
        }
    };
    while i < n {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Line comment (doc comments included).
        if c == '/' && next == Some('/') {
            while i < n && chars[i] != '\n' {
                code.push(' ');
                i += 1;
            }
            continue;
        }
        // Block comment; they nest.
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < n {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    code.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    code.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(chars[i], &mut code, &mut line);
                    i += 1;
                }
            }
            continue;
        }
        // String literals: "…", b"…", c"…", r#"…"#, br"…", cr"…".
        let at_token_start = i == 0 || !is_ident_char(chars[i - 1]);
        if at_token_start {
            if let Some((prefix, raw)) = string_start(&chars, i) {
                for _ in 0..prefix {
                    code.push(' ');
                }
                i += prefix;
                let start_line = line;
                let pos = code.len();
                code.push('"');
                i += 1;
                let mut text = String::new();
                while let Some(&ch) = chars.get(i) {
                    match raw {
                        Some(hashes) => {
                            if ch == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                                code.push('"');
                                for _ in 0..hashes {
                                    code.push(' ');
                                }
                                i += 1 + hashes;
                                break;
                            }
                        }
                        None => {
                            if ch == '"' {
                                code.push('"');
                                i += 1;
                                break;
                            }
                            if ch == '\\' {
                                let esc = chars.get(i + 1).copied();
                                blank(ch, &mut code, &mut line);
                                i += 1;
                                let Some(esc) = esc else { break };
                                blank(esc, &mut code, &mut line);
                                i += 1;
                                match esc {
                                    // A line continuation eats the newline and
                                    // the indentation after it.
                                    '\n' => {
                                        while let Some(&w) = chars.get(i) {
                                            if !w.is_whitespace() {
                                                break;
                                            }
                                            blank(w, &mut code, &mut line);
                                            i += 1;
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
                                continue;
                            }
                        }
                    }
                    text.push(ch);
                    blank(ch, &mut code, &mut line);
                    i += 1;
                }
                lits.push(Lit {
                    pos,
                    line: start_line,
                    text,
                });
                continue;
            }
        }
        // Char literal ('x', '\n', '\u{1F600}', '"') or a lifetime ('a).
        if c == '\'' {
            let end = if next == Some('\\') {
                (i + 2..n).find(|&k| chars[k] == '\'' && k > i + 2)
            } else if chars.get(i + 2) == Some(&'\'') && next != Some('\n') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                code.push_str("' '");
                i = end + 1;
                continue;
            }
        }
        if c == '\n' {
            line += 1;
        }
        code.push(c);
        i += 1;
    }
    Lexed { code, lits }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident,
    Punct,
    /// A string literal: `pos` finds it in `Lexed::lits`.
    Str,
    Char,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    text: String,
    line: usize,
    pos: usize,
}

impl Tok {
    fn is(&self, s: &str) -> bool {
        self.kind != Kind::Str && self.text == s
    }
    fn ident(&self) -> Option<&str> {
        (self.kind == Kind::Ident).then_some(self.text.as_str())
    }
}

fn tokenize(code: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            // Contents are blanked: the next quote closes it.
            let start_line = line;
            let mut j = i + 1;
            while j < chars.len() && chars[j].1 != '"' {
                if chars[j].1 == '\n' {
                    line += 1;
                }
                j += 1;
            }
            toks.push(Tok {
                kind: Kind::Str,
                text: String::new(),
                line: start_line,
                pos,
            });
            i = j + 1;
        } else if c == '\''
            && chars.get(i + 1).map(|x| x.1) == Some(' ')
            && chars.get(i + 2).map(|x| x.1) == Some('\'')
        {
            toks.push(Tok {
                kind: Kind::Char,
                text: String::new(),
                line,
                pos,
            });
            i += 3;
        } else if is_ident_char(c) {
            let mut j = i;
            while j < chars.len() && is_ident_char(chars[j].1) {
                j += 1;
            }
            let text: String = chars[i..j].iter().map(|x| x.1).collect();
            toks.push(Tok {
                kind: Kind::Ident,
                text,
                line,
                pos,
            });
            i = j;
        } else if c == ':' && chars.get(i + 1).map(|x| x.1) == Some(':') {
            toks.push(Tok {
                kind: Kind::Punct,
                text: "::".into(),
                line,
                pos,
            });
            i += 2;
        } else {
            toks.push(Tok {
                kind: Kind::Punct,
                text: c.to_string(),
                line,
                pos,
            });
            i += 1;
        }
    }
    toks
}

/// For every opening bracket token, the index of its closing one.
fn matching(toks: &[Tok]) -> Vec<Option<usize>> {
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
fn item_end(toks: &[Tok], close: &[Option<usize>], k: usize) -> usize {
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
fn is_cfg_test(toks: &[Tok]) -> bool {
    let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    matches!(words.as_slice(), ["[", "cfg", "(", "test", ")", "]"])
        || words.starts_with(&["[", "cfg", "(", "all", "(", "test"])
}

// ---------------------------------------------------------------------------
// Scanning one file
// ---------------------------------------------------------------------------

/// A crate-internal path, resolved to be crate-relative (`[]` = the root).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    path: Vec<String>,
    line: usize,
    test: bool,
}

struct FileScan {
    /// `src/store/mod.rs`
    rel: String,
    /// `["store"]`; `[]` for lib.rs; `None` for binaries (main.rs, src/bin).
    module: Option<Vec<String>>,
    /// The whole file is test code.
    test_file: bool,
    toks: Vec<Tok>,
    /// Per token: under `#[cfg(test)]`.
    test: Vec<bool>,
    lits: Vec<(Lit, bool)>,
    imports: Vec<Import>,
    /// `mod x;` declarations: (name, under cfg(test)).
    children: Vec<(String, bool)>,
}

impl FileScan {
    fn top(&self) -> Option<&str> {
        self.module.as_ref()?.first().map(String::as_str)
    }
}

/// The module a file defines, from its path under `src/`.
fn module_of(rel: &str) -> Option<Vec<String>> {
    let inner = rel.strip_prefix("src/")?.strip_suffix(".rs")?;
    if inner == "main" || inner.starts_with("bin/") {
        return None;
    }
    if inner == "lib" {
        return Some(Vec::new());
    }
    let mut parts: Vec<String> = inner.split('/').map(String::from).collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    Some(parts)
}

/// Resolve `crate::`, `self::`, `super::` against `current`; `None` for
/// paths that start anywhere else (another crate, a name in scope).
fn resolve(current: &[String], path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut out = match first.as_str() {
        "crate" => path[1..].to_vec(),
        "self" => current.iter().chain(&path[1..]).cloned().collect(),
        "super" => {
            let mut base = current.to_vec();
            let mut i = 0;
            while path.get(i).map(String::as_str) == Some("super") {
                base.pop()?;
                i += 1;
            }
            base.extend_from_slice(&path[i..]);
            base
        }
        _ => return None,
    };
    // `a::{self}` names `a`; `a::*` is a glob of `a`.
    while matches!(out.last().map(String::as_str), Some("self" | "*")) {
        out.pop();
    }
    Some(out)
}

/// Parse one use tree at `*i`, appending every leaf path (unresolved).
fn use_tree(toks: &[Tok], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while let Some(t) = toks.get(*i) {
        if t.is("::") {
            *i += 1;
        } else if t.is("*") {
            *i += 1;
            path.push("*".into());
            out.push(path);
            return;
        } else if t.is("{") {
            *i += 1;
            while let Some(t) = toks.get(*i) {
                if t.is("}") {
                    *i += 1;
                    return;
                }
                if t.is(",") {
                    *i += 1;
                    continue;
                }
                let before = *i;
                use_tree(toks, i, &path, out);
                if *i == before {
                    return; // not a use tree: give up rather than loop
                }
            }
            return;
        } else if let Some(name) = t.ident() {
            path.push(name.to_string());
            *i += 1;
            if toks.get(*i).is_some_and(|t| t.is("::")) {
                continue;
            }
            if toks.get(*i).is_some_and(|t| t.is("as")) {
                *i += 2;
            }
            out.push(path);
            return;
        } else {
            return;
        }
    }
}

fn scan(rel: &str, src: &str) -> FileScan {
    let module = module_of(rel);
    let Lexed { code, lits } = lex(src);
    let toks = tokenize(&code);
    let close = matching(&toks);
    let mut test = vec![false; toks.len()];
    let mut test_until: Option<usize> = None;
    let mut pending_test = false;
    let mut file_test = false;
    // Inline modules: (index of their closing brace, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut imports = Vec::new();
    let mut children = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        while inline.last().is_some_and(|&(end, _)| end < i) {
            inline.pop();
        }
        let t = &toks[i];
        // Attributes: #[…] and #![…].
        if t.is("#") {
            let inner = toks.get(i + 1).is_some_and(|t| t.is("!"));
            let open = if inner { i + 2 } else { i + 1 };
            if toks.get(open).is_some_and(|t| t.is("[")) {
                if let Some(end) = close[open] {
                    if is_cfg_test(&toks[open..=end]) {
                        if !inner {
                            pending_test = true;
                        } else if inline.is_empty() {
                            file_test = true;
                        } else if let Some(&(block_end, _)) = inline.last() {
                            test_until = test_until.max(Some(block_end));
                        }
                    }
                    for flag in &mut test[i..=end] {
                        *flag = pending_test || file_test;
                    }
                    i = end + 1;
                    continue;
                }
            }
        }
        if pending_test {
            test_until = test_until.max(Some(item_end(&toks, &close, i)));
            pending_test = false;
        }
        let in_test = file_test || test_until.is_some_and(|end| i <= end);
        test[i] = in_test;
        let current: Vec<String> = module
            .iter()
            .flatten()
            .cloned()
            .chain(inline.iter().map(|(_, name)| name.clone()))
            .collect();
        // mod x { … } and mod x;
        if t.is("mod") {
            if let Some(name) = toks.get(i + 1).and_then(Tok::ident) {
                match toks.get(i + 2) {
                    Some(b) if b.is("{") => {
                        if let Some(end) = close[i + 2] {
                            inline.push((end, name.to_string()));
                        }
                    }
                    Some(s) if s.is(";") && inline.is_empty() => {
                        children.push((name.to_string(), in_test));
                    }
                    _ => {}
                }
            }
        }
        // use trees
        if t.is("use") && module.is_some() {
            let mut j = i + 1;
            let mut leaves = Vec::new();
            use_tree(&toks, &mut j, &[], &mut leaves);
            for leaf in leaves {
                if let Some(path) = resolve(&current, &leaf) {
                    imports.push(Import {
                        path,
                        line: t.line,
                        test: in_test,
                    });
                }
            }
            if j > i + 1 {
                for flag in &mut test[i + 1..j.min(toks.len())] {
                    *flag = in_test;
                }
                i = j;
                continue;
            }
        }
        // Paths in expressions, types, patterns: crate::a::b, super::x, self::y.
        if matches!(t.ident(), Some("crate" | "super" | "self"))
            && toks.get(i + 1).is_some_and(|n| n.is("::"))
            && module.is_some()
        {
            let mut path = vec![t.text.clone()];
            let mut j = i + 1;
            while toks.get(j).is_some_and(|n| n.is("::")) {
                match toks.get(j + 1).and_then(Tok::ident) {
                    Some(name) => path.push(name.to_string()),
                    None => break,
                }
                j += 2;
            }
            if let Some(path) = resolve(&current, &path) {
                imports.push(Import {
                    path,
                    line: t.line,
                    test: in_test,
                });
            }
            for flag in &mut test[i..j.min(toks.len())] {
                *flag = in_test;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    let lits = lits
        .into_iter()
        .map(|lit| {
            let in_test = file_test
                || toks
                    .iter()
                    .position(|t| t.kind == Kind::Str && t.pos == lit.pos)
                    .is_some_and(|k| test[k]);
            (lit, in_test)
        })
        .collect();
    FileScan {
        rel: rel.to_string(),
        module,
        test_file: file_test,
        toks,
        test,
        lits,
        imports,
        children,
    }
}

/// Files declared `#[cfg(test)] mod x;` (and everything below them) are test
/// code.
fn propagate_test_files(files: &mut [FileScan]) {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| files[i].module.as_ref().map_or(0, Vec::len));
    for &i in &order {
        let Some(module) = files[i].module.clone() else {
            continue;
        };
        let Some((name, parent)) = module.split_last() else {
            continue;
        };
        let declared_test = files.iter().any(|f| {
            f.module.as_deref() == Some(parent)
                && (f.test_file || f.children.iter().any(|(c, t)| c == name && *t))
        });
        if declared_test {
            let f = &mut files[i];
            f.test_file = true;
            f.test.iter_mut().for_each(|t| *t = true);
            f.lits.iter_mut().for_each(|(_, t)| *t = true);
            f.imports.iter_mut().for_each(|imp| imp.test = true);
        }
    }
}

// ---------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    rule: &'static str,
    message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}",
            self.file, self.line, self.rule, self.message
        )
    }
}

fn report(title: &str, violations: &[Violation]) -> String {
    let mut s = format!(
        "{title}: {} violation(s) (rules and how to fix: ARCHITECTURE.md)\n",
        violations.len()
    );
    for v in violations {
        s.push_str(&format!("  {v}\n"));
    }
    s
}

/// Top-level modules present on disk: `src/x.rs` and `src/x/`.
fn disk_modules(files: &[FileScan]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| f.top().map(String::from))
        .collect()
}

/// The dependency edges between top-level modules (non-test code), with the
/// first place each is seen.
fn edges(
    files: &[FileScan],
    known: &BTreeSet<String>,
) -> BTreeMap<(String, String), (String, usize)> {
    let mut out = BTreeMap::new();
    for f in files {
        let Some(from) = f.top() else { continue };
        for imp in f.imports.iter().filter(|i| !i.test) {
            let Some(to) = imp.path.first().filter(|m| known.contains(*m)) else {
                continue;
            };
            if to != from {
                out.entry((from.to_string(), to.clone()))
                    .or_insert_with(|| (f.rel.clone(), imp.line));
            }
        }
    }
    out
}

/// Rule 1: placement, no upward imports, no forbidden sibling imports, no
/// cycles.
fn check_layers(files: &[FileScan]) -> Vec<Violation> {
    let known = disk_modules(files);
    let mut out = Vec::new();
    for m in &known {
        if layer_of(m).is_none() {
            let f = files
                .iter()
                .find(|f| f.top() == Some(m.as_str()))
                .expect("on disk");
            out.push(Violation {
                file: f.rel.clone(),
                line: 1,
                rule: "placement",
                message: format!(
                    "top-level module `{m}` is not in the placement table (src/architecture.rs \
                     PLACEMENT): give it a layer"
                ),
            });
        }
    }
    for f in files {
        let Some(from) = f.top() else { continue };
        let from_layer = layer_of(from);
        for imp in f.imports.iter().filter(|i| !i.test) {
            let Some(to) = imp.path.first() else {
                out.push(Violation {
                    file: f.rel.clone(),
                    line: imp.line,
                    rule: "layer",
                    message: format!("`{from}` imports the crate root (`crate::*`): import from the owning module"),
                });
                continue;
            };
            if to == from {
                continue;
            }
            if !known.contains(to) {
                // An item of lib.rs (a re-export like `crate::run`).
                out.push(Violation {
                    file: f.rel.clone(),
                    line: imp.line,
                    rule: "layer",
                    message: format!(
                        "`{from}` imports `crate::{}`, an item of the crate root: import it from the \
                         module that owns it",
                        imp.path.join("::")
                    ),
                });
                continue;
            }
            let (Some(fl), Some(tl)) = (from_layer, layer_of(to)) else {
                continue; // reported as placement
            };
            if tl > fl {
                out.push(Violation {
                    file: f.rel.clone(),
                    line: imp.line,
                    rule: "layer",
                    message: format!(
                        "`{from}` ({fl:?}) imports `crate::{}` from `{to}` ({tl:?}), a higher layer",
                        imp.path.join("::")
                    ),
                });
            }
            if let Some((_, _, why)) = FORBIDDEN
                .iter()
                .find(|(a, b, _)| *a == from && *b == to.as_str())
            {
                out.push(Violation {
                    file: f.rel.clone(),
                    line: imp.line,
                    rule: "sibling",
                    message: format!("`{from}` imports `crate::{}`: {why}", imp.path.join("::")),
                });
            }
        }
    }
    for cycle in cycles(&edges(files, &known)) {
        let (names, (file, line)) = cycle;
        out.push(Violation {
            file,
            line,
            rule: "cycle",
            message: format!("import cycle between top-level modules: {names}"),
        });
    }
    out.sort();
    out.dedup();
    out
}

/// Every elementary cycle through an edge, once per set of modules: a
/// readable path `a -> b -> a (a: file:line, b: file:line)` and where its
/// first edge is.
fn cycles(edges: &BTreeMap<(String, String), (String, usize)>) -> Vec<(String, (String, usize))> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a.as_str()).or_default().push(b.as_str());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for ((a, b), at) in edges {
        // Shortest path b → … → a closes the cycle a → b → … → a.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([b.as_str()]);
        let mut found = b == a;
        while let Some(n) = queue.pop_front() {
            if n == a {
                found = true;
                break;
            }
            for &m in adj.get(n).into_iter().flatten() {
                if m != b && !prev.contains_key(m) {
                    prev.insert(m, n);
                    queue.push_back(m);
                }
            }
        }
        if !found {
            continue;
        }
        let mut path = vec![a.as_str()];
        let mut n = a.as_str();
        while n != b {
            n = prev[n];
            path.push(n);
        }
        path.push(a.as_str());
        path.reverse(); // a -> b -> … -> a
        path.pop();
        // path: [a, b, …]; normalize on the set of modules
        let key: BTreeSet<&str> = path.iter().copied().collect();
        if !seen.insert(key) {
            continue;
        }
        let mut hops = Vec::new();
        for (k, from) in path.iter().enumerate() {
            let to = path[(k + 1) % path.len()];
            let (file, line) = &edges[&(from.to_string(), to.to_string())];
            hops.push(format!("{from} -> {to} at {file}:{line}"));
        }
        let names = path
            .iter()
            .chain([&a.as_str()])
            .copied()
            .collect::<Vec<_>>()
            .join(" -> ");
        out.push((format!("{names} ({})", hops.join("; ")), at.clone()));
    }
    out
}

/// Does a string literal look like SQL? The statement keyword that matched.
///
/// Upper case (SQL's convention here): `SELECT `, `INSERT INTO`, `INSERT OR`,
/// `UPDATE <name> SET`, `DELETE FROM`, `CREATE [UNIQUE] TABLE|INDEX|VIEW|
/// TRIGGER`, `DROP TABLE|INDEX`, `ALTER TABLE`, `PRAGMA `. Any case for the
/// unambiguous multi-word ones (`insert into`, `delete from`,
/// `create table`, `alter table`, `drop table`). Whitespace (newlines, line
/// continuations) counts as one space.
fn sql_keyword(text: &str) -> Option<&'static str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm = words.join(" ");
    let lower = norm.to_lowercase();
    const UPPER: &[&str] = &[
        "SELECT ",
        "INSERT INTO ",
        "INSERT OR ",
        "DELETE FROM ",
        "CREATE TABLE ",
        "CREATE INDEX ",
        "CREATE UNIQUE INDEX ",
        "CREATE VIEW ",
        "CREATE TRIGGER ",
        "DROP TABLE ",
        "DROP INDEX ",
        "ALTER TABLE ",
        "PRAGMA ",
    ];
    const ANY_CASE: &[&str] = &[
        "insert into ",
        "delete from ",
        "create table ",
        "alter table ",
        "drop table ",
    ];
    let padded = format!("{norm} ");
    if let Some(k) = UPPER.iter().find(|k| padded.contains(*k)) {
        return Some(k.trim_end());
    }
    if let Some(k) = ANY_CASE.iter().find(|k| format!("{lower} ").contains(*k)) {
        return Some(k.trim_end());
    }
    let update_set = words.windows(3).any(|w| w[0] == "UPDATE" && w[2] == "SET");
    update_set.then_some("UPDATE … SET")
}

/// Rule 2: SQL only under src/store/.
fn check_sql(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.rel.starts_with("src/store/") && !f.test_file)
    {
        for (lit, test) in &f.lits {
            if *test {
                continue;
            }
            if let Some(k) = sql_keyword(&lit.text) {
                out.push(Violation {
                    file: f.rel.clone(),
                    line: lit.line,
                    rule: "sql",
                    message: format!(
                        "string literal looks like SQL (`{k}`): SQL belongs in src/store/ behind a typed function"
                    ),
                });
            }
        }
    }
    out
}

/// Rule 3: the clock is read in src/commands/ (and main.rs) only.
fn check_clock(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.test_file && !f.rel.starts_with("src/commands/") && f.module.is_some())
    {
        for (k, w) in f.toks.windows(3).enumerate() {
            if f.test[k] || !(w[1].is("::") && w[2].is("now")) {
                continue;
            }
            let Some(clock) = w[0].ident().filter(|c| CLOCKS.contains(c)) else {
                continue;
            };
            if CLOCK_ALLOWED
                .iter()
                .any(|(file, c, _)| *file == f.rel && *c == clock)
            {
                continue;
            }
            out.push(Violation {
                file: f.rel.clone(),
                line: w[0].line,
                rule: "clock",
                message: format!(
                    "`{clock}::now` outside src/commands/: take `now` as a parameter (an `Instant` for a \
                     timeout needs an entry with its reason in CLOCK_ALLOWED)"
                ),
            });
        }
    }
    out
}

/// Rule 4: no `json!` in a file that writes events (event details are typed
/// in model; the store serializes them).
fn check_json_events(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in &files
        .iter()
        .filter(|f| {
            !f.test_file && !f.rel.starts_with("src/model/") && !f.rel.starts_with("src/store/")
        })
        .collect::<Vec<_>>()
    {
        let live = |k: usize| !f.test[k];
        let calls = f.toks.windows(3).enumerate().find(|(k, w)| {
            live(*k)
                && w[1].is("::")
                && EVENT_WRITERS.iter().any(|p| w[0].is(p[0]) && w[2].is(p[1]))
        });
        let imports = f.imports.iter().find(|i| {
            !i.test
                && EVENT_WRITERS
                    .iter()
                    .any(|p| i.path.ends_with(&[p[0].to_string(), p[1].to_string()]))
        });
        let writes = calls
            .map(|(_, w)| (format!("{}::{}", w[0].text, w[2].text), w[0].line))
            .or_else(|| imports.map(|i| (i.path.join("::"), i.line)));
        let Some((how, at)) = writes else { continue };
        for (k, w) in f.toks.windows(2).enumerate() {
            if live(k) && w[0].is("json") && w[1].is("!") {
                out.push(Violation {
                    file: f.rel.clone(),
                    line: w[0].line,
                    rule: "json-event",
                    message: format!(
                        "`json!` in a file that writes events (`{how}` at line {at}): give the event typed \
                         details in model"
                    ),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The real tree
// ---------------------------------------------------------------------------

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn tree() -> Vec<FileScan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    walk(&root.join("src"), &mut paths);
    let mut files: Vec<FileScan> = paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            let src = fs::read_to_string(p).unwrap_or_else(|e| panic!("read {rel}: {e}"));
            scan(&rel, &src)
        })
        .collect();
    propagate_test_files(&mut files);
    files
}

#[test]
fn architecture_extractor_sees_the_real_tree() {
    let files = tree();
    let imports: usize = files
        .iter()
        .map(|f| f.imports.iter().filter(|i| !i.test).count())
        .sum();
    assert!(
        imports > 100,
        "only {imports} crate-internal imports found: the extractor is broken"
    );
    let known = disk_modules(&files);
    let edges = edges(&files, &known);
    for (a, b) in [
        ("delivery", "lifecycle"),
        ("delivery", "notify"),
        ("lifecycle", "store"),
        ("engine", "config"),
        ("commands", "config"),
    ] {
        assert!(
            edges.contains_key(&(a.to_string(), b.to_string())),
            "expected an import {a} -> {b}; found edges: {:?}",
            edges.keys().collect::<Vec<_>>()
        );
    }
    // This file is test code through lib.rs's #[cfg(test)] mod architecture;
    // its fixtures must never count.
    let me = files
        .iter()
        .find(|f| f.rel == "src/architecture.rs")
        .expect("this file");
    assert!(
        me.test_file,
        "src/architecture.rs must be declared #[cfg(test)] in lib.rs"
    );
    // And a known test module in its own file.
    let engine_tests = files.iter().find(|f| f.rel == "src/engine/tests.rs");
    assert!(
        engine_tests.is_none_or(|f| f.test_file),
        "src/engine/tests.rs is #[cfg(test)]"
    );
    assert!(
        files.iter().any(|f| f
            .lits
            .iter()
            .any(|(l, t)| !t && sql_keyword(&l.text).is_some())),
        "no SQL literal found anywhere: the literal scanner is broken"
    );
}

#[test]
fn architecture_layers() {
    let v = check_layers(&tree());
    assert!(v.is_empty(), "{}", report("layering", &v));
}

#[test]
fn architecture_only_store_has_sql() {
    let v = check_sql(&tree());
    assert!(v.is_empty(), "{}", report("SQL outside src/store/", &v));
}

#[test]
fn architecture_only_commands_read_the_clock() {
    for (file, clock, why) in CLOCK_ALLOWED {
        assert_eq!(
            *clock, "Instant",
            "{file}: only Instant::now may be allowed (for timeouts)"
        );
        assert!(
            why.len() > 20,
            "{file}: an allowed clock read needs its reason"
        );
    }
    let files = tree();
    // An allow-list entry that allows nothing is stale.
    for (file, clock, _) in CLOCK_ALLOWED {
        let used = files.iter().any(|f| {
            f.rel == *file
                && f.toks
                    .windows(3)
                    .enumerate()
                    .any(|(k, w)| !f.test[k] && w[0].is(clock) && w[1].is("::") && w[2].is("now"))
        });
        assert!(
            used,
            "CLOCK_ALLOWED: {file} no longer reads {clock}::now; remove the entry"
        );
    }
    let v = check_clock(&files);
    assert!(
        v.is_empty(),
        "{}",
        report("clock reads outside src/commands/", &v)
    );
}

#[test]
fn architecture_no_json_event_literals() {
    let v = check_json_events(&tree());
    assert!(v.is_empty(), "{}", report("json! beside event writes", &v));
}

// ---------------------------------------------------------------------------
// The extractor's own tests
// ---------------------------------------------------------------------------

mod extractor {
    use super::*;

    fn paths(rel: &str, src: &str) -> Vec<String> {
        scan(rel, src)
            .imports
            .iter()
            .map(|i| i.path.join("::"))
            .collect()
    }

    fn live(rel: &str, src: &str) -> Vec<String> {
        scan(rel, src)
            .imports
            .iter()
            .filter(|i| !i.test)
            .map(|i| i.path.join("::"))
            .collect()
    }

    #[test]
    fn architecture_grouped_and_nested_use() {
        let src = "use crate::{model, text::one_line, store::{self, events::{append as add, Event}, issues}};\n\
                   pub(crate) use crate::engine::sla::*;";
        assert_eq!(
            paths("src/lifecycle/mod.rs", src),
            [
                "model",
                "text::one_line",
                "store",
                "store::events::append",
                "store::events::Event",
                "store::issues",
                "engine::sla",
            ]
        );
    }

    #[test]
    fn architecture_multiline_use_and_line_numbers() {
        let src = "//! doc\n\nuse crate::store::{\n    events,\n    issues,\n};\nfn f() {\n    crate::model::time::rfc3339(x);\n}\n";
        let s = scan("src/lifecycle/act.rs", src);
        let got: Vec<(String, usize)> = s
            .imports
            .iter()
            .map(|i| (i.path.join("::"), i.line))
            .collect();
        assert_eq!(
            got,
            [
                ("store::events".to_string(), 3),
                ("store::issues".to_string(), 3),
                ("model::time::rfc3339".to_string(), 8)
            ]
        );
    }

    #[test]
    fn architecture_super_and_self_resolve_to_their_module() {
        // A file module: super is the parent directory's module.
        assert_eq!(
            paths("src/store/events.rs", "use super::{ms, SqlContext};"),
            ["store::ms", "store::SqlContext"]
        );
        assert_eq!(
            paths("src/notify/tracker/jira.rs", "use super::super::http;"),
            ["notify::http"]
        );
        // A top-level file: super is the crate root.
        assert_eq!(
            paths("src/engine.rs", "use super::config::Chain;"),
            ["config::Chain"]
        );
        assert_eq!(
            paths("src/engine/mod.rs", "fn f() { super::model::x(); }"),
            ["model::x"]
        );
        // self
        assert_eq!(
            paths("src/notify/mod.rs", "use self::slack::send;"),
            ["notify::slack::send"]
        );
        // Inline modules shift super.
        let src = "mod inner {\n    use super::Ts;\n    mod deeper { use super::super::super::text::f; }\n}\nuse super::model;";
        assert_eq!(
            paths("src/engine/sla.rs", src),
            ["engine::sla::Ts", "engine::text::f", "engine::model"]
        );
        // Past the root: not a path.
        assert!(paths("src/lib.rs", "use super::x;").is_empty());
    }

    #[test]
    fn architecture_comments_and_strings_are_not_code() {
        let src = r####"
            // use crate::commands::a;
            /// [`crate::commands::b`]
            /* crate::commands::c /* nested crate::cli::d */ still crate::cli::e */
            //! crate::commands::f
            let a = "use crate::commands::g; \" crate::cli::h";
            let b = r#"crate::commands::i "quoted" crate::cli::j"#;
            let c = b"crate::commands::k";
            let d = '"'; let e = '\''; let f = '{';
            fn g<'a>(x: &'a str) -> &'a str { crate::text::one_line(x) }
            let h = "\
                crate::commands::l";
            let i = br##"crate::cli::m"##;
            use std::fmt; use serde_json::json; use chrono::Utc;
        "####;
        assert_eq!(paths("src/report.rs", src), ["text::one_line"]);
        let s = scan("src/report.rs", src);
        let texts: Vec<&str> = s.lits.iter().map(|(l, _)| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "use crate::commands::g; \" crate::cli::h",
                "crate::commands::i \"quoted\" crate::cli::j",
                "crate::commands::k",
                " crate::commands::l",
                "crate::cli::m",
            ]
        );
    }

    #[test]
    fn architecture_cfg_test_code_is_marked() {
        let src = "use crate::model::Ts;\n\
                   #[cfg(test)]\nuse crate::commands::x;\n\
                   #[cfg(test)]\n#[allow(dead_code)]\nfn helper() { crate::cli::y(); }\n\
                   fn live() { crate::text::z(); }\n\
                   #[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::delivery::{a, b};\n    const Q: &str = \"SELECT 1\";\n}\n\
                   #[cfg(not(test))]\nfn shipped() { crate::config::w(); }\n\
                   #[cfg(test)]\nmod more_tests;\nmod real;\n";
        let s = scan("src/store/mod.rs", src);
        assert_eq!(
            live("src/store/mod.rs", src),
            ["model::Ts", "text::z", "config::w"]
        );
        let test: Vec<String> = s
            .imports
            .iter()
            .filter(|i| i.test)
            .map(|i| i.path.join("::"))
            .collect();
        assert_eq!(
            test,
            [
                "commands::x",
                "cli::y",
                "store",
                "delivery::a",
                "delivery::b"
            ]
        );
        assert_eq!(
            s.children,
            [
                ("more_tests".to_string(), true),
                ("real".to_string(), false)
            ]
        );
        assert!(s.lits.iter().all(|(_, t)| *t));
        // A whole file under #![cfg(test)]
        let s = scan("src/store/x.rs", "#![cfg(test)]\nuse crate::cli::a;\n");
        assert!(s.test_file && s.imports.iter().all(|i| i.test));
    }

    #[test]
    fn architecture_test_files_inherit_cfg_test() {
        let mut files = vec![
            scan("src/engine.rs", "#[cfg(test)]\nmod tests;\nmod sla;\n"),
            scan("src/engine/tests.rs", "use crate::commands::x;\n"),
            scan("src/engine/sla.rs", "use crate::commands::y;\n"),
            scan("src/commands/mod.rs", ""),
        ];
        propagate_test_files(&mut files);
        assert!(!files[0].test_file && files[1].test_file && !files[2].test_file);
        let v = check_layers(&files);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            (v[0].file.as_str(), v[0].rule),
            ("src/engine/sla.rs", "layer")
        );
    }

    #[test]
    fn architecture_rules_catch_each_kind_of_violation() {
        let files = vec![
            scan("src/model/mod.rs", "pub struct Ts;"),
            scan(
                "src/store/mod.rs",
                "use crate::notify::send;\nuse crate::model::Ts;",
            ),
            scan(
                "src/notify/mod.rs",
                "pub fn send() {}\nfn f() { crate::lifecycle::g(); }",
            ),
            scan("src/lifecycle/mod.rs", "use crate::delivery::h;"),
            scan("src/delivery/mod.rs", "use crate::lifecycle::g;"),
            scan("src/widgets.rs", "use crate::model::Ts;"),
            scan("src/config.rs", "use crate::run;"),
        ];
        let v: Vec<(String, usize, &str)> = check_layers(&files)
            .into_iter()
            .map(|v| (v.file, v.line, v.rule))
            .collect();
        assert_eq!(
            v,
            [
                ("src/config.rs".to_string(), 1, "layer"),
                ("src/delivery/mod.rs".to_string(), 1, "cycle"),
                ("src/lifecycle/mod.rs".to_string(), 1, "sibling"),
                ("src/notify/mod.rs".to_string(), 2, "layer"),
                ("src/store/mod.rs".to_string(), 1, "sibling"),
                ("src/widgets.rs".to_string(), 1, "placement"),
            ]
        );
        let cycle = check_layers(&files)
            .into_iter()
            .find(|v| v.rule == "cycle")
            .expect("cycle");
        assert!(
            cycle.message.starts_with(
                "import cycle between top-level modules: delivery -> lifecycle -> delivery"
            ),
            "{}",
            cycle.message
        );
    }

    #[test]
    fn architecture_cycles_report_their_path() {
        let files = vec![
            scan("src/text.rs", "use crate::error::E;"),
            scan("src/error.rs", "use crate::model::M;"),
            scan("src/model/mod.rs", "fn f() { crate::text::t(); }"),
        ];
        let v = check_layers(&files);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].message.contains("error -> model -> text -> error"),
            "{}",
            v[0].message
        );
        assert!(
            v[0].message.contains("model -> text at src/model/mod.rs:1"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn architecture_sql_heuristic() {
        for sql in [
            "SELECT id FROM issues",
            "INSERT INTO t (a) VALUES (?1)",
            "INSERT OR IGNORE INTO t VALUES (1)",
            "UPDATE issues\n   SET status = 'resolved'",
            "delete from outbox where id = ?1",
            "CREATE TABLE x (id INTEGER)",
            "PRAGMA user_version",
        ] {
            assert!(sql_keyword(sql).is_some(), "{sql}");
        }
        for prose in [
            "Select an issue from the list",
            "update the issue and set its owner",
            "SELECTED",
            "created table of contents",
            "",
        ] {
            assert_eq!(sql_keyword(prose), None, "{prose}");
        }
        let files = vec![
            scan("src/store/issues.rs", "const Q: &str = \"SELECT 1\";"),
            scan("src/report.rs", "// SELECT a FROM b\nconst Q: &str = \"DELETE \\\n    FROM outbox\";\n#[cfg(test)]\nmod t { const Q: &str = \"SELECT 1\"; }"),
        ];
        let v = check_sql(&files);
        assert_eq!(
            v.iter()
                .map(|v| (v.file.as_str(), v.line))
                .collect::<Vec<_>>(),
            [("src/report.rs", 2)]
        );
    }

    #[test]
    fn architecture_clock_and_json_rules() {
        let files = vec![
            scan("src/commands/check.rs", "fn f() { Utc::now(); }"),
            scan("src/engine.rs", "// Utc::now()\nfn f() { let s = \"Utc::now\"; chrono::Local::now(); }\n#[cfg(test)]\nmod t { fn g() { Utc::now(); } }"),
            scan("src/delivery/mod.rs", "fn f() { std::time::Instant::now(); SystemTime::now(); }"),
            scan("src/lifecycle/act.rs", "fn f() { events::append(tx, json!({})); }\n#[cfg(test)]\nmod t { fn g() { json!(1); } }"),
            scan("src/lifecycle/task.rs", "fn f() { let p = json!({}); }"),
            scan("src/store/events.rs", "fn f() { append(json!({})); }"),
        ];
        let clock: Vec<(String, usize)> = check_clock(&files)
            .into_iter()
            .map(|v| (v.file, v.line))
            .collect();
        assert_eq!(
            clock,
            [
                ("src/engine.rs".to_string(), 2),
                ("src/delivery/mod.rs".to_string(), 1)
            ]
        );
        let json: Vec<(String, usize)> = check_json_events(&files)
            .into_iter()
            .map(|v| (v.file, v.line))
            .collect();
        assert_eq!(json, [("src/lifecycle/act.rs".to_string(), 1)]);
    }
}
