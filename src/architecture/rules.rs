//! The rules of ARCHITECTURE.md as checks over scanned files. Each check
//! returns its violations rather than asserting, so the extractor's own
//! tests can feed it fixtures and prove it catches what it should.
//!
//! Test code (`Import::test`, `FileScan::test`, test files) is skipped by
//! every check: the rules are about the program that ships.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::scan::{FileScan, Import};
use super::{layer_of, CLOCKS, CLOCK_ALLOWED, EVENT_WRITERS, FORBIDDEN};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Violation {
    pub(super) file: String,
    pub(super) line: usize,
    pub(super) rule: &'static str,
    pub(super) message: String,
}

impl Violation {
    fn new(file: &str, line: usize, rule: &'static str, message: String) -> Self {
        Violation {
            file: file.to_string(),
            line,
            rule,
            message,
        }
    }
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

pub(super) fn report(title: &str, violations: &[Violation]) -> String {
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
pub(super) fn disk_modules(files: &[FileScan]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| f.top().map(String::from))
        .collect()
}

/// Where an edge between top-level modules is first seen: (file, line).
type Edges = BTreeMap<(String, String), (String, usize)>;

/// The dependency edges between top-level modules (non-test code), with the
/// first place each is seen.
pub(super) fn edges(files: &[FileScan], known: &BTreeSet<String>) -> Edges {
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
pub(super) fn check_layers(files: &[FileScan]) -> Vec<Violation> {
    let known = disk_modules(files);
    let mut out = unplaced(files, &known);
    for f in files {
        let Some(from) = f.top() else { continue };
        for imp in f.imports.iter().filter(|i| !i.test) {
            out.extend(import_violations(f, from, imp, &known));
        }
    }
    for (names, (file, line)) in cycles(&edges(files, &known)) {
        let message = format!("import cycle between top-level modules: {names}");
        out.push(Violation::new(&file, line, "cycle", message));
    }
    out.sort();
    out.dedup();
    out
}

/// Top-level modules on disk without a row in the placement table.
fn unplaced(files: &[FileScan], known: &BTreeSet<String>) -> Vec<Violation> {
    let mut out = Vec::new();
    for m in known.iter().filter(|m| layer_of(m).is_none()) {
        let f = files
            .iter()
            .find(|f| f.top() == Some(m.as_str()))
            .expect("on disk");
        let message = format!(
            "top-level module `{m}` is not in the placement table (src/architecture/mod.rs \
             PLACEMENT): give it a layer"
        );
        out.push(Violation::new(&f.rel, 1, "placement", message));
    }
    out
}

/// What is wrong with one import of `from` (in file `f`): the crate root,
/// an item of lib.rs, a higher layer, a forbidden sibling. An upward import
/// of a forbidden sibling is reported twice, once per rule.
fn import_violations(
    f: &FileScan,
    from: &str,
    imp: &Import,
    known: &BTreeSet<String>,
) -> Vec<Violation> {
    let at = |rule, message| Violation::new(&f.rel, imp.line, rule, message);
    let path = imp.path.join("::");
    let Some(to) = imp.path.first() else {
        return vec![at(
            "layer",
            format!("`{from}` imports the crate root (`crate::*`): import from the owning module"),
        )];
    };
    if to == from {
        return Vec::new();
    }
    if !known.contains(to) {
        // An item of lib.rs (a re-export like `crate::run`).
        return vec![at(
            "layer",
            format!(
                "`{from}` imports `crate::{path}`, an item of the crate root: import it from the \
                 module that owns it"
            ),
        )];
    }
    let (Some(fl), Some(tl)) = (layer_of(from), layer_of(to)) else {
        return Vec::new(); // reported as placement
    };
    let mut out = Vec::new();
    if tl > fl {
        out.push(at(
            "layer",
            format!(
                "`{from}` ({fl:?}) imports `crate::{path}` from `{to}` ({tl:?}), a higher layer"
            ),
        ));
    }
    if let Some((_, _, why)) = FORBIDDEN
        .iter()
        .find(|(a, b, _)| *a == from && *b == to.as_str())
    {
        out.push(at(
            "sibling",
            format!("`{from}` imports `crate::{path}`: {why}"),
        ));
    }
    out
}

/// Every elementary cycle through an edge, once per set of modules: a
/// readable path `a -> b -> a (a: file:line, b: file:line)` and where its
/// first edge is.
fn cycles(edges: &Edges) -> Vec<(String, (String, usize))> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a.as_str()).or_default().push(b.as_str());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for ((a, b), at) in edges {
        let Some(path) = cycle_through(&adj, a, b) else {
            continue;
        };
        // The same cycle is found from each of its edges: keep one.
        let key: BTreeSet<&str> = path.iter().copied().collect();
        if seen.insert(key) {
            out.push((describe_cycle(&path, edges), at.clone()));
        }
    }
    out
}

/// The shortest cycle through the edge `a -> b`, as `[a, b, …]` (the
/// return to `a` implied), if `b` leads back to `a`.
fn cycle_through<'m>(
    adj: &BTreeMap<&'m str, Vec<&'m str>>,
    a: &'m str,
    b: &'m str,
) -> Option<Vec<&'m str>> {
    // Breadth first from b, so the path back to a is a shortest one.
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([b]);
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
        return None;
    }
    let mut path = vec![a];
    let mut n = a;
    while n != b {
        n = prev[n];
        path.push(n);
    }
    path.push(a);
    path.reverse(); // a -> b -> … -> a
    path.pop();
    Some(path)
}

