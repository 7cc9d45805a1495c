//! The Slack channel: an incoming-webhook POST of text + blocks.

use reqwest::blocking::Client;

use super::{http, message, SendError};
use crate::config::Secret;
use crate::model::Delivery;
use crate::model::Ts;

pub fn send(
    client: &Client,
    url: &Secret,
    items: &[&Delivery],
    now: Ts,
    test: bool,
) -> Result<(), SendError> {
    let label = url.label();
    let url = url
        .resolve()
        .map_err(|e| SendError::Temporary(format!("slack {label}: {e}"), None))?;
    let body = message::slack(items, now, test).to_string();
    http::post(
        client,
        &url,
        &format!("slack {label}"),
        body.as_bytes(),
        &[],
    )
}
