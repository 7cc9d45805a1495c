//! The render layer: how escalate's data looks to people (tables, local
//! times, markdown, Slack text) and to scripts (JSON, CSV). Above store,
//! notify, lifecycle and delivery; below `commands`, which it never imports.
//!
//! Rendering is pure: values in, text out. Nothing here reads the clock
//! (`now` is a parameter, so output is reproducible under `--now`) or the
//! database; commands load, call a renderer and print. The one thing it
//! looks at is whether stdout is a terminal ([`table()`]: boxed or bare).
//!
//! Report and digest are built the same way: a pure `build` shapes store
//! query results into a serializable value (`Report`, `Digest`), and one
//! function per form renders that value.

pub mod digest;
pub mod event;
pub mod issue;
pub mod list;
pub mod report;
pub mod show;
pub mod simulate;
pub mod table;
pub mod time;

pub use table::table;
pub use time::{local, relative};

use serde::Serialize;

/// The JSON form every command prints: pretty, ending in a newline (so a
/// terminal prompt starts on its own line, and files end in one).
pub fn json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut s = crate::text::json_controls(&serde_json::to_string_pretty(value)?);
    s.push('\n');
    Ok(s)
}
