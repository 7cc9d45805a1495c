//! How the store's modules run a statement: SQL text, a slice of [`Arg`]s,
//! and rows read through [`Row::get`], never a driver's own types. Today
//! the one driver is SQLite (rusqlite); the shape is the one a second
//! backend (PostgreSQL, issue 16) needs: typed arguments a driver can
//! convert to whatever column type the server infers, values read by
//! column index into a small set of Rust types ([`Col`]), one error type
//! (anyhow, with what was being done as context), and statements cached
//! by their text.
//!
//! The SQL is written once, in the portable subset both databases speak:
//! `?N` parameters, `RETURNING` instead of `last_insert_rowid()`, counts
//! from `execute`'s return value instead of `changes()`.

use anyhow::{Context, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::sql_pg::Val;
use super::{Tx, TxOn};

/// One statement argument. Borrowed text: building the slice for a
/// statement copies nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Real(f64),
    Null,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u32> for Arg<'_> {
    fn from(v: u32) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Real(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Int(v) => ValueRef::Integer(v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Real(v) => ValueRef::Real(v),
            Arg::Null => ValueRef::Null,
        }))
    }
}

/// A statement's arguments: `args![a, b, c]` is `&[Arg::from(a), …]`.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$($crate::store::sql::Arg::from($a)),*][..]
    };
}
pub(crate) use args;

/// One result row, read by column index.
pub struct Row<'r>(RowOn<'r>);

enum RowOn<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Col>(&self, i: usize) -> Result<T> {
        match self.0 {
            RowOn::Lite(r) => T::lite(r, i).map_err(anyhow::Error::new),
            RowOn::Pg(r) => r
                .try_get::<_, Val>(i)
                .map_err(anyhow::Error::new)
                .and_then(T::pg),
        }
        .with_context(|| format!("column {i}"))
    }
}

/// A type a column is read into, from either database.
pub trait Col: Sized {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self>;
    /// From PostgreSQL's value, with SQLite's conversions (a boolean is
    /// 0 or 1, an integer column may be read as a bool).
    fn pg(v: Val) -> Result<Self>;
}

fn wrong(v: &Val, want: &str) -> anyhow::Error {
    anyhow::anyhow!("expected {want}, found {v:?}")
}

impl Col for i64 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(v: Val) -> Result<Self> {
        match v {
            Val::Int(n) => Ok(n),
            v => Err(wrong(&v, "an integer")),
        }
    }
}

impl Col for String {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(v: Val) -> Result<Self> {
        match v {
            Val::Text(t) => Ok(t),
            v => Err(wrong(&v, "text")),
        }
    }
}

impl Col for bool {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(v: Val) -> Result<Self> {
        match v {
            Val::Int(n) => Ok(n != 0),
            v => Err(wrong(&v, "a boolean")),
        }
    }
}

impl Col for f64 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(v: Val) -> Result<Self> {
        match v {
            Val::Real(x) => Ok(x),
            Val::Int(n) => Ok(n as f64),
            v => Err(wrong(&v, "a number")),
        }
    }
}

/// Levels, limits: a value out of range is a corrupt row.
impl Col for u32 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(v: Val) -> Result<Self> {
        let n = i64::pg(v)?;
        u32::try_from(n).map_err(|_| anyhow::anyhow!("{n} is out of range"))
    }
}

impl<T: Col> Col for Option<T> {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        match row.get_ref(i)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            _ => T::lite(row, i).map(Some),
        }
    }
    fn pg(v: Val) -> Result<Self> {
        match v {
            Val::Null => Ok(None),
            v => T::pg(v).map(Some),
        }
    }
}

impl<'c> Tx<'c> {
    /// Run a statement that returns no rows; how many rows it changed.
    pub(in crate::store) fn exec(&self, sql: &str, args: &[Arg<'_>], what: &str) -> Result<usize> {
        match self.on() {
            TxOn::Lite(db) => db
                .prepare_cached(sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(args)))
                .map_err(anyhow::Error::new),
            TxOn::Pg(pg) => pg.exec(sql, args),
        }
        .with_context(|| what.to_string())
    }

