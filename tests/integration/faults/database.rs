//! Database faults: locked, read-only, missing, corrupt, newer or foreign
//! files (see the module docs, item 4).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn db_locked_past_the_busy_timeout_exits_5_and_changes_nothing() {
    let env = seeded();
    let before = snapshot(&env);
    let holder = env.hold_write_lock();
    // The store as the error names it: the file, or the server's database.
    let locked = match &env.pg {
        Some(db) => format!("/{}", db.name),
        None => "database escalation.db is locked".to_string(),
    };
    let writers: [&[&str]; 8] = [
        &["check"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["assign", "1", "--to", "sam"],
        &["resolve", "1"],
        &["reopen", "1"],
        &["outbox", "retry", "--all-dead"],
        &["digest"],
    ];
    for args in writers {
        let mut all = vec!["--busy-timeout", "1"];
        all.extend_from_slice(args);
        let started = Instant::now();
        let r = env.at(300, &all);
        let took = started.elapsed();
        must(
            check_failure(&r, 5, &[&locked, "is locked"]),
            &format!("{args:?}"),
        );
        assert!(
            took >= Duration::from_millis(900),
            "{args:?} gave up after {took:?}, before the 1 s busy timeout"
        );
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    // readers are not blocked (WAL)
    for args in [&["list"][..], &["show", "1"], &["outbox"], &["report"]] {
        let mut all = vec!["--busy-timeout", "1"];
        all.extend_from_slice(args);
        env.at(300, &all).ok();
    }
    holder.release();
    assert_unchanged(&env, &before, "locked");
    assert_eq!(env.show(1)["level"], 1, "nothing escalated while locked");
    // once the lock is gone the same check works
    let r = env.at(300, &["check"]).ok();
    assert_eq!(pages(&r.stdout), vec![(1, 2)]);
}

/// A seeded database made read-only (mode 0400) to the commands `run`
/// starts: as root, where modes do not stop writes, they run as `nobody`
/// (uid 65534) on files chowned to it, with a copy of the binary inside the
/// test directory. `None`, with a one-line note on stderr saying why, where
/// that cannot be arranged: then the caller skips its read-only sub-case.
///
/// Issue 17: the binary cargo built lives under the checkout, which
/// `nobody` cannot reach when the clone sits in a 0700 directory (under
/// `/root`, in a `mktemp -d`). So `nobody` runs a copy kept in the test
/// directory, and a probe run as `nobody` decides; a command that cannot be
/// started is a skipped sub-case, never a panic. Where the clone lives does
/// not matter.
#[cfg(unix)]
pub(super) struct ReadOnly {
    pub(super) env: Env,
    /// Running as root: the copy of the binary that `nobody` runs.
    nobody_bin: Option<PathBuf>,
}

#[cfg(unix)]
impl ReadOnly {
    const NOBODY: u32 = 65534;

    pub(super) fn new() -> Option<ReadOnly> {
        match ReadOnly::arrange() {
            Ok(ro) => Some(ro),
            Err(why) => {
                eprintln!("note: read-only sub-case skipped: {why}");
                None
            }
        }
    }

    fn arrange() -> Result<ReadOnly, String> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let env = seeded();
        // Files we create are owned by our effective uid.
        let root = std::fs::metadata(env.db()).expect("meta").uid() == 0;
        let mut ro = ReadOnly {
            env,
            nobody_bin: None,
        };
        if root {
            let bin = ro.env.path("escalate-copy");
            std::fs::copy(BIN, &bin).expect("copy the binary");
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
                .expect("chmod the binary");
            // The WAL and its index stay between runs: they are the
            // database's too.
            let wal_files = [
                ro.env.path("escalation.db-wal"),
                ro.env.path("escalation.db-shm"),
            ];
            let present = wal_files.into_iter().filter(|p| p.exists());
            for p in [
                ro.env.dir.path().to_path_buf(),
                ro.env.db(),
                ro.env.path("chains.toml"),
                bin.clone(),
            ]
            .into_iter()
            .chain(present)
            {
                std::os::unix::fs::chown(&p, Some(Self::NOBODY), Some(Self::NOBODY))
                    .expect("chown");
            }
            ro.nobody_bin = Some(bin);
            // Can `nobody` start the binary and use the database here (are
            // the test directory's parents traversable)?
            let dir = ro.env.dir.path().display().to_string();
            let probe = ro
                .output(&["--now", &at_minutes(1), "check"])
                .map_err(|e| {
                    format!("running as root, and `nobody` cannot start escalate in {dir}: {e}")
                })?;
            if probe.code != 0 {
                let why = probe.stderr.lines().next().unwrap_or("").to_string();
                return Err(format!(
                    "running as root, and `nobody` cannot use {dir}: exit {}: {why}",
                    probe.code
                ));
            }
        }
        ro.set_mode(0o400);
        if !root
            && std::fs::OpenOptions::new()
                .write(true)
                .open(ro.env.db())
                .is_ok()
        {
            ro.set_mode(0o600);
            return Err("chmod 0400 does not stop writes here".to_string());
        }
        Ok(ro)
    }

    pub(super) fn set_mode(&self, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.env.db(), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }

    /// Runs `args` (as `nobody` when root); Err when it cannot be started.
    fn output(&self, args: &[&str]) -> std::io::Result<Run> {
        /// ETXTBSY: a process forked by another test while the copy was
        /// being written still held it open; that passes at its exec.
        const TEXT_FILE_BUSY: i32 = 26;
        let mut tries = 0;
        loop {
            let test = self.env.test().args(args);
            let test = match &self.nobody_bin {
                Some(bin) => test.bin(bin).user(Self::NOBODY),
                None => test,
            };
            match test.output() {
                Err(e) if e.raw_os_error() == Some(TEXT_FILE_BUSY) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => return result,
            }
        }
    }

    /// Runs `args`, which the probe showed can be started.
    pub(super) fn run(&self, args: &[&str]) -> Run {
        let r = self
            .output(args)
            .unwrap_or_else(|e| panic!("{args:?} could not be started after the probe: {e}"));
        r.no_panic();
        r
    }
}

