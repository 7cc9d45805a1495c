//! Where a PostgreSQL store lives and how to reach it: the `--db
//! postgres://…` URL parsed into a connection configuration, the password
//! found (URL, `PGPASSWORD`, `~/.pgpass`), TLS set up with rustls, and the
//! URL redacted for every message. Nothing here prints the password: the
//! only string shown to people is [`Target::shown`].
//!
//! `sslmode` follows libpq: `disable`, `prefer` (the default: TLS when the
//! server offers it, unverified), `require` (TLS, unverified), `verify-ca`
//! (TLS, chain checked) and `verify-full` (chain and host name checked).
//! The roots for the verifying modes come from `sslrootcert=PATH`, else
//! `~/.postgresql/root.crt` when it exists, else the Mozilla roots
//! (`sslrootcert=system` asks for those explicitly).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use percent_encoding::percent_decode_str;
use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::database;

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// How much TLS a connection insists on (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A parsed `postgres://` URL: the driver's configuration (password
/// included) and the redacted form for messages.
pub struct Target {
    pub config: postgres::Config,
    pub tls: Tls,
    root_cert: Option<PathBuf>,
    shown: String,
    /// What the user should hear about but that does not stop the
    /// connection (a password file others may read); the command layer
    /// prints them.
    warnings: Vec<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("url", &self.shown).finish()
    }
}

/// The URL with any password replaced by `***`. On the safe side: the
/// user information runs to the *last* `@` (a password may hold `/`, `?`,
/// `#` or `@` unencoded), so a URL that is not even well formed loses
/// everything after the user name up to there.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, after)) = rest.rsplit_once('@') else {
        return format!("{scheme}://{}", redact_query_password(rest));
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    // A user name with a '/' or '?' means the '@' was not the authority's.
    let user: String = user
        .chars()
        .take_while(|c| !matches!(c, '/' | '?' | '#'))
        .collect();
    let hidden = if userinfo.contains(':') || userinfo.len() > user.len() {
        ":***"
    } else {
        ""
    };
    // `password=` in the query is libpq's other way to pass one.
    format!("{scheme}://{user}{hidden}@{}", redact_query_password(after))
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("password", _)) => "password=***".to_string(),
            _ => kv.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Where to find the password file (libpq: `PGPASSFILE`, else `~/.pgpass`).
fn passfile() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

fn decode(s: &str, what: &str, shown: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            database(format!(
                "database URL {shown}: the {what} is not valid UTF-8"
            ))
        })
}

