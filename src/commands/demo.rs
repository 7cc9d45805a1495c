//! `escalate demo`: the real pipeline (config, store, engine, outbox,
//! console delivery, report) on a throwaway database in a temp directory,
//! driven by a simulated clock across a week.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{TimeDelta, TimeZone, Utc};

use super::{ack, assign, check, create, report, resolve, Ctx, Io};
use crate::cli::{CreateArgs, Format};
use crate::config::STARTER;
use crate::error::Code;
use crate::model::Ts;
use crate::store::{OpenMode, Store};

/// What happens in the simulated week, minutes after the start.
enum Step {
    File(&'static str, &'static str),
    Ack(i64, &'static str),
    Assign(i64, &'static str),
    Resolve(i64, &'static str, &'static str),
}

const SCRIPT: &[(i64, Step)] = &[
    (
        0,
        Step::File(
            "customer_issue",
            "Customer cannot log in after password reset",
        ),
    ),
    (
        10,
        Step::File("system_outage", "Checkout API returning 502s"),
    ),
    (40, Step::Ack(2, "dana")),
    (
        60,
        Step::File("customer_issue", "Invoice shows the wrong currency"),
    ),
    (
        300,
        Step::Resolve(2, "dana", "rolled back the gateway deploy"),
    ),
    (360, Step::Resolve(3, "priya", "currency mapping fixed")),
    (
        1440,
        Step::File("customer_issue", "Data export stuck at 99%"),
    ),
    (1560, Step::Ack(4, "sam")),
    (2640, Step::Resolve(4, "sam", "export worker restarted")),
    (
        2880,
        Step::File("customer_issue", "Refund not received after 10 days"),
    ),
    (2940, Step::Assign(5, "lee")),
    (5760, Step::Resolve(5, "lee", "refund reissued")),
];

pub fn run(io: &mut Io) -> Result<Code> {
    let dir = tempfile::tempdir().context("creating a temp directory for the demo")?;
    let config_path = dir.path().join("chains.toml");
    let db_path = dir.path().join("escalation.db");
    std::fs::write(&config_path, STARTER).context("writing the demo chains.toml")?;
    let start: Ts = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .context("demo start time")?;
    let mut ctx = Ctx {
        config_path,
        db_path,
        now: start,
        busy_timeout: Duration::from_secs(10),
        fixed_now: true,
    };
    Store::open(&ctx.db_path, OpenMode::Create, ctx.busy_timeout)?;

    writeln!(
        io.out,
        "escalate demo: the example chains.toml, a throwaway database in {},\n\
         and a simulated week from {} with `escalate check` every 30 minutes.\n",
        dir.path().display(),
        start.format("%a %Y-%m-%d %H:%M UTC")
    )?;

    let week = 7 * 24 * 60;
    let mut script = SCRIPT.iter().peekable();
    let mut minute = 0;
    while minute <= week {
        ctx.now = start + TimeDelta::minutes(minute);
        while let Some((at, step)) = script.next_if(|(at, _)| *at <= minute) {
            ctx.now = start + TimeDelta::minutes(*at);
            let (text, code) = capture(|io| match step {
                Step::File(chain, title) => {
                    let args = CreateArgs {
                        chain: Some(chain.to_string()),
                        source: "cli".to_string(),
                        priority: None,
                        tags: Vec::new(),
                        title: title.to_string(),
                        description: None,
                        external_ref: None,
                        json: false,
                    };
                    let mut id = Vec::new();
                    let code = create::run(
                        &ctx,
                        &args,
                        &mut Io {
                            out: &mut id,
                            err: &mut *io.err,
                        },
                    )?;
                    let id = String::from_utf8_lossy(&id).trim().to_string();
                    writeln!(io.out, "filed issue #{id} on {chain}: '{title}'")?;
                    Ok(code)
                }
                Step::Ack(id, who) => ack::run(&ctx, &id.to_string(), who, false, io),
                Step::Assign(id, who) => {
                    assign::run(&ctx, &id.to_string(), who, Some("support-ops"), false, io)
                }
                Step::Resolve(id, who, note) => {
                    resolve::run(&ctx, &id.to_string(), Some(who), Some(note), false, io)
                }
            })?;
            print_at(io, ctx.now, &text)?;
            if code != Code::Ok {
                return Ok(code);
            }
        }
        ctx.now = start + TimeDelta::minutes(minute);
        let (text, code) = capture(|io| check::run(&ctx, false, io))?;
        print_at(io, ctx.now, &text)?;
        if code != Code::Ok {
            return Ok(code);
        }
        minute += 30;
    }

    writeln!(io.out, "\n--- escalate report --days 7 ---\n")?;
    report::run(&ctx, 7, Format::Markdown, io)?;
    writeln!(
        io.out,
        "\nThe demo database is deleted. To start for real: `escalate init`, edit chains.toml,\n\
         then run `escalate check` from cron every 5 minutes (see README)."
    )?;
    Ok(Code::Ok)
}

/// Run a command with its stdout and stderr captured together.
fn capture(f: impl FnOnce(&mut Io) -> Result<Code>) -> Result<(String, Code)> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = {
        let mut io = Io {
            out: &mut out,
            err: &mut err,
        };
        f(&mut io)?
    };
    // Console pages that `create` sends to stderr read best after its output.
    out.extend_from_slice(&err);
    Ok((String::from_utf8_lossy(&out).into_owned(), code))
}

fn print_at(io: &mut Io, at: Ts, text: &str) -> Result<()> {
    for line in text.lines() {
        writeln!(io.out, "{}  {line}", at.format("%a %H:%M"))?;
    }
    Ok(())
}
