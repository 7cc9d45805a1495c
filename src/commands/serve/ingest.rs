//! `POST /ingest`: helpdesk events in the ingest schema (one object or an
//! array of them), authenticated by `[server] ingest_token` as a bearer
//! token. Idempotent like `escalate ingest`: an event seen before changes
//! nothing. Requests are committed in groups (every request waiting, one
//! transaction, one fsync: [`writer`]) and answered once committed;
//! notifications go out after that, console lines to the server's stderr.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::Mac;
use serde_json::{json, Value};

use super::App;
use crate::delivery;
use crate::lifecycle::ingest::{self, Effect};
use crate::model::ticket::{self, TicketEvent};
use crate::model::webhook;

/// Events accepted in one request.
const MAX_EVENTS: usize = 10_000;

/// Whether the request carries `Authorization: Bearer <token>`, compared in
/// constant time (through an HMAC of both sides, so lengths leak nothing).
pub fn bearer_ok(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // A MAC of the expected token checked against the given one: the
    // comparison is the hmac crate's constant-time `verify_slice`.
    let mac = |s: &str| {
        let mut m = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(b"escalate-bearer")
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        m.update(s.as_bytes());
        m
    };
    let expected = mac(token).finalize().into_bytes();
    !given.is_empty() && mac(given).verify_slice(&expected).is_ok()
}

fn answer(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// `/ingest`.
pub async fn generic(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = app
        .config
        .server
        .ingest_token
        .as_ref()
        .and_then(|t| t.resolve().ok())
    else {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": "ingest over HTTP is not enabled: set [server] ingest_token"}),
        );
    };
    if !bearer_ok(&headers, &token) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong bearer token"}),
        );
    }
    let events = match parse(&body) {
        Ok(e) => e,
        Err(e) => return answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": e })),
    };
    apply(&app, events).await
}

/// The body's events: one object or an array; each checked as an ingest
/// line is, so a bad one is named by its index.
pub fn parse(body: &[u8]) -> Result<Vec<Result<TicketEvent, String>>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let items = match v {
        Value::Array(items) => items,
        Value::Object(_) => vec![v],
        _ => return Err("expected an event object or an array of them".into()),
    };
    if items.len() > MAX_EVENTS {
        return Err(format!("at most {MAX_EVENTS} events per request"));
    }
    Ok(items
        .into_iter()
        .map(|item| match ticket::parse_line(&item.to_string()) {
            Ok(Some(ev)) => Ok(ev),
            Ok(None) => Err("empty event".to_string()),
            Err(e) => Err(e),
        })
        .collect())
}

/// Ingest requests queued for the writer at most (more wait to send).
pub const QUEUE: usize = 1024;
/// Requests committed together at most.
const MAX_BATCH: usize = 256;

/// What one request did: counts by effect, and the events refused.
type Outcome = (BTreeMap<&'static str, u64>, Vec<Value>);

/// One request's events, and where its answer goes.
pub struct Job {
    events: Vec<Result<TicketEvent, String>>,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, String>>,
}

/// Apply parsed events (through the writer, in one transaction with the
/// other requests waiting), then answer with what each did and name the
/// ones refused.
pub async fn apply(app: &Arc<App>, events: Vec<Result<TicketEvent, String>>) -> Response {
    let (reply, answer_rx) = tokio::sync::oneshot::channel();
    let sent = app.ingest.send(Job { events, reply }).await;
    let done = match sent {
        Ok(()) => answer_rx
            .await
            .unwrap_or_else(|_| Err("the writer stopped".into())),
        Err(_) => Err("the writer stopped".into()),
    };
    match done {
        Ok((counts, problems)) => {
            let status = if problems.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut v = json!(counts);
            v["problems"] = json!(problems);
            answer(status, v)
        }
        Err(e) => {
            eprintln!("escalate serve: ingest failed: {e}");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the database is busy or unavailable; nothing was written, retry"}),
            )
        }
    }
}

