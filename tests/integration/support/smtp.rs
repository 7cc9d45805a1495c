//! A small SMTP server on 127.0.0.1 for the email tests: speaks enough
//! ESMTP for lettre (EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT), records every accepted message, and rejects chosen
//! recipients with 550. Strict like the servers users meet: a line over
//! 998 octets is refused with `500 Line too long` and a message without
//! `Date`, `Message-ID` or `MIME-Version` with 554. On demand it drips its
//! greeting one byte at a time (a peer that never quite stops talking). STARTTLS uses a throwaway CA and a leaf certificate
//! for 127.0.0.1 made with rcgen, so the client must really verify a chain.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// The session had been upgraded with STARTTLS when DATA arrived.
    pub tls: bool,
    /// The decoded `user\0password` of a successful AUTH, if any.
    pub auth: Option<(String, String)>,
}

impl Mail {
    /// The header section, unfolded: one `(name, value)` per header.
    pub fn headers(&self) -> Vec<(String, String)> {
        let head = self
            .data
            .split_once("\r\n\r\n")
            .map_or(self.data.as_str(), |(h, _)| h);
        let mut out: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                out.push((name.to_string(), value.trim_start().to_string()));
            }
        }
        out
    }

    /// The first header called `name` (any case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The subject, decoded from RFC 2047 encoded words when it is in them.
    pub fn subject(&self) -> String {
        decode_words(&self.header("Subject").unwrap_or_default())
    }

    /// The body as text, whatever transfer encoding lettre chose (7bit,
    /// quoted-printable or base64).
    pub fn body(&self) -> String {
        let data = &self.data;
        let (head, body) = data
            .split_once("\r\n\r\n")
            .or_else(|| data.split_once("\n\n"))
            .expect("headers and body");
        let head = head.to_ascii_lowercase();
        let bytes = if head.contains("content-transfer-encoding: base64") {
            base64_decode(body)
        } else if head.contains("content-transfer-encoding: quoted-printable") {
            unqp(body)
        } else {
            body.as_bytes().to_vec()
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

#[derive(Default)]
struct State {
    /// Delay between the bytes of a dripped greeting (`None`: at once).
    drip: Option<std::time::Duration>,
    /// Lines refused as too long (over 998 octets without CRLF).
    too_long: usize,
    /// Messages refused for a missing required header.
    missing_headers: Vec<String>,
    mails: Vec<Mail>,
    reject: Vec<String>,
    /// RCPT commands seen (accepted or not), for counting attempts.
    rcpts: Vec<String>,
}

pub struct SmtpPeer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    /// PEM of the CA that signed the server's certificate (STARTTLS only).
    pub ca_pem: Option<String>,
}

impl SmtpPeer {
    /// A plain server (no STARTTLS offered), for `tls = "none"`.
    pub fn plain() -> SmtpPeer {
        SmtpPeer::start(TcpListener::bind("127.0.0.1:0").expect("bind"), None)
    }

    /// A plain server on a chosen port (a server "coming back").
    pub fn plain_on(port: u16) -> SmtpPeer {
        SmtpPeer::start(TcpListener::bind(("127.0.0.1", port)).expect("bind"), None)
    }

    /// A server offering STARTTLS with a certificate for 127.0.0.1 signed by
    /// a fresh CA (see `ca_pem`).
    pub fn starttls() -> SmtpPeer {
        let (config, ca) = super::tls::private_ca("127.0.0.1");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut peer = SmtpPeer::start(listener, Some(config));
        peer.ca_pem = Some(ca);
        peer
    }

    fn start(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> SmtpPeer {
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, tls) = (Arc::clone(&shared), tls.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &state, tls);
                });
            }
        });
        SmtpPeer {
            port,
            state,
            ca_pem: None,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A plain server that sends its greeting one byte every `delay`, for
    /// minutes: each read gets a byte in time, the exchange never ends.
    pub fn dripping(delay: std::time::Duration) -> SmtpPeer {
        let peer = SmtpPeer::plain();
        peer.state.lock().expect("lock").drip = Some(delay);
        peer
    }

    /// Lines refused with `500 Line too long` so far.
    pub fn too_long(&self) -> usize {
        self.state.lock().expect("lock").too_long
    }

    /// Why messages were refused for their headers so far.
    pub fn missing_headers(&self) -> Vec<String> {
        self.state.lock().expect("lock").missing_headers.clone()
    }

    /// Answer 550 to RCPT TO this address from now on.
    pub fn reject(&self, address: &str) {
        self.state
            .lock()
            .expect("lock")
            .reject
            .push(address.to_string());
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.lock().expect("lock").mails.clone()
    }

    pub fn rcpts(&self) -> Vec<String> {
        self.state.lock().expect("lock").rcpts.clone()
    }

    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, self.ca_pem.as_deref().expect("a TLS peer")).expect("write CA");
    }
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

fn reply(conn: &mut dyn Conn, text: &str) -> std::io::Result<()> {
    conn.write_all(text.as_bytes())?;
    conn.flush()
}

