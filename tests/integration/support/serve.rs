//! `escalate serve` as a test starts it: the port it printed it listens
//! on (`escalate serve: listening on 127.0.0.1:PORT`, its first line).

use std::io::{BufRead, BufReader};
use std::process::Child;

/// Reads `serve`'s first stdout line (it stays piped: the rest is left
/// unread) and returns the port in it.
pub fn listening_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("serve's stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the listening line");
    line.trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}