/// Group commit: take every request waiting (up to [`MAX_BATCH`]), apply
/// them all in one transaction, answer each as soon as it is committed,
/// then print the group's console lines (on this connection: a console
/// line cannot hang) and wake the [`deliverer`] for what goes over the
/// network. A database failure fails the whole group (nothing of it was
/// written) and every request is told to retry. A helpdesk waits for its
/// events to be stored, never for our receivers.
pub async fn writer(
    app: Arc<App>,
    mut rx: tokio::sync::mpsc::Receiver<Job>,
    wake: tokio::sync::mpsc::Sender<()>,
) {
    let network = app.config.sends_over_network();
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (batches, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.events, j.reply)).unzip();
        let done = app.db(move |app, store| commit(app, store, &batches)).await;
        let pending = match done {
            Ok((outcomes, pending)) => {
                // Flagged before anyone is answered: a SIGTERM that comes
                // after the answer still waits for these pages.
                app.deliveries_pending.fetch_add(1, Ordering::SeqCst);
                if network {
                    app.network_wanted.store(true, Ordering::SeqCst);
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
                pending
            }
            Err(e) => {
                let why = format!("{e:#}");
                for reply in replies {
                    let _ = reply.send(Err(why.clone()));
                }
                continue;
            }
        };
        let printed = app.db(move |app, store| deliver(app, store, pending)).await;
        if let Err(e) = printed {
            eprintln!("escalate serve: ingest: console lines failed (left in the outbox): {e:#}");
        }
        app.deliveries_pending.fetch_sub(1, Ordering::SeqCst);
        if network {
            // Full: a pass is already due, and it will see these rows.
            let _ = wake.try_send(());
        }
    }
}

/// Sends what goes over the network, one plain delivery pass per wake-up
/// (wake-ups during a pass make one more), on a database connection of its
/// own, so sends never hold the writer's. A pass that fails (a busy
/// database) is logged and retried after [`RETRY`] even if nothing new
/// arrives: the requests it follows were stored and told so, and their
/// pages must still go out.
pub async fn deliverer(
    app: Arc<App>,
    store: crate::store::Store,
    mut wake: tokio::sync::mpsc::Receiver<()>,
) {
    let store = Arc::new(std::sync::Mutex::new(store));
    let mut failed = false;
    loop {
        if failed {
            if let Ok(None) = tokio::time::timeout(RETRY, wake.recv()).await {
                return;
            }
        } else if wake.recv().await.is_none() {
            return;
        }
        app.delivering.store(true, Ordering::SeqCst);
        app.network_wanted.store(false, Ordering::SeqCst);
        let (shared, conn) = (Arc::clone(&app), Arc::clone(&store));
        let sent = tokio::task::spawn_blocking(move || pass(&shared, &conn)).await;
        failed = match sent {
            Ok(Ok(())) => false,
            Ok(Err(e)) => {
                eprintln!("escalate serve: ingest: delivery failed (retried): {e:#}");
                true
            }
            Err(e) => {
                eprintln!("escalate serve: ingest: delivery task failed (retried): {e}");
                true
            }
        };
        app.network_wanted.fetch_or(failed, Ordering::SeqCst);
        app.delivering.store(false, Ordering::SeqCst);
    }
}

/// How soon a failed delivery pass is tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// One plain pass over the outbox on the deliverer's connection.
fn pass(app: &App, store: &std::sync::Mutex<crate::store::Store>) -> anyhow::Result<()> {
    // A pass that panicked left no transaction open (rusqlite rolls back
    // on drop): the connection is still good, so a poisoned lock is taken
    // over rather than failing every later pass.
    let mut store = store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    to_stderr(|log| delivery::deliver(&mut store, &app.config, app.now(), log))
}

/// Run a delivery pass whose console lines go to the server's stderr
/// (gathered, then written at once, whatever the pass's outcome).
fn to_stderr<T>(pass: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<T>) -> anyhow::Result<()> {
    let mut log = Vec::new();
    let sent = pass(&mut log);
    if !log.is_empty() {
        eprint!("{}", String::from_utf8_lossy(&log));
    }
    sent.map(|_| ())
}

/// What a committed group leaves to print: the pass, and the console
/// rows it claimed inside the group's transaction.
type Pending = (delivery::Run, Vec<crate::model::Delivery>);

