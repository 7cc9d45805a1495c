//! `escalate report`: every issue open during the last N days.

use anyhow::Result;
use chrono::TimeDelta;

use super::{Ctx, Io};
use crate::cli::Format;
use crate::error::Code;
use crate::report;
use crate::store::report as queries;

pub fn run(ctx: &Ctx, days: u32, format: Format, io: &mut Io) -> Result<Code> {
    let mut store = ctx.store()?;
    let end = ctx.now;
    let start = end - TimeDelta::days(i64::from(days));
    let rows = store.read(|tx| queries::window(tx, start, end))?;
    let built = report::build(&rows, start, end, days);
    match format {
        Format::Markdown => write!(io.out, "{}", report::markdown(&built))?,
        Format::Json => writeln!(io.out, "{}", serde_json::to_string_pretty(&built)?)?,
    }
    Ok(Code::Ok)
}