impl Target {
    /// Parse a `postgres://user[:password]@host[:port]/database[?params]`
    /// URL. Missing parts come from `PGUSER`, `PGHOST`, `PGPORT` and
    /// `PGDATABASE`, then libpq's defaults; a missing password from
    /// `PGPASSWORD`, then the password file.
    pub fn parse(url: &str) -> Result<Target> {
        let shown = redact(url);
        let bad = |why: &str| database(format!("database URL {shown}: {why}"));
        let rest = url
            .split_once("://")
            .map(|(_, r)| r)
            .ok_or_else(|| bad("not a postgres:// URL"))?;
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, dbname) = before_query.split_once('/').unwrap_or((before_query, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, mut password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (
                    decode(u, "user", &shown)?,
                    Some(decode(p, "password", &shown)?),
                ),
                None => (decode(u, "user", &shown)?, None),
            },
            None => (String::new(), None),
        };
        let (mut host, port) = split_host_port(hostport).map_err(|w| bad(&w))?;
        host = decode(&host, "host", &shown)?;
        let mut config = postgres::Config::new();
        let mut tls = Tls::Prefer;
        let mut root_cert = None;
        let mut port = port;
        let mut connect_timeout = Duration::from_secs(10);
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = decode(v, k, &shown)?;
            match k {
                "sslmode" => tls = parse_sslmode(&v).ok_or_else(|| bad(&format!("sslmode={v} is not one of disable, prefer, require, verify-ca, verify-full")))?,
                "sslrootcert" => root_cert = Some(PathBuf::from(v)),
                "host" => host = v,
                "port" => port = Some(v.parse().map_err(|_| bad(&format!("port {v} is not a number")))?),
                "password" => password = Some(v),
                "application_name" => {
                    config.application_name(&v);
                }
                "connect_timeout" => {
                    let secs: u64 = v.parse().map_err(|_| bad(&format!("connect_timeout={v} is not a number of seconds")))?;
                    connect_timeout = Duration::from_secs(secs.max(1));
                }
                other => return Err(bad(&format!("unknown parameter {other} (known: sslmode, sslrootcert, host, port, password, application_name, connect_timeout)"))),
            }
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let user = Some(user)
            .filter(|u| !u.is_empty())
            .or_else(|| env("PGUSER"))
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"))
            .ok_or_else(|| bad("no user name (put one in the URL: postgres://USER@host/db)"))?;
        let host = Some(host)
            .filter(|h| !h.is_empty())
            .or_else(|| env("PGHOST"))
            .unwrap_or_else(|| "localhost".to_string());
        let port = match port {
            Some(p) => p,
            None => match env("PGPORT") {
                Some(p) => p
                    .parse()
                    .map_err(|_| bad(&format!("PGPORT={p} is not a number")))?,
                None => 5432,
            },
        };
        let dbname = decode(dbname, "database name", &shown)?;
        let dbname = Some(dbname)
            .filter(|d| !d.is_empty())
            .or_else(|| env("PGDATABASE"))
            .unwrap_or_else(|| user.clone());
        let mut warnings = Vec::new();
        let password = password
            .or_else(|| env("PGPASSWORD"))
            .map(Ok)
            .or_else(|| {
                passfile().and_then(|f| {
                    from_passfile(&f, &host, port, &dbname, &user, &mut warnings).transpose()
                })
            })
            .transpose()?;
        config
            .user(&user)
            .dbname(&dbname)
            .host(&host)
            .port(port)
            .connect_timeout(connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            // Data the server stops acknowledging (a host gone mid-query)
            // fails the connection instead of hanging it.
            .tcp_user_timeout(Duration::from_secs(60))
            .ssl_mode(match tls {
                Tls::Disable => SslMode::Disable,
                Tls::Prefer => SslMode::Prefer,
                _ => SslMode::Require,
            });
        if config.get_application_name().is_none() {
            config.application_name("escalate");
        }
        if let Some(p) = &password {
            config.password(p);
        }
        Ok(Target {
            config,
            tls,
            root_cert,
            shown,
            warnings,
        })
    }

