//! Jira (Cloud, Server and Data Center) through REST API v2, whose plain
//! text descriptions and comments work on all three (v3 wants ADF and is
//! Cloud only).
//!
//! The marker is a label. Lookup is the JQL
//! `project = "OPS" AND labels = "…"` through `POST /rest/api/2/search/jql`
//! (Jira Cloud, where the old `/rest/api/2/search` answers 410 Gone),
//! falling back to `POST /rest/api/2/search` when that answers 404/405
//! (Server and Data Center); `GET /rest/api/2/issue/{id}` fills in a key
//! the enhanced search left out. Create is `POST /rest/api/2/issue`. Close
//! comments (`POST …/issue/{id}/comment`), reads
//! `GET …/transitions?expand=transitions.fields` to find a closing
//! transition and its resolution field, and posts it to `…/transitions`.
//!
//! v2 renders descriptions and comments as wiki markup, not Markdown: the
//! task body (Markdown with user text backslash-escaped, see
//! `lifecycle::task`) is converted by [`wiki`] — list items, code spans and
//! every escaped character mapped to their wiki forms — and the close
//! comment (plain text) is escaped by [`wiki_text`]. The smaller change
//! than v3 and ADF, and it keeps Server and Data Center.

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{
    classify, encode, exchange, need, request, snippet, text_at, title, Ctx, SendError, TaskRef,
    TaskSpec, TrackerConfig, LABEL,
};

/// Jira's text fields hold 32,767 characters by default; a margin below.
const MAX_DESCRIPTION: usize = 32_000;

/// The project key, validated: it goes into JQL between quotes.
fn project(cx: &Ctx) -> Result<String, SendError> {
    let p = cx.t.project.trim();
    if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(p.to_string())
    } else {
        Err(cx.permanent(&format!(
            "project must be a project key like OPS, not {:?}",
            snippet(p)
        )))
    }
}

/// Where people open an issue.
fn browse(cx: &Ctx, key: &str) -> String {
    cx.url(&format!("/browse/{}", encode(key)))
}

pub(super) fn find(client: &Client, cx: &Ctx, marker: &str) -> Result<Option<TaskRef>, SendError> {
    let cx = cx.call("search issues");
    let project = project(&cx)?;
    // The marker's characters are checked, so it cannot end the quotes.
    let body = json!({
        "jql": format!("project = \"{project}\" AND labels = \"{marker}\" ORDER BY created ASC"),
        "maxResults": 1,
        "fields": ["key"],
    });
    let v = search(client, &cx, &body)?;
    let issues = v
        .get("issues")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.unexpected("issues", &v))?;
    let Some(issue) = issues.first() else {
        return Ok(None);
    };
    let id = need(&cx, issue, "/id")?;
    let key = match text_at(issue, "/key") {
        Some(key) => key,
        None => key_of(client, &cx, &id)?,
    };
    Ok(Some(TaskRef {
        url: browse(&cx, &key),
        id,
        key,
    }))
}

/// Run a JQL search on whichever endpoint this Jira has.
fn search(client: &Client, cx: &Ctx, body: &Value) -> Result<Value, SendError> {
    // Jira Cloud removed /search (410 Gone) for /search/jql, which
    // Server and Data Center do not have (404).
    let reply = exchange(
        client,
        cx,
        Method::POST,
        "/rest/api/2/search/jql",
        Some(body),
    )?;
    let reply = if matches!(
        reply.status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        exchange(client, cx, Method::POST, "/rest/api/2/search", Some(body))?
    } else {
        reply
    };
    classify(cx, reply)
}

/// The key of an issue known by id: Cloud's enhanced search may return
/// bare ids.
fn key_of(client: &Client, cx: &Ctx, id: &str) -> Result<String, SendError> {
    let cx = cx.call("get issue key");
    let path = format!("/rest/api/2/issue/{}?fields=summary", encode(id));
    let v = request(client, &cx, Method::GET, &path, None)?;
    need(&cx, &v, "/key")
}

pub(super) fn create(client: &Client, cx: &Ctx, spec: &TaskSpec) -> Result<TaskRef, SendError> {
    let cx = cx.call("create issue");
    let project = project(&cx)?;
    let issue_type =
        cx.t.issue_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("Task");
    let body = json!({
        "fields": {
            "project": { "key": project },
            "summary": title(&spec.title),
            "description": crate::text::truncate(&wiki(&spec.body), MAX_DESCRIPTION),
            "issuetype": { "name": issue_type },
            "labels": [spec.marker, LABEL],
        }
    });
    let v = request(client, &cx, Method::POST, "/rest/api/2/issue", Some(&body))?;
    let key = need(&cx, &v, "/key")?;
    Ok(TaskRef {
        url: browse(&cx, &key),
        id: need(&cx, &v, "/id")?,
        key,
    })
}

