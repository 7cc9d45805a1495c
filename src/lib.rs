//! escalate: walks open issues up an escalation chain until someone owns
//! them. The binary is a thin shell over [`run`].
//!
//! Data flows one way: CLI → command → (config, store) → pure engine →
//! store → delivery; `render` turns what commands load into text.

#[cfg(test)]
mod architecture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod render;
pub mod store;
pub mod text;

pub use commands::run;
