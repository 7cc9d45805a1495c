//! PostgreSQL as the store (issue 16): moving a SQLite database up with
//! `migrate --to`, and a server that is not there, refuses us, hangs or
//! dies: one line, exit 5, no password shown. These tests need a server
//! (`ESCALATE_TEST_PG`, which `.ci/run` sets); without one they return
//! early.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::pg::{self, Db};
use crate::support::{Env, STARTER};

/// A SQLite environment (whatever the run) with `n` issues from an
/// ingested batch and a check's escalations.
fn sqlite_history(n: usize) -> Env {
    let env = Env::with_config(STARTER);
    // This history is a SQLite file even on the PostgreSQL run.
    let db = env.db();
    let db = db.to_string_lossy().to_string();
    env.set_var("ESCALATE_DB", &db);
    env.run(&["init"]).ok();
    let mut batch = String::new();
    for i in 0..n {
        batch.push_str(&format!(
            "{{\"type\":\"ticket.created\",\"source\":\"zd\",\"chain\":\"customer_issue\",\"external_id\":\"{i}\",\
             \"title\":\"Ticket\\t{i} \\\"quoted\\\" \\\\ back\",\"at\":\"2026-11-02T08:00:00Z\"}}\n"
        ));
    }
    std::fs::write(env.path("batch.jsonl"), batch).expect("batch");
    env.test()
        .at("2026-11-02T08:00:00Z")
        .args(["ingest", "batch.jsonl"])
        .any_code()
        .run();
    env.test()
        .at("2026-11-02T12:00:00Z")
        .args(["check"])
        .any_code()
        .run();
    // The report folds its rollups: they are part of the history too.
    env.test()
        .at("2026-11-02T13:00:00Z")
        .args(["report", "--days", "7"])
        .run();
    env
}

fn pg_server() -> Option<String> {
    let url = pg::available();
    if url.is_none() {
        eprintln!("skipped: no ESCALATE_TEST_PG server");
    }
    url
}

#[test]
fn migrate_copies_everything_and_refuses_a_second_time() {
    let Some(admin) = pg_server() else { return };
    let env = sqlite_history(40);
    let target = Db::fresh(&admin);
    let r = env.test().args(["migrate", "--to", &target.url]).run();
    assert!(r.stdout.contains("issues"), "{r:?}");
    assert!(r.stdout.contains("verified"), "{r:?}");
    let mut c = target.client();
    let lite = rusqlite::Connection::open(env.db()).expect("sqlite");
    for table in [
        "issues",
        "events",
        "outbox",
        "open_issues",
        "rollup_stays",
        "meta",
    ] {
        let sql = format!("SELECT count(*) FROM {table}");
        let there: i64 = c.query_one(sql.as_str(), &[]).expect("count").get(0);
        let here: i64 = lite.query_row(&sql, [], |r| r.get(0)).expect("count");
        assert_eq!(there, here, "{table}");
        assert!(here > 0, "{table} is empty in the source");
    }
    // Titles with tabs, quotes and backslashes arrive as they were.
    let title: String = c
        .query_one("SELECT title FROM issues WHERE external_id = '7'", &[])
        .expect("title")
        .get(0);
    assert_eq!(title, "Ticket\t7 \"quoted\" \\ back");
    // New rows do not collide with copied ids.
    let next: i64 = c
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('issues', 'id'))",
            &[],
        )
        .expect("nextval")
        .get(0);
    assert!(next > 40, "{next}");
    // A second copy into the same database is refused; nothing changes.
    env.test()
        .args(["migrate", "--to", &target.url])
        .code(5)
        .run()
        .one_line_error("already holds");
    let issues: i64 = c
        .query_one("SELECT count(*) FROM issues", &[])
        .expect("count")
        .get(0);
    assert_eq!(issues, 40);
}

