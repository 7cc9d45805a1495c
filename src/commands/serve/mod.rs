//! `escalate serve`: one optional long-running process beside cron. It
//! shares the database and its locking with every other command (each
//! request is one `Store::write` transaction, so it never leaves one half
//! done), and adds what a shell cannot: signed action links (`/a/TOKEN`),
//! helpdesk webhooks (`/ingest`), health and metrics, and, with
//! `check_every`, the check itself.
//!
//! Limits: a body-size cap, a timeout on the headers and on each request
//! (reading its body included), a bound on requests in flight, and a
//! per-client rate limit on the action and ingest routes. Logs name routes and outcomes, never a
//! token or secret. SIGTERM or Ctrl-C stops accepting, lets requests in
//! flight finish, then exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;

use super::{Ctx, Io};
use crate::config::Config;
use crate::error::{usage, Code};
use crate::model::Ts;
use crate::store::Store;

mod actions;
mod board;
mod ingest;
mod limit;
mod metrics;
mod page;
mod slack;

/// Largest request body (an ingest batch of a few thousand events).
const MAX_BODY: usize = 4 << 20;
/// Longest a request may take, reading its body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Requests handled at once; more wait for a slot.
const MAX_IN_FLIGHT: usize = 64;
/// Longest a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one write of an answer may wait for the client to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest SIGTERM waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// What every handler shares.
pub struct App {
    config: Config,
    store: Mutex<Store>,
    db_path: PathBuf,
    busy_timeout: Duration,
    config_path: PathBuf,
    /// `--now`/`ESCALATE_NOW` given: the server's clock stands still (tests).
    fixed_now: Option<Ts>,
    limits: limit::Limits,
    /// Ingest requests wait here for the writer, which commits every
    /// request waiting in one transaction (one fsync for many).
    ingest: tokio::sync::mpsc::Sender<ingest::Job>,
    /// Committed ingest groups whose console lines are not printed yet,
    /// and whether network pages are owed or being sent: SIGTERM waits
    /// for all of it (at most [`DRAIN`]).
    deliveries_pending: std::sync::atomic::AtomicUsize,
    network_wanted: std::sync::atomic::AtomicBool,
    delivering: std::sync::atomic::AtomicBool,
}

impl App {
    /// The server's idea of now.
    pub fn now(&self) -> Ts {
        self.fixed_now.unwrap_or_else(Utc::now)
    }

    /// Run `f` on the database off the async threads (SQLite blocks).
    pub async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App, &mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = app
                .store
                .lock()
                .map_err(|_| anyhow::anyhow!("the database handle was poisoned by a panic"))?;
            f(&app, &mut store)
        })
        .await
        .context("database task")?
    }

    /// A `Ctx` for reusing a command (the in-process check) at `now`.
    fn ctx(&self, now: Ts) -> Ctx {
        Ctx {
            config_path: self.config_path.clone(),
            db_path: self.db_path.clone(),
            now,
            busy_timeout: self.busy_timeout,
            fixed_now: self.fixed_now.is_some(),
        }
    }
}

pub fn run(ctx: &Ctx, listen: &str, io: &mut Io) -> Result<Code> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        usage(format!(
            "--listen `{}` is not HOST:PORT (e.g. 127.0.0.1:8025)",
            listen.escape_debug()
        ))
    })?;
    let config = ctx.config()?;
    let store = ctx.store()?;
    let (ingest, jobs) = tokio::sync::mpsc::channel(ingest::QUEUE);
    let app = Arc::new(App {
        ingest,
        deliveries_pending: std::sync::atomic::AtomicUsize::new(0),
        network_wanted: std::sync::atomic::AtomicBool::new(false),
        delivering: std::sync::atomic::AtomicBool::new(false),
        limits: limit::Limits::default(),
        config,
        store: Mutex::new(store),
        db_path: ctx.db_path.clone(),
        busy_timeout: ctx.busy_timeout,
        config_path: ctx.config_path.clone(),
        fixed_now: ctx.fixed_now.then_some(ctx.now),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    // Opened before listening: a database that cannot be opened twice
    // fails the start, not the first delivery. Opened outside the
    // runtime: the PostgreSQL driver runs its own and may not start it
    // inside another.
    let delivery_store = app.ctx(app.now()).store()?;
    let code = runtime.block_on(serve(app, delivery_store, jobs, addr, io));
    // A delivery pass still running after the drain's deadline is not
    // waited for: its rows stay leased and a later run sends them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn serve(
    app: Arc<App>,
    delivery_store: Store,
    jobs: tokio::sync::mpsc::Receiver<ingest::Job>,
    addr: SocketAddr,
    io: &mut Io<'_>,
) -> Result<Code> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().context("listening address")?;
    // The one line a supervisor (and a test) waits for.
    writeln!(io.out, "escalate serve: listening on http://{local}")?;
    io.out.flush()?;
    let (wake, woken) = tokio::sync::mpsc::channel(1);
    tokio::spawn(ingest::writer(Arc::clone(&app), jobs, wake));
    tokio::spawn(ingest::deliverer(Arc::clone(&app), delivery_store, woken));
    if let Some(every) = app.config.server.check_every {
        tokio::spawn(check_loop(Arc::clone(&app), every));
    }
    let router = router(Arc::clone(&app));
    let stopping = accept(listener, router).await;
    drain_deliveries(&app, stopping).await;
    eprintln!("escalate serve: stopped");
    Ok(Code::Ok)
}

