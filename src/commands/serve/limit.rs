//! A per-client rate limit for the action and ingest routes: a token bucket
//! per (client address, route class), refilled continuously. Small on
//! purpose: the buckets live in one map behind a mutex, capped in size, so
//! a flood of addresses cannot grow it without bound.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

/// Buckets kept at most; past it the map starts over (every client gets a
/// full bucket again: a cap on memory, not a way around the limit, since a
/// client must spread over this many addresses to profit).
const MAX_CLIENTS: usize = 10_000;

/// (burst, per second) of a route class.
#[derive(Debug, Clone, Copy)]
struct Rate {
    burst: f64,
    per_second: f64,
}

/// People clicking links: a few a second is already a lot.
const ACTIONS: Rate = Rate {
    burst: 20.0,
    per_second: 2.0,
};
/// Helpdesks pushing webhooks: bursts of hundreds are normal, and a
/// backfill may push thousands a second (the target is 1,000/s sustained,
/// with room above it).
const INGEST: Rate = Rate {
    burst: 10_000.0,
    per_second: 5_000.0,
};

#[derive(Default)]
pub struct Limits {
    buckets: Mutex<HashMap<(IpAddr, bool), (f64, Instant)>>,
}

impl Limits {
    /// Take one token for `ip` in the class (`ingest` or actions); false
    /// when the bucket is empty.
    fn take(&self, ip: IpAddr, ingest: bool, now: Instant) -> bool {
        let rate = if ingest { INGEST } else { ACTIONS };
        let Ok(mut map) = self.buckets.lock() else {
            return true;
        };
        if map.len() >= MAX_CLIENTS && !map.contains_key(&(ip, ingest)) {
            map.clear();
        }
        let (tokens, last) = map.entry((ip, ingest)).or_insert((rate.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * rate.per_second;
        *tokens = (*tokens + refill).min(rate.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Middleware: 429 with `Retry-After` when the client's bucket is empty.
pub async fn per_client(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let ingest = req.uri().path().starts_with("/ingest");
    if app.limits.take(peer.ip(), ingest, Instant::now()) {
        return next.run(req).await;
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "1")],
        "too many requests: slow down\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_empties_and_refills() {
        let l = Limits::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t = Instant::now();
        for _ in 0..20 {
            assert!(l.take(ip, false, t));
        }
        assert!(!l.take(ip, false, t), "burst spent");
        assert!(l.take([10, 0, 0, 2].into(), false, t), "others unaffected");
        assert!(l.take(ip, true, t), "ingest has its own bucket");
        assert!(
            l.take(ip, false, t + Duration::from_millis(500)),
            "2/s refill"
        );
        assert!(!l.take(ip, false, t + Duration::from_millis(500)));
    }
}
