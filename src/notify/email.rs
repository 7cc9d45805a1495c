//! The email channel: plain-text mail over SMTP with lettre (STARTTLS by
//! default, TLS wrapper for smtps://, plain only when asked for), shaped
//! for strict servers (Message-ID, Date, MIME-Version, no line over 998
//! octets) and sent under a deadline for the whole exchange.

use std::time::{Duration, SystemTime};

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::{message, SendError};
use crate::config::{redact_url, Email, TlsMode};
use crate::model::{Delivery, Ts};

/// Build the SMTP transport from `[email]`; errors are configuration
/// problems, reported without the password.
pub fn transport(cfg: &Email, timeout: Duration) -> Result<SmtpTransport, String> {
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
    let port = url.port().unwrap_or(default_port(mode));
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

/// Send one mail about `items` to `to`, giving up after `deadline` for the
/// whole exchange (see [`send_within`]).
pub fn send(
    transport: &SmtpTransport,
    cfg: &Email,
    to: &str,
    items: &[&Delivery],
    now: Ts,
    test: bool,
    deadline: Duration,
) -> Result<(), SendError> {
    let message::Email { subject, body } = message::email(items, now, test);
    let ids: Vec<String> = items.iter().map(|d| d.id.to_string()).collect();
    let mail = build(cfg, to, &subject, &body, Some(now), &ids.join("-"))
        .map_err(|e| SendError::Permanent(format!("email to {to}: {e}")))?;
    send_within(transport, &server(cfg), mail, deadline).map_err(|e| match e {
        Failure::Permanent(m) => SendError::Permanent(format!("email to {to}: {m}")),
        Failure::Temporary(m) => SendError::Temporary(format!("email to {to}: {m}"), None),
    })
}

/// A mail that strict servers and spam filters take: `From` and `To` with
/// optional display names, `Date` (from the caller's `now`, or the send
/// time), a `Message-ID`, `MIME-Version` and a quoted-printable text body,
/// so that no line is over 998 octets whatever the title.
fn build(
    cfg: &Email,
    to: &str,
    subject: &str,
    body: &str,
    now: Option<Ts>,
    key: &str,
) -> Result<Message, String> {
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| format!("[email] from {}: {e}", cfg.from))?;
    let rcpt: Mailbox = to
        .parse()
        .map_err(|e| format!("`{to}` is not a valid email address: {e}"))?;
    let domain = from.email.domain().to_string();
    let mut builder = Message::builder()
        .from(from)
        .to(rcpt)
        .raw_header(subject_header(subject))
        .message_id(Some(message_id(key, now, &domain, &[to, subject])));
    if let Some(now) = now {
        builder = builder.date(SystemTime::from(now));
    }
    let part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(body.to_string());
    builder.singlepart(part).map_err(|e| e.to_string())
}

/// `<escalate.KEY.HASH@DOMAIN>`: unique per message (the hash covers the
/// delivery ids, the time, the recipient and the subject), and in the
/// sender's domain as RFC 5322 recommends.
fn message_id(key: &str, now: Option<Ts>, domain: &str, salt: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let stamp = now.map_or_else(
        || format!("{:?}", std::thread::current().id()),
        |t| t.timestamp_micros().to_string(),
    );
    let seed = format!("{key}|{stamp}|{}|{}", std::process::id(), salt.join("|"));
    let digest = Sha256::digest(seed.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let key: String = key.chars().take(40).collect();
    format!("<escalate.{key}.{hash}@{domain}>")
}

/// The longest run of non-blanks lettre's header encoder folds well: it
/// folds only at spaces, so a longer word would make an over-long line.
const MAX_WORD: usize = 60;

/// `Subject:` as lettre encodes it, unless a word is too long to fold: then
/// RFC 2047 encoded words (base64, UTF-8) of at most 45 bytes each (75
/// characters encoded), one per folded line.
fn subject_header(subject: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str("Subject");
    if subject.split([' ', '\t']).all(|w| w.len() <= MAX_WORD) {
        return HeaderValue::new(name, subject.to_string());
    }
    let encoded = encoded_words(subject).join("\r\n ");
    HeaderValue::dangerous_new_pre_encoded(name, subject.to_string(), encoded)
}

/// `=?utf-8?b?…?=` words, split on character boundaries.
fn encoded_words(text: &str) -> Vec<String> {
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // Folding whitespace is not part of an encoded word; controls
        // become spaces so the header stays one logical line.
        let c = if c.is_control() { ' ' } else { c };
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(w.as_bytes());
            format!("=?utf-8?b?{b64}?=")
        })
        .collect()
}

