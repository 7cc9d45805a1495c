//! The email channel: plain-text mail over SMTP with lettre (STARTTLS by
//! default, TLS wrapper for smtps://, plain only when asked for).

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::{message, SendError};
use crate::config::{redact_url, Email, TlsMode};
use crate::model::Delivery;
use crate::model::Ts;

/// Build the SMTP transport from `[email]`; errors are configuration
/// problems, reported without the password.
pub fn transport(cfg: &Email, timeout: std::time::Duration) -> Result<SmtpTransport, String> {
    super::install_crypto();
    let raw = cfg
        .smtp
        .resolve()
        .map_err(|e| format!("[email] smtp: {e}"))?;
    let url = reqwest::Url::parse(&raw)
        .map_err(|e| format!("[email] smtp: malformed URL `{}`: {e}", redact_url(&raw)))?;
    let host = url
        .host_str()
        .ok_or_else(|| "[email] smtp: the URL has no host".to_string())?
        .to_string();
    let mode = match (url.scheme(), cfg.tls) {
        ("smtps", _) => TlsMode::Wrapper,
        (_, mode) => mode,
    };
    let port = url.port().unwrap_or(match mode {
        TlsMode::Wrapper => 465,
        TlsMode::Starttls => 587,
        TlsMode::None => 25,
    });
    let tls = match mode {
        TlsMode::None => Tls::None,
        TlsMode::Starttls | TlsMode::Wrapper => {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(ca) = &cfg.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("[email] ca_file {}: {e}", ca.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("[email] ca_file {}: {e}", ca.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("[email] TLS setup: {e}"))?;
            if mode == TlsMode::Wrapper {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    let user = match &cfg.username {
        Some(u) => Some(u.resolve().map_err(|e| format!("[email] username: {e}"))?),
        None if !url.username().is_empty() => Some(decode(url.username())),
        None => None,
    };
    let pass = match &cfg.password {
        Some(p) => Some(p.resolve().map_err(|e| format!("[email] password: {e}"))?),
        None => url.password().map(decode),
    };
    if let Some(user) = user {
        builder = builder.credentials(Credentials::new(user, pass.unwrap_or_default()));
    }
    Ok(builder.build())
}

/// userinfo is percent-encoded in URLs (`ops%40acme.test`); lettre wants it
/// as typed. Invalid escapes stay as they are and invalid UTF-8 becomes
/// U+FFFD rather than failing: the server then refuses the login, which
/// says more than a parse error would.
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn send(
    transport: &SmtpTransport,
    cfg: &Email,
    to: &str,
    items: &[&Delivery],
    now: Ts,
    test: bool,
) -> Result<(), SendError> {
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| SendError::Permanent(format!("email from {}: {e}", cfg.from)))?;
    let rcpt: Mailbox = to
        .parse()
        .map_err(|e| SendError::Permanent(format!("email to {to}: {e}")))?;
    let message::Email { subject, body } = message::email(items, now, test);
    let mail = Message::builder()
        .from(from)
        .to(rcpt)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| SendError::Permanent(format!("email to {to}: {e}")))?;
    transport.send(&mail).map(|_| ()).map_err(|e| {
        let msg = format!("email to {to}: {e}");
        if e.is_permanent() {
            SendError::Permanent(msg)
        } else {
            SendError::Temporary(msg, None)
        }
    })
}

/// Send one plain-text mail (a digest or a report) through `[email]`;
/// errors name the server (redacted) and the recipient, never the password.
pub fn send_text(
    cfg: &Email,
    timeout: std::time::Duration,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let transport = transport(cfg, timeout)?;
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| format!("[email] from {}: {e}", cfg.from))?;
    let rcpt: Mailbox = to
        .parse()
        .map_err(|e| format!("`{to}` is not a valid email address: {e}"))?;
    let mail = Message::builder()
        .from(from)
        .to(rcpt)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| format!("mail to {to}: {e}"))?;
    let server = cfg
        .smtp
        .resolve()
        .map(|u| redact_url(&u))
        .unwrap_or_else(|_| cfg.smtp.label());
    transport
        .send(&mail)
        .map(|_| ())
        .map_err(|e| format!("mail to {to} via {server}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn userinfo_is_percent_decoded() {
        assert_eq!(decode("ops%40acme.test"), "ops@acme.test");
        assert_eq!(decode("p%3Aw%2fd%20x"), "p:w/d x");
        assert_eq!(decode("caf%C3%A9"), "café");
        // Not escapes: kept as typed.
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%FF"), "\u{FFFD}");
    }
}
