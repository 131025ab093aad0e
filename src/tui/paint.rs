//! Writing text straight into the frame's `Buffer`, cell for cell what ratatui's own widgets
//! would write, without the widgets' per-frame allocations.
//!
//! Drawing the queue list as a `List` of `Line`s and the item as a wrapping `Paragraph` cost
//! most of a frame: every row's spans were built as owned `String`s, walked grapheme by
//! grapheme, and the word wrapper copied every grapheme of the item into queues of its own.
//! Nearly all of that text is printable ASCII, where a byte is a grapheme one cell wide and
//! only a space is whitespace; for it the cells are written directly. Anything else goes
//! through ratatui itself (`Span::render`, the same grapheme iterator and the same wrapping
//! rules), so hostile or wide text is drawn exactly as before. The tests below hold both
//! paths to ratatui's widgets, cell by cell.

use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, StyledGrapheme};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

mod plain_wrap;

/// Whether every byte of `s` is a printable ASCII character: one grapheme, one cell, never a
/// control, and whitespace only if it is a space.
fn plain(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The cells of row `y` from column `x` up to (not including) `right`, clipped to the buffer.
fn row_cells(buf: &mut Buffer, x: u16, y: u16, right: u16) -> &mut [Cell] {
    let area = buf.area;
    if y < area.top() || y >= area.bottom() {
        return &mut [];
    }
    let x = x.max(area.left());
    let right = right.min(area.right());
    if x >= right {
        return &mut [];
    }
    let row = usize::from(y - area.top()) * usize::from(area.width);
    let start = row + usize::from(x - area.left());
    let end = row + usize::from(right - area.left());
    buf.content.get_mut(start..end).unwrap_or(&mut [])
}

/// Draws `text` in `style` as one span of a left-aligned `Line` whose area on row `y` runs from
/// `x` up to `right`, and returns where the line's next span starts (`x` plus the span's
/// width, as `Line` counts it). Exactly the cells `Line::render` would write for that span.
pub fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    if plain(text) {
        put_plain(buf, x, y, right, text, style);
        return x.saturating_add(u16::try_from(text.len()).unwrap_or(u16::MAX));
    }
    let next = x.saturating_add(u16::try_from(text.width()).unwrap_or(u16::MAX));
    let span = Span::styled(text, style);
    (&span).render(Rect::new(x, y, right - x, 1), buf);
    next
}

/// Draws what `Block::bordered().title(title)` draws over `area` (plain borders, default
/// styles, the title left at the top) and returns the area inside the borders. `Block` also
/// set its (empty) style on every cell of its area, a loop over the whole pane that changed
/// nothing; here only the borders and the title are written, in the same order.
pub fn bordered(buf: &mut Buffer, area: Rect, title: &Span) -> Rect {
    let inner = Rect {
        x: area.x.saturating_add(1).min(area.right()),
        y: area.y.saturating_add(1).min(area.bottom()),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return inner;
    }
    let (left, top) = (area.left(), area.top());
    let right = area.right().saturating_sub(1);
    let bottom = area.bottom().saturating_sub(1);
    let mut set = |x: u16, y: u16, symbol: &str| {
        if let Some(cell) = row_cells(buf, x, y, x.saturating_add(1)).first_mut() {
            cell.set_symbol(symbol);
        }
    };
    let border = ratatui::symbols::border::PLAIN;
    for y in top..=bottom {
        set(left, y, border.vertical_left);
    }
    for x in left..=right {
        set(x, top, border.horizontal_top);
    }
    for y in top..=bottom {
        set(right, y, border.vertical_right);
    }
    for x in left..=right {
        set(x, bottom, border.horizontal_bottom);
    }
    set(right, bottom, border.bottom_right);
    set(right, top, border.top_right);
    set(left, bottom, border.bottom_left);
    set(left, top, border.top_left);
    let room = area.width.saturating_sub(2);
    let width = u16::try_from(title.width()).unwrap_or(u16::MAX);
    if room > 0 && width > 0 {
        let x = left.saturating_add(1);
        put(
            buf,
            x,
            top,
            x.saturating_add(width.min(room)),
            &title.content,
            title.style,
        );
    }
    inner
}

/// Writes one printable-ASCII `text` from column `x` of row `y`, a cell per byte, up to `right`.
fn put_plain(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) {
    let cells = row_cells(buf, x, y, right);
    for (cell, i) in cells.iter_mut().zip(0..text.len()) {
        cell.set_symbol(text.get(i..=i).unwrap_or(" "))
            .set_style(style);
    }
}

/// Writes graphemes as `Paragraph` writes one laid-out row: zero-width ones are skipped, each
/// other one is set at the next column.
fn put_graphemes(buf: &mut Buffer, mut x: u16, y: u16, graphemes: &[StyledGrapheme]) {
    for g in graphemes {
        let w = g.symbol.cell_width();
        if w == 0 {
            continue;
        }
        if let Some(cell) = row_cells(buf, x, y, x.saturating_add(1)).first_mut() {
            cell.set_symbol(g.symbol).set_style(g.style);
        }
        x = x.saturating_add(w);
    }
}

