//! `[roles.NAME]` → [`Role`]: who hears about a page, by email, Slack,
//! webhook or the console. Literal URLs are checked here; env ones wait for
//! `config check`, since the variable may only be set where pages are sent.

use std::collections::{BTreeMap, HashSet};

use toml::Spanned;

use super::check::{check_address, check_name};
use super::error::{ConfigError, Source};
use super::raw::{spread, OneOrMany, RawRole, RawSecret};
use super::secrets::{check_literal_url, secret};
use super::{Contact, Role, Secret};

/// Every `[roles.NAME]` table. Email contacts need an `[email]` section
/// (`has_email`) to be sent at all.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawRole>>,
    has_email: bool,
    allow_link_local: bool,
    src: &Source,
) -> Result<BTreeMap<String, Role>, ConfigError> {
    let mut roles = BTreeMap::new();
    for (name, role) in raw {
        check_name("role", &name).map_err(|m| src.at(role.span(), m))?;
        let role = role_of(
            name.clone(),
            role.into_inner(),
            has_email,
            allow_link_local,
            src,
        )?;
        roles.insert(name, role);
    }
    Ok(roles)
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
