//! `escalate config check`: validate chains.toml and summarise each chain.

use anyhow::Result;
use serde::Serialize;

use super::{Ctx, Io};
use chrono::{SecondsFormat, TimeDelta};

use crate::config::calendars::Calendar;
use crate::config::{Chain, Config, Contact};
use crate::engine::calendar;
use crate::error::Code;
use crate::model::time::human;
use crate::model::Ts;

/// `config check --json`: the validated config in summary, durations in
/// seconds, and the same warnings and problems stderr gets.
#[derive(Serialize)]
struct Summary {
    config: String,
    ok: bool,
    roles: Vec<String>,
    chains: Vec<ChainSummary>,
    calendars: Vec<CalendarSummary>,
    warnings: Vec<String>,
    problems: Vec<String>,
}

/// A calendar some chain uses, and when it next opens.
#[derive(Serialize)]
struct CalendarSummary {
    name: String,
    timezone: String,
    hours: String,
    holidays: Vec<String>,
    /// The first open instant at or after the command's `now` (UTC), and
    /// the same in the calendar's zone.
    next_open: Option<String>,
    next_open_local: Option<String>,
}

fn calendar_summary(cal: &Calendar, now: Ts) -> CalendarSummary {
    let next = calendar::next_open(cal, now);
    CalendarSummary {
        name: cal.name.clone(),
        timezone: cal.tz.name().to_string(),
        hours: cal.describe_week(),
        holidays: cal.holidays.iter().map(|d| d.to_string()).collect(),
        next_open: next.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        next_open_local: next.map(|t| {
            t.with_timezone(&cal.tz)
                .format("%a %Y-%m-%d %H:%M %Z")
                .to_string()
        }),
    }
}

/// The calendars chains use (`always` aside: it is always open).
fn used_calendars(config: &Config) -> Vec<&Calendar> {
    config
        .calendars
        .values()
        .filter(|c| !c.is_always())
        .filter(|c| config.chains.values().any(|ch| ch.calendar.name == c.name))
        .map(AsRef::as_ref)
        .collect()
}