fn session(
    tcp: TcpStream,
    state: &Mutex<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    let mut reader: BufReader<Box<dyn Conn>> = BufReader::new(Box::new(tcp.try_clone()?));
    let mut secure = false;
    let mut mail = Mail::default();
    let mut auth = None;
    let drip = state.lock().expect("lock").drip;
    match drip {
        Some(delay) => drip_greeting(reader.get_mut().as_mut(), delay)?,
        None => reply(reader.get_mut().as_mut(), "220 sink.test ESMTP ready\r\n")?,
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        let upper = line.to_ascii_uppercase();
        let conn = reader.get_mut().as_mut();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let starttls = if tls.is_some() && !secure {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            reply(
                conn,
                &format!("250-sink.test\r\n{starttls}250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
            )?;
        } else if upper == "STARTTLS" {
            let Some(config) = tls.clone() else {
                reply(conn, "502 not offered\r\n")?;
                continue;
            };
            reply(conn, "220 go ahead\r\n")?;
            // The client sends nothing more until the 220, so nothing is
            // buffered in the plain reader: swap the stream for a TLS one.
            let server = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
            reader = BufReader::new(Box::new(rustls::StreamOwned::new(server, tcp.try_clone()?)));
            secure = true;
        } else if let Some(rest) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if rest.trim().is_empty() {
                reply(conn, "334 \r\n")?;
                let mut l = String::new();
                reader.read_line(&mut l)?;
                l.trim().to_string()
            } else {
                line[10..].trim().to_string()
            };
            let raw = base64_decode(&encoded);
            let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            if parts.len() == 3 {
                auth = Some((
                    String::from_utf8_lossy(parts[1]).into_owned(),
                    String::from_utf8_lossy(parts[2]).into_owned(),
                ));
            }
            reply(reader.get_mut().as_mut(), "235 ok\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: address(&line),
                tls: secure,
                auth: auth.clone(),
                ..Mail::default()
            };
            reply(conn, "250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = address(&line);
            let rejected = {
                let mut s = state.lock().expect("lock");
                s.rcpts.push(to.clone());
                s.reject.contains(&to)
            };
            if rejected {
                reply(conn, "550 5.1.1 no such user here\r\n")?;
            } else {
                mail.to.push(to);
                reply(conn, "250 ok\r\n")?;
            }
        } else if upper == "DATA" {
            reply(conn, "354 end with .\r\n")?;
            let mut data = String::new();
            let mut longest = 0;
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                longest = longest.max(l.trim_end_matches(['\r', '\n']).len());
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            mail.data = data;
            mail.tls = secure;
            let verdict = judge(&mail, longest);
            let conn = reader.get_mut().as_mut();
            let mut s = state.lock().expect("lock");
            match verdict {
                Verdict::TooLong => {
                    s.too_long += 1;
                    drop(s);
                    reply(conn, "500 5.5.2 Line too long\r\n")?;
                }
                Verdict::Missing(what) => {
                    s.missing_headers.push(what.clone());
                    drop(s);
                    reply(conn, &format!("554 5.6.0 message lacks {what}\r\n"))?;
                }
                Verdict::Ok => {
                    s.mails.push(mail.clone());
                    drop(s);
                    reply(conn, "250 queued\r\n")?;
                }
            }
        } else if upper == "QUIT" {
            reply(conn, "221 bye\r\n")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            reply(conn, "250 ok\r\n")?;
        } else {
            reply(conn, "502 unknown\r\n")?;
        }
    }
}

enum Verdict {
    Ok,
    TooLong,
    Missing(String),
}

/// What a strict server says of a message: RFC 5322's 998-octet line
/// limit, and the headers spam filters insist on.
fn judge(mail: &Mail, longest: usize) -> Verdict {
    if longest > 998 {
        return Verdict::TooLong;
    }
    let missing: Vec<&str> = ["Date", "Message-ID", "MIME-Version", "From", "Subject"]
        .into_iter()
        .filter(|h| mail.header(h).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if missing.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Missing(missing.join(", "))
    }
}

/// A greeting of many continuation lines, one byte every `delay`, for up
/// to ten minutes; stops when the client goes away.
fn drip_greeting(conn: &mut dyn Conn, delay: std::time::Duration) -> std::io::Result<()> {
    let line = b"220-sink.test still saying hello\r\n";
    let until = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::time::Instant::now() < until {
        for b in line {
            conn.write_all(&[*b])?;
            conn.flush()?;
            std::thread::sleep(delay);
        }
    }
    reply(conn, "220 sink.test ESMTP ready\r\n")
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded; the
/// whitespace between two encoded words is dropped, as the RFC says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let start = rest.find("=?");
        let Some(start) = start else {
            out.push_str(rest);
            break;
        };
        let (before, after) = rest.split_at(start);
        let word = after
            .get(2..)
            .and_then(|a| a.find("?=").map(|end| &a[..end]))
            .and_then(|inner| {
                let mut parts = inner.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                let bytes = match enc.to_ascii_lowercase().as_str() {
                    "b" => base64_decode(text),
                    "q" => unqp(&text.replace('_', " ")),
                    _ => return None,
                };
                Some((
                    inner.len() + 4,
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            });
        match word {
            Some((len, text)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &after[len..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &after[2..];
                last_was_word = false;
            }
        }
    }
    out
}

fn address(line: &str) -> String {
    let start = line.find('<').map(|i| i + 1).unwrap_or(0);
    let end = line[start..]
        .find('>')
        .map(|i| i + start)
        .unwrap_or(line.len());
    line[start..end].to_string()
}

/// Quoted-printable, decoded.
fn unqp(body: &str) -> Vec<u8> {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Base64, decoded; anything outside the alphabet (line breaks, padding)
/// is skipped.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
