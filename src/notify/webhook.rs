//! The webhook channel: a JSON POST with a stable schema, signed with
//! HMAC-SHA256 when a secret is set, in two headers:
//!
//! - `X-Escalate-Signature-V1: t=<unix seconds>,v1=<hex>`, the HMAC of
//!   `"<t>.<body>"` (Stripe's scheme). The timestamp is signed with the
//!   body, so a receiver that refuses old timestamps refuses a replayed
//!   request: the one to check.
//! - `X-Escalate-Signature: sha256=<hex>`, the HMAC of the body alone, as
//!   the README promised before; deprecated (a captured request verifies
//!   forever), kept so existing receivers keep working.
//!
//! The timestamp is the caller's `now` (notify never reads the clock).

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
            "x-escalate-signature-v1",
            sign_timestamped(key.as_bytes(), now.timestamp(), body.as_bytes()),
        ));
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

/// `sha256=<hex of HMAC-SHA256(key, body)>`: the deprecated body-only
/// signature (no replay protection; see the module docs).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_hex(key, &[body]))
}

/// `t=<unix>,v1=<hex of HMAC-SHA256(key, "<unix>.<body>")>`: the signature
/// receivers should check, with the timestamp inside a tolerance window.
pub fn sign_timestamped(key: &[u8], unix: i64, body: &[u8]) -> String {
    let t = unix.to_string();
    let hex = hmac_hex(key, &[t.as_bytes(), b".", body]);
    format!("t={t},v1={hex}")
}

/// Lower-case hex of HMAC-SHA256 over `parts`, concatenated.
fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC accepts keys of any length; the error case cannot occur.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for p in parts {
        mac.update(p);
    }
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn timestamped_signature_covers_the_timestamp_and_the_body() {
        // The same RFC 4231 vector, split as "<t>.<body>" would be.
        let sig = super::sign_timestamped(b"Jefe", 1, b"what do ya want for nothing?");
        assert!(sig.starts_with("t=1,v1="), "{sig}");
        assert_eq!(
            sig["t=1,v1=".len()..],
            super::hmac_hex(b"Jefe", &[b"1.what do ya want for nothing?"])
        );
        // Another time or another body gives another signature.
        let other_t = super::sign_timestamped(b"Jefe", 2, b"what do ya want for nothing?");
        let other_body = super::sign_timestamped(b"Jefe", 1, b"what do ya want for nothing!");
        assert_ne!(sig[7..], other_t[7..]);
        assert_ne!(sig, other_body);
    }
}