/// `a -> b -> a (a -> b at file:line; b -> a at file:line)`: the modules,
/// then where each hop is, so the fix can start at any of them.
fn describe_cycle(path: &[&str], edges: &Edges) -> String {
    let mut hops = Vec::new();
    for (k, from) in path.iter().enumerate() {
        let to = path[(k + 1) % path.len()];
        let (file, line) = &edges[&(from.to_string(), to.to_string())];
        hops.push(format!("{from} -> {to} at {file}:{line}"));
    }
    let names = path
        .iter()
        .chain(path.first())
        .copied()
        .collect::<Vec<_>>()
        .join(" -> ");
    format!("{names} ({})", hops.join("; "))
}

/// Statement openings in SQL's upper-case convention.
const SQL_UPPER: &[&str] = &[
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

/// Openings no prose uses, so matched in any case.
const SQL_ANY_CASE: &[&str] = &[
    "insert into ",
    "delete from ",
    "create table ",
    "alter table ",
    "drop table ",
];

/// Does a string literal look like SQL? The statement keyword that matched.
///
/// Upper case (SQL's convention here): `SELECT `, `INSERT INTO`, `INSERT OR`,
/// `UPDATE <name> SET`, `DELETE FROM`, `CREATE [UNIQUE] TABLE|INDEX|VIEW|
/// TRIGGER`, `DROP TABLE|INDEX`, `ALTER TABLE`, `PRAGMA `. Any case for the
/// unambiguous multi-word ones (`insert into`, `delete from`,
/// `create table`, `alter table`, `drop table`). Whitespace (newlines, line
/// continuations) counts as one space.
pub(super) fn sql_keyword(text: &str) -> Option<&'static str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm = words.join(" ");
    let padded = format!("{norm} ");
    if let Some(k) = SQL_UPPER.iter().find(|k| padded.contains(*k)) {
        return Some(k.trim_end());
    }
    let lower = padded.to_lowercase();
    if let Some(k) = SQL_ANY_CASE.iter().find(|k| lower.contains(*k)) {
        return Some(k.trim_end());
    }
    let update_set = words.windows(3).any(|w| w[0] == "UPDATE" && w[2] == "SET");
    update_set.then_some("UPDATE … SET")
}

/// Rule 2: SQL only under src/store/.
pub(super) fn check_sql(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.rel.starts_with("src/store/") && !f.test_file)
    {
        for (lit, _) in f.lits.iter().filter(|(_, test)| !test) {
            if let Some(k) = sql_keyword(&lit.text) {
                let message = format!(
                    "string literal looks like SQL (`{k}`): SQL belongs in src/store/ behind a \
                     typed function"
                );
                out.push(Violation::new(&f.rel, lit.line, "sql", message));
            }
        }
    }
    out
}

/// Database crates a file outside src/store/ must not name: the store's
/// `Tx` is opaque, so no layer above holds a connection it could bypass
/// the typed functions with.
pub(super) const DB_CRATES: &[&str] = &["rusqlite", "postgres"];

/// Rule 2b: only src/store/ names a database crate or reaches into a
/// transaction (`Tx::sqlite`, there for tests outside the crate).
pub(super) fn check_db_handles(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.rel.starts_with("src/store/") && !f.test_file)
    {
        for (k, w) in f.toks.windows(2).enumerate() {
            if f.test[k] {
                continue;
            }
            let named = DB_CRATES.iter().find(|c| w[0].is(c));
            let reached = (w[0].is(".") && w[1].is("sqlite")).then_some(&"Tx::sqlite");
            if let Some(what) = named.or(reached) {
                let message = format!(
                    "`{what}` outside src/store/: take a `store::Tx` and call a typed store \
                     function"
                );
                out.push(Violation::new(&f.rel, w[0].line, "db-handle", message));
            }
        }
    }
    out
}

/// Rule 3: the clock is read in src/commands/ (and main.rs) only.
pub(super) fn check_clock(files: &[FileScan]) -> Vec<Violation> {
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
            let message = format!(
                "`{clock}::now` outside src/commands/: take `now` as a parameter (an `Instant` for \
                 a timeout needs an entry with its reason in CLOCK_ALLOWED)"
            );
            out.push(Violation::new(&f.rel, w[0].line, "clock", message));
        }
    }
    out
}

/// Rule 4: no `json!` in a file that writes events (event details are typed
/// in model; the store serializes them).
pub(super) fn check_json_events(files: &[FileScan]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| {
        !f.test_file && !f.rel.starts_with("src/model/") && !f.rel.starts_with("src/store/")
    }) {
        let Some((how, at)) = event_write(f) else {
            continue;
        };
        for (k, w) in f.toks.windows(2).enumerate() {
            if !f.test[k] && w[0].is("json") && w[1].is("!") {
                let message = format!(
                    "`json!` in a file that writes events (`{how}` at line {at}): give the event \
                     typed details in model"
                );
                out.push(Violation::new(&f.rel, w[0].line, "json-event", message));
            }
        }
    }
    out
}

/// How and where a file writes events, if it does: its first live call of
/// an [`EVENT_WRITERS`] path, else its first live import of one.
fn event_write(f: &FileScan) -> Option<(String, usize)> {
    let call = f.toks.windows(3).enumerate().find(|(k, w)| {
        !f.test[*k] && w[1].is("::") && EVENT_WRITERS.iter().any(|p| w[0].is(p[0]) && w[2].is(p[1]))
    });
    if let Some((_, w)) = call {
        return Some((format!("{}::{}", w[0].text, w[2].text), w[0].line));
    }
    let import = f.imports.iter().find(|i| {
        !i.test
            && EVENT_WRITERS
                .iter()
                .any(|p| i.path.ends_with(&[p[0].to_string(), p[1].to_string()]))
    })?;
    Some((import.path.join("::"), import.line))
}