/// Renders `line` into the first row of `area` exactly as `Paragraph::new(line)` (default
/// style, no block, no wrap, no scroll, left-aligned) would: cut at the right edge, graphemes
/// wider than the whole area left out.
pub fn line(buf: &mut Buffer, area: Rect, line: &Line) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let (max, y) = (area.width, area.top());
    let mut used = 0u16;
    let mut graphemes: Vec<StyledGrapheme> = Vec::with_capacity(usize::from(max));
    for span in &line.spans {
        if plain(&span.content) {
            let len = u16::try_from(span.content.len()).unwrap_or(u16::MAX);
            let room = max - used;
            let style = Style::default().patch(line.style).patch(span.style);
            put_plain(
                buf,
                area.left() + used,
                y,
                area.right(),
                &span.content,
                style,
            );
            if len > room {
                return;
            }
            used += len;
            continue;
        }
        graphemes.clear();
        graphemes.extend(span.styled_graphemes(Style::default().patch(line.style)));
        for g in &graphemes {
            let w = g.symbol.cell_width();
            if w > max {
                continue;
            }
            if used + w > max {
                return;
            }
            if w > 0 {
                if let Some(cell) = row_cells(buf, area.left() + used, y, area.right()).first_mut()
                {
                    cell.set_symbol(g.symbol).set_style(g.style);
                }
                used += w;
            }
        }
    }
}

/// Renders `lines` into `area` exactly as `Paragraph::new(lines).wrap(Wrap { trim: false })`
/// (default style, no block, no scroll, every line left-aligned) would, except that a wide
/// character never hangs over the right edge (see [`keep_inside`]). Says where the lines end:
/// see [`Filled`].
pub fn wrapped(buf: &mut Buffer, area: Rect, lines: &[Line]) -> Filled {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return if lines.is_empty() {
            Filled::Ends(0)
        } else {
            Filled::GoesOn
        };
    }
    let filled = wrapped_unclipped(buf, area, lines);
    keep_inside(buf, area);
    filled
}

/// Where wrapped lines end, as drawing them found: so a pane that draws its text knows
/// whether there is more below without laying it out a second time to count its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// Every line was drawn, in this many rows (from the first row of the text, any rows
    /// scrolled past included).
    Ends(u16),
    /// The lines go on below the area.
    GoesOn,
}

/// ratatui's word wrapper may end a row with a character two columns wide in the row's last
/// column (a long run of CJK text in a pane of odd width): on screen it covers the column
/// beyond, the pane's border. It is cut, as `Line` cuts a character that does not fit: the
/// column stays blank.
pub fn keep_inside(buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let last = area.right() - 1;
    for y in area.top()..area.bottom() {
        if let Some(cell) = row_cells(buf, last, y, area.right()).first_mut()
            && cell.cell_width() > 1
        {
            let style = cell.style();
            cell.reset();
            cell.set_style(style);
        }
    }
}

fn wrapped_unclipped(buf: &mut Buffer, area: Rect, lines: &[Line]) -> Filled {
    let width = area.width;
    let mut y = area.top();
    // The graphemes of a line that is not plain ASCII, kept between lines for the allocation.
    let mut graphemes: Vec<StyledGrapheme> = Vec::with_capacity(256);
    for line in lines {
        if y >= area.bottom() {
            // A line left and no row for it.
            return Filled::GoesOn;
        }
        let plain_width = line.spans.iter().try_fold(0usize, |w, s| {
            plain(&s.content).then(|| w + s.content.len())
        });
        match plain_width {
            Some(w) if w <= usize::from(width) => {
                // A line that fits is never broken: the word wrapper gives it back as one row.
                let mut x = area.left();
                for span in &line.spans {
                    let style = Style::default().patch(line.style).patch(span.style);
                    let right =
                        x.saturating_add(u16::try_from(span.content.len()).unwrap_or(u16::MAX));
                    put_plain(buf, x, y, right, &span.content, style);
                    x = right;
                }
                y += 1;
            }
            Some(_) => {
                let mut goes_on = false;
                plain_wrap::rows(plain_bytes(line), width, |row| {
                    // Handed a row past the last: the line goes on below.
                    goes_on = y >= area.bottom();
                    if !goes_on {
                        put_plain_row(buf, area.left(), y, line, row);
                        y += 1;
                    }
                    !goes_on
                });
                if goes_on {
                    return Filled::GoesOn;
                }
            }
            None => {
                let left = area.bottom() - y;
                // Of a long line, only the start that could show: see `visible_part`.
                let cut = collect_start(&mut graphemes, line, start_budget(width, left));
                // Without zero-width graphemes, a line that fits is one row here too. (With
                // them the wrapper may start a row holding only those.)
                let fits = !cut && one_row(graphemes.iter().map(|g| g.symbol.cell_width()), width);
                if fits {
                    put_graphemes(buf, area.left(), y, &graphemes);
                    y += 1;
                } else if let Some(visible) = cut
                    .then(|| visible_part(&graphemes, line, width, left))
                    .flatten()
                {
                    // The line fills every row left: only its start was laid out.
                    let widest = graphemes.iter().map(|g| g.symbol.cell_width()).max();
                    render_clipped(
                        &visible,
                        Rect::new(area.left(), y, width, left),
                        widest,
                        buf,
                    );
                    return Filled::GoesOn;
                } else {
                    // A line that must break goes through ratatui's own word wrapper, so it
                    // breaks where it always did.
                    let paragraph = Paragraph::new(line.clone()).wrap(Wrap { trim: false });
                    let rows = u16::try_from(paragraph.line_count(width)).unwrap_or(u16::MAX);
                    let widest = line
                        .styled_graphemes(Style::default())
                        .map(|g| g.symbol.cell_width())
                        .max();
                    let rows_shown = Rect::new(area.left(), y, width, rows.min(left));
                    render_clipped(&paragraph, rows_shown, widest, buf);
                    if rows > left {
                        return Filled::GoesOn;
                    }
                    y += rows;
                }
            }
        }
    }
    Filled::Ends(y - area.top())
}

