//! Tables for people (`list`, `outbox`).

use std::io::IsTerminal;

use comfy_table::{presets, ContentArrangement, Table};

/// Narrower than this, a boxed table wraps every cell into a column of
/// single characters: plain lines read better.
const MIN_BOXED_WIDTH: u16 = 20;

/// A table for people: boxed on a terminal, bare aligned columns in a pipe
/// (so `awk` and `grep` work on it). Whether stdout is a terminal decides,
/// as it is where commands print tables. A terminal that reports no usable
/// width (0 columns: a serial console, some CI ptys) gets the pipe form too.
pub fn table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    let terminal = std::io::stdout().is_terminal();
    if boxed(terminal, terminal.then(|| table.width()).flatten()) {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.load_preset(presets::NOTHING);
    }
    table.set_header(header);
    table
}

/// Boxed only on a terminal whose width is known and usable.
fn boxed(terminal: bool, width: Option<u16>) -> bool {
    terminal && width.is_some_and(|w| w >= MIN_BOXED_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::boxed;

    #[test]
    fn a_terminal_of_zero_columns_gets_plain_lines() {
        assert!(boxed(true, Some(80)));
        assert!(!boxed(true, Some(0)));
        assert!(!boxed(true, Some(5)));
        assert!(!boxed(true, None));
        assert!(!boxed(false, Some(80)));
    }
}
