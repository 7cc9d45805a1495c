//! `escalate oncall`: who is on call for each role now (or `--at`), a
//! role's resolved schedule (`ROLE --days N`), and overrides (`override`,
//! `overrides`, `cancel`).

use anyhow::Result;
use chrono::TimeDelta;
use serde::Serialize;
use serde_json::json;

use super::{default_actor, Ctx, Io};
use crate::cli::{OncallAction, OncallArgs};
use crate::config::{Config, Role};
use crate::engine::oncall::{self, OnCall, Override, Stretch, Via};
use crate::error::{usage, Code};
use crate::lifecycle;
use crate::model::time::rfc3339;
use crate::model::Ts;
use crate::store::oncall::{NewOverride, OverrideRow};
use crate::text::one_line;

/// Hand-offs shown per role by `oncall` (the schedule shows them all).
const NEXT_SHOWN: usize = 3;

/// How far ahead `oncall` looks for the next hand-offs.
const LOOKAHEAD_DAYS: i64 = 30;

pub fn run(ctx: &Ctx, args: OncallArgs, io: &mut Io) -> Result<Code> {
    match args.action {
        Some(OncallAction::Override {
            role,
            person,
            from,
            until,
            by,
            json,
        }) => add(
            ctx,
            &role,
            &person,
            from.as_deref(),
            &until,
            by.as_deref(),
            json,
            io,
        ),
        Some(OncallAction::Overrides { all, json }) => list(ctx, all, json, io),
        Some(OncallAction::Cancel { id, by }) => cancel(ctx, &id, by.as_deref(), io),
        None => show(ctx, &args, io),
    }
}

fn time(flag: &str, raw: Option<&str>, now: Ts) -> Result<Ts> {
    raw.map_or(Ok(now), |r| super::report::parse_date(flag, r))
}

/// `oncall [ROLE] [--at T] [--days N]`.
fn show(ctx: &Ctx, args: &OncallArgs, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    let at = time("--at", args.at.as_deref(), ctx.now)?;
    let roles: Vec<&Role> = match &args.role {
        Some(name) => vec![config
            .roles
            .get(name)
            .ok_or_else(|| unknown_role(&config, name))?],
        None => config
            .roles
            .values()
            .filter(|r| !r.rotations.is_empty())
            .collect(),
    };
    let overrides = ctx
        .store_read()?
        .read(|tx| lifecycle::oncall::overrides(tx, at - TimeDelta::days(1)))?;
    if let Some(days) = args.days {
        let role = roles[0];
        let until = at + TimeDelta::days(i64::from(days));
        let stretches = oncall::schedule(role, at, until, &overrides);
        return print_schedule(role, &stretches, args.json, io);
    }
    let views: Vec<RoleNow> = roles
        .iter()
        .map(|r| RoleNow::new(r, &config, at, &overrides))
        .collect();
    if args.json {
        let v = json!({ "at": rfc3339(at), "roles": views });
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(Code::Ok);
    }
    if views.is_empty() {
        writeln!(
            io.out,
            "no role has rotations (add [[roles.NAME.rotations]] to chains.toml)"
        )?;
    }
    for v in &views {
        writeln!(io.out, "{}", v.line())?;
    }
    Ok(Code::Ok)
}

fn unknown_role(config: &Config, name: &str) -> anyhow::Error {
    let known: Vec<&str> = config.roles.keys().map(String::as_str).collect();
    usage(format!(
        "no role `{}` (roles: {})",
        one_line(name),
        known.join(", ")
    ))
}

