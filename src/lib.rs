//! escalate: walks open issues up an escalation chain until someone owns
//! them. The binary is a thin shell over [`run`].
//!
//! Layers, bottom up (ARCHITECTURE.md; `architecture` tests them): `model`,
//! `text`, `error` → `config` → `engine` (pure schedule and SLA math) →
//! `store` (the only SQL), `notify` (transports) → `lifecycle` (every state
//! transition), `delivery` (the outbox worker) → `render` → `commands`.

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
