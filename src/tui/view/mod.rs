//! Drawing: a pure function of `&App`. It never changes state and never touches the disk or
//! the network. Every string from an item was sanitized when it entered the App.
//!
//! One file per region of the screen: `tabs` (the lane tabs on top), `queue` (the list),
//! `detail` (the item pane), `status` (the status row and the bulk gauge), `hints` (the bottom
//! row), `prompt_line` (the `/`, `:` and `|` prompt in the bottom rows); and one per overlay:
//! `help`, `picker`, `history`, `stats`, `popup` (the box they and the others are drawn in);
//! `report_totals` says how much of an item's record the item pane lists.
//! `layout` says where each region goes; `time` writes moments and countdowns.

mod appeal;
mod detail;
mod help;
mod hints;
mod history;
mod layout;
mod media;
mod picker;
mod popup;
mod prompt_line;
mod queue;
mod report_totals;
mod stats;
mod status;
mod tabs;
mod time;

use ratatui::backend::{Backend, ClearType};
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};

use super::action::Action;
use super::app::{App, Layer, ScrollLimits};
use crate::tui::app::Breakdown;
use crate::tui::app::bulk_count as count;
use popup::{capitalized, draw_popup};

pub use layout::{Panes, panes};
pub use queue::{entry_at, list_window};

/// Blanks the terminal and makes the next frame write every cell (`ctrl-l`: another program
/// wrote over the screen, or a terminal lost track). ratatui's own `Terminal::clear` asks the
/// terminal where its cursor is and waits for the answer; this does not.
pub fn wipe_screen<B: Backend>(terminal: &mut Terminal<B>) -> Result<(), B::Error> {
    terminal.backend_mut().clear_region(ClearType::All)?;
    // An empty frame: ratatui then takes the screen to be blank, as it now is, and the next
    // frame writes every cell that is not.
    terminal.draw(|_| {})?;
    Ok(())
}

/// How far the overlay on top and the item pane can scroll in a frame of `area`: the loop
/// hands it to the App after each frame, so scrolling stops where the text ends.
pub fn scroll_limits(area: Rect, app: &App) -> ScrollLimits {
    let overlay = match app.layers.last() {
        Some(Layer::Help { .. }) => popup::geometry(area, &help::help_lines(app)).1,
        Some(Layer::Output { text, .. }) => {
            let lines: Vec<ratatui::text::Line> =
                text.lines().map(ratatui::text::Line::raw).collect();
            popup::geometry(area, &lines).1
        }
        Some(Layer::History { item_id, fresh, .. }) => {
            popup::geometry(area, &history::lines(app, item_id, fresh)).1
        }
        _ => 0,
    };
    let detail = panes(area, app).map_or(0, |p| detail::scroll_limit(app, p.detail));
    ScrollLimits { overlay, detail }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let Some(Panes {
        tabs,
        list,
        detail,
        gauge,
        status,
        hints,
    }) = panes(area, app)
    else {
        layout::draw_too_small(frame, area);
        return;
    };
    tabs::draw_tabs(frame, app, tabs);
    queue::draw_queue(frame, app, list);
    detail::draw_detail(frame, app, detail);
    if let Some(progress) = &app.bulk {
        status::draw_gauge(frame, app, progress, gauge);
    }
    match app.layers.last() {
        Some(Layer::Prompt(prompt)) => prompt_line::draw_prompt(frame, app, prompt, status, hints),
        _ => {
            status::draw_status(frame, app, status);
            hints::draw_hints(frame, app, hints);
        }
    }
    match app.layers.last() {
        Some(Layer::Help { scroll }) => help::draw_help(frame, app, area, *scroll),
        Some(Layer::Confirm(plan)) => {
            let undo = app
                .keymap
                .first_key(&Action::Undo)
                .unwrap_or_else(|| ":undo".into());
            let mut text = format!(
                "{} {} tagged items? Each goes through the outbox and one {undo} undoes them all.",
                capitalized(plan.action.label()),
                count(plan.ids.len())
            );
            let b = &plan.breakdown;
            if !b.by_lane.is_empty() {
                text.push_str(&format!("\nby lane: {}", Breakdown::line(&b.by_lane, 6)));
                text.push_str(&format!(
                    "\nby category: {}",
                    Breakdown::line(&b.by_category, 8)
                ));
            }
            if b.not_in_memory > 0 {
                text.push_str(&format!(
                    "\n{} not in memory yet (lane and category unknown here; the server holds them)",
                    count(b.not_in_memory)
                ));
            }
            let title = format!(" Bulk action — {} ", app.keymap.layers.confirm_hint());
            draw_popup(frame, app, area, &title, text, 0);
        }
        Some(Layer::Output {
            title,
            text,
            scroll,
        }) => draw_popup(
            frame,
            app,
            area,
            &format!(" {title} — {} ", app.keymap.layers.view_hint()),
            text.clone(),
            *scroll,
        ),
        Some(Layer::History {
            item_id,
            scroll,
            fresh,
        }) => history::draw(frame, app, area, item_id, *scroll, fresh),
        Some(Layer::Stats { today }) => stats::draw(frame, app, area, *today),
        Some(Layer::Picker { picker, .. }) => picker::draw_picker(frame, app, picker, area),
        Some(Layer::Prompt(_)) | None => {}
    }
    super::paint::settle_clusters(frame.buffer_mut());
}
