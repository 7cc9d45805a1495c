//! `[sources.NAME]` → [`TicketSource`]: settings for one ticket source, the
//! `source` of ingested events (`zendesk`, `intercom`, a script's name).
//! Today the secret its native webhook endpoint verifies signatures with
//! (`escalate serve`: `POST /ingest/zendesk`, `POST /ingest/intercom`);
//! meant to grow per-source settings such as a `ticket_url` deep link.
//!
//! ```toml
//! [sources.zendesk]
//! webhook_secret = { env = "ZENDESK_WEBHOOK_SECRET" }
//! ```

use std::collections::BTreeMap;

use toml::Spanned;

use super::check::check_name;
use super::error::{ConfigError, Source};
use super::raw::RawSource;
use super::secrets::secret;
use super::{Config, Secret};

/// `[sources.NAME]`: one ticket source.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSource {
    /// As events name it in `source`.
    pub name: String,
    /// The secret its vendor signs webhooks with (Zendesk's signing
    /// secret, Intercom's client secret); None: its native endpoint
    /// accepts nothing.
    pub webhook_secret: Option<Secret>,
    /// The ticket's page at the source, `{external_id}` standing for the
    /// ticket id: a deep link in messages, the board and `show`.
    pub ticket_url: Option<String>,
}

/// Every `[sources.NAME]` table.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawSource>>,
    src: &Source,
) -> Result<BTreeMap<String, TicketSource>, ConfigError> {
    let mut sources = BTreeMap::new();
    for (name, s) in raw {
        check_name("source", &name).map_err(|m| src.at(s.span(), m))?;
        let RawSource {
            webhook_secret,
            ticket_url,
        } = s.into_inner();
        let ticket_url = match ticket_url {
            Some(u) => {
                let url = u.get_ref().trim().to_string();
                let sample = url.replace(PLACEHOLDER, "1");
                let problem = if url.contains(PLACEHOLDER) {
                    super::check::check_http_url(&sample).err()
                } else {
                    Some(format!(
                        "must contain {PLACEHOLDER} (where the ticket id goes)"
                    ))
                };
                if let Some(p) = problem {
                    return Err(src.at(u.span(), format!("[sources.{name}] ticket_url: {p}")));
                }
                Some(url)
            }
            None => None,
        };
        let webhook_secret = match webhook_secret {
            None => None,
            Some(raw) => {
                let s = secret(raw);
                // An empty key would make every signature computable by
                // anyone: refuse it here rather than accept forged requests.
                let problem = match &s.value {
                    Secret::Env(var) if var.trim().is_empty() => {
                        Some("env = \"\" names no variable")
                    }
                    Secret::Literal(v) if v.trim().is_empty() => Some("is empty"),
                    _ => None,
                };
                if let Some(p) = problem {
                    return Err(src.at(s.span, format!("[sources.{name}] webhook_secret: {p}")));
                }
                Some(s.value)
            }
        };
        sources.insert(
            name.clone(),
            TicketSource {
                name,
                webhook_secret,
                ticket_url,
            },
        );
    }
    Ok(sources)
}

/// Where the ticket id goes in a `ticket_url`.
const PLACEHOLDER: &str = "{external_id}";

impl Config {
    /// The deep link to `external_id` at `source`, the id percent-encoded
    /// (an id is outside text: it must not change the URL's shape).
    pub fn ticket_url(&self, source: &str, external_id: &str) -> Option<String> {
        let url = self.sources.get(source)?.ticket_url.as_ref()?;
        let id =
            percent_encoding::utf8_percent_encode(external_id, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        Some(url.replace(PLACEHOLDER, &id))
    }

    /// The runbook of `chain`, if it has one.
    pub fn runbook(&self, chain: &str) -> Option<&str> {
        self.chain(chain)?.runbook.as_deref()
    }

    /// The webhook secret configured for `source`, if any (resolve it when
    /// a request comes: an env var is read then, not at load).
    pub fn webhook_secret(&self, source: &str) -> Option<&Secret> {
        self.sources.get(source)?.webhook_secret.as_ref()
    }
}
