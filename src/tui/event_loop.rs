//! The one event loop, shared by the binary and the tests: inputs in (terminal events, what
//! the background sync reports, answers to effects, the clock's ticks), frames and effects
//! out. Time is injected: the binary's [`WallClock`] ticks every second, a test's
//! [`PausedClock`] only when the test moves it.
//!
//! A turn takes every input already waiting, applies them in order, carries out every effect
//! they asked for, and draws one frame: a burst of keys costs one draw. Nothing `App::update`
//! returns is ever dropped here; a test that drove a copy of this loop once hid a discarded
//! tick for weeks, so the tests drive this one.

use std::io::{self, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use super::action::{Action, Message};
use super::app::{App, Effect, Layer, UserInput};
use super::{effects, mouse, panic_guard, view};
use crate::sync::{SyncEvent, SyncHandle};

/// One thing that happened, for the loop to apply.
#[derive(Debug)]
pub enum Input {
    /// A key, a mouse event, a paste or a resize.
    Terminal(Event),
    /// The terminal's input ended (an SSH link dropped): leave as if quit.
    TerminalClosed,
    /// Reading the terminal failed: the session cannot go on.
    TerminalFailed(io::Error),
    /// The background sync reported something.
    Sync(SyncEvent),
    /// An effect finished (a piped command's output).
    Answer(Message),
    /// Time passed; the clock says what time it is now.
    Tick(DateTime<Utc>),
}

/// Whether the session goes on after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Where frames go: the real terminal, or a test's `TestBackend`.
pub trait Screen {
    /// Draw one frame of `app`; the area it filled (clicks are mapped through it).
    fn show(&mut self, app: &App) -> io::Result<Rect>;
    /// Clear the terminal and forget what it shows (`ctrl-l`): the next frame writes every cell.
    fn wipe(&mut self) -> io::Result<()>;
}

impl<B> Screen for Terminal<B>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    fn show(&mut self, app: &App) -> io::Result<Rect> {
        let frame = self
            .draw(|frame| super::view::draw(frame, app))
            .map_err(io::Error::other)?;
        Ok(frame.area)
    }

    fn wipe(&mut self) -> io::Result<()> {
        super::view::wipe_screen(self).map_err(io::Error::other)
    }
}

/// Where effects go: the background sync, and the terminal for what is written outside of
/// frames (the OSC 52 clipboard).
pub struct Outlets<'a, W: Write> {
    pub sync: &'a SyncHandle,
    pub terminal: &'a mut W,
}

/// What feeds the loop from outside the App: the terminal's reader and a clock.
#[derive(Debug, Clone)]
pub struct InputSender(mpsc::UnboundedSender<Input>);

impl InputSender {
    /// Hand the loop an input; false once the loop is gone.
    pub fn send(&self, input: Input) -> bool {
        self.0.send(input).is_ok()
    }
}

/// The loop's own state between turns: its sources, and the frame last drawn.
pub struct EventLoop {
    inputs: mpsc::UnboundedReceiver<Input>,
    sender: mpsc::UnboundedSender<Input>,
    sync_events: mpsc::UnboundedReceiver<SyncEvent>,
    sync_open: bool,
    answers: mpsc::UnboundedSender<Message>,
    answered: mpsc::UnboundedReceiver<Message>,
    /// The area of the frame on screen.
    area: Rect,
}

impl EventLoop {
    /// A loop that listens to `sync_events`; terminal events and ticks come through
    /// [`EventLoop::sender`].
    pub fn new(sync_events: mpsc::UnboundedReceiver<SyncEvent>) -> EventLoop {
        let (sender, inputs) = mpsc::unbounded_channel();
        let (answers, answered) = mpsc::unbounded_channel();
        EventLoop {
            inputs,
            sender,
            sync_events,
            sync_open: true,
            answers,
            answered,
            area: Rect::ZERO,
        }
    }

    pub fn sender(&self) -> InputSender {
        InputSender(self.sender.clone())
    }

    /// The area of the frame last drawn.
    pub fn area(&self) -> Rect {
        self.area
    }

    /// Wait for the next input from any source.
    pub async fn next(&mut self) -> Input {
        loop {
            tokio::select! {
                Some(input) = self.inputs.recv() => return input,
                event = self.sync_events.recv(), if self.sync_open => match event {
                    Some(e) => return Input::Sync(e),
                    // The sync stopped (shutting down): the terminal and the clock remain.
                    None => self.sync_open = false,
                },
                Some(action) = self.answered.recv() => return Input::Answer(action),
                // Unreachable while the loop holds both senders; said plainly if it ever is.
                else => return Input::TerminalClosed,
            }
        }
    }

    /// Every input already waiting, in the order each source sent them.
    pub fn ready(&mut self) -> Vec<Input> {
        let mut out = Vec::new();
        while let Ok(input) = self.inputs.try_recv() {
            out.push(input);
        }
        while let Ok(event) = self.sync_events.try_recv() {
            out.push(Input::Sync(event));
        }
        while let Ok(action) = self.answered.try_recv() {
            out.push(Input::Answer(action));
        }
        out
    }

