//! `[[subscriptions]]` → [`Subscription`]s: chosen event kinds POSTed,
//! signed, to a URL. Kinds must be ones the event log records, or the
//! subscription would silently never fire. `from` says where a new
//! subscription starts reading the log.

use toml::Spanned;

use super::error::{ConfigError, Source};
use super::raw::RawSubscription;
use super::secrets::{check_literal_url, secret};
use super::Subscription;
use crate::model::EventKind;

/// `from = "now" | "start"`: where a subscription's cursor begins the
/// first time a delivery pass sees it. Only that first time: afterwards the
/// stored cursor is where it is, whatever `from` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionFrom {
    /// Only events written after the subscription is first seen.
    Now,
    /// The whole event log, oldest first, then everything new (the
    /// default: a subscriber added after the first events must not miss
    /// them; before `from` existed a subscription started at the end).
    #[default]
    Start,
}

impl SubscriptionFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionFrom::Now => "now",
            SubscriptionFrom::Start => "start",
        }
    }
}

/// Every `[[subscriptions]]` entry, in file order.
pub(super) fn convert(
    raw: Vec<Spanned<RawSubscription>>,
    allow_link_local: bool,
    src: &Source,
) -> Result<Vec<Subscription>, ConfigError> {
    let mut subscriptions: Vec<Subscription> = Vec::new();
    for s in raw {
        let s = s.into_inner();
        let url = secret(s.url);
        check_literal_url(&url, allow_link_local)
            .map_err(|m| src.at(url.span.clone(), format!("[[subscriptions]] url: {m}")))?;
        let kinds = kinds(s.kinds.unwrap_or_default(), src)?;
        let from = match s.from {
            None => SubscriptionFrom::default(),
            Some(f) => match f.get_ref().as_str() {
                "now" => SubscriptionFrom::Now,
                "start" => SubscriptionFrom::Start,
                other => {
                    return Err(src.at(
                        f.span(),
                        format!(
                            "[[subscriptions]] from = {:?}: use \"now\" (only new events) \
                             or \"start\" (the whole event log first)",
                            crate::text::one_line(other)
                        ),
                    ))
                }
            },
        };
        // The URL's label keys the subscription's cursor: two entries
        // with one URL would share it and starve each other.
        if subscriptions
            .iter()
            .any(|other| other.url.label() == url.value.label())
        {
            return Err(src.at(
                url.span.clone(),
                format!(
                    "[[subscriptions]] url `{}` is listed twice; give one entry all the kinds it wants",
                    url.value.label()
                ),
            ));
        }
        subscriptions.push(Subscription {
            url: url.value,
            secret: s.secret.map(|x| secret(x).value),
            kinds,
            from,
        });
    }
    Ok(subscriptions)
}

/// The `kinds` list: each one a known event kind.
fn kinds(raw: Vec<Spanned<String>>, src: &Source) -> Result<Vec<String>, ConfigError> {
    let mut kinds = Vec::new();
    for k in raw {
        let known = EventKind::ALL.iter().any(|e| e.as_str() == k.get_ref());
        if !known {
            let all: Vec<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
            return Err(src.at(
                k.span(),
                format!(
                    "[[subscriptions]] kinds: unknown event kind `{}` (kinds: {})",
                    k.get_ref(),
                    all.join(", ")
                ),
            ));
        }
        kinds.push(k.into_inner());
    }
    Ok(kinds)
}
