//! Transports: build and send one message over Slack, email, a webhook, a
//! subscription POST or a tracker, and classify the failure. No database:
//! the outbox worker (`delivery`) decides what to send and records what
//! happened.

pub mod console;
pub mod email;
pub mod http;
pub mod message;
pub mod slack;
pub mod subscription;
pub mod tracker;
pub mod webhook;

use std::time::Duration;

use anyhow::Result;

use crate::config::{Config, Contact};
use crate::model::{Delivery, Ts};

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying (timeouts, refused connections, 5xx, 429, a closed
    /// stdout), optionally not before the peer's Retry-After.
    Temporary(String, Option<Duration>),
    /// Retrying cannot help (bad address, other 4xx).
    Permanent(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Temporary(m, _) | SendError::Permanent(m) => m,
        }
    }
}

/// rustls needs a process-wide crypto provider; ring is the one built in.
pub fn install_crypto() {
    // Err means one is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The network senders, built once per delivery pass.
pub struct Senders {
    pub http: Option<reqwest::blocking::Client>,
    smtp: Option<Result<lettre::SmtpTransport, String>>,
}

impl Senders {
    pub fn new(config: &Config) -> Senders {
        Senders {
            http: http::client(config.delivery.timeout, config.delivery.allow_link_local).ok(),
            smtp: config
                .email
                .as_ref()
                .map(|e| email::transport(e, config.delivery.timeout)),
        }
    }

    /// Send one message about `items` to `contact` (not the console).
    pub fn send(
        &self,
        config: &Config,
        contact: &Contact,
        items: &[&Delivery],
        now: Ts,
        test: bool,
    ) -> Result<(), SendError> {
        let no_http = || SendError::Temporary("the HTTP client could not be built".into(), None);
        match contact {
            Contact::Console => Err(SendError::Permanent(
                "console messages are written by the caller".into(),
            )),
            Contact::Slack(url) => slack::send(
                self.http.as_ref().ok_or_else(no_http)?,
                url,
                items,
                now,
                test,
            ),
            Contact::Webhook { url, secret } => webhook::send(
                self.http.as_ref().ok_or_else(no_http)?,
                url,
                secret.as_ref(),
                items,
                now,
                test,
            ),
            Contact::Email(to) => match (&self.smtp, &config.email) {
                (Some(Ok(t)), Some(cfg)) => {
                    email::send(t, cfg, to, items, now, test, config.delivery.timeout)
                }
                (Some(Err(e)), _) => Err(SendError::Temporary(e.clone(), None)),
                _ => Err(SendError::Permanent(
                    "no [email] section in the config".into(),
                )),
            },
        }
    }
}