/// An escalation without a level (a hand-edited history) is copied and
/// counted as a group of its own on both sides, not a failure.
#[test]
fn migrate_counts_an_escalation_without_a_level() {
    let Some(admin) = pg_server() else { return };
    let env = sqlite_history(5);
    rusqlite::Connection::open(env.db())
        .expect("sqlite")
        .execute(
            "UPDATE events SET level = NULL WHERE id = \
             (SELECT min(id) FROM events WHERE kind = 'escalated')",
            [],
        )
        .expect("edit");
    let target = Db::fresh(&admin);
    let r = env.test().args(["migrate", "--to", &target.url]).run();
    assert!(r.stdout.contains("escalations (none)"), "{r:?}");
    assert!(r.stdout.contains("verified"), "{r:?}");
}

#[test]
fn migrate_into_a_database_with_other_tables_is_refused() {
    let Some(admin) = pg_server() else { return };
    let env = sqlite_history(2);
    let target = Db::fresh(&admin);
    target
        .client()
        .batch_execute("CREATE TABLE theirs (x int)")
        .expect("foreign table");
    env.test()
        .args(["migrate", "--to", &target.url])
        .code(5)
        .run()
        .one_line_error("not empty");
}

/// Tables in the target's schema.
fn tables(db: &Db) -> i64 {
    db.client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .expect("tables")
        .get(0)
}

#[test]
fn a_migration_killed_mid_copy_leaves_the_target_empty_and_a_rerun_completes() {
    let Some(admin) = pg_server() else { return };
    let env = sqlite_history(30_000);
    let target = Db::fresh(&admin);
    let mut watcher = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    let mut child = env
        .test()
        .args(["migrate", "--to", &target.url])
        .spawn_silent();
    // Kill it once its COPY is running on the server.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut killed_mid_copy = false;
    while Instant::now() < deadline {
        let copying: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%'",
                &[&target.name],
            )
            .expect("activity")
            .get(0);
        if copying > 0 {
            child.kill().expect("SIGKILL");
            killed_mid_copy = true;
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.wait();
    assert!(
        killed_mid_copy,
        "the copy finished before it could be killed"
    );
    // The server notices the dead client and rolls back; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tables(&target) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(tables(&target), 0, "an interrupted migration left tables");
    env.test().args(["migrate", "--to", &target.url]).run();
    let issues: i64 = target
        .client()
        .query_one("SELECT count(*) FROM issues", &[])
        .expect("count")
        .get(0);
    assert_eq!(issues, 30_000);
}

#[test]
fn a_server_that_refuses_the_connection_is_one_line_and_exit_5_without_the_password() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let env = Env::with_config(STARTER);
    let url = format!("postgres://ann:hunter2@127.0.0.1:{port}/esc?sslmode=disable");
    let r = unusable(
        &env,
        &url,
        "list",
        "cannot connect to postgres://ann:***@127.0.0.1",
    );
    assert!(!r.stderr.contains("hunter2"), "{r:?}");
}

/// `command` with `ESCALATE_DB=url`: exit 5 and one line holding
/// `expect`, no panic.
fn unusable(env: &Env, url: &str, command: &str, expect: &str) -> crate::support::Run {
    env.test()
        .env("ESCALATE_DB", url)
        .args([command])
        .code(5)
        .run()
        .one_line_error(expect)
}

/// A fake server: answers the TLS request with "no", reads the startup
/// message, then does `then` with the socket.
fn fake_server(then: fn(&mut std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            let _ = s.read_exact(&mut body);
            if body.starts_with(&80_877_103u32.to_be_bytes()) {
                let _ = s.write_all(b"N");
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
                let _ = s.read_exact(&mut body);
            }
            then(&mut s);
        }
    });
    port
}

/// What a server sends once it lets a client in: authentication done, a
/// few parameters, the cancel key, ready for a query.
fn logged_in() -> Vec<u8> {
    let mut out = vec![b'R', 0, 0, 0, 8, 0, 0, 0, 0];
    for (k, v) in [
        ("server_version", "15.0"),
        ("client_encoding", "UTF8"),
        ("standard_conforming_strings", "on"),
        ("integer_datetimes", "on"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
    ] {
        let body = format!("{k}\0{v}\0");
        out.push(b'S');
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body.as_bytes());
    }
    out.extend_from_slice(&[b'K', 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2]);
    out.extend_from_slice(&[b'Z', 0, 0, 0, 5, b'I']);
    out
}

