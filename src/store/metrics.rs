//! The figures behind `GET /metrics` (`escalate serve`): each one indexed
//! aggregate, read in one transaction so they agree.

use super::Tx;
use anyhow::Result;

use super::SqlContext;

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
    let open = tx.db()
        .prepare_cached(
            "SELECT chain, level, \
               CASE WHEN response_state = 'breached' OR resolution_state = 'breached' THEN 'breached' \
                    WHEN response_state = 'at_risk' OR resolution_state = 'at_risk' THEN 'at_risk' \
                    WHEN response_state IS NULL AND resolution_state IS NULL THEN 'none' \
                    ELSE 'ok' END AS s, count(*) \
             FROM issues WHERE status <> 'resolved' GROUP BY chain, level, s ORDER BY 1, 2, 3",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(OpenCount {
                    chain: r.get(0)?,
                    level: r.get(1)?,
                    sla_state: r.get(2)?,
                    count: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .sql("counting open issues")?;
    let per_channel = |sql: &str| -> Result<Vec<ChannelCount>> {
        tx.db()
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(ChannelCount {
                        channel: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                        count: r.get::<_, i64>(1)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .sql("counting deliveries")
    };
    let count = |sql: &str| -> Result<u64> {
        tx.db()
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n.max(0) as u64)
            .sql("counting")
    };
    Ok(Figures {
        open,
        sent: per_channel(
            "SELECT channel, count(*) FROM outbox WHERE status = 'sent' GROUP BY channel ORDER BY 1",
        )?,
        failed: per_channel(
            "SELECT json_extract(details, '$.channel'), count(*) FROM events \
             WHERE kind = 'delivery_failed' GROUP BY 1 ORDER BY 1",
        )?,
        pending: count("SELECT count(*) FROM outbox WHERE status = 'pending'")?,
        dead: count("SELECT count(*) FROM outbox WHERE status = 'dead'")?,
        breaches: count("SELECT count(*) FROM events WHERE kind = 'breached'")?,
    })
}
