//! The figures behind `GET /metrics` (`escalate serve`): each one indexed
//! aggregate, read in one transaction so they agree.

use anyhow::Result;

use super::sql::args;
use super::Tx;

/// Open issues per (chain, level, SLA state as recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub chain: String,
    pub level: u32,
    pub sla_state: String,
    pub count: u64,
}

/// Deliveries per (channel, outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCount {
    pub channel: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Figures {
    pub open: Vec<OpenCount>,
    pub sent: Vec<ChannelCount>,
    pub failed: Vec<ChannelCount>,
    pub pending: u64,
    pub dead: u64,
    pub breaches: u64,
}

pub fn figures(tx: &Tx) -> Result<Figures> {
    let open = tx.rows(
        "SELECT chain, level, \
           CASE WHEN response_state = 'breached' OR resolution_state = 'breached' THEN 'breached' \
                WHEN response_state = 'at_risk' OR resolution_state = 'at_risk' THEN 'at_risk' \
                WHEN response_state IS NULL AND resolution_state IS NULL THEN 'none' \
                ELSE 'ok' END AS s, count(*) \
         FROM issues WHERE status <> 'resolved' GROUP BY chain, level, s ORDER BY 1, 2, 3",
        args![],
        "counting open issues",
        |r| {
            Ok(OpenCount {
                chain: r.get(0)?,
                level: r.get(1)?,
                sla_state: r.get(2)?,
                count: count(r.get(3)?),
            })
        },
    )?;
    let per_channel = |sql: &str| -> Result<Vec<ChannelCount>> {
        tx.rows(sql, args![], "counting deliveries", |r| {
            Ok(ChannelCount {
                channel: r.get::<Option<String>>(0)?.unwrap_or_default(),
                count: count(r.get(1)?),
            })
        })
    };
    let total =
        |sql: &str| -> Result<u64> { tx.one(sql, args![], "counting", |r| r.get(0)).map(count) };
    Ok(Figures {
        open,
        sent: per_channel(
            "SELECT channel, count(*) FROM outbox WHERE status = 'sent' GROUP BY channel ORDER BY 1",
        )?,
        failed: per_channel(
            "SELECT json_extract(details, '$.channel'), count(*) FROM events \
             WHERE kind = 'delivery_failed' GROUP BY 1 ORDER BY 1 NULLS FIRST",
        )?,
        pending: total("SELECT count(*) FROM outbox WHERE status = 'pending'")?,
        dead: total("SELECT count(*) FROM outbox WHERE status = 'dead'")?,
        breaches: total("SELECT count(*) FROM events WHERE kind = 'breached'")?,
    })
}

/// A SQL count as a u64 (a count is never negative).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
