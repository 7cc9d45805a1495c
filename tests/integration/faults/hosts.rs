//! Several checker hosts on one PostgreSQL database (issue 16): four
//! `check` processes at once divide hundreds of due issues and send every
//! notification exactly once to a live receiver; one killed mid-batch
//! leaves its work to the others once its lease runs out, nothing lost;
//! a server that drops the check's connection (a restart) fails that
//! check with one line and exit 5, and the next completes. Each test
//! makes its own database on the server `ESCALATE_TEST_PG` names (set by
//! `.ci/run`); without one they return early.

use std::time::{Duration, Instant};

use super::*;
use crate::support::peer::Peer;
use crate::support::pg;

/// A config where every role posts to one webhook, in a directory whose
/// commands all use a fresh PostgreSQL database; `n` issues created over
/// the last days so that a check at "+3d" finds every one due.
fn on_postgres(peer: &Peer, n: usize) -> Option<Env> {
    let Some(admin) = pg::available() else {
        eprintln!("skipped: no ESCALATE_TEST_PG server");
        return None;
    };
    let env = Env::on_postgres(&hooked(1, ""), &admin);
    point(&env, 1, &|p| peer.url(p));
    env.run(&["init"]).ok();
    let mut batch = String::new();
    for i in 0..n {
        batch.push_str(&format!(
            "{{\"type\":\"ticket.created\",\"source\":\"t\",\"chain\":\"customer_issue\",\
             \"external_id\":\"{i}\",\"title\":\"host {i}\",\"at\":\"2026-11-02T09:00:00Z\"}}\n"
        ));
    }
    std::fs::write(env.path("batch.jsonl"), batch).expect("batch");
    env.test()
        .at("2026-11-02T09:00:00Z")
        .args(["ingest", "batch.jsonl"])
        .run();
    Some(env)
}

/// Every outbox row sent, each webhook row posted `at_most` times and at
/// least once, the decisions taken once.
fn assert_all_sent_once(env: &Env, peer: &Peer, at_most: usize) -> Vec<Value> {
    let rows = env.outbox("all");
    let sent = env.outbox("sent");
    assert_eq!(sent.len(), rows.len(), "every row sent");
    let posts = posts_per_delivery(&peer.requests(), |_| true);
    for row in &rows {
        let n = posts.get(&int(row, "id")).copied().unwrap_or(0);
        assert!(n >= 1, "row never posted (lost): {row}");
        assert!(n <= at_most, "row posted {n} times: {row}");
    }
    assert_notified_once_per_row(env, &sent);
    assert_escalated_once(env);
    rows
}

fn check_on(env: &Env, host: &str) -> std::process::Child {
    env.test()
        .at("2026-11-05T09:00:00Z")
        .env("ESCALATE_HOSTNAME", host)
        .args(["check"])
        .spawn()
}

/// Wait (at most a minute) until the receiver has `n` requests.
fn wait_for_posts(peer: &Peer, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while peer.count() < n {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A check on `host` once the 5-minute leases of the first round ran out.
fn check_after_the_lease(env: &Env, host: &str) {
    env.test()
        .at("2026-11-05T09:06:00Z")
        .env("ESCALATE_HOSTNAME", host)
        .args(["check"])
        .run();
}

#[test]
fn four_checkers_divide_the_due_issues_and_send_everything_exactly_once() {
    let peer = Peer::start();
    let Some(env) = on_postgres(&peer, 600) else {
        return;
    };
    let at_create = peer.count();
    // A receiver slow enough that each checker is still sending its batch
    // while the others decide theirs.
    peer.delay(Duration::from_millis(2));
    let checkers: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|h| check_on(&env, h))
        .collect();
    for child in checkers {
        let r = Run::wait(child);
        r.no_panic();
        assert_eq!(r.code, 0, "{r:?}");
    }
    let rows = assert_all_sent_once(&env, &peer, 1);
    // 600 issues: level 1 at ingest, then levels 2, 3 and 4.
    assert_eq!(rows.len(), 600 * 4, "rows");
    assert!(peer.count() > at_create, "the checks sent");
    // The work was divided: the hosts' runs examined 600 issues in all,
    // more than one host took a batch.
    let status = env.at("2026-11-05T09:01:00Z", &["status", "--json"]).json();
    let hosts = status["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 4, "{status}");
    let mut c = env.pg.as_ref().expect("pg").client();
    let per_host: Vec<(String, i64)> = c
        .query(
            "SELECT host, sum(examined)::bigint FROM runs GROUP BY host ORDER BY host",
            &[],
        )
        .expect("runs")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        per_host.iter().map(|(_, n)| n).sum::<i64>(),
        600,
        "{per_host:?}"
    );
    assert!(
        per_host.iter().filter(|(_, n)| *n > 0).count() >= 2,
        "one host did everything: {per_host:?}"
    );
    // Nothing left for a fifth.
    let before = peer.count();
    env.at("2026-11-05T09:02:00Z", &["check"]).ok();
    assert_eq!(peer.count(), before);
}

#[test]
fn a_checker_killed_mid_batch_leaves_its_work_to_the_others_nothing_lost() {
    let peer = Peer::start();
    let Some(env) = on_postgres(&peer, 300) else {
        return;
    };
    let at_create = peer.count();
    peer.delay(Duration::from_millis(20));
    let mut victim = check_on(&env, "victim");
    wait_for_posts(&peer, at_create + 5, "the victim sent nothing");
    victim.kill().expect("SIGKILL");
    let _ = victim.wait();
    peer.delay(Duration::ZERO);
    let others: Vec<_> = ["b", "c", "d"].iter().map(|h| check_on(&env, h)).collect();
    for child in others {
        let r = Run::wait(child);
        r.no_panic();
        assert_eq!(r.code, 0, "{r:?}");
    }
    // The victim's leased rows wait for their lease (5 minutes); a check
    // after it sends them.
    check_after_the_lease(&env, "b");
    // At most the sends in flight at the kill went twice.
    let rows = assert_all_sent_once(&env, &peer, 2);
    assert_eq!(rows.len(), 300 * 4, "rows");
}

#[test]
fn a_server_restart_during_a_check_fails_it_with_one_line_and_the_next_completes() {
    let peer = Peer::start();
    let Some(env) = on_postgres(&peer, 200) else {
        return;
    };
    let Some(admin) = pg::available() else { return };
    let name = env.pg.as_ref().expect("pg").name.clone();
    let at_create = peer.count();
    peer.delay(Duration::from_millis(20));
    let child = check_on(&env, "a");
    wait_for_posts(&peer, at_create + 3, "the check sent nothing");
    // What a restart does to every session: terminated by the server.
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
        &[&name],
    )
    .expect("terminate");
    let r = Run::wait(child);
    assert_eq!(r.code, 5, "{r:?}");
    r.one_line_error("database postgres://");
    peer.delay(Duration::ZERO);
    check_after_the_lease(&env, "a");
    assert_all_sent_once(&env, &peer, 2);
}