fn error_response(code: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (k, v) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(k);
        fields.extend_from_slice(v.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}

#[test]
fn bad_credentials_are_one_line_and_exit_5() {
    let port = fake_server(|s| {
        let _ = s.write_all(&error_response(
            "28P01",
            "password authentication failed for user \"ann\"",
        ));
    });
    let env = Env::with_config(STARTER);
    let url = format!("postgres://ann:wrong-pw@127.0.0.1:{port}/esc?sslmode=prefer");
    let r = unusable(&env, &url, "status", "password authentication failed");
    assert!(!r.stderr.contains("wrong-pw"), "{r:?}");
}

/// A password file others may read is ignored, as libpq does, and the
/// user hears why: in the refusal's one line when the server then wants a
/// password, and as a warning on stderr when it lets us in anyway.
#[cfg(unix)]
#[test]
fn a_password_file_others_may_read_is_ignored_and_named() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_config(STARTER);
    let passfile = env.path("pgpass");
    std::fs::write(&passfile, "*:*:*:*:from-the-file\n").expect("write");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let refuses = fake_server(|s| {
        let _ = s.write_all(&error_response(
            "28P01",
            "password authentication failed for user \"ann\"",
        ));
    });
    let url = format!("postgres://ann@127.0.0.1:{refuses}/esc?sslmode=disable");
    let r = env
        .test()
        .env("ESCALATE_DB", &url)
        .env("PGPASSFILE", passfile.to_string_lossy().as_ref())
        .args(["status"])
        .code(5)
        .run()
        .one_line_error("password authentication failed");
    assert!(r.stderr.contains("is readable by others"), "{r:?}");
    assert!(!r.stderr.contains("from-the-file"), "{r:?}");
    // A server that is not there is not a refused login: no note then.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let r = env
        .test()
        .env(
            "ESCALATE_DB",
            &format!("postgres://ann@127.0.0.1:{closed}/esc?sslmode=disable"),
        )
        .env("PGPASSFILE", passfile.to_string_lossy().as_ref())
        .args(["status"])
        .code(5)
        .run()
        .one_line_error("cannot connect to");
    assert!(!r.stderr.contains("readable by others"), "{r:?}");

    let Some(admin) = pg_server() else { return };
    let db = Db::fresh(&admin);
    let r = env
        .test()
        .env("ESCALATE_DB", &db.url)
        .env("PGPASSFILE", passfile.to_string_lossy().as_ref())
        .args(["init"])
        .run();
    assert!(
        r.stderr.contains("escalate: warning: password file")
            && r.stderr
                .contains("is readable by others (chmod 0600 it); ignored"),
        "{r:?}"
    );
}

