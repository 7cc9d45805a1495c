//! The PostgreSQL side of [`super::sql`]: the same statements, run through
//! the sync `postgres` driver. The store's SQL is written once, in
//! SQLite's dialect where the two differ in spelling only; this module
//! rewrites that spelling (`?N` → `$N`, `INSERT OR IGNORE` → `ON CONFLICT
//! DO NOTHING`), converts [`Arg`]s to whatever type the server inferred
//! for each parameter, and reads every column into one [`Val`], from which
//! [`super::sql::Col`] takes its Rust type. Functions SQLite has and
//! PostgreSQL lacks are defined by the schema
//! (migrations/postgres/01-schema).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::Result;
use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type};
use regex::Regex;

use super::pg_watch::Watch;
use super::sql::Arg;

/// Prepared statements by their SQLite text, for the connection's life.
pub type Cache = HashMap<String, postgres::Statement>;

/// A transaction on PostgreSQL as `store`'s modules see it. The driver
/// wants `&mut` for every query; the store's API lends `&Tx`, so the
/// transaction sits in a `RefCell` (one statement at a time, which is how
/// the modules use it: rows are collected before the next statement).
pub struct PgTx<'c> {
    pub(in crate::store) tx: RefCell<postgres::Transaction<'c>>,
    cache: &'c RefCell<Cache>,
    changes: RefCell<u64>,
    /// Every call below that waits on the server runs under it.
    watch: Watch,
}

impl<'c> PgTx<'c> {
    pub fn new(tx: postgres::Transaction<'c>, cache: &'c RefCell<Cache>, watch: Watch) -> PgTx<'c> {
        PgTx {
            tx: RefCell::new(tx),
            cache,
            changes: RefCell::new(0),
            watch,
        }
    }

    pub fn into_inner(self) -> postgres::Transaction<'c> {
        self.tx.into_inner()
    }

    /// The prepared statement for `sql`, from the cache or the server.
    /// The server infers each parameter's type from where it stands; a
    /// parameter that only stands beside `IS NULL` (the store's optional
    /// filters, `?3 IS NULL OR chain = ?3` on some plans) or nowhere typed
    /// cannot be inferred, so then the statement is prepared again with
    /// the types of the arguments at hand (a NULL as text, then as an
    /// integer), and cached under its text and those types.
    fn statement(&self, sql: &str, args: &[Arg<'_>]) -> Result<postgres::Statement> {
        if let Some(s) = self.cache.borrow().get(sql) {
            return Ok(s.clone());
        }
        let typed_key = format!("{sql}\0{}", signature(args));
        if let Some(s) = self.cache.borrow().get(&typed_key) {
            return Ok(s.clone());
        }
        let text = translate(sql);
        // The driver's error stays in the chain: a lost connection is
        // classified (exit 5) above, whatever statement it interrupted.
        let failed = |e: postgres::Error| {
            let line = super::pg_target::one_line(&e);
            anyhow::Error::new(e).context(format!("preparing: {}: {line}", first_line(&text)))
        };
        let first = self.attempt(|tx| tx.prepare(&text));
        let err = match first {
            Ok(stmt) => {
                self.cache
                    .borrow_mut()
                    .insert(sql.to_string(), stmt.clone());
                return Ok(stmt);
            }
            Err(e) if untyped(&e) => e,
            Err(e) => return Err(failed(e)),
        };
        for null in [Type::TEXT, Type::INT8] {
            let types: Vec<Type> = args
                .iter()
                .map(|a| match a {
                    Arg::Int(_) => Type::INT8,
                    Arg::Text(_) => Type::TEXT,
                    Arg::Real(_) => Type::FLOAT8,
                    Arg::Null => null.clone(),
                })
                .collect();
            if let Ok(stmt) = self.attempt(|tx| tx.prepare_typed(&text, &types)) {
                self.cache.borrow_mut().insert(typed_key, stmt.clone());
                return Ok(stmt);
            }
        }
        Err(failed(err))
    }

    /// Run `f` so that its failure does not abort the transaction (a
    /// failed statement does, on PostgreSQL): inside a savepoint, rolled
    /// back to on failure.
    fn attempt<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'c>) -> std::result::Result<T, postgres::Error>,
    ) -> std::result::Result<T, postgres::Error> {
        let mut tx = self.tx.borrow_mut();
        let _waiting = self.watch.during();
        tx.batch_execute("SAVEPOINT escalate_prepare")?;
        match f(&mut tx) {
            Ok(v) => {
                tx.batch_execute("RELEASE SAVEPOINT escalate_prepare")?;
                Ok(v)
            }
            Err(e) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT escalate_prepare")?;
                Err(e)
            }
        }
    }

    pub fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize> {
        let stmt = self.statement(sql, args)?;
        let params = params(args);
        let _waiting = self.watch.during();
        let n = self
            .tx
            .borrow_mut()
            .execute(&stmt, &params)
            .map_err(anyhow::Error::new)?;
        *self.changes.borrow_mut() += n;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Run a query and hand each row to `f`, stopping when it says so.
    pub fn query(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        mut f: impl FnMut(&postgres::Row) -> Result<bool>,
    ) -> Result<()> {
        let stmt = self.statement(sql, args)?;
        let params = params(args);
        let mut tx = self.tx.borrow_mut();
        let waiting = self.watch.during();
        let mut rows = tx
            .query_raw(&stmt, params.iter().copied())
            .map_err(anyhow::Error::new)?;
        drop(waiting);
        use postgres::fallible_iterator::FallibleIterator;
        // Watched while the next row is awaited, not while `f` works on one.
        while let Some(row) = {
            let _waiting = self.watch.during();
            rows.next().map_err(anyhow::Error::new)?
        } {
            if !f(&row)? {
                break;
            }
        }
        Ok(())
    }

    /// Several statements separated by semicolons, no arguments: each
    /// translated on its own (an `INSERT OR IGNORE`'s conflict clause
    /// belongs at the end of its statement, not of the script).
    pub fn script(&self, sql: &str) -> Result<()> {
        let translated: Vec<String> = statements(sql).into_iter().map(translate).collect();
        let _waiting = self.watch.during();
        self.tx
            .borrow_mut()
            .batch_execute(&translated.join(";\n"))
            .map_err(anyhow::Error::new)
    }

    pub fn total_changes(&self) -> u64 {
        *self.changes.borrow()
    }
}

