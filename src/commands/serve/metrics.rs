//! `GET /healthz` (non-200 when `escalate status` would exit 3: no check
//! within the expected interval, or dead notifications) and `GET /metrics`
//! (Prometheus text exposition format 0.0.4).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::model::OutboxStatus;
use crate::store::{health, metrics, outbox};

/// `/healthz`: 200 "ok", or 503 naming what is wrong.
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    let now = app.now();
    let found = app
        .db(move |app, store| {
            store.read(|tx| {
                let last = health::last_run(tx, now + health::SKEW)?;
                let dead = outbox::count(tx, OutboxStatus::Dead)?;
                Ok((
                    last.and_then(|r| r.started_at),
                    dead,
                    app.config.checker.expected_interval,
                ))
            })
        })
        .await;
    let (last, dead, expected) = match found {
        Ok(x) => x,
        Err(e) => {
            eprintln!("escalate serve: healthz: {e:#}");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let mut problems = Vec::new();
    match last {
        None => problems.push("no check has ever run".to_string()),
        Some(t) if now - t > expected => problems.push(format!(
            "stale: the last check ran {} ago (expected every {})",
            crate::model::time::human(now - t),
            crate::model::time::human(expected)
        )),
        Some(_) => {}
    }
    if dead > 0 {
        problems.push(format!("{dead} dead notification(s)"));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", problems.join("; ")),
        )
            .into_response()
    }
}

/// `/metrics`.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let now = app.now();
    let found = app
        .db(move |_, store| {
            store.read(|tx| {
                let last = health::last_run(tx, now + health::SKEW)?.and_then(|r| r.started_at);
                Ok((metrics::figures(tx)?, last))
            })
        })
        .await;
    let (f, last) = match found {
        Ok(x) => x,
        Err(e) => {
            eprintln!("escalate serve: metrics: {e:#}");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let text = exposition(
        &f,
        last.map(|t| (now - t).num_milliseconds() as f64 / 1000.0),
    );
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// A label value escaped as the exposition format demands.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn exposition(f: &metrics::Figures, since_check: Option<f64>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP escalate_open_issues Unresolved issues by chain, level and recorded SLA state."
    );
    let _ = writeln!(o, "# TYPE escalate_open_issues gauge");
    for c in &f.open {
        let _ = writeln!(
            o,
            "escalate_open_issues{{chain=\"{}\",level=\"{}\",sla_state=\"{}\"}} {}",
            label(&c.chain),
            c.level,
            label(&c.sla_state),
            c.count
        );
    }
    let _ = writeln!(
        o,
        "# HELP escalate_notifications_sent_total Notifications delivered, by channel."
    );
    let _ = writeln!(o, "# TYPE escalate_notifications_sent_total counter");
    for c in &f.sent {
        let _ = writeln!(
            o,
            "escalate_notifications_sent_total{{channel=\"{}\"}} {}",
            label(&c.channel),
            c.count
        );
    }
    let _ = writeln!(
        o,
        "# HELP escalate_notifications_failed_total Failed delivery attempts, by channel."
    );
    let _ = writeln!(o, "# TYPE escalate_notifications_failed_total counter");
    for c in &f.failed {
        let _ = writeln!(
            o,
            "escalate_notifications_failed_total{{channel=\"{}\"}} {}",
            label(&c.channel),
            c.count
        );
    }
    let _ = writeln!(
        o,
        "# HELP escalate_outbox_pending Notifications waiting to be sent."
    );
    let _ = writeln!(o, "# TYPE escalate_outbox_pending gauge");
    let _ = writeln!(o, "escalate_outbox_pending {}", f.pending);
    let _ = writeln!(
        o,
        "# HELP escalate_outbox_dead Notifications that failed for good."
    );
    let _ = writeln!(o, "# TYPE escalate_outbox_dead gauge");
    let _ = writeln!(o, "escalate_outbox_dead {}", f.dead);
    let _ = writeln!(o, "# HELP escalate_breaches_total SLA breaches recorded.");
    let _ = writeln!(o, "# TYPE escalate_breaches_total counter");
    let _ = writeln!(o, "escalate_breaches_total {}", f.breaches);
    if let Some(s) = since_check {
        let _ = writeln!(
            o,
            "# HELP escalate_seconds_since_last_check Seconds since the last check run started."
        );
        let _ = writeln!(o, "# TYPE escalate_seconds_since_last_check gauge");
        let _ = writeln!(o, "escalate_seconds_since_last_check {s}");
    }
    o
}
