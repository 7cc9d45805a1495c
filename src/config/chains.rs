//! `[chains.NAME]` → [`Chain`]: the levels in order, the repeat count and
//! the acknowledgement timeout; the SLA keys are left to `sla`. Roles and
//! trackers are converted first because levels refer to them by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::TimeDelta;
use toml::Spanned;

use super::calendars::{Calendar, ALWAYS};
use super::check::{check_name, hours};
use super::error::{ConfigError, Source};
use super::raw::{RawChain, RawLevel};
use super::{sla, Chain, Level, Role, Tracker, MAX_LEVELS, MAX_REPEAT};

/// What a chain may refer to, by name.
pub(super) struct Known<'a> {
    pub(super) roles: &'a BTreeMap<String, Role>,
    pub(super) trackers: &'a BTreeMap<String, Tracker>,
    pub(super) calendars: &'a BTreeMap<String, Arc<Calendar>>,
}

/// Every `[chains.NAME]` table.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawChain>>,
    known: &Known,
    src: &Source,
) -> Result<BTreeMap<String, Chain>, ConfigError> {
    let mut chains = BTreeMap::new();
    for (name, chain) in raw {
        let chain = chain_of(name.clone(), chain, known, src)?;
        chains.insert(name, chain);
    }
    Ok(chains)
}

fn chain_of(
    name: String,
    raw: Spanned<RawChain>,
    known: &Known,
    src: &Source,
) -> Result<Chain, ConfigError> {
    let span = raw.span();
    check_name("chain", &name).map_err(|m| src.at(span.clone(), m))?;
    let chain = raw.into_inner();
    if chain.levels.is_empty() {
        return Err(src.at(
            span,
            format!("chain `{name}` has no levels; give it at least one"),
        ));
    }
    if chain.levels.len() > MAX_LEVELS {
        return Err(src.at(
            span,
            format!("chain `{name}` has more than {MAX_LEVELS} levels"),
        ));
    }
    let mut levels = Vec::with_capacity(chain.levels.len());
    for (i, level) in chain.levels.iter().enumerate() {
        levels.push(level_of(&name, i + 1, level, known, src)?);
    }
    let repeat = repeat(&name, chain.repeat.as_ref(), &levels, src)?;
    let ack_timeout = ack_timeout(&name, chain.ack_timeout_hours.as_ref(), src)?;
    let calendar = calendar(
        &format!("chain `{name}`"),
        chain.calendar.as_ref(),
        known,
        src,
    )?;
    let policy_targets = chain
        .sla
        .iter()
        .any(|p| p.get_ref().response_hours.is_some() || p.get_ref().resolution_hours.is_some());
    let mut sla = sla::convert(&name, &chain, known.roles, policy_targets, src)?;
    sla.calendar = Arc::clone(&calendar);
    let runbook = match &chain.runbook {
        Some(u) => {
            let url = u.get_ref().trim().to_string();
            super::check::check_http_url(&url)
                .map_err(|m| src.at(u.span(), format!("chain `{name}` runbook: {m}")))?;
            Some(url)
        }
        None => None,
    };
    let mut base = Chain {
        name,
        description: chain.description,
        levels,
        repeat,
        ack_timeout,
        sla,
        calendar,
        policies: Vec::new(),
        policy: None,
        runbook,
    };
    base.policies = super::policies::convert(&base, &chain.sla, known, src)?;
    Ok(base)
}

/// The calendar a chain or policy names (`always` when none is); `who`
/// names the owner in messages.
pub(super) fn calendar(
    who: &str,
    key: Option<&Spanned<String>>,
    known: &Known,
    src: &Source,
) -> Result<Arc<Calendar>, ConfigError> {
    let wanted = key.map_or(ALWAYS, |k| k.get_ref().as_str());
    known.calendars.get(wanted).cloned().ok_or_else(|| {
        let names: Vec<&str> = known.calendars.keys().map(String::as_str).collect();
        src.at(
            key.map(Spanned::span).unwrap_or_default(),
            format!(
                "{who}: no calendar `{wanted}` (defined: {})",
                names.join(", ")
            ),
        )
    })
}

/// The level at 1-based `position`: its number (if given) must match the
/// position, so a reordered list cannot silently change who is paged when.
fn level_of(
    name: &str,
    position: usize,
    level: &RawLevel,
    known: &Known,
    src: &Source,
) -> Result<Level, ConfigError> {
    if let Some(n) = &level.level {
        if *n.get_ref() != position as i64 {
            return Err(src.at(
                n.span(),
                format!(
                    "chain `{name}`: level {} is listed in position {position}; \
                     levels must be numbered 1, 2, 3… in order",
                    n.get_ref()
                ),
            ));
        }
    }
    let role = level.role.get_ref();
    if !known.roles.contains_key(role) {
        return Err(src.at(
            level.role.span(),
            format!(
                "chain `{name}` level {position}: unknown role `{role}` \
                 (add a [roles.{role}] table)"
            ),
        ));
    }
    let wait = hours(
        *level.wait_hours.get_ref(),
        &format!("chain `{name}` level {position}: wait_hours"),
    )
    .map_err(|m| src.at(level.wait_hours.span(), m))?;
    let create_task = match &level.create_task {
        Some(t) if !known.trackers.contains_key(t.get_ref()) => {
            return Err(src.at(
                t.span(),
                format!(
                    "chain `{name}` level {position}: create_task names unknown \
                     tracker `{}` (add a [trackers.{}] table)",
                    t.get_ref(),
                    t.get_ref()
                ),
            ))
        }
        Some(t) => Some(t.get_ref().clone()),
        None => None,
    };
    Ok(Level {
        role: role.clone(),
        wait,
        create_task,
    })
}

/// Re-notifications of the last level, one last-level wait apart: bounded,
/// and impossible with a zero wait (they would all be due at once).
fn repeat(
    name: &str,
    raw: Option<&Spanned<u32>>,
    levels: &[Level],
    src: &Source,
) -> Result<u32, ConfigError> {
    let Some(r) = raw else { return Ok(0) };
    if *r.get_ref() > MAX_REPEAT {
        return Err(src.at(
            r.span(),
            format!("chain `{name}`: repeat must be at most {MAX_REPEAT}"),
        ));
    }
    if *r.get_ref() > 0 && levels.last().is_some_and(|l| l.wait.is_zero()) {
        return Err(src.at(
            r.span(),
            format!(
                "chain `{name}`: repeat needs a last level with wait_hours > 0 \
                 (it is the repeat interval)"
            ),
        ));
    }
    Ok(*r.get_ref())
}

/// How long an acknowledgement holds; zero would undo every ack at once.
fn ack_timeout(
    name: &str,
    raw: Option<&Spanned<f64>>,
    src: &Source,
) -> Result<Option<TimeDelta>, ConfigError> {
    let Some(h) = raw else { return Ok(None) };
    let d = hours(*h.get_ref(), &format!("chain `{name}`: ack_timeout_hours"))
        .map_err(|m| src.at(h.span(), m))?;
    if d.is_zero() {
        return Err(src.at(
            h.span(),
            format!("chain `{name}`: ack_timeout_hours must be greater than 0"),
        ));
    }
    Ok(Some(d))
}
