//! Fewer bytes per frame over SSH: a short run of unchanged cells between two changed ones is
//! written again instead of a cursor move over it.
//!
//! ratatui sends only the cells that changed, and the crossterm backend moves the cursor
//! (`ESC [ row ; col H`, 6 to 10 bytes) before every cell that does not follow the last one.
//! When a new item replaces the last, most rows change with gaps of a few cells where the two
//! texts happen to agree (a space under a space): on a pane full of text, about 200 moves a
//! decision. Writing a gap narrower than the move takes fewer bytes and puts on screen exactly
//! what is there already. This backend keeps its own copy of what it has sent, so it knows the
//! gap's cells, and fills a gap only with printable ASCII in the style already set, after a
//! cell one column wide: anything else keeps its cursor move. About a fifth fewer bytes per
//! decision, for about 20 µs a frame (BENCHMARKS.md).

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use unicode_width::UnicodeWidthStr;

/// Wraps the backend that writes to the terminal; see the module's note.
pub struct GapFill<B> {
    inner: B,
    /// What the terminal shows, as far as this backend has written it.
    screen: Buffer,
    /// Per cell of `screen`, whether it is known: not the second column of a wide character,
    /// nor anything since a partial clear. Only known cells are written from `screen`.
    known: Vec<bool>,
}

impl<B: Backend> GapFill<B> {
    /// The terminal is taken to be blank at first, as ratatui takes it.
    pub fn new(inner: B) -> GapFill<B> {
        GapFill {
            inner,
            screen: Buffer::empty(Rect::ZERO),
            known: Vec::new(),
        }
    }

    fn forget_screen(&mut self) {
        self.known.fill(false);
    }

    fn blank_screen(&mut self) {
        self.screen = Buffer::empty(self.screen.area);
        self.known = vec![true; self.screen.content.len()];
    }

    /// Grows the copy to hold `(x, y)`: the terminal grew. What it shows there is taken to be
    /// blank, as ratatui takes it after a resize; what was known stays known.
    fn fit(&mut self, x: u16, y: u16) {
        if self.screen.area.contains(Position::new(x, y)) {
            return;
        }
        let area =
            self.screen
                .area
                .union(Rect::new(0, 0, x.saturating_add(1), y.saturating_add(1)));
        let mut screen = Buffer::empty(area);
        let mut known = vec![true; screen.content.len()];
        for position in self.screen.area.positions() {
            let (old, new) = (
                self.screen.index_of(position.x, position.y),
                screen.index_of(position.x, position.y),
            );
            if let (Some(cell), Some(slot), Some(was)) = (
                self.screen.content.get(old),
                screen.content.get_mut(new),
                self.known.get(old),
            ) {
                *slot = cell.clone();
                if let Some(k) = known.get_mut(new) {
                    *k = *was;
                }
            }
        }
        self.screen = screen;
        self.known = known;
    }

    fn set_known(&mut self, x: u16, y: u16, known: bool) {
        if self.screen.area.contains(Position::new(x, y)) {
            let i = self.screen.index_of(x, y);
            if let Some(k) = self.known.get_mut(i) {
                *k = known;
            }
        }
    }

    fn remember(&mut self, x: u16, y: u16, cell: &Cell) {
        if let Some(shown) = self.screen.cell_mut(Position::new(x, y)) {
            *shown = cell.clone();
            self.set_known(x, y, true);
        }
        for covered in 1..cell.symbol().width() {
            if let Some(at) = u16::try_from(covered).ok().and_then(|c| x.checked_add(c)) {
                self.set_known(at, y, false);
            }
        }
    }
}

/// Whether the cells from `from` up to `to` (exclusive) on row `y` may be written again after
/// `before` in place of a cursor move: fewer bytes than the move, nothing changed on screen
/// (each known, printable ASCII), and no change of style to write.
fn fillable(screen: &Buffer, known: &[bool], before: &Cell, from: u16, to: u16, y: u16) -> bool {
    let width = usize::from(to.saturating_sub(from));
    if width == 0 || width >= move_cost(to, y) || before.symbol().width() != 1 {
        return false;
    }
    (from..to).all(|x| {
        let position = Position::new(x, y);
        screen.area.contains(position)
            && known.get(screen.index_of(x, y)).copied().unwrap_or(false)
            && screen.cell(position).is_some_and(|cell| {
                matches!(cell.symbol().as_bytes(), [b' '..=b'~']) && cell.style() == before.style()
            })
    })
}

/// Bytes of `ESC [ y+1 ; x+1 H`.
fn move_cost(x: u16, y: u16) -> usize {
    let digits = |n: u16| match u32::from(n) + 1 {
        ..10 => 1,
        10..100 => 2,
        100..1000 => 3,
        1000..10000 => 4,
        _ => 5,
    };
    4 + digits(x) + digits(y)
}

impl<B: Backend> Backend for GapFill<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let changed: Vec<(u16, u16, &Cell)> = content.collect();
        let GapFill {
            inner,
            screen,
            known,
        } = self;
        let mut out: Vec<(u16, u16, &Cell)> = Vec::with_capacity(changed.len());
        for &(x, y, cell) in &changed {
            if let Some(&(px, py, before)) = out.last() {
                let from = px.saturating_add(1);
                if py == y && fillable(screen, known, before, from, x, y) {
                    out.extend((from..x).filter_map(|gx| {
                        screen
                            .cell(Position::new(gx, y))
                            .map(|shown| (gx, y, shown))
                    }));
                }
            }
            out.push((x, y, cell));
        }
        let written = inner.draw(out.into_iter());
        for (x, y, cell) in changed {
            self.fit(x, y);
            self.remember(x, y, cell);
        }
        written
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.forget_screen();
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()?;
        self.blank_screen();
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)?;
        match clear_type {
            ClearType::All => self.blank_screen(),
            // Where the cursor is, this backend does not track: forget everything.
            _ => self.forget_screen(),
        }
        Ok(())
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}
