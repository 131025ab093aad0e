//! The list of items on the left.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use std::fmt::Write as _;

use super::layout::panes;
use super::time::write_countdown;
use crate::model::{DecisionAction, Lane};
use crate::tui::app::{App, Delivery, Entry, QueueEnd};
use crate::tui::paint;

/// The first visible position the list in `list` shows, and how many rows it has. The view
/// keeps no scroll state (drawing is pure), so the window is derived from the selection: it
/// moves in half-screen jumps, keeping at least half a screen above the cursor once it has
/// passed the middle. Scrolling a row per decision would rewrite every row of the list on
/// every key (about 3 KB at 120x40, over SSH); a jump does so once per half screen.
pub fn list_window(list: Rect, position: usize, len: usize) -> (usize, usize) {
    let rows = usize::from(list.height.saturating_sub(2)).max(1);
    let step = (rows / 2).max(1);
    let offset = (position / step)
        .saturating_sub(1)
        .saturating_mul(step)
        .min(len.saturating_sub(rows));
    (offset, rows)
}

/// Where the selection is among the visible entries.
fn position(app: &App) -> usize {
    app.visible
        .binary_search(&app.selected)
        .unwrap_or_else(|i| i.min(app.visible.len().saturating_sub(1)))
}

/// The entry (an index into `app.entries`) drawn at (`column`, `row`) of a frame of `area`:
/// where a click lands.
pub fn entry_at(area: Rect, app: &App, column: u16, row: u16) -> Option<usize> {
    let list = below_header(panes(area, app)?.list);
    let inside = column > list.x
        && column < list.right().saturating_sub(1)
        && row > list.y
        && row < list.bottom().saturating_sub(1);
    if !inside {
        return None;
    }
    let (offset, _) = list_window(list, position(app), app.visible.len());
    app.visible
        .get(offset + usize::from(row - list.y - 1))
        .copied()
}

/// The list's column names: above the lane tags, the priorities (right-aligned) and the rest.
const HEADER: &str = "    LANE PRI CATEGORY  DUE  TEXT";

/// The list's pane (or its inside) less the header row at its top.
fn below_header(area: Rect) -> Rect {
    Rect {
        y: area.y.saturating_add(1).min(area.bottom()),
        height: area.height.saturating_sub(1),
        ..area
    }
}

/// The lane's short tag, left-aligned in four columns.
fn lane_tag_padded(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "URG ",
        Lane::Authority => "AUTH",
        Lane::TrustedFlagger => "TF  ",
        Lane::Standard => "STD ",
        Lane::Appeals => "APP ",
    }
}

fn decision_mark(entry: &Entry) -> &'static str {
    match entry.local.as_ref() {
        None if entry.gone.is_some() || entry.held_by.is_some() => "⊘",
        None => " ",
        Some(l) => match (&l.action, &l.delivery) {
            (_, Delivery::Failed(_)) => "!",
            (DecisionAction::TakeDown, _) => "✗",
            (DecisionAction::Keep, _) => "✓",
            (DecisionAction::Escalate, _) => "↑",
            (DecisionAction::Reverse, _) => "↺",
            (DecisionAction::Uphold, _) => "=",
            (DecisionAction::Overturn, _) => "↺",
            // Never an entry's own decision (it leaves the item to decide); kept total.
            (DecisionAction::SendSupport, _) => " ",
        },
    }
}

