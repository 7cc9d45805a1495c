//! A small keep-alive HTTP/1.1 server on 127.0.0.1 for the tests that play a
//! peer (Slack, webhooks, subscribers, GitHub/Jira/Linear): reads requests
//! with `Content-Length` bodies, asks a handler what to do with each, and
//! records every request it has read.
//!
//! Order per request: read it, call the handler, record it (with the status
//! it is about to be answered with), then act: answer (after the reply's
//! delay), hold the connection unanswered, or drop it. So a request is
//! counted as soon as its answer is decided, also when it is never answered,
//! and the answer cannot change after a test saw the request arrive.
//! Each test file keeps its behaviour (statuses on demand, delays, stateful
//! fakes) in its handler.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target, query included.
    pub path: String,
    /// Header names lowercased, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status this server answered with (None: it never answered). Set
    /// once the handler has decided; always None inside the handler.
    pub answered: Option<u16>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// `POST /repos/acme/app/issues`: the method and path without the query.
    pub fn route(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("");
        format!("{} {path}", self.method)
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Action {
    /// Answer after `delay`; `content-length` is added to `headers`.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay: Duration,
    },
    /// Hold the connection unanswered for this long, then drop it.
    Hang(Duration),
    /// Drop the connection without answering.
    Close,
    /// Answer `status` at once (no length: the body runs to the end of the
    /// connection), then drip the body one byte per `every`, forever (until
    /// the client hangs up).
    Drip { status: u16, every: Duration },
    /// Answer `status` at once, then stream an endless body as fast as the
    /// client reads it (until it hangs up).
    Endless { status: u16 },
}

impl Action {
    /// `status` with `body` and no other header.
    pub fn reply(status: u16, body: impl Into<String>) -> Action {
        Action::Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with a `content-type: application/json` body.
    pub fn json(status: u16, body: impl Into<String>) -> Action {
        Action::reply(status, body).header("content-type", "application/json")
    }

    /// Adds a header to a reply.
    pub fn header(mut self, name: &str, value: &str) -> Action {
        if let Action::Reply { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Delays a reply (the request is recorded before the wait).
    pub fn after(mut self, wait: Duration) -> Action {
        if let Action::Reply { delay, .. } = &mut self {
            *delay = wait;
        }
        self
    }
}

type Handler = dyn Fn(&Request) -> Action + Send + Sync;

/// The server: runs until the test process ends.
pub struct Server {
    pub port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Listens on a fresh port of 127.0.0.1.
    pub fn start(handler: impl Fn(&Request) -> Action + Send + Sync + 'static) -> Server {
        Server::on(TcpListener::bind("127.0.0.1:0").expect("bind"), handler)
    }

    /// Serves on `listener`: a port chosen (or known) before the handler is
    /// made, e.g. a server coming back on a port.
    pub fn on(
        listener: TcpListener,
        handler: impl Fn(&Request) -> Action + Send + Sync + 'static,
    ) -> Server {
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, handler) = (Arc::clone(&shared), Arc::clone(&handler));
                std::thread::spawn(move || serve(stream, &seen, &*handler));
            }
        });
        Server { port, seen }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request read so far, in the order their answers were decided.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("lock").clone()
    }

    /// How many requests were read so far (without copying them).
    pub fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }
}

/// One connection: requests until the client hangs up or a read fails.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, handler: &Handler) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut stream = stream;
    while let Some(mut req) = read(&mut reader) {
        let action = handler(&req);
        req.answered = match action {
            Action::Reply { status, .. }
            | Action::Drip { status, .. }
            | Action::Endless { status } => Some(status),
            Action::Hang(_) | Action::Close => None,
        };
        seen.lock().expect("lock").push(req);
        let (status, headers, body, delay) = match action {
            Action::Reply {
                status,
                headers,
                body,
                delay,
            } => (status, headers, body, delay),
            Action::Hang(wait) => {
                std::thread::sleep(wait);
                return;
            }
            Action::Close => return,
            Action::Drip { status, every } => return drip(&mut stream, status, every),
            Action::Endless { status } => return endless(&mut stream, status),
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let reply = format!(
            "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// Headers of a reply whose body runs until the connection closes.
fn open_ended(stream: &mut TcpStream, status: u16) -> bool {
    let head =
        format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).is_ok()
}

/// One byte per `every` until the client hangs up (or 10 minutes pass).
fn drip(stream: &mut TcpStream, status: u16, every: Duration) {
    if !open_ended(stream, status) {
        return;
    }
    let give_up = std::time::Instant::now() + Duration::from_secs(600);
    while std::time::Instant::now() < give_up {
        if stream
            .write_all(b"x")
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        std::thread::sleep(every);
    }
}

/// An endless body until the client hangs up (or 10 GiB were written).
fn endless(stream: &mut TcpStream, status: u16) {
    if !open_ended(stream, status) {
        return;
    }
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..(10 * 1024 * 16) {
        if stream.write_all(&chunk).is_err() {
            return;
        }
    }
}

/// The next request on a connection (None at its end or on a bad read).
fn read(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k, v.trim().to_string()));
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: None,
    })
}
