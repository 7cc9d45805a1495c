//! `[[routes]]` → [`Route`]s, in file order: the first match places an
//! incoming issue, so a route after a catch-all is refused as dead.

use std::collections::BTreeMap;

use toml::Spanned;

use super::error::{ConfigError, Source};
use super::raw::{OneOrMany, RawRoute};
use super::{Chain, Route};

/// Every `[[routes]]` entry; `chains` are the ones a route may send to.
pub(super) fn convert(
    raw: Vec<Spanned<RawRoute>>,
    chains: &BTreeMap<String, Chain>,
    src: &Source,
) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let span = r.span();
        let r = r.into_inner();
        let name = r.name.unwrap_or_else(|| format!("route {}", i + 1));
        if !chains.contains_key(r.chain.get_ref()) {
            return Err(src.at(
                r.chain.span(),
                format!("{name}: unknown chain `{}`", r.chain.get_ref()),
            ));
        }
        let title = match &r.title {
            Some(t) => Some(title_regex(&name, t, src)?),
            None => None,
        };
        if let Some(prev) = routes.iter().find(|p| p.is_catch_all()) {
            return Err(src.at(
                span,
                format!(
                    "{name} can never match: `{}` before it matches everything \
                     (put the catch-all route last)",
                    prev.name
                ),
            ));
        }
        routes.push(Route {
            name,
            source: r.source.map(OneOrMany::into_vec).unwrap_or_default(),
            // Lower case, as ingest keeps priorities: `Urgent` in the
            // config and `urgent` from a helpdesk are the same value.
            priority: r
                .priority
                .map(OneOrMany::into_vec)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.trim().to_lowercase())
                .collect(),
            tags: r.tags.map(OneOrMany::into_vec).unwrap_or_default(),
            title,
            chain: r.chain.into_inner(),
            owner: r.owner.filter(|o| !o.trim().is_empty()),
        });
    }
    Ok(routes)
}

/// Whether two status or priority values are the same: helpdesks spell
/// them `Urgent`, `URGENT` or `urgent` (`create --priority` and `route
/// test` pass them as typed), so case and surrounding blanks do not count.
pub(super) fn same_value(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The `title` pattern of route `name`.
fn title_regex(name: &str, t: &Spanned<String>, src: &Source) -> Result<regex::Regex, ConfigError> {
    regex::Regex::new(t.get_ref()).map_err(|e| {
        // regex's message is a multi-line drawing of the pattern; its last
        // line says what is wrong.
        let full = e.to_string();
        let what = full.lines().last().unwrap_or("").trim();
        src.at(
            t.span(),
            format!("{name}: title is not a valid regular expression: {what}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::same_value;

    #[test]
    fn values_match_whatever_their_case() {
        for (a, b) in [
            ("urgent", "Urgent"),
            ("URGENT", "urgent"),
            (" high", "HIGH "),
            ("élevée", "ÉLEVÉE"),
        ] {
            assert!(same_value(a, b), "{a} {b}");
        }
        for (a, b) in [("urgent", "urgentx"), ("high", ""), ("low", "normal")] {
            assert!(!same_value(a, b), "{a} {b}");
        }
    }
}
