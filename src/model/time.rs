//! Time helpers shared by every layer: the one JSON time format and the
//! human form of a duration.

use chrono::TimeDelta;

use super::Ts;

/// RFC 3339 in UTC, the one time format of JSON output and event details.
pub fn rfc3339(t: Ts) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Human form of a duration: `2d 3h`, `4h 5m`, `12m`, `40s`.
pub fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let body = if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if hours > 0 {
        if mins > 0 {
            format!("{hours}h {mins}m")
        } else {
            format!("{hours}h")
        }
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{}s", secs % 60)
    };
    format!("{sign}{body}")
}

/// Serde for instants as [`rfc3339`] strings, the form event details have
/// always stored.
pub mod rfc3339_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Ts;

    pub fn serialize<S: Serializer>(t: &Ts, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let s = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same for optional instants (null when absent).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use crate::model::Ts;

        pub fn serialize<S: Serializer>(t: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::rfc3339(*t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ts>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) => chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| Some(t.with_timezone(&chrono::Utc)))
                    .map_err(serde::de::Error::custom),
            }
        }
    }
}
