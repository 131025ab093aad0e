//! The mouse, when the config turns it on: the wheel, and a left click on a row of the list.
//! Everything else (clicks elsewhere, drags, other buttons) does nothing: the mouse is a
//! convenience, never needed. What a pointer event means is for the layer on top to say; this
//! only names it, with the list row under a click found by the caller (the frame's layout).

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

/// A mouse event as the layers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    WheelDown,
    WheelUp,
    /// A left click; on the entry at this index of the list, if it fell on one.
    Click(Option<usize>),
}

/// The pointer event `event` is, if any; `entry_at(column, row)` finds the list's entry under
/// a click in the frame on screen.
pub fn pointer(event: MouseEvent, entry_at: impl Fn(u16, u16) -> Option<usize>) -> Option<Pointer> {
    match event.kind {
        MouseEventKind::ScrollDown => Some(Pointer::WheelDown),
        MouseEventKind::ScrollUp => Some(Pointer::WheelUp),
        MouseEventKind::Down(MouseButton::Left) => {
            Some(Pointer::Click(entry_at(event.column, event.row)))
        }
        _ => None,
    }
}
