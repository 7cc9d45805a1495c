//! A per-client rate limit for the action and ingest routes: a token bucket
//! per (client address, route class), refilled continuously. Small on
//! purpose: the buckets live in one map behind a mutex, capped in size, so
//! a flood of addresses cannot grow it without bound.
//!
//! Behind a reverse proxy every request comes from the proxy: with the
//! proxy in `[server] trusted_proxies`, the client is the right-most
//! `X-Forwarded-For` address that is not itself a trusted proxy (what the
//! nearest untrusted hop said). From anyone else the header is ignored, so
//! a client cannot pick its own bucket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

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
    let trusted = &app.config.server.trusted_proxies;
    let who = client(peer.ip(), req.headers(), trusted);
    if app.limits.take(who, ingest, Instant::now()) {
        return next.run(req).await;
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "1")],
        "too many requests: slow down\n",
    )
        .into_response()
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy,
/// else the right-most untrusted `X-Forwarded-For` hop (all of the
/// request's `X-Forwarded-For` headers, in order). A header that does not
/// parse ends the walk at the last good hop.
fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    // A dual-stack listener sees an IPv4 proxy as ::ffff:a.b.c.d: compare
    // (and count) addresses in their plain form.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut who = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) => {
                who = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    who
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = v.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_its_last_untrusted_hop() {
        let trusted: Vec<IpNet> = ["127.0.0.1/32", "10.0.0.0/8"]
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        let local: IpAddr = [127, 0, 0, 1].into();
        let stranger: IpAddr = [198, 51, 100, 9].into();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        // Only a trusted peer's header counts.
        assert_eq!(client(stranger, &xff(&["203.0.113.5"]), &trusted), stranger);
        assert_eq!(
            Some(client(local, &xff(&["203.0.113.5"]), &trusted)),
            ip("203.0.113.5")
        );
        // A client's own claim left of the real hop is not believed; inner
        // proxies are skipped.
        assert_eq!(
            Some(client(
                local,
                &xff(&["1.2.3.4, 203.0.113.5", "10.1.1.1"]),
                &trusted
            )),
            ip("203.0.113.5")
        );
        // No header, or garbage: the proxy (or the last good hop).
        assert_eq!(client(local, &xff(&[]), &trusted), local);
        assert_eq!(
            Some(client(local, &xff(&["junk, 203.0.113.7"]), &trusted)),
            ip("203.0.113.7")
        );
        assert_eq!(client(local, &xff(&["203.0.113.7, junk"]), &trusted), local);
        // Nothing trusted: the header is ignored.
        assert_eq!(client(local, &xff(&["203.0.113.5"]), &[]), local);
        // A dual-stack listener's view of an IPv4 proxy is trusted too.
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("v6");
        assert_eq!(
            Some(client(mapped, &xff(&["::ffff:203.0.113.5"]), &trusted)),
            ip("203.0.113.5")
        );
    }

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
