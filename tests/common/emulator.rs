//! A terminal emulator (vt100) fed exactly what modq writes, frame after frame, and checked
//! against what modq meant to draw: a cell left over from an earlier frame shows up as a
//! difference. A test includes it beside `common`: `#[path = "common/emulator.rs"] mod emulator;`.

use std::num::NonZeroU16;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use modq::tui::app::App;
use modq::tui::gap_fill::GapFill;

use crate::common::{Captured, modq_screen};

pub struct Emulated {
    terminal: Terminal<GapFill<CrosstermBackend<Captured>>>,
    written: Captured,
    pub parser: vt100::Parser,
    size: (u16, u16),
}

impl Emulated {
    pub fn new(width: u16, height: u16) -> Emulated {
        let written = Captured::default();
        let size = |n| NonZeroU16::new(n).expect("not zero");
        Emulated {
            terminal: modq_screen(&written, width, height),
            written,
            parser: vt100::Parser::new(size(height), size(width), 0),
            size: (width, height),
        }
    }

    /// Draws `app` as the event loop does and hands the bytes to the emulator; `Err` names the
    /// first cell where the emulator shows something else than the same frame drawn on a
    /// blank terminal: something left over from an earlier frame.
    pub fn draw(&mut self, app: &App) -> Result<(), String> {
        self.terminal
            .draw(|f| modq::tui::view::draw(f, app))
            .expect("draw");
        self.parser.process(&self.written.take());
        let mut fresh = Emulated::new(self.size.0, self.size.1);
        let frame = fresh
            .terminal
            .draw(|f| modq::tui::view::draw(f, app))
            .expect("draw")
            .buffer
            .clone();
        fresh.parser.process(&fresh.written.take());
        laid_out_as_meant(&frame, fresh.parser.screen())?;
        let (seen, meant) = (cells(self.parser.screen()), cells(fresh.parser.screen()));
        match seen.iter().zip(&meant).find(|(a, b)| a != b) {
            None => Ok(()),
            Some((a, b)) => Err(format!(
                "{a:?} is on screen where a fresh draw shows {b:?}; on screen:\n{}\nfresh:\n{}",
                self.parser.screen().contents(),
                fresh.parser.screen().contents()
            )),
        }
    }

    /// What `ctrl-l` asks of the loop: clear the terminal and draw every cell again.
    pub fn clear(&mut self) {
        modq::tui::view::wipe_screen(&mut self.terminal).expect("clear");
        self.parser.process(&self.written.take());
    }
}

/// Whether a terminal fed a frame on a blank screen shows each cell where the frame has it:
/// a character the terminal measures otherwise than ratatui shifts the rest of its row.
fn laid_out_as_meant(
    frame: &ratatui::buffer::Buffer,
    screen: &vt100::Screen,
) -> Result<(), String> {
    let area = frame.area;
    for y in 0..area.height {
        let mut covered = 0u16;
        for x in 0..area.width {
            let meant = frame[(x, y)].symbol();
            if covered > 0 {
                // The column a wide character covers: the terminal shows nothing else there.
                covered -= 1;
                if !meant.trim().is_empty() {
                    return Err(format!(
                        "{y}:{x} holds {meant:?} under the wide character before it:\n{}",
                        screen.contents()
                    ));
                }
                continue;
            }
            covered = u16::try_from(unicode_width::UnicodeWidthStr::width(meant))
                .unwrap_or(1)
                .saturating_sub(1);
            let seen = screen.cell(y, x).map_or("", |c| c.contents());
            let seen = if seen.is_empty() { " " } else { seen };
            if seen != meant {
                return Err(format!(
                    "{y}:{x} shows {seen:?} where the frame has {meant:?}:\n{}",
                    screen.contents()
                ));
            }
        }
    }
    Ok(())
}

/// Each cell as a person sees it: where, its text, whether it is (half of) a wide one, and
/// its colours and attributes.
fn cells(screen: &vt100::Screen) -> Vec<String> {
    let (rows, columns) = screen.size();
    let mut out = Vec::new();
    for y in 0..rows.get() {
        for x in 0..columns.get() {
            let Some(cell) = screen.cell(y, x) else {
                continue;
            };
            let text = match cell.contents() {
                "" => " ",
                text => text,
            };
            // A blank shows its background, reverse and underline; not its colour or weight.
            let ink = if text == " " {
                String::new()
            } else {
                format!("{:?} bold {}", cell.fgcolor(), cell.bold())
            };
            out.push(format!(
                "{y}:{x} {text:?} wide {} {} {ink} {:?} inverse {} underline {}",
                cell.is_wide(),
                cell.is_wide_continuation(),
                cell.bgcolor(),
                cell.inverse(),
                cell.underline()
            ));
        }
    }
    out
}
