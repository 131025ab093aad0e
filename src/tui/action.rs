//! Everything a moderator can ask of modq. Actions are data: the keymap names them in TOML
//! (`t = "take_down"`), and `description` writes the help overlay.

use serde::{Deserialize, Serialize};

use crate::sync::SyncEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    MoveDown,
    MoveUp,
    First,
    Last,
    PageDown,
    PageUp,
    TakeDown,
    Keep,
    Escalate,
    Undo,
    Help,
    /// Close the top layer (help), or nothing.
    Back,
    Quit,
    /// The background sync reported something. Never bound to a key.
    #[serde(skip)]
    Sync(SyncEvent),
    /// Time passed: deadlines count down.
    #[serde(skip)]
    Tick(chrono::DateTime<chrono::Utc>),
    /// Select the entry at this index (a mouse click). Never bound to a key.
    #[serde(skip)]
    Select(usize),
}

impl Action {
    /// The actions a moderator can bind, in the order the help overlay lists them.
    pub const BINDABLE: [Action; 13] = [
        Action::MoveDown,
        Action::MoveUp,
        Action::First,
        Action::Last,
        Action::PageDown,
        Action::PageUp,
        Action::TakeDown,
        Action::Keep,
        Action::Escalate,
        Action::Undo,
        Action::Help,
        Action::Back,
        Action::Quit,
    ];

    pub fn description(&self) -> &'static str {
        match self {
            Action::MoveDown => "next item",
            Action::MoveUp => "previous item",
            Action::First => "first item",
            Action::Last => "last item",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::TakeDown => "take down (global, default reason)",
            Action::Keep => "keep: no violation",
            Action::Escalate => "escalate to a senior moderator",
            Action::Undo => "undo the last decision (repeat to go further back)",
            Action::Help => "show or hide this help",
            Action::Back => "close the overlay",
            Action::Quit => "quit (unsent decisions are kept and sent next time)",
            Action::Sync(_) | Action::Tick(_) | Action::Select(_) => "",
        }
    }
}
