//! A chain's SLA keys → [`Sla`]: targets greater than 0, one way of saying
//! "at risk", and `breach_notify` roles that exist. At-risk and breach
//! settings without a target would never fire, so they are refused rather
//! than ignored.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use toml::Spanned;

use super::check::hours;
use super::error::{ConfigError, Source};
use super::raw::RawChain;
use super::{AtRisk, Role, Sla};

/// The SLA keys of a chain or of one of its `[[chains.NAME.sla]]` policies.
pub(super) struct Keys<'a> {
    pub(super) response_hours: Option<&'a Spanned<f64>>,
    pub(super) resolution_hours: Option<&'a Spanned<f64>>,
    pub(super) at_risk: Option<&'a Spanned<f64>>,
    pub(super) at_risk_hours: Option<&'a Spanned<f64>>,
}

impl<'a> Keys<'a> {
    pub(super) fn of_chain(c: &'a RawChain) -> Keys<'a> {
        Keys {
            response_hours: c.response_hours.as_ref(),
            resolution_hours: c.resolution_hours.as_ref(),
            at_risk: c.at_risk.as_ref(),
            at_risk_hours: c.at_risk_hours.as_ref(),
        }
    }
}

/// The SLA of chain `name`; `roles` are the ones `breach_notify` may name
/// (which needs a target, of the chain or of one of its policies).
pub(super) fn convert(
    name: &str,
    chain: &RawChain,
    roles: &BTreeMap<String, Role>,
    policy_targets: bool,
    src: &Source,
) -> Result<Sla, ConfigError> {
    let mut sla = targets(&format!("chain `{name}`"), &Keys::of_chain(chain), src)?;
    let has_target = sla.response.is_some() || sla.resolution.is_some() || policy_targets;
    sla.breach_notify = breach_notify(name, chain, roles, has_target, src)?;
    Ok(sla)
}

/// Targets and the at-risk rule of `keys`; `who` names their owner in
/// messages (`chain `x``, `chain `x`, sla policy 2`).
pub(super) fn targets(who: &str, keys: &Keys, src: &Source) -> Result<Sla, ConfigError> {
    let response = target(who, keys.response_hours, "response_hours", src)?;
    let resolution = target(who, keys.resolution_hours, "resolution_hours", src)?;
    let has_target = response.is_some() || resolution.is_some();
    let shortest = [response, resolution].into_iter().flatten().min();
    let at_risk = at_risk(who, keys, shortest, src)?;
    if let (false, Some(span)) = (
        has_target,
        keys.at_risk.or(keys.at_risk_hours).map(Spanned::span),
    ) {
        return Err(src.at(
            span,
            format!("{who}: at_risk needs a target (response_hours or resolution_hours)"),
        ));
    }
    Ok(Sla {
        response,
        resolution,
        at_risk,
        ..Sla::default()
    })
}

/// An optional duration key (`key` names it in messages).
fn target(
    who: &str,
    h: Option<&Spanned<f64>>,
    key: &str,
    src: &Source,
) -> Result<Option<TimeDelta>, ConfigError> {
    let Some(h) = h else { return Ok(None) };
    let d = hours(*h.get_ref(), &format!("{who}: {key}")).map_err(|m| src.at(h.span(), m))?;
    if d.is_zero() {
        return Err(src.at(h.span(), format!("{who}: {key} must be greater than 0")));
    }
    Ok(Some(d))
}

/// `at_risk` (a fraction of the target) or `at_risk_hours` (a time before
/// it), not both; before the shortest target, or it would never be "at
/// risk" ahead of a breach.
fn at_risk(
    who: &str,
    keys: &Keys,
    shortest: Option<TimeDelta>,
    src: &Source,
) -> Result<AtRisk, ConfigError> {
    match (keys.at_risk, keys.at_risk_hours) {
        (Some(_), Some(h)) => Err(src.at(
            h.span(),
            format!("{who}: set at_risk (a fraction) or at_risk_hours, not both"),
        )),
        (Some(f), None) => {
            let v = *f.get_ref();
            if !(v > 0.0 && v < 1.0) {
                return Err(src.at(
                    f.span(),
                    format!(
                        "{who}: at_risk is a fraction of the target between 0 and 1 \
                         (got {}; use at_risk_hours for a time before the target)",
                        super::check::show_number(v)
                    ),
                ));
            }
            Ok(AtRisk::Fraction(v))
        }
        (None, Some(h)) => {
            let d = target(who, Some(h), "at_risk_hours", src)?.unwrap_or_default();
            if let Some(t) = shortest {
                if d >= t {
                    return Err(src.at(
                        h.span(),
                        format!(
                            "{who}: at_risk_hours must be less than the shortest SLA \
                             target ({})",
                            crate::model::time::human(t)
                        ),
                    ));
                }
            }
            Ok(AtRisk::Before(d))
        }
        (None, None) => Ok(AtRisk::default()),
    }
}

/// Roles told about a breach: known ones, and only when there is a target
/// to breach.
fn breach_notify(
    name: &str,
    chain: &RawChain,
    roles: &BTreeMap<String, Role>,
    has_target: bool,
    src: &Source,
) -> Result<Vec<String>, ConfigError> {
    let mut breach_notify = Vec::new();
    for role in chain.breach_notify.iter().flatten() {
        if !roles.contains_key(role.get_ref()) {
            return Err(src.at(
                role.span(),
                format!(
                    "chain `{name}`: breach_notify names unknown role `{}`",
                    role.get_ref()
                ),
            ));
        }
        breach_notify.push(role.get_ref().clone());
    }
    if !breach_notify.is_empty() && !has_target {
        let span = chain
            .breach_notify
            .iter()
            .flatten()
            .next()
            .map(Spanned::span)
            .unwrap_or_default();
        return Err(src.at(
            span,
            format!(
                "chain `{name}`: breach_notify needs a target (response_hours or resolution_hours)"
            ),
        ));
    }
    Ok(breach_notify)
}
