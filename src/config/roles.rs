//! `[roles.NAME]` → [`Role`]: who hears about a page, by email, Slack,
//! webhook or the console, which people are members, and its on-call
//! rotations. Literal URLs are checked here; env ones wait for `config
//! check`, since the variable may only be set where pages are sent.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use toml::Spanned;

use super::calendars::{week, Calendar, Memo};

use super::check::{check_address, check_name};
use super::error::{ConfigError, Source};
use super::raw::{spread, OneOrMany, RawRole, RawRotation, RawSecret};
use super::secrets::{check_literal_url, secret};
use super::{Contact, Person, Role, Rotation, Secret};

/// Every `[roles.NAME]` table. Email contacts need an `[email]` section
/// (`has_email`) to be sent at all.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawRole>>,
    people: &BTreeMap<String, Person>,
    has_email: bool,
    allow_link_local: bool,
    src: &Source,
) -> Result<BTreeMap<String, Role>, ConfigError> {
    let mut roles = BTreeMap::new();
    for (name, role) in raw {
        check_name("role", &name).map_err(|m| src.at(role.span(), m))?;
        let mut raw = role.into_inner();
        let members = match raw.members.take() {
            Some(m) => known_people(
                &format!("role `{name}` members"),
                m.into_inner(),
                people,
                src,
            )?,
            None => Vec::new(),
        };
        let mut rotations = Vec::new();
        for (i, r) in std::mem::take(&mut raw.rotations).into_iter().enumerate() {
            rotations.push(rotation(&name, i + 1, r, people, src)?);
        }
        let mut role = role_of(name.clone(), raw, has_email, allow_link_local, src)?;
        role.members = members;
        role.rotations = rotations;
        roles.insert(name, role);
    }
    Ok(roles)
}

