//! `[templates]` through the real binary: a template replaces the built-in
//! line on its channel, every variable is escaped for that channel even
//! through `|safe`, and a broken template is a config error with
//! `file:line:col` before anything is sent.

use crate::support::http::{Action, Server};
use crate::support::*;

const NOW: &str = "2026-12-07T15:00:00Z";

fn config(slack: &str, templates: &str) -> String {
    format!(
        r#"
[chains.support]
response_hours = 1
levels = [ {{ role = "agent", wait_hours = 1 }} ]

[roles.agent]
console = true
slack = "{slack}"

{templates}
"#
    )
}

#[test]
fn a_template_replaces_the_line_and_escapes_every_variable() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = Env::init(&config(
        &slack.url("/hook"),
        r#"
[templates.page]
console = "PAGE #{{ id }} {{ title }} -> {{ owner }} ({{ late }})"
slack = "Paging {{ owner }}: {{ title|safe }} on {{ chain }}"
"#,
    ));
    let r = env
        .test()
        .at(NOW)
        .args([
            "create",
            "--chain",
            "support",
            "--title",
            "*Boom* <!channel> @here",
        ])
        .run();
    assert!(
        r.stderr
            .contains("PAGE #1 *Boom* <!channel> @here -> agent (on time)"),
        "console: {}",
        r.stderr
    );
    let body = slack.requests().first().expect("slack").json();
    let text = body["text"].as_str().expect("text");
    assert!(text.contains("Paging agent: "), "{text}");
    assert!(!text.contains("<!channel>"), "unescaped: {text}");
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(text.contains("@\u{2060}here"), "{text}");
}

#[test]
fn the_digest_line_template_is_markdown_escaped() {
    let slack = Server::start(|_| Action::reply(200, "ok"));
    let env = Env::init(&config(
        &slack.url("/hook"),
        r#"
[templates.digest_line]
markdown = "{{ title }} ({{ target }}, {{ late }} left)"
"#,
    ));
    env.test()
        .at(NOW)
        .args([
            "create",
            "--chain",
            "support",
            "--title",
            "**loud** [x](http://e)",
        ])
        .run();
    let md = env
        .at("2026-12-07T15:50:00Z", &["digest", "--no-record"])
        .ok()
        .stdout;
    assert!(
        md.contains(r"- \*\*loud\*\* \[x\](http\://e) (response, 10m left)"),
        "{md}"
    );
}

#[test]
fn broken_templates_are_config_errors_with_their_place() {
    let cases = [
        (
            "[templates.page]\nconsole = \"{{ nope }}\"\n",
            "page] console",
        ),
        ("[templates.page]\nconsole = \"{{ id \"\n", "page] console"),
        (
            "[templates.pager]\nconsole = \"x\"\n",
            "no such notice kind",
        ),
        ("[templates.page]\nsms = \"x\"\n", "no such channel"),
        (
            "[templates.digest_line]\nslack = \"x\"\n",
            "no such channel",
        ),
        (
            "[templates.page]\nconsole = \"{{ id|nosuchfilter }}\"\n",
            "page] console",
        ),
    ];
    for (toml, want) in cases {
        let r = Test::new()
            .no_db()
            .config(&config("https://hooks.slack.com/services/T/B/X", toml))
            .args(["config", "check"])
            .code(2)
            .run();
        assert!(r.stderr.contains(want), "{toml}: {}", r.stderr);
        assert!(r.stderr.contains("chains.toml:"), "{}", r.stderr);
    }
}
