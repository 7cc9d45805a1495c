//! Scanning one file for the layering test: which crate-internal paths it
//! names, which of its tokens and literals are test code, and which child
//! modules it declares.
//!
//! Paths are resolved to be crate-relative (`self::` and `super::` against
//! the module the code sits in: the file's path plus any inline
//! `mod x { … }` blocks), so the rules only ever compare top-level module
//! names.

use super::lex::{is_cfg_test, item_end, lex, matching, tokenize, Kind, Lexed, Lit, Tok};

/// A crate-internal path, resolved to be crate-relative (`[]` = the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Import {
    pub(super) path: Vec<String>,
    pub(super) line: usize,
    pub(super) test: bool,
}

pub(super) struct FileScan {
    /// `src/store/mod.rs`
    pub(super) rel: String,
    /// `["store"]`; `[]` for lib.rs; `None` for binaries (main.rs, src/bin).
    pub(super) module: Option<Vec<String>>,
    /// The whole file is test code.
    pub(super) test_file: bool,
    pub(super) toks: Vec<Tok>,
    /// Per token: under `#[cfg(test)]`.
    pub(super) test: Vec<bool>,
    pub(super) lits: Vec<(Lit, bool)>,
    pub(super) imports: Vec<Import>,
    /// `mod x;` declarations: (name, under cfg(test)).
    pub(super) children: Vec<(String, bool)>,
}

impl FileScan {
    pub(super) fn top(&self) -> Option<&str> {
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
            use_group(toks, i, &path, out);
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

/// The trees of a `{ … }` group after `prefix::`, from just inside the
/// brace to just past the closing one.
fn use_group(toks: &[Tok], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
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
        use_tree(toks, i, prefix, out);
        if *i == before {
            return; // not a use tree: give up rather than loop
        }
    }
}

pub(super) fn scan(rel: &str, src: &str) -> FileScan {
    let Lexed { code, lits } = lex(src);
    let toks = tokenize(&code);
    let mut s = Scanner {
        module: module_of(rel),
        close: matching(&toks),
        test: vec![false; toks.len()],
        toks,
        test_until: None,
        pending_test: false,
        file_test: false,
        inline: Vec::new(),
        imports: Vec::new(),
        children: Vec::new(),
    };
    s.run();
    let lits = s.mark_lits(lits);
    FileScan {
        rel: rel.to_string(),
        module: s.module,
        test_file: s.file_test,
        toks: s.toks,
        test: s.test,
        lits,
        imports: s.imports,
        children: s.children,
    }
}

/// One pass over a file's tokens: tracks the `#[cfg(test)]` extent and the
/// inline module nesting, and collects imports and `mod x;` declarations.
struct Scanner {
    module: Option<Vec<String>>,
    toks: Vec<Tok>,
    close: Vec<Option<usize>>,
    test: Vec<bool>,
    /// Tokens up to this index are test code (an item or inline module
    /// under `cfg(test)`).
    test_until: Option<usize>,
    /// A `#[cfg(test)]` was just seen: the next item is test code.
    pending_test: bool,
    /// `#![cfg(test)]` at file level.
    file_test: bool,
    /// Inline modules: (index of their closing brace, name).
    inline: Vec<(usize, String)>,
    imports: Vec<Import>,
    children: Vec<(String, bool)>,
}

impl Scanner {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.toks.len() {
            while self.inline.last().is_some_and(|&(end, _)| end < i) {
                self.inline.pop();
            }
            if let Some(next) = self.attribute(i) {
                i = next;
                continue;
            }
            let in_test = self.mark(i);
            self.mod_decl(i, in_test);
            // A `use` or a path consumes several tokens; anything else one.
            i = self
                .use_item(i, in_test)
                .or_else(|| self.path_expr(i, in_test))
                .unwrap_or(i + 1);
        }
    }

    /// The module the code at the cursor sits in: the file's, plus the
    /// inline modules open around it.
    fn current(&self) -> Vec<String> {
        self.module
            .iter()
            .flatten()
            .cloned()
            .chain(self.inline.iter().map(|(_, name)| name.clone()))
            .collect()
    }

    /// An attribute (`#[…]`, `#![…]`) at `i`: note a `cfg(test)`, and
    /// return the index past it.
    fn attribute(&mut self, i: usize) -> Option<usize> {
        if !self.toks[i].is("#") {
            return None;
        }
        let inner = self.toks.get(i + 1).is_some_and(|t| t.is("!"));
        let open = if inner { i + 2 } else { i + 1 };
        if !self.toks.get(open).is_some_and(|t| t.is("[")) {
            return None;
        }
        let end = self.close[open]?;
        if is_cfg_test(&self.toks[open..=end]) {
            self.cfg_test(inner);
        }
        let flag = self.pending_test || self.file_test;
        self.test[i..=end].fill(flag);
        Some(end + 1)
    }