/// Renders a wrapping `paragraph` into `area` and nothing beyond its right edge. ratatui's
/// wrapper lets a row run past its width by all but one column of its widest grapheme (a
/// letter with a run of vowel signs is one cluster several columns wide), and `Paragraph`
/// writes such a row cell after cell past the area, and panics past the buffer's edge (the
/// property test below found it in `wrapped_from`'s scratch buffer). Laid out in a buffer as
/// much wider as the `widest` grapheme needs, then the area's own columns copied.
fn render_clipped(paragraph: &Paragraph, area: Rect, widest: Option<u16>, buf: &mut Buffer) {
    let overhang = widest.unwrap_or(0).saturating_sub(1);
    let wide = Rect::new(0, 0, area.width.saturating_add(overhang), area.height);
    let mut scratch = Buffer::empty(wide);
    paragraph.render(Rect::new(0, 0, area.width, area.height), &mut scratch);
    for y in 0..area.height {
        for x in 0..area.width {
            if let (Some(from), Some(to)) = (
                scratch.cell((x, y)),
                buf.cell_mut((area.x.saturating_add(x), area.y.saturating_add(y))),
            ) {
                *to = from.clone();
            }
        }
    }
}

/// The bytes of a line whose spans are all printable ASCII.
fn plain_bytes<'a>(line: &'a Line) -> impl Iterator<Item = u8> + 'a {
    line.spans.iter().flat_map(|s| s.content.bytes())
}

/// Draws the bytes `row` of a printable-ASCII `line` (positions across its spans) from
/// column `x` of row `y`, each in its span's style.
fn put_plain_row(buf: &mut Buffer, x: u16, y: u16, line: &Line, row: std::ops::Range<usize>) {
    let mut at = 0usize;
    for span in &line.spans {
        let span_end = at + span.content.len();
        let from = row.start.max(at);
        let to = row.end.min(span_end);
        if from < to
            && let Some(text) = span.content.get(from - at..to - at)
        {
            let style = Style::default().patch(line.style).patch(span.style);
            let left = x.saturating_add(u16::try_from(from - row.start).unwrap_or(u16::MAX));
            let right = left.saturating_add(u16::try_from(text.len()).unwrap_or(u16::MAX));
            put_plain(buf, left, y, right, text, style);
        }
        at = span_end;
    }
}

/// Columns of a line worth laying out when `left` rows remain: `left + 2` rows' worth of
/// [`per_row`] columns, so that a line longer than that needs more rows than are left
/// however much of it is whitespace (see [`visible_part`]).
fn start_budget(width: u16, left: u16) -> usize {
    (usize::from(left) + 2) * per_row(usize::from(width))
}

/// Fills `graphemes` with those of `line`, up to `budget` columns; says whether it stopped
/// short of the line's end. Splitting 16,000 characters into graphemes alone took 0.3 ms.
fn collect_start<'a>(
    graphemes: &mut Vec<StyledGrapheme<'a>>,
    line: &'a Line,
    budget: usize,
) -> bool {
    graphemes.clear();
    let mut used = 0usize;
    for span in &line.spans {
        for g in span.styled_graphemes(Style::default().patch(line.style)) {
            used += g.symbol.width();
            if used > budget {
                return true;
            }
            graphemes.push(g);
        }
    }
    false
}

/// The start of a long line, wrapped, when it alone fills the `left` rows that remain: the
/// word wrapper walks a whole line even to draw a few rows of it, which for an item's text of
/// 16,000 characters took half a millisecond, twice (counting its rows, then drawing them).
///
/// `start` holds the line's first graphemes, [`start_budget`] columns' worth. Where a row
/// breaks depends only on the word that follows it, so the start's rows break where the
/// whole line's do. The start is kept only if it needs more rows than are left, which proves
/// it: its last visible row was followed by more of it, and a word it cut short that did not
/// fit would not have fitted whole either. It always does when every grapheme in it is
/// [`narrow`]: its `left + 2` rows' worth of [`per_row`] columns (less the grapheme that
/// overflowed the budget) take at least `left + 1` rows, and it is not laid out a second
/// time to count them. A wider grapheme (a letter with dozens of spacing vowel signs is one
/// cluster as wide as they are: a row may run past its width by all but one of its columns,
/// or the wrapper skips it) makes it counted. Else `None`, and the caller lays out the whole
/// line.
fn visible_part<'a>(
    start: &[StyledGrapheme<'a>],
    line: &Line,
    width: u16,
    left: u16,
) -> Option<Paragraph<'a>> {
    // A span each: joined, a grapheme could merge with the next (a letter and a combining
    // mark that began the next span) and wrap differently.
    let spans: Vec<Span<'a>> = start
        .iter()
        .map(|g| Span::styled(g.symbol, g.style))
        .collect();
    let bounded = start.iter().all(|g| narrow(g.symbol, usize::from(width)));
    let start = Paragraph::new(Line::from(spans).style(line.style)).wrap(Wrap { trim: false });
    (bounded || start.line_count(width) > usize::from(left)).then_some(start)
}

