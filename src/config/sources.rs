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
}

/// Every `[sources.NAME]` table.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawSource>>,
    src: &Source,
) -> Result<BTreeMap<String, TicketSource>, ConfigError> {
    let mut sources = BTreeMap::new();
    for (name, s) in raw {
        check_name("source", &name).map_err(|m| src.at(s.span(), m))?;
        let RawSource { webhook_secret } = s.into_inner();
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
            },
        );
    }
    Ok(sources)
}

impl Config {
    /// The webhook secret configured for `source`, if any (resolve it when
    /// a request comes: an env var is read then, not at load).
    pub fn webhook_secret(&self, source: &str) -> Option<&Secret> {
        self.sources.get(source)?.webhook_secret.as_ref()
    }
}
