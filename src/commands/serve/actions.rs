//! `/a/TOKEN`: signed action links. `GET` shows what the link would do (a
//! mail scanner that prefetches it changes nothing); `POST` does it, once,
//! as the person (or role) the link was sent to. Expired, tampered,
//! already-used and stale links (from an earlier escalation round: a
//! reopen, a lapsed ack) each get a clear page and change nothing.

use std::sync::Arc;

use anyhow::Result;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeDelta;

use super::page::{esc, html};
use super::App;
use crate::error::code_of;
use crate::lifecycle::{self, Hold};
use crate::model::link::{self, Action, Link, Refused};
use crate::model::time::rfc3339;
use crate::model::Issue;
use crate::store::links;
use crate::store::Tx;

/// How long "Snooze 1 h" pauses.
const SNOOZE: TimeDelta = TimeDelta::hours(1);

/// A page for the person who followed the link.
struct Answer {
    status: StatusCode,
    title: String,
    body: String,
}

impl Answer {
    fn refused(status: StatusCode, title: &str, why: &str) -> Answer {
        Answer {
            status,
            title: esc(title),
            body: format!("<p>{}</p><p>Nothing was changed.</p>", esc(why)),
        }
    }

    fn page(self) -> Response {
        html(self.status, &self.title, &self.body)
    }
}

/// The link in `token`, or the page that says why not.
fn check(app: &App, token: &str) -> Result<Link, Answer> {
    let Some(secret) = app
        .config
        .server
        .secret
        .as_ref()
        .and_then(|s| s.resolve().ok())
    else {
        return Err(Answer::refused(
            StatusCode::NOT_FOUND,
            "Links are not enabled",
            "This server has no [server] secret, so it signs and accepts no links.",
        ));
    };
    link::verify(secret.as_bytes(), token, app.now()).map_err(|r| match r {
        Refused::Tampered => Answer::refused(
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "It was changed, cut short, or signed by another server.",
        ),
        Refused::Expired => Answer::refused(
            StatusCode::GONE,
            "This link has expired",
            "Use a newer message, or the command line.",
        ),
    })
}

/// Why a verified link did not act, in plain words (the link page
/// escapes them into HTML, `/slack/actions` sends them to Slack as text).
pub(super) struct Refusal {
    pub status: StatusCode,
    pub title: String,
    /// Says who acted first where that is known.
    pub why: String,
}

impl Refusal {
    fn new(status: StatusCode, title: &str, why: String) -> Refusal {
        Refusal {
            status,
            title: title.to_string(),
            why,
        }
    }

    fn answer(self) -> Answer {
        Answer::refused(self.status, &self.title, &self.why)
    }
}

/// Why the link cannot act on `issue` now, if it cannot.
fn stale(l: &Link, issue: &Issue, used: Option<links::Used>) -> Option<Refusal> {
    if let Some(u) = used {
        return Some(Refusal::new(
            StatusCode::CONFLICT,
            "This link was already used",
            format!("{} used it at {}.", u.actor, rfc3339(u.at)),
        ));
    }
    if issue.esc.epoch != l.epoch {
        return Some(Refusal::new(
            StatusCode::CONFLICT,
            "This link is from an earlier round",
            format!(
                "Issue #{} was reopened or escalated again since this message was sent; use the newest one.",
                issue.id
            ),
        ));
    }
    None
}

/// Perform verified link `l` (its token's fingerprint `mac`) as `actor`
/// (`via` says where the click came from, for the recorded reason),
/// inside the caller's write transaction: once per link (marked used in
/// the same transaction), only in the epoch it was signed for, and only
/// if the issue's state allows it. The one code path of `/a/TOKEN` and
/// Slack's buttons, so a click and a link race on the same rows and
/// exactly one wins.
pub(super) fn act_once(
    tx: &Tx,
    app: &App,
    l: &Link,
    actor: &str,
    via: Via,
    mac: &str,
    now: crate::model::Ts,
) -> Result<Result<Issue, Refusal>> {
    let Some(issue) = crate::store::issues::get(tx, l.issue_id)? else {
        return Ok(Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "No such issue",
            format!("Issue #{} does not exist in this database.", l.issue_id),
        )));
    };
    if let Some(r) = stale(l, &issue, links::used(tx, mac)?) {
        return Ok(Err(r));
    }
    let after = match perform(tx, app, l, actor, via, now) {
        Ok(issue) => issue,
        // Refused by the issue's state (already acked by someone else,
        // resolved): say so, change nothing.
        Err(e) if code_of(&e) == crate::error::Code::IssueConflict => {
            return Ok(Err(Refusal::new(
                StatusCode::CONFLICT,
                "Nothing to do",
                format!("{e:#}"),
            )))
        }
        Err(e) => return Err(e),
    };
    links::mark(tx, mac, l.issue_id, l.action.as_str(), actor, now)?;
    Ok(Ok(after))
}