    /// Every row, each through `f`.
    pub(in crate::store) fn rows<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, what, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first `limit` rows, each through `f`; the rest are never
    /// stepped to. Not a bound `LIMIT ?N`: SQLite plans a bound LIMIT by
    /// its value, so every new value would prepare the statement again.
    pub(in crate::store) fn rows_upto<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        limit: usize,
        what: &str,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.stream(sql, args, limit, what, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Stream the rows through `f` without collecting them (a report's
    /// pass over a window's events).
    pub(in crate::store) fn each(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        f: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        self.stream(sql, args, usize::MAX, what, f)
    }

    /// At most `limit` rows through `f`: what [`Tx::each`] and
    /// [`Tx::rows_upto`] share.
    fn stream(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        limit: usize,
        what: &str,
        mut f: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        if limit == 0 {
            return Ok(());
        }
        let mut seen = 0;
        self.walk(sql, args, what, |r| {
            f(r)?;
            seen += 1;
            Ok(seen < limit)
        })
    }

    /// The rows through `f` until it returns false: the one loop every
    /// reading method above is made of.
    pub(in crate::store) fn walk(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let context = || what.to_string();
        match self.on() {
            TxOn::Lite(db) => {
                let mut stmt = db.prepare_cached(sql).with_context(context)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(args))
                    .with_context(context)?;
                while let Some(r) = rows.next().with_context(context)? {
                    if !f(&Row(RowOn::Lite(r))).with_context(context)? {
                        break;
                    }
                }
                Ok(())
            }
            TxOn::Pg(pg) => pg
                .query(sql, args, |r| f(&Row(RowOn::Pg(r))))
                .with_context(context),
        }
    }

    /// A statement held for a loop that runs it many times (a batch of
    /// lease updates): looked up in the statement cache once, not per row.
    pub(in crate::store) fn prepare<'t>(
        &'t self,
        sql: &str,
        what: &'t str,
    ) -> Result<Prepared<'t>> {
        let on = match self.on() {
            TxOn::Lite(db) => {
                PreparedOn::Lite(db.prepare_cached(sql).with_context(|| what.to_string())?)
            }
            // The driver's statement cache is keyed by text already.
            TxOn::Pg(pg) => PreparedOn::Pg(pg, sql.to_string()),
        };
        Ok(Prepared { on, what })
    }

    /// The first row, if any.
    pub(in crate::store) fn opt<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.walk(sql, args, what, |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// The one row a statement must return (an aggregate, `RETURNING`).
    pub(in crate::store) fn one<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, args, what, f)?
            .with_context(|| format!("{what}: the statement returned no row"))
    }

    /// Rows changed since the transaction began (SQLite: since the
    /// connection opened): whether a piece of work wrote anything
    /// (compare before and after).
    pub(in crate::store) fn total_changes(&self) -> u64 {
        match self.on() {
            TxOn::Lite(db) => db.total_changes(),
            TxOn::Pg(pg) => pg.total_changes(),
        }
    }

    /// Several statements without arguments (a migration's backfill).
    pub(in crate::store) fn script(&self, sql: &str, what: &str) -> Result<()> {
        match self.on() {
            TxOn::Lite(db) => db.execute_batch(sql).map_err(anyhow::Error::new),
            TxOn::Pg(pg) => pg.script(sql),
        }
        .with_context(|| what.to_string())
    }
}

/// A statement from [`Tx::prepare`]; back in the cache when dropped.
pub(in crate::store) struct Prepared<'t> {
    on: PreparedOn<'t>,
    what: &'t str,
}

enum PreparedOn<'t> {
    Lite(rusqlite::CachedStatement<'t>),
    Pg(&'t (dyn super::sql_pg::Exec + 't), String),
}

impl Prepared<'_> {
    /// Run it once more; how many rows it changed.
    pub(in crate::store) fn exec(&mut self, args: &[Arg<'_>]) -> Result<usize> {
        let what = self.what;
        match &mut self.on {
            PreparedOn::Lite(stmt) => stmt
                .execute(rusqlite::params_from_iter(args))
                .map_err(anyhow::Error::new),
            PreparedOn::Pg(pg, sql) => pg.exec(sql, args),
        }
        .with_context(|| what.to_string())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn arguments_and_columns_round_trip() {
        let mut store = Store::open_in_memory().expect("opens");
        let got = store
            .read(|tx| {
                tx.one(
                    "SELECT ?1, ?2, ?3, ?4, ?5, ?6",
                    args![7i64, "text", None::<i64>, true, 2.5f64, Some("x")],
                    "round trip",
                    |r| {
                        Ok((
                            r.get::<i64>(0)?,
                            r.get::<String>(1)?,
                            r.get::<Option<i64>>(2)?,
                            r.get::<bool>(3)?,
                            r.get::<f64>(4)?,
                            r.get::<Option<String>>(5)?,
                        ))
                    },
                )
            })
            .expect("reads");
        assert_eq!(got, (7, "text".into(), None, true, 2.5, Some("x".into())));
    }

    #[test]
    fn rows_opt_and_errors_name_what_was_done() {
        let mut store = Store::open_in_memory().expect("opens");
        store
            .read(|tx| {
                let v = tx.rows(
                    "SELECT value FROM json_each('[1,2,3]') WHERE value > ?1",
                    args![1i64],
                    "numbers",
                    |r| r.get::<i64>(0),
                )?;
                assert_eq!(v, [2, 3]);
                let none = tx.opt("SELECT 1 WHERE 0", args![], "nothing", |r| r.get::<i64>(0))?;
                assert_eq!(none, None);
                let e = tx
                    .one("SELECT 'a'", args![], "reading a number", |r| {
                        r.get::<i64>(0)
                    })
                    .expect_err("text is not a number");
                assert!(
                    format!("{e:#}").starts_with("reading a number: column 0"),
                    "{e:#}"
                );
                let e = tx.exec("SELEC 1", args![], "a typo").expect_err("not SQL");
                assert!(format!("{e:#}").starts_with("a typo: "), "{e:#}");
                Ok(())
            })
            .expect("reads");
    }

    #[test]
    fn rows_upto_stops_and_prepared_statements_run_again() {
        let mut store = Store::open_in_memory().expect("opens");
        store
            .write(|tx| {
                let v = tx.rows_upto(
                    "SELECT value FROM json_each('[1,2,3,4]') ORDER BY value",
                    args![],
                    2,
                    "numbers",
                    |r| r.get::<i64>(0),
                )?;
                assert_eq!(v, [1, 2]);
                let none = tx.rows_upto("SELECT 1", args![], 0, "none", |r| r.get::<i64>(0))?;
                assert!(none.is_empty());
                tx.script("CREATE TABLE t (n INTEGER)", "a table")?;
                let mut insert = tx.prepare("INSERT INTO t (n) VALUES (?1)", "inserting")?;
                for n in [Some(1u32), None, Some(3)] {
                    assert_eq!(insert.exec(args![n])?, 1);
                }
                drop(insert);
                let got = tx.rows("SELECT n FROM t ORDER BY rowid", args![], "reading", |r| {
                    r.get::<Option<u32>>(0)
                })?;
                assert_eq!(got, [Some(1), None, Some(3)]);
                Ok(())
            })
            .expect("writes");
    }
}
