//! The console channel: one line per notification on the command's output
//! (stdout for `check`; stderr where stdout carries data, as in `create`).

use std::io::Write;

use super::{message, SendError};
use crate::model::{Delivery, Ts};

pub fn send(d: &Delivery, now: Ts, out: &mut dyn Write) -> Result<(), SendError> {
    writeln!(out, "{}", message::line(d, now))
        .and_then(|()| out.flush())
        .map_err(|e| SendError::Temporary(format!("console: {e}"), None))
}
