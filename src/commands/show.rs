//! `escalate show ID`: an issue and its timeline from the event log.

use anyhow::Result;

use super::{parse_id, Ctx, Io};
use crate::config::Config;
use crate::error::Code;
use crate::lifecycle;
use crate::render::{self, issue::IssueView};
use crate::store::events;

pub fn run(ctx: &Ctx, id: &str, json: bool, io: &mut Io) -> Result<Code> {
    let id = parse_id(id)?;
    // The config only adds the next step and the orphaned mark.
    let config = Config::load(&ctx.config_path).ok();
    let mut store = ctx.store_read()?;
    let (issue, mut events) = store.read(|tx| {
        let issue = lifecycle::existing(tx, id)?;
        Ok((issue, events::for_issue(tx, id)?))
    })?;
    // By time, then id: an ingested event carries its helpdesk's time,
    // which can be earlier than events written before it arrived.
    events.sort_by_key(|e| (e.at, e.id));
    let text = if json {
        let view = IssueView::new(&issue, config.as_ref(), ctx.now).with_events(&events);
        render::json(&view)?
    } else {
        render::show::text(&issue, &events, config.as_ref(), ctx.now)
    };
    write!(io.out, "{text}")?;
    Ok(Code::Ok)
}
