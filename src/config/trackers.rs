//! `[trackers.NAME]` → [`Tracker`]: where engineering tasks are created
//! (GitHub, Jira, Linear). Checked before `[chains]`, whose levels name
//! them in `create_task`.

use std::collections::BTreeMap;

use toml::Spanned;

use super::address::check_destination;
use super::check::{check_http_url, check_name};
use super::error::{ConfigError, Source};
use super::raw::RawTracker;
use super::secrets::secret;
use super::{Secret, Tracker, TrackerKind};

/// Every `[trackers.NAME]` table.
pub(super) fn convert(
    raw: BTreeMap<String, Spanned<RawTracker>>,
    allow_link_local: bool,
    src: &Source,
) -> Result<BTreeMap<String, Tracker>, ConfigError> {
    let mut trackers = BTreeMap::new();
    for (name, t) in raw {
        check_name("tracker", &name).map_err(|m| src.at(t.span(), m))?;
        let tracker = tracker(name.clone(), t.into_inner(), allow_link_local, src)?;
        trackers.insert(name, tracker);
    }
    Ok(trackers)
}

fn tracker(
    name: String,
    t: RawTracker,
    allow_link_local: bool,
    src: &Source,
) -> Result<Tracker, ConfigError> {
    let kind = kind(&name, &t.kind, src)?;
    check_http_url(t.url.get_ref())
        .and_then(|()| check_destination(t.url.get_ref(), allow_link_local))
        .map_err(|m| src.at(t.url.span(), format!("[trackers.{name}] url: {m}")))?;
    // Each tracker's API addresses a project its own way; github's needs
    // both halves of "owner/repo".
    if t.project.get_ref().trim().is_empty()
        || (kind == TrackerKind::Github && !t.project.get_ref().contains('/'))
    {
        return Err(src.at(
            t.project.span(),
            format!(
                "[trackers.{name}] project: expected {}",
                match kind {
                    TrackerKind::Github => "\"owner/repo\"",
                    TrackerKind::Jira => "a project key such as \"OPS\"",
                    TrackerKind::Linear => "a team id",
                }
            ),
        ));
    }
    let token = secret(t.token);
    if let Secret::Env(var) = &token.value {
        if var.trim().is_empty() {
            return Err(src.at(
                token.span,
                format!("[trackers.{name}] token: env = \"\" names no variable"),
            ));
        }
    }
    Ok(Tracker {
        name,
        kind,
        // API paths are appended to it.
        url: t.url.into_inner().trim_end_matches('/').to_string(),
        token: token.value,
        project: t.project.into_inner(),
        issue_type: t.issue_type,
        email: t.email,
    })
}

fn kind(name: &str, kind: &Spanned<String>, src: &Source) -> Result<TrackerKind, ConfigError> {
    match kind.get_ref().as_str() {
        "github" => Ok(TrackerKind::Github),
        "jira" => Ok(TrackerKind::Jira),
        "linear" => Ok(TrackerKind::Linear),
        other => Err(src.at(
            kind.span(),
            format!(
                "[trackers.{name}] kind = \"{other}\": expected \"github\", \"jira\" or \"linear\""
            ),
        )),
    }
}