/// Who is on call for one role at an instant, and the next hand-offs.
#[derive(Debug, Serialize)]
struct RoleNow {
    role: String,
    on_call: Option<String>,
    /// `layer N (name)` or `override ID`.
    via: Option<String>,
    /// When this stretch ends (null: not within 30 days).
    until: Option<String>,
    /// `until` in the on-call person's own timezone, when they have one.
    until_local: Option<String>,
    next: Vec<Handoff>,
    /// People told of every page besides the person on call.
    members: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Handoff {
    at: String,
    to: Option<String>,
    /// `at` in the incoming person's own timezone, when they have one.
    local: Option<String>,
}

impl RoleNow {
    fn new(role: &Role, config: &Config, at: Ts, overrides: &[Override]) -> RoleNow {
        let ahead = oncall::schedule(role, at, at + TimeDelta::days(LOOKAHEAD_DAYS), overrides);
        let now = ahead.first();
        let on_call = now
            .and_then(|s| s.on_call.as_ref())
            .map(|o| o.person.clone());
        let until = now.filter(|_| ahead.len() > 1).map(|s| s.until);
        RoleNow {
            role: role.name.clone(),
            until_local: until.and_then(|t| local_for(config, on_call.as_deref(), t)),
            on_call,
            via: now.and_then(|s| s.on_call.as_ref()).map(|o| via(role, o)),
            until: until.map(rfc3339),
            next: ahead
                .iter()
                .skip(1)
                .take(NEXT_SHOWN)
                .map(|s| {
                    let to = s.on_call.as_ref().map(|o| o.person.clone());
                    Handoff {
                        at: rfc3339(s.from),
                        local: local_for(config, to.as_deref(), s.from),
                        to,
                    }
                })
                .collect(),
            members: role.members.clone(),
        }
    }

    fn line(&self) -> String {
        let who = match (&self.on_call, &self.via) {
            (Some(p), Some(v)) => format!("{p} ({v})"),
            _ if self.next.is_empty() && self.until.is_none() => {
                "nobody (no rotation covers it)".into()
            }
            _ => "NOBODY (a gap: pages go to the role's own channels)".into(),
        };
        let until = self.until.as_ref().map_or(String::new(), |u| {
            format!(" until {u}{}", in_words(self.until_local.as_deref()))
        });
        let next: Vec<String> = self
            .next
            .iter()
            .map(|h| {
                let to = h.to.as_deref().unwrap_or("nobody");
                format!("{to} at {}{}", h.at, in_words(h.local.as_deref()))
            })
            .collect();
        let next = if next.is_empty() {
            String::new()
        } else {
            format!("; then {}", next.join(", "))
        };
        format!("{}: {who}{until}{next}", self.role)
    }
}

/// `t` on `person`'s own clock (`Tue 09:00 EST`), when they have a
/// timezone: a hand-off read as the person living it reads it.
fn local_for(config: &Config, person: Option<&str>, t: Ts) -> Option<String> {
    let tz = config.people.get(person?)?.timezone?;
    Some(t.with_timezone(&tz).format("%a %H:%M %Z").to_string())
}

fn in_words(local: Option<&str>) -> String {
    local.map_or(String::new(), |l| format!(" ({l} their time)"))
}

fn via(role: &Role, o: &OnCall) -> String {
    match o.via {
        Via::Override(id) => format!("override {id}"),
        Via::Layer(i) => {
            let name = role.rotations.get(i).map_or("", |r| r.name.as_str());
            format!("layer {} `{name}`", i + 1)
        }
    }
}

fn print_schedule(role: &Role, stretches: &[Stretch], json: bool, io: &mut Io) -> Result<Code> {
    let tz = role.rotations.first().map(|r| r.tz);
    let local = |t: Ts| match tz {
        Some(tz) => t
            .with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string(),
        None => rfc3339(t),
    };
    if json {
        let rows: Vec<_> = stretches
            .iter()
            .map(|s| {
                json!({
                    "from": rfc3339(s.from),
                    "until": rfc3339(s.until),
                    "person": s.on_call.as_ref().map(|o| o.person.clone()),
                    "via": s.on_call.as_ref().map(|o| via(role, o)),
                })
            })
            .collect();
        let layers: Vec<_> = role
            .rotations
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "members": r.members, "timezone": r.tz.name(),
                    "start": r.start.format("%Y-%m-%dT%H:%M").to_string(),
                    "shift_seconds": r.shift.num_seconds(),
                    "hours": r.hours.as_ref().map(|h| h.describe_week()),
                })
            })
            .collect();
        let v = json!({ "role": role.name, "layers": layers, "schedule": rows });
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(Code::Ok);
    }
    writeln!(io.out, "role {}:", role.name)?;
    for (i, r) in role.rotations.iter().enumerate() {
        let hours = r
            .hours
            .as_ref()
            .map_or(String::new(), |h| format!(", hours {}", h.describe_week()));
        writeln!(
            io.out,
            "  layer {} `{}`: {} every {}, from {} {}{hours}",
            i + 1,
            r.name,
            r.members.join(", "),
            crate::model::time::human(r.shift),
            r.start.format("%Y-%m-%d %H:%M"),
            r.tz.name()
        )?;
    }
    for s in stretches {
        let who = match &s.on_call {
            Some(o) => format!("{} ({})", o.person, via(role, o)),
            None => "NOBODY (gap)".to_string(),
        };
        writeln!(io.out, "  {}  →  {}  {who}", local(s.from), local(s.until))?;
    }
    Ok(Code::Ok)
}