#[cfg(unix)]
#[test]
fn db_read_only_file_exits_5_and_changes_nothing() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let Some(ro) = ReadOnly::new() else { return };
    let before = snapshot(&ro.env);
    let now = at_minutes(300);
    let writers: [&[&str]; 5] = [
        &["check"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["assign", "1", "--to", "sam"],
        &["resolve", "1"],
    ];
    for args in writers {
        let mut all = vec!["--now", now.as_str()];
        all.extend_from_slice(args);
        let r = ro.run(&all);
        must(
            check_failure(&r, 5, &["read"]),
            &format!("read-only {args:?}"),
        );
        assert!(
            r.stderr.contains("read-only") || r.stderr.contains("readonly"),
            "{r:?}"
        );
    }
    assert_unchanged(&ro.env, &before, "read-only");
    // reading a read-only database still works
    let r = ro.run(&["show", "1", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["level"], 1);
    ro.set_mode(0o600);
}

#[test]
fn db_missing_directory_exits_5_and_creates_nothing() {
    let env = Env::with_config(STARTER);
    let db = "no-such-dir/escalation.db";
    let commands: [&[&str]; 6] = [
        &["check"],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "A"],
        &["status"],
        &["outbox"],
    ];
    for args in commands {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        must(
            check_failure(
                &env.run(&all),
                5,
                &["database no-such-dir/escalation.db does not exist"],
            ),
            &format!("{args:?}"),
        );
    }
    must(
        check_failure(
            &env.run(&["--db", db, "init"]),
            5,
            &["cannot create database no-such-dir/escalation.db"],
        ),
        "init",
    );
    assert!(!env.path("no-such-dir").exists());
}

/// Deterministic pseudo-random bytes (no RNG dependency).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 56) as u8
        })
        .collect()
}

