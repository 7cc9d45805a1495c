//! The console channel: one line per notification on the command's output
//! (stdout for `check`; stderr where stdout carries data, as in `create`).

use std::io::Write;

use super::{message, SendError};
use crate::model::{Delivery, Ts};

/// Write one line; it is sent once [`flush`] succeeds (callers write a
/// batch of lines, then flush once).
pub fn send(d: &Delivery, now: Ts, out: &mut dyn Write) -> Result<(), SendError> {
    writeln!(out, "{}", message::line(d, now))
        .map_err(|e| SendError::Temporary(format!("console: {e}"), None))
}

/// Push the lines written so far out of our buffers.
pub fn flush(out: &mut dyn Write) -> Result<(), SendError> {
    out.flush()
        .map_err(|e| SendError::Temporary(format!("console: {e}"), None))
}
