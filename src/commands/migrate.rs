//! `escalate migrate --to postgres://…`: move a SQLite database (`--db`)
//! into an empty PostgreSQL database, in one transaction, and print what
//! was copied and the totals both sides agree on. The SQLite file is only
//! read; point `--db` (or `ESCALATE_DB`) at the URL afterwards.

use anyhow::Result;

use super::{Ctx, Io};
use crate::error::{usage, Code};
use crate::store::copy;

pub fn run(ctx: &Ctx, to: &str, io: &mut Io) -> Result<Code> {
    if !crate::store::is_postgres_url(to) {
        return Err(usage(format!(
            "--to must be a postgres:// URL, not {}",
            crate::text::terminal(&crate::store::redact_url(to))
        )));
    }
    let mut source = ctx.store()?;
    let copied = copy::to_postgres(&mut source, to, ctx.busy_timeout)?;
    writeln!(
        io.out,
        "copied {} into {}:",
        ctx.db_path.display(),
        copied.target
    )?;
    for (table, rows) in &copied.tables {
        writeln!(io.out, "  {table:<22} {rows:>10} rows")?;
    }
    writeln!(io.out, "verified (SQLite = PostgreSQL):")?;
    for (what, a, _) in &copied.totals {
        writeln!(io.out, "  {what:<40} {a:>10}")?;
    }
    for w in &copied.warnings {
        io.warn(w);
    }
    writeln!(
        io.out,
        "next: run escalate with --db (or ESCALATE_DB) set to the URL; keep {} as a backup",
        ctx.db_path.display()
    )?;
    Ok(Code::Ok)
}
