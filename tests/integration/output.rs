//! Output safety (issue 14): text from outside — titles, descriptions,
//! tags, sources — goes through create and ingest and comes out of every
//! human-facing path (list, show, outbox, stderr) with no control
//! character, out of markdown (report, digest) with no live markup, and out
//! of Slack and Jira payloads escaped for their markup and within limits.

use crate::support::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[chains.ops]
levels = [{ role = "oncall", wait_hours = 0.25 }, { role = "lead", wait_hours = 1 }]
response_hours = 1

[roles.oncall]
[roles.lead]
"#;

/// Strings that try to reach a terminal as controls: OSC retitle, clear
/// screen, hidden text, cursor moves, a bare CSI (C1), BEL, BS, CR, DEL,
/// NUL-adjacent C0, and line breaks inside a one-line field.
const HOSTILE: [&str; 12] = [
    "retitle \u{1b}]0;pwned\u{7} done",
    "clear \u{1b}[2J\u{1b}[H screen",
    "hide \u{1b}[8m secret \u{1b}[0m",
    "csi \u{9b}2J c1 \u{9d}0;x\u{9c}",
    "bell \u{7}\u{7} and back\u{8}\u{8}space",
    "carriage\rreturn overwrite",
    "del \u{7f} char",
    "c0 \u{1}\u{2}\u{3}\u{1f} mix",
    "two\nlines in a title",
    "tab\tinside",
    "osc8 \u{1b}]8;;http://evil\u{1b}\\link\u{1b}]8;;\u{1b}\\",
    "nel \u{85} next line",
];

/// No byte below 0x20 except `\n` and `\t`, no DEL and no C1 control.
fn assert_terminal_safe(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}';
        assert!(
            !bad,
            "{what}: control U+{:04X} at byte {i} in {text:?}",
            c as u32
        );
    }
}

fn ingest_line(n: usize, title: &str) -> String {
    json!({
        "type": "ticket.created",
        "source": format!("src\u{1b}[31m{n}"),
        "external_id": format!("T{n}"),
        "title": title,
        "description": format!("desc {title}"),
        "tags": [format!("tag\u{1b}[5m{n}")],
        "chain": "ops",
    })
    .to_string()
}

#[test]
fn hostile_text_reaches_no_terminal_path_with_controls() {
    let env = Env::init(CONFIG);
    let mut ids = Vec::new();
    for title in HOSTILE {
        let r = env
            .test()
            .at(0)
            .args(["create", "--chain", "ops", "--title", title])
            .args(["--description", &format!("about: {title}")])
            .run();
        assert_terminal_safe("create stderr", &r.stderr);
        ids.push(r.stdout.trim().parse::<i64>().expect("id"));
    }
    let batch: Vec<String> = HOSTILE
        .iter()
        .enumerate()
        .map(|(n, t)| ingest_line(n, t))
        .collect();
    let path = env.path("batch.jsonl");
    std::fs::write(&path, batch.join("\n")).expect("write batch");
    let r = env.at(1, &["ingest", path.to_str().expect("utf-8")]).ok();
    assert_terminal_safe("ingest stdout", &r.stdout);
    assert_terminal_safe("ingest stderr", &r.stderr);
    // Console pages at level 2 quote the titles on stderr.
    for args in [
        vec!["check"],
        vec!["list", "--status", "all", "--limit", "0"],
        vec!["outbox"],
        vec!["status"],
        vec!["events"],
        vec!["list", "--json", "--limit", "0"],
        vec!["report", "--days", "1"],
        vec!["digest"],
    ] {
        let r = env.at("+30m", &args);
        assert_terminal_safe(&format!("{args:?} stdout"), &r.stdout);
        assert_terminal_safe(&format!("{args:?} stderr"), &r.stderr);
    }
    let rows = env
        .run(&["list", "--status", "all", "--json", "--limit", "0"])
        .ok()
        .json();
    let all: Vec<i64> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(
        all.len(),
        2 * HOSTILE.len(),
        "every hostile title was accepted"
    );
    for id in all {
        let r = env.run(&["show", &id.to_string()]).ok();
        assert_terminal_safe("show", &r.stdout);
        assert!(r.stdout.starts_with(&format!("Issue #{id}: ")));
        assert_eq!(
            r.stdout.lines().next().map(|l| l.contains('\n')),
            Some(false)
        );
    }
    // The stored text is kept as it came: only output folds it.
    let json = env.show(ids[0]);
    assert_eq!(json["title"], Value::from(HOSTILE[0]));
}