    /// The URL as it may be shown: without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Warnings from reading the URL's settings (see the field).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Connect, TLS as `sslmode` asks. Every failure is one line naming
    /// the redacted URL, with the database exit code (5). The driver's
    /// `connect_timeout` bounds only the TCP connect; a server that
    /// accepts and then says nothing (or drips) would hold us forever, so
    /// the whole handshake runs on a thread given the same deadline.
    pub fn connect(&self, watch: &super::pg_watch::Watch) -> Result<postgres::Client> {
        let deadline = self
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(Duration::from_secs(10))
            * 2;
        let tls = match self.tls {
            Tls::Disable => None,
            _ => Some(self.rustls()?),
        };
        let config = self.config.clone();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let connected = match tls {
                None => config.connect(postgres::NoTls),
                Some(tls) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
            };
            let _ = send.send(connected);
        });
        let fail = |why: String| database(format!("cannot connect to {}: {why}", self.shown));
        // A refused login may be the ignored password file's doing: say so
        // in the one line the user sees.
        let refused = |e: &postgres::Error| {
            let mut why = one_line(e);
            if e.code().is_some_and(|c| c.code().starts_with("28")) {
                for w in &self.warnings {
                    why.push_str(&format!(" ({})", w.trim_start_matches("warning: ")));
                }
            }
            fail(why)
        };
        match receive.recv_timeout(deadline) {
            Ok(Ok(mut client)) => {
                // The server's end of the socket: a checker host that
                // vanishes mid-transaction (power, network) sends no close;
                // without these its session, and the write lock it holds,
                // would linger until the server's own keepalive (hours).
                let _waiting = watch.during();
                client
                    .batch_execute(SESSION)
                    .map_err(|e| fail(one_line(&e)))?;
                Ok(client)
            }
            Ok(Err(e)) => Err(refused(&e)),
            Err(_) => Err(fail(format!(
                "the server did not complete the handshake in {} s (timed out)",
                deadline.as_secs()
            ))),
        }
    }

    fn rustls(&self) -> Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| database(format!("{}: TLS: {e}", self.shown)))?;
        let config = match self.tls {
            Tls::VerifyCa | Tls::VerifyFull => {
                let roots = self.roots()?;
                if self.tls == Tls::VerifyFull {
                    builder.with_root_certificates(roots).with_no_client_auth()
                } else {
                    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider,
                    )
                    .build()
                    .map_err(|e| database(format!("{}: TLS roots: {e}", self.shown)))?;
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                        .with_no_client_auth()
                }
            }
            // libpq: `require` with a root certificate at hand checks the
            // chain, as verify-ca does.
            Tls::Require if self.root_file().is_some() => {
                let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.roots()?),
                    provider,
                )
                .build()
                .map_err(|e| database(format!("{}: TLS roots: {e}", self.shown)))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                    .with_no_client_auth()
            }
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
                .with_no_client_auth(),
        };
        Ok(config)
    }

    /// The root certificate file: `sslrootcert`, else
    /// `~/.postgresql/root.crt` when it exists (None: `system`, or none).
    fn root_file(&self) -> Option<PathBuf> {
        match &self.root_cert {
            Some(p) if p.as_os_str() == "system" => None,
            Some(p) => Some(p.clone()),
            None => std::env::var_os("HOME")
                .map(|h| Path::new(&h).join(".postgresql/root.crt"))
                .filter(|p| p.exists()),
        }
    }

    /// Trust anchors for verify-ca/verify-full (and require with a root
    /// file).
    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        let Some(file) = self.root_file() else {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(roots);
        };
        let unreadable = |e: String| {
            database(format!(
                "{}: sslrootcert {}: {e}",
                self.shown,
                file.display()
            ))
        };
        let pem = std::fs::read(&file).map_err(|e| unreadable(e.to_string()))?;
        let certs: Vec<CertificateDer<'static>> =
            rustls::pki_types::pem::PemObject::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| unreadable(format!("{e:?}")))?;
        if certs.is_empty() {
            return Err(unreadable("no PEM certificate in it".into()));
        }
        for c in certs {
            roots.add(c).map_err(|e| unreadable(e.to_string()))?;
        }
        Ok(roots)
    }
}

/// Session settings every connection makes (see [`Target::connect`]).
const SESSION: &str = "SET idle_in_transaction_session_timeout = '60s'; \
                       SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; \
                       SET tcp_keepalives_count = 3";

fn parse_sslmode(v: &str) -> Option<Tls> {
    Some(match v {
        "disable" => Tls::Disable,
        "prefer" | "allow" => Tls::Prefer,
        "require" => Tls::Require,
        "verify-ca" => Tls::VerifyCa,
        "verify-full" => Tls::VerifyFull,
        _ => return None,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(s: &str) -> std::result::Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        (h, after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => {
            Some(p.parse().map_err(|_| format!("port {p} is not a number"))?)
        }
        _ => None,
    };
    Ok((host.to_string(), port))
}

/// The password for (host, port, db, user) in a libpq password file:
/// `host:port:database:user:password` lines, `*` matching anything, `\`
/// escaping `:` and `\`. Like libpq, a file that others may read is
/// ignored with a warning (with no password the server's refusal says
/// what is missing).
fn from_passfile(
    file: &Path,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    let Ok(meta) = std::fs::metadata(file) else {
        return Ok(None);
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            // Escaped: the path comes from the environment, and this line
            // may end up inside a one-line error.
            warnings.push(format!(
                "warning: password file {} is readable by others (chmod 0600 it); ignored",
                file.display().to_string().escape_debug()
            ));
            return Ok(None);
        }
    }
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let port = port.to_string();
    let wanted = [host, port.as_str(), db, user];
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|(f, w)| f == "*" || f == w);
        if matches {
            return Ok(Some(fields[4..].join(":")));
        }
    }
    Ok(None)
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// A driver error as one line: the server's own message (with its
/// SQLSTATE) when it sent one, else the innermost cause (refused,
/// timed out, TLS).
pub fn one_line(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text.lines().next().unwrap_or("").to_string()
}

