//! Where ratatui's word wrapper (`Wrap { trim: false }`) breaks a line of printable ASCII,
//! without building its graphemes.
//!
//! An item's text is usually one long line of printable ASCII, and the item pane laid it out
//! three times a frame through the word wrapper (counting the pane's rows, then counting and
//! drawing them), each time splitting it into graphemes and copying them through the
//! wrapper's queues: most of a frame's drawing. For printable ASCII a byte is a grapheme one
//! cell wide and only a space is whitespace, so the wrapper's state machine can run over the
//! bytes themselves; every row it gives is then one run of the line's bytes. The paint tests
//! hold the rows to ratatui's own, cell by cell.

use std::ops::Range;

/// A run of bytes, empty as `start..start`.
#[derive(Clone, Copy, Default)]
struct Run {
    start: usize,
    end: usize,
}

impl Run {
    fn len(self) -> usize {
        self.end - self.start
    }

    fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Adds the byte at `at`, which follows the run (or starts it).
    fn push(&mut self, at: usize) {
        if self.is_empty() {
            self.start = at;
        }
        self.end = at + 1;
    }

    /// `next` appended: the runs meet, or this one was empty.
    fn extend(&mut self, next: Run) {
        if next.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = next;
        } else {
            self.end = next.end;
        }
    }
}

/// Hands `row` each row of the line made of `bytes` (printable ASCII) wrapped at `width`, as a
/// range of byte positions, in order, until it answers false. As ratatui's `WordWrapper` with
/// `trim: false`: a line that is empty or all spaces is still one row; spaces that would end a
/// row are dropped, up to the row's width.
pub fn rows(
    bytes: impl Iterator<Item = u8>,
    width: u16,
    mut row: impl FnMut(Range<usize>) -> bool,
) {
    let max = usize::from(width);
    if max == 0 {
        return;
    }
    let mut line = Run::default();
    let mut space = Run::default();
    let mut word = Run::default();
    let mut after_word = false;
    let mut any = false;
    for (at, byte) in bytes.enumerate() {
        let is_space = byte == b' ';
        let word_found = after_word && is_space;
        let overflow = line.is_empty() && word.len() + space.len() + 1 > max;
        if word_found || overflow {
            line.extend(space);
            line.extend(word);
            space = Run::default();
            word = Run::default();
        }
        if line.len() >= max || line.len() + space.len() + word.len() >= max {
            let remaining = max.saturating_sub(line.len());
            any = true;
            if !row(line.start..line.end) {
                return;
            }
            line = Run::default();
            // Spaces that still fit on the row just ended are dropped with it.
            space.start = (space.start + remaining).min(space.end);
            if is_space && space.is_empty() {
                continue;
            }
        }
        if is_space {
            space.push(at);
        } else {
            word.push(at);
        }
        after_word = !is_space;
    }
    line.extend(space);
    line.extend(word);
    if !line.is_empty() || !any {
        row(line.start..line.end);
    }
}