fn summary(issue: &Issue) -> String {
    format!(
        "<dl><dt>Issue</dt><dd>#{} {}</dd><dt>Owner</dt><dd>{} ({})</dd>\
         <dt>State</dt><dd>{}, level {}{}</dd></dl>",
        issue.id,
        esc(&issue.title),
        esc(&issue.owner),
        issue.owner_kind.as_str(),
        issue.esc.status.as_str(),
        issue.esc.level,
        if issue.pause.is_some() {
            ", paused"
        } else {
            ""
        }
    )
}

/// `GET /a/TOKEN`: what the link would do, and a button to do it.
pub async fn confirm(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let l = match check(&app, &token) {
        Ok(l) => l,
        Err(a) => return a.page(),
    };
    let mac = link::fingerprint(&token).to_string();
    let found = app
        .db(move |_, store| {
            store.read(|tx| {
                let issue = crate::store::issues::get(tx, l.issue_id)?;
                let used = links::used(tx, &mac)?;
                Ok((l, issue, used))
            })
        })
        .await;
    let (l, issue, used) = match found {
        Ok(x) => x,
        Err(e) => return failed(&e),
    };
    let Some(issue) = issue else {
        return gone(l.issue_id);
    };
    if let Some(r) = stale(&l, &issue, used) {
        return r.answer().page();
    }
    let body = format!(
        "{}<form method=\"post\"><button type=\"submit\">{} as {}</button></form>",
        summary(&issue),
        l.action.label(),
        esc(&l.actor)
    );
    html(
        StatusCode::OK,
        &format!("{} issue #{}?", l.action.label(), issue.id),
        &body,
    )
}

/// `POST /a/TOKEN`: act, once, in one transaction with marking the link
/// used.
pub async fn act(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let l = match check(&app, &token) {
        Ok(l) => l,
        Err(a) => return a.page(),
    };
    let mac = link::fingerprint(&token).to_string();
    let done = app
        .db(move |app, store| {
            let now = app.now();
            store.write(|tx| {
                let actor = l.actor.clone();
                Ok(act_once(tx, app, &l, &actor, Via::Link, &mac, now)?.map(|issue| (l, issue)))
            })
        })
        .await;
    match done {
        Ok(Ok((l, issue))) => {
            eprintln!(
                "escalate serve: {} issue #{} by {} (link)",
                l.action.as_str(),
                issue.id,
                crate::text::one_line(&l.actor)
            );
            let body = summary(&issue);
            html(
                StatusCode::OK,
                &format!("Done: {} #{}", past(l.action), issue.id),
                &body,
            )
        }
        Ok(Err(r)) => r.answer().page(),
        Err(e) => failed(&e),
    }
}

/// Where an action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Link,
    Slack,
}

fn perform(
    tx: &Tx,
    app: &App,
    l: &Link,
    actor: &str,
    via: Via,
    now: crate::model::Ts,
) -> Result<Issue> {
    match l.action {
        Action::Ack => lifecycle::acknowledge(tx, &app.config, l.issue_id, actor, now),
        Action::Resolve => lifecycle::resolve(
            tx,
            l.issue_id,
            actor,
            Some(match via {
                Via::Link => "resolved from a link",
                Via::Slack => "resolved from Slack",
            }),
            now,
        ),
        Action::Snooze => lifecycle::pause(
            tx,
            &app.config,
            l.issue_id,
            Hold {
                until: Some(now + SNOOZE),
                reason: Some(match via {
                    Via::Link => "snoozed for 1 h from a link",
                    Via::Slack => "snoozed for 1 h from Slack",
                }),
            },
            actor,
            now,
        ),
    }
}

pub(super) fn past(a: Action) -> &'static str {
    match a {
        Action::Ack => "acknowledged",
        Action::Resolve => "resolved",
        Action::Snooze => "snoozed for 1 h",
    }
}

fn gone(id: i64) -> Response {
    Answer::refused(
        StatusCode::NOT_FOUND,
        "No such issue",
        &format!("Issue #{id} does not exist in this database."),
    )
    .page()
}

/// A failure that is not the link's: logged (without the token), and a
/// page that says nothing changed (the transaction rolled back).
fn failed(e: &anyhow::Error) -> Response {
    eprintln!("escalate serve: action failed: {e:#}");
    Answer::refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "Could not act",
        "The database is busy or unavailable; try again in a moment.",
    )
    .page()
}
