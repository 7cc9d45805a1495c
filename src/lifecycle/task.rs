//! Engineering tasks: reaching a level with `create_task` asks for one
//! through the outbox, with its text written from the issue as it stands.
//! The body is markdown (GitHub, Linear; Jira converts it to wiki markup)
//! with every user string escaped, so a description cannot add links,
//! images or HTML to the task.

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::Page;
use crate::model::delivery::TaskWork;
use crate::model::event::Details;
use crate::model::time::rfc3339;
use crate::model::{Issue, Notice, Ts};
use crate::store::{events, issues, outbox, NewDelivery};
use crate::text::{markdown_escape, markdown_inline as md};

/// The outbox channel of engineering-task work.
pub const TRACKER_CHANNEL: &str = "tracker";

/// Reaching a level with `create_task` asks for an engineering task — once
/// per issue — through the outbox (created after commit, retried like any
/// delivery, looked up before created so a crash cannot duplicate it). The
/// task's text is written now, with the issue as it stands.
pub(super) fn request_task(
    tx: &Tx,
    config: &Config,
    issue: &Issue,
    page: &Page,
    now: Ts,
) -> Result<()> {
    let Some(tracker) = config
        .chain(&issue.chain)
        .and_then(|c| c.level(page.level))
        .and_then(|l| l.create_task.clone())
    else {
        return Ok(());
    };
    if issue.edge.task.is_some() || outbox::task_target(tx, issue.id)?.is_some() {
        return Ok(());
    }
    let mut body = format!(
        "escalate escalated issue #{} to level {} ({}) of chain `{}`.\n\n",
        issue.id,
        page.level,
        md(&page.role),
        issue.chain
    );
    body.push_str(&format!("- Opened: {}\n", rfc3339(issue.created_at)));
    if let (Some(source), Some(ext)) = (&issue.edge.source, &issue.edge.external_id) {
        body.push_str(&format!("- Source: {} ticket {}\n", md(source), md(ext)));
    }
    if let Some(r) = &issue.external_ref {
        body.push_str(&format!("- Reference: {}\n", md(r)));
    }
    if let Some(p) = &issue.edge.priority {
        body.push_str(&format!("- Priority: {}\n", md(p)));
    }
    if !issue.edge.tags.is_empty() {
        let tags: Vec<String> = issue.edge.tags.iter().map(|t| md(t)).collect();
        body.push_str(&format!("- Tags: {}\n", tags.join(", ")));
    }
    body.push_str(&format!("- Owner: {}\n", md(&issue.owner)));
    for (name, clock) in [
        ("response", issue.sla.response),
        ("resolution", issue.sla.resolution),
    ] {
        if let Some(c) = clock {
            body.push_str(&format!(
                "- SLA {name}: {} (due {})\n",
                c.state.as_str(),
                rfc3339(c.due_at)
            ));
        }
    }
    body.push_str("\nLevel history:\n");
    for e in events::for_issue(tx, issue.id)? {
        let role = match &e.details {
            Details::Created(c) => Some(&c.owner),
            Details::Escalated(x) => Some(&x.role),
            _ => None,
        };
        if let Some(role) = role {
            body.push_str(&format!(
                "- {} level {} {}\n",
                rfc3339(e.at),
                e.level.unwrap_or(1),
                md(role)
            ));
        }
    }
    if let Some(d) = &issue.description {
        // Lines kept (it is a description), markup not.
        body.push_str(&format!("\n{}\n", markdown_escape(d)));
    }
    body.push_str(&format!(
        "\nTimeline: `escalate show {}`. Resolving the issue in escalate closes this task.\n",
        issue.id
    ));
    let payload = TaskWork {
        marker: format!("escalate-{}-{}", issues::instance(tx)?, issue.id),
        title: format!("[escalate #{}] {}", issue.id, issue.title),
        body,
        comment: String::new(),
    }
    .to_payload();
    outbox::enqueue(
        tx,
        &NewDelivery {
            issue_id: issue.id,
            notice: Notice::TaskCreate,
            payload: Some(&payload),
            // Per escalation: a request cancelled by a resolve does not
            // block a new one after a reopen.
            epoch: page.epoch,
            level: 0,
            repeat: 0,
            role: &page.role,
            channel: TRACKER_CHANNEL,
            target: &tracker,
            due_at: now,
            person: None,
        },
        now,
    )?;
    Ok(())
}