/// The accept loop: hyper's HTTP/1 connection builder, for what axum's
/// `serve` does not expose — a limit on how long a client may take to send
/// its headers (a slow-headers client otherwise holds its connection
/// forever). On SIGTERM it stops accepting and waits for the connections
/// in flight (at most [`DRAIN`]).
/// Returns when it began to stop (the drain's deadlines count from there).
async fn accept(listener: tokio::net::TcpListener, router: Router) -> tokio::time::Instant {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                // A transient accept error (out of descriptors): go on.
                Err(e) => {
                    eprintln!("escalate serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = router
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let service = hyper_util::service::TowerToHyperService::new(service);
        // Every write must make progress within WRITE_TIMEOUT: a client
        // that stops reading its answer is cut off.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(Box::pin(stream)), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that hangs up or times out is its own business.
            let _ = conn.await;
        });
    }
    drop(listener);
    let stopping = tokio::time::Instant::now();
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("escalate serve: connections still open after {DRAIN:?}; stopping anyway");
    }
    stopping
}

/// Waits (until [`DRAIN`] after `stopping`) for the pages of ingest
/// requests already answered: stopping then loses none of them to a lease
/// (which a later run would honour, then send them late).
async fn drain_deliveries(app: &App, stopping: tokio::time::Instant) {
    use std::sync::atomic::Ordering;
    let deadline = stopping + DRAIN;
    let busy = || {
        app.deliveries_pending.load(Ordering::SeqCst) > 0
            || app.network_wanted.load(Ordering::SeqCst)
            || app.delivering.load(Ordering::SeqCst)
    };
    while busy() {
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "escalate serve: pages still being sent after {DRAIN:?}; stopping anyway (they stay \
                 leased in the outbox and a later run sends them)"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn router(app: Arc<App>) -> Router {
    let limited = Router::new()
        .route("/a/{token}", get(actions::confirm).post(actions::act))
        .route("/ingest", post(ingest::generic))
        .route("/ingest/zendesk", post(ingest::zendesk))
        .route("/ingest/intercom", post(ingest::intercom))
        .route("/slack/actions", post(slack::actions))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            limit::per_client,
        ));
    Router::new()
        .route("/", get(board::board))
        .route("/healthz", get(metrics::healthz))
        .route("/metrics", get(metrics::metrics))
        .merge(limited)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_IN_FLIGHT))
        .with_state(app)
}

/// SIGTERM (systemd, docker) or Ctrl-C.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("escalate serve: shutting down (finishing requests in flight)");
}

/// `check_every`: run the check command in-process, one at a time, its
/// console output to stderr.
async fn check_loop(app: Arc<App>, every: chrono::TimeDelta) {
    let period = every.to_std().unwrap_or(Duration::from_secs(300));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let app = Arc::clone(&app);
        let done = tokio::task::spawn_blocking(move || {
            let ctx = app.ctx(app.now());
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut io = Io {
                out: &mut out,
                err: &mut err,
            };
            let r = super::check::run(&ctx, false, &mut io);
            let mut stderr = std::io::stderr().lock();
            let _ = std::io::Write::write_all(&mut stderr, &out);
            let _ = std::io::Write::write_all(&mut stderr, &err);
            r
        })
        .await;
        match done {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("escalate serve: check failed: {e:#}"),
            Err(e) => eprintln!("escalate serve: check task failed: {e}"),
        }
    }
}