/// How many rows `lines` take wrapped at `width`, counting no further than `cap`: a line
/// whose start shows it fills the rows left (see [`takes_more_rows`]) is not laid out.
pub fn rows(lines: &[Line], width: u16, cap: usize) -> usize {
    let width = width.max(1);
    let columns_per_row = usize::from(width);
    let mut total = 0usize;
    for line in lines {
        if total >= cap {
            return cap;
        }
        let left = cap - total;
        let plain_columns = line.spans.iter().try_fold(0usize, |w, s| {
            plain(&s.content).then(|| w + s.content.len())
        });
        match plain_columns {
            Some(columns) if columns <= columns_per_row => total += 1,
            Some(columns)
                if columns
                    >= left
                        .saturating_add(1)
                        .saturating_mul(per_row(columns_per_row)) =>
            {
                return cap;
            }
            Some(_) => plain_wrap::rows(plain_bytes(line), width, |_| {
                total += 1;
                total < cap
            }),
            None if one_row(
                line.styled_graphemes(Style::default())
                    .map(|g| g.symbol.cell_width()),
                width,
            ) =>
            {
                total += 1;
            }
            None if takes_more_rows(line, columns_per_row, left) => return cap,
            None => {
                total += Paragraph::new(line.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
            }
        }
    }
    total.min(cap)
}

/// Whether graphemes of these widths make one row at `width` for ratatui's word wrapper:
/// they fit, and none is zero-width (with them the wrapper may start a row holding only
/// those). Stops at the first that does not fit.
fn one_row(widths: impl IntoIterator<Item = u16>, width: u16) -> bool {
    widths
        .into_iter()
        .try_fold(0u16, |w, n| match n {
            0 => None,
            n => w.checked_add(n).filter(|&w| w <= width),
        })
        .is_some()
}

/// The most columns of a line of [`narrow`] graphemes that one row accounts for at `width`,
/// however it wraps: the row's own (`width`, one more where the wrapper ends a row with a
/// two-column grapheme), the whitespace the wrapper drops where the row breaks (up to the
/// row's end) and the whitespace grapheme that broke it (two columns at most), with a column
/// to spare.
fn per_row(width: usize) -> usize {
    width + 4
}

/// Whether a grapheme keeps [`per_row`]'s bound at `width`: at most two columns (a wider
/// cluster may run a row past its width by all but one of its columns), and not wider than a
/// row (which the wrapper skips).
fn narrow(symbol: &str, width: usize) -> bool {
    let w = usize::from(symbol.cell_width());
    w <= 2 && w <= width
}

/// Whether `line` takes more than `rows` rows at `width`, as its start shows: at least
/// `rows + 1` rows' worth of [`per_row`] columns, not counting graphemes wider than a row
/// (the wrapper skips them); never shown by a start holding a cluster wider than two columns
/// (see [`narrow`]). Reading stops once that is shown: a line of 16,000 ideographic
/// spaces (whitespace, which the wrapper partly drops, so no count that leaves whitespace out
/// can show it) costs a screenful, not a layout of the whole line at every frame.
fn takes_more_rows(line: &Line, width: usize, rows: usize) -> bool {
    let need = rows.saturating_add(1).saturating_mul(per_row(width));
    let mut seen = 0usize;
    for g in line.styled_graphemes(Style::default()) {
        let w = usize::from(g.symbol.cell_width());
        if w > width {
            // Skipped by the wrapper: no room taken.
            continue;
        }
        if w > 2 {
            // A cluster wider than two columns breaks the bound: laid out instead.
            return false;
        }
        seen += w;
        if seen >= need {
            return true;
        }
    }
    false
}

/// Draws `lines` wrapped into `area` as [`wrapped`] does, starting `skip` rows down.
pub fn wrapped_from(buf: &mut Buffer, area: Rect, lines: &[Line], skip: u16) -> Filled {
    if skip == 0 {
        return wrapped(buf, area, lines);
    }
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return Filled::GoesOn;
    }
    // Laid out in a buffer of its own as tall as the rows skipped and shown, then the rows
    // shown are copied: the pane's rows break exactly where they do unscrolled.
    let tall = Rect::new(0, 0, area.width, area.height.saturating_add(skip));
    // Two columns to spare: ratatui's wrapper may set a wide grapheme past the area's right
    // edge, and panics if that is past the buffer's (`keep_inside` then cuts it).
    let mut scratch = Buffer::empty(Rect {
        width: tall.width.saturating_add(2),
        ..tall
    });
    let filled = wrapped(&mut scratch, tall, lines);
    for y in 0..area.height {
        for x in 0..area.width {
            if let (Some(from), Some(to)) = (
                scratch.cell((x, y.saturating_add(skip))),
                buf.cell_mut((area.x + x, area.y + y)),
            ) {
                *to = from.clone();
            }
        }
    }
    filled
}