#[test]
fn an_error_quoting_outside_text_reaches_stderr_folded() {
    // An unknown chain named with an escape sequence is echoed in the error.
    let r = Test::new()
        .config(CONFIG)
        .args(["create", "--chain", "x\u{1b}]0;pwned\u{7}", "--title", "t"])
        .any_code()
        .run();
    assert_ne!(r.code, 0, "{r:?}");
    assert_terminal_safe("error", &r.stderr);
}

/// Bidi overrides and isolates, and titles of only invisible characters.
const REFUSED: [(&str, &str); 9] = [
    ("rlo \u{202e}gnp.exe", "U+202E"),
    ("lre \u{202a}x", "U+202A"),
    ("rle \u{202b}x", "U+202B"),
    ("pdf \u{202c}x", "U+202C"),
    ("lro \u{202d}x", "U+202D"),
    ("lri \u{2066}x\u{2069}", "U+2066"),
    ("fsi \u{2068}x", "U+2068"),
    ("\u{200b}\u{200b}\u{2060}", "no visible characters"),
    ("\u{feff} \u{3164}\u{ad}\u{200d}", "no visible characters"),
];

#[test]
fn bidi_controls_and_invisible_titles_are_refused_at_create() {
    let env = Env::init(CONFIG);
    for (title, why) in REFUSED {
        env.test()
            .args(["create", "--chain", "ops", "--title", title])
            .code(2)
            .one_line_error(why)
            .stderr_has("title")
            .run();
    }
    env.test()
        .args(["create", "--chain", "ops", "--title", "ok"])
        .args(["--description", "a \u{2067}b"])
        .code(2)
        .one_line_error("description")
        .run();
    let rows = env.run(&["list", "--json"]).ok().json();
    assert_eq!(rows.as_array().map(Vec::len), Some(0), "nothing was filed");
}

