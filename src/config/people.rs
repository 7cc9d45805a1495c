//! `[people.NAME]` → [`Person`]: who can be paged, assigned or told of an
//! SLA notice, and how. A Slack member id is mentioned (`<@U…>`) in the
//! role's Slack messages; a person's own email, Slack webhook and webhook
//! are their contacts. Secrets may come from the environment, as for roles.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use toml::Spanned;

use super::check::{check_address, check_name};
use super::error::{ConfigError, Source};
use super::raw::RawPerson;
use super::secrets::{check_literal_url, secret};
use super::{Contact, Person};

/// Every `[people.NAME]` table.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawPerson>>,
    has_email: bool,
    allow_link_local: bool,
    src: &Source,
) -> Result<BTreeMap<String, Person>, ConfigError> {
    let mut people = BTreeMap::new();
    for (name, p) in raw {
        check_name("person", &name).map_err(|m| src.at(p.span(), m))?;
        let person = person_of(&name, p.into_inner(), has_email, allow_link_local, src)?;
        people.insert(name, person);
    }
    Ok(people)
}

fn person_of(
    name: &str,
    raw: RawPerson,
    has_email: bool,
    links: bool,
    src: &Source,
) -> Result<Person, ConfigError> {
    let who = format!("person `{name}`");
    let mut contacts = Vec::new();
    if let Some(email) = raw.email {
        let address = email.get_ref().trim().to_string();
        check_address(&address).map_err(|m| src.at(email.span(), format!("{who} email: {m}")))?;
        if !has_email {
            return Err(src.at(
                email.span(),
                format!("{who} has an email but there is no [email] section (set from and smtp)"),
            ));
        }
        contacts.push(Contact::Email(address));
    }
    for (key, field) in [("slack", raw.slack), ("webhook", raw.webhook)] {
        let Some(field) = field else { continue };
        let url = secret(field);
        check_literal_url(&url, links)
            .map_err(|m| src.at(url.span.clone(), format!("{who} {key}: {m}")))?;
        contacts.push(match key {
            "slack" => Contact::Slack(url.value),
            _ => Contact::Webhook {
                url: url.value,
                secret: None,
            },
        });
    }
    let slack_id = match raw.slack_id {
        Some(id) => Some(slack_id(&who, id, src)?),
        None => None,
    };
    let timezone = match raw.timezone {
        Some(tz) => Some(tz.get_ref().trim().parse::<Tz>().map_err(|_| {
            src.at(
                tz.span(),
                format!(
                    "{who}: unknown time zone `{}` (an IANA name such as Europe/Berlin)",
                    tz.get_ref()
                ),
            )
        })?),
        None => None,
    };
    Ok(Person {
        name: name.to_string(),
        slack_id,
        contacts,
        timezone,
    })
}

/// A Slack member id: `U` or `W` and upper-case letters and digits. It is
/// the one piece of config written into a message as markup (`<@U…>`), so
/// nothing else gets through.
fn slack_id(who: &str, id: Spanned<String>, src: &Source) -> Result<String, ConfigError> {
    let v = id.get_ref().trim();
    let ok = v.len() >= 3
        && v.len() <= 32
        && matches!(v.chars().next(), Some('U' | 'W'))
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok {
        return Err(src.at(
            id.span(),
            format!("{who}: slack_id `{v}` is not a Slack member id (like U024BE7LH)"),
        ));
    }
    Ok(v.to_string())
}
