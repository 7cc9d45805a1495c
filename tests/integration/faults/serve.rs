//! `serve` SIGKILLed while helpdesks push tickets to `/ingest` from several
//! connections and its pages go out to many slow receivers: every ticket
//! the server answered 200 for is stored, once; a helpdesk that resends
//! everything after the restart creates nothing twice; every page is
//! delivered, and only the sends in flight at the kill are repeated.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{hooked, int, integrity, notes, point, posts_per_delivery};
use crate::support::peer::Peer;
use crate::support::serve::listening_port;
use crate::support::*;

const TOKEN: &str = "fault-ingest-token";
const PER_ROLE: usize = 4;
const CLIENTS: usize = 4;
const TICKETS_PER_CLIENT: usize = 20;

/// `serve` on an ephemeral port at `when`; (child, port).
fn start(env: &Env, when: &str) -> (Child, u16) {
    let mut child = env
        .test()
        .at(when)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .spawn();
    let port = listening_port(&mut child);
    // Drain stderr (console lines, logs) so the server never blocks on it.
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut err, &mut std::io::sink());
        });
    }
    (child, port)
}

/// One ticket as the ingest schema has it; the two chains page two
/// different level-1 roles (8 receivers).
fn ticket(n: usize) -> String {
    format!(
        r#"{{"type":"ticket.created","source":"zendesk","external_id":"T{n}","id":"ev-{n}","title":"Ticket {n}","chain":"{chain}"}}"#,
        chain = if n % 2 == 0 {
            "customer_issue"
        } else {
            "system_outage"
        }
    )
}

/// POST one ticket; the status, or None when the server was gone.
fn push(port: u16, n: usize) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let body = ticket(n);
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
}

/// Every ticket pushed by `CLIENTS` threads, each its own share in order,
/// until the server is gone; the tickets answered 200.
fn push_all(port: u16, stop: &Arc<AtomicBool>) -> BTreeSet<usize> {
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(stop));
            std::thread::spawn(move || {
                for i in 0..TICKETS_PER_CLIENT {
                    let n = c * TICKETS_PER_CLIENT + i;
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match push(port, n) {
                        Some(200) => {
                            acked.lock().expect("lock").insert(n);
                        }
                        Some(code) => panic!("ticket {n}: HTTP {code}"),
                        None => return,
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let set = acked.lock().expect("lock").clone();
    set
}

/// The external ids stored, with how many issues each has.
fn stored(env: &Env) -> BTreeMap<String, usize> {
    let list = env
        .run(&["list", "--status", "all", "--limit", "0", "--json"])
        .ok()
        .json();
    let mut out = BTreeMap::new();
    for issue in list.as_array().expect("issues") {
        let title = issue["title"].as_str().unwrap_or("").to_string();
        *out.entry(title).or_insert(0) += 1;
    }
    out
}

/// One round: kill `serve` once the receivers saw `k` requests.
fn kill_after(k: usize) -> usize {
    let config = hooked(
        PER_ROLE,
        &format!(
            "[server]\ningest_token = \"{TOKEN}\"\n\n[delivery]\nconcurrency = 4\ntimeout_seconds = 5\n"
        ),
    );
    let env = Env::with_config(&config);
    let peer = Peer::start();
    peer.delay(Duration::from_millis(20));
    point(&env, PER_ROLE, &|p| peer.url(p));
    env.run(&["init"]).ok();

    let (mut child, port) = start(&env, "2026-11-02T09:00:00Z");
    let stop = Arc::new(AtomicBool::new(false));
    let pushing = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || push_all(port, &stop))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while peer.count() < k {
        assert!(Instant::now() < deadline, "k={k}: no page arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    stop.store(true, Ordering::SeqCst);
    let acked = pushing.join().expect("pusher");
    // Requests the dead server had fully sent are read by now.
    std::thread::sleep(Duration::from_millis(200));
    let seen_at_kill = peer.count();
    assert_eq!(integrity(&env), "ok", "k={k}: right after the kill");

    // Every ticket answered 200 is stored, once.
    let before = stored(&env);
    for n in &acked {
        assert_eq!(
            before.get(&format!("Ticket {n}")),
            Some(&1),
            "k={k}: ticket {n} was acknowledged, so it must be stored once"
        );
    }
    let sent_before: BTreeSet<i64> = env
        .outbox("all")
        .iter()
        .filter(|r| r["status"] == "sent")
        .map(|r| int(r, "id"))
        .collect();

    // The helpdesk resends everything once the server is back, past the
    // killed server's delivery lease; a check delivers what it left.
    let (mut child, port) = start(&env, "2026-11-02T09:06:00Z");
    let all = push_all(port, &Arc::new(AtomicBool::new(false)));
    assert_eq!(
        all.len(),
        CLIENTS * TICKETS_PER_CLIENT,
        "k={k}: all answered"
    );
    // Stopped as a supervisor stops it: the pages of what it answered go
    // out before it exits.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopped = child.wait().expect("serve stops");
    assert!(stopped.success(), "k={k}: SIGTERM: {stopped:?}");
    let r = env.at("2026-11-02T09:12:00Z", &["check"]);
    assert_eq!(r.code, 0, "k={k}: the check after: {r:?}");

    let after = stored(&env);
    assert_eq!(
        after.len(),
        CLIENTS * TICKETS_PER_CLIENT,
        "k={k}: {after:?}"
    );
    assert!(
        after.values().all(|&c| c == 1),
        "k={k}: a ticket twice: {after:?}"
    );
    let rows = env.outbox("all");
    assert!(
        rows.iter().all(|r| r["status"] == "sent"),
        "k={k}: not everything delivered: {rows:?}"
    );
    let reqs = peer.requests();
    let resent = posts_per_delivery(&reqs[seen_at_kill..], |_| true);
    for id in &sent_before {
        assert!(
            !resent.contains_key(id),
            "k={k}: row {id} was recorded as sent before the kill, yet sent again"
        );
    }
    let posts = posts_per_delivery(&reqs, |_| true);
    for row in &rows {
        let n = posts.get(&int(row, "id")).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "k={k}: row posted {n} times: {row}");
    }
    // Only the sends in flight at the kill are repeated: at most
    // `concurrency` requests after the restart carry a row posted before.
    let posted_before: BTreeSet<i64> = posts_per_delivery(&reqs[..seen_at_kill], |_| true)
        .into_keys()
        .collect();
    let repeated = reqs[seen_at_kill..]
        .iter()
        .filter(|r| notes(r).iter().any(|n| posted_before.contains(&n.delivery)))
        .count();
    assert!(repeated <= 4, "k={k}: {repeated} requests repeated rows");
    eprintln!(
        "k={k}: {} of {} tickets acknowledged before the kill, {} stored, {} rows sent \
         before it, {repeated} requests repeated",
        acked.len(),
        CLIENTS * TICKETS_PER_CLIENT,
        before.len(),
        sent_before.len()
    );
    acked.len()
}

#[test]
fn serve_sigkilled_mid_ingest_keeps_every_acknowledged_ticket_once() {
    let acked: Vec<usize> = [1, 3, 6].into_iter().map(kill_after).collect();
    assert!(
        acked.iter().any(|&n| n < CLIENTS * TICKETS_PER_CLIENT),
        "no kill landed while tickets were still coming in: {acked:?}"
    );
}
