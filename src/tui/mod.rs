//! The terminal UI: state (`app`), intents (`action`), keys (`keymap`), drawing (`view`),
//! and the event loop below that ties them to the terminal and the background sync.

pub mod action;
pub mod ansi16;
pub mod app;
pub mod context;
pub mod deadline;
pub mod effects;
pub mod gap_fill;
pub mod history_view;
pub mod keymap;
pub mod mouse;
mod paint;
pub mod panic_guard;
pub mod picker;
pub mod prompt;
pub mod stats_view;
pub mod theme;
pub mod view;

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use action::Action;
use app::{App, Effect};

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

/// Run the UI until the moderator quits; with `mouse`, mouse events are captured. The terminal
/// is restored on every way out, including panics (`panic_guard`).
pub async fn run(
    mut app: App,
    sync: SyncHandle,
    mut events: mpsc::UnboundedReceiver<SyncEvent>,
    mouse: bool,
) -> io::Result<Outcome> {
    // ratatui's set-up (raw mode, the alternate screen, its restoring panic hook), then a
    // terminal of our own that writes through `GapFill` and 16-colour codes (`ansi16`).
    drop(ratatui::try_init()?);
    let mut terminal = Terminal::new(ansi16::screen_backend(io::stdout()))?;
    panic_guard::install();
    let captured = if mouse {
        panic_guard::capture_mouse(&mut io::stdout())
    } else {
        Ok(())
    };
    let result = match captured {
        Ok(()) => event_loop(&mut terminal, &mut app, &sync, &mut events).await,
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

async fn event_loop(
    terminal: &mut Screen,
    app: &mut App,
    sync: &SyncHandle,
    events: &mut mpsc::UnboundedReceiver<SyncEvent>,
) -> io::Result<()> {
    let mut keys = EventStream::new();
    // Answers to effects (a piped command's output) come back as Actions.
    let (answers, mut answered) = mpsc::unbounded_channel::<Action>();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sync_open = true;
    loop {
        // Clicks are mapped through the layout of the frame on screen.
        let area = draw(terminal, app)?;
        let mut effects = Vec::new();
        tokio::select! {
            key = keys.next() => match key {
                Some(Ok(event)) => effects.extend(on_terminal_event(app, area, event)),
                Some(Err(e)) => return Err(e),
                // The terminal went away (SSH link dropped): leave as if quit.
                None => { app.update(Action::Quit); }
            },
            event = events.recv(), if sync_open => match event {
                Some(e) => effects.extend(app.update(Action::Sync(e))),
                None => sync_open = false,
            },
            Some(action) = answered.recv() => effects.extend(app.update(action)),
            _ = tick.tick() => { app.update(Action::Tick(chrono::Utc::now())); }
        }
        // Coalesce: apply everything already waiting, then draw once. The key stream is polled
        // with this task's own waker (a zero timeout), never a no-op one: crossterm keeps the
        // first waker it is given while its reader thread waits, and a no-op waker there would
        // leave the next key unnoticed until the tick.
        loop {
            match tokio::time::timeout(Duration::ZERO, keys.next()).await {
                Ok(Some(Ok(event))) => {
                    effects.extend(on_terminal_event(app, area, event));
                    continue;
                }
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) => {
                    app.update(Action::Quit);
                }
                Err(_) => {}
            }
            match events.try_recv() {
                Ok(e) => effects.extend(app.update(Action::Sync(e))),
                Err(_) => break,
            }
        }
        let mut out = io::stdout();
        for effect in effects {
            effects::perform(effect, sync, &answers, &mut out);
        }
        if app.quit.is_some() || panic_guard::tripped() {
            return Ok(());
        }
    }
}

fn on_terminal_event(app: &mut App, area: Rect, event: Event) -> Vec<Effect> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => app.handle_key(key),
        Event::Mouse(m) => match mouse::mouse_action(app, area, m) {
            Some(action) => app.update(action),
            None => Vec::new(),
        },
        // Resize and everything else: the next draw uses the new size.
        _ => Vec::new(),
    }
}

/// Draw a frame; returns its area.
fn draw(terminal: &mut Screen, app: &App) -> io::Result<Rect> {
    // Synchronized update: the terminal shows the whole frame at once, never half of it.
    crossterm::queue!(io::stdout(), BeginSynchronizedUpdate)?;
    let area = terminal.draw(|frame| view::draw(frame, app))?.area;
    crossterm::queue!(io::stdout(), EndSynchronizedUpdate)?;
    io::stdout().flush()?;
    Ok(area)
}