    /// One turn: apply `inputs` in order, carry out every effect they asked for, then draw
    /// one frame unless the session ends.
    pub fn turn<W: Write>(
        &mut self,
        app: &mut App,
        inputs: impl IntoIterator<Item = Input>,
        outlets: &mut Outlets<'_, W>,
        screen: &mut impl Screen,
    ) -> io::Result<Flow> {
        let mut effects = Vec::new();
        let mut failed = None;
        for input in inputs {
            match input {
                Input::TerminalFailed(e) => {
                    failed = Some(e);
                    break;
                }
                input => effects.extend(self.apply(app, input)),
            }
        }
        // The image of the item this turn's frame shows, asked for once: none for the items a
        // burst of keys passed over.
        effects.extend(app.want_media());
        // The frame first, then the background work this turn asks for: a flush wakes the
        // sender, the sender the platform, and on a shared machine they would take the CPU
        // from the frame the moderator is waiting for. The decision is journaled already.
        let flow = match failed {
            Some(e) => Err(e),
            None if app.quit.is_some() || panic_guard::tripped() => Ok(Flow::Quit),
            None => self.show(app, screen),
        };
        for effect in effects {
            effects::perform(effect, outlets.sync, &self.answers, outlets.terminal);
        }
        flow
    }

    fn show(&mut self, app: &mut App, screen: &mut impl Screen) -> io::Result<Flow> {
        if std::mem::take(&mut app.redraw) {
            // What the terminal shows is in doubt: the next frame writes every cell.
            screen.wipe()?;
        }
        self.area = screen.show(app)?;
        Ok(Flow::Continue)
    }

    /// Draw the first frame, then turn until the session ends.
    pub async fn run<W: Write>(
        &mut self,
        app: &mut App,
        outlets: &mut Outlets<'_, W>,
        screen: &mut impl Screen,
    ) -> io::Result<()> {
        if self.turn(app, [], outlets, screen)? == Flow::Quit {
            return Ok(());
        }
        loop {
            let first = self.next().await;
            let batch = std::iter::once(first).chain(self.ready());
            if self.turn(app, batch, outlets, screen)? == Flow::Quit {
                return Ok(());
            }
        }
    }

    /// What one input asks of the App.
    fn apply(&mut self, app: &mut App, input: Input) -> Vec<Effect> {
        match input {
            Input::Terminal(event) => match user_input(app, self.area, event) {
                Some(input) => {
                    // Scrolling stops where the text on screen ends. Laid out again only for
                    // an input that may scroll: a second layout after every frame cost about
                    // 100 µs a key (BENCHMARKS.md, sixth round).
                    if may_scroll(app, &input) {
                        app.scroll_limits = Some(view::scroll_limits(self.area, app));
                    }
                    app.handle_input(input)
                }
                None => Vec::new(),
            },
            Input::TerminalClosed => app.update(Action::Quit),
            Input::TerminalFailed(_) => Vec::new(),
            Input::Sync(event) => app.update(Message::Sync(event)),
            Input::Answer(action) => app.update(action),
            Input::Tick(now) => app.update(Message::Tick(now)),
        }
    }
}

/// Whether `input` may scroll something: any input under an overlay that scrolls, or a key
/// bound to scrolling the item pane.
fn may_scroll(app: &App, input: &UserInput) -> bool {
    let overlay = matches!(
        app.layers.last(),
        Some(Layer::Help { .. } | Layer::Output { .. } | Layer::History { .. })
    );
    overlay
        || matches!(input, UserInput::Key(key)
            if matches!(app.keymap.action_for(key), Some(Action::DetailDown | Action::DetailUp)))
}

/// What a terminal event is to the layers; a click is mapped through the frame on screen
/// (`area`). A resize needs nothing: the next frame has the new size.
fn user_input(app: &App, area: Rect, event: Event) -> Option<UserInput> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(UserInput::Key(key)),
        Event::Mouse(m) => mouse::pointer(m, |column, row| view::entry_at(area, app, column, row))
            .map(UserInput::Pointer),
        Event::Paste(text) => Some(UserInput::Paste(text)),
        _ => None,
    }
}

/// The binary's clock: a tick every second with the wall time, skipping ticks missed while
/// the machine slept. Stops with the loop.
pub fn wall_clock(sender: InputSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            if !sender.send(Input::Tick(Utc::now())) {
                return;
            }
        }
    })
}

/// A clock that moves only when told: tests decide what time it is, and no timer of theirs
/// depends on how fast the machine is.
#[derive(Debug, Clone)]
pub struct PausedClock {
    now: DateTime<Utc>,
    sender: InputSender,
}

impl PausedClock {
    /// A clock standing at `now`; the loop learns the time at the first tick.
    pub fn at(now: DateTime<Utc>, sender: InputSender) -> PausedClock {
        PausedClock { now, sender }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Tick once at the time the clock stands at.
    pub fn tick(&self) {
        self.sender.send(Input::Tick(self.now));
    }

    /// Move the clock on by `by` and tick once, as the wall clock does after a stall.
    pub fn advance(&mut self, by: Duration) {
        let by = chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::MAX);
        self.now = self
            .now
            .checked_add_signed(by)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.tick();
    }

    /// Set the clock to `now` (forwards or back) and tick once.
    pub fn set(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.tick();
    }
}