#[test]
fn bidi_controls_and_invisible_titles_are_skipped_at_ingest() {
    let env = Env::init(CONFIG);
    let mut lines: Vec<String> = REFUSED
        .iter()
        .enumerate()
        .map(|(n, (t, _))| ingest_line(n, t))
        .collect();
    lines.push(ingest_line(99, "fine"));
    let path = env.path("batch.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("write batch");
    let r = env
        .at(0, &["ingest", path.to_str().expect("utf-8"), "--json"])
        // Skipped lines need a human: exit 3, as for any skipped line.
        .code(3);
    let v = r.json();
    assert_eq!(v["created"], 1, "{r:?}");
    assert_eq!(v["skipped"], REFUSED.len(), "{r:?}");
    for (n, (_, why)) in REFUSED.iter().enumerate() {
        let p = &v["problems"][n];
        assert_eq!(p["line"], n + 1);
        assert!(p["error"].as_str().unwrap_or("").contains(why), "{p}");
    }
}

/// Titles that would be live markdown in a CommonMark/GFM renderer if
/// they went out as they are; each carries `PWN` so the test can tell user
/// text from the template's own markup.
const MARKDOWN: [&str; 20] = [
    "PWN <script>alert(1)</script>",
    "PWN [x](http://evil)",
    "PWN ![img](http://evil/i.png)",
    "PWN <http://evil> <a@evil.com>",
    "PWN | a | b |",
    "PWN \\| escaped pipe | c",
    "PWN `code` ``two``",
    "PWN *em* _em_ **strong** __strong__ ~~del~~ ~del~",
    "# PWN heading",
    "> PWN quote",
    "- PWN item",
    "1. PWN ordered",
    "PWN trailing backslash \\",
    "PWN &lt;b&gt; &amp; &#60;i&#62;",
    "[PWN]: http://evil",
    "PWN <!-- comment --> <img src=x onerror=alert(1)>",
    "=== PWN",
    "PWN\n# second line",
    "    PWN indented",
    "PWN [ref][1]\n[1]: http://evil",
];

/// Parse `md` as GFM (tables, strikethrough) and fail on anything user
/// text (marked `PWN`) turned into: raw HTML, a link or image, emphasis,
/// code, a heading, quote or list item. Tables keep their column count: a
/// row whose title cell holds `PWN` has, right after it, the level cell.
fn assert_inert_markdown(what: &str, md: &str) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut live: Vec<String> = Vec::new();
    let mut columns = 0;
    let mut row: Vec<String> = Vec::new();
    for event in Parser::new_ext(md, options) {
        let is_code = matches!(event, Event::Code(_));
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("{what}: raw HTML {h:?} in\n{md}"),
            Event::Start(Tag::Table(a)) => columns = a.len(),
            Event::Start(Tag::TableRow | Tag::TableHead) => row.clear(),
            Event::Start(Tag::TableCell) => row.push(String::new()),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                assert_eq!(row.len(), columns, "{what}: row {row:?}");
                if let Some(i) = row.iter().position(|c| c.contains("PWN")) {
                    let next = row.get(i + 1).map(String::as_str).unwrap_or("");
                    assert!(
                        next.starts_with('L') || next.starts_with("response"),
                        "{what}: the title spilled into the next column: {row:?}"
                    );
                }
            }
            Event::Start(tag) => {
                if matches!(
                    tag,
                    Tag::Link { .. }
                        | Tag::Image { .. }
                        | Tag::Emphasis
                        | Tag::Strong
                        | Tag::Strikethrough
                        | Tag::Heading { .. }
                        | Tag::BlockQuote(_)
                        | Tag::CodeBlock(_)
                        | Tag::Item
                ) {
                    live.push(format!("{tag:?}"));
                } else {
                    live.push(String::new());
                }
            }
            Event::End(_) => {
                live.pop();
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = row.last_mut() {
                    cell.push_str(&t);
                }
                if t.contains("PWN") {
                    assert!(!is_code, "{what}: user text as code {t:?}");
                    let outer = live.iter().filter(|l| !l.is_empty() && *l != "Item");
                    let tags: Vec<&String> = outer.collect();
                    assert!(tags.is_empty(), "{what}: user text {t:?} inside {tags:?}");
                }
            }
            _ => {}
        }
    }
}

#[test]
fn report_and_digest_keep_hostile_titles_inert_in_a_gfm_renderer() {
    // The report lists the ten longest-open issues: ten titles a run.
    for titles in MARKDOWN.chunks(10) {
        let env = Env::init(CONFIG);
        for (n, title) in titles.iter().enumerate() {
            env.test()
                .at(format!("+{n}m"))
                .args(["create", "--chain", "ops"])
                .arg(format!("--title={title}"))
                .run();
        }
        // Both levels paged, the response SLA breached, every issue open.
        env.at("+2h", &["check"]).ok();
        let report = env.at("+3h", &["report", "--days", "1"]).ok().stdout;
        for n in 1..=titles.len() {
            // Every title is in the longest-open table, on its own row.
            assert!(report.contains(&format!("\n| {n} | ops | ")), "{report}");
        }
        assert_inert_markdown("report", &report);
        let digest = env.at("+3h", &["digest", "--no-record"]).ok().stdout;
        assert!(digest.contains("PWN"), "{digest}");
        assert_inert_markdown("digest", &digest);
        // A list item holding a title stays one item: no title starts another.
        for line in digest.lines().filter(|l| l.contains("PWN")) {
            assert!(
                line.starts_with("- #") || line.starts_with("  - #"),
                "{line}"
            );
        }
    }
}