#[test]
fn a_server_that_hangs_or_dies_mid_reply_is_one_line_and_exit_5() {
    let hangs = fake_server(|_| std::thread::sleep(Duration::from_secs(30)));
    let dies = fake_server(|s| {
        // Half a message, then the connection closes.
        let _ = s.write_all(&[b'R', 0, 0, 0]);
    });
    let drips = fake_server(|s| {
        for b in error_response("53300", "too many clients") {
            let _ = s.write_all(&[b]);
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let env = Env::with_config(STARTER);
    for (port, expect) in [
        (hangs, "timed out"),
        (dies, "cannot connect"),
        (drips, "too many clients"),
    ] {
        let url = format!("postgres://ann@127.0.0.1:{port}/esc?sslmode=disable&connect_timeout=1");
        let started = Instant::now();
        unusable(&env, &url, "list", expect);
        assert!(started.elapsed() < Duration::from_secs(20), "{port}");
    }
}

/// A server that lets us in and then stops answering (a backend stuck on
/// its disk), or answers a query with an endless stream of notices, ends
/// the command after --busy-timeout + --stall-timeout: one line, exit 5,
/// not a process hung in cron for ever.
#[test]
fn a_server_that_stops_answering_after_the_login_is_one_line_and_exit_5() {
    let stalls = fake_server(|s| {
        let _ = s.write_all(&logged_in());
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let floods = fake_server(|s| {
        let _ = s.write_all(&logged_in());
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let notice = b"SNOTICE\0C00000\0Mstill here\0\0";
        let mut msg = vec![b'N'];
        msg.extend_from_slice(&(notice.len() as u32 + 4).to_be_bytes());
        msg.extend_from_slice(notice);
        while s.write_all(&msg.repeat(100)).is_ok() {}
    });
    let env = Env::with_config(STARTER);
    for port in [stalls, floods] {
        let url = format!("postgres://ann@127.0.0.1:{port}/esc?sslmode=disable");
        let child = env
            .test()
            .env("ESCALATE_DB", &url)
            .args(["--busy-timeout", "0.5", "--stall-timeout", "1", "check"])
            .spawn();
        let r = crate::support::Run::wait_at_most(child, Duration::from_secs(15));
        r.no_panic();
        assert_eq!(r.code, 5, "{r:?}");
        let r = r.one_line_error("did not answer for 2 s; gave up");
        assert!(r.stderr.contains(&format!("127.0.0.1:{port}")), "{r:?}");
    }
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let Some(admin) = pg_server() else { return };
    let target = Db::fresh(&admin);
    let env = Env::with_config(STARTER);
    env.test()
        .env("ESCALATE_DB", &target.url)
        .args(["init"])
        .run();
    target
        .client()
        .batch_execute("UPDATE escalate_schema SET version = version + 1")
        .expect("bump");
    env.test()
        .env("ESCALATE_DB", &target.url)
        .args(["list"])
        .code(5)
        .run()
        .one_line_error("newer than this escalate");
}

/// A fake server that speaks TLS (rustls, a certificate for `localhost`
/// from a fresh CA) after the client's TLS request, then rejects the
/// password: reaching that error proves the handshake passed. Returns the
/// port and the CA's PEM.
fn fake_tls_server() -> (u16, String) {
    use std::sync::Arc;
    let (config, ca) = crate::support::tls::private_ca("localhost");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut request = [0u8; 8];
                if s.read_exact(&mut request).is_err() || s.write_all(b"S").is_err() {
                    return;
                }
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut len = [0u8; 4];
                if tls.read_exact(&mut len).is_err() {
                    return;
                }
                let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
                let _ = tls.read_exact(&mut body);
                let _ = tls.write_all(&error_response(
                    "28P01",
                    "password authentication failed for user \"ann\"",
                ));
                let _ = tls.flush();
            });
        }
    });
    (port, ca)
}

#[test]
fn tls_is_rustls_and_sslmode_decides_what_is_verified() {
    let (port, ca) = fake_tls_server();
    let env = Env::with_config(STARTER);
    std::fs::write(env.path("ca.pem"), ca).expect("ca");
    let ca = env.path("ca.pem").to_string_lossy().to_string();
    let reached = "password authentication failed";
    let cases = [
        // The chain and the name check out.
        (
            format!("localhost:{port}/db?sslmode=verify-full&sslrootcert={ca}"),
            reached,
        ),
        // The certificate names localhost, not 127.0.0.1.
        (
            format!("127.0.0.1:{port}/db?sslmode=verify-full&sslrootcert={ca}"),
            "not valid for name",
        ),
        // verify-ca checks the chain only.
        (
            format!("127.0.0.1:{port}/db?sslmode=verify-ca&sslrootcert={ca}"),
            reached,
        ),
        // Not a CA the public roots know.
        (
            format!("localhost:{port}/db?sslmode=verify-full"),
            "UnknownIssuer",
        ),
        // require: encrypted, not verified.
        (format!("127.0.0.1:{port}/db?sslmode=require"), reached),
    ];
    for (rest, expect) in cases {
        let url = format!("postgres://ann:s3cret@{rest}&connect_timeout=5");
        let r = unusable(&env, &url, "list", expect);
        assert!(!r.stderr.contains("s3cret"), "{r:?}");
    }
}
