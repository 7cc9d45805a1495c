//! `GET /`: the live board, a read-only page of open issues grouped by SLA
//! state (breached, paused, at risk, on track), each with its owner, level,
//! next escalation and SLA time left, judged at the server's `now` the way
//! `list` judges them. It reloads itself every minute with a `<meta>`
//! refresh (no JavaScript), is one column of cards (readable on a phone),
//! and every piece of issue text goes through [`esc`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::page::{esc, html};
use super::App;
use crate::engine;
use crate::model::sla::State as Sla;
use crate::model::{Issue, Ts};
use crate::render::list::sla_cell;
use crate::render::time::relative;
use crate::store::{issues, IssueFilter};

/// Most issues one page shows; past it the page says how many it left out
/// (a board of thousands is not read, and the query stays bounded).
const MAX_SHOWN: u64 = 500;
/// Seconds between reloads.
const REFRESH: u32 = 60;

/// The groups, in the order the page shows them (worst first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Breached,
    AtRisk,
    OnTrack,
    Paused,
}

impl Group {
    const ALL: [Group; 4] = [
        Group::Breached,
        Group::AtRisk,
        Group::OnTrack,
        Group::Paused,
    ];

    fn title(self) -> &'static str {
        match self {
            Group::Breached => "Breached",
            Group::AtRisk => "At risk",
            Group::OnTrack => "On track",
            Group::Paused => "Paused",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Group::Breached => "breached",
            Group::AtRisk => "at-risk",
            Group::OnTrack => "on-track",
            Group::Paused => "paused",
        }
    }
}

/// Where `i` goes at `now`. A breach outranks a pause (the deadline has
/// passed whatever happens next); a pause outranks "at risk", since its
/// clock is stopped and nobody can act on the risk until it resumes.
fn group(i: &Issue, now: Ts) -> Group {
    match crate::render::issue::live(&i.sla, now).summary() {
        Some(Sla::Breached) => Group::Breached,
        _ if i.pause.is_some() => Group::Paused,
        Some(Sla::AtRisk) => Group::AtRisk,
        _ => Group::OnTrack,
    }
}

/// `GET /`.
pub async fn board(State(app): State<Arc<App>>) -> Response {
    let read = app
        .db(|app, store| {
            let now = app.now();
            let (rows, total) = store
                .read(|tx| issues::list(tx, IssueFilter::Unresolved, None, None, MAX_SHOWN, now))?;
            Ok((rows, total, now))
        })
        .await;
    match read {
        Ok((rows, total, now)) => page(&app, &rows, total, now),
        Err(e) => {
            eprintln!("escalate serve: board failed: {e:#}");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "Board unavailable",
                "<p>The database is busy or unavailable; this page retries in a minute.</p>",
            )
        }
    }
}

fn page(app: &App, rows: &[Issue], total: u64, now: Ts) -> Response {
    let mut body = String::new();
    let mut counts = Vec::new();
    for g in Group::ALL {
        let members: Vec<&Issue> = rows.iter().filter(|i| group(i, now) == g).collect();
        counts.push(format!("{} {}", members.len(), g.title().to_lowercase()));
        body.push_str(&format!(
            "<section id=\"{}\"><h2>{} ({})</h2>",
            g.id(),
            g.title(),
            members.len()
        ));
        if members.is_empty() {
            body.push_str("<p class=\"none\">None.</p>");
        } else {
            body.push_str("<ul>");
            for i in members {
                body.push_str(&card(app, i, now));
            }
            body.push_str("</ul>");
        }
        body.push_str("</section>");
    }
    if total > rows.len() as u64 {
        body.push_str(&format!(
            "<p class=\"more\">{} more open issues are not shown; use <code>escalate list</code>.</p>",
            total - rows.len() as u64
        ));
    }
    let stamp = crate::model::time::rfc3339(now);
    let doc = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH}\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>escalate: {open} open</title><style>{CSS}</style></head><body>\
         <header><h1>Open issues</h1><p class=\"meta\">{summary} · as of \
         <time datetime=\"{stamp}\">{stamp}</time> · reloads every minute</p></header>\n\
         {body}\n</body></html>\n",
        open = total,
        summary = counts.join(" · "),
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Our markup only: no scripts at all, so escaped text stays text
            // even if an escape were ever missed.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        doc,
    )
        .into_response()
}

/// One issue: its title, then owner, level, next escalation and SLA.
fn card(app: &App, i: &Issue, now: Ts) -> String {
    let chain = app.config.chain_for(i);
    let next = match (&i.pause, chain) {
        (Some(p), _) => match p.until {
            Some(u) if u > now => format!("paused, resumes {}", relative(u, now)),
            Some(_) => "resumes at next check".to_string(),
            None => "paused".to_string(),
        },
        (None, None) => "orphaned (chain not in the config)".to_string(),
        (None, Some(c)) => match engine::next_due(&i.esc, c) {
            // Past due: the next check takes it (cron may be late).
            Some(t) if t <= now => format!("overdue, due {}", relative(t, now)),
            Some(t) => relative(t, now),
            None => "none (last level)".to_string(),
        },
    };
    let acked = match (&i.acked_by, i.esc.status) {
        (Some(by), crate::model::Status::Acknowledged) => format!(", acknowledged by {}", esc(by)),
        _ => String::new(),
    };
    // Deep links from the config: the ticket (its id percent-encoded) and
    // the chain's runbook; escaped as attribute values like all else.
    let links: String = crate::render::show::deep_links(i, Some(&app.config))
        .into_iter()
        .map(|(what, url)| {
            format!(
                " <a class=\"link\" rel=\"noreferrer\" href=\"{}\">{}</a>",
                esc(&url),
                esc(what.trim_end_matches([':', ' ']))
            )
        })
        .collect();
    format!(
        "<li class=\"issue\" data-id=\"{id}\"><p class=\"title\"><span class=\"id\">#{id}</span> \
         {title}{links}</p><dl><dt>Owner</dt><dd class=\"owner\">{owner}{acked}</dd>\
         <dt>Level</dt><dd class=\"level\">{level} ({chain})</dd>\
         <dt>Next escalation</dt><dd class=\"next\">{next}</dd>\
         <dt>SLA</dt><dd class=\"sla\">{sla}</dd></dl></li>",
        id = i.id,
        title = esc(&i.title),
        owner = esc(&i.owner),
        level = i.esc.level,
        chain = esc(&i.chain),
        next = esc(&next),
        sla = esc(&sla_cell(&i.sla, now)),
    )
}

/// Small, readable at 320 px, dark-mode aware; colour only repeats what
/// the headings say.
const CSS: &str = "body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:48em;padding:0 .8em}\
h1{font-size:1.4em;margin:.6em 0 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:2px solid #999}\
.meta,.none,.more{color:#666;font-size:.9em}ul{list-style:none;margin:0;padding:0}\
.issue{border:1px solid #ccc;border-left-width:6px;border-radius:4px;margin:.5em 0;padding:.4em .7em}\
.title{margin:0 0 .3em;font-weight:600;overflow-wrap:anywhere}.id{color:#666}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:0 .8em;margin:0;font-size:.95em}\
dt{color:#666}dd{margin:0;overflow-wrap:anywhere}\
#breached .issue{border-left-color:#c62828}#at-risk .issue{border-left-color:#ef8f00}\
#on-track .issue{border-left-color:#2e7d32}#paused .issue{border-left-color:#777}\
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.issue{border-color:#444}}";