/// `sslmode=require`/`prefer`: encrypted, the certificate not checked
/// (libpq's meaning). The handshake's signatures are still verified, so
/// the session is at least bound to the key the server presented.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the name
/// in the certificate is not compared with the host.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end, intermediates, name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_userinfo_and_query() {
        assert_eq!(
            redact("postgres://u:s3cret@h:5/db?sslmode=require"),
            "postgres://u:***@h:5/db?sslmode=require"
        );
        assert_eq!(
            redact("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(redact("postgres://u:p:q@h/db"), "postgres://u:***@h/db");
        // Unencoded '/', '?' or '@' in the password: still hidden.
        for url in [
            "postgres://u:pa/ss@h:x/db",
            "postgres://u:p?w@h/db",
            "postgres://u:p@w@h/db",
        ] {
            let shown = redact(url);
            assert!(
                !shown.contains("pa/ss") && !shown.contains("p?w") && !shown.contains("p@w"),
                "{shown}"
            );
            assert!(shown.starts_with("postgres://u:***@"), "{shown}");
        }
    }

    #[test]
    fn parses_url_parts_and_sslmode() {
        let t = Target::parse("postgres://ann:pw%40x@db.example:6543/esc?sslmode=verify-full")
            .expect("parses");
        assert_eq!(t.config.get_user(), Some("ann"));
        assert_eq!(t.config.get_dbname(), Some("esc"));
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(t.config.get_password(), Some(&b"pw@x"[..]));
        assert_eq!(t.tls, Tls::VerifyFull);
        assert!(!format!("{t:?}").contains("pw"));
    }

    #[test]
    fn refuses_unknown_parameters_and_modes_naming_them() {
        let e = Target::parse("postgres://u:pw@h/db?sslmode=maybe").expect_err("bad mode");
        assert!(e.to_string().contains("sslmode=maybe"), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
        let e = Target::parse("postgres://u@h/db?frobnicate=1").expect_err("unknown");
        assert!(e.to_string().contains("frobnicate"), "{e}");
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:5432:*:u:no\n*:5432:db:u:pa\\:ss\n")
            .expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let mut warnings = Vec::new();
        let got = from_passfile(&file, "h", 5432, "db", "u", &mut warnings).expect("reads");
        assert_eq!(got.as_deref(), Some("pa:ss"));
        assert_eq!(
            from_passfile(&file, "h", 5433, "db", "u", &mut warnings).expect("reads"),
            None
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[cfg(unix)]
    #[test]
    fn pgpass_readable_by_others_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:*:pw\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let mut warnings = Vec::new();
        assert_eq!(
            from_passfile(&file, "h", 5432, "db", "u", &mut warnings).expect("reads"),
            None
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("readable by others"), "{warnings:?}");
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(split_host_port("h:1").expect("ok"), ("h".into(), Some(1)));
        assert_eq!(
            split_host_port("[::1]:7").expect("ok"),
            ("::1".into(), Some(7))
        );
        assert_eq!(split_host_port("h").expect("ok"), ("h".into(), None));
        assert!(split_host_port("h:x").is_err());
    }
}