fn print_calendars(config: &Config, now: Ts, io: &mut Io) -> Result<()> {
    for cal in used_calendars(config) {
        let s = calendar_summary(cal, now);
        writeln!(io.out)?;
        writeln!(io.out, "calendar {} ({}): {}", s.name, s.timezone, s.hours)?;
        if !s.holidays.is_empty() {
            writeln!(io.out, "  closed on {}", s.holidays.join(", "))?;
        }
        match (s.next_open_local, s.next_open) {
            (Some(local), Some(utc)) => writeln!(io.out, "  next open: {local} ({utc})")?,
            _ => writeln!(io.out, "  never open again")?,
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ChainSummary {
    name: String,
    description: Option<String>,
    levels: Vec<LevelSummary>,
    repeat: u32,
    repeat_every_seconds: Option<i64>,
    ack_timeout_seconds: Option<i64>,
    sla_response_seconds: Option<i64>,
    sla_resolution_seconds: Option<i64>,
    breach_notify: Vec<String>,
    calendar: String,
    policies: Vec<PolicySummary>,
}

/// One `[[chains.NAME.sla]]` policy.
#[derive(Serialize)]
struct PolicySummary {
    policy: u32,
    /// Empty: every issue the earlier policies did not take.
    priorities: Vec<String>,
    sla_response_seconds: Option<i64>,
    sla_resolution_seconds: Option<i64>,
    calendar: String,
    /// The clocks a pause stops.
    pause: Vec<&'static str>,
}

fn policy_summaries(chain: &Chain) -> Vec<PolicySummary> {
    chain
        .policies
        .iter()
        .map(|p| {
            let e = &p.effective;
            PolicySummary {
                policy: e.policy.unwrap_or_default(),
                priorities: p.priorities.clone(),
                sla_response_seconds: e.sla.response.map(|t| t.num_seconds()),
                sla_resolution_seconds: e.sla.resolution.map(|t| t.num_seconds()),
                calendar: e.calendar.name.clone(),
                pause: e.sla.pause.iter().map(|t| t.as_str()).collect(),
            }
        })
        .collect()
}

/// `  SLA policy 1 (urgent, high): response 1h, resolution -, calendar always`.
fn print_policies(chain: &Chain, io: &mut Io) -> Result<()> {
    for p in policy_summaries(chain) {
        let which = if p.priorities.is_empty() {
            "any other priority".to_string()
        } else {
            p.priorities.join(", ")
        };
        let target = |s: Option<i64>| s.map_or("-".to_string(), |s| human(TimeDelta::seconds(s)));
        let pause = if p.pause.is_empty() {
            "nothing".to_string()
        } else {
            p.pause.join(" and ")
        };
        writeln!(
            io.out,
            "  SLA policy {} ({which}): response {}, resolution {}, calendar {}, a pause stops {pause}",
            p.policy,
            target(p.sla_response_seconds),
            target(p.sla_resolution_seconds),
            p.calendar
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct LevelSummary {
    level: usize,
    role: String,
    reached_after_seconds: i64,
    contacts: Vec<String>,
}

fn contacts(config: &Config, role: &str) -> Vec<String> {
    config
        .contacts(role)
        .iter()
        .map(|c| match c {
            Contact::Console => "console".to_string(),
            other => format!("{} {}", other.channel(), other.target()),
        })
        .collect()
}

fn chain_summary(config: &Config, chain: &Chain) -> ChainSummary {
    let levels = chain
        .levels
        .iter()
        .zip(chain.offsets())
        .enumerate()
        .map(|(i, (level, at))| LevelSummary {
            level: i + 1,
            role: level.role.clone(),
            reached_after_seconds: at.num_seconds(),
            contacts: contacts(config, &level.role),
        })
        .collect();
    ChainSummary {
        name: chain.name.clone(),
        description: chain.description.clone(),
        levels,
        repeat: chain.repeat,
        repeat_every_seconds: chain
            .levels
            .last()
            .filter(|_| chain.repeat > 0)
            .map(|l| l.wait.num_seconds()),
        ack_timeout_seconds: chain.ack_timeout.map(|t| t.num_seconds()),
        sla_response_seconds: chain.sla.response.map(|t| t.num_seconds()),
        sla_resolution_seconds: chain.sla.resolution.map(|t| t.num_seconds()),
        breach_notify: chain.sla.breach_notify.clone(),
        calendar: chain.calendar.name.clone(),
        policies: policy_summaries(chain),
    }
}

/// Chains (or policies) whose whole schedule, counted in their calendar's
/// open time from now, ends past the three years a calendar search covers:
/// the steps beyond would never fall due, so say so rather than go quiet.
fn beyond_horizon(config: &Config, now: Ts) -> Vec<String> {
    let all = config
        .chains
        .values()
        .flat_map(|c| std::iter::once(c).chain(c.policies.iter().map(|p| p.effective.as_ref())));
    all.filter(|c| !c.calendar.is_always())
        .filter_map(|c| {
            let last = c.levels.last().map_or(TimeDelta::zero(), |l| l.wait);
            let total = c.offsets().last().copied().unwrap_or_default()
                + last * i32::try_from(c.repeat).unwrap_or(i32::MAX).min(1000);
            calendar::add(&c.calendar, now, total).is_none().then(|| {
                let which = c.policy.map_or(String::new(), |p| format!(", sla policy {p},"));
                format!(
                    "warning: chain `{}`{which} needs {} of calendar `{}` open time for its whole schedule, \
                     more than it gives in three years: later steps would never fall due",
                    c.name,
                    human(total),
                    c.calendar.name
                )
            })
        })
        .collect()
}

/// How far ahead `config check` looks for on-call gaps.
const GAP_HORIZON_DAYS: i64 = 30;

/// People nobody can reach, and rotation roles with nobody on call at
/// times in the next 30 days (layers only: overrides live in the
/// database, which `config check` does not read).
fn oncall_warnings(config: &Config, now: Ts) -> Vec<String> {
    let mut out = Vec::new();
    for p in config.people.values().filter(|p| p.contacts.is_empty()) {
        out.push(format!(
            "warning: person `{}` has no contacts (email, slack, webhook): their pages reach \
             only their role's own channels",
            p.name
        ));
    }
    let until = now + chrono::TimeDelta::days(GAP_HORIZON_DAYS);
    for role in config.roles.values().filter(|r| !r.rotations.is_empty()) {
        let stretches = crate::engine::oncall::schedule(role, now, until, &[]);
        let gaps: Vec<_> = stretches.iter().filter(|s| s.on_call.is_none()).collect();
        let Some(first) = gaps.first() else { continue };
        let total = gaps
            .iter()
            .fold(chrono::TimeDelta::zero(), |t, s| t + (s.until - s.from));
        out.push(format!(
            "warning: role `{}` has nobody on call for {} of the next {GAP_HORIZON_DAYS} days \
             ({} gap(s), the first {} to {}); pages then go to the role's own channels \
             (overrides not counted)",
            role.name,
            crate::model::time::human(total),
            gaps.len(),
            crate::model::time::rfc3339(first.from),
            crate::model::time::rfc3339(first.until)
        ));
    }
    out
}

/// The warnings `config check` prints, without the `escalate: ` prefix.
fn warnings(config: &Config, now: Ts) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(beyond_horizon(config, now));
    out.extend(oncall_warnings(config, now));
    for role in config.roles.values() {
        let people = !role.members.is_empty() || !role.rotations.is_empty();
        if role.contacts == [Contact::Console] && !people {
            out.push(format!(
                "warning: role `{}` has no contacts: its notifications only print on the console",
                role.name
            ));
        }
    }
    for role in config.unused_roles() {
        out.push(format!("warning: role `{role}` is not used by any chain"));
    }
    if config.chains.is_empty() {
        out.push("warning: no chains are defined; `create` will refuse every issue".into());
    }
    // Loopback and private destinations are allowed (local relays, tests),
    // but worth a look.
    out.extend(config.destination_notes());
    out
}

pub fn check(ctx: &Ctx, json: bool, io: &mut Io) -> Result<Code> {
    let config = ctx.config()?;
    if json {
        let problems = config.environment_problems();
        let summary = Summary {
            config: ctx.config_path.display().to_string(),
            ok: problems.is_empty(),
            roles: config.roles.keys().cloned().collect(),
            chains: config
                .chains
                .values()
                .map(|c| chain_summary(&config, c))
                .collect(),
            calendars: used_calendars(&config)
                .into_iter()
                .map(|c| calendar_summary(c, ctx.now))
                .collect(),
            warnings: warnings(&config, ctx.now),
            problems,
        };
        writeln!(io.out, "{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(if summary.ok { Code::Ok } else { Code::Usage });
    }
    writeln!(
        io.out,
        "{}: ok ({} chains, {} roles)",
        ctx.config_path.display(),
        config.chains.len(),
        config.roles.len()
    )?;
    for chain in config.chains.values() {
        writeln!(io.out)?;
        match &chain.description {
            Some(d) => writeln!(io.out, "chain {}: {d}", chain.name)?,
            None => writeln!(io.out, "chain {}", chain.name)?,
        }
        let offsets = chain.offsets();
        for (i, (level, at)) in chain.levels.iter().zip(&offsets).enumerate() {
            let contacts = contacts(&config, &level.role);
            writeln!(
                io.out,
                "  L{} {:<24} reached after {:<8} via {}",
                i + 1,
                level.role,
                if at.is_zero() {
                    "0 (at once)".to_string()
                } else {
                    human(*at)
                },
                contacts.join(", ")
            )?;
        }
        if let Some(last) = chain.levels.last() {
            if chain.repeat > 0 {
                writeln!(
                    io.out,
                    "  last level re-notified every {}, {} time(s)",
                    human(last.wait),
                    chain.repeat
                )?;
            } else {
                writeln!(io.out, "  last level is final (no repeat)")?;
            }
        }
        if let Some(t) = chain.ack_timeout {
            writeln!(io.out, "  an acknowledgement lapses after {}", human(t))?;
        }
        if !chain.calendar.is_always() {
            writeln!(
                io.out,
                "  waits and SLA targets count open hours of calendar {}",
                chain.calendar.name
            )?;
        }
        let sla = &chain.sla;
        for (name, target) in [("response", sla.response), ("resolution", sla.resolution)] {
            if let Some(t) = target {
                writeln!(
                    io.out,
                    "  SLA {name}: within {}, at risk after {}",
                    human(t),
                    human(sla.at_risk.offset(t))
                )?;
            }
        }
        print_policies(chain, io)?;
        if !sla.breach_notify.is_empty() {
            writeln!(
                io.out,
                "  breaches also notify {}",
                sla.breach_notify.join(", ")
            )?;
        }
    }
    print_calendars(&config, ctx.now, io)?;
    let problems = config.environment_problems();
    for p in &problems {
        io.warn(format!("{}: {p}", ctx.config_path.display()));
    }
    for w in warnings(&config, ctx.now) {
        io.warn(w);
    }
    if !problems.is_empty() {
        return Ok(Code::Usage);
    }
    Ok(Code::Ok)
}
