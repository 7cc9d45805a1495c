//! The webhook channel: a JSON POST with a stable schema, signed with
//! HMAC-SHA256 in `X-Escalate-Signature: sha256=<hex>` when a secret is set.

use hmac::{Hmac, Mac};
use reqwest::blocking::Client;
use sha2::Sha256;

use super::{http, message, SendError};
use crate::config::Secret;
use crate::model::{Delivery, Ts};

pub fn send(
    client: &Client,
    url: &Secret,
    secret: Option<&Secret>,
    items: &[&Delivery],
    now: Ts,
    test: bool,
) -> Result<(), SendError> {
    let label = url.label();
    let url = url
        .resolve()
        .map_err(|e| SendError::Temporary(format!("webhook {label}: {e}"), None))?;
    let body = message::webhook(items, now, test).to_string();
    let ids: Vec<String> = items.iter().map(|d| d.id.to_string()).collect();
    let mut headers = vec![("x-escalate-delivery", ids.join(","))];
    if let Some(secret) = secret {
        let key = secret
            .resolve()
            .map_err(|e| SendError::Temporary(format!("webhook {label}: {e}"), None))?;
        headers.push((
            "x-escalate-signature",
            sign(key.as_bytes(), body.as_bytes()),
        ));
    }
    http::post(
        client,
        &url,
        &format!("webhook {label}"),
        body.as_bytes(),
        &headers,
    )
}

/// `sha256=<hex of HMAC-SHA256(key, body)>`, as receivers verify it.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error case cannot occur.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            super::sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
