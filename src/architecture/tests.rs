//! The extractor's own tests: each piece (use trees, path resolution,
//! comments and literals, `cfg(test)` extent) on small fixtures, and each
//! rule fed a violation it must report. Without these, a rule that silently
//! stopped seeing anything would pass on the real tree forever.

use super::rules::{
    check_clock, check_db_handles, check_json_events, check_layers, check_sql, sql_keyword,
};
use super::scan::{propagate_test_files, scan};

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
fn architecture_db_handle_rule() {
    let files = vec![
        scan(
            "src/store/mod.rs",
            "use rusqlite::Connection;\nfn f(t: &Tx) { t.sqlite(); }",
        ),
        scan(
            "src/lifecycle/act.rs",
            "use rusqlite::Transaction;\nfn f(tx: &Tx) {\n    tx.sqlite().execute(q, []);\n}\n\
             // rusqlite in a comment\nconst S: &str = \"postgres://x\";\n\
             #[cfg(test)]\nmod t { use rusqlite::Connection; }",
        ),
        scan(
            "src/delivery/mod.rs",
            "fn f() -> postgres::Client { g() }\nfn h(s: Sqlite) {}",
        ),
    ];
    let found = check_db_handles(&files);
    let v: Vec<(&str, usize)> = found.iter().map(|v| (v.file.as_str(), v.line)).collect();
    assert_eq!(
        v,
        [
            ("src/lifecycle/act.rs", 1),
            ("src/lifecycle/act.rs", 3),
            ("src/delivery/mod.rs", 1)
        ]
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
