//! `escalate init`: write a starter chains.toml (never overwriting one) and
//! create the database.

use std::io::Write as _;

use anyhow::Result;

use super::{Ctx, Io};
use crate::config::{Config, STARTER};
use crate::error::{usage, Code};

pub fn run(ctx: &Ctx, io: &mut Io) -> Result<Code> {
    let path = &ctx.config_path;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(STARTER.as_bytes())
                .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
            writeln!(
                io.out,
                "wrote {} (the example chains; edit roles and waits to fit your team)",
                path.display()
            )?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            writeln!(
                io.out,
                "kept existing {} (init never overwrites it)",
                path.display()
            )?;
        }
        Err(e) => return Err(usage(format!("cannot write {}: {e}", path.display()))),
    }
    let mut store = ctx.store_create()?;
    // The URL as shown (no password), or the file's path.
    let version = store.schema_version()?;
    writeln!(
        io.out,
        "database {} is ready (schema version {version})",
        store.shown()
    )?;
    // An existing file may be broken: say so now rather than at page time.
    Config::load(path).map_err(crate::error::Error::from)?;
    writeln!(
        io.out,
        "next: `escalate config check`, then add `escalate check` to cron (see README)"
    )?;
    Ok(Code::Ok)
}
