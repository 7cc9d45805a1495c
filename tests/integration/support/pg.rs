//! The integration suite against PostgreSQL: with
//! `ESCALATE_TEST_STORE=postgres` and `ESCALATE_TEST_PG` set to a server
//! URL (a role that may create databases), every [`super::Env`] gets a
//! fresh database of its own, named in `ESCALATE_DB` for each command it
//! runs, and dropped with it. Tests that read the SQLite file itself
//! ([`sqlite_only`]) return early on that run.

use std::sync::atomic::{AtomicU64, Ordering};

/// The admin URL when this run is against PostgreSQL.
pub fn server() -> Option<String> {
    if std::env::var("ESCALATE_TEST_STORE").ok().as_deref() != Some("postgres") {
        return None;
    }
    Some(
        std::env::var("ESCALATE_TEST_PG").unwrap_or_else(|_| {
            "postgres://postgres@127.0.0.1/postgres?sslmode=disable".to_string()
        }),
    )
}

/// The admin URL for tests that need a server whatever the run (the
/// migrate and failure tests): `ESCALATE_TEST_PG`, or None (skipped).
pub fn available() -> Option<String> {
    std::env::var("ESCALATE_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
}

/// True (and a note on stderr) when this run is against PostgreSQL: the
/// calling test reads or damages the SQLite file and has nothing to check.
pub fn sqlite_only() -> bool {
    if server().is_some() {
        eprintln!("skipped on PostgreSQL: the test is about the SQLite file");
        return true;
    }
    false
}

/// Every table of the client's schema, by name, each followed by its rows
/// in `COPY` text form sorted by their text (so the same data gives the
/// same bytes whatever order the server returns it in).
pub fn dump(client: &mut postgres::Client) -> Vec<u8> {
    use std::io::Read;
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables \
             WHERE schemaname = current_schema() ORDER BY tablename",
            &[],
        )
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        out.extend(format!("== {t}\n").into_bytes());
        let sql = format!("COPY (SELECT * FROM \"{t}\" AS t ORDER BY t::text) TO STDOUT");
        let mut rows = client
            .copy_out(sql.as_str())
            .unwrap_or_else(|e| panic!("dump {t}: {e}"));
        rows.read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("dump {t}: {e}"));
    }
    out
}

/// Referential consistency, the PostgreSQL counterpart of SQLite's
/// `integrity_check` after a crash: "ok", or how many events and outbox
/// rows point at an issue that is not there.
pub fn consistency(client: &mut postgres::Client) -> String {
    let orphans = |table: &str, client: &mut postgres::Client| -> i64 {
        let sql = format!(
            "SELECT count(*) FROM {table} x \
             WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = x.issue_id)"
        );
        client
            .query_one(sql.as_str(), &[])
            .map(|r| r.get(0))
            .unwrap_or_else(|e| panic!("orphans in {table}: {e}"))
    };
    let (events, outbox) = (orphans("events", client), orphans("outbox", client));
    if events + outbox == 0 {
        return "ok".to_string();
    }
    format!("{events} events and {outbox} outbox rows without their issue")
}

/// A database made for one test, dropped when it goes.
pub struct Db {
    admin: String,
    pub name: String,
    pub url: String,
}

/// `url` with its database replaced by `db`.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("test PostgreSQL server at {url}: {e}"))
}

impl Db {
    pub fn fresh(admin: &str) -> Db {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "escalate_t_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = connect(admin);
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .and_then(|()| c.batch_execute(&format!("CREATE DATABASE {name}")))
            .expect("create test database");
        Db {
            admin: admin.to_string(),
            url: with_db(admin, &name),
            name,
        }
    }

    /// Makes this database a copy of `from` (which nobody may be
    /// connected to), as copying the file does on SQLite.
    pub fn copy_from(&self, from: &Db) {
        let mut c = connect(&self.admin);
        // One statement each: neither may run inside a transaction block,
        // which a multi-statement batch is.
        c.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .and_then(|()| {
            c.batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                self.name, from.name
            ))
        })
        .expect("copy test database");
    }

    /// A client on this database.
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
