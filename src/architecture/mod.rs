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
//! The parts: [`lex`] (comments and literals blanked, tokens, `cfg(test)`
//! attributes), [`scan`] (one file's imports, test extent, child modules),
//! [`rules`] (the checks, returning violations), and `tests` (the
//! extractor's own tests: each rule fed fixtures it must catch). This file
//! holds the tables the rules read and the tests that run them on `src/`.
//!
//! Run: `cargo test --locked --lib architecture`.

mod lex;
mod rules;
mod scan;
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use rules::{
    check_clock, check_db_handles, check_json_events, check_layers, check_sql, disk_modules, edges,
    report, sql_keyword,
};
use scan::{propagate_test_files, scan, FileScan};

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
    // This test: entirely #[cfg(test)], so no rule ever sees its fixtures.
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
const CLOCK_ALLOWED: &[(&str, &str, &str)] = &[
    (
        "src/delivery/mod.rs",
        "Instant",
        "the lease: a pass adds the real time it has taken to the (possibly \
         simulated) `now` so a slow pass does not outlive its claim; a duration, \
         not a timestamp",
    ),
    (
        "src/store/pg_watch.rs",
        "Instant",
        "how long a call has waited on a PostgreSQL server that may have \
         stalled: a timeout, not a timestamp",
    ),
];

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
// The real tree
// ---------------------------------------------------------------------------

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
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
    // This test is test code through lib.rs's #[cfg(test)] mod architecture,
    // and so is every file below it; its fixtures must never count.
    let me: Vec<&FileScan> = files
        .iter()
        .filter(|f| f.rel.starts_with("src/architecture/"))
        .collect();
    assert!(
        me.iter().any(|f| f.rel == "src/architecture/mod.rs"),
        "this file"
    );
    for f in me {
        assert!(
            f.test_file,
            "{}: src/architecture/ must be declared #[cfg(test)] in lib.rs",
            f.rel
        );
    }
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
fn architecture_only_store_holds_the_database() {
    let v = check_db_handles(&tree());
    assert!(
        v.is_empty(),
        "{}",
        report("database handle outside src/store/", &v)
    );
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