/// Makes every cell of a finished frame hold what any terminal draws in that one cell.
///
/// ratatui keeps a grapheme cluster in one cell and measures it whole: Devanagari `हीं` is one
/// cell two columns wide, as is `👍🏽`. A terminal that lays text out a character at a time
/// draws `ह` in the first column and `ीं` in the second, two cells of its own; when a later
/// frame puts a narrow letter in the first, ratatui (taking the pair for one wide character,
/// which a terminal erases whole) does not rewrite the second, and `ीं` stays on screen. And
/// where the cluster's characters add up to another width than ratatui's (`👍🏽` is 4 columns
/// a character at a time, 2 in ratatui), the rest of the row is drawn off by the difference.
///
/// So a cluster that spans columns is laid out as such a terminal lays it out: each character
/// that takes columns starts a cell, marks ride with it (`ह` `ीं`). A cluster whose columns
/// terminals disagree on (joined, tinted or keycapped emoji, presentation selectors) is drawn
/// as its first character, padded with blanks to the columns ratatui gave it: the layout
/// holds on every terminal, and the moderator still sees what it was.
pub fn settle_clusters(buf: &mut Buffer) {
    let width = usize::from(buf.area.width);
    if width == 0 {
        return;
    }
    let mut i = 0;
    while i < buf.content.len() {
        let Some(cell) = buf.content.get(i) else {
            break;
        };
        let symbol = cell.symbol();
        // An image protocol's sequence (kitty's transmission is the whole picture, hundreds of
        // kilobytes in one cell): modq's own, never text to lay out. Item text never carries
        // an ESC (it is sanitized), so only the image encoder puts one here; walking it
        // character by character cost the kitty frame 2 ms.
        if symbol.starts_with('\u{1b}') {
            i += 1;
            continue;
        }
        // Nearly every cell is one ASCII byte.
        if symbol.len() == 1 || symbol.chars().nth(1).is_none() {
            i += usize::from(cell.cell_width().max(1));
            continue;
        }
        let columns = usize::from(cell.cell_width());
        let end_of_row = (i / width + 1) * width;
        let units = cluster_units(symbol);
        let each: usize = units.iter().map(|u| u.1).sum();
        let agreed = each == columns
            && !symbol
                .chars()
                .any(|c| matches!(c, '\u{200d}' | '\u{fe0e}' | '\u{fe0f}'));
        if columns < 2 || (agreed && units.len() < 2) || i + columns > end_of_row {
            i += columns.max(1);
            continue;
        }
        let style = cell.style();
        let laid: Vec<(String, usize)> = if agreed {
            units
        } else {
            // The first character, if it fits the columns: never a mark or a joiner alone.
            let first = symbol
                .chars()
                .find(|c| c.width().is_some_and(|w| w > 0))
                .filter(|c| c.width().is_some_and(|w| w <= columns));
            match first {
                Some(c) => vec![(c.to_string(), c.width().unwrap_or(1))],
                None => vec![("\u{fffd}".to_string(), 1)],
            }
        };
        let mut at = i;
        for (text, w) in &laid {
            if let Some(cell) = buf.content.get_mut(at) {
                cell.set_symbol(text).set_style(style);
            }
            for covered in at + 1..at + w {
                if let Some(cell) = buf.content.get_mut(covered) {
                    cell.reset();
                    cell.set_style(style);
                }
            }
            at += w;
        }
        // Blanks for what the stand-in leaves of the cluster's columns.
        for rest in at..i + columns {
            if let Some(cell) = buf.content.get_mut(rest) {
                cell.reset();
                cell.set_symbol(" ").set_style(style);
            }
        }
        i += columns;
    }
}