/// Running a statement, with the transaction's lifetime erased (a
/// [`super::sql::Prepared`] holds one for a loop).
pub trait Exec {
    fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize>;
}

impl Exec for PgTx<'_> {
    fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<usize> {
        PgTx::exec(self, sql, args)
    }
}

fn params<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// The argument types, one letter each, for the typed statements' key.
fn signature(args: &[Arg<'_>]) -> String {
    args.iter()
        .map(|a| match a {
            Arg::Int(_) => 'i',
            Arg::Text(_) => 't',
            Arg::Real(_) => 'r',
            Arg::Null => 'n',
        })
        .collect()
}

/// The server could not settle a parameter's type (42P18 indeterminate,
/// 42P08 ambiguous, 42725 ambiguous function).
fn untyped(e: &postgres::Error) -> bool {
    matches!(
        e.code().map(postgres::error::SqlState::code),
        Some("42P18" | "42P08" | "42725")
    )
}

fn first_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(120)
        .collect()
}

/// A script's statements: split at the semicolons outside quotes and
/// comments, empty ones dropped.
fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut comment) = (0, None::<char>, false);
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, comment) {
            (_, true) => comment = c != '\n',
            (Some(q), _) => {
                if c == q {
                    quote = None;
                }
            }
            (None, false) => match c {
                '\'' | '"' => quote = Some(c),
                '-' if chars.peek().map(|&(_, n)| n) == Some('-') => comment = true,
                ';' => {
                    out.push(&sql[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    out.push(&sql[start..]);
    out.into_iter()
        .filter(|s| {
            s.lines()
                .map(|l| l.split("--").next().unwrap_or("").trim())
                .any(|l| !l.is_empty())
        })
        .collect()
}

/// SQLite spelling to PostgreSQL's: `?N` parameters become `$N` (outside
/// quotes), and `INSERT OR IGNORE INTO … [RETURNING …]` becomes `INSERT
/// INTO … ON CONFLICT DO NOTHING [RETURNING …]`.
pub fn translate(sql: &str) -> String {
    // The rewrites below see the statement with its quoted parts masked
    // (`'\u{1}N'`) and its comments dropped, so nothing inside a literal,
    // a quoted name or a comment is rewritten; the quoted parts go back
    // in at the end.
    let (out, quoted) = mask(sql);
    // SQLite's join-order hint `CROSS JOIN t ON …` is an inner join.
    static CROSS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bCROSS\s+JOIN\s+(\w+(?:\s+(?:AS\s+)?\w+)?)\s+ON\b")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    // SQLite's `a IS b` / `a IS NOT b` between values: PostgreSQL's `IS
    // [NOT] DISTINCT FROM` (its IS only takes NULL, TRUE, FALSE…).
    static IS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bIS(\s+NOT)?\s+([A-Za-z_][\w.]*|\d+|'[^']*'|\$\d+)")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    let out_cross = CROSS.replace_all(&out, |c: &regex::Captures<'_>| {
        if c[1].to_ascii_uppercase().ends_with(" ON") {
            c[0].to_string()
        } else {
            format!("JOIN {} ON", &c[1])
        }
    });
    let mut out = IS
        .replace_all(&out_cross, |c: &regex::Captures<'_>| {
            let word = c[2].to_ascii_uppercase();
            if matches!(
                word.as_str(),
                "NULL" | "NOT" | "TRUE" | "FALSE" | "DISTINCT" | "UNKNOWN"
            ) {
                c[0].to_string()
            } else if c.get(1).is_some() {
                format!("IS DISTINCT FROM {}", &c[2])
            } else {
                format!("IS NOT DISTINCT FROM {}", &c[2])
            }
        })
        .into_owned();
    // SQLite's plan pins (`INDEXED BY name`): PostgreSQL plans by itself.
    while let Some(at) = out.to_ascii_uppercase().find(" INDEXED BY ") {
        let name_start = at + " INDEXED BY ".len();
        let name_end = out[name_start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(out.len(), |i| name_start + i);
        out.replace_range(at..name_end, "");
    }
    let upper = out.to_ascii_uppercase();
    if let Some(at) = upper.find("INSERT OR IGNORE INTO") {
        out.replace_range(at..at + "INSERT OR IGNORE INTO".len(), "INSERT INTO");
        let upper = out.to_ascii_uppercase();
        let end = out.trim_end().trim_end_matches(';').len();
        match upper.rfind("RETURNING") {
            Some(r) => out.insert_str(r, "ON CONFLICT DO NOTHING "),
            None => out.insert_str(end, " ON CONFLICT DO NOTHING"),
        }
    }
    unmask(&out, &quoted)
}

/// `sql` with `?N` as `$N`, each quoted part (a literal or a quoted name)
/// replaced by `'\u{1}N'` (N its index in the list returned beside) and
/// `--` comments removed.
fn mask(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len() + 24);
    let mut quoted = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut part = String::from(c);
                while let Some(n) = chars.next() {
                    part.push(n);
                    // A doubled quote is one quote inside the part.
                    if n == c && chars.peek() != Some(&c) {
                        break;
                    }
                    if n == c {
                        if let Some(d) = chars.next() {
                            part.push(d);
                        }
                    }
                }
                out.push_str(&format!("'\u{1}{}'", quoted.len()));
                quoted.push(part);
            }
            '-' if chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '?' => out.push('$'),
            c => out.push(c),
        }
    }
    (out, quoted)
}

