//! `[email]` → [`Email`]: the sender address, the SMTP URL and how to secure
//! the connection. Checked before `[roles]`, whose email contacts need it.

use std::path::PathBuf;

use toml::Spanned;

use super::address::{host_class, HostClass};
use super::check::check_address;
use super::error::{ConfigError, Source};
use super::raw::RawEmail;
use super::secrets::{redact_url, secret};
use super::{Email, Secret, TlsMode};

/// The `[email]` section, if the file has one.
pub(super) fn convert(raw: Option<RawEmail>, src: &Source) -> Result<Option<Email>, ConfigError> {
    let Some(e) = raw else { return Ok(None) };
    check_address(e.from.get_ref())
        .map_err(|m| src.at(e.from.span(), format!("[email] from: {m}")))?;
    let smtp = secret(e.smtp);
    let mut tls = TlsMode::Starttls;
    // An env URL is only known at send time; `config check` looks at it.
    if let Secret::Literal(url) = &smtp.value {
        tls = check_smtp_url(url).map_err(|m| src.at(smtp.span.clone(), m))?;
    }
    // An explicit `tls` wins over what the URL's scheme implies.
    if let Some(mode) = &e.tls {
        tls = tls_mode(mode, src)?;
        if let Secret::Literal(url) = &smtp.value {
            let creds = e.username.is_some() || e.password.is_some();
            check_plaintext_login(url, tls, creds).map_err(|m| src.at(mode.span(), m))?;
        }
    }
    Ok(Some(Email {
        from: e.from.into_inner(),
        smtp: smtp.value,
        tls,
        username: e.username.map(|s| secret(s).value),
        password: e.password.map(|s| secret(s).value),
        ca_file: e.ca_file.map(PathBuf::from),
    }))
}

fn tls_mode(mode: &Spanned<String>, src: &Source) -> Result<TlsMode, ConfigError> {
    match mode.get_ref().as_str() {
        "starttls" => Ok(TlsMode::Starttls),
        "wrapper" | "tls" => Ok(TlsMode::Wrapper),
        "none" => Ok(TlsMode::None),
        other => Err(src.at(
            mode.span(),
            format!("[email] tls = \"{other}\": expected \"starttls\", \"tls\" or \"none\""),
        )),
    }
}

/// Credentials sent in clear text may cross a network only to this host:
/// `tls = "none"` with a username or password (in `[email]` or the URL's
/// userinfo) is refused unless the server is on a loopback address.
pub(super) fn check_plaintext_login(url: &str, tls: TlsMode, creds: bool) -> Result<(), String> {
    let Ok(u) = reqwest::Url::parse(url) else {
        return Ok(());
    };
    let creds = creds || !u.username().is_empty() || u.password().is_some();
    if tls != TlsMode::None || !creds || host_class(&u) == HostClass::Loopback {
        return Ok(());
    }
    Err(format!(
        "[email] tls = \"none\" would send the SMTP password in clear text to {}; \
         use STARTTLS or smtps://, or a relay on this host (127.0.0.1)",
        u.host_str().unwrap_or("?")
    ))
}

/// `smtp://` (STARTTLS unless tls = "none") or `smtps://` (TLS wrapper).
pub fn check_smtp_url(url: &str) -> Result<TlsMode, String> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| format!("[email] smtp: malformed URL `{}`: {e}", redact_url(url)))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err("[email] smtp: the URL has no host".to_string());
    }
    match u.scheme() {
        "smtp" => Ok(TlsMode::Starttls),
        "smtps" => Ok(TlsMode::Wrapper),
        other => Err(format!(
            "[email] smtp: scheme `{other}` is not smtp:// or smtps://"
        )),
    }
}