/// A cluster as a terminal lays it out a character at a time: each character that takes
/// columns, with the marks that follow it, and its columns.
fn cluster_units(symbol: &str) -> Vec<(String, usize)> {
    let mut units: Vec<(String, usize)> = Vec::new();
    for c in symbol.chars() {
        let w = c.width().unwrap_or(0);
        match units.last_mut() {
            Some(last) if w == 0 => last.0.push(c),
            _ => units.push((c.to_string(), w)),
        }
    }
    units
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};
    use ratatui::widgets::{Block, Paragraph, Wrap};

    use super::*;

    /// An image protocol's cell (kitty puts the whole transmission in one) is left as the
    /// encoder wrote it, and the cells after it are still settled.
    #[test]
    fn an_image_sequence_cell_is_left_whole() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        let sequence = format!("\u{1b}_Gf=32,s=1,v=1;{}\u{1b}\\", "QUFB".repeat(10_000));
        buf.content[0].set_symbol(&sequence);
        buf.content[3].set_symbol("👍\u{1f3fd}");
        settle_clusters(&mut buf);
        assert_eq!(buf.content[0].symbol(), sequence);
        assert_eq!(
            buf.content[3].symbol(),
            "👍",
            "the tinted emoji after it is settled"
        );
    }

    /// Text that is plain, wide, combining, hostile-looking (already made visible) or a mix.
    fn samples() -> Vec<&'static str> {
        vec![
            "",
            " ",
            "plain ascii text",
            "  leading and trailing  ",
            "a-very-long-word-that-does-not-fit-in-a-narrow-column-at-all-and-must-be-broken",
            "words of different lengths wrap at spaces when the line is too long for the pane",
            "Gagnez 2500 € par semaine depuis chez vous ! Cliquez ici 👉 quickcash-hub.example",
            "فيديو لحادث مروري مروع تظهر فيه الجثث دون أي تحذير.",
            "日本語のテキストは二つのセルを使う、幅の広い文字です。改行なしで長く続きます。",
            "e\u{301}\u{301}\u{301} zalgo-ish a\u{300} b\u{316}",
            "👨‍👩‍👧‍👦 family 🇩🇪 flag ⏱3h05m ✓ ✗ ↑ ↺ ⊘ …",
            "␛[31m shown ␇ ⟪U+202E⟫ placeholders",
            "tab\u{a0}nbsp\u{200b}zwsp  double  spaces   ",
            "ｶﾞｷﾞ halfwidth ﾟﾞ marks",
            "x",
            "         ",
            // Zero-width graphemes after a full row: the wrapper gives them a row of their own.
            "ab\u{200b}\u{200b}",
            "a·\u{200b}\u{200b}",
        ]
    }

    fn styles() -> Vec<Style> {
        vec![
            Style::default(),
            Style::new().fg(Color::Red),
            Style::new().bg(Color::Blue).add_modifier(Modifier::BOLD),
        ]
    }

    /// `lines` drawn into `area` of a `whole` buffer by `wrapped`, and by a wrapping `Paragraph`
    /// cut at the area's right edge.
    /// What drawing `lines` into `area` scrolled `skip` rows says of where they end.
    fn filled_from(lines: &[Line], area: Rect, skip: u16) -> Filled {
        let mut buf = Buffer::empty(Rect::new(0, 0, area.right() + 10, area.bottom() + 2));
        wrapped_from(&mut buf, area, lines, skip)
    }

    /// What it should say, from the rows ratatui's `Paragraph` counts (`all`).
    fn filled_as_counted(all: usize, area: Rect, skip: u16) -> Filled {
        if all <= usize::from(skip + area.height) {
            Filled::Ends(u16::try_from(all).unwrap())
        } else {
            Filled::GoesOn
        }
    }

    fn wrapped_beside_paragraph(lines: &[Line], area: Rect, whole: Rect) -> (Buffer, Buffer) {
        let mut got = Buffer::empty(whole);
        wrapped(&mut got, area, lines);
        let mut expected = Buffer::empty(whole);
        Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .render(area, &mut expected);
        // Less what hangs over the right edge, which `wrapped` cuts on purpose.
        keep_inside(&mut expected, area);
        for y in area.top()..area.bottom() {
            for x in area.right()..whole.right() {
                if let Some(cell) = expected.cell_mut((x, y)) {
                    cell.reset();
                }
            }
        }
        (got, expected)
    }

    #[test]
    fn put_writes_what_a_line_of_spans_writes() {
        for width in [1u16, 2, 3, 5, 8, 13, 30, 80] {
            for a in samples() {
                for b in samples() {
                    let area = Rect::new(0, 0, width + 2, 1);
                    let spans = vec![
                        Span::styled(a, styles()[1]),
                        Span::styled(b, styles()[2]),
                        Span::raw("end"),
                    ];
                    let mut expected = Buffer::empty(area);
                    Line::from(spans).render(Rect::new(1, 0, width, 1), &mut expected);
                    let mut got = Buffer::empty(area);
                    let x = put(&mut got, 1, 0, 1 + width, a, styles()[1]);
                    let x = put(&mut got, x, 0, 1 + width, b, styles()[2]);
                    put(&mut got, x, 0, 1 + width, "end", Style::default());
                    assert_eq!(got, expected, "{a:?} then {b:?} in {width}");
                }
            }
        }
    }

    #[test]
    fn bordered_draws_what_a_bordered_block_draws() {
        for width in 0u16..7 {
            for height in 0u16..5 {
                for title in samples() {
                    let span = Span::styled(title, styles()[1]);
                    let area = Rect::new(1, 1, width, height);
                    let whole = Rect::new(0, 0, 9, 7);
                    let block = Block::bordered().title(span.clone());
                    let mut expected = Buffer::empty(whole);
                    (&block).render(area, &mut expected);
                    let mut got = Buffer::empty(whole);
                    let inner = bordered(&mut got, area, &span);
                    assert_eq!(got, expected, "{title:?} {width}x{height}");
                    assert_eq!(inner, block.inner(area));
                }
            }
        }
        // A block that reaches past the buffer's edge.
        let span = Span::raw(" post-1 ");
        let mut expected = Buffer::empty(Rect::new(0, 0, 5, 3));
        Block::bordered()
            .title(span.clone())
            .render(Rect::new(2, 1, 6, 4), &mut expected);
        let mut got = Buffer::empty(Rect::new(0, 0, 5, 3));
        bordered(&mut got, Rect::new(2, 1, 6, 4), &span);
        assert_eq!(got, expected);
    }

    #[test]
    fn line_writes_what_a_one_line_paragraph_writes() {
        for width in [1u16, 2, 3, 5, 8, 13, 30, 80] {
            for a in samples() {
                for b in samples().into_iter().step_by(2) {
                    for line_style in [Style::default(), styles()[1]] {
                        let line = Line::from(vec![
                            Span::styled(a, styles()[2]),
                            Span::raw(b),
                            Span::styled("end", styles()[1]),
                        ])
                        .style(line_style);
                        let area = Rect::new(1, 1, width, 2);
                        let whole = Rect::new(0, 0, width + 2, 3);
                        let mut expected = Buffer::empty(whole);
                        Paragraph::new(line.clone()).render(area, &mut expected);
                        let mut got = Buffer::empty(whole);
                        super::line(&mut got, area, &line);
                        assert_eq!(got, expected, "{a:?} then {b:?} in {width}");
                    }
                }
            }
        }
    }

    /// Random text from pieces that stress the wrapper: words, runs of spaces, wide, zero-width
    /// and combining characters, all at widths around where they break.
    #[test]
    fn wrapped_agrees_with_paragraph_on_random_text() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let pieces = prop::sample::select(vec![
            "a",
            "word",
            "longerword",
            " ",
            "  ",
            "\u{a0}",
            "\u{200b}",
            "\u{301}",
            "日本",
            "👨‍👩‍👧",
            "·",
            "—",
            "ｶﾞ",
            "\u{903}",
            "é",
            "🇩🇪",
            "x\u{200b}",
            "٠",
            "\u{3000}",
            "\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}",
            "\u{2003}\u{2003}\u{2003}\u{2003}",
            "           ",
            "क\u{93e}\u{93e}\u{93e}\u{93e}\u{93e}",
        ]);
        let text = prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat());
        let lines = prop::collection::vec((text.clone(), text, 0usize..3), 1..6);
        let mut runner = TestRunner::new(Config::with_cases(1000));
        runner
            .run(&(lines, 1u16..24, 1u16..8), |(lines, width, height)| {
                let lines: Vec<Line> = lines
                    .iter()
                    .map(|(a, b, s)| {
                        Line::from(vec![
                            Span::styled(a.as_str(), styles()[*s]),
                            Span::raw(b.as_str()),
                        ])
                    })
                    .collect();
                let area = Rect::new(1, 1, width, height);
                // Room to the right: ratatui's wrapper may set a grapheme past the area's edge
                // (and panics if that is past the buffer's).
                let whole = Rect::new(0, 0, width + 10, height + 2);
                let (got, expected) = wrapped_beside_paragraph(&lines, area, whole);
                prop_assert_eq!(got, expected);
                let mut expected = Buffer::empty(whole);
                Paragraph::new(lines[0].clone()).render(area, &mut expected);
                let mut got = Buffer::empty(whole);
                super::line(&mut got, area, &lines[0]);
                prop_assert_eq!(got, expected);
                let all = Paragraph::new(lines.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
                for cap in [
                    1usize,
                    2,
                    usize::from(height),
                    all.saturating_sub(1),
                    all,
                    1000,
                ] {
                    prop_assert_eq!(rows(&lines, width, cap.max(1)), all.min(cap.max(1)));
                }
                for skip in [0u16, 1, 3] {
                    prop_assert_eq!(
                        filled_from(&lines, area, skip),
                        filled_as_counted(all, area, skip)
                    );
                }
                Ok(())
            })
            .unwrap();
    }

    /// Hostile whitespace: thousands of ideographic or em spaces (two and one columns wide)
    /// after a word wrap into many rows, some of which the wrapper drops, and are counted and
    /// drawn as the wrapper does at every width and cap (counted from their start alone,
    /// without laying out the whole line).
    #[test]
    fn thousands_of_wide_or_unicode_spaces_count_and_draw_as_the_wrapper_lays_them_out() {
        let ideographic = format!("下{}", "\u{3000}".repeat(2000));
        let em = format!("ab{}c{}", "\u{2003}".repeat(1500), "\u{3000}".repeat(300));
        // Clusters of a letter and 45 spacing vowel signs: each 46 columns, wider than most
        // rows here, which the wrapper skips.
        let clusters = format!("{} tail", format!("क{} ", "\u{93e}".repeat(45)).repeat(300));
        for text in [ideographic.as_str(), em.as_str(), clusters.as_str()] {
            let line = Line::raw(text);
            for width in [1u16, 2, 3, 4, 7, 40, 118] {
                let all = Paragraph::new(line.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
                for cap in [1, 2, all / 2, all.saturating_sub(1), all, all + 1] {
                    let cap = cap.max(1);
                    assert_eq!(
                        rows(std::slice::from_ref(&line), width, cap),
                        all.min(cap),
                        "width {width}, cap {cap}"
                    );
                }
                for height in [1u16, 5, 38] {
                    let area = Rect::new(1, 1, width, height);
                    let whole = Rect::new(0, 0, width + 10, height + 2);
                    let lines = std::slice::from_ref(&line);
                    let (got, expected) = wrapped_beside_paragraph(lines, area, whole);
                    assert_eq!(got, expected, "width {width}, height {height}");
                    assert_eq!(
                        filled_from(lines, area, 0),
                        filled_as_counted(all, area, 0),
                        "width {width}, height {height}"
                    );
                }
            }
        }
    }

    /// A line wider than the rows left is not laid out only when it cannot fit in them:
    /// whitespace dropped where rows break, and graphemes too wide for a row, take none.
    /// (Found by the property test below: at width 1, a thousand columns of mostly spaces
    /// counted as the cap where they wrap into fewer rows.)
    #[test]
    fn a_line_of_whitespace_or_wide_graphemes_counts_the_rows_it_wraps_into() {
        let spaced = format!("a{}b{}c", " ".repeat(40), " ".repeat(40));
        let wide = "漢字".repeat(30);
        let mixed = format!("{}x \u{00a0} y", "  漢 ".repeat(20));
        for text in [spaced.as_str(), wide.as_str(), mixed.as_str()] {
            let line = Line::raw(text);
            for width in 1u16..5 {
                let all = Paragraph::new(line.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
                for cap in all.max(1)..all + 4 {
                    assert_eq!(
                        rows(std::slice::from_ref(&line), width, cap),
                        all.min(cap),
                        "{text:?} at width {width}, cap {cap}"
                    );
                }
            }
        }
    }

    /// Printable ASCII alone takes a path of its own (`plain_wrap`): random words and runs of
    /// spaces, in several styled spans, at widths around where they break, drawn and counted.
    #[test]
    fn plain_text_wraps_and_counts_as_paragraph_does() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let pieces = prop::sample::select(vec![
            "a",
            "word",
            "longerword",
            " ",
            "  ",
            "     ",
            "x.",
            "-",
            "averyveryverylongword",
        ]);
        let text = prop::collection::vec(pieces, 0..30).prop_map(|p| p.concat());
        let spans = prop::collection::vec((text, 0usize..3), 1..4);
        let lines = prop::collection::vec(spans, 1..5);
        let mut runner = TestRunner::new(Config::with_cases(2000));
        runner
            .run(&(lines, 1u16..30, 1u16..12), |(lines, width, height)| {
                let lines: Vec<Line> = lines
                    .iter()
                    .map(|spans| {
                        Line::from(
                            spans
                                .iter()
                                .map(|(t, s)| Span::styled(t.as_str(), styles()[*s]))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect();
                let area = Rect::new(1, 1, width, height);
                let whole = Rect::new(0, 0, width + 10, height + 2);
                let (got, expected) = wrapped_beside_paragraph(&lines, area, whole);
                prop_assert_eq!(got, expected);
                let all = Paragraph::new(lines.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
                for cap in [1usize, 3, 1000] {
                    prop_assert_eq!(rows(&lines, width, cap), all.min(cap), "cap {}", cap);
                }
                for skip in [0u16, 2] {
                    prop_assert_eq!(
                        filled_from(&lines, area, skip),
                        filled_as_counted(all, area, skip)
                    );
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn wrapped_writes_what_a_wrapping_paragraph_writes() {
        // Each sample on its own, so that every one of them is drawn inside the area, followed
        // by a line that shows where the sample's last row ended.
        for (i, a) in samples().into_iter().enumerate() {
            let mut lines = vec![Line::raw(a), Line::styled(a, styles()[i % 3])];
            for b in samples().into_iter().step_by(3) {
                lines.push(Line::from(vec![
                    Span::styled(a, styles()[(i + 1) % 3]),
                    Span::raw(" · "),
                    Span::styled(b, styles()[(i + 2) % 3]),
                ]));
            }
            lines.push(Line::raw("next"));
            for width in [1u16, 2, 3, 4, 7, 10, 16, 33, 70, 200] {
                for height in [1u16, 5, 40, 400] {
                    let area = Rect::new(2, 1, width, height);
                    let whole = Rect::new(0, 0, width + 4, height + 2);
                    let (got, expected) = wrapped_beside_paragraph(&lines, area, whole);
                    assert_eq!(got, expected, "{a:?} in {width}x{height}");
                }
            }
        }
    }

    /// Bytes a backend wrote, for the emulator to read.
    #[derive(Clone, Default)]
    struct Written(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl std::io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a terminal emulator shows, cell by cell, after `frames` are drawn one after the
    /// other through ratatui's crossterm backend (each wrapped into a pane with a border to
    /// its right, then settled as the view settles every frame).
    fn shown_after(frames: &[Vec<String>], width: u16, height: u16) -> Vec<String> {
        use ratatui::Terminal;
        use ratatui::backend::CrosstermBackend;
        use ratatui::{TerminalOptions, Viewport};
        let area = Rect::new(0, 0, width, height);
        let written = Written::default();
        let mut terminal = Terminal::with_options(
            CrosstermBackend::new(written.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )
        .unwrap();
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(height), size(width), 0);
        for lines in frames {
            let lines: Vec<Line> = lines.iter().map(|l| Line::raw(l.as_str())).collect();
            terminal
                .draw(|f| {
                    let pane = Rect::new(0, 0, width - 1, height);
                    wrapped(f.buffer_mut(), pane, &lines);
                    for y in 0..height {
                        if let Some(cell) = f.buffer_mut().cell_mut((width - 1, y)) {
                            cell.set_symbol("│");
                        }
                    }
                    settle_clusters(f.buffer_mut());
                })
                .unwrap();
            parser.process(&std::mem::take(&mut *written.0.borrow_mut()));
        }
        let screen = parser.screen();
        let mut cells = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let cell = screen.cell(y, x).unwrap();
                // A cell never written and a space look alike.
                let text = match cell.contents() {
                    "" => " ",
                    text => text,
                };
                cells.push(format!("{y}:{x} {text:?} {}", cell.is_wide()));
            }
        }
        cells
    }

    #[test]
    fn wide_and_combining_text_leaves_no_residue_from_frame_to_frame() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let pieces = prop::sample::select(vec![
            "a",
            " ",
            "word ",
            "हीं",
            "न्हें",
            "क्ष",
            "น้ำ",
            "ผู้",
            "e\u{301}",
            "a\u{308}\u{304}",
            "日本",
            "　",
            "한",
            "ᄒᆞᆫ",
            "👍\u{1f3fd}",
            "👨\u{200d}👩\u{200d}👧",
            "🇩🇪",
            "1\u{fe0f}\u{20e3}",
            "❤\u{fe0f}",
            "ｶﾞ",
            "ཀྵ",
            "x\u{20dd}",
        ]);
        let line = prop::collection::vec(pieces, 0..30).prop_map(|p| p.concat());
        let frame = prop::collection::vec(line, 0..6);
        let mut runner = TestRunner::new(Config::with_cases(300));
        runner
            .run(
                &(frame.clone(), frame, 4u16..30, 2u16..8),
                |(first, second, width, height)| {
                    // The second frame over the first looks as the second on a blank screen.
                    let over = shown_after(&[first, second.clone()], width, height);
                    let fresh = shown_after(&[second], width, height);
                    prop_assert_eq!(over, fresh);
                    Ok(())
                },
            )
            .unwrap();
    }
}
