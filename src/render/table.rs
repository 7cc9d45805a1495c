//! Tables for people (`list`, `outbox`).

use std::io::IsTerminal;

use comfy_table::{presets, ContentArrangement, Table};

/// A table for people: boxed on a terminal, bare aligned columns in a pipe
/// (so `awk` and `grep` work on it). Whether stdout is a terminal decides,
/// as it is where commands print tables.
pub fn table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.load_preset(presets::NOTHING);
    }
    table.set_header(header);
    table
}
