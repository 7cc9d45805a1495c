//! Signed action links (`escalate serve`): a token names an issue, an
//! action, the issue's escalation epoch, an expiry and the actor the link
//! was sent to, and carries an HMAC-SHA256 of all of that under the
//! server's secret. Pure: `now` is a parameter, the secret an argument.
//!
//! Form: `v1.ID.ACTION.EPOCH.EXPIRY.ACTOR.MAC`, where ACTOR and MAC are
//! base64url without padding (an actor may hold dots), EXPIRY is Unix
//! seconds. Everything before the last dot is what the MAC covers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Ts;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ack,
    Resolve,
    /// Pause for an hour.
    Snooze,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Ack, Action::Resolve, Action::Snooze];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ack => "ack",
            Action::Resolve => "resolve",
            Action::Snooze => "snooze",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            Action::Ack => "Acknowledge",
            Action::Resolve => "Resolve",
            Action::Snooze => "Snooze 1 h",
        }
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub issue_id: i64,
    pub action: Action,
    pub epoch: u32,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
    /// Who the link was sent to: the action is recorded as theirs.
    pub actor: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a token, or its MAC does not match (tampered, or another
    /// server's secret).
    Tampered,
    /// Signed, but past its expiry.
    Expired,
}

/// Longest token accepted before any work (a real one is ~120 bytes).
pub const MAX_TOKEN: usize = 1024;

/// The token for `link` under `secret`.
pub fn sign(secret: &[u8], link: &Link) -> String {
    let body = format!(
        "v1.{}.{}.{}.{}.{}",
        link.issue_id,
        link.action.as_str(),
        link.epoch,
        link.expires,
        URL_SAFE_NO_PAD.encode(link.actor.as_bytes())
    );
    let mac = URL_SAFE_NO_PAD.encode(mac(secret, &body).finalize().into_bytes());
    format!("{body}.{mac}")
}

/// The link `token` stands for, if its MAC is right and it has not expired
/// at `now`. The MAC is checked first (in constant time), so a forged token
/// is "tampered" whatever its expiry says.
pub fn verify(secret: &[u8], token: &str, now: Ts) -> Result<Link, Refused> {
    if token.len() > MAX_TOKEN {
        return Err(Refused::Tampered);
    }
    let (body, tag) = token.rsplit_once('.').ok_or(Refused::Tampered)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refused::Tampered)?;
    mac(secret, body)
        .verify_slice(&tag)
        .map_err(|_| Refused::Tampered)?;
    let link = parse(body).ok_or(Refused::Tampered)?;
    if link.expires < now.timestamp() {
        return Err(Refused::Expired);
    }
    Ok(link)
}

/// The MAC of a token, as a stable key for "this link was used".
pub fn fingerprint(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(_, tag)| tag)
}

fn mac(secret: &[u8], body: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(body.as_bytes());
    m
}

fn parse(body: &str) -> Option<Link> {
    let mut parts = body.split('.');
    if parts.next()? != "v1" {
        return None;
    }
    let issue_id = parts.next()?.parse().ok()?;
    let action = Action::parse(parts.next()?)?;
    let epoch = parts.next()?.parse().ok()?;
    let expires = parts.next()?.parse().ok()?;
    let actor = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(Link {
        issue_id,
        action,
        epoch,
        expires,
        actor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Ts {
        Utc.timestamp_opt(secs, 0).single().expect("time")
    }

    fn link() -> Link {
        Link {
            issue_id: 42,
            action: Action::Resolve,
            epoch: 3,
            expires: 1_800_000_000,
            actor: "ann.smith@example.com".into(),
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let token = sign(b"s3cret", &link());
        assert_eq!(verify(b"s3cret", &token, t(1_700_000_000)), Ok(link()));
        assert_eq!(verify(b"s3cret", &token, t(1_800_000_000)), Ok(link()));
        assert_eq!(
            verify(b"s3cret", &token, t(1_800_000_001)),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn any_change_or_another_secret_is_tampering() {
        let token = sign(b"s3cret", &link());
        assert_eq!(verify(b"other", &token, t(0)), Err(Refused::Tampered));
        // Every single-character change anywhere.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).expect("ascii");
            if changed != token {
                assert_eq!(
                    verify(b"s3cret", &changed, t(0)),
                    Err(Refused::Tampered),
                    "{changed}"
                );
            }
        }
        // A forged token claiming a later expiry is tampered, not fresh.
        let forged = token.replace("1800000000", "1900000000");
        assert_eq!(verify(b"s3cret", &forged, t(0)), Err(Refused::Tampered));
        for junk in ["", ".", "v1", "x.y", &"a".repeat(MAX_TOKEN + 1)] {
            assert_eq!(verify(b"s3cret", junk, t(0)), Err(Refused::Tampered));
        }
    }

    #[test]
    fn the_fingerprint_is_the_mac() {
        let token = sign(b"k", &link());
        assert!(token.ends_with(fingerprint(&token)));
        assert_ne!(fingerprint(&token), token);
    }
}