/// The server really restarted (`ESCALATE_TEST_PG_RESTART`, a command that
/// restarts it and returns once it is back; `.ci/run` runs this test alone,
/// since every other test's connections are cut too): the check caught in
/// it fails with one line and exit 5, and the next run completes.
#[test]
fn a_real_server_restart_during_a_check_fails_it_and_the_next_completes() {
    let Ok(restart) = std::env::var("ESCALATE_TEST_PG_RESTART") else {
        eprintln!("skipped: no ESCALATE_TEST_PG_RESTART command");
        return;
    };
    let peer = Peer::start();
    let Some(env) = on_postgres(&peer, 200) else {
        return;
    };
    let at_create = peer.count();
    peer.delay(Duration::from_millis(20));
    let child = check_on(&env, "a");
    wait_for_posts(&peer, at_create + 3, "the check sent nothing");
    let status = std::process::Command::new("sh")
        .args(["-c", &restart])
        .status()
        .expect("restart command");
    assert!(status.success(), "{restart}: {status}");
    let r = Run::wait(child);
    assert_eq!(r.code, 5, "{r:?}");
    r.one_line_error("database postgres://");
    peer.delay(Duration::ZERO);
    check_after_the_lease(&env, "a");
    assert_all_sent_once(&env, &peer, 2);
}

/// A server that stops answering mid-check (a backend stuck on its disk:
/// the connection stays open, nothing comes back): the check gives up
/// after --busy-timeout + --stall-timeout with one line and exit 5 instead
/// of hanging in cron; once the server drops that session (its
/// transaction rolled back, its lock released), the next check completes
/// and every notification went out, at most the ones in flight twice.
#[test]
fn a_server_that_stalls_mid_check_fails_it_and_the_next_completes() {
    let peer = Peer::start();
    let Some(env) = on_postgres(&peer, 200) else {
        return;
    };
    let url = env.pg.as_ref().expect("pg").url.clone();
    let relay = Relay::start(&url);
    let at_create = peer.count();
    peer.delay(Duration::from_millis(20));
    let child = env
        .test()
        .at("2026-11-05T09:00:00Z")
        .env("ESCALATE_DB", &relay.url)
        .args(["--busy-timeout", "1", "--stall-timeout", "2", "check"])
        .spawn();
    wait_for_posts(&peer, at_create + 3, "the check sent nothing");
    relay.freeze();
    let r = Run::wait_at_most(child, Duration::from_secs(30));
    assert_eq!(r.code, 5, "{r:?}");
    r.one_line_error("for 3 s; gave up");
    // The server notices the session is gone.
    relay.cut();
    peer.delay(Duration::ZERO);
    check_after_the_lease(&env, "a");
    assert_all_sent_once(&env, &peer, 2);
}

/// A TCP relay to the PostgreSQL server in a URL that can freeze (pass
/// nothing either way, every socket kept open, as a stuck server does)
/// and then cut every connection.
struct Relay {
    url: String,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    fn start(url: &str) -> Relay {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let (scheme, rest) = url.split_once("://").expect("scheme");
        let (authority, path) = rest.split_once('/').expect("path");
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        // Every address the name has (`connect` tries each in turn).
        let target = if hostport.contains(':') {
            hostport.to_string()
        } else {
            format!("{hostport}:5432")
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (frozen, cut) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (f, c) = (frozen.clone(), cut.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target.as_str()) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let (f, c) = (f.clone(), c.clone());
                    std::thread::spawn(move || pump(from, to, &f, &c));
                }
            }
        });
        Relay {
            url: format!("{scheme}://{user}127.0.0.1:{port}/{path}"),
            frozen,
            cut,
        }
    }

    fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn pump(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    frozen: &std::sync::atomic::AtomicBool,
    cut: &std::sync::atomic::AtomicBool,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if cut.load(Ordering::SeqCst) {
            let _ = from.shutdown(std::net::Shutdown::Both);
            let _ = to.shutdown(std::net::Shutdown::Both);
            return;
        }
        if frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}
