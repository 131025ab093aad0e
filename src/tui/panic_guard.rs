//! A panic anywhere — the UI thread or a background task — restores the terminal and ends
//! the session. ratatui's own hook restores the terminal, but a panic in a background task
//! leaves the UI running in a terminal no longer in raw mode; this guard lets the event loop
//! notice and end cleanly. Decisions are safe: they were journaled before anything else.
//!
//! Mouse capture is modq's own addition to the terminal, which `ratatui::restore` does not undo:
//! every way out, the panic hook included, goes through [`restore_terminal`].

use std::io::{self, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};

static TRIPPED: AtomicBool = AtomicBool::new(false);
static MOUSE_CAPTURED: AtomicBool = AtomicBool::new(false);
static PASTE_BRACKETED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Ask the terminal for mouse events, and remember to give them back.
pub fn capture_mouse(out: &mut impl Write) -> io::Result<()> {
    MOUSE_CAPTURED.store(true, Ordering::SeqCst);
    crossterm::execute!(out, EnableMouseCapture)
}

/// Give mouse events back to the terminal (its own text selection works again), if modq had
/// taken them; once only.
pub fn release_mouse(out: &mut impl Write) -> io::Result<()> {
    if MOUSE_CAPTURED.swap(false, Ordering::SeqCst) {
        crossterm::execute!(out, DisableMouseCapture)?;
    }
    Ok(())
}

/// Ask the terminal to mark pasted text (bracketed paste), so a paste arrives as one event
/// and never as key presses: pasted text with a `t` in it must not take anything down.
pub fn bracket_paste(out: &mut impl Write) -> io::Result<()> {
    PASTE_BRACKETED.store(true, Ordering::SeqCst);
    crossterm::execute!(out, EnableBracketedPaste)
}

/// Turn bracketed paste off again, if modq had turned it on; once only.
pub fn unbracket_paste(out: &mut impl Write) -> io::Result<()> {
    if PASTE_BRACKETED.swap(false, Ordering::SeqCst) {
        crossterm::execute!(out, DisableBracketedPaste)?;
    }
    Ok(())
}

/// Undo everything modq did to the terminal: mouse capture, bracketed paste, raw mode, the
/// alternate screen.
pub fn restore_terminal() -> io::Result<()> {
    let mouse = release_mouse(&mut io::stdout());
    let paste = unbracket_paste(&mut io::stdout());
    ratatui::try_restore()?;
    mouse.and(paste)
}

/// Wrap the current panic hook (ratatui's, which restores the terminal) once per process.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            TRIPPED.store(true, Ordering::SeqCst);
            let _ = restore_terminal();
            tracing::error!(%info, "panic");
            previous(info);
        }));
    });
}

/// Whether anything in this process has panicked since the guard was installed.
pub fn tripped() -> bool {
    TRIPPED.load(Ordering::SeqCst)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    const DISABLE_MOUSE: &str = "\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l";

    // One test for the whole hook: the mouse flag is process-wide.
    #[test]
    fn a_panic_in_a_background_thread_trips_the_guard_and_gives_the_mouse_back() {
        install();
        let mut out = Vec::new();
        capture_mouse(&mut out).expect("to a buffer");
        assert!(String::from_utf8_lossy(&out).contains("\x1b[?1000h"));
        let joined = std::thread::spawn(|| panic!("a background task failed")).join();
        assert!(joined.is_err());
        assert!(tripped());
        // The hook released the mouse (on stdout): nothing is left to release.
        assert!(!MOUSE_CAPTURED.load(Ordering::SeqCst));

        // The release itself is the disable sequence, written once.
        let mut out = Vec::new();
        capture_mouse(&mut out).expect("to a buffer");
        let mut out = Vec::new();
        release_mouse(&mut out).expect("to a buffer");
        assert_eq!(String::from_utf8_lossy(&out), DISABLE_MOUSE);
        let mut again = Vec::new();
        release_mouse(&mut again).expect("to a buffer");
        assert!(again.is_empty());
    }
}