/// The database's bytes with the root page of the `issues` table (all but
/// its 8-byte header) overwritten: opening works, reading issues does not.
pub(super) fn issues_root_page_overwritten(db: &Path) -> Vec<u8> {
    checkpoint(db);
    let mut bytes = std::fs::read(db).expect("db");
    let conn = rusqlite::Connection::open(db).expect("open");
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'issues'",
            [],
            |r| r.get(0),
        )
        .expect("rootpage");
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page size");
    let (root, size) = (root as usize, size as usize);
    let at = (root - 1) * size;
    // 0xdead as every cell pointer lies past the page: SQLite detects it.
    // (Random noise is not always detected: an insert may succeed on it.)
    for (i, b) in bytes[at + 8..at + size].iter_mut().enumerate() {
        *b = [0xde, 0xad, 0xbe, 0xef][i % 4];
    }
    bytes
}

#[test]
fn db_corrupt_files_exit_5_and_stay_untouched() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let good = seeded();
    checkpoint(&good.db());
    let real = std::fs::read(good.db()).expect("db");
    assert!(real.len() >= 8 * 4096, "a database of several pages");
    let mut header_then_noise = b"SQLite format 3\0".to_vec();
    header_then_noise.extend(noise(16_384, 7));
    let mut first_page_then_noise = real[..4096].to_vec();
    first_page_then_noise.extend(noise(real.len() - 4096, 11));
    let issues_page_overwritten = issues_root_page_overwritten(&good.db());
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "garbage text",
            b"this is not a database at all, just text, long enough to matter\n".repeat(40),
            &["not a database"],
        ),
        ("random bytes", noise(8192, 3), &["not a database"]),
        (
            "a SQLite header over garbage",
            header_then_noise,
            &["not a database"],
        ),
        (
            "a truncated database",
            real[..real.len() / 2].to_vec(),
            &["corrupt"],
        ),
        (
            "every page after the first overwritten",
            first_page_then_noise,
            &["malformed", "corrupt", "not a database"],
        ),
        (
            "the issues table's root page overwritten",
            issues_page_overwritten,
            &["malformed", "corrupt"],
        ),
    ];
    for (what, bytes, fragments) in cases {
        let env = Env::with_config(STARTER);
        std::fs::write(env.db(), &bytes).expect("write");
        let before = snapshot(&env);
        for args in [
            &["check"][..],
            &["create", "--chain", "customer_issue", "--title", "B"],
            &["ack", "1", "--by", "dana"],
            &["list"],
            &["show", "1"],
        ] {
            let r = env.at(300, args);
            let matched = fragments.iter().any(|f| check_failure(&r, 5, &[f]).is_ok());
            assert!(
                matched,
                "{what} {args:?}: want exit 5, one line with one of {fragments:?}: {r:?}"
            );
            assert_unchanged(&env, &before, &format!("{what} {args:?}"));
        }
    }
}

#[test]
fn db_newer_schema_exits_5_naming_the_version() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let env = seeded();
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.pragma_update(None, "user_version", 999).expect("bump");
    }
    let before = snapshot(&env);
    let commands: [&[&str]; 10] = [
        &["check"],
        &["check", "--dry-run"],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "B"],
        &["ack", "1", "--by", "dana"],
        &["outbox"],
        &["status"],
        &["report"],
        &["digest", "--no-record"],
    ];
    for args in commands {
        must(
            check_failure(
                &env.at(300, args),
                5,
                &[
                    "escalation.db has schema version 999, newer than",
                    "upgrade escalate",
                ],
            ),
            &format!("{args:?}"),
        );
        assert_unchanged(&env, &before, &format!("{args:?}"));
    }
}

#[test]
fn db_foreign_sqlite_file_exits_5_and_stays_untouched() {
    if crate::support::pg::sqlite_only() {
        return;
    }
    let env = Env::with_config(STARTER);
    {
        let conn = rusqlite::Connection::open(env.db()).expect("open");
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('mine');
             PRAGMA journal_mode = DELETE;",
        )
        .expect("foreign");
    }
    let before = snapshot(&env);
    for args in [
        &["check"][..],
        &["list"],
        &["show", "1"],
        &["create", "--chain", "customer_issue", "--title", "B"],
    ] {
        must(
            check_failure(
                &env.at(300, args),
                5,
                &["escalation.db is a SQLite database but not an escalate one"],
            ),
            &format!("{args:?}"),
        );
        assert_unchanged(&env, &before, &format!("{args:?}"));
    }
    assert!(!env.path("escalation.db-wal").exists());
}