/// Names that must be `[people.NAME]` entries, each once.
fn known_people(
    who: &str,
    names: Vec<Spanned<String>>,
    people: &BTreeMap<String, Person>,
    src: &Source,
) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for n in names {
        let name = n.get_ref().trim().to_string();
        if !people.contains_key(&name) {
            let known: Vec<&str> = people.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none: add [people.NAME] tables".to_string()
            } else {
                known.join(", ")
            };
            return Err(src.at(
                n.span(),
                format!("{who}: no person `{name}` (people: {known})"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(src.at(n.span(), format!("{who}: `{name}` is listed twice")));
        }
        out.push(name);
    }
    Ok(out)
}

/// Longest accepted shift: a member's turn of more than a year is a typo.
const MAX_SHIFT_DAYS: i64 = 366;

/// One `[[roles.NAME.rotations]]` layer.
fn rotation(
    role: &str,
    index: usize,
    raw: Spanned<RawRotation>,
    people: &BTreeMap<String, Person>,
    src: &Source,
) -> Result<Rotation, ConfigError> {
    let span = raw.span();
    let raw = raw.into_inner();
    let who = format!("role `{role}` rotation {index}");
    let members = known_people(
        &format!("{who} members"),
        raw.members.get_ref().clone(),
        people,
        src,
    )?;
    if members.is_empty() {
        return Err(src.at(raw.members.span(), format!("{who}: members is empty")));
    }
    let tz: Tz = raw.timezone.get_ref().trim().parse().map_err(|_| {
        src.at(
            raw.timezone.span(),
            format!(
                "{who}: unknown time zone `{}` (an IANA name such as America/New_York)",
                raw.timezone.get_ref()
            ),
        )
    })?;
    let start = local_start(raw.start.get_ref()).ok_or_else(|| {
        src.at(
            raw.start.span(),
            format!(
                "{who}: start `{}` is not a local date and time like 2026-12-07T09:00",
                raw.start.get_ref()
            ),
        )
    })?;
    let shift =
        shift(raw.shift.get_ref()).map_err(|m| src.at(raw.shift.span(), format!("{who}: {m}")))?;
    let hours = if raw.hours.is_empty() {
        None
    } else {
        let week = week(&who, &raw.hours, src)?;
        if week.iter().all(Vec::is_empty) {
            return Err(src.at(span, format!("{who}: hours cover no time of the week")));
        }
        Some(Arc::new(Calendar {
            name: format!("{role}/{index}"),
            tz,
            week,
            holidays: BTreeSet::new(),
            memo: Memo::default(),
        }))
    };
    Ok(Rotation {
        name: raw.name.unwrap_or_else(|| format!("layer {index}")),
        members,
        start,
        tz,
        shift,
        hours,
    })
}

/// `2026-12-07T09:00`, with seconds, or a date (midnight).
fn local_start(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// `1d`, `1w`, `12h`, `90m`: at least a minute, at most a year.
fn shift(s: &str) -> Result<TimeDelta, String> {
    let bad =
        || format!("shift `{s}` is not a duration like 1d, 1w, 12h (at least 1m, at most 366d)");
    let d = humantime::parse_duration(s.trim()).map_err(|_| bad())?;
    let d = TimeDelta::from_std(d).map_err(|_| bad())?;
    if d < TimeDelta::minutes(1) || d > TimeDelta::days(MAX_SHIFT_DAYS) {
        return Err(bad());
    }
    Ok(d)
}

fn role_of(
    name: String,
    raw: RawRole,
    has_email: bool,
    links: bool,
    src: &Source,
) -> Result<Role, ConfigError> {
    let RawRole {
        description,
        email,
        slack,
        webhook,
        webhook_secret,
        console,
        ..
    } = raw;
    let mut contacts = emails(&name, email, has_email, src)?;
    for url in urls(&name, "slack", slack, links, src)? {
        contacts.push(Contact::Slack(url));
    }
    let hook_secret = webhook_secret.map(|s| secret(s).value);
    for url in urls(&name, "webhook", webhook, links, src)? {
        contacts.push(Contact::Webhook {
            url,
            secret: hook_secret.clone(),
        });
    }
    // A role nobody would hear about still pages somewhere: the console.
    if console == Some(true) || contacts.is_empty() {
        contacts.insert(0, Contact::Console);
    }
    // One message per destination, however often the file lists it.
    let mut seen = HashSet::new();
    contacts.retain(|c| seen.insert((c.channel(), c.target())));
    Ok(Role {
        name,
        description,
        contacts,
        members: Vec::new(),
        rotations: Vec::new(),
    })
}

/// `email = "a@x"` or a list: valid addresses, and an `[email]` section to
/// send them through.
fn emails(
    name: &str,
    field: Option<Spanned<OneOrMany<String>>>,
    has_email: bool,
    src: &Source,
) -> Result<Vec<Contact>, ConfigError> {
    let mut contacts = Vec::new();
    for (address, span) in spread(field) {
        check_address(&address)
            .map_err(|m| src.at(span.clone(), format!("role `{name}` email: {m}")))?;
        if !has_email {
            return Err(src.at(
                span,
                format!(
                    "role `{name}` has email contacts but there is no [email] section \
                     (set from and smtp)"
                ),
            ));
        }
        contacts.push(Contact::Email(address));
    }
    Ok(contacts)
}

/// `slack` or `webhook`: one URL secret or a list of them.
fn urls(
    name: &str,
    key: &str,
    field: Option<Spanned<OneOrMany<RawSecret>>>,
    allow_link_local: bool,
    src: &Source,
) -> Result<Vec<Secret>, ConfigError> {
    let mut urls = Vec::new();
    for (url, span) in spread(field) {
        let url = secret(Spanned::new(span, url));
        check_literal_url(&url, allow_link_local)
            .map_err(|m| src.at(url.span.clone(), format!("role `{name}` {key}: {m}")))?;
        urls.push(url.value);
    }
    Ok(urls)
}