pub(super) fn draw_queue(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let more = match app.queue_end {
        QueueEnd::Exhausted => "",
        QueueEnd::More | QueueEnd::Loading => "+",
    };
    let queue = match app.queue {
        crate::model::ReviewState::Escalated => "Escalated",
        _ => "Queue",
    };
    let mut title = format!(" {queue} {}{} ", app.visible.len(), more);
    if !app.filter.is_empty() {
        title.push_str(&format!("· {} ", app.filter));
    }
    if app.sort != crate::query::Sort::Priority {
        title.push_str(&format!("· by {} ", app.sort.as_str()));
    }
    let inner = paint::bordered(frame.buffer_mut(), area, &Span::styled(title, theme.accent));
    if inner.is_empty() {
        return;
    }
    // The columns' names, over the fields that line up (category and text vary in width).
    let header = Line::from(Span::styled(HEADER, theme.muted));
    paint::line(frame.buffer_mut(), Rect { height: 1, ..inner }, &header);
    let area = below_header(area);
    let inner = below_header(inner);
    // Only the rows that fit are drawn: a frame costs the same with 100 items or a million.
    // They are written straight into the buffer (see `paint`), cell for cell what a `List`
    // with the highlight symbol `▶` drew, without building a `ListItem` per row.
    let position = position(app);
    let (offset, rows) = list_window(area, position, app.visible.len());
    let range = app.visual_range();
    let mut shown: Vec<&Entry> = Vec::with_capacity(rows);
    shown.extend(
        app.visible
            .iter()
            .skip(offset)
            .take(rows)
            .filter_map(|&i| app.entries.get(i)),
    );
    let selected = position
        .saturating_sub(offset)
        .min(shown.len().saturating_sub(1));
    let buf = frame.buffer_mut();
    let right = inner.right();
    // One scratch string for the fields that are formatted, reused row after row.
    let mut scratch = String::with_capacity(512);
    for ((i, e), y) in shown.iter().enumerate().zip(inner.top()..inner.bottom()) {
        let mut x = inner.x.saturating_add(1);
        let tagged = app.tagged.contains(&e.id) || range.contains(&e.id);
        x = if tagged {
            paint::put(buf, x, y, right, "*", theme.accent)
        } else {
            paint::put(buf, x, y, right, " ", Style::new())
        };
        let mark_style = match e.local.as_ref().map(|l| (&l.action, &l.delivery)) {
            Some((_, Delivery::Failed(_))) => theme.error,
            Some((DecisionAction::TakeDown, _)) => theme.take_down,
            Some((DecisionAction::Keep, _)) => theme.keep,
            Some((DecisionAction::Escalate, _)) => theme.escalate,
            _ => Style::new(),
        };
        x = paint::put(buf, x, y, right, decision_mark(e), mark_style);
        let pending = match e.local.as_ref().map(|l| &l.delivery) {
            Some(Delivery::Unsent) => "…",
            _ => " ",
        };
        x = paint::put(buf, x, y, right, pending, theme.muted);
        let lane_style = if e.shown.lane == Lane::Urgent {
            theme.urgent
        } else {
            theme.muted
        };
        x = paint::put(buf, x, y, right, lane_tag_padded(e.shown.lane), lane_style);
        scratch.clear();
        let _ = write!(scratch, "{:>4} ", e.shown.priority);
        x = paint::put(buf, x, y, right, &scratch, Style::new());
        let category = e.shown.leading_category().unwrap_or("");
        scratch.clear();
        scratch.push_str(category);
        scratch.push(' ');
        x = paint::put(buf, x, y, right, &scratch, theme.accent);
        if let Some(deadline) = e.shown.deadline {
            let style = crate::tui::deadline::style(theme, deadline, app.now);
            scratch.clear();
            scratch.push('⏱');
            write_countdown(&mut scratch, deadline, app.now);
            scratch.push(' ');
            x = paint::put(buf, x, y, right, &scratch, style);
        }
        // The first 120 characters, line breaks as spaces; borrowed when there are none.
        let text = e.shown.text.as_deref().unwrap_or("");
        let end = text
            .char_indices()
            .nth(120)
            .map_or(text.len(), |(at, _)| at);
        let snippet = text.get(..end).unwrap_or(text);
        if snippet.contains('\n') {
            scratch.clear();
            scratch.extend(snippet.chars().map(|c| if c == '\n' { ' ' } else { c }));
            paint::put(buf, x, y, right, &scratch, Style::new());
        } else {
            paint::put(buf, x, y, right, snippet, Style::new());
        }
        let row = Rect::new(inner.x, y, inner.width, 1);
        if i == selected {
            buf.set_style(row, theme.selection);
            paint::put(
                buf,
                inner.x,
                y,
                inner.x.saturating_add(1),
                "▶",
                Style::new(),
            );
        } else {
            paint::put(
                buf,
                inner.x,
                y,
                inner.x.saturating_add(1),
                " ",
                Style::new(),
            );
        }
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_down_the_list_moves_it_in_half_screen_jumps() {
        // A list pane of 38 rows over 500 items: the moderator decides one item after another.
        let pane = Rect::new(0, 0, 48, 40);
        let windows: Vec<usize> = (0..120).map(|p| list_window(pane, p, 500).0).collect();
        for (position, &offset) in windows.iter().enumerate() {
            assert!(
                offset <= position && position < offset + 38,
                "{position} shown"
            );
        }
        // The window stays put for half a screen of decisions at a time.
        let jumps = windows.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(jumps, 120 / 19 - 1, "{windows:?}");
        assert_eq!(windows[57], 38);
        // At the end of what is loaded, the last rows stay filled.
        assert_eq!(list_window(pane, 99, 100).0, 62);
    }
}