/// [`mask`] undone: each `'\u{1}N'` back to its quoted part.
fn unmask(sql: &str, quoted: &[String]) -> String {
    let mut out = String::with_capacity(sql.len() + quoted.iter().map(String::len).sum::<usize>());
    let mut rest = sql;
    while let Some(at) = rest.find("'\u{1}") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.find('\'').unwrap_or(after.len());
        match after[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|i| quoted.get(i))
        {
            Some(part) => out.push_str(part),
            None => out.push_str(&rest[at..at + 2 + digits + 1]),
        }
        rest = after.get(digits + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::NUMERIC => numeric(v, out),
                _ => v.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Arg::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                _ => v.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Arg::Text(v) => match *ty {
                Type::INT8 | Type::INT4 | Type::INT2 => {
                    Err(format!("text {v:?} given for an integer parameter").into())
                }
                _ => v.to_sql(&Type::TEXT, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// An integer as a NUMERIC parameter (base-10000 digits).
fn numeric(
    v: i64,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    use bytes::BufMut;
    let mut digits = Vec::new();
    let mut n = i128::from(v).unsigned_abs();
    while n > 0 {
        digits.push(i16::try_from(n % 10_000)?);
        n /= 10_000;
    }
    digits.reverse();
    let weight = i16::try_from(digits.len()).unwrap_or(0) - 1;
    out.put_i16(i16::try_from(digits.len())?);
    out.put_i16(weight.max(0));
    out.put_u16(if v < 0 { 0x4000 } else { 0 });
    out.put_u16(0);
    for d in digits {
        out.put_i16(d);
    }
    Ok(IsNull::No)
}

/// One column's value, whatever its type on the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl<'a> FromSql<'a> for Val {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Val, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Val::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Val::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Val::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Val::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Val::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => from_numeric(raw)?,
            _ => Val::Text(String::from_utf8(raw.to_vec())?),
        })
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Val, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Val::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// NUMERIC's binary form (what `sum(bigint)` returns): an integer when it
/// has no fraction, else a float.
fn from_numeric(raw: &[u8]) -> std::result::Result<Val, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> std::result::Result<i16, Box<dyn std::error::Error + Sync + Send>> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "short NUMERIC".into())
    };
    let ndigits = usize::try_from(word(0)?)?;
    let weight = i32::from(word(2)?);
    let sign = word(4)? as u16;
    if sign == 0xC000 {
        return Ok(Val::Real(f64::NAN));
    }
    let mut int: i128 = 0;
    let mut real = 0f64;
    let mut fraction = false;
    for k in 0..ndigits {
        let d = i128::from(word(8 + 2 * k)?);
        let power = weight - i32::try_from(k)?;
        real += d as f64 * 10_000f64.powi(power);
        if power >= 0 {
            int = int
                .checked_mul(10_000)
                .and_then(|x| x.checked_add(d))
                .ok_or("NUMERIC out of range")?;
        } else if d != 0 {
            fraction = true;
        }
    }
    // Trailing zero groups are not sent: scale what was.
    let last = weight - i32::try_from(ndigits).unwrap_or(0) + 1;
    for _ in 0..last.max(0) {
        int = int.checked_mul(10_000).ok_or("NUMERIC out of range")?;
    }
    let negative = sign == 0x4000;
    if fraction {
        return Ok(Val::Real(if negative { -real } else { real }));
    }
    let int = if negative { -int } else { int };
    Ok(Val::Int(i64::try_from(int)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_parameters_outside_quotes() {
        assert_eq!(
            translate("SELECT ?1, '?', \"a?\" WHERE x = ?2"),
            "SELECT $1, '?', \"a?\" WHERE x = $2"
        );
    }

    #[test]
    fn sqlite_only_spellings_become_postgres_ones() {
        assert_eq!(
            translate("FROM gap_pages g CROSS JOIN events e ON e.id = g.event_id"),
            "FROM gap_pages g JOIN events e ON e.id = g.event_id"
        );
        assert_eq!(translate("FROM a CROSS JOIN b"), "FROM a CROSS JOIN b");
        assert_eq!(
            translate("WHERE level IS prev_level AND x IS NOT y AND z IS NULL AND w IS NOT NULL"),
            "WHERE level IS NOT DISTINCT FROM prev_level AND x IS DISTINCT FROM y AND z IS NULL AND w IS NOT NULL"
        );
        assert_eq!(
            translate("a IS NOT DISTINCT FROM b"),
            "a IS NOT DISTINCT FROM b"
        );
    }

    #[test]
    fn a_script_is_translated_statement_by_statement() {
        let script = "-- a comment; with a semicolon\nINSERT OR IGNORE INTO a (x) SELECT 1;\n\
                      UPDATE b SET y = 'p;q' WHERE z = 1;\n-- trailing\n";
        let parts = statements(script);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(translate(parts[0])
            .trim_end()
            .ends_with("SELECT 1 ON CONFLICT DO NOTHING"));
        assert!(parts[1].contains("'p;q'"));
    }

    #[test]
    fn nothing_inside_a_literal_a_quoted_name_or_a_comment_is_rewritten() {
        assert_eq!(
            translate(
                "SELECT 'it is late?', \"a IS b\" FROM t WHERE x IS y -- is ? here\nAND z = ?1"
            ),
            "SELECT 'it is late?', \"a IS b\" FROM t WHERE x IS NOT DISTINCT FROM y \nAND z = $1"
        );
        assert_eq!(
            translate("SELECT 'it''s ?' WHERE a = ?2"),
            "SELECT 'it''s ?' WHERE a = $2"
        );
        assert_eq!(
            translate("INSERT OR IGNORE INTO t (a) VALUES ('x') -- trailing note").trim_end(),
            "INSERT INTO t (a) VALUES ('x') ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            translate("WHERE s IS 'x'"),
            "WHERE s IS NOT DISTINCT FROM 'x'"
        );
    }

    #[test]
    fn index_pins_are_dropped() {
        assert_eq!(
            translate("SELECT id FROM issues INDEXED BY issues_due WHERE x UNION SELECT 1 FROM events e INDEXED BY events_breached"),
            "SELECT id FROM issues WHERE x UNION SELECT 1 FROM events e"
        );
    }

    #[test]
    fn insert_or_ignore_becomes_on_conflict() {
        assert_eq!(
            translate("INSERT OR IGNORE INTO t (a) VALUES (?1)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            translate("INSERT OR IGNORE INTO t (a) VALUES (?1) RETURNING a"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING a"
        );
    }

    #[test]
    fn numeric_round_trips_through_the_wire_form() {
        for v in [
            0i64,
            1,
            -1,
            9_999,
            10_000,
            123_456_789,
            -98_765_432_100,
            i64::MAX / 3,
        ] {
            let mut buf = BytesMut::new();
            numeric(v, &mut buf).expect("encodes");
            assert_eq!(from_numeric(&buf).expect("decodes"), Val::Int(v), "{v}");
        }
    }
}