/// Characters Jira wiki markup gives a meaning somewhere in a line: bold,
/// italics, strike/list, underline, super/subscript, tables, images,
/// numbered lists, citations, links and macros.
const WIKI_SPECIAL: &[char] = &[
    '*', '_', '-', '+', '^', '~', '|', '!', '#', '?', '[', ']', '{', '}',
];

/// One character as wiki text: specials behind a backslash (wiki's escape);
/// a backslash itself as U+29F5 (two backslashes are wiki's line break,
/// and a backslash before a special would escape it), which looks the same.
fn wiki_char(c: char, out: &mut String) {
    if WIKI_SPECIAL.contains(&c) {
        out.push('\\');
        out.push(c);
    } else if c == '\\' {
        out.push('\u{29f5}');
    } else {
        out.push(c);
    }
}

/// The start of a line that would be a wiki block (`h1.` … `h6.`, `bq.`)
/// gets a word joiner after its first letter, which keeps the text.
fn wiki_line_start(line: &str, out: &mut String) -> usize {
    let lower = line.to_ascii_lowercase();
    let block = (lower.len() >= 3
        && lower.starts_with('h')
        && (b'1'..=b'6').contains(&lower.as_bytes()[1])
        && lower.as_bytes()[2] == b'.')
        || lower.starts_with("bq.");
    if block {
        let first = line.chars().next().expect("a letter");
        out.push(first);
        out.push('\u{2060}');
        first.len_utf8()
    } else {
        0
    }
}

/// Plain text (a close comment) as wiki text: nothing in it is markup.
pub(super) fn wiki_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let skip = wiki_line_start(line, &mut out);
        line[skip..].chars().for_each(|c| wiki_char(c, &mut out));
    }
    out
}

/// The task body, Markdown as `lifecycle::task` writes it, in wiki markup:
/// `- ` items become `* ` items, `` `code` `` becomes `{{code}}`, a
/// backslash-escaped character is user text and comes out as wiki text,
/// and every other character is escaped as well (the template's own text
/// has no markup but those two).
pub(super) fn wiki(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 8);
    for (i, line) in markdown.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let rest = match line.strip_prefix("- ") {
            Some(rest) => {
                out.push_str("* ");
                rest
            }
            None => &line[wiki_line_start(line, &mut out)..],
        };
        let mut chars = rest.chars();
        let mut code = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) => wiki_char(e, &mut out),
                    None => wiki_char('\\', &mut out),
                },
                '`' => {
                    out.push_str(if code { "}}" } else { "{{" });
                    code = !code;
                }
                c => wiki_char(c, &mut out),
            }
        }
        if code {
            // An unclosed span (not from the template) must not run on.
            out.push_str("}}");
        }
    }
    out
}

/// The transition that closes: by name first, else any into the done
/// status category.
fn closing(transitions: &[Value]) -> Option<&Value> {
    const NAMES: [&str; 9] = [
        "done",
        "resolved",
        "closed",
        "resolve issue",
        "close issue",
        "resolve",
        "close",
        "complete",
        "completed",
    ];
    let name = |t: &Value| {
        t.get("name")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    NAMES
        .iter()
        .find_map(|n| transitions.iter().find(|t| name(t) == *n))
        .or_else(|| {
            transitions.iter().find(|t| {
                t.pointer("/to/statusCategory/key").and_then(Value::as_str) == Some("done")
            })
        })
}

/// `fields` for the transition: a resolution when its screen has one.
fn resolution(transition: &Value) -> Option<Value> {
    let field = transition.pointer("/fields/resolution")?;
    let allowed = field
        .get("allowedValues")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pick = ["done", "fixed", "resolved"]
        .iter()
        .find_map(|want| {
            allowed.iter().find(|v| {
                v.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(want))
            })
        })
        .or_else(|| allowed.first());
    match pick.and_then(|v| text_at(v, "/id")) {
        Some(id) => Some(json!({ "resolution": { "id": id } })),
        None if field.get("required").and_then(Value::as_bool) == Some(true) => {
            Some(json!({ "resolution": { "name": "Done" } }))
        }
        None => None,
    }
}