#[allow(clippy::too_many_arguments)]
fn add(
    ctx: &Ctx,
    role: &str,
    person: &str,
    from: Option<&str>,
    until: &str,
    by: Option<&str>,
    json: bool,
    io: &mut Io,
) -> Result<Code> {
    let by = default_actor(by)?;
    let config = ctx.config()?;
    let from = time("--from", from, ctx.now)?;
    let until = super::pause::parse_until(until, from)?;
    let new = NewOverride {
        role,
        person,
        from,
        until,
        by: &by,
    };
    let id = ctx
        .store()?
        .write(|tx| lifecycle::oncall::add_override(tx, &config, &new, ctx.now))?;
    if json {
        let v = json!({"id": id, "role": role, "person": person, "from": rfc3339(from), "until": rfc3339(until), "by": by});
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            io.out,
            "override {id}: {person} is on call for {role} from {} until {} (by {by})",
            rfc3339(from),
            rfc3339(until)
        )?;
    }
    Ok(Code::Ok)
}

fn list(ctx: &Ctx, all: bool, json: bool, io: &mut Io) -> Result<Code> {
    let rows = ctx
        .store_read()?
        .read(|tx| crate::store::oncall::list(tx, all, ctx.now))?;
    if json {
        let v: Vec<_> = rows.iter().map(row_json).collect();
        writeln!(io.out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(Code::Ok);
    }
    if rows.is_empty() {
        writeln!(io.out, "no overrides")?;
    }
    for r in &rows {
        let cancelled = r.cancelled_at.map_or(String::new(), |t| {
            format!(
                ", cancelled {} by {}",
                rfc3339(t),
                r.cancelled_by.as_deref().unwrap_or("")
            )
        });
        writeln!(
            io.out,
            "{}  {}: {} from {} until {} (by {} at {}{cancelled})",
            r.o.id,
            r.o.role,
            r.o.person,
            rfc3339(r.o.from),
            rfc3339(r.o.until),
            r.created_by,
            rfc3339(r.created_at)
        )?;
    }
    Ok(Code::Ok)
}

fn row_json(r: &OverrideRow) -> serde_json::Value {
    json!({
        "id": r.o.id, "role": r.o.role, "person": r.o.person,
        "from": rfc3339(r.o.from), "until": rfc3339(r.o.until),
        "created_by": r.created_by, "created_at": rfc3339(r.created_at),
        "cancelled_by": r.cancelled_by, "cancelled_at": r.cancelled_at.map(rfc3339),
    })
}

fn cancel(ctx: &Ctx, id: &str, by: Option<&str>, io: &mut Io) -> Result<Code> {
    let id = super::parse_id(id)?;
    let by = default_actor(by)?;
    let row = ctx
        .store()?
        .write(|tx| lifecycle::oncall::cancel_override(tx, id, &by, ctx.now))?;
    writeln!(
        io.out,
        "override {id} cancelled ({} for {} from {} until {})",
        row.o.person,
        row.o.role,
        rfc3339(row.o.from),
        rfc3339(row.o.until)
    )?;
    Ok(Code::Ok)
}
