//! The integration tests: one test binary linking the crate once. Each
//! module is one area of the product; `support` holds the harness (a
//! builder that runs the real `escalate` binary in a temp dir with a
//! database and a `chains.toml`, time given with `--now`) and the shared
//! fakes (an HTTP server and its peers, an SMTP server, tracker fakes).
//!
//! Run one area with a filter: `cargo test --test integration faults::`.
//! The long runs are `#[ignore]`d: `cargo test --test integration -- --ignored`.

mod support;

mod calendars;
mod channels;
mod cli;
mod cli_more;
mod edge;
mod email;
mod events;
mod faults;
mod health;
mod ingest;
mod oncall;
mod output;
mod own;
mod pause;
mod peers;
mod pg_store;
mod policies;
mod properties;
mod report;
mod report_hours;
mod retarget;
mod serve;
mod serve_board;
mod serve_slack;
mod sla;
mod templates;
mod trackers;
