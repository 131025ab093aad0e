//! What modq sends the terminal: written through `GapFill`, a moderator's session must look
//! exactly as it does without it, on a terminal emulator fed the bytes, frame after frame, while
//! taking fewer bytes. The frames are the ones modq's own event loop draws, key after key.

mod common;

use std::num::NonZeroU16;

use common::{Captured, Session, TestServer};
use crossterm::event::{Event, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;

use modq::tui::app::App;
use modq::tui::event_loop::{Input, Screen};
use modq::tui::gap_fill::GapFill;

/// One screen, drawn twice: straight through crossterm, and through `GapFill`; each into an
/// emulator of its own.
struct TwoScreens {
    plain: Terminal<CrosstermBackend<Captured>>,
    filled: Terminal<GapFill<CrosstermBackend<Captured>>>,
    written: (Captured, Captured),
    plain_seen: vt100::Parser,
    filled_seen: vt100::Parser,
    sent: (usize, usize),
}

impl TwoScreens {
    fn new(width: u16, height: u16) -> TwoScreens {
        let written = (Captured::default(), Captured::default());
        let emulator = || {
            let size = |n| NonZeroU16::new(n).expect("not zero");
            vt100::Parser::new(size(height), size(width), 0)
        };
        TwoScreens {
            plain: common::crossterm_screen(&written.0, width, height),
            filled: common::modq_screen(&written.1, width, height),
            written,
            plain_seen: emulator(),
            filled_seen: emulator(),
            sent: (0, 0),
        }
    }

    /// Draws the App's frame on both, and checks that both emulators show the same; the area
    /// drawn.
    fn draw(&mut self, app: &App, what: &str) -> Rect {
        let area = self.plain.show(app).expect("draw");
        self.filled.show(app).expect("draw");
        let (plain, filled) = (self.written.0.take(), self.written.1.take());
        self.plain_seen.process(&plain);
        self.filled_seen.process(&filled);
        self.sent = (self.sent.0 + plain.len(), self.sent.1 + filled.len());
        let (a, b) = (
            seen(self.plain_seen.screen()),
            seen(self.filled_seen.screen()),
        );
        if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
            panic!(
                "after {what}, a cell differs: {x:?} without GapFill, {y:?} through it:\n{}",
                self.plain_seen.screen().contents()
            );
        }
        area
    }
}

/// Every pair of screens, as the one screen modq's loop draws its frames on.
struct Screens<'a> {
    all: &'a mut [TwoScreens],
    /// What the moderator did before this frame, to name in a failure.
    what: String,
}

impl Screen for Screens<'_> {
    fn show(&mut self, app: &App) -> std::io::Result<Rect> {
        let mut area = Rect::ZERO;
        for (n, screen) in self.all.iter_mut().enumerate() {
            let drawn = screen.draw(app, &self.what);
            if n == 0 {
                area = drawn;
            }
        }
        Ok(area)
    }

    fn wipe(&mut self) -> std::io::Result<()> {
        for screen in self.all.iter_mut() {
            screen.plain.wipe()?;
            screen.filled.wipe()?;
        }
        Ok(())
    }
}

/// One turn of the session's loop over `key` (or none: the first frame), drawn on `screens`.
fn turn(session: &mut Session, screens: &mut [TwoScreens], key: Option<KeyEvent>) {
    let what = key.map_or("the first frame".to_string(), |k| format!("{k:?}"));
    let mut screens = Screens { all: screens, what };
    let inputs = key.map(|k| Input::Terminal(Event::Key(k)));
    session.turn_on(inputs, &mut screens);
}

/// What a person sees in each cell: its text (a cell never written and a space look alike),
/// colours and attributes, row by row.
fn seen(screen: &vt100::Screen) -> Vec<(String, String)> {
    let (rows, columns) = screen.size();
    let mut cells = Vec::new();
    for row in 0..rows.get() {
        for column in 0..columns.get() {
            let Some(cell) = screen.cell(row, column) else {
                continue;
            };
            let text = match cell.contents() {
                "" => " ",
                text => text,
            };
            let looks = format!(
                "{:?} {:?} bold {} italic {} underline {} inverse {} wide {} {}",
                cell.fgcolor(),
                cell.bgcolor(),
                cell.bold(),
                cell.italic(),
                cell.underline(),
                cell.inverse(),
                cell.is_wide(),
                cell.is_wide_continuation()
            );
            cells.push((format!("{row}:{column} {text}"), looks));
        }
    }
    cells
}

#[tokio::test]
async fn a_session_through_gap_fill_looks_the_same_for_fewer_bytes() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut session = Session::open(&server, data.path()).await;
    let mut screens = [TwoScreens::new(120, 40), TwoScreens::new(80, 24)];
    turn(&mut session, &mut screens, None);
    // Decisions, moves, the help overlay, a filter, the history and a tag: every kind of
    // frame change a moderator makes, on items in many scripts and widths.
    let keys = "taejjktae?<esc>/cat:spam\r<esc>:filter\rjh<esc>  jtaeGggtaetaetae";
    // Each key is a turn of modq's loop, which carries out its effects and draws the frame.
    for key in common::parse_keys(keys) {
        turn(&mut session, &mut screens, Some(key));
    }
    for screen in &screens {
        let (plain, filled) = screen.sent;
        assert!(
            filled < plain,
            "{filled} bytes through GapFill, {plain} without"
        );
    }
}

/// The sizes that break layouts, a one-cell screen among them: through `GapFill` they look as
/// they do without it, and nothing panics.
#[tokio::test]
async fn every_awkward_size_looks_the_same_through_gap_fill() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut session = Session::open(&server, data.path()).await;
    let mut screens: Vec<TwoScreens> = common::AWKWARD_SIZES
        .iter()
        .map(|&(width, height)| TwoScreens::new(width, height))
        .collect();
    turn(&mut session, &mut screens, None);
    for key in common::parse_keys("tajej?<esc>k") {
        turn(&mut session, &mut screens, Some(key));
    }
}
