//! `[[chains.NAME.sla]]` → [`Policy`]: SLA targets, at-risk rule, pause rule
//! and calendar by priority. Each policy becomes an *effective chain* (the
//! chain's levels with the policy's SLA and calendar), built once here so
//! that finding an issue's chain costs a short scan, not a copy.

use std::collections::BTreeSet;
use std::sync::Arc;

use toml::Spanned;

use super::chains::{calendar, Known};
use super::error::{ConfigError, Source};
use super::raw::RawPolicy;
use super::sla::{targets, Keys};
use super::{Chain, Policy};
use crate::model::sla::Target;

/// The policies of `base`, in order.
pub(super) fn convert(
    base: &Chain,
    raw: &[Spanned<RawPolicy>],
    known: &Known,
    src: &Source,
) -> Result<Vec<Policy>, ConfigError> {
    let mut out: Vec<Policy> = Vec::with_capacity(raw.len());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, p) in raw.iter().enumerate() {
        let who = format!("chain `{}`, sla policy {}", base.name, i + 1);
        if out.iter().any(|earlier| earlier.priorities.is_empty()) {
            return Err(src.at(
                p.span(),
                format!("{who} never applies: an earlier policy has no `priority` and takes every issue"),
            ));
        }
        let priorities = priorities(&who, p.get_ref(), &mut seen, src)?;
        let policy = p.get_ref();
        let keys = Keys {
            response_hours: policy.response_hours.as_ref(),
            resolution_hours: policy.resolution_hours.as_ref(),
            at_risk: policy.at_risk.as_ref(),
            at_risk_hours: policy.at_risk_hours.as_ref(),
        };
        let mut sla = targets(&who, &keys, src)?;
        sla.breach_notify = base.sla.breach_notify.clone();
        sla.calendar = match &policy.calendar {
            Some(_) => calendar(&who, policy.calendar.as_ref(), known, src)?,
            None => Arc::clone(&base.calendar),
        };
        sla.pause = pause(&who, policy.pause.as_ref(), src)?;
        let effective = Chain {
            calendar: Arc::clone(&sla.calendar),
            sla,
            policies: Vec::new(),
            policy: u32::try_from(i + 1).ok(),
            ..base.clone()
        };
        out.push(Policy {
            priorities,
            effective: Arc::new(effective),
        });
    }
    Ok(out)
}

/// The policy's priorities, lower-cased; one already taken by an earlier
/// policy is refused (first match wins, so it could never apply here).
fn priorities(
    who: &str,
    p: &RawPolicy,
    seen: &mut BTreeSet<String>,
    src: &Source,
) -> Result<Vec<String>, ConfigError> {
    let Some(field) = &p.priority else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for raw in field.get_ref().items() {
        let name = raw.trim().to_lowercase();
        if name.is_empty() {
            return Err(src.at(field.span(), format!("{who}: an empty priority")));
        }
        if !seen.insert(name.clone()) {
            return Err(src.at(
                field.span(),
                format!("{who}: priority `{name}` is already taken by an earlier policy (the first match wins)"),
            ));
        }
        out.push(name);
    }
    if out.is_empty() {
        return Err(src.at(
            field.span(),
            format!("{who}: `priority = []` matches nothing; omit it to match every issue"),
        ));
    }
    Ok(out)
}

/// `pause = ["response", "resolution"]`: the clocks a pause stops.
fn pause(
    who: &str,
    field: Option<&Spanned<Vec<String>>>,
    src: &Source,
) -> Result<Vec<Target>, ConfigError> {
    let Some(field) = field else {
        return Ok(Target::ALL.to_vec());
    };
    let mut out = Vec::new();
    for name in field.get_ref() {
        let t = match name.trim().to_ascii_lowercase().as_str() {
            "response" => Target::Response,
            "resolution" => Target::Resolution,
            _ => {
                return Err(src.at(
                    field.span(),
                    format!("{who}: pause names `{name}`; use \"response\" and/or \"resolution\""),
                ))
            }
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(out)
}
