//! Logs go to a file, never to the terminal the UI owns. Item text is never logged.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::profile::create_private_file;

/// Log to `path` (0600), at the level `MODQ_LOG` names (default `info`).
pub fn to_file(path: &Path) -> std::io::Result<()> {
    create_private_file(path)?;
    let file = std::fs::OpenOptions::new().append(true).open(path)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}

/// For `modq serve`, which owns no screen: log to stderr.
pub fn to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .try_init();
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("MODQ_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}
