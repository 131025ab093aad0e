//! The mouse, when the config turns it on: the wheel moves through the queue, a left click
//! selects the item under it. Everything else (clicks elsewhere, drags, other buttons) does
//! nothing: the mouse is a convenience, never needed.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::action::Action;
use super::app::App;
use super::view;

/// The action a mouse event asks for, in a frame of `area` as last drawn.
pub fn mouse_action(app: &App, area: Rect, event: MouseEvent) -> Option<Action> {
    match event.kind {
        MouseEventKind::ScrollDown => Some(Action::MoveDown),
        MouseEventKind::ScrollUp => Some(Action::MoveUp),
        MouseEventKind::Down(MouseButton::Left) => {
            view::entry_at(area, app, event.column, event.row).map(Action::Select)
        }
        _ => None,
    }
}
