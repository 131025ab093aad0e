//! modq: a keyboard-driven terminal workstation for content moderators.
//!
//! The flow of one decision: key → keymap → Action → App::update → view, with the decision
//! journaled in the local outbox (`store`) before anything else and sent by `sync`
//! through a `backend`. `server` is the reference moderation API (`modq serve`).

// A panic in front of a moderator is a crash over their work: production code returns
// errors, and reads slices with `get`, iterators or `split_*`, never `[i]` or `[a..b]`. Every
// unwrap/expect in `src/` sits in a `#[cfg(test)]` module, where a failed one is a failed test
// and never runs in modq; CI's clippy enforces this for everything else.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod account;
pub mod backend;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod logging;
pub mod media;
pub mod model;
pub mod policy;
pub mod profile;
pub mod query;
pub mod sanitize;
pub mod server;
pub mod session;
pub mod store;
pub mod support;
pub mod sync;
pub mod tui;
pub mod wal_sync;