fn commit(
    app: &App,
    store: &mut crate::store::Store,
    batches: &[Vec<Result<TicketEvent, String>>],
) -> anyhow::Result<(Vec<Outcome>, Pending)> {
    let now = app.now();
    // The console's rows here; the network's are the deliverer's.
    let run = delivery::Run::new(&app.config, now, None).console_only();
    let mut outcomes = Vec::with_capacity(batches.len());
    let first = store.write(|tx| {
        outcomes.clear();
        for events in batches {
            let mut counts = BTreeMap::<&'static str, u64>::new();
            let mut problems = Vec::new();
            for (i, ev) in events.iter().enumerate() {
                let outcome = match ev {
                    Ok(ev) => ingest::apply(tx, &app.config, ev, now)?,
                    Err(e) => Err(e.clone()),
                };
                match outcome {
                    Ok(effect) => *counts.entry(word(effect)).or_default() += 1,
                    Err(e) => problems.push(json!({"index": i, "error": e})),
                }
            }
            outcomes.push((counts, problems));
        }
        run.claim_console(tx, &app.config)
    })?;
    Ok((outcomes, (run, first)))
}

/// Print a group's console lines (to the server's stderr) and record them.
fn deliver(
    app: &App,
    store: &mut crate::store::Store,
    (run, first): Pending,
) -> anyhow::Result<()> {
    to_stderr(|log| run.deliver(store, &app.config, log, first))
}

fn word(e: Effect) -> &'static str {
    match e {
        Effect::Created(_) => "created",
        Effect::Deduplicated(_) => "deduplicated",
        Effect::Updated(_) => "updated",
        Effect::Resolved(_) => "resolved",
        Effect::Reopened(_) => "reopened",
        Effect::Paused(_) => "paused",
        Effect::Resumed(_) => "resumed",
        Effect::Unchanged(_) => "unchanged",
        Effect::Duplicate => "duplicate",
    }
}

/// `/ingest/zendesk`: Zendesk's event-subscribed ticket webhooks, signed
/// with `[sources.zendesk] webhook_secret` (timestamp within 5 minutes).
pub async fn zendesk(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(secret) = source_secret(&app, webhook::ZENDESK) else {
        return not_enabled(webhook::ZENDESK);
    };
    let checked = webhook::zendesk_request(
        secret.as_bytes(),
        header(webhook::ZENDESK_TIMESTAMP),
        header(webhook::ZENDESK_SIGNATURE),
        &body,
        app.now(),
    );
    vendor(&app, webhook::ZENDESK, checked).await
}

/// `/ingest/intercom`: Intercom conversation webhooks, signed (`X-Hub-Signature`)
/// with `[sources.intercom] webhook_secret`.
pub async fn intercom(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = source_secret(&app, webhook::INTERCOM) else {
        return not_enabled(webhook::INTERCOM);
    };
    let signature = headers
        .get(webhook::INTERCOM_SIGNATURE)
        .and_then(|v| v.to_str().ok());
    let checked = webhook::intercom_request(secret.as_bytes(), signature, &body);
    vendor(&app, webhook::INTERCOM, checked).await
}

fn source_secret(app: &App, source: &str) -> Option<String> {
    app.config
        .webhook_secret(source)
        .and_then(|s| s.resolve().ok())
}

fn not_enabled(source: &str) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({"error": format!("{source} webhooks are not enabled: set [sources.{source}] webhook_secret")}),
    )
}

/// A vendor request checked by `model::webhook`: 401 or 422 with nothing
/// stored, or its events applied like `/ingest`'s.
async fn vendor(
    app: &Arc<App>,
    source: &str,
    checked: Result<Vec<TicketEvent>, webhook::Rejected>,
) -> Response {
    match checked {
        Ok(events) => apply(app, events.into_iter().map(Ok).collect()).await,
        Err(webhook::Rejected::Unauthorized(why)) => {
            eprintln!("escalate serve: {source} webhook refused: {why}");
            answer(
                StatusCode::UNAUTHORIZED,
                json!({"error": "signature missing, wrong or stale"}),
            )
        }
        Err(webhook::Rejected::Unreadable(why)) => {
            answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": why }))
        }
    }
}
