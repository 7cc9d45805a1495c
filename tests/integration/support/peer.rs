//! A webhook/Slack receiver on the shared HTTP server: records every
//! request, and answers each with the current answer — a status (200 until
//! told otherwise, with `Retry-After` when set, after a delay when set), or
//! no answer at all (the connection held, like a stuck peer).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{Action, Request, Server};

/// How long a hanging peer holds a connection before dropping it.
const HANG: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
struct Mode {
    /// `None`: hang.
    status: Option<u16>,
    /// How the body goes out.
    body: Body,
    retry_after: Option<u64>,
    delay: Duration,
}

/// How a peer sends the body of its answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `ok`, with its length.
    Ok,
    /// One byte per 200 ms, forever.
    Drip,
    /// Endless, as fast as it is read.
    Endless,
}

pub struct Peer {
    server: Server,
    mode: Arc<Mutex<Mode>>,
}

impl Peer {
    /// Answers 200 `ok` at once until told otherwise.
    pub fn start() -> Peer {
        let mode = Arc::new(Mutex::new(Mode {
            status: Some(200),
            body: Body::Ok,
            retry_after: None,
            delay: Duration::ZERO,
        }));
        let current = Arc::clone(&mode);
        let server = Server::start(move |_| {
            let mode = *current.lock().expect("lock");
            let Some(code) = mode.status else {
                return Action::Hang(HANG);
            };
            match mode.body {
                Body::Ok => {}
                Body::Drip => {
                    return Action::Drip {
                        status: code,
                        every: Duration::from_millis(200),
                    }
                }
                Body::Endless => return Action::Endless { status: code },
            }
            let reply = Action::reply(code, "ok").after(mode.delay);
            match mode.retry_after {
                Some(s) => reply.header("retry-after", &s.to_string()),
                None => reply,
            }
        });
        Peer { server, mode }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Answer with this status from now on (no `Retry-After`).
    pub fn answer(&self, code: u16) {
        self.answer_with(code, Body::Ok);
    }

    /// Answer with this status and `Retry-After: SECONDS` from now on.
    pub fn answer_retry_after(&self, code: u16, seconds: u64) {
        let mut mode = self.mode.lock().expect("lock");
        mode.status = Some(code);
        mode.retry_after = Some(seconds);
    }

    /// Answer with this status and a body sent this way from now on.
    pub fn answer_with(&self, code: u16, body: Body) {
        let mut mode = self.mode.lock().expect("lock");
        mode.status = Some(code);
        mode.retry_after = None;
        mode.body = body;
    }

    /// Read requests but never answer them from now on.
    pub fn hang(&self) {
        self.mode.lock().expect("lock").status = None;
    }

    /// Wait this long before each answer from now on.
    pub fn delay(&self, delay: Duration) {
        self.mode.lock().expect("lock").delay = delay;
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// How many requests were read so far.
    pub fn count(&self) -> usize {
        self.server.count()
    }

    /// The requests to exactly this path.
    pub fn on(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}