/// `host:port` of the SMTP server, for messages (no userinfo, no path).
fn server(cfg: &Email) -> String {
    let Ok(raw) = cfg.smtp.resolve() else {
        return cfg.smtp.label();
    };
    match reqwest::Url::parse(&raw) {
        Ok(u) => {
            let mode = if u.scheme() == "smtps" {
                TlsMode::Wrapper
            } else {
                cfg.tls
            };
            let port = u.port().unwrap_or(default_port(mode));
            format!("{}:{port}", u.host_str().unwrap_or("?"))
        }
        Err(_) => redact_url(&raw),
    }
}

fn default_port(mode: TlsMode) -> u16 {
    match mode {
        TlsMode::Wrapper => 465,
        TlsMode::Starttls => 587,
        TlsMode::None => 25,
    }
}

/// Why a send failed, before the caller names the recipient.
enum Failure {
    Temporary(String),
    Permanent(String),
}

/// Send `mail`, but wait at most `deadline` for the whole exchange.
///
/// lettre's timeout bounds each read and write, not the exchange: a server
/// that sends its greeting one byte at a time (or any reply slowly enough)
/// never trips it. So the send runs on its own thread and the caller stops
/// waiting at the deadline, counting that as a temporary failure (retried
/// by a later run, like any timeout).
///
/// The thread is then abandoned, which is safe: it owns a clone of the
/// transport and the message and shares nothing but the channel, whose
/// receiver is gone (its result is dropped); it touches no database, lock
/// or file; each of its reads still ends at lettre's per-read timeout once
/// the peer stops sending; and the process exit ends it at the latest. If
/// the server does accept the mail after the deadline, the retry sends it
/// again: at least once, the same as when a server's `250` is lost.
fn send_within(
    transport: &SmtpTransport,
    server: &str,
    mail: Message,
    deadline: Duration,
) -> Result<(), Failure> {
    let (tx, rx) = std::sync::mpsc::channel();
    let transport = transport.clone();
    let spawned = std::thread::Builder::new()
        .name("smtp-send".to_string())
        .spawn(move || {
            // The receiver may have given up: nothing to tell then.
            let _ = tx.send(transport.send(&mail).map(|_| ()));
        });
    if let Err(e) = spawned {
        return Err(Failure::Temporary(format!("cannot start the send: {e}")));
    }
    match rx.recv_timeout(deadline) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(classify(&e, server, deadline)),
        Err(_) => Err(Failure::Temporary(format!(
            "timed out after {} waiting for {server} to finish the SMTP exchange",
            seconds(deadline)
        ))),
    }
}

/// lettre's error in words: a timed-out read is `os error 11` (EAGAIN) or
/// `os error 110` underneath, which says nothing to a reader.
fn classify(e: &lettre::transport::smtp::Error, server: &str, timeout: Duration) -> Failure {
    if timed_out(e) {
        let phase = if e.to_string().starts_with("Connection") {
            "connecting to"
        } else {
            "reading from"
        };
        return Failure::Temporary(format!(
            "timed out after {} {phase} {server}",
            seconds(timeout)
        ));
    }
    if e.is_permanent() {
        Failure::Permanent(e.to_string())
    } else {
        Failure::Temporary(format!("{e} ({server})"))
    }
}

/// Whether an I/O timeout lies anywhere under `e`.
fn timed_out(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        source = err.source();
    }
    false
}

/// `10 s`, `2.5 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Send one plain-text mail (a digest or a report) through `[email]`;
/// errors name the server (redacted) and the recipient, never the password.
pub fn send_text(
    cfg: &Email,
    timeout: Duration,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let transport = transport(cfg, timeout)?;
    // No `now` here: the Date header is lettre's send time.
    let mail =
        build(cfg, to, subject, body, None, "text").map_err(|e| format!("mail to {to}: {e}"))?;
    let server = cfg
        .smtp
        .resolve()
        .map(|u| redact_url(&u))
        .unwrap_or_else(|_| cfg.smtp.label());
    send_within(&transport, &self::server(cfg), mail, timeout).map_err(|e| match e {
        Failure::Temporary(m) | Failure::Permanent(m) => format!("mail to {to} via {server}: {m}"),
    })
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
