//! The centred box overlays are drawn in.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::paint;

pub(super) fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A centred box over the screen, for text that may be long (it wraps and scrolls).
pub(super) fn draw_popup(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    title: &str,
    text: String,
    scroll: u16,
) {
    let lines = text.lines().map(|l| Line::raw(l.to_string())).collect();
    draw_popup_lines(frame, app, area, title, lines, scroll);
}

pub(super) fn draw_popup_lines(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    title: &str,
    lines: Vec<Line>,
    scroll: u16,
) {
    let (popup, last) = geometry(area, &lines);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_string(), app.theme.accent));
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            // Never past the end: the last line stays at the bottom of the box.
            .scroll((scroll.min(last), 0)),
        popup,
    );
    paint::keep_inside(frame.buffer_mut(), inner);
}

/// Where the box for `lines` goes over `area`, and the furthest it can scroll: the last
/// line then shows in its last row.
pub(super) fn geometry(area: Rect, lines: &[Line]) -> (Rect, u16) {
    let width = area.width.saturating_sub(4).min(90);
    let wanted = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let height = wanted
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    let popup = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    let rows = Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width.saturating_sub(2));
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    (popup, rows.saturating_sub(height.saturating_sub(2)))
}
