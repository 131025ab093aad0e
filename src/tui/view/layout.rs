//! Where each region of the screen goes.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::App;

/// Below this the layout cannot say anything useful; a short notice is drawn instead.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 6;

/// Where each part of the screen goes.
pub struct Panes {
    /// The lane tabs.
    pub tabs: Rect,
    pub list: Rect,
    pub detail: Rect,
    /// One row while a bulk action is in flight, else empty.
    pub gauge: Rect,
    pub status: Rect,
    pub hints: Rect,
}

/// The layout of a frame of `area` for `app`; `None` when it is too small for one.
pub fn panes(area: Rect, app: &App) -> Option<Panes> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    // A bulk action in flight gets a row of its own: the moderator keeps working meanwhile.
    let gauge_rows = u16::from(app.bulk.is_some());
    let [tabs, body, gauge, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(gauge_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let list_width = if area.width >= 120 {
        area.width * 2 / 5
    } else {
        (area.width * 2 / 5).max(28)
    };
    // Zoomed (`z`), the item takes the body: on a small screen it has room to show.
    let list_width = if app.zoomed { 0 } else { list_width };
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(1)]).areas(body);
    Some(Panes {
        tabs,
        list,
        detail,
        gauge,
        status,
        hints,
    })
}

pub(super) fn draw_too_small(frame: &mut Frame, area: Rect) {
    let text = Paragraph::new("modq: window too small")
        .wrap(Wrap { trim: true })
        .alignment(Alignment::Center);
    frame.render_widget(text, area);
}
