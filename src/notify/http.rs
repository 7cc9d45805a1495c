//! HTTP POST shared by the Slack and webhook channels, with the outcome
//! classified for the retry policy. Error texts never include the URL (its
//! path is the credential).

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::StatusCode;

use super::SendError;

pub fn client(timeout: Duration) -> Result<Client, String> {
    super::install_crypto();
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("escalate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
}

/// POST `body` as JSON; `label` (a redacted URL) names the peer in errors.
pub fn post(
    client: &Client,
    url: &str,
    label: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> Result<(), SendError> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        SendError::Temporary(format!("{label}: {kind}: {}", e.without_url()), None)
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text: String = resp
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let msg = status_message(label, status, &text);
    if is_temporary(status) {
        Err(SendError::Temporary(msg, retry_after))
    } else {
        Err(SendError::Permanent(msg))
    }
}

/// Whether a failed HTTP status is worth retrying: 429, 408 and 5xx.
pub fn is_temporary(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// `LABEL: HTTP 503 Service Unavailable: <body excerpt>`.
pub fn status_message(label: &str, status: StatusCode, excerpt: &str) -> String {
    if excerpt.is_empty() {
        format!("{label}: HTTP {status}")
    } else {
        format!("{label}: HTTP {status}: {excerpt}")
    }
}