pub(super) fn close(
    client: &Client,
    t: &TrackerConfig,
    task: &TaskRef,
    text: &str,
) -> Result<(), SendError> {
    let cx = Ctx::new(t, "comment on issue");
    // The id survives a move to another project; a task stored without one
    // (the column is nullable) has only its key, which the API takes too.
    let id = if task.id.trim().is_empty() {
        &task.key
    } else {
        &task.id
    };
    let path = format!("/rest/api/2/issue/{}", encode(id.trim()));
    let comment = json!({ "body": wiki_text(text) });
    let comments = format!("{path}/comment");
    request(client, &cx, Method::POST, &comments, Some(&comment))?;
    transition_to_done(client, &cx, &path)
}

/// Take the closing transition if the workflow offers one from here.
fn transition_to_done(client: &Client, cx: &Ctx, path: &str) -> Result<(), SendError> {
    let cx = cx.call("list transitions");
    let list = format!("{path}/transitions?expand=transitions.fields");
    let v = request(client, &cx, Method::GET, &list, None)?;
    let transitions = v
        .get("transitions")
        .and_then(Value::as_array)
        .ok_or_else(|| cx.unexpected("transitions", &v))?;
    let Some(transition) = closing(transitions) else {
        // Already closed, or a workflow without a way there: the
        // comment is all we can do.
        return Ok(());
    };
    let cx = cx.call("transition issue");
    let tid = need(&cx, transition, "/id")?;
    let mut body = json!({ "transition": { "id": tid } });
    if let Some(fields) = resolution(transition) {
        body["fields"] = fields;
    }
    let post = format!("{path}/transitions");
    request(client, &cx, Method::POST, &post, Some(&body))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{wiki, wiki_text, WIKI_SPECIAL};
    use crate::text::{markdown_escape, markdown_inline};

    const HOSTILE: [&str; 10] = [
        "*bold* _it_ -strike- +under+ ^sup^ ~sub~",
        "[link|http://evil] !http://evil/i.png!",
        "{code}x{code} {color:red}r{color}",
        "|| a || b || \\\\ break",
        "# numbered\n* bullet\n- dash",
        "h1. heading\nbq. quote\nH3. loud",
        "??cite?? {{mono}}",
        "`tick` \\ back\\slash",
        "<b>&amp;</b> @user",
        "1. one\n> quote",
    ];

    /// Every wiki special in `s` has a backslash before it, or is one of
    /// the template's own: a `* ` item start, `{{`, `}}`.
    fn assert_inert(s: &str) {
        for line in s.split('\n') {
            let body = line.strip_prefix("* ").unwrap_or(line);
            let body = body.replace("{{escalate show 7}}", "");
            let chars: Vec<char> = body.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                if WIKI_SPECIAL.contains(c) {
                    assert!(i > 0 && chars[i - 1] == '\\', "live {c:?} in {line:?}");
                }
                if *c == '\\' {
                    assert!(
                        chars.get(i + 1).is_some_and(|n| WIKI_SPECIAL.contains(n)),
                        "a bare backslash in {line:?}"
                    );
                }
            }
            let lower = body.to_ascii_lowercase();
            assert!(
                !(lower.starts_with("bq.")
                    || (lower.starts_with('h') && lower.get(2..3) == Some(".")))
            );
        }
    }

    #[test]
    fn task_bodies_become_wiki_markup_with_user_text_inert() {
        for h in HOSTILE {
            let body = format!(
                "escalate escalated issue #7 to level 2 ({}).\n\n- Owner: {}\n- Tags: {}\n\n{}\n\nTimeline: `escalate show 7`.\n",
                markdown_inline(h),
                markdown_inline(h),
                markdown_inline(h),
                markdown_escape(h)
            );
            let w = wiki(&body);
            assert!(w.contains("\n* Owner: "), "{w}");
            assert!(w.contains("Timeline: {{escalate show 7}}."), "{w}");
            assert_inert(&w);
            assert_inert(&wiki_text(h));
        }
    }

    #[test]
    fn user_text_keeps_its_characters() {
        assert_eq!(
            wiki(&format!("- Owner: {}", markdown_inline("a*b [c] -d \\e"))),
            "* Owner: a\\*b \\[c\\] \\-d \u{29f5}e"
        );
        assert_eq!(wiki_text("Resolved: h1. x"), "Resolved: h1. x");
        assert_eq!(wiki_text("h1. x"), "h\u{2060}1. x");
    }
}
