//! modq: a keyboard-driven terminal workstation for content moderators.
//!
//! The flow of one decision: key → keymap → Action → App::update → view, with the decision
//! journaled in the local outbox (`store`) before anything else and sent by `sync`
//! through a `backend`. `server` is the reference moderation API (`modq serve`).

// A panic in front of a moderator is a crash over their work: production code returns
// errors. Tests (`#[cfg(test)]`) may unwrap, since a failed unwrap there is a failed test.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backend;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod logging;
pub mod model;
pub mod policy;
pub mod profile;
pub mod query;
pub mod sanitize;
pub mod server;
pub mod session;
pub mod store;
pub mod sync;
pub mod tui;
pub mod wal_sync;
