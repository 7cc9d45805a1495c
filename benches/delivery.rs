//! Delivery benchmark: 1,000 notifications to distinct webhook URLs on a
//! local HTTP endpoint that answers each request after 50 ms. Run with
//! `cargo bench --bench delivery`. Prints wall time and requests/s; the
//! figures go in BENCHMARKS.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use escalate::config::Config;
use escalate::lifecycle::{self, Filing};
use escalate::store::Store;

const SENDS: usize = 1000;
const LATENCY: Duration = Duration::from_millis(50);

/// A keep-alive HTTP server answering 200 after `LATENCY`, thread per
/// connection.
fn serve(count: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    std::thread::sleep(LATENCY);
                    count.fetch_add(1, Ordering::Relaxed);
                    let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn main() {
    let count = Arc::new(AtomicUsize::new(0));
    let port = serve(Arc::clone(&count));
    let hooks: Vec<String> = (0..SENDS)
        .map(|i| format!("\"http://127.0.0.1:{port}/hook/{i}\""))
        .collect();
    let toml = format!(
        "[chains.bench]\nlevels = [{{ role = \"r\", wait_hours = 1 }}]\n\
         [roles.r]\nwebhook = [{}]\n",
        hooks.join(", ")
    );
    let config = Config::parse(&toml, std::path::Path::new("bench.toml")).expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let mut store = Store::open(
        &db,
        escalate::store::OpenMode::Create,
        Duration::from_secs(10),
    )
    .expect("store");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("time");
    let chain = config.chain("bench").expect("chain").clone();
    store
        .write(|tx| {
            lifecycle::create(
                tx,
                &config,
                &chain,
                &Filing {
                    title: "bench",
                    ..Filing::default()
                },
                "bench",
                now,
            )
        })
        .expect("create");
    println!(
        "delivering {SENDS} notifications to distinct URLs, endpoint latency {} ms, concurrency {}",
        LATENCY.as_millis(),
        config.delivery.concurrency
    );
    let start = Instant::now();
    let outcome = escalate::delivery::deliver(&mut store, &config, now, &mut std::io::sink())
        .expect("deliver");
    let took = start.elapsed();
    assert_eq!(outcome.sent as usize, SENDS, "all sent: {outcome:?}");
    assert_eq!(count.load(Ordering::Relaxed), SENDS, "exactly once each");
    println!(
        "sent {} in {:.2} s ({:.0} requests/s); serial would take {:.0} s",
        outcome.sent,
        took.as_secs_f64(),
        SENDS as f64 / took.as_secs_f64(),
        SENDS as f64 * LATENCY.as_secs_f64()
    );
}
