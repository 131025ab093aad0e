//! A panic anywhere — the UI thread or a background task — restores the terminal and ends
//! the session. ratatui's own hook restores the terminal, but a panic in a background task
//! leaves the UI running in a terminal no longer in raw mode; this guard lets the event loop
//! notice and end cleanly. Decisions are safe: they were journaled before anything else.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static TRIPPED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Wrap the current panic hook (ratatui's, which restores the terminal) once per process.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            TRIPPED.store(true, Ordering::SeqCst);
            let _ = ratatui::try_restore();
            tracing::error!(%info, "panic");
            previous(info);
        }));
    });
}

/// Whether anything in this process has panicked since the guard was installed.
pub fn tripped() -> bool {
    TRIPPED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_background_thread_trips_the_guard() {
        install();
        let joined = std::thread::spawn(|| panic!("a background task failed")).join();
        assert!(joined.is_err());
        assert!(tripped());
    }
}