    /// `#[cfg(test)]` marks the item that follows; `#![cfg(test)]` the
    /// whole file, or the inline module it sits in.
    fn cfg_test(&mut self, inner: bool) {
        if !inner {
            self.pending_test = true;
        } else if self.inline.is_empty() {
            self.file_test = true;
        } else if let Some(&(block_end, _)) = self.inline.last() {
            self.test_until = self.test_until.max(Some(block_end));
        }
    }

    /// Mark token `i` as test code or not, and say which. The first token
    /// after a `#[cfg(test)]` starts the item it covers.
    fn mark(&mut self, i: usize) -> bool {
        if self.pending_test {
            let end = item_end(&self.toks, &self.close, i);
            self.test_until = self.test_until.max(Some(end));
            self.pending_test = false;
        }
        let in_test = self.file_test || self.test_until.is_some_and(|end| i <= end);
        self.test[i] = in_test;
        in_test
    }

    /// `mod x { … }` opens an inline module (it shifts `self` and `super`);
    /// `mod x;` at file level declares a child file.
    fn mod_decl(&mut self, i: usize, in_test: bool) {
        if !self.toks[i].is("mod") {
            return;
        }
        let Some(name) = self.toks.get(i + 1).and_then(Tok::ident) else {
            return;
        };
        match self.toks.get(i + 2) {
            Some(b) if b.is("{") => {
                if let Some(end) = self.close[i + 2] {
                    self.inline.push((end, name.to_string()));
                }
            }
            Some(s) if s.is(";") && self.inline.is_empty() => {
                self.children.push((name.to_string(), in_test));
            }
            _ => {}
        }
    }

    fn push_import(&mut self, path: &[String], line: usize, test: bool) {
        if let Some(path) = resolve(&self.current(), path) {
            self.imports.push(Import { path, line, test });
        }
    }

    /// A `use` tree at `i`: record its leaves, and return the index past it
    /// (`None` if nothing followed that parses as a tree).
    fn use_item(&mut self, i: usize, in_test: bool) -> Option<usize> {
        if !self.toks[i].is("use") || self.module.is_none() {
            return None;
        }
        let mut j = i + 1;
        let mut leaves = Vec::new();
        use_tree(&self.toks, &mut j, &[], &mut leaves);
        let line = self.toks[i].line;
        for leaf in leaves {
            self.push_import(&leaf, line, in_test);
        }
        if j == i + 1 {
            return None;
        }
        let end = j.min(self.toks.len());
        self.test[i + 1..end].fill(in_test);
        Some(j)
    }

    /// A path in an expression, type or pattern (`crate::a::b`, `super::x`,
    /// `self::y`) at `i`: record it, and return the index past it.
    fn path_expr(&mut self, i: usize, in_test: bool) -> Option<usize> {
        let t = &self.toks[i];
        let starts = matches!(t.ident(), Some("crate" | "super" | "self"))
            && self.toks.get(i + 1).is_some_and(|n| n.is("::"))
            && self.module.is_some();
        if !starts {
            return None;
        }
        let line = t.line;
        let mut path = vec![t.text.clone()];
        let mut j = i + 1;
        while self.toks.get(j).is_some_and(|n| n.is("::")) {
            match self.toks.get(j + 1).and_then(Tok::ident) {
                Some(name) => path.push(name.to_string()),
                None => break,
            }
            j += 2;
        }
        self.push_import(&path, line, in_test);
        let end = j.min(self.toks.len());
        self.test[i..end].fill(in_test);
        Some(j)
    }

    /// Each literal is test code if its `Str` token is.
    fn mark_lits(&self, lits: Vec<Lit>) -> Vec<(Lit, bool)> {
        lits.into_iter()
            .map(|lit| {
                let in_test = self.file_test
                    || self
                        .toks
                        .iter()
                        .position(|t| t.kind == Kind::Str && t.pos == lit.pos)
                        .is_some_and(|k| self.test[k]);
                (lit, in_test)
            })
            .collect()
    }
}

/// Files declared `#[cfg(test)] mod x;` (and everything below them) are test
/// code.
pub(super) fn propagate_test_files(files: &mut [FileScan]) {
    // Parents first, so a test file's own children inherit through it.
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
