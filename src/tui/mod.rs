//! The terminal UI: state (`app`), intents (`action`), keys (`keymap`), drawing (`view`),
//! and `run`, which sets up the terminal and hands it to the one `event_loop`.

pub mod action;
pub mod ansi16;
pub mod app;
pub mod appeal;
pub mod capable;
pub mod context;
pub mod deadline;
pub mod details;
pub mod effects;
pub mod event_loop;
pub mod gap_fill;
pub mod key;
pub mod keymap;
pub mod layer_keys;
pub mod media_fetch;
pub mod mouse;
mod paint;
pub mod panic_guard;
pub mod picker;
pub mod prompt;
pub mod theme;
pub mod thread;
pub mod translate;
pub mod view;

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::EventStream;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use app::App;
use event_loop::{EventLoop, Input, InputSender, Outlets};

/// The terminal the UI draws on.
type Screen = Terminal<ansi16::ScreenBackend<io::Stdout>>;

use crate::store::OutboxCounts;
use crate::sync::{SyncEvent, SyncHandle};

/// How long quitting may wait to deliver what is still in the outbox.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// How a session ended.
pub struct Outcome {
    pub decided: usize,
    pub left: OutboxCounts,
    /// Why the session had to end, if it did not end by the moderator's choice.
    pub error: Option<String>,
}

/// Run the UI until the moderator quits; with `mouse`, mouse events are captured; pastes are
/// always bracketed. The terminal is restored on every way out, including panics
/// (`panic_guard`).
pub async fn run(
    mut app: App,
    sync: SyncHandle,
    events: mpsc::UnboundedReceiver<SyncEvent>,
    mouse: bool,
) -> io::Result<Outcome> {
    // ratatui's set-up (raw mode, the alternate screen, its restoring panic hook), then a
    // terminal of our own that writes through `GapFill` and 16-colour codes (`ansi16`).
    drop(ratatui::try_init()?);
    let terminal = Terminal::new(ansi16::screen_backend(io::stdout()))?;
    panic_guard::install();
    let captured = panic_guard::bracket_paste(&mut io::stdout()).and_then(|()| {
        if mouse {
            panic_guard::capture_mouse(&mut io::stdout())
        } else {
            Ok(())
        }
    });
    let result = match captured {
        Ok(()) => {
            let mut event_loop = EventLoop::new(events);
            let reader = read_terminal(event_loop.sender());
            let clock = event_loop::wall_clock(event_loop.sender());
            let mut stdout = io::stdout();
            let mut outlets = Outlets {
                sync: &sync,
                terminal: &mut stdout,
            };
            let mut tty = Tty(terminal);
            let result = event_loop.run(&mut app, &mut outlets, &mut tty).await;
            reader.abort();
            clock.abort();
            result
        }
        Err(e) => Err(e),
    };
    panic_guard::restore_terminal()?;
    let left = sync
        .shutdown(QUIT_GRACE)
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    let error = match result {
        Ok(()) if panic_guard::tripped() => Some(
            "modq hit an internal error and stopped (details above and in the log); \
             your decisions are in the outbox and are sent next time"
                .to_string(),
        ),
        Ok(()) => app.quit.flatten(),
        Err(e) => Some(format!("terminal failed: {e}")),
    };
    Ok(Outcome {
        decided: app.decided,
        left,
        error,
    })
}

/// The real terminal, drawn with synchronized updates: it shows the whole frame at once,
/// never half of it.
struct Tty(Screen);

impl event_loop::Screen for Tty {
    fn show(&mut self, app: &App) -> io::Result<Rect> {
        crossterm::queue!(io::stdout(), BeginSynchronizedUpdate)?;
        let area = self.0.draw(|frame| view::draw(frame, app))?.area;
        crossterm::queue!(io::stdout(), EndSynchronizedUpdate)?;
        io::stdout().flush()?;
        Ok(area)
    }

    fn wipe(&mut self) -> io::Result<()> {
        view::wipe_screen(&mut self.0)
    }
}

/// Read the terminal's events into the loop until they end or the loop is gone.
fn read_terminal(sender: InputSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        loop {
            let input = match events.next().await {
                Some(Ok(event)) => Input::Terminal(event),
                Some(Err(e)) => Input::TerminalFailed(e),
                None => Input::TerminalClosed,
            };
            let last = !matches!(input, Input::Terminal(_));
            if !sender.send(input) || last {
                return;
            }
        }
    })
}