/// Jira v2 renders wiki markup: the Markdown body arrives as wiki markup
/// (items, code), user text arrives escaped, and the close comment too.
#[test]
fn jira_gets_wiki_markup_with_user_text_escaped() {
    use crate::support::trackers::Fake;
    use escalate::config::TrackerKind;
    use escalate::notify::tracker::{self, TaskSpec};
    use escalate::text::{markdown_escape, markdown_inline};

    let fake = Fake::start();
    fake.with(|s| s.jira_cloud = true);
    let t = fake.config(TrackerKind::Jira);
    escalate::notify::install_crypto();
    let c =
        escalate::notify::http::client(std::time::Duration::from_secs(5), false).expect("client");
    let hostile = "*bold* [x|http://evil] {code} !img.png! -s- h1. ~t~ ^u^ +v+ # ?? |";
    let spec = TaskSpec {
        marker: "escalate-9".into(),
        title: "t".into(),
        body: format!(
            "escalate escalated issue #9.\n\n- Owner: {}\n\n{}\n\nTimeline: `escalate show 9`.\n",
            markdown_inline(hostile),
            markdown_escape(&format!("h1. {hostile}\n- {hostile}"))
        ),
    };
    let task = tracker::ensure(&c, &t, &spec).expect("ensure");
    let body = fake.tasks()[0].body.clone();
    let escaped = "\\*bold\\* \\[x\\|http://evil\\] \\{code\\} \\!img.png\\! \\-s\\- h1. \
                   \\~t\\~ \\^u\\^ \\+v\\+ \\# \\?\\? \\|";
    assert!(body.contains(&format!("\n* Owner: {escaped}\n")), "{body}");
    assert!(
        body.contains(&format!("\nh\u{2060}1. {escaped}\n\\- {escaped}\n")),
        "{body}"
    );
    assert!(body.contains("Timeline: {{escalate show 9}}."), "{body}");
    assert!(!body.contains("**") && !body.contains('`'), "{body}");

    tracker::close(&c, &t, &task, &format!("Resolved: {hostile}")).expect("close");
    assert_eq!(
        fake.tasks()[0].comments,
        vec![format!("Resolved: {escaped}")]
    );
}

/// A storm: 30 issues with 1,000-character hostile titles reach level 2 in
/// one check, and level 2's Slack gets one grouped message that fits every
/// documented limit, shows whole items only, and cuts no escape.
#[test]
fn a_slack_storm_of_long_hostile_titles_fits_slacks_limits() {
    use crate::support::peer::Peer;
    let peer = Peer::start();
    let env = Env::init(&CONFIG.replace(
        "[roles.lead]\n",
        &format!("[roles.lead]\nslack = \"{}\"\n", peer.url("/hook")),
    ));
    let units = ["<!channel>&", "*bold*_it_~s~`c`", "&&&&", "é<>"];
    for n in 0..30 {
        let unit = units[n % units.len()];
        let title: String = format!("#{n} {}", unit.repeat(1000))
            .chars()
            .take(1000)
            .collect();
        env.test()
            .at(0)
            .args(["create", "--chain", "ops"])
            .arg(format!("--title={title}"))
            .run();
    }
    env.at("+20m", &["check"]).ok();
    let posts = peer.on("/hook");
    assert_eq!(posts.len(), 1, "one grouped message");
    let v: Value = serde_json::from_str(&posts[0].body).expect("json");
    let whole = |s: &str| {
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "an escape cut at {i}: {:?}",
                rest.chars().take(6).collect::<String>()
            );
        }
    };
    let text = v["text"].as_str().expect("text");
    assert!(text.chars().count() <= 40_000);
    assert!(!text.contains("<!channel>") && !text.contains("*bold*"));
    whole(text);
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50);
    let header = blocks[0]["text"]["text"].as_str().expect("header");
    assert!(header.chars().count() <= 150);
    whole(header);
    let mut shown = 0;
    let mut more = 0;
    for b in &blocks[1..blocks.len() - 1] {
        assert_eq!(b["text"]["type"], "plain_text", "{b}");
        let t = b["text"]["text"].as_str().expect("section");
        assert!(t.chars().count() <= 3000);
        whole(t);
        shown += t.lines().filter(|l| l.starts_with("• #")).count();
        if let Some(m) = t.lines().find_map(|l| l.strip_prefix("and ")) {
            more = m.trim_end_matches(" more").parse::<usize>().expect("N");
        }
    }
    assert!(shown > 0 && more > 0, "{v}");
    assert_eq!(shown + more, 30);
}
